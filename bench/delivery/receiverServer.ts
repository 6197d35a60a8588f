/**
 * The receiving endpoint for the delivery CPU bench, in its own process (bench/delivery.ts forks
 * it) so its work — reading each request and verifying it with the `standardwebhooks` library, as
 * test/support/receiver.ts does — is not counted against the deliverer being measured. Answers 204.
 */
import { startReceiver } from "../../test/support/receiver";
import { serveUntilParentLeaves } from "../lib/child";

process.once("message", (input) => {
  const { secret } = input as { secret: string };
  void startReceiver(secret, () => ({ status: 204 })).then((receiver) => {
    // Keep the count only: the bench sends thousands of deliveries.
    const received = receiver.received;
    setInterval(() => received.splice(0, received.length), 1000).unref();
    serveUntilParentLeaves({ url: receiver.url }, () => receiver.close());
  });
});
