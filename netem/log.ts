/** JSON-line logs of the latency bridge: `ts`, `level`, `component`, `region`, `msg`, fields. */

import type { LogLevel } from "./config.ts";

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogFields = Record<string, unknown>;
export type LogFn = (msg: string, fields?: LogFields) => void;

export interface BridgeLogger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
}

const encoder = new TextEncoder();

function stdoutLine(line: string): void {
  const bytes = encoder.encode(line + "\n");
  let written = 0;
  while (written < bytes.length) written += Deno.stdout.writeSync(bytes.subarray(written));
}

export function bridgeLogger(
  options: { component: string; region: string; level: LogLevel },
  sink: (line: string) => void = stdoutLine,
): BridgeLogger {
  const write = (level: LogLevel) => (msg: string, fields: LogFields = {}) => {
    if (RANK[level] < RANK[options.level]) return;
    const record: LogFields = {
      ts: new Date().toISOString(),
      level,
      component: options.component,
      region: options.region,
      msg,
    };
    for (const [key, value] of Object.entries(fields)) {
      record[key] = value instanceof Error ? value.message : value;
    }
    sink(JSON.stringify(record));
  };
  return { debug: write("debug"), info: write("info"), warn: write("warn"), error: write("error") };
}

/** A logger that drops everything (tests). */
export const silentLogger: BridgeLogger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
};
