/**
 * The example catalogue (events/catalog.ts): every declared example is valid for its own schema,
 * and the GitHub types are an honest subset of GitHub's payloads: each field the subset requires is
 * required by @octokit/webhooks-schemas at the same place, and every example delivery GitHub
 * documents for the type (@octokit/webhooks-examples) passes.
 */
import { expect } from "chai";
import * as z from "zod/mini";
import { catalog } from "../../events/catalog";
import { payloadViolations, type EventTypeDefinition } from "../../handlers/lib/events/catalog";

type JsonSchema = { $ref?: string; allOf?: JsonSchema[]; oneOf?: JsonSchema[]; anyOf?: JsonSchema[]; type?: string | string[]; required?: string[]; properties?: Record<string, JsonSchema>; items?: JsonSchema };

const octokit = require("@octokit/webhooks-schemas") as { definitions: Record<string, JsonSchema> };
const examples = require("@octokit/webhooks-examples") as { name: string; examples: Record<string, unknown>[] }[];

/** The GitHub types of the example catalogue: event_type → (octokit definition, X-GitHub-Event, action). */
const GITHUB_TYPES = {
  push: { definition: "push$event", event: "push", action: undefined },
  "pull_request.opened": { definition: "pull_request$opened", event: "pull_request", action: "opened" },
  "issues.opened": { definition: "issues$opened", event: "issues", action: "opened" },
} as const;

/** A schema node with its $ref followed, its allOf merged, and a nullable oneOf reduced to the object. */
function resolve(node: JsonSchema): JsonSchema {
  if (node.$ref) return resolve(octokit.definitions[node.$ref.replace("#/definitions/", "")]!);
  const alternatives = node.oneOf ?? node.anyOf;
  if (alternatives) {
    const objects = alternatives.map(resolve).filter((a) => a.type !== "null");
    if (objects.length === 1) return objects[0]!;
  }
  if (node.allOf) {
    const parts = node.allOf.map(resolve);
    return {
      type: "object",
      required: parts.flatMap((p) => p.required ?? []),
      properties: Object.assign({}, ...parts.map((p) => p.properties ?? {})),
    };
  }
  return node;
}

/** Paths our subset requires that GitHub's schema does not (empty when the subset is honest). */
function notRequiredUpstream(ours: JsonSchema, theirs: JsonSchema, path: string): string[] {
  const upstream = resolve(theirs);
  if (ours.type === "array" && ours.items) return upstream.items ? notRequiredUpstream(ours.items, upstream.items, `${path}/0`) : [`${path} (not an array upstream)`];
  const missing: string[] = [];
  for (const key of ours.required ?? []) {
    if (!(upstream.required ?? []).includes(key)) missing.push(`${path}/${key}`);
    const child = ours.properties?.[key];
    const upstreamChild = upstream.properties?.[key];
    if (child && upstreamChild && (child.type === "object" || child.type === "array")) missing.push(...notRequiredUpstream(child, upstreamChild, `${path}/${key}`));
  }
  return missing;
}

describe("the example catalogue (events/catalog.ts)", () => {
  for (const [name, definition] of Object.entries(catalog.types) as [string, EventTypeDefinition][]) {
    it(`${name}: every example is valid, and owner, description and version are set`, () => {
      for (const example of definition.examples) expect(payloadViolations(definition, { payload: example }), JSON.stringify(example)).to.deep.equal([]);
      expect(definition.owner).to.match(/\S/);
      expect(definition.description).to.match(/\S/);
      expect(definition.version).to.be.greaterThanOrEqual(1);
    });
  }

  describe("the GitHub subset against @octokit/webhooks-schemas", () => {
    for (const [type, upstream] of Object.entries(GITHUB_TYPES)) {
      it(`${type}: every field the subset requires is required by GitHub's schema too`, () => {
        const ours = z.toJSONSchema(catalog.types[type as keyof typeof GITHUB_TYPES].payload, { io: "input" }) as JsonSchema;
        expect(ours.required, "the subset requires something").to.have.length.greaterThan(0);
        expect(notRequiredUpstream(ours, octokit.definitions[upstream.definition]!, "")).to.deep.equal([]);
      });

      it(`${type}: accepts every example delivery GitHub documents for it`, () => {
        const deliveries = examples.find((e) => e.name === upstream.event)!.examples.filter((e) => upstream.action === undefined || e.action === upstream.action);
        expect(deliveries).to.have.length.greaterThan(0);
        for (const delivery of deliveries) expect(payloadViolations(catalog.types[type as keyof typeof GITHUB_TYPES], { payload: delivery })).to.deep.equal([]);
      });
    }

    it("would notice a subset that requires more than GitHub does", () => {
      const tooStrict = z.toJSONSchema(z.object({ ref: z.string(), made_up: z.string() }), { io: "input" }) as JsonSchema;
      expect(notRequiredUpstream(tooStrict, octokit.definitions["push$event"]!, "")).to.deep.equal(["/made_up"]);
    });
  });
});
