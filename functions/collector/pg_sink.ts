/**
 * PostgreSQL writer: one statement per batch inserts the events (idempotent on
 * (event_id, ts)), the block_found events into blocks, and folds the newly
 * inserted seqs into event_sources. Only rows actually inserted count toward
 * seq tracking, so redeliveries never inflate `received`.
 *
 * The batch travels as one JSON array built by joining the envelopes' own
 * validated JSON text (no re-serialisation); PostgreSQL parses it once with
 * jsonb_to_recordset. Sources are upserted in key order so concurrent batches
 * lock event_sources rows in the same order (no deadlock).
 *
 * An engine_started event announces the seq its engine's previous boot would
 * have reached (docs/events.md): that boot's highest_seq is raised to it, so
 * events a SIGKILL took from the engine's queue count as missing.
 */

import type { Sql } from "postgres";
import type { Envelope } from "../lib/envelope.ts";

export interface SourceSeq {
  pool_instance: string;
  boot_id: string;
  region: string;
  highest_seq: number;
  missing: number;
  /** Rows stored for this source; grows with every commit (orders concurrent results). */
  received: number;
  /**
   * This write only raised the boot's highest_seq from its successor's
   * engine_started: the boot has ended, so it never becomes the current one.
   */
  announcedOnly?: true;
}

export interface PgWriteResult {
  inserted: number;
  blocks: number;
  sources: SourceSeq[];
}

function blockFields(
  data: Record<string, unknown>,
): { height: number | null; hash: string | null } {
  const height = Number.isSafeInteger(data.height) ? data.height as number : null;
  const rawHash = data.hash ?? data.block_hash ?? data.blockhash;
  return { height, hash: typeof rawHash === "string" ? rawHash : null };
}

/**
 * The batch as the JSON array the statement reads with jsonb_to_recordset:
 * the envelopes' JSON texts joined when given (each parsed and validated
 * before, so it holds exactly the envelope's fields), else serialised.
 */
export function batchJson(events: Envelope[], payloads?: string[]): string {
  return payloads ? `[${payloads.join(",")}]` : JSON.stringify(events);
}

/** height and hash of the batch's block_found events (few), as a JSON array. */
export function blocksJson(events: Envelope[]): string {
  const blocks = [];
  for (const e of events) {
    if (e.event !== "block_found") continue;
    const { height, hash } = blockFields(e.data);
    blocks.push({ event_id: e.event_id, height, block_hash: hash });
  }
  return JSON.stringify(blocks);
}

