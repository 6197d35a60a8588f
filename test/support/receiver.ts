/**
 * A receiving team's endpoint for delivery tests: an HTTP server on 127.0.0.1 (port 0) that verifies
 * every delivery with the `standardwebhooks` library, as a receiver would, and records what came.
 * `behaviour` decides each answer: a status (with optional headers), a delay, or a dropped connection.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";

export interface ReceivedDelivery {
  webhookId: string;
  eventId: string;
  eventType: string;
  verified: boolean;
  body: Record<string, unknown>;
  /** The request body exactly as it arrived. */
  raw: string;
  answered: number;
}

export interface Answer {
  /** Ignored with `drop`. */
  status: number;
  /** Reset the connection without answering (a receiver that is down). */
  drop?: boolean;
  headers?: Record<string, string>;
  delayMs?: number;
  body?: string;
}

export interface TestReceiver {
  url: string;
  port: number;
  received: ReceivedDelivery[];
  /** Verified deliveries that were answered 2xx. */
  accepted(): ReceivedDelivery[];
  behaviour: (delivery: ReceivedDelivery, index: number) => Answer;
  /** Requests whose connection the sender closed before the answer (its timeout). */
  abandoned: number;
  /** Takes the receiver down for real: the listening socket and every open connection close, so connects are refused. */
  stop(): Promise<void>;
  /** Listens again on the same port after `stop()`. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

export async function startReceiver(secret: string, behaviour: TestReceiver["behaviour"] = () => ({ status: 204 }), path = "/hooks"): Promise<TestReceiver> {
  const verifier = new Webhook(secret);
  const received: ReceivedDelivery[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const payload = Buffer.concat(chunks).toString("utf8");
      let verified = false;
      try {
        verifier.verify(payload, req.headers as Record<string, string>);
        verified = true;
      } catch {
        verified = false;
      }
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(payload) as Record<string, unknown>;
      } catch {
        // recorded as is: unverified
      }
      const delivery: ReceivedDelivery = {
        webhookId: String(req.headers["webhook-id"] ?? ""),
        eventId: String(body.event_id ?? ""),
        eventType: String(body.event_type ?? ""),
        verified,
        body,
        raw: payload,
        answered: 0,
      };
      const answer = receiver.behaviour(delivery, received.length);
      received.push(delivery);
      if (answer.drop) {
        req.socket.destroy();
        return;
      }
      delivery.answered = answer.status;
      res.on("close", () => {
        if (!res.writableEnded) receiver.abandoned += 1;
      });
      const send = () => {
        if (res.destroyed) return;
        res.writeHead(answer.status, answer.headers ?? {}).end(answer.body ?? "");
      };
      if (answer.delayMs) setTimeout(send, answer.delayMs).unref();
      else send();
    });
  });
  const closeServer = () =>
    new Promise<void>((resolve) => {
      if (!server.listening) return resolve();
      server.close(() => resolve());
      server.closeAllConnections();
    });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const receiver: TestReceiver = {
    url: `http://127.0.0.1:${port}${path}`,
    port,
    received,
    accepted: () => received.filter((d) => d.verified && d.answered >= 200 && d.answered < 300),
    behaviour,
    abandoned: 0,
    stop: () => closeServer(),
    restart: () =>
      new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, "127.0.0.1", () => {
          server.off("error", reject);
          resolve();
        });
      }),
    close: () => closeServer(),
  };
  return receiver;
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs` with `what`. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
