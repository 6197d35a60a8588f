/**
 * docs/openapi.json as third-party tools see it: Redocly's `recommended` ruleset and Spectral's
 * `spectral:oas` report no error, and no warning beyond those the generator accepts on purpose
 * (LINT_WARNINGS_ACCEPTED in handlers/lib/api/openapi.ts, each with its reason).
 */
import { expect } from "chai";
import { createConfig, lintFromString } from "@redocly/openapi-core";
import { Document, Spectral } from "@stoplight/spectral-core";
import { Json as JsonParser } from "@stoplight/spectral-parsers";
import { oas } from "@stoplight/spectral-rulesets";
import { renderOpenApi } from "../../cli/openapi";
import { LINT_WARNINGS_ACCEPTED } from "../../handlers/lib/api/openapi";

interface Finding {
  rule: string;
  severity: "error" | "warn" | "info";
  where: string;
  message: string;
}

async function redoclyFindings(text: string): Promise<Finding[]> {
  const config = await createConfig({ extends: ["recommended"] });
  const problems = await lintFromString({ source: text, absoluteRef: "/docs/openapi.json", config });
  return problems.map((p) => ({
    rule: p.ruleId,
    severity: p.severity === "error" ? "error" : p.severity === "warn" ? "warn" : "info",
    where: p.location[0]?.pointer ?? "",
    message: p.message,
  }));
}

async function spectralFindings(text: string): Promise<Finding[]> {
  const spectral = new Spectral();
  spectral.setRuleset({ extends: [[oas as never, "recommended"]] });
  const results = await spectral.run(new Document(text, JsonParser, "/docs/openapi.json"));
  // Spectral severities: 0 error, 1 warn, 2 info, 3 hint.
  return results.map((r) => ({
    rule: String(r.code),
    severity: r.severity === 0 ? "error" : r.severity === 1 ? "warn" : "info",
    where: r.path.join("."),
    message: r.message,
  }));
}

const show = (findings: Finding[]) => findings.map((f) => `${f.severity} ${f.rule} at ${f.where}: ${f.message}`).join("\n");

describe("OpenAPI document under third-party linters", function () {
  this.timeout(60_000);
  const text = renderOpenApi();
  const linters: [string, (text: string) => Promise<Finding[]>][] = [
    ["Redocly (recommended)", redoclyFindings],
    ["Spectral (spectral:oas)", spectralFindings],
  ];

  for (const [name, lint] of linters) {
    it(`${name} reports 0 errors and only the warnings the generator accepts with a reason`, async () => {
      const findings = await lint(text);
      const unexpected = findings.filter((f) => f.severity === "error" || (f.severity === "warn" && !(f.rule in LINT_WARNINGS_ACCEPTED)));
      expect(unexpected, show(unexpected)).to.deep.equal([]);
    });
  }

  it("accepts no warning that neither linter reports any more (the justifications stay true)", async () => {
    const reported = new Set([...(await redoclyFindings(text)), ...(await spectralFindings(text))].map((f) => f.rule));
    expect(Object.keys(LINT_WARNINGS_ACCEPTED).filter((rule) => !reported.has(rule))).to.deep.equal([]);
  });

  it("is not vacuous: the review's findings (no servers, an array without items) fail under both", async () => {
    const broken = JSON.parse(text) as { servers?: unknown; components: { schemas: Record<string, { properties?: Record<string, unknown> }> } };
    delete broken.servers;
    broken.components.schemas.FieldError!.properties!.list = { type: "array" };
    const brokenText = JSON.stringify(broken);
    expect((await redoclyFindings(brokenText)).filter((f) => f.severity === "error").map((f) => f.rule)).to.include("no-empty-servers");
    expect((await spectralFindings(brokenText)).filter((f) => f.severity === "error").map((f) => f.rule)).to.include("array-items");
  });
});
