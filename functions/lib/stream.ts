/**
 * The JetStream contract: stream MINING_EVENTS and durable consumer
 * event-pipeline, created or brought up to date idempotently.
 */

import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from "@nats-io/jetstream";
import { SUBJECT_PREFIX } from "./envelope.ts";

export const STREAM_NAME = "MINING_EVENTS";
export const STREAM_SUBJECTS = [`${SUBJECT_PREFIX}.>`];
export const CONSUMER_NAME = "event-pipeline";
const NS_PER_S = 1_000_000_000;
export const STREAM_MAX_AGE_NS = 24 * 3600 * NS_PER_S;
export const STREAM_DUPLICATE_WINDOW_NS = 120 * NS_PER_S;
export const CONSUMER_ACK_WAIT_NS = 30 * NS_PER_S;
export const CONSUMER_MAX_ACK_PENDING = 20_000;

export interface StreamSpec {
  name: string;
  subjects: string[];
  storage: StorageType;
  retention: RetentionPolicy;
  max_age: number;
  duplicate_window: number;
}

export const STREAM_SPEC: StreamSpec = {
  name: STREAM_NAME,
  subjects: STREAM_SUBJECTS,
  storage: StorageType.File,
  retention: RetentionPolicy.Workqueue,
  max_age: STREAM_MAX_AGE_NS,
  duplicate_window: STREAM_DUPLICATE_WINDOW_NS,
};

export type EnsureResult = "created" | "updated" | "unchanged";

export class StreamConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StreamConfigError";
  }
}

/** Fields JetStream cannot change on an existing stream. */
const IMMUTABLE: Array<keyof StreamSpec> = ["storage", "retention"];
const MUTABLE: Array<keyof StreamSpec> = ["subjects", "max_age", "duplicate_window"];

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
  await jsm.streams.update(spec.name, {
    subjects: spec.subjects,
    max_age: spec.max_age,
    duplicate_window: spec.duplicate_window,
  });
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
    await jsm.consumers.add(stream, {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: CONSUMER_ACK_WAIT_NS,
      max_ack_pending: CONSUMER_MAX_ACK_PENDING,
      max_deliver: -1,
    });
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
