// A DynamoDB (and SSM) endpoint that answers at once from its own process, so its CPU is not
// counted in the measuring process: the sibling of bench/floor/instantDynamo.mjs for deliveries.
// It waits for its answers over IPC (per event id, DynamoDB JSON: `events` the stored events,
// `states` their pending state items, `settled` the states as delivered; `parameterValue`) and
// answers every GetItem or BatchGetItem key (by its `event_id`) on the events table with that
// stored event, on the deliveries table with its pending state item, a Query with the state as
// delivered, an UpdateItem on the deliveries table with the state as a successful delivery leaves
// it (the whole item for ALL_NEW, the updated attributes for UPDATED_NEW), any other UpdateItem or PutItem with `{}`, BatchWriteItem with nothing
// unprocessed, and SSM GetParameter with the subscription's secrets. The code under test therefore
// takes its delivery path every time, for every distinct event of a batch. Tells the parent its
// endpoint; exits when the parent disconnects.
import * as http from "node:http";

process.once("message", ({ eventsTable, events, states, settled, parameterValue }) => {
  const idOf = (key) => key.event_id.S;
  // ALL_NEW: the whole item; UPDATED_NEW: the attributes the expression names (SET a = …, ADD b :v).
  const returned = (input, item) => {
    if (input.ReturnValues !== "UPDATED_NEW") return item;
    const names = input.ExpressionAttributeNames ?? {};
    const updated = input.UpdateExpression.split(/\b(?:SET|ADD|REMOVE)\b/).flatMap((clause) => clause.split(",").map((part) => part.trim().split(/[\s=]+/)[0])).filter(Boolean);
    return Object.fromEntries(updated.map((name) => names[name] ?? name).filter((name) => name in item).map((name) => [name, item[name]]));
  };
  const answers = {
    GetItem: (input) => ({ Item: (input.TableName === eventsTable ? events : states)[idOf(input.Key)] }),
    BatchGetItem: (input) => ({
      Responses: Object.fromEntries(Object.entries(input.RequestItems).map(([table, { Keys }]) => [table, Keys.map((key) => (table === eventsTable ? events : states)[idOf(key)])])),
      UnprocessedKeys: {},
    }),
    Query: (input) => ({ Items: [settled[input.ExpressionAttributeValues[":id"].S]], Count: 1, ScannedCount: 1 }),
    UpdateItem: (input) => (input.TableName === eventsTable ? {} : { Attributes: returned(input, settled[idOf(input.Key)]) }),
    PutItem: () => ({}),
    BatchWriteItem: () => ({ UnprocessedItems: {} }),
    GetParameter: (input) => ({ Parameter: { Name: input.Name, Type: "SecureString", Value: parameterValue, Version: 1 } }),
  };
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const action = String(req.headers["x-amz-target"] ?? "").split(".").pop();
      const answer = answers[action];
      const body = JSON.stringify(answer ? answer(JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}")) : {});
      res.writeHead(answer ? 200 : 400, { "content-type": "application/x-amz-json-1.1", "x-amzn-requestid": "instant", "content-length": String(Buffer.byteLength(body)) });
      res.end(body);
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, "127.0.0.1", () => process.send({ endpoint: `http://127.0.0.1:${server.address().port}` }));
  process.once("disconnect", () => server.close(() => process.exit(0)));
});
