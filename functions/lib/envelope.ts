/**
 * The event envelope every engine emits, and its strict validation.
 *
 * An envelope is one JSON object per datagram:
 * `{"event_id","event","ts","source","region","pool_instance","boot_id","seq","data"}`.
 * `validateEnvelope` accepts exactly these keys with exactly these types and
 * returns a specific reason naming the field otherwise.
 */

export const EVENT_TYPES = [
  "share_submitted",
  "block_found",
  "miner_connected",
  "miner_disconnected",
  "diff_updated",
  "hashrate_update",
  "new_block_network",
  "share_best_diff",
  "relay_connected",
  "relay_disconnected",
  "relay_mode_changed",
  "engine_started",
] as const;

export type EventType = typeof EVENT_TYPES[number];

export const EVENT_SOURCES = ["hosted"] as const;
export type EventSource = typeof EVENT_SOURCES[number];

export interface Envelope {
  event_id: string;
  event: EventType;
  /** Microseconds since the Unix epoch at emission. */
  ts: number;
  source: EventSource;
  region: string;
  pool_instance: string;
  boot_id: string;
  seq: number;
  data: Record<string, unknown>;
}

export type Validation =
  | { ok: true; envelope: Envelope }
  | { ok: false; reason: string };

const ENVELOPE_KEYS = new Set([
  "event_id",
  "event",
  "ts",
  "source",
  "region",
  "pool_instance",
  "boot_id",
  "seq",
  "data",
]);
const EVENT_SET: ReadonlySet<string> = new Set(EVENT_TYPES);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
/** A NATS subject token: no dots, wildcards or whitespace; lower-case for stable subjects. */
const REGION = /^[a-z0-9](?:[a-z0-9_-]{0,62})$/;
const POOL_INSTANCE = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;
/** 2001-01-01 and 2100-01-01 in microseconds: a ts outside is a unit or clock error. */
const TS_MIN = 978_307_200_000_000;
const TS_MAX = 4_102_444_800_000_000;

export function isUuid(value: unknown): value is string {
  return typeof value === "string" && UUID.test(value);
}

export function isUuidV7(value: unknown): value is string {
  return typeof value === "string" && UUID_V7.test(value);
}

export function isRegionToken(value: unknown): value is string {
  return typeof value === "string" && REGION.test(value);
}

export function isEventType(value: unknown): value is EventType {
  return typeof value === "string" && EVENT_SET.has(value);
}

/** Checks a parsed JSON value against the envelope contract. */
export function validateEnvelope(value: unknown): Validation {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return fail("envelope must be a JSON object");
  }
  const o = value as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!ENVELOPE_KEYS.has(key)) return fail(`unknown field '${key}'`);
  }
  for (const key of ENVELOPE_KEYS) {
    if (!(key in o)) return fail(`missing field '${key}'`);
  }
  if (!isUuidV7(o.event_id)) return fail("event_id must be a lower-case UUIDv7");
  if (typeof o.event !== "string") return fail("event must be a string");
  if (!isEventType(o.event)) return fail(`event '${clip(o.event)}' is not a known event type`);
  if (!Number.isSafeInteger(o.ts)) return fail("ts must be an integer (microseconds)");
  if ((o.ts as number) < TS_MIN || (o.ts as number) > TS_MAX) {
    return fail("ts must be microseconds since the epoch between 2001 and 2100");
  }
  if (o.source !== "hosted") return fail("source must be 'hosted'");
  if (!isRegionToken(o.region)) {
    return fail("region must match [a-z0-9][a-z0-9_-]{0,62} (a NATS subject token)");
  }
  if (typeof o.pool_instance !== "string" || !POOL_INSTANCE.test(o.pool_instance)) {
    return fail("pool_instance must match [A-Za-z0-9][A-Za-z0-9_.:-]{0,127}");
  }
  if (!isUuid(o.boot_id)) return fail("boot_id must be a lower-case UUID");
  if (!Number.isSafeInteger(o.seq) || (o.seq as number) < 0) {
    return fail("seq must be a non-negative integer");
  }
  if (typeof o.data !== "object" || o.data === null || Array.isArray(o.data)) {
    return fail("data must be a JSON object");
  }
  const bad = storableProblem(o.data, "data", 0);
  if (bad !== undefined) return fail(bad);
  return { ok: true, envelope: o as unknown as Envelope };
}

/** Deeper nesting than this is rejected (PostgreSQL's jsonb and our walk stay bounded). */
const MAX_DEPTH = 64;

/**
 * Why `value` cannot be stored as jsonb, or undefined. PostgreSQL rejects a
 * NUL (`\u0000`) in any string or key, a lone UTF-16 surrogate escape, and a
 * number that JSON.parse turned into +-Infinity (e.g. `1e1000000`); such an
 * event would otherwise fail its whole collector batch on every retry.
 */
function storableProblem(value: unknown, path: string, depth: number): string | undefined {
  if (depth > MAX_DEPTH) return `${path} nests deeper than ${MAX_DEPTH} levels`;
  if (typeof value === "string") return stringProblem(value, path);
  if (typeof value === "number") {
    return Number.isFinite(value) ? undefined : `${path} is a number out of range`;
  }
  if (typeof value !== "object" || value === null) return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const bad = storableProblem(value[i], `${path}[${i}]`, depth + 1);
      if (bad !== undefined) return bad;
    }
    return undefined;
  }
  for (const [key, item] of Object.entries(value)) {
    const keyBad = stringProblem(key, `${path} key '${clip(key.replace(/\0/g, "\\u0000"))}'`);
    if (keyBad !== undefined) return keyBad;
    const bad = storableProblem(item, `${path}.${clip(key)}`, depth + 1);
    if (bad !== undefined) return bad;
  }
  return undefined;
}

function stringProblem(text: string, path: string): string | undefined {
  if (text.includes("\0")) return `${path} contains a NUL character (\\u0000)`;
  if (!text.isWellFormed()) return `${path} contains a lone UTF-16 surrogate`;
  return undefined;
}

export type Decoded =
  | { ok: true; envelope: Envelope }
  | { ok: false; reason: string };

const decoder = new TextDecoder("utf-8", { fatal: true });

/** Decodes one datagram (UTF-8 JSON) and validates it. */
export function decodeEnvelope(bytes: Uint8Array): Decoded {
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    return fail("payload is not valid UTF-8");
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return fail(`payload is not JSON: ${(error as Error).message}`);
  }
  return validateEnvelope(parsed);
}

/** The NATS subject of an event: `mining.events.<region>.<event>`. */
export function subjectFor(envelope: Pick<Envelope, "region" | "event">): string {
  return `${SUBJECT_PREFIX}.${envelope.region}.${envelope.event}`;
}

export const SUBJECT_PREFIX = "mining.events";

function fail(reason: string): { ok: false; reason: string } {
  return { ok: false, reason };
}

function clip(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}...` : text;
}
