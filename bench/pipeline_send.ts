/** The bench's synthetic engine: the C sender (bench/pipeline_sender.c) or the Deno FakeEngine. */

import type { FakeEngine } from "../lib/harness/fake_engine.ts";

/** Deno.cpuUsage (µs) exists at runtime in Deno 2.x but not in every version's types. */
const cpuUsage = (): { user: number; system: number } =>
  (Deno as unknown as { cpuUsage?: () => { user: number; system: number } }).cpuUsage?.() ??
    { user: 0, system: 0 };

const SOURCE = new URL("./pipeline_sender.c", import.meta.url).pathname;

/** Compiles the C sender into `dir`; undefined when no compiler works. */
export async function buildSender(dir: string): Promise<string | undefined> {
  const out = `${dir}/pipeline_sender`;
  try {
    const result = await new Deno.Command(Deno.env.get("CC") ?? "cc", {
      args: ["-O2", "-Wall", "-o", out, SOURCE],
      stderr: "piped",
    }).output();
    if (result.success) return out;
    console.error(new TextDecoder().decode(result.stderr));
  } catch (error) {
    console.error(`bench: no C compiler (${(error as Error).message}); using the Deno sender`);
  }
  return undefined;
}

/**
 * Sends seq 1..total for `engine`'s boot_id and pool_instance with the C
 * sender; resolves with the sender's CPU seconds.
 */
export async function sendWithC(
  bin: string,
  socket: string,
  total: number,
  engine: FakeEngine,
  rate: number,
): Promise<number> {
  const args = [socket, String(total), engine.options.region, engine.poolInstance, engine.bootId];
  const result = await new Deno.Command(bin, { args: rate > 0 ? [...args, String(rate)] : args })
    .output();
  if (!result.success) throw new Error(`pipeline_sender failed: ${result.code}`);
  engine.seq = total;
  return Number(new TextDecoder().decode(result.stdout).trim().split(" ")[1]);
}

/** Sends `total` events one datagram at a time from Deno (retries on a full socket queue). */
export async function sendWithDeno(
  engine: FakeEngine,
  socket: string,
  total: number,
  rate: number,
): Promise<number> {
  const started = performance.now();
  const cpu = cpuUsage();
  for (let sent = 1; sent <= total; sent++) {
    await engine.send(socket, engine.next());
    if (rate > 0 && sent % 256 === 0) {
      const wait = started + (sent / rate) * 1000 - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  }
  const end = cpuUsage();
  return (end.user - cpu.user + end.system - cpu.system) / 1e6;
}
