/**
 * The chaos bench's stack: the native three-region topology of `deno task up`,
 * started by the system suites' fixture (lib/harness/native_system.ts: free ports,
 * temp data dir, demo miners off), plus what the bench needs beyond that
 * fixture: each service's pid (to SIGKILL or SIGSTOP it) and the operator's
 * restart, both through the stack's control socket.
 */

import { control } from "../../stack/control/client.ts";
import { controlSocketPath } from "../../stack/control/path.ts";
import type { ServiceStatus } from "../../stack/supervisor/supervisor.ts";
import { startNativeSystem } from "../../lib/harness/native_system.ts";
import type { SystemStack } from "../../lib/harness/system.ts";

export interface ChaosStack {
  system: SystemStack;
  stackDir: string;
  status(): Promise<ServiceStatus[]>;
  /** The running pid of `name`; throws naming the service when it has none. */
  pid(name: string): Promise<number>;
  restart(name: string): Promise<void>;
}

/**
 * The fixture makes its data dir with `Deno.makeTempDir({ prefix })` and does
 * not hand it out; a label unique to this process finds it again.
 */
async function findStackDir(label: string): Promise<string> {
  const tmp = Deno.env.get("TMPDIR") ?? "/tmp";
  const prefix = `tbg-system-${label}-`;
  for await (const entry of Deno.readDir(tmp)) {
    if (entry.isDirectory && entry.name.startsWith(prefix)) return `${tmp}/${entry.name}`;
  }
  throw new Error(`chaos: no stack dir ${tmp}/${prefix}* (the fixture's naming changed?)`);
}

export async function startChaosStack(): Promise<ChaosStack> {
  const label = `chaos-${Deno.pid}`;
  const system = await startNativeSystem({ label });
  const stackDir = await findStackDir(label);
  const socket = controlSocketPath(stackDir);
  const status = async () => (await control(socket, { command: "status" })).services;
  return {
    system,
    stackDir,
    status,
    async pid(name) {
      const row = (await status()).find((s) => s.name === name);
      if (!row) throw new Error(`chaos: the stack runs no service "${name}"`);
      if (row.pid === null || row.state !== "running") {
        throw new Error(`chaos: ${name} is ${row.state}, no pid to signal`);
      }
      return row.pid;
    },
    async restart(name) {
      await control(socket, { command: "restart", name });
    },
  };
}

interface JszConsumer {
  num_pending: number;
  num_ack_pending: number;
}

/** Messages JetStream holds for the collector: not yet delivered plus delivered but unacked. */
export async function jetStreamBacklog(stackDir: string): Promise<number> {
  const file = JSON.parse(await Deno.readTextFile(`${stackDir}/stack.json`)) as {
    ports: Record<string, number>;
  };
  const url = `http://127.0.0.1:${file.ports.nats_monitor}/jsz?consumers=true`;
  const body = await (await fetch(url, { signal: AbortSignal.timeout(5000) })).json() as {
    account_details?: Array<{ stream_detail?: Array<{ consumer_detail?: JszConsumer[] }> }>;
  };
  let total = 0;
  for (const account of body.account_details ?? []) {
    for (const stream of account.stream_detail ?? []) {
      for (const c of stream.consumer_detail ?? []) total += c.num_pending + c.num_ack_pending;
    }
  }
  return total;
}
