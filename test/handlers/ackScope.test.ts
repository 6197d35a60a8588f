/**
 * Issue 16, finding 3: acknowledging changes state, so it needs its own `ack` scope; a read-only
 * dashboard key must not empty the consumer's inbox. Keys issued before the scope existed keep
 * acking with `read` until they are reissued (ADR 0006). Each test failed before the fix.
 */
import { expect } from "chai";
import { GetCommand } from "@aws-sdk/lib-dynamodb";
import { createAckHandler } from "../../handlers/lib/api/ackEvent";
import { generateApiKey, verifyApiKey, type ApiKeyRecord } from "../../handlers/lib/auth/apiKeys";
import { createAuthorizer } from "../../handlers/lib/auth/authorize";
import { createIngestHandler } from "../../handlers/lib/api/ingestEvent";
import { EventRepository } from "../../handlers/lib/store/store";
import { EVENTS_TABLE } from "../../handlers/lib/primitives/tables";
import { findRoute, SCOPES } from "../../handlers/routes";
import { useDynalite } from "../support/dynalite";
import { authorizerEvent, httpEvent, postEvent } from "../support/events";
import { expectProblem, jsonBody } from "../support/http";

describe("POST /events/{event_id}/ack needs the ack scope (issue 16)", () => {
  const suite = useDynalite();

  async function storedEvent() {
    const table = await suite.freshTable(EVENTS_TABLE, "ack-scope");
    const ingest = createIngestHandler({ repository: new EventRepository(suite.dynamo.doc, table), config: { eventsTable: table, statusIndexShards: 4, maxEventBytes: 65_536 } });
    const eventId = jsonBody<{ event_id: string }>(await ingest(postEvent({ event_type: "x", payload: {} }))).event_id;
    const ack = createAckHandler({ doc: suite.dynamo.doc, eventsTable: table, statusIndexShards: 4 });
    const ackAs = (scopes: string) => {
      const event = httpEvent({ routeKey: "POST /events/{event_id}/ack", headers: { "content-type": undefined }, caller: { key_id: "0123456789abcdef", scopes } });
      event.pathParameters = { event_id: eventId };
      return ack(event).then((response) => Object.assign(response, { event }));
    };
    const status = async () => (await suite.dynamo.doc.send(new GetCommand({ TableName: table, Key: { event_id: eventId }, ConsistentRead: true }))).Item!.status;
    return { ackAs, status };
  }

  it("declares ack as a scope of its own and requires it on the ack route", () => {
    expect(SCOPES).to.include("ack");
    expect(findRoute("POST /events/{event_id}/ack")!.scope).to.equal("ack");
    expect(findRoute("GET /inbox")!.scope).to.equal("read");
  });

  it("answers 403 insufficient_scope naming ack to a key with only read (or ingest read), and the event stays pending", async () => {
    const { ackAs, status } = await storedEvent();
    for (const scopes of ["read", "ingest read"]) {
      const response = await ackAs(scopes);
      const problem = expectProblem(response, response.event, 403, "insufficient_scope");
      expect(problem.detail).to.include('"ack"');
    }
    expect(await status()).to.equal("pending");
  });

  it("acks with a key that carries ack, even without read", async () => {
    const { ackAs, status } = await storedEvent();
    expect((await ackAs("ack")).statusCode).to.equal(200);
    expect(await status()).to.equal("delivered");
  });

  describe("keys issued before the ack scope", () => {
    const lookupOf = (record: ApiKeyRecord) => async () => record;

    it("marks new keys with scope_version 2, so their scopes are exactly what they list", async () => {
      const key = generateApiKey("dashboard", ["read"]);
      expect(key.record.scope_version).to.equal(2);
      expect(await verifyApiKey(`Bearer ${key.apiKey}`, lookupOf(key.record))).to.deep.include({ ok: true, scopes: ["read"] });
    });

    it("lets a legacy record (no scope_version) with read also ack until it is reissued; without read it gains nothing", async () => {
      const key = generateApiKey("consumer", ["ingest", "read"]);
      const { scope_version: _v, ...legacy } = key.record;
      expect(await verifyApiKey(`Bearer ${key.apiKey}`, lookupOf(legacy as ApiKeyRecord))).to.deep.include({ ok: true, scopes: ["ingest", "read", "ack"] });
      expect(await verifyApiKey(`Bearer ${key.apiKey}`, lookupOf(legacy as ApiKeyRecord))).to.deep.include({ impliedAck: true });
      const ingestOnly = { ...legacy, scopes: ["ingest"] } as ApiKeyRecord;
      expect(await verifyApiKey(`Bearer ${key.apiKey}`, lookupOf(ingestOnly))).to.deep.include({ ok: true, scopes: ["ingest"] });
    });

    it("marks the authorizer's log line implied_ack for a legacy read key, so operators can find keys to reissue", async () => {
      const key = generateApiKey("consumer", ["read"]);
      const { scope_version: _v, ...legacy } = key.record;
      const authorize = createAuthorizer(async () => legacy as ApiKeyRecord);
      expect(await authorize(authorizerEvent(`Bearer ${key.apiKey}`))).to.deep.include({ isAuthorized: true });
      expect(suite.logs.withMessage("authorize").at(-1)).to.include({ decision: "allow", implied_ack: true });
      const current = generateApiKey("dashboard", ["read"]);
      await createAuthorizer(async () => current.record)(authorizerEvent(`Bearer ${current.apiKey}`));
      expect(suite.logs.withMessage("authorize").at(-1)).to.not.have.property("implied_ack");
    });
  });
});
