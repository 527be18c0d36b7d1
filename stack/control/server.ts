/**
 * The control endpoint of a running `deno task up`: a Unix socket on which
 * `deno task stack` (client.ts) asks for the status table or stops, starts,
 * restarts one service or reads its log (protocol.ts). Every answer is the
 * supervisor's own state; a failure comes back as a message, never a crash.
 */

import { lastLines } from "../../lib/process.ts";
import type { ServiceStatus, Supervisor } from "../supervisor/supervisor.ts";
import {
  type ControlRequest,
  type ControlResponse,
  MAX_REQUEST_BYTES,
  parseRequest,
} from "./protocol.ts";

export interface ControlServer {
  readonly path: string;
  close(): Promise<void>;
}

export interface ControlOptions {
  /** Orders rows for `status` (the same order `up` prints). */
  order?: (rows: ServiceStatus[]) => ServiceStatus[];
  report?: (line: string) => void;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Reads one newline-terminated request, at most MAX_REQUEST_BYTES. */
async function readRequestLine(conn: Deno.Conn): Promise<string> {
  const buf = new Uint8Array(4096);
  let text = "";
  while (!text.includes("\n")) {
    const n = await conn.read(buf);
    if (n === null) break;
    text += decoder.decode(buf.subarray(0, n), { stream: true });
    if (text.length > MAX_REQUEST_BYTES) {
      throw new Error(`control: request longer than ${MAX_REQUEST_BYTES} bytes`);
    }
  }
  return text.split("\n")[0];
}

async function tail(path: string, lines: number): Promise<string> {
  try {
    return lastLines(await Deno.readTextFile(path), lines);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return "";
    throw error;
  }
}

async function answer(
  supervisor: Supervisor,
  request: ControlRequest,
  order: (rows: ServiceStatus[]) => ServiceStatus[],
): Promise<ControlResponse> {
  switch (request.command) {
    case "status":
      return { ok: true, services: order(supervisor.status()) };
    case "stop": {
      const row = await supervisor.stopService(request.name);
      return {
        ok: true,
        services: [row],
        message: `stopped ${row.name}; it stays down until \`stack start ${row.name}\``,
      };
    }
    case "start": {
      const row = await supervisor.startService(request.name);
      return { ok: true, services: [row], message: `started ${row.name} (pid ${row.pid})` };
    }
    case "restart": {
      const row = await supervisor.restartService(request.name);
      return { ok: true, services: [row], message: `restarted ${row.name} (pid ${row.pid})` };
    }
    case "logs": {
      const row = supervisor.status().find((r) => r.name === request.name);
      if (!row) {
        throw new Error(
          `no service named "${request.name}" (known: ${supervisor.names().join(", ")})`,
        );
      }
      return { ok: true, services: [row], log: await tail(row.logPath, request.lines) };
    }
  }
}

async function handle(
  conn: Deno.Conn,
  supervisor: Supervisor,
  options: ControlOptions,
): Promise<void> {
  let response: ControlResponse;
  try {
    const request = parseRequest(await readRequestLine(conn));
    if (request.command !== "status" && request.command !== "logs") {
      options.report?.(`control: ${request.command} ${request.name}`);
    }
    response = await answer(supervisor, request, options.order ?? ((rows) => rows));
  } catch (error) {
    response = { ok: false, error: (error as Error).message };
  }
  try {
    await conn.write(encoder.encode(JSON.stringify(response) + "\n"));
  } catch {
    // the client went away; nothing to tell it
  } finally {
    try {
      conn.close();
    } catch {
      // already closed
    }
  }
}

/** True when something accepts connections on the Unix socket at `path`. */
async function answers(path: string): Promise<boolean> {
  try {
    (await Deno.connect({ transport: "unix", path })).close();
    return true;
  } catch {
    return false;
  }
}

/**
 * Listens on `path`. A socket file left by a stack that died is removed; one
 * that answers means another `up` runs on this data dir, and that is an error.
 */
export async function serveControl(
  path: string,
  supervisor: Supervisor,
  options: ControlOptions = {},
): Promise<ControlServer> {
  if (await answers(path)) {
    throw new Error(`control: ${path} answers: another \`deno task up\` uses this data dir`);
  }
  await Deno.remove(path).catch(() => {});
  const listener = Deno.listen({ transport: "unix", path });
  const loop = (async () => {
    try {
      for await (const conn of listener) {
        void handle(conn, supervisor, options);
      }
    } catch {
      // listener closed
    }
  })();
  return {
    path,
    async close() {
      try {
        listener.close();
      } catch {
        // already closed
      }
      await loop;
      // Requests in flight (a start awaiting readiness) end with the stack.
      await Deno.remove(path).catch(() => {});
    },
  };
}
