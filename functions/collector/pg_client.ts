/**
 * The collector's PostgreSQL client, replaceable, and the one safety net for
 * a known postgres.js (3.4.x) fault.
 *
 * The fault: a query sent on a reserved (transaction) connection after its
 * socket closed is buffered and flushed from a `setImmediate` callback that
 * calls `socket.write` on the nulled socket. That throws
 * `TypeError: Cannot read properties of null (reading 'write')` outside any
 * promise, as an uncaught exception, and ends the process. migrate.ts no
 * longer triggers it (it never writes to a connection that failed), but a
 * dropped connection must not kill the collector in any path, so the guard
 * catches exactly this error (type, message and a stack inside postgres.js's
 * connection.js), logs it, and replaces the client: the connection object it
 * came from keeps the unsent bytes and a stale timer, and would fail every
 * later connect on it. Every other uncaught error still ends the process.
 */

import postgres, { type Sql } from "postgres";

/** True only for postgres.js's write on a closed socket (see the file comment). */
export function isClosedSocketWriteFault(error: unknown): boolean {
  if (!(error instanceof TypeError)) return false;
  if (!error.message.includes("reading 'write'")) return false;
  const stack = error.stack ?? "";
  return stack.includes("nextWrite") && /[\\/]postgres[\\/][^\n]*connection\.js/.test(stack);
}

/**
 * Calls `onFault` for each occurrence (which is then not reported as uncaught);
 * returns the function that removes the guard.
 */
export function installClosedSocketWriteGuard(onFault: (error: TypeError) => void): () => void {
  const listener = (event: ErrorEvent) => {
    if (!isClosedSocketWriteFault(event.error)) return;
    event.preventDefault();
    onFault(event.error as TypeError);
  };
  globalThis.addEventListener("error", listener);
  return () => globalThis.removeEventListener("error", listener);
}

/** A postgres.js client that can be swapped for a fresh one. */
export class PgClient {
  #sql: Sql;
  #replaced = 0;

  constructor(
    private readonly url: string,
    private readonly options: postgres.Options<Record<string, never>>,
  ) {
    this.#sql = postgres(url, options);
  }

  /** The current client: read it per use, never keep it. */
  get sql(): Sql {
    return this.#sql;
  }

  /** How many times the client was replaced. */
  get replaced(): number {
    return this.#replaced;
  }

  /** A fresh client takes over; the old one is destroyed (its queries fail and are retried). */
  replace(): void {
    const old = this.#sql;
    this.#sql = postgres(this.url, this.options);
    this.#replaced++;
    old.end({ timeout: 0 }).catch(() => {});
  }

  end(options?: { timeout?: number }): Promise<void> {
    return this.#sql.end(options);
  }
}
