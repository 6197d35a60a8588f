/**
 * WebhookSources: one SSM Parameter Store SecureString per webhook source, holding the secrets it
 * accepts (current first, the previous one while a rotation is under way), and what the webhook
 * function needs to read them: an environment of parameter NAMES and an IAM grant of
 * `ssm:GetParameter` on exactly those parameters (docs/adr/0020). The secrets are Pulumi secrets
 * end to end, so the state holds them only encrypted, and no function environment carries them.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { secretProblem, DEFAULT_TOLERANCE_SECONDS, type WebhookScheme } from "../handlers/lib/webhooks/signatures";
import { encodeSecrets, secretParameterName, webhookEnvironment, WEBHOOK_SOURCE_NAME, type WebhookSource } from "../handlers/lib/webhooks/sources";
import type { GrantStatement } from "./handlerFunction";
import { applyTransform, requireInteger, type Transform } from "./naming";

export interface WebhookSourceArgs {
  /** The `{source}` of `POST /webhooks/{source}`: lower-case letters, digits, `_` and `-`. @example "github" */
  name: string;
  scheme: WebhookScheme;
  /** The signing secret the sender uses; pass a Pulumi secret (`config.requireSecret`). */
  secret: pulumi.Input<string>;
  /** The secret being rotated out, accepted too until it is removed. @default undefined */
  previousSecret?: pulumi.Input<string>;
}

export interface WebhookSourcesArgs {
  /** @default [] (every delivery is answered 401 unknown_source) */
  sources?: WebhookSourceArgs[];
  /** Largest distance, in seconds, between a signed timestamp and now. @default 300 */
  toleranceSeconds?: number;
  transform?: { parameter?: Transform<aws.ssm.ParameterArgs> };
}

export class WebhookSources extends pulumi.ComponentResource {
  readonly parameters: aws.ssm.Parameter[];
  /** The webhook function's environment: sources, schemes, parameter names, tolerance. No secrets. */
  readonly environment: Record<string, string>;
  /** `ssm:GetParameter` on exactly this stack's webhook parameters; empty without sources. */
  readonly grants: GrantStatement[];

  constructor(name: string, args: WebhookSourcesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("event-ingestion:index:WebhookSources", name, {}, opts);
    const sources = validateSources(args.sources ?? []);
    const toleranceSeconds = requireInteger("WebhookSources", "toleranceSeconds", args.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS, 1, 86_400);

    const described: WebhookSource[] = sources.map((s) => ({
      name: s.name,
      scheme: s.scheme,
      parameter: secretParameterName(pulumi.getProject(), pulumi.getStack(), s.name),
    }));
    this.parameters = sources.map((source, i) => this.createParameter(name, source, described[i]!.parameter, args.transform?.parameter));
    this.environment = webhookEnvironment(described, toleranceSeconds);
    this.grants =
      this.parameters.length === 0 ? [] : [{ Effect: "Allow", Action: ["ssm:GetParameter"], Resource: this.parameters.map((p) => p.arn) }];
    this.registerOutputs({ parameterNames: described.map((s) => s.parameter) });
  }

  private createParameter(
    name: string,
    source: WebhookSourceArgs,
    parameterName: string,
    transform: Transform<aws.ssm.ParameterArgs> | undefined,
  ): aws.ssm.Parameter {
    return new aws.ssm.Parameter(
      `${name}-${source.name}`,
      applyTransform<aws.ssm.ParameterArgs>(
        {
          name: parameterName,
          description: `Signing secrets of webhook source "${source.name}" (${source.scheme}); JSON array, current first`,
          type: "SecureString", // encrypted with the AWS-managed key aws/ssm
          tier: "Standard",
          value: secretValue(source),
        },
        transform,
      ),
      { parent: this },
    );
  }
}

function validateSources(sources: WebhookSourceArgs[]): WebhookSourceArgs[] {
  const seen = new Set<string>();
  for (const source of sources) {
    if (!WEBHOOK_SOURCE_NAME.test(source.name)) {
      throw new Error(`WebhookSources: source name "${source.name}" must match ${WEBHOOK_SOURCE_NAME.source}`);
    }
    if (seen.has(source.name)) throw new Error(`WebhookSources: source "${source.name}" appears twice`);
    seen.add(source.name);
  }
  return sources;
}

/** The parameter value as a Pulumi secret; a secret the scheme cannot use fails the preview, unquoted. */
function secretValue(source: WebhookSourceArgs): pulumi.Output<string> {
  return pulumi.secret(
    pulumi.all([source.secret, source.previousSecret]).apply(([secret, previous]) => {
      const secrets = previous === undefined || previous === "" ? [secret] : [secret, previous];
      for (const [i, value] of secrets.entries()) {
        const problem = secretProblem(source.scheme, value);
        if (problem) throw new Error(`WebhookSources: the ${i === 0 ? "" : "previous "}secret of "${source.name}" (${source.scheme}) ${problem}`);
      }
      return encodeSecrets(secrets);
    }),
  );
}
