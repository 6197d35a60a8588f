/**
 * The local S3 endpoint (local/s3.ts) driven by the real @aws-sdk/client-s3, path-style, as the
 * functions reach it: PutObject, GetObject, HeadObject and DeleteObject round-trip bytes exactly,
 * errors come back as S3's (NoSuchKey, NoSuchBucket, EntityTooLarge), and no key escapes its bucket.
 */
import { expect } from "chai";
import * as fs from "node:fs";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import type { Server } from "node:http";
import { randomBytes } from "node:crypto";
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { createS3Endpoint } from "../../local/s3";
import { PayloadObjectUnreadableError, S3PayloadObjects } from "../../handlers/lib/store/payloadObjects";
import { tempDir } from "../support/tempDirs";

describe("the local S3 endpoint (client-s3 against local/s3.ts)", () => {
  let server: Server;
  let client: S3Client;
  let dir: string;

  before(async () => {
    dir = tempDir("local-s3");
    server = createS3Endpoint({ dir, buckets: ["payloads"], maxObjectBytes: 1024 * 1024 });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    client = new S3Client({ endpoint, region: "local", forcePathStyle: true, credentials: { accessKeyId: "local", secretAccessKey: "local" } });
  });
  after(async () => {
    client.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const errorName = async (promise: Promise<unknown>) => {
    try {
      await promise;
    } catch (error) {
      return (error as Error).name;
    }
    return "no error";
  };

  it("round-trips an object byte for byte, with HEAD's size, and forgets it after DeleteObject", async () => {
    const body = randomBytes(300_000);
    const put = await client.send(new PutObjectCommand({ Bucket: "payloads", Key: "events/evt_1/abc.json.br", Body: body, ContentType: "application/octet-stream" }));
    expect(put.ETag).to.match(/^"[0-9a-f]{32}"$/);
    const got = await client.send(new GetObjectCommand({ Bucket: "payloads", Key: "events/evt_1/abc.json.br" }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(body)).to.equal(true);
    expect(got.ETag).to.equal(put.ETag);
    expect((await client.send(new HeadObjectCommand({ Bucket: "payloads", Key: "events/evt_1/abc.json.br" }))).ContentLength).to.equal(300_000);
    await client.send(new DeleteObjectCommand({ Bucket: "payloads", Key: "events/evt_1/abc.json.br" }));
    expect(await errorName(client.send(new GetObjectCommand({ Bucket: "payloads", Key: "events/evt_1/abc.json.br" })))).to.equal("NoSuchKey");
    expect(await errorName(client.send(new HeadObjectCommand({ Bucket: "payloads", Key: "events/evt_1/abc.json.br" })))).to.equal("NotFound");
  });

  it("answers NoSuchBucket for another bucket and EntityTooLarge past its body cap, storing nothing", async () => {
    expect(await errorName(client.send(new PutObjectCommand({ Bucket: "elsewhere", Key: "k", Body: "x" })))).to.equal("NoSuchBucket");
    expect(await errorName(client.send(new PutObjectCommand({ Bucket: "payloads", Key: "big", Body: Buffer.alloc(1024 * 1024 + 1) })))).to.equal("EntityTooLarge");
    expect(await errorName(client.send(new GetObjectCommand({ Bucket: "payloads", Key: "big" })))).to.equal("NoSuchKey");
  });

  it("keeps every key inside its bucket's directory, whatever the key says", async () => {
    await client.send(new PutObjectCommand({ Bucket: "payloads", Key: "../../escape", Body: "inside" }));
    expect(fs.existsSync(path.join(dir, "escape"))).to.equal(false);
    expect(fs.readdirSync(path.join(dir, "payloads")).every((f) => /^[0-9a-f]{64}\.(body|meta)$/.test(f))).to.equal(true);
    const got = await client.send(new GetObjectCommand({ Bucket: "payloads", Key: "../../escape" }));
    expect(await got.Body!.transformToString()).to.equal("inside");
  });

  it("is what the claim check's S3PayloadObjects writes to and reads from", async () => {
    const objects = new S3PayloadObjects(client, "payloads");
    const body = randomBytes(50_000);
    await objects.put("events/evt_2/def.json.br", body);
    expect(Buffer.from(await objects.get("events/evt_2/def.json.br")).equals(body)).to.equal(true);
    await objects.delete("events/evt_2/def.json.br");
    // S3's NoSuchKey (or, without s3:ListBucket, AccessDenied) reaches callers as "missing" (ADR 0043).
    const missing = await objects.get("events/evt_2/def.json.br").then(() => undefined, (error: unknown) => error);
    expect(missing).to.be.instanceOf(PayloadObjectUnreadableError);
    expect(missing).to.include({ reason: "missing", key: "events/evt_2/def.json.br" });
  });
});
