/**
 * The stack in other AWS partitions (issue 20, item 8): built under mocks whose provider reports
 * the China (aws-cn) or GovCloud (aws-us-gov) partition, every ARN the program writes itself and
 * every regional service name in the key policies must follow that partition, never `arn:aws:`.
 */
import { expect } from "chai";
import { ACCOUNT, buildStack, type BuiltStack } from "../../cli/preview/mockStack";

const KEY = "aws:kms/key:Key";
const MACHINE = "aws:sfn/stateMachine:StateMachine";

type Statement = { Sid: string; Principal: { AWS?: string; Service?: string }; Condition?: Record<string, Record<string, unknown>> };
const statements = (key: { inputs: Record<string, any> }) => JSON.parse(key.inputs.policy).Statement as Statement[];

/** Every string in a resource's inputs (function code aside), with where it was found. */
function strings(value: unknown, where: string, found: [string, string][] = []): [string, string][] {
  if (typeof value === "string") found.push([where, value]);
  else if (Array.isArray(value)) value.forEach((v, i) => strings(v, `${where}[${i}]`, found));
  else if (value !== null && typeof value === "object") for (const [k, v] of Object.entries(value)) if (k !== "code") strings(v, `${where}.${k}`, found);
  return found;
}

for (const { region, partition, dnsSuffix } of [
  { region: "cn-north-1", partition: "aws-cn", dnsSuffix: "amazonaws.com.cn" },
  { region: "us-gov-west-1", partition: "aws-us-gov", dnsSuffix: "amazonaws.com" },
]) {
  describe(`the prod stack in ${region} (partition ${partition})`, function () {
    this.timeout(120_000);
    let s: BuiltStack;
    before(async () => {
      // Prod: the pipeline (topic key, state machine) and the log key are on.
      s = await buildStack("prod", { "aws:region": region });
    });

    it("no input of any resource names the aws partition (arn:aws:)", () => {
      const offending = s.resources.flatMap((r) => strings(r.inputs, r.name)).filter(([, text]) => text.includes("arn:aws:"));
      expect(offending).to.deep.equal([]);
      expect(s.resources.flatMap((r) => strings(r.inputs, r.name)).some(([, text]) => text.includes(`arn:${partition}:`))).to.equal(true);
    });

    it("the log key: the account root and CloudWatch Logs of this region, by this partition's names", () => {
      const logKey = s.one(KEY, (k) => statements(k).some((st) => st.Sid === "CloudWatchLogsOfThisStack"));
      const [admin, logs] = statements(logKey);
      expect(admin!.Principal).to.deep.equal({ AWS: `arn:${partition}:iam::${ACCOUNT}:root` });
      expect(logs!.Principal).to.deep.equal({ Service: `logs.${region}.${dnsSuffix}` });
      const arns = logs!.Condition!.ArnEquals!["kms:EncryptionContext:aws:logs:arn"] as string[];
      expect(arns.length).to.be.greaterThan(0);
      for (const arn of arns) expect(arn).to.match(new RegExp(`^arn:${partition}:logs:${region}:${ACCOUNT}:log-group:/aws/`));
    });

    it("the topic key: SNS of this region and the topic's ARN in this partition", () => {
      const topicKey = s.one(KEY, (k) => statements(k).some((st) => st.Sid === "PublishThroughSns"));
      const publish = statements(topicKey).find((st) => st.Sid === "PublishThroughSns")!;
      expect(publish.Principal).to.deep.equal({ AWS: `arn:${partition}:iam::${ACCOUNT}:root` });
      expect(publish.Condition!.StringEquals).to.deep.include({
        "kms:ViaService": `sns.${region}.${dnsSuffix}`,
        "kms:EncryptionContext:aws:sns:topicArn": `arn:${partition}:sns:${region}:${ACCOUNT}:event-ingestion-prod-payments-topic`,
      });
    });

    it("the state machine's SQS integration is this partition's", () => {
      const definition = JSON.parse(s.one(MACHINE).inputs.definition);
      expect(definition.States.Messages.ItemProcessor.States.DeadLetter.Resource).to.equal(`arn:${partition}:states:::sqs:sendMessage`);
    });
  });
}
