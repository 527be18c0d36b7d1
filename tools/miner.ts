/**
 * A tiny CPU miner for demos and smoke tests (regtest or very low difficulty).
 *
 *   deno task miner -- --url stratum+tcp://127.0.0.1:3333 --user <address>[.worker] [--threads N]
 *
 * Logs JSON lines (jobs, difficulty, accepted/rejected shares, blocks) to
 * stdout; exits 0 on SIGINT/SIGTERM or after --max-shares accepted shares,
 * 1 when the pool goes away or refuses the worker.
 */

import { StratumClient } from "../lib/stratum/client.ts";
import { difficulty } from "../lib/bitcoin/mod.ts";
import { type MinerOptions, parseMinerArgs, USAGE } from "./miner_args.ts";
import { MiningLoop, type MiningReport, type WorkOrder } from "./mining_loop.ts";

function log(level: string, msg: string, fields: Record<string, unknown> = {}): void {
  console.log(
    JSON.stringify({ ts: new Date().toISOString(), level, component: "miner", msg, ...fields }),
  );
}

/** Extranonce2 start for worker `index`: its index in the top byte, so slices never overlap. */
function extranonce2Start(index: number, size: number): bigint {
  return size === 0 ? 0n : BigInt(index) << BigInt(8 * size - 8);
}

/** True when this process may load miner_worker.ts and its imports (tools/, lib/). */
function workersReadable(): boolean {
  return ["./", "../lib/"].every((dir) =>
    Deno.permissions.querySync({ name: "read", path: new URL(dir, import.meta.url) }).state ===
      "granted"
  );
}

