/**
 * The miner API's test world: real postgres and redis from the harness, the
 * real collector binding an event socket (its single-instance source), and
 * one stand-in engine per region sending share_submitted, share_best_diff and
 * block_found envelopes with chosen timestamps. The rows reach PostgreSQL only
 * through the collector, exactly as the engines' events do.
 */

import postgres from "postgres";
import { type PostgresServer, startPostgres } from "../../lib/harness/postgres.ts";
import { type RedisServer, startRedis } from "../../lib/harness/redis.ts";
import { freePort, waitFor } from "../../lib/ports.ts";
import type { ManagedProcess } from "../../lib/process.ts";
import type { EventType } from "../../functions/lib/envelope.ts";
import { FakeEngine } from "../../lib/harness/fake_engine.ts";
import { MINER_API_ALLOW_ENV } from "../../functions/miner-api/config.ts";
import { spawnManaged } from "../../lib/process.ts";
import { ROOT, spawnCollector, waitHealthy } from "../../lib/harness/functions.ts";

/** Regtest addresses (valid bech32/bech32m): A mines on three regions, B has many workers. */
export const ADDRESS_A = "bcrt1qw33xwttyv4kk7ttdd9hx2u3dv9jxgu3p3snjgx";
export const ADDRESS_B = "bcrt1pqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszq8t4fdp";
/** Mines too (large figures that must never leak into A's or B's). */
export const ADDRESS_OTHER = "bcrt1qqyqszqgpqyqszqgpqyqszqgpqyqszqgpvxat9t";
/** Valid, never mined. */
export const ADDRESS_UNKNOWN = "mg4oZj8S8jd86yCRvCi8w3D1q87Q8HET9d";

export interface WorldEvent {
  region: "eu" | "us-east" | "asia";
  event: EventType;
  /** Seconds before the world's `now`. */
  ago: number;
  data: Record<string, unknown>;
}

const S = 1;
const MIN = 60;
const H = 3600;
const D = 86_400;

function share(
  region: WorldEvent["region"],
  address: string,
  worker: string,
  ago: number,
  diff: unknown,
  sdiff: unknown,
  accepted: boolean,
): WorldEvent {
  return {
    region,
    event: "share_submitted",
    ago,
    data: {
      address,
      worker,
      client_id: 1,
      ip: "127.0.0.1",
      job_id: "00000000000000a1",
      diff,
      sdiff,
      accepted,
      reject_reason: accepted ? null : "stale",
      is_block: false,
      height: 101,
    },
  };
}

function block(
  region: WorldEvent["region"],
  address: string,
  worker: string,
  ago: number,
  height: number,
  accepted: boolean,
): WorldEvent {
  return {
    region,
    event: "block_found",
    ago,
    data: {
      address,
      worker,
      client_id: 1,
      ip: "127.0.0.1",
      job_id: "00000000000000a1",
      height,
      hash: height.toString(16).padStart(64, "0"),
      diff: 1,
      sdiff: 5e9,
      network_diff: 4.6e-10,
      reward_sat: 5_000_000_000 + height,
      coinbase_sig: "",
      accepted,
      reject_reason: accepted ? "" : "bad-txns",
      submit_result: accepted ? "accepted" : "rejected",
      submit_time_ms: 3.5,
      region,
      is_block: true,
      submissions: [],
      first_success_path: accepted ? "local" : null,
    },
  };
}

/**
 * The events, relative to `now`. For a Wednesday-noon `now` the ISO week began
 * 2.5 days before it, so `2 * D` ago is this week and `10 * D` ago is not.
 */
export const WORLD: readonly WorldEvent[] = [
  // A.rig1 on eu
  share("eu", ADDRESS_A, "rig1", 10 * S, 1000, 5000, true),
  share("eu", ADDRESS_A, "rig1", 15 * S, "lots", null, true), // malformed: counts, earns nothing
  share("eu", ADDRESS_A, "rig1", 20 * S, 1000, 0, false),
  share("eu", ADDRESS_A, "rig1", 30 * MIN, 2000, 1500, true),
  share("eu", ADDRESS_A, "rig1", 5 * H, 4000, 90_000, true),
  share("eu", ADDRESS_A, "rig1", 2 * D, 8000, 700_000, true),
  share("eu", ADDRESS_A, "rig1", 10 * D, 16_000, 9_000_000, true),
  // A.rig2 on us-east; its best-ever share is known only from a share_best_diff event
  share("us-east", ADDRESS_A, "rig2", 5 * S, 500, 600, true),
  share("us-east", ADDRESS_A, "rig2", 40 * S, 500, 0, false),
  {
    region: "us-east",
    event: "share_best_diff",
    ago: 20 * D,
    data: {
      address: ADDRESS_A,
      worker: "rig2",
      scope: "alltime",
      new_best: 50_000_000,
      prev_best: 0,
      hash: "00".repeat(32),
    },
  },
  // A without a worker name, on asia
  share("asia", ADDRESS_A, "", 50 * MIN, 100, 100, true),
  // A's blocks: two accepted, one rejected
  block("eu", ADDRESS_A, "rig1", 2 * D, 101, true),
  block("eu", ADDRESS_A, "rig1", 1 * H, 102, false),
  block("us-east", ADDRESS_A, "rig2", 30 * S, 103, true),
  // B: seven workers, one share each
  ...Array.from(
    { length: 7 },
    (_, i) => share("eu", ADDRESS_B, `w${i + 1}`, 100 * S + i, 1, 2, true),
  ),
  // Someone else, on the same engines
  share("eu", ADDRESS_OTHER, "rig1", 10 * S, 1e9, 1e12, true),
  block("eu", ADDRESS_OTHER, "rig1", 10 * S, 104, true),
];

