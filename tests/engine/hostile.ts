/**
 * Shared parts of the hostile-client tests (hostile_*_test.ts) and
 * bench/hostile_bench.ts: an engine on a stand-in node, honest miners that
 * keep submitting shares in the background and time each round trip, the
 * engine's resident memory and open descriptors from /proc, and /metrics
 * figures.
 *
 *   await withHostileEngine({ idle_timeout_s: 5 }, async (engine) => {
 *     const honest = await HonestMiners.start(engine, 2);
 *     honest.phase = "during";
 *     ...abuse...
 *     const report = await honest.stop(); // throws unless every share was accepted
 *   });
 */

import { assert, assertEquals } from "../assert.ts";
import { type BitcoinNode, startBitcoinNode } from "../../lib/harness/bitcoin_node.ts";
import { type Engine, scrapeMetrics, startEngine } from "../../lib/harness/engine.ts";
import type { StratumClient } from "../../lib/stratum/client.ts";
import { type Job, parseNotify } from "../../lib/stratum/job.ts";
import {
  connectMiner,
  mineShare,
  regtestAddress,
  submitShare,
} from "../../lib/harness/stratum_miner.ts";

/** Blocks are rare at these bits, so accepted shares do not change the tip. */
export const HARD_BITS = "1e00ffff";

/**
 * An engine whose honest miners stay cheap to mine for: vardiff may raise
 * them from 1e-9 only to 1e-7 (about 430 hashes a share).
 */
export async function withHostileEngine(
  overrides: Record<string, unknown>,
  fn: (engine: Engine, node: BitcoinNode) => Promise<void>,
) {
  const node = await startBitcoinNode({ testbits: HARD_BITS });
  try {
    const engine = await startEngine(node, {
      mindiff: 1e-9,
      startdiff: 1e-9,
      maxdiff: 1e-7,
      ...overrides,
    });
    try {
      await fn(engine, node);
    } finally {
      assertEquals(await engine.stop(), 0, `engine exits cleanly:\n${engine.logs().slice(-2000)}`);
    }
  } finally {
    await node.stop();
  }
}

interface Sample {
  phase: string;
  ms: number;
}

/** Share round trips of one phase, in ms. */
export interface RttSummary {
  phase: string;
  shares: number;
  median: number;
  p95: number;
  max: number;
}

/**
 * Honest miners submitting a share every `intervalMs` each, in the
 * background, until stop(). Each sample is tagged with `phase` as it was
 * when the share was sent. Rejected shares and lost connections are kept
 * and reported by stop().
 */
export class HonestMiners {
  phase = "before";
  readonly #samples: Sample[] = [];
  readonly #failures: string[] = [];
  #running = true;
  #loops: Promise<void>[] = [];

  private constructor(readonly engine: Engine) {}

  static async start(engine: Engine, count = 2, intervalMs = 100): Promise<HonestMiners> {
    const miners = new HonestMiners(engine);
    const connected = await Promise.all(
      Array.from({ length: count }, async () => {
        const address = regtestAddress();
        return { address, ...await connectMiner(engine, address) };
      }),
    );
    miners.#loops = connected.map((m) => miners.#loop(m.client, m.address, m.job, intervalMs));
    return miners;
  }

