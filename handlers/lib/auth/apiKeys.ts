/**
 * API keys: `eik_<key id>_<secret>`. The `eik_` prefix lets secret scanners find leaked keys, the
 * key id (80 bits) is public and is the table's hash key, the secret (160 bits from the CSPRNG) is
 * stored only as its SHA-256 digest. Verification looks the id up and compares digests in
 * constant time, also when the id is unknown, so a miss and a wrong secret look the same.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { crockfordBase32 } from "../primitives/ids";
import { SCOPES, type Scope } from "../../routes";

export const API_KEY_PREFIX = "eik_";
export const API_KEY_PATTERN = /^eik_([0-9a-hjkmnp-tv-z]{16})_([0-9a-hjkmnp-tv-z]{32})$/;
const KEY_ID_BYTES = 10;
const SECRET_BYTES = 20;

/** An item of the API keys table. */
export interface ApiKeyRecord {
  key_id: string;
  /** Hex SHA-256 of the secret part; the secret itself is never stored. */
  secret_sha256: string;
  name: string;
  scopes: Scope[];
  created_at: string;
  revoked_at?: string;
  /**
   * 2: the scopes are exactly `scopes`. Absent: a key issued before the `ack` scope existed, whose
   * `read` also grants `ack` until the key is reissued (ADR 0006).
   */
  scope_version?: typeof SCOPE_VERSION;
}

export const SCOPE_VERSION = 2;

export interface NewApiKey {
  /** The plaintext key: shown once, never stored. */
  apiKey: string;
  record: ApiKeyRecord;
}

export function generateApiKey(name: string, scopes: readonly Scope[], now = new Date()): NewApiKey {
  const keyId = crockfordBase32(randomBytes(KEY_ID_BYTES)).toLowerCase();
  const secret = crockfordBase32(randomBytes(SECRET_BYTES)).toLowerCase();
  return {
    apiKey: `${API_KEY_PREFIX}${keyId}_${secret}`,
    record: { key_id: keyId, secret_sha256: sha256Hex(secret), name, scopes: [...scopes], created_at: now.toISOString(), scope_version: SCOPE_VERSION },
  };
}

export function sha256Hex(value: string): string {
  return createHash("sha256").update(value).digest("hex");
}

export function parseScopes(value: string): Scope[] {
  const scopes = value
    .split(/[\s,]+/)
    .filter(Boolean)
    .map((s) => {
      if (!(SCOPES as readonly string[]).includes(s)) throw new Error(`unknown scope "${s}" (known: ${SCOPES.join(", ")})`);
      return s as Scope;
    });
  if (scopes.length === 0) throw new Error("at least one scope is required");
  return [...new Set(scopes)];
}

export const KEY_NAME_MAX_LENGTH = 100;

/**
 * Why a key name cannot be used, or undefined. Names are shown in terminals, so they hold only
 * printable characters: letters, marks, digits, punctuation, symbols and spaces; no control
 * characters (escape sequences, newlines), no format characters (bidi overrides).
 */
export function keyNameProblem(name: string): string | undefined {
  if (name.length === 0 || name.length > KEY_NAME_MAX_LENGTH) return `must be 1 to ${KEY_NAME_MAX_LENGTH} characters`;
  if (!/^[\p{L}\p{M}\p{N}\p{P}\p{S} ]+$/u.test(name)) return "may hold only printable characters (letters, digits, punctuation, symbols, spaces)";
  return undefined;
}

/** The text with every character a terminal would act on written as a `\u{…}` escape. */
export function printable(text: string): string {
  return String(text).replace(/[^\p{L}\p{M}\p{N}\p{P}\p{S} ]/gu, (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`);
}

export type KeyLookup = (keyId: string) => Promise<ApiKeyRecord | undefined>;

export type Verification =
  | { ok: true; keyId: string; scopes: Scope[]; /** `ack` came from a legacy `read` (ADR 0006). */ impliedAck?: true }
  | { ok: false; reason: "malformed" | "unknown_key" | "wrong_secret" | "revoked"; keyId?: string };

/** Compared against when the key id is unknown, so that path costs what a real comparison costs. */
const ABSENT_DIGEST = Buffer.alloc(32);

export async function verifyApiKey(authorization: string | undefined, lookup: KeyLookup): Promise<Verification> {
  const match = /^Bearer +(\S+)$/i.exec(authorization?.trim() ?? "");
  const parts = match ? API_KEY_PATTERN.exec(match[1]!) : null;
  if (!parts) return { ok: false, reason: "malformed" };
  const keyId = parts[1]!;
  const secret = parts[2]!;
  const record = await lookup(keyId);
  const expected = record && /^[0-9a-f]{64}$/.test(record.secret_sha256) ? Buffer.from(record.secret_sha256, "hex") : ABSENT_DIGEST;
  const matches = timingSafeEqual(createHash("sha256").update(secret).digest(), expected);
  if (!record) return { ok: false, reason: "unknown_key", keyId };
  if (!matches) return { ok: false, reason: "wrong_secret", keyId };
  if (record.revoked_at) return { ok: false, reason: "revoked", keyId };
  const scopes = grantedScopes(record);
  return { ok: true, keyId, scopes, ...(isLegacyReadKey(record) && !record.scopes.includes("ack") ? { impliedAck: true as const } : {}) };
}

/** The scopes a stored record grants: the known ones it lists, plus `ack` for a legacy `read` key. */
export function grantedScopes(record: Pick<ApiKeyRecord, "scopes" | "scope_version">): Scope[] {
  const scopes = (Array.isArray(record.scopes) ? record.scopes : []).filter((s): s is Scope => (SCOPES as readonly string[]).includes(s));
  return isLegacyReadKey(record) && !scopes.includes("ack") ? [...scopes, "ack"] : scopes;
}

/** A key issued before the `ack` scope whose `read` still acks; reissue it to end that. */
export function isLegacyReadKey(record: Pick<ApiKeyRecord, "scopes" | "scope_version">): boolean {
  return record.scope_version === undefined && Array.isArray(record.scopes) && record.scopes.includes("read");
}
