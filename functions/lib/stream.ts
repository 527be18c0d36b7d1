/**
 * The JetStream contract: stream MINING_EVENTS and durable consumer
 * event-pipeline, created or brought up to date idempotently. The settings
 * themselves live in `stream.json` beside this file, the one definition that
 * `deno task nats:init`, Compose's nats-init, the native stack and the
 * collector all create the stream from (and that docs/events-pipeline.md
 * describes). It sits under functions/ because the functions' image copies
 * only functions/ (and nats/).
 */

import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from "@nats-io/jetstream";
import { SUBJECT_PREFIX } from "./envelope.ts";
import definition from "./stream.json" with { type: "json" };

export class StreamConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StreamConfigError";
  }
}

export interface StreamSpec {
  name: string;
  description: string;
  subjects: string[];
  storage: StorageType;
  retention: RetentionPolicy;
  /** Nanoseconds. */
  max_age: number;
  /** Bytes; when full, `discard` decides what goes. */
  max_bytes: number;
  discard: DiscardPolicy;
  /** Nanoseconds. */
  duplicate_window: number;
  num_replicas: number;
}

export interface ConsumerSpec {
  durable_name: string;
  ack_policy: AckPolicy;
  deliver_policy: DeliverPolicy;
  /** Nanoseconds. */
  ack_wait: number;
  max_ack_pending: number;
  max_deliver: number;
}

function field<T>(
  obj: Record<string, unknown>,
  key: string,
  where: string,
  ok: (v: unknown) => boolean,
  want: string,
): T {
  const v = obj[key];
  if (!ok(v)) {
    throw new StreamConfigError(`${where}.${key} must be ${want}, got ${JSON.stringify(v)}`);
  }
  return v as T;
}

function oneOf<T extends string>(values: Record<string, T>) {
  const allowed = Object.values(values) as unknown[];
  return [(v: unknown) => allowed.includes(v), `one of ${allowed.join("|")}`] as const;
}

const isInt = (v: unknown) => Number.isSafeInteger(v);
const isPositiveInt = (v: unknown) => isInt(v) && (v as number) > 0;
const isName = (v: unknown) => typeof v === "string" && /^[A-Za-z0-9_-]+$/.test(v);

function objectAt(value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new StreamConfigError(`${where} must be an object`);
  }
  return value as Record<string, unknown>;
}

/**
 * Validates a stream definition (the shape of stream.json); each error names
 * the field. Durations are nanoseconds, as JetStream's API takes them.
 */
export function parseStreamDefinition(
  value: unknown,
  where = "stream.json",
): { stream: StreamSpec; consumer: ConsumerSpec } {
  const root = objectAt(value, where);
  const s = objectAt(root.stream, `${where}.stream`);
  const sw = `${where}.stream`;
  const c = objectAt(root.consumer, `${where}.consumer`);
  const cw = `${where}.consumer`;
  const subjects = field<string[]>(
    s,
    "subjects",
    sw,
    (v) => Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === "string"),
    "a non-empty array of subjects",
  );
  if (!subjects.includes(`${SUBJECT_PREFIX}.>`)) {
    throw new StreamConfigError(`${sw}.subjects must include '${SUBJECT_PREFIX}.>'`);
  }
  return {
    stream: {
      name: field(s, "name", sw, isName, "a stream name"),
      description: field(s, "description", sw, (v) => typeof v === "string", "a string"),
      subjects,
      storage: field(s, "storage", sw, ...oneOf(StorageType)),
      retention: field(s, "retention", sw, ...oneOf(RetentionPolicy)),
      max_age: field(s, "max_age", sw, isPositiveInt, "a positive integer (ns)"),
      max_bytes: field(s, "max_bytes", sw, isPositiveInt, "a positive integer (bytes)"),
      discard: field(s, "discard", sw, ...oneOf(DiscardPolicy)),
      duplicate_window: field(s, "duplicate_window", sw, isPositiveInt, "a positive integer (ns)"),
      num_replicas: field(s, "num_replicas", sw, isPositiveInt, "a positive integer"),
    },
    consumer: {
      durable_name: field(c, "durable_name", cw, isName, "a consumer name"),
      ack_policy: field(c, "ack_policy", cw, (v) => v === AckPolicy.Explicit, "'explicit'"),
      deliver_policy: field(c, "deliver_policy", cw, ...oneOf(DeliverPolicy)),
      ack_wait: field(c, "ack_wait", cw, isPositiveInt, "a positive integer (ns)"),
      max_ack_pending: field(c, "max_ack_pending", cw, isPositiveInt, "a positive integer"),
      max_deliver: field(c, "max_deliver", cw, (v) => v === -1 || isPositiveInt(v), "-1 or > 0"),
    },
  };
}

