/** The three ComponentResources on their own: type tokens, parentage, arguments and transforms. */
import { expect } from "chai";
import * as pulumi from "@pulumi/pulumi";
import { EventIngestionApi, executionPath, routeSlug } from "../../components/EventIngestionApi";
import { EventStore } from "../../components/EventStore";
import { ROUTES } from "../../handlers/routes";
import { buildStack, type BuiltStack } from "../../cli/preview/mockStack";

const resolve = <T>(output: pulumi.Output<T>): Promise<T> => new Promise((r) => output.apply(r));

describe("ComponentResources", function () {
  this.timeout(60_000);
  let stack: BuiltStack;
  let store: EventStore;
  let api: EventIngestionApi;
  before(async () => {
    stack = await buildStack("dev");
    store = new EventStore("c-store", { statusIndexShards: 4, transform: { table: { tags: { Team: "data" } } } });
    api = new EventIngestionApi("c-api", { eventStore: store, transform: { stage: (args) => void (args.description = "edited") } });
    await resolve(api.url);
  });

  it("use the event-ingestion:index:<Name> type tokens", async () => {
    expect(await resolve(store.urn)).to.match(/::event-ingestion:index:EventStore::c-store$/);
    expect(await resolve(api.urn)).to.match(/::event-ingestion:index:EventIngestionApi::c-api$/);
    expect(await resolve(api.authorizer.urn)).to.match(/event-ingestion:index:EventIngestionApi\$event-ingestion:index:ApiKeyAuthorizer::c-api-auth$/);
  });

  it("create every child with parent: this", async () => {
    expect(await resolve(store.table.urn)).to.include("event-ingestion:index:EventStore$aws:dynamodb/table:Table::c-store-table");
    for (const child of [api.api, api.stage, api.accessLogGroup, ...api.routes, api.functions.ingest!.function, api.functions.ingest!.role]) {
      expect(await resolve(child.urn)).to.include("event-ingestion:index:EventIngestionApi$aws:");
    }
    for (const child of [api.authorizer.keysTable, api.authorizer.authorizer, api.authorizer.permission, api.authorizer.handler.function]) {
      expect(await resolve(child.urn)).to.include("event-ingestion:index:ApiKeyAuthorizer$aws:");
    }
  });

  it("apply a transform given as partial arguments or as a callback", () => {
    const table = stack.resources.find((r) => r.name === "c-store-table")!;
    expect(table.inputs.tags).to.deep.equal({ Team: "data" });
    expect(table.inputs.hashKey).to.equal("event_id");
    const stage = stack.resources.find((r) => r.name === "c-api-stage")!;
    expect(stage.inputs.description).to.equal("edited");
    expect(stage.inputs.autoDeploy).to.equal(true);
  });

  it("fail early with the argument to change", () => {
    expect(() => new EventStore("bad-ttl", { enableTtl: true, retentionDays: 0 })).to.throw(/retentionDays must be an integer from 1/);
    expect(() => new EventIngestionApi("bad-throttle", { eventStore: store, throttle: { rateLimit: 0, burstLimit: 1 } })).to.throw(
      /throttle.rateLimit and throttle.burstLimit must be positive/,
    );
    expect(() => new EventIngestionApi("bad-size", { eventStore: store, maxEventBytes: 10 })).to.throw(/maxEventBytes must be an integer/);
  });

  it("derive stable logical names and execute-api paths from routes", () => {
    expect(routeSlug({ method: "POST", path: "/events/{event_id}/ack" })).to.equal("post-events-event_id-ack");
    expect(executionPath("/events/{event_id}/ack")).to.equal("/events/*/ack");
    expect(new Set(ROUTES.map(routeSlug)).size).to.equal(ROUTES.length);
  });
});
