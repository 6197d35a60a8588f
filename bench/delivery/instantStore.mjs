// A DynamoDB (and SSM) endpoint that answers at once from its own process, so its CPU is not
// counted in the measuring process: the sibling of bench/floor/instantDynamo.mjs for deliveries.
// It waits for its answers over IPC ({eventItem, stateItem, parameterValue}, DynamoDB JSON) and
// answers every GetItem or BatchGetItem key on the events table with the stored event, on the
// deliveries table with the pending state item, a Query with the state as delivered, an UpdateItem on the deliveries table
// with the state as a successful delivery leaves it (ReturnValues ALL_NEW), any other UpdateItem
// or PutItem with `{}`, and SSM GetParameter with the subscription's secrets. The code under test
// therefore takes its delivery path every time. Tells the parent its endpoint; exits when the
// parent disconnects.
import * as http from "node:http";

process.once("message", ({ eventsTable, eventItem, stateItem, settledItem, parameterValue }) => {
  const answers = {
    GetItem: (input) => ({ Item: input.TableName === eventsTable ? eventItem : stateItem }),
    BatchGetItem: (input) => ({
      Responses: Object.fromEntries(Object.entries(input.RequestItems).map(([table, { Keys }]) => [table, Keys.map(() => (table === eventsTable ? eventItem : stateItem))])),
      UnprocessedKeys: {},
    }),
    Query: () => ({ Items: [settledItem], Count: 1, ScannedCount: 1 }),
    UpdateItem: (input) => (input.TableName === eventsTable ? {} : { Attributes: settledItem }),
    PutItem: () => ({}),
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
