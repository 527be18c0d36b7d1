/**
 * Starts what the Stratum benchmark measures: a regtest node with a harder
 * `-testbits` (so low-difficulty shares are not blocks) and the engine with
 * a fixed share difficulty (mindiff = startdiff = maxdiff, so vardiff never
 * moves it), on free loopback ports with logs in a temporary directory.
 */

import { freePort, waitFor, waitForPort } from "../tests/harness/ports.ts";
import { type ManagedProcess, spawnManaged } from "../tests/harness/process.ts";
import { StratumClient } from "../tests/stratum/client.ts";
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

async function rpc(port: number, method: string, params: unknown[]): Promise<unknown> {
  const response = await fetch(`http://127.0.0.1:${port}/`, {
    method: "POST",
    headers: { authorization: `Basic ${btoa("bench:bench")}`, "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "1.0", id: 1, method, params }),
  });
  const body = await response.json();
  if (body.error) throw new Error(`${method}: ${JSON.stringify(body.error)}`);
  return body.result;
}

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
  const rpcPort = freePort();
  const stratumPort = freePort();
  const metricsPort = freePort();
  const started: ManagedProcess[] = [];
  const stop = async () => {
    for (const p of started.reverse()) await p.stop();
  };
  try {
    await Deno.mkdir(`${dir}/node`);
    await Deno.mkdir(`${dir}/engine-logs`);
    const node = spawnManaged({
      name: "regtest-node",
      cmd: Deno.execPath(),
      args: [
        "run",
        "--allow-net",
        "--allow-read",
        "--allow-write",
        `${ROOT}stack/regtest/main.ts`,
        "-regtest",
        `-rpcport=${rpcPort}`,
        "-rpcbind=127.0.0.1",
        "-rpcuser=bench",
        "-rpcpassword=bench",
        `-datadir=${dir}/node`,
        `-testbits=${options.testbits}`,
        "-nolisten",
      ],
      logPath: `${dir}/node.log`,
    });
    started.push(node);
    await untilExit(node, waitForPort(rpcPort, 30_000));
    // Some templates need a chain tip first; a node that cannot mine is fine too.
    await rpc(rpcPort, "generatetoaddress", [1, REGTEST_ADDRESS]).catch(() => {});

    const config = {
      btcd: [{ url: `127.0.0.1:${rpcPort}`, auth: "bench", pass: "bench" }],
      btcaddress: REGTEST_ADDRESS,
      serverurl: [`127.0.0.1:${stratumPort}`],
      mindiff: options.difficulty,
      startdiff: options.difficulty,
      maxdiff: options.difficulty,
      metrics_listen: `127.0.0.1:${metricsPort}`,
      logdir: `${dir}/engine-logs`,
      events: { enabled: false },
      // Every bench connection comes from 127.0.0.1: lift the per-IP limit.
      max_conns_per_ip: 0,
    };
    await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify(config, null, 2));
    const engine = spawnManaged({
      name: "ckpool",
      cmd: `${ROOT}ckpool/ckpool`,
      args: ["-c", `${dir}/config.json`],
      logPath: `${dir}/engine.log`,
    });
    started.push(engine);
    await untilExit(engine, waitForPort(stratumPort, 30_000));
    await untilExit(
      engine,
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
    return { stratumPort, enginePid: engine.pid, payoutAddress: REGTEST_ADDRESS, dir, stop };
  } catch (error) {
    const logs = started.map((p) => `--- ${p.name} (${p.logPath})\n${p.log().slice(-2000)}`);
    await stop();
    throw new Error(`bench stack failed: ${(error as Error).message}\n${logs.join("\n")}`);
  }
}