const DEFINITION = parseStreamDefinition(definition, "functions/lib/stream.json");

export const STREAM_SPEC: StreamSpec = DEFINITION.stream;
export const CONSUMER_SPEC: ConsumerSpec = DEFINITION.consumer;
export const STREAM_NAME = STREAM_SPEC.name;
export const STREAM_SUBJECTS = STREAM_SPEC.subjects;
export const CONSUMER_NAME = CONSUMER_SPEC.durable_name;
export const STREAM_MAX_AGE_NS = STREAM_SPEC.max_age;
export const STREAM_MAX_BYTES = STREAM_SPEC.max_bytes;
export const STREAM_DUPLICATE_WINDOW_NS = STREAM_SPEC.duplicate_window;
export const CONSUMER_ACK_WAIT_NS = CONSUMER_SPEC.ack_wait;
export const CONSUMER_MAX_ACK_PENDING = CONSUMER_SPEC.max_ack_pending;

export type EnsureResult = "created" | "updated" | "unchanged";

/** Fields JetStream cannot change on an existing stream. */
const IMMUTABLE: Array<keyof StreamSpec> = ["storage", "retention"];
const MUTABLE: Array<keyof StreamSpec> = [
  "description",
  "subjects",
  "max_age",
  "max_bytes",
  "discard",
  "duplicate_window",
  "num_replicas",
];

/** What differs between an existing stream config and the spec (empty when it matches). */
export function streamDifferences(
  existing: Partial<StreamConfig>,
  spec: StreamSpec = STREAM_SPEC,
): { immutable: string[]; mutable: string[] } {
  const differs = (k: keyof StreamSpec) =>
    JSON.stringify(existing[k as keyof StreamConfig]) !== JSON.stringify(spec[k]);
  return {
    immutable: IMMUTABLE.filter(differs).map((k) =>
      `${k} is '${existing[k as keyof StreamConfig]}', expected '${spec[k]}'`
    ),
    mutable: MUTABLE.filter(differs).map((k) => k),
  };
}

/** JetStream's "stream not found" (10059) and "consumer not found" (10014). */
function isNotFound(error: unknown): boolean {
  return error instanceof JetStreamApiError &&
    (error.code === JetStreamApiCodes.StreamNotFound ||
      error.code === JetStreamApiCodes.ConsumerNotFound || error.status === 404);
}

async function streamInfo(jsm: JetStreamManager, name: string) {
  try {
    return await jsm.streams.info(name);
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/** Creates the stream or updates its mutable settings; throws on an incompatible stream. */
export async function ensureStream(
  jsm: JetStreamManager,
  spec: StreamSpec = STREAM_SPEC,
): Promise<EnsureResult> {
  const info = await streamInfo(jsm, spec.name);
  if (!info) {
    try {
      await jsm.streams.add({ ...spec });
      return "created";
    } catch (error) {
      // Another process may have created it between our info and add.
      if (!(await streamInfo(jsm, spec.name))) throw error;
      return ensureStream(jsm, spec);
    }
  }
  const diff = streamDifferences(info.config, spec);
  if (diff.immutable.length > 0) {
    throw new StreamConfigError(
      `stream ${spec.name} exists with an incompatible configuration: ` +
        `${diff.immutable.join("; ")}. JetStream cannot change this in place: ` +
        `drain or back up the stream, delete it (nats stream rm ${spec.name}) and rerun nats:init`,
    );
  }
  if (diff.mutable.length === 0) return "unchanged";
  const { name: _name, storage: _storage, retention: _retention, ...mutable } = spec;
  await jsm.streams.update(spec.name, mutable);
  return "updated";
}

/** Creates the durable pull consumer `event-pipeline` or updates its limits. */
export async function ensureConsumer(
  jsm: JetStreamManager,
  stream = STREAM_NAME,
  durable = CONSUMER_NAME,
): Promise<EnsureResult> {
  let existing;
  try {
    existing = await jsm.consumers.info(stream, durable);
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  if (!existing) {
    await jsm.consumers.add(stream, { ...CONSUMER_SPEC, durable_name: durable });
    return "created";
  }
  if (existing.config.ack_policy !== AckPolicy.Explicit) {
    throw new StreamConfigError(
      `consumer ${durable} on ${stream} has ack_policy '${existing.config.ack_policy}', ` +
        `expected 'explicit'; delete it and rerun nats:init`,
    );
  }
  if (
    existing.config.ack_wait === CONSUMER_ACK_WAIT_NS &&
    existing.config.max_ack_pending === CONSUMER_MAX_ACK_PENDING
  ) return "unchanged";
  await jsm.consumers.update(stream, durable, {
    ack_wait: CONSUMER_ACK_WAIT_NS,
    max_ack_pending: CONSUMER_MAX_ACK_PENDING,
  });
  return "updated";
}
