/**
 * The claim check's bucket (ADR 0035) under Pulumi mocks, from the real stack files: encrypted,
 * never public, TLS only, objects expiring with the table's retention, and each function granted
 * exactly the object actions its code uses, on `events/*` only, never the whole bucket.
 */
import { expect } from "chai";
import * as pulumi from "@pulumi/pulumi";
import { buildStack, type BuiltStack, type MockResource } from "../../cli/preview/mockStack";
import { EventStore } from "../../components/EventStore";
import type { GrantStatement } from "../../components/handlerFunction";
import { policyOf } from "../support/leastPrivilege";
import { sharedStack } from "../support/sharedStacks";

const BUCKET = "aws:s3/bucket:Bucket";
const FUNCTION = "aws:lambda/function:Function";

describe("the payload bucket (claim check) under Pulumi mocks", function () {
  this.timeout(60_000);
  let dev: BuiltStack;
  let prod: BuiltStack;
  let devPipeline: BuiltStack;
  before(async () => {
    // One at a time: the mocks are global to the process.
    dev = await sharedStack("dev");
    prod = await sharedStack("prod");
    devPipeline = await sharedStack("dev", { pipeline: true });
  });

  const bucketOf = (s: BuiltStack) => s.one(BUCKET);
  const child = (s: BuiltStack, type: string) => s.one(type, (r) => r.inputs.bucket === bucketOf(s).id);
  const objectsArn = (s: BuiltStack) => `${bucketOf(s).state.arn}/events/*`;
  const fn = (s: BuiltStack, purpose: string) => s.one(FUNCTION, (f) => f.inputs.name === `event-ingestion-${s.stack}-${purpose}`);
  const s3Statements = (s: BuiltStack, f: MockResource) => policyOf(s, f).Statement.filter((st) => st.Action.some((a) => a.startsWith("s3:")));

  for (const which of ["dev", "prod"] as const) {
    it(`${which}: one bucket, SSE-S3 by default, every public access blocked, owner-enforced objects`, () => {
      const s = which === "dev" ? dev : prod;
      expect(s.ofType(BUCKET)).to.have.length(1);
      expect(child(s, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration").inputs.rules).to.deep.equal([
        { applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } },
      ]);
      expect(child(s, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs).to.deep.include({
        blockPublicAcls: true,
        blockPublicPolicy: true,
        ignorePublicAcls: true,
        restrictPublicBuckets: true,
      });
      expect(child(s, "aws:s3/bucketOwnershipControls:BucketOwnershipControls").inputs.rule).to.deep.equal({ objectOwnership: "BucketOwnerEnforced" });
    });

    it(`${which}: a bucket policy that denies every request without TLS, on the bucket and its objects`, () => {
      const s = which === "dev" ? dev : prod;
      const policy = JSON.parse(child(s, "aws:s3/bucketPolicy:BucketPolicy").inputs.policy);
      const arn = bucketOf(s).state.arn;
      expect(policy.Statement).to.deep.equal([
        { Sid: "DenyWithoutTls", Effect: "Deny", Principal: "*", Action: "s3:*", Resource: [arn, `${arn}/*`], Condition: { Bool: { "aws:SecureTransport": "false" } } },
      ]);
    });
  }

  it("prod (TTL 365 days): objects under events/ expire after 367 days (the table's retention plus 2 days of TTL lag); stray multipart uploads after 1", () => {
    expect(child(prod, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").inputs.rules).to.deep.equal([
      { id: "expire-with-the-table", status: "Enabled", filter: { prefix: "events/" }, expiration: { days: 367 } },
      { id: "abort-incomplete-uploads", status: "Enabled", filter: { prefix: "" }, abortIncompleteMultipartUpload: { daysAfterInitiation: 1 } },
    ]);
  });

  it("dev (no TTL: the table keeps events): objects are kept too; stray multipart uploads still expire", () => {
    expect(child(dev, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").inputs.rules).to.deep.equal([
      { id: "abort-incomplete-uploads", status: "Enabled", filter: { prefix: "" }, abortIncompleteMultipartUpload: { daysAfterInitiation: 1 } },
    ]);
  });

  it("dev (direct): writers may put, get and delete payload objects, the reader only get, ack and the rest nothing; all on events/* only", () => {
    const expected: Record<string, string[]> = {
      ingest: ["s3:PutObject", "s3:GetObject", "s3:DeleteObject"],
      webhook: ["s3:PutObject", "s3:GetObject", "s3:DeleteObject"],
      read: ["s3:GetObject"],
      ack: [],
      health: [],
      openapi: [],
      authorizer: [],
    };
    for (const [purpose, actions] of Object.entries(expected)) {
      const statements = s3Statements(dev, fn(dev, purpose));
      expect(statements.flatMap((st) => st.Action), purpose).to.have.members(actions);
      for (const st of statements) expect(st.Resource, purpose).to.deep.equal([objectsArn(dev)]);
    }
    expect(fn(dev, "read").inputs.environment.variables.PAYLOAD_BUCKET_NAME).to.equal(bucketOf(dev).state.bucket);
  });

  it("prod (queued): the processor writes payload objects; ingest and webhook put a payload too large for a message (ADR 0043) and read a stored duplicate's, never delete", () => {
    expect(s3Statements(prod, fn(prod, "processor")).flatMap((st) => st.Action)).to.have.members(["s3:PutObject", "s3:GetObject", "s3:DeleteObject"]);
    for (const purpose of ["ingest", "webhook"]) expect(s3Statements(prod, fn(prod, purpose)).flatMap((st) => st.Action), purpose).to.deep.equal(["s3:PutObject", "s3:GetObject"]);
  });

  it("the pipeline's Store writes payload objects; Validate has none", () => {
    expect(s3Statements(devPipeline, fn(devPipeline, "payments-store")).flatMap((st) => st.Action)).to.have.members(["s3:PutObject", "s3:GetObject", "s3:DeleteObject"]);
    expect(s3Statements(devPipeline, fn(devPipeline, "payments-validate"))).to.deep.equal([]);
  });

  it("no statement anywhere names the whole bucket or an s3 wildcard action", () => {
    for (const s of [dev, prod, devPipeline]) {
      const bucketArn = bucketOf(s).state.arn;
      for (const f of s.ofType(FUNCTION)) {
        for (const st of policyOf(s, f).Statement) {
          for (const action of st.Action) expect(action, f.name).not.to.match(/^s3:.*\*/);
          for (const resource of st.Resource) {
            expect(resource, f.name).not.to.equal(bucketArn);
            expect(resource, f.name).not.to.equal(`${bucketArn}/*`);
          }
        }
      }
    }
  });
});