  async #loop(client: StratumClient, address: string, first: Job, intervalMs: number) {
    try {
      while (this.#running) {
        const job = latestJob(client) ?? first;
        const share = mineShare(client, job);
        const phase = this.phase;
        const sent = performance.now();
        const answer = await submitShare(client, address, share);
        const ms = performance.now() - sent;
        if (answer.result === true) this.#samples.push({ phase, ms });
        else this.#failures.push(`${phase}: ${JSON.stringify(answer)}`);
        await new Promise((resolve) => setTimeout(resolve, intervalMs));
      }
    } catch (error) {
      this.#failures.push(`${this.phase}: ${error}`);
    } finally {
      await client.close();
    }
  }

  /** Accepted shares so far in `phase`. */
  accepted(phase: string): number {
    return this.#samples.filter((s) => s.phase === phase).length;
  }

  /** Stops the miners; asserts every share was accepted and each phase had some. */
  async stop(): Promise<RttSummary[]> {
    this.#running = false;
    await Promise.all(this.#loops);
    assertEquals(this.#failures, [], "every honest share accepted, no connection lost");
    const phases = [...new Set(this.#samples.map((s) => s.phase))];
    return phases.map((phase) => summarize(phase, this.#samples.filter((s) => s.phase === phase)));
  }
}

function latestJob(client: StratumClient): Job | null {
  for (let i = client.notifications.length - 1; i >= 0; i--) {
    const n = client.notifications[i];
    if (n.method === "mining.notify") return parseNotify(n.params);
  }
  return null;
}

function summarize(phase: string, samples: Sample[]): RttSummary {
  const ms = samples.map((s) => s.ms).sort((a, b) => a - b);
  const at = (q: number) => ms[Math.min(ms.length - 1, Math.floor(q * ms.length))];
  return { phase, shares: ms.length, median: at(0.5), p95: at(0.95), max: ms[ms.length - 1] };
}

/** Prints share RTT per phase (never asserted: this machine is shared). */
export function printRtts(title: string, rtts: RttSummary[]) {
  console.log(`${title}: honest share round trip (ms)`);
  for (const r of rtts) {
    console.log(
      `  ${r.phase.padEnd(8)} shares ${String(r.shares).padStart(4)}  median ${
        r.median.toFixed(2).padStart(7)
      }  p95 ${r.p95.toFixed(2).padStart(7)}  max ${r.max.toFixed(2).padStart(7)}`,
    );
  }
}

/** The engine's resident set, KiB (VmRSS of /proc/<pid>/status). */
export function residentKiB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(Deno.readTextFileSync(`/proc/${pid}/status`));
  if (!match) throw new Error(`no VmRSS for ${pid}`);
  return Number(match[1]);
}

/** Descriptors the engine holds open (/proc/<pid>/fd). */
export function openFds(pid: number): number {
  let n = 0;
  for (const _ of Deno.readDirSync(`/proc/${pid}/fd`)) n++;
  return n;
}

/** True for an AddressSanitizer build (its binary, or libasan mapped into it). */
export function sanitizerBuild(pid: number): boolean {
  try {
    if (Deno.readLinkSync(`/proc/${pid}/exe`).includes("asan")) return true;
    return Deno.readTextFileSync(`/proc/${pid}/maps`).includes("libasan");
  } catch {
    return false;
  }
}

/**
 * Memory figures: RSS at named moments, printed, and a bound on growth over
 * the first. Under ASan the figures are printed but not bounded: freed memory
 * sits in its quarantine (up to 256 MiB) and every allocation carries
 * redzones and shadow, so RSS there measures ASan, not the engine. The plain
 * build, run by `deno task test`, asserts the bound.
 */
export class MemoryWatch {
  readonly #points: Array<{ label: string; kib: number }> = [];
  constructor(readonly engine: Engine) {}

  /** How many marks so far. */
  get points(): number {
    return this.#points.length;
  }

  mark(label: string): number {
    const kib = residentKiB(this.engine.process.pid);
    this.#points.push({ label, kib });
    return kib;
  }

  /** Prints every mark and asserts growth over the first stays under `mib` (not under ASan). */
  assertBounded(title: string, mib: number) {
    const asan = sanitizerBuild(this.engine.process.pid);
    const base = this.#points[0].kib;
    const text = this.#points.map((p) => `${p.label} ${(p.kib / 1024).toFixed(1)}`).join(", ");
    const note = asan ? " [ASan build: quarantine and redzones, bound not applied]" : "";
    console.log(`${title}: engine RSS (MiB) ${text}${note}`);
    if (asan) return;
    for (const p of this.#points) {
      assert(
        p.kib - base < mib * 1024,
        `RSS at ${p.label} grew ${p.kib - base} KiB (limit ${mib * 1024})`,
      );
    }
  }
}

/** Waits `ms`, or less when `until` settles first; leaves no timer behind. */
export async function pause(ms: number, until: Promise<unknown>): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const slept = new Promise((resolve) => (timer = setTimeout(resolve, ms)));
  await Promise.race([slept, until.catch(() => {})]);
  clearTimeout(timer);
}

/** One value from /metrics (`name{labels}` as printed), 0 when absent. */
export async function metric(engine: Engine, key: string): Promise<number> {
  return (await scrapeMetrics(engine)).get(key) ?? 0;
}
