// The instant endpoint of bench/floor/instantDynamo.mjs (every DynamoDB request answered `{}` at once,
// in its own process), plus what the large-event bench needs of it:
// - SSM GetParameter answers the webhook source's secret parameter (BENCH_WEBHOOK_PARAMETER, value
//   BENCH_WEBHOOK_SECRETS), so the webhook bundle runs unchanged;
// - between `POST /__bench/capture` and `GET /__bench/captured` it keeps each PutItem's `Item` (wire
//   format), so the bench measures the items the bundles actually send. Capturing is off while timing.
import * as http from "node:http";

let captured;
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    if (req.url === "/__bench/capture") {
      captured = [];
      return res.end("{}");
    }
    if (req.url === "/__bench/captured") {
      const body = JSON.stringify(captured ?? []);
      captured = undefined;
      return res.end(body);
    }
    const target = req.headers["x-amz-target"] ?? "";
    let body = "{}";
    if (target === "AmazonSSM.GetParameter") {
      const name = JSON.parse(Buffer.concat(chunks).toString("utf8")).Name;
      body = JSON.stringify({ Parameter: { Name: name, Type: "SecureString", Value: process.env.BENCH_WEBHOOK_SECRETS, Version: 1 } });
    } else if (captured && target === "DynamoDB_20120810.PutItem") {
      captured.push(JSON.parse(Buffer.concat(chunks).toString("utf8")).Item);
    }
    res.writeHead(200, { "content-type": target.startsWith("AmazonSSM") ? "application/x-amz-json-1.1" : "application/x-amz-json-1.0", "x-amzn-requestid": "instant", "content-length": Buffer.byteLength(body) });
    res.end(body);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, "127.0.0.1", () => {
  process.send({ endpoint: `http://127.0.0.1:${server.address().port}` });
});
process.once("disconnect", () => server.close(() => process.exit(0)));