/** Writes a batch (distinct event_ids); `payloads[i]` is the JSON text of `events[i]`. */
export async function writeEvents(
  sql: Sql,
  events: Envelope[],
  payloads?: string[],
): Promise<PgWriteResult> {
  if (events.length === 0) return { inserted: 0, blocks: 0, sources: [] };
  const rows = await sql<
    Array<
      {
        kind: string;
        n: number;
        pool_instance: string;
        boot_id: string;
        region: string;
        highest_seq: string;
        missing: string;
        received: string;
      }
    >
  >`
    with batch as (
      select * from jsonb_to_recordset((${batchJson(events, payloads)}::text)::jsonb) as x(
        event_id uuid, event text, ts bigint, source text, region text,
        pool_instance text, boot_id uuid, seq bigint, data jsonb)
    ),
    bf as (
      select * from jsonb_to_recordset((${blocksJson(events)}::text)::jsonb) as x(
        event_id uuid, height bigint, block_hash text)
    ),
    ins as (
      insert into events (event_id, ts, event, source, region, pool_instance, boot_id, seq, data)
      select event_id, timestamptz 'epoch' + ts * interval '1 microsecond', event, source,
             region, pool_instance, boot_id, seq, data
      from batch
      on conflict (event_id, ts) do nothing
      returning event_id, ts, event, region, pool_instance, boot_id, seq
    ),
    blk as (
      insert into blocks (event_id, ts, region, pool_instance, height, block_hash, data)
      select b.event_id, timestamptz 'epoch' + b.ts * interval '1 microsecond', b.region,
             b.pool_instance, f.height, f.block_hash, b.data
      from batch b join bf f using (event_id) where b.event = 'block_found'
      on conflict (event_id) do nothing
      returning 1
    ),
    announced as (
      select b.pool_instance, (b.data->>'previous_boot_id')::uuid as boot_id, b.region,
             (b.data->>'previous_last_seq')::bigint as seq
      from ins i join batch b using (event_id)
      where i.event = 'engine_started'
        and b.data->>'previous_boot_id' ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
        and jsonb_typeof(b.data->'previous_last_seq') = 'number'
        and b.data->>'previous_last_seq' ~ '^[1-9][0-9]{0,14}$'
    ),
    seqs as (
      select pool_instance, boot_id, region, seq, true as stored from ins
      union all
      select pool_instance, boot_id, region, seq, false from announced
    ),
    agg as (
      select pool_instance, boot_id, max(region) as region, max(seq) as hi,
             coalesce(min(seq) filter (where stored), max(seq)) as lo,
             count(*) filter (where stored) as n
      from seqs group by pool_instance, boot_id
    ),
    src as (
      insert into event_sources as s
        (pool_instance, boot_id, region, highest_seq, lowest_seq, received, missing)
      select pool_instance, boot_id, region, hi, lo, n, hi - least(lo, 1) + 1 - n from agg
      order by pool_instance, boot_id
      on conflict (pool_instance, boot_id) do update set
        highest_seq = greatest(s.highest_seq, excluded.highest_seq),
        lowest_seq  = least(s.lowest_seq, excluded.lowest_seq),
        received    = s.received + excluded.received,
        missing     = greatest(s.highest_seq, excluded.highest_seq)
                      - least(s.lowest_seq, excluded.lowest_seq, 1) + 1
                      - (s.received + excluded.received),
        region      = excluded.region,
        -- an announcement is news about an ended boot, not activity: loadSources
        -- orders by updated_at to find each engine's current boot
        updated_at  = case when excluded.received > 0 then now() else s.updated_at end
      returning pool_instance, boot_id, region, highest_seq, missing, received
    )
    select 'count' as kind, (select count(*) from ins)::int as n, null as pool_instance,
           null as boot_id, null as region, null as highest_seq, null as missing,
           null as received
    union all
    select 'blocks', (select count(*) from blk)::int, null, null, null, null, null, null
    union all
    select 'source', agg.n::int, pool_instance, boot_id::text, src.region, highest_seq::text,
           missing::text, received::text
    from src join agg using (pool_instance, boot_id)`;
  const result: PgWriteResult = { inserted: 0, blocks: 0, sources: [] };
  for (const row of rows) {
    if (row.kind === "count") result.inserted = row.n;
    else if (row.kind === "blocks") result.blocks = row.n;
    else {
      result.sources.push({
        pool_instance: row.pool_instance,
        boot_id: row.boot_id,
        region: row.region,
        highest_seq: Number(row.highest_seq),
        missing: Number(row.missing),
        received: Number(row.received),
        ...(row.n === 0 ? { announcedOnly: true as const } : {}),
      });
    }
  }
  return result;
}

/** The most recently updated sources, for /metrics after a restart. */
export async function loadSources(sql: Sql, limit = 200): Promise<SourceSeq[]> {
  const rows = await sql<
    Array<
      {
        pool_instance: string;
        boot_id: string;
        region: string;
        highest_seq: string;
        missing: string;
        received: string;
      }
    >
  >`
    select pool_instance, boot_id::text, region, highest_seq::text, missing::text,
           received::text
    from event_sources order by updated_at desc, received > 0 desc limit ${limit}`;
  return rows.map((r) => ({
    pool_instance: r.pool_instance,
    boot_id: r.boot_id,
    region: r.region,
    highest_seq: Number(r.highest_seq),
    missing: Number(r.missing),
    received: Number(r.received),
  }));
}
