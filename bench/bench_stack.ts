/**
 * Starts what the Stratum benchmark measures: a regtest node with a harder
 * `-testbits` (so low-difficulty shares are not blocks) and the engine with
 * a fixed share difficulty (mindiff = startdiff = maxdiff, so vardiff never
 * moves it), on free loopback ports (lib/harness: startBitcoinNode, startEngine);
 * the engine's ckpool.log stays in a temporary directory.
 */

import { waitFor } from "../lib/ports.ts";
import type { ManagedProcess } from "../lib/process.ts";
import { type BitcoinNode, startBitcoinNode } from "../lib/harness/bitcoin_node.ts";
import { type Engine, startEngine } from "../lib/harness/engine.ts";
import { StratumClient } from "../lib/stratum/client.ts";
import { segwitV0Address } from "./bech32.ts";

export const ROOT = new URL("../", import.meta.url).pathname;

export interface BenchStack {
  stratumPort: number;
  enginePid: number;
  payoutAddress: string;
  dir: string;
  stop(): Promise<void>;
}

export interface StackOptions {
  /** Share difficulty for every connection. */
  difficulty: number;
  /** nbits the node mines at; 1e00ffff is network difficulty 1/256. */
  testbits: string;
}

/** A fixed valid regtest P2WPKH address (program 0x11 * 20). */
export const REGTEST_ADDRESS = segwitV0Address("bcrt", new Uint8Array(20).fill(0x11));

/** `waiting`, or an error as soon as `process` exits first. */
function untilExit<T>(process: ManagedProcess, waiting: Promise<T>): Promise<T> {
  const exited = process.exited.then((code) => {
    throw new Error(`${process.name} exited with code ${code}`);
  });
  exited.catch(() => {});
  return Promise.race([waiting, exited]);
}

/** Starts node and engine; resolves once a Stratum client receives a job. */
export async function startBenchStack(options: StackOptions): Promise<BenchStack> {
  const dir = await Deno.makeTempDir({ prefix: "stratum-bench-" });
  let node: BitcoinNode | undefined;
  let engine: Engine | undefined;
  const stop = async () => {
    await engine?.stop();
    await node?.stop();
  };
  try {
    // The TypeScript node: bitcoind has no -testbits.
    node = await startBitcoinNode({ kind: "regtest-ts", testbits: options.testbits });
    // Some templates need a chain tip first; a node that cannot mine is fine too.
    await node.rpc("generatetoaddress", [1, REGTEST_ADDRESS]).catch(() => {});

    await Deno.mkdir(`${dir}/engine-logs`);
    engine = await startEngine(node, {
      btcaddress: REGTEST_ADDRESS,
      mindiff: options.difficulty,
      startdiff: options.difficulty,
      maxdiff: options.difficulty,
      blockpoll_ms: 100,
      logdir: `${dir}/engine-logs`,
      events: { enabled: false },
      // Every bench connection comes from 127.0.0.1: lift the per-IP limit;
      // saturation sends far more than a miner's 500 requests/s per connection.
      max_conns_per_ip: 0,
      request_rate: 1e6,
      request_burst: 1e6,
    }, { readyTimeoutMs: 30_000 });
    const { stratumPort } = engine;
    await untilExit(
      engine.process,
      waitFor(async () => {
        const client = await StratumClient.connect({ port: stratumPort, timeoutMs: 5_000 });
        try {
          await client.subscribe("bench-probe");
          await client.authorize(REGTEST_ADDRESS);
          return await client.nextNotify(5_000);
        } finally {
          await client.close();
        }
      }, { timeoutMs: 60_000, what: "the engine to send a job" }),
    );
    return {
      stratumPort,
      enginePid: engine.process.pid,
      payoutAddress: REGTEST_ADDRESS,
      dir,
      stop,
    };
  } catch (error) {
    const log = engine
      ? `\n--- ckpool (${engine.process.logPath})\n${engine.logs().slice(-2000)}`
      : "";
    await stop();
    throw new Error(`bench stack failed: ${(error as Error).message}${log}`);
  }
}
