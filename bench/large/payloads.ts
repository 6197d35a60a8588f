/**
 * The large-event workload (bench/large.ts): GitHub-shaped payloads of a chosen size, cut from the
 * `pull_request.opened` example (@octokit/webhooks-examples) field by field, so a 2 KB payload
 * compresses as a real 2 KB webhook does (URLs, ids, nested users), not as padding would.
 */
import { githubExamples, githubStylePayload, pullRequestOpened } from "../../cost/githubPayloads";
import { typicalEventBody, TYPICAL_EVENT_BYTES } from "../lib/fixtures";

/** An event type every catalogue policy accepts (the bench runs with the catalogue off, as the dev stack). */
export const LARGE_EVENT_TYPE = "github.pull_request";

/**
 * A payload of exactly `bytes` of JSON text (≥ 128): the example's top-level fields and then its
 * pull_request, repository and sender fields in order, each taken whole if it fits, the rest filled
 * with a `note` of words and hex ids (as commit messages read). Deterministic.
 */
export function sizedPayload(bytes: number): string {
  if (bytes < 128) throw new Error("a sized payload needs at least 128 bytes");
  const source = JSON.parse(pullRequestOpened()) as Record<string, unknown>;
  const out: Record<string, unknown> = { action: source.action, number: source.number };
  const size = () => Buffer.byteLength(JSON.stringify({ ...out, note: "" }));
  for (const part of ["pull_request", "repository", "sender"]) {
    const target: Record<string, unknown> = {};
    out[part] = target;
    if (size() > bytes) {
      delete out[part];
      break;
    }
    for (const [key, value] of Object.entries(source[part] as Record<string, unknown>)) {
      target[key] = value;
      if (size() > bytes) delete target[key];
    }
  }
  const missing = bytes - size();
  const words = ["fix", "add", "the", "build", "test", "merge", "branch", "cache", "docs", "bump", "release", "of", "in", "a1f3c9e", "77b0d2e4", "c0ffee12"];
  let note = "";
  for (let i = 0; note.length < missing; i++) note += `${words[(i * 7 + (i >> 3)) % words.length]} `;
  out.note = note.slice(0, missing);
  const text = JSON.stringify(out);
  if (Buffer.byteLength(text) !== bytes) throw new Error(`sized payload is ${Buffer.byteLength(text)} bytes, not ${bytes}`);
  return text;
}

/** A POST /events body around a payload's JSON text (spliced, so its numbers keep their digits). */
export function eventBody(payloadText: string): string {
  return `{"event_type":"${LARGE_EVENT_TYPE}","payload":${payloadText}}`;
}

/** Payload sizes of the CPU sweep (bench/large.ts): where compression starts to pay off. */
export const SWEEP_PAYLOAD_BYTES = [512, 768, 1024, 2048, 3072, 4096, 8192] as const;

export interface LargeCase {
  /** Short name: the key of its figures in results.json. */
  name: string;
  label: string;
  /** The POST /events body. */
  body: string;
  /** The payload's JSON text (the webhook route's body). */
  payload: string;
}

/** The typical 300-byte event (the floor's), a sweep of sized payloads, and pull_request.opened. */
export function cpuCases(): LargeCase[] {
  const typical = typicalEventBody();
  return [
    { name: "typical_300", label: `${TYPICAL_EVENT_BYTES} B event (typical)`, body: typical, payload: JSON.stringify((JSON.parse(typical) as { payload: unknown }).payload) },
    ...SWEEP_PAYLOAD_BYTES.map((bytes) => ({ name: `payload_${bytes}`, label: `${bytes} B payload`, body: eventBody(sizedPayload(bytes)), payload: sizedPayload(bytes) })),
    { name: "pull_request_opened", label: `pull_request.opened (${Buffer.byteLength(pullRequestOpened())} B)`, body: eventBody(pullRequestOpened()), payload: pullRequestOpened() },
  ];
}

/** The storage size classes: 300 B (typical event), 5 KB, 24 KB (GitHub-style, as `npm run cost`), pull_request.opened. */
export function storageClasses(): LargeCase[] {
  const typical = typicalEventBody();
  const gh24 = githubStylePayload(24 * 1024);
  return [
    { name: "typical_300", label: `${TYPICAL_EVENT_BYTES} B event`, body: typical, payload: JSON.stringify((JSON.parse(typical) as { payload: unknown }).payload) },
    { name: "payload_5k", label: "5 KB payload", body: eventBody(sizedPayload(5 * 1024)), payload: sizedPayload(5 * 1024) },
    { name: "payload_24k", label: "24 KB payload (GitHub-style)", body: eventBody(gh24), payload: gh24 },
    { name: "pull_request_opened", label: `pull_request.opened (${(Buffer.byteLength(pullRequestOpened()) / 1024).toFixed(1)} KB)`, body: eventBody(pullRequestOpened()), payload: pullRequestOpened() },
  ];
}

/** Every GitHub example as a POST /events body. */
export function githubExampleBodies(): string[] {
  return githubExamples().map((e) => eventBody(e.text));
}
