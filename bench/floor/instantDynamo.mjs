// A DynamoDB endpoint that answers every request at once with `{}` (HTTP 200), in its own process
// so its CPU is not counted in the measuring process. `{}` is a valid answer to PutItem and to
// BatchWriteItem (no UnprocessedItems): what remains of a request's cost is the caller's code.
// Tells the parent its endpoint over IPC; exits when the parent disconnects.
import * as http from "node:http";

const server = http.createServer((req, res) => {
  req.resume();
  req.on("end", () => {
    res.writeHead(200, { "content-type": "application/x-amz-json-1.0", "x-amzn-requestid": "instant", "content-length": "2" });
    res.end("{}");
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, "127.0.0.1", () => {
  process.send({ endpoint: `http://127.0.0.1:${server.address().port}` });
});
process.once("disconnect", () => server.close(() => process.exit(0)));
