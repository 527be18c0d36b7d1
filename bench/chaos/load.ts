/**
 * Miners in every region: the C load generator (bench/loadgen/stratum_load)
 * on each region's own Stratum port at a fixed submit rate. Its headers miss
 * the block target (`--hash miss`): on regtest half of all random headers are
 * blocks, and a block per other submit would load the nodes, the relay link
 * and the engines' logs far beyond what miners do. Missing the block target
 * they also miss the engine's share target (mindiff 1e-9 is harder than
 * regtest's 4.7e-10), so the engine rejects each one as below the share
 * target; every submit is still one `share_submitted` event (with
 * `accepted: false`), which is the event load the pipeline must carry. The
 * generator runs in short chunks, started again at once, so a region whose
 * engine was killed gets its miners back as soon as the engine listens again.
 */

import { REGTEST_ADDRESS, ROOT } from "../bench_stack.ts";
import { tcpOpen } from "../../stack/supervisor/readiness.ts";

const LOADGEN = `${ROOT}bench/loadgen/stratum_load`;

export interface RegionLoad {
  region: string;
  /** Submits the engine answered (accepted or rejected). */
  answered: number;
  sent: number;
  disconnects: number;
  chunks: number;
  /** Chunks that ended with an error (engine down at connect time). */
  failedChunks: number;
}

interface ChunkReport {
  sent: number;
  accepted: number;
  rejected: number;
  disconnects: number;
}

export interface LoadOptions {
  /** Submits per second for this region. */
  rate: number;
  conns: number;
  /** Seconds each generator run lasts. */
  chunkSeconds: number;
}

export class RegionMiners {
  readonly stats: RegionLoad;
  #stopped = false;
  #child: Deno.ChildProcess | null = null;
  #loop: Promise<void> | null = null;

  constructor(region: string, readonly port: number, readonly options: LoadOptions) {
    this.stats = { region, answered: 0, sent: 0, disconnects: 0, chunks: 0, failedChunks: 0 };
  }

  start(): void {
    this.#loop = this.#run();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    try {
      this.#child?.kill("SIGINT");
    } catch {
      // already finished
    }
    await this.#loop;
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      if (!await tcpOpen(this.port)) {
        await new Promise((r) => setTimeout(r, 200));
        continue;
      }
      const report = await this.#chunk().catch(() => null);
      this.stats.chunks++;
      if (!report) {
        this.stats.failedChunks++;
        await new Promise((r) => setTimeout(r, 200));
        continue;
      }
      this.stats.sent += report.sent;
      this.stats.answered += report.accepted + report.rejected;
      this.stats.disconnects += report.disconnects;
    }
  }

  async #chunk(): Promise<ChunkReport> {
    const { rate, conns, chunkSeconds } = this.options;
    this.#child = new Deno.Command(LOADGEN, {
      args: [
        ...["--port", String(this.port), "--user", REGTEST_ADDRESS],
        ...["--conns", String(conns), "--rate", String(rate)],
        ...["--duration", String(chunkSeconds), "--hash", "miss", "--setup-timeout", "10"],
        "--json",
      ],
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const out = await this.#child.output();
    this.#child = null;
    const text = new TextDecoder().decode(out.stdout).trim();
    if (!text) throw new Error(`stratum_load exited ${out.code} without a report`);
    return JSON.parse(text) as ChunkReport;
  }
}

/** Fails naming the generator when it is not built. */
export async function checkLoadgen(): Promise<void> {
  try {
    await Deno.stat(LOADGEN);
  } catch {
    throw new Error(`chaos: no load generator at ${LOADGEN} (run \`make -C bench/loadgen\`)`);
  }
}
