/** Talks to a running stack's control socket (server.ts): one request, one response. */

import type { ControlRequest, ControlResponse } from "./protocol.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Starting a service waits for its readiness (up to a minute for some). */
export const DEFAULT_CONTROL_TIMEOUT_MS = 150_000;

/**
 * Sends `request` to the stack listening on `path`. Throws a message that
 * names the socket when no stack answers there.
 */
export async function controlRequest(
  path: string,
  request: ControlRequest,
  timeoutMs = DEFAULT_CONTROL_TIMEOUT_MS,
): Promise<ControlResponse> {
  let conn: Deno.UnixConn;
  try {
    conn = await Deno.connect({ transport: "unix", path });
  } catch (error) {
    const why = error instanceof Deno.errors.NotFound ? "no such socket" : (error as Error).message;
    throw new Error(
      `stack: no running stack answers on ${path} (${why}); is \`deno task up\` running ` +
        "with the same TBG_STACK_DIR?",
    );
  }
  const timer = setTimeout(() => conn.close(), timeoutMs);
  try {
    await conn.write(encoder.encode(JSON.stringify(request) + "\n"));
    let text = "";
    const buf = new Uint8Array(16 * 1024);
    while (!text.includes("\n")) {
      const n = await conn.read(buf).catch(() => null);
      if (n === null) break;
      text += decoder.decode(buf.subarray(0, n), { stream: true });
    }
    if (!text.includes("\n")) {
      throw new Error(`stack: no answer from ${path} within ${timeoutMs} ms`);
    }
    return JSON.parse(text.slice(0, text.indexOf("\n"))) as ControlResponse;
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch {
      // closed by the timer
    }
  }
}

/** Like controlRequest, but an `ok: false` answer throws its error. */
export async function control(
  path: string,
  request: ControlRequest,
  timeoutMs?: number,
): Promise<Extract<ControlResponse, { ok: true }>> {
  const response = await controlRequest(path, request, timeoutMs);
  if (!response.ok) throw new Error(`stack ${request.command}: ${response.error}`);
  return response;
}
