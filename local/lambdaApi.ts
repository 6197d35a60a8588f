/**
 * A local Lambda API endpoint with just `GetFunctionConfiguration` (REST, `GET
 * /2015-03-31/functions/{name}/configuration`) for the local stack's functions, under the names a
 * deploy gives them (`event-ingestion-local-<purpose>`). It answers what AWS answers: the function's
 * own environment, which names tables, queues and secret PARAMETERS (never a secret). The local
 * endpoints the bundles are pointed at and their per-start credentials are not part of it, as AWS
 * never lists the runtime's credentials either. `npm run replay -- --stack local` reads the replay
 * function's environment here, through AWS_ENDPOINT_URL_LAMBDA, exactly as it reads a deployed one.
 */
import * as http from "node:http";

export interface LocalFunctionConfiguration {
  /** The physical name, as a deploy names it. */
  name: string;
  environment: Record<string, string>;
  memoryMb: number;
  timeoutSeconds: number;
}

export function createLambdaApiEndpoint(functions: () => readonly LocalFunctionConfiguration[], region: string): http.Server {
  return http.createServer((req, res) => {
    req.resume();
    const answer = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { "content-type": "application/json", ...headers }).end(JSON.stringify(body));
    };
    const path = new URL(req.url ?? "/", "http://local").pathname;
    const match = /^\/2015-03-31\/functions\/([^/]+)\/configuration\/?$/.exec(path);
    if (req.method !== "GET" || !match) {
      return answer(400, { Type: "User", message: `the local Lambda endpoint answers GetFunctionConfiguration only, not ${req.method} ${path}` }, { "x-amzn-errortype": "InvalidRequestContentException" });
    }
    // A name, or an ARN ending in `function:<name>` (Lambda takes either).
    const requested = decodeURIComponent(match[1]!).split(":function:").pop()!;
    const fn = functions().find((f) => f.name === requested);
    const arn = `arn:aws:lambda:${region}:000000000000:function:${requested}`;
    if (!fn) return answer(404, { Type: "User", message: `Function not found: ${arn}` }, { "x-amzn-errortype": "ResourceNotFoundException" });
    answer(200, {
      FunctionName: fn.name,
      FunctionArn: arn,
      MemorySize: fn.memoryMb,
      Timeout: fn.timeoutSeconds,
      Environment: { Variables: fn.environment },
      State: "Active",
      PackageType: "Zip",
    });
  });
}
