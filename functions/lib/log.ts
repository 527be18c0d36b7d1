/**
 * JSON-lines logging: one object per line with ts, level, component, region,
 * msg and the caller's fields. Written to stdout synchronously so a crash
 * loses at most the line being written.
 */

export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
export type LogLevel = typeof LOG_LEVELS[number];

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

export type LogSink = (line: string) => void;

const encoder = new TextEncoder();
export const stdoutSink: LogSink = (line) => {
  const bytes = encoder.encode(line + "\n");
  let written = 0;
  while (written < bytes.length) written += Deno.stdout.writeSync(bytes.subarray(written));
};

export interface LoggerOptions {
  component: string;
  region: string;
  level?: LogLevel;
  sink?: LogSink;
}

export function createLogger(options: LoggerOptions): Logger {
  const threshold = RANK[options.level ?? "info"];
  const sink = options.sink ?? stdoutSink;
  const write = (level: LogLevel, msg: string, fields?: LogFields) => {
    if (RANK[level] < threshold) return;
    const record: Record<string, unknown> = {
      ts: new Date().toISOString(),
      level,
      component: options.component,
      region: options.region,
      msg,
    };
    if (fields) {
      for (const [key, value] of Object.entries(fields)) {
        record[key] = value instanceof Error ? value.message : value;
      }
    }
    sink(JSON.stringify(record));
  };
  return {
    debug: (msg, fields) => write("debug", msg, fields),
    info: (msg, fields) => write("info", msg, fields),
    warn: (msg, fields) => write("warn", msg, fields),
    error: (msg, fields) => write("error", msg, fields),
  };
}

/**
 * Batches a frequent action into one log line per `intervalMs`: `count` calls
 * add up and `flush` writes `{count, ...summary}` when anything happened.
 */
export class LogSampler {
  #count = 0;
  #last = Date.now();
  constructor(
    private readonly logger: Logger,
    private readonly msg: string,
    private readonly intervalMs: number,
  ) {}

  add(n: number, summary: () => LogFields): void {
    this.#count += n;
    const now = Date.now();
    if (now - this.#last >= this.intervalMs) this.flush(summary(), now);
  }

  flush(fields: LogFields = {}, now = Date.now()): void {
    if (this.#count > 0) this.logger.info(this.msg, { count: this.#count, ...fields });
    this.#count = 0;
    this.#last = now;
  }
}