describe("payload object grants with the table's own KMS key", function () {
  this.timeout(60_000);
  const KEY = "arn:aws:kms:eu-north-1:123456789012:key/abc";
  const resolve = (value: pulumi.Input<string>): Promise<string> => new Promise((r) => pulumi.output(value).apply(r));
  const resolved = async (statements: GrantStatement[]) =>
    Promise.all(statements.map(async (st) => ({ Effect: st.Effect, Action: st.Action, Resource: await Promise.all((st.Resource as pulumi.Input<string>[]).map(resolve)) })));

  it("adds kms:GenerateDataKey for a writer and kms:Decrypt for a reader, on that key only; nothing of KMS without it or for a delete alone", async () => {
    await sharedStack("dev"); // the mocks are process-wide: components made here register with them
    const encrypted = new EventStore("cmk-store", { encryption: { kmsKeyArn: KEY } });
    const plain = new EventStore("sse-s3-store", {});
    const writer = await resolved(encrypted.grantPayloadObjects(["s3:PutObject", "s3:GetObject", "s3:DeleteObject"]));
    expect(writer.slice(1)).to.deep.equal([{ Effect: "Allow", Action: ["kms:GenerateDataKey", "kms:Decrypt"], Resource: [KEY] }]);
    expect(writer[0]!.Action).to.deep.equal(["s3:PutObject", "s3:GetObject", "s3:DeleteObject"]);
    expect((await resolved(encrypted.grantPayloadObjects(["s3:GetObject"]))).slice(1)).to.deep.equal([{ Effect: "Allow", Action: ["kms:Decrypt"], Resource: [KEY] }]);
    expect(await resolved(encrypted.grantPayloadObjects(["s3:DeleteObject"]))).to.have.length(1);
    expect(await resolved(encrypted.grantPayloadObjects([]))).to.deep.equal([]);
    const unencrypted = await resolved(plain.grantPayloadObjects(["s3:PutObject", "s3:GetObject"]));
    expect(unencrypted).to.have.length(1);
    expect(unencrypted.flatMap((st) => st.Action).filter((a) => a.startsWith("kms:"))).to.deep.equal([]);
  });
});

describe("large-event body limits under Pulumi mocks", function () {
  this.timeout(60_000);

  it("the webhook function takes 1 MiB bodies by default (maxWebhookBytes), POST /events keeps maxEventBytes", async () => {
    const dev = await sharedStack("dev");
    const env = (purpose: string) => dev.one(FUNCTION, (f) => f.inputs.name === `event-ingestion-dev-${purpose}`).inputs.environment.variables;
    expect(env("webhook").MAX_WEBHOOK_BYTES).to.equal("1048576");
    expect(env("ingest").MAX_EVENT_BYTES).to.equal("65536");
    expect(env("ingest")).not.to.have.property("MAX_WEBHOOK_BYTES");
  });

  it("refuses a body limit beyond 5 MiB, which Lambda's 6 MB invocation could not carry once escaped", async () => {
    let error: unknown;
    try {
      await buildStack("dev", { maxWebhookBytes: 6 * 1024 * 1024 });
    } catch (e) {
      error = e;
    }
    expect(String((error as Error)?.message ?? error)).to.match(/maxWebhookBytes must be an integer from 1024 to 5242880/);
  });
});