export interface MinerWorld {
  now: Date;
  pg: PostgresServer;
  redis: RedisServer;
  sql: postgres.Sql;
  collector: ManagedProcess;
  /** Sends more events through the collector and waits until PostgreSQL holds them. */
  send(events: readonly WorldEvent[]): Promise<void>;
  close(): Promise<void>;
}

/** Starts the stores and the collector, then sends WORLD relative to `now`. */
export async function startMinerWorld(now: Date): Promise<MinerWorld> {
  const dir = await Deno.makeTempDir({ prefix: "tbg-miner-api-" });
  const cleanups: Array<() => Promise<unknown> | unknown> = [
    () => Deno.remove(dir, { recursive: true }),
  ];
  const close = async () => {
    for (const fn of cleanups.reverse()) await Promise.resolve().then(fn).catch(() => {});
  };
  try {
    const [pg, redis] = await Promise.all([startPostgres(), startRedis()]);
    cleanups.push(() => pg.stop(), () => redis.stop());
    const socket = `${dir}/collector.sock`;
    const metricsPort = freePort();
    const collector = spawnCollector({
      // Never dialled: the collector's only source is the socket.
      natsUrl: "nats://127.0.0.1:9",
      databaseUrl: pg.url,
      redisUrl: redis.url,
      metricsPort,
      sources: [`socket:${socket}`],
      socketDir: dir,
    }, `${dir}/collector.log`);
    cleanups.push(() => collector.stop());
    await waitHealthy(metricsPort, collector, 60_000);
    const sql = postgres(pg.url, { max: 4, onnotice: () => {} });
    cleanups.push(() => sql.end({ timeout: 1 }));
    const engines = new Map<string, FakeEngine>();
    for (const region of ["eu", "us-east", "asia"]) {
      const engine = new FakeEngine({ region, clientPath: `${dir}/engine-${region}.sock` });
      engines.set(region, engine);
      cleanups.push(() => engine.close());
    }
    let sent = 0;
    const send = async (events: readonly WorldEvent[]) => {
      for (const e of events) {
        const envelope = engines.get(e.region)!.next(e.event, e.data);
        envelope.ts = now.getTime() * 1000 - Math.round(e.ago * 1e6);
        await engines.get(e.region)!.send(socket, envelope);
        sent++;
      }
      try {
        await waitFor(async () => {
          const [row] = await sql<{ n: string }[]>`select count(*)::text as n from events`;
          return Number(row.n) >= sent;
        }, { timeoutMs: 60_000, intervalMs: 100, what: `${sent} events in postgres` });
      } catch (error) {
        throw new Error(
          `${(error as Error).message}\ncollector log:\n${collector.log().slice(-3000)}`,
        );
      }
    };
    await send(WORLD);
    return { now, pg, redis, sql, collector, send, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * Starts functions/miner-api/main.ts as a subprocess with its task's
 * permission shape (its port and PostgreSQL's only), answering on /health.
 */
export async function startMinerApi(
  world: MinerWorld,
  env: Record<string, string>,
  logPath: string,
): Promise<{ port: number; proc: ManagedProcess }> {
  const port = freePort();
  const proc = spawnManaged({
    name: "miner-api",
    cmd: Deno.execPath(),
    cwd: ROOT,
    args: [
      "run",
      `--allow-net=127.0.0.1:${port},127.0.0.1:${world.pg.port}`,
      `--allow-env=${MINER_API_ALLOW_ENV.join(",")}`,
      "functions/miner-api/main.ts",
    ],
    env: {
      MINER_API_LISTEN: `127.0.0.1:${port}`,
      DATABASE_URL: world.pg.url,
      MINER_API_NETWORK: "regtest",
      ...env,
    },
    logPath,
  });
  try {
    await waitHealthy(port, proc, 60_000);
  } catch (error) {
    await proc.stop();
    throw error;
  }
  return { port, proc };
}