async function run(options: MinerOptions): Promise<number> {
  const client = await StratumClient.connect({ hostname: options.hostname, port: options.port });
  log("info", "connected", { host: options.hostname, port: options.port });
  if (options.versionRollingMask) {
    const { result, error } = await client.configureVersionRolling(options.versionRollingMask);
    log("info", "configure", { result, error, version_mask: client.versionMask.toString(16) });
  }
  const sub = await client.subscribe(options.userAgent);
  log("info", "subscribed", {
    extranonce1: sub.extranonce1,
    extranonce2_size: sub.extranonce2Size,
  });
  const auth = await client.authorize(options.user, options.password);
  if (auth.result !== true) {
    log("error", "authorize refused", { user: options.user, error: auth.error });
    await client.close();
    return 1;
  }
  log("info", "authorized", { user: options.user });
  if (options.suggestDifficulty !== undefined) {
    await client.suggestDifficulty(options.suggestDifficulty);
  }

  // Threads are workers, whose modules Deno loads with read permission on
  // tools/ and lib/; without it a single thread mines inline.
  const threads: { post: (order: WorkOrder) => void; stop: () => void }[] = [];
  let generation = 0;
  let accepted = 0;
  let rejected = 0;
  let hashes = 0;
  let stopping = false;
  let done: (code: number) => void = () => {};
  const finished = new Promise<number>((resolve) => (done = resolve));

  /** Hands every worker the current job and difficulty. */
  const dispatch = () => {
    const job = client.currentJob;
    if (!job || !(client.currentDifficulty > 0)) return;
    generation++;
    threads.forEach((thread, index) => {
      const order: WorkOrder = {
        generation,
        notifyParams: job.raw,
        difficulty: client.currentDifficulty,
        extranonce1: client.extranonce1,
        extranonce2Size: client.extranonce2Size,
        extranonce2Start: extranonce2Start(index, client.extranonce2Size).toString(),
        versionMask: client.versionMask,
      };
      thread.post(order);
    });
  };

  const onReport = async (report: MiningReport) => {
    if (report.type === "progress") {
      hashes += report.hashes;
      return;
    }
    if (report.generation !== generation) return; // found for a job we already left
    const s = report.share;
    const { result, error } = await client
      .submit(options.user, s.jobId, s.extranonce2Hex, s.ntimeHex, s.nonceHex, s.versionBitsHex)
      .catch((e: Error) => ({ result: null, error: { code: -1, message: e.message } }));
    if (stopping) return; // answers cut off by our own shutdown are not rejections
    const ok = result === true && error === null;
    ok ? accepted++ : rejected++;
    log(ok ? "info" : "warn", ok ? "share accepted" : "share rejected", {
      job_id: s.jobId,
      nonce: s.nonceHex,
      extranonce2: s.extranonce2Hex,
      hash: s.hashHex,
      error,
      accepted,
      rejected,
    });
    if (s.isBlock) log("info", "block found", { hash: s.hashHex, job_id: s.jobId, accepted: ok });
    if (options.maxShares > 0 && accepted >= options.maxShares) done(0);
  };

  // Inline mining starves this thread's socket reads and signal handling on a
  // busy machine (late jobs, stale shares, submit timeouts), so one thread runs
  // in a worker too whenever the worker modules may be read.
  const inline = options.threads === 1 && !workersReadable();
  if (inline) {
    const loop = new MiningLoop((report) => void onReport(report));
    threads.push({ post: (order) => loop.setOrder(order), stop: () => loop.stop() });
  }
  for (let i = 0; !inline && i < options.threads; i++) {
    const url = new URL("./miner_worker.ts", import.meta.url).href;
    const worker = new Worker(url, { type: "module" });
    worker.onmessage = (e: MessageEvent<MiningReport>) => void onReport(e.data);
    worker.onerror = (e) => {
      e.preventDefault();
      log("error", "worker failed", { error: e.message });
      done(1);
    };
    threads.push({ post: (order) => worker.postMessage(order), stop: () => worker.terminate() });
  }

  let lastJob = "";
  let lastDiff = NaN;
  const unwatch = client.onNotification(({ method }) => {
    if (method === "mining.notify" && client.currentJob && client.currentJob.jobId !== lastJob) {
      const job = client.currentJob;
      lastJob = job.jobId;
      log("info", "job", {
        job_id: job.jobId,
        clean: job.cleanJobs,
        network_difficulty: difficulty(job.bits),
      });
    }
    if (method === "mining.set_difficulty" && client.currentDifficulty !== lastDiff) {
      lastDiff = client.currentDifficulty;
      log("info", "difficulty", { difficulty: lastDiff });
    }
    if (method === "client.reconnect") log("warn", "server asked to reconnect (ignored)");
    if (method === "mining.notify" || method === "mining.set_difficulty") dispatch();
  });
  // The handshake's set_difficulty and first notify arrived before the listener.
  if (client.currentJob) {
    lastJob = client.currentJob.jobId;
    log("info", "job", { job_id: lastJob, clean: client.currentJob.cleanJobs });
  }
  if (client.currentDifficulty > 0) {
    lastDiff = client.currentDifficulty;
    log("info", "difficulty", { difficulty: lastDiff });
  }
  dispatch();

  const onSignal = () => done(0);
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  client.closed.then((info) => {
    if (info.by !== "client") {
      log("error", "disconnected", { by: info.by, detail: info.detail });
      done(1);
    }
  });
  const started = Date.now();
  const code = await finished;
  stopping = true;
  unwatch();
  Deno.removeSignalListener("SIGINT", onSignal);
  Deno.removeSignalListener("SIGTERM", onSignal);
  threads.forEach((t) => t.stop());
  await client.close();
  const seconds = (Date.now() - started) / 1000;
  log("info", "stopped", { accepted, rejected, hashes, hashrate: Math.round(hashes / seconds) });
  return code;
}

if (import.meta.main) {
  let options: MinerOptions | "help";
  try {
    options = parseMinerArgs(Deno.args);
  } catch (error) {
    console.error(`miner: ${error instanceof Error ? error.message : error}\n${USAGE}`);
    Deno.exit(2);
  }
  if (options === "help") {
    console.log(USAGE);
    Deno.exit(0);
  }
  try {
    Deno.exit(await run(options));
  } catch (error) {
    log("error", "miner failed", { error: error instanceof Error ? error.message : String(error) });
    Deno.exit(1);
  }
}
