/**
 * Opaque listing cursors. A cursor records, per status-index shard, the sort position of the last
 * item the client was given from that shard (or that the shard is exhausted), plus a SHA-256
 * checksum that binds it to the query it came from. Anything that does not decode, verify and
 * validate is a client error (400), never a 500: positions are checked against strict patterns and
 * the DynamoDB start key is rebuilt from the query itself, so no cursor can steer a Query elsewhere.
 * It is not a secret: forging one grants nothing beyond what the read scope already allows.
 */
import { createHash } from "node:crypto";
import { EVENT_ID_PATTERN } from "../primitives/ids";

/** Where a shard stands: not started, after this (created_at, event_id), or exhausted. */
export type ShardPosition = { after: { createdAt: string; eventId: string } } | "start" | "done";

export interface CursorState {
  /** Keyed by `status_shard` value, e.g. `pending#3`. */
  shards: Record<string, ShardPosition>;
}

export class InvalidCursorError extends Error {
  constructor(reason: string) {
    super(`invalid cursor: ${reason}`);
    this.name = "InvalidCursorError";
  }
}

const VERSION = 1;
const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const SHARD_KEY = /^(pending|delivered|failed|replayed)#\d{1,2}$/;

type Encoded = [createdAt: string, eventId: string] | 0 | 1; // 0 = start, 1 = done

export function encodeCursor(state: CursorState, queryFingerprint: string): string {
  const shards: Record<string, Encoded> = {};
  for (const [key, position] of Object.entries(state.shards)) {
    shards[key] = position === "start" ? 0 : position === "done" ? 1 : [position.after.createdAt, position.after.eventId];
  }
  const body = JSON.stringify({ v: VERSION, s: shards });
  return Buffer.from(`${body}.${checksum(body, queryFingerprint)}`, "utf8").toString("base64url");
}

export function decodeCursor(cursor: string, queryFingerprint: string, expectedShards: readonly string[]): CursorState {
  if (cursor.length > 8192 || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw new InvalidCursorError("not a cursor");
  const text = Buffer.from(cursor, "base64url").toString("utf8");
  const dot = text.lastIndexOf(".");
  if (dot < 0) throw new InvalidCursorError("not a cursor");
  const body = text.slice(0, dot);
  if (checksum(body, queryFingerprint) !== text.slice(dot + 1)) {
    throw new InvalidCursorError("it was altered or belongs to a different query");
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new InvalidCursorError("not a cursor");
  }
  const p = parsed as { v?: unknown; s?: unknown };
  if (p.v !== VERSION || typeof p.s !== "object" || p.s === null || Array.isArray(p.s)) throw new InvalidCursorError("unknown format");
  const entries = Object.entries(p.s as Record<string, unknown>);
  const expected = new Set(expectedShards);
  if (entries.length !== expected.size || entries.some(([key]) => !expected.has(key) || !SHARD_KEY.test(key))) {
    throw new InvalidCursorError("its shards do not match this query");
  }
  const shards: Record<string, ShardPosition> = {};
  for (const [key, value] of entries) {
    if (value === 0) shards[key] = "start";
    else if (value === 1) shards[key] = "done";
    else if (
      Array.isArray(value) &&
      value.length === 2 &&
      typeof value[0] === "string" &&
      ISO_MS.test(value[0]) &&
      typeof value[1] === "string" &&
      EVENT_ID_PATTERN.test(value[1])
    ) {
      shards[key] = { after: { createdAt: value[0], eventId: value[1] } };
    } else {
      throw new InvalidCursorError("malformed position");
    }
  }
  return { shards };
}

function checksum(body: string, queryFingerprint: string): string {
  return createHash("sha256").update(`${queryFingerprint}\n${body}`).digest("base64url").slice(0, 22);
}
