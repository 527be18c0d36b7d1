/**
 * The control protocol between `deno task up` and `deno task stack`: over the
 * stack's Unix socket (path.ts) the client writes one JSON request line, the
 * server answers one JSON response line and closes the connection.
 */

import type { ServiceStatus } from "../supervisor/supervisor.ts";

export const COMMANDS = ["status", "stop", "start", "restart", "logs"] as const;
export type Command = typeof COMMANDS[number];

export type ControlRequest =
  | { command: "status" }
  | { command: "stop" | "start" | "restart"; name: string }
  | { command: "logs"; name: string; lines: number };

export type ControlResponse =
  | {
    ok: true;
    /** Every service (status) or the one acted on. */
    services: ServiceStatus[];
    message?: string;
    /** `logs`: the last lines of the service's log. */
    log?: string;
  }
  | { ok: false; error: string };

/** A request line is refused beyond this many bytes. */
export const MAX_REQUEST_BYTES = 64 * 1024;

export const DEFAULT_LOG_LINES = 40;
export const MAX_LOG_LINES = 10_000;

function isCommand(value: unknown): value is Command {
  return typeof value === "string" && (COMMANDS as readonly string[]).includes(value);
}

/** Parses and checks one request line; throws a message naming what is wrong. */
export function parseRequest(line: string): ControlRequest {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new Error("control: request is not JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new Error("control: request must be a JSON object");
  }
  const { command, name, lines } = value as Record<string, unknown>;
  if (!isCommand(command)) {
    throw new Error(
      `control: unknown command ${JSON.stringify(command)} (known: ${COMMANDS.join(", ")})`,
    );
  }
  if (command === "status") return { command };
  if (typeof name !== "string" || name === "") {
    throw new Error(`control: "${command}" needs a service name`);
  }
  if (command !== "logs") return { command, name };
  const count = lines ?? DEFAULT_LOG_LINES;
  if (typeof count !== "number" || !Number.isInteger(count) || count < 1 || count > MAX_LOG_LINES) {
    throw new Error(`control: "lines" must be an integer 1-${MAX_LOG_LINES} (got ${lines})`);
  }
  return { command, name, lines: count };
}
