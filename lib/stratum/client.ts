/**
 * A Stratum V1 client over TCP for tests, demos and the CPU miner.
 *
 * Newline-delimited JSON-RPC: requests carry increasing numeric ids and are
 * matched to responses; everything with a `method` from the server is a
 * notification and is kept in `notifications`. Stratum errors are returned,
 * not thrown, so tests can assert the codes (20 other, 21 job not found,
 * 22 duplicate, 23 low difficulty, 24 unauthorized, 25 not subscribed).
 * Timeouts and disconnects reject.
 */

import { type Job, parseNotify } from "./job.ts";
import { fromHex } from "../bitcoin/mod.ts";

/** A JSON-RPC response as received. */
export interface StratumResponse {
  id: number | string | null;
  result: unknown;
  error: unknown;
}

/** A Stratum error normalized from `[code, message, data]` or `{code, message}`. */
export interface StratumError {
  code: number;
  message: string;
}

/** The outcome of a request whose Stratum-level failure is data, not an exception. */
export interface CallResult {
  result: unknown;
  error: StratumError | null;
}

/** A server-initiated message (`mining.notify`, `client.reconnect`, ...). */
export interface Notification {
  method: string;
  params: unknown[];
  /** Non-null when the server sent it as a request expecting an answer. */
  id: number | string | null;
  receivedAt: number;
}

/** What `mining.subscribe` returned. */
export interface Subscription {
  subscriptions: unknown;
  extranonce1: string;
  extranonce2Size: number;
}

export interface ClientOptions {
  hostname?: string;
  port: number;
  /** Default for awaiting a response, ms. */
  timeoutMs?: number;
  /** A line longer than this (bytes, without newline) closes the connection. */
  maxLineBytes?: number;
}

/** Why the connection ended. */
export interface CloseInfo {
  /** "server" (EOF or reset), "client" (close()), "line-too-long". */
  by: "server" | "client" | "line-too-long";
  detail?: string;
}

type Waiter = { match: (n: Notification) => boolean; resolve: (n: Notification) => void };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Normalizes the `error` member of a response; null when there is none. */
export function normalizeError(error: unknown): StratumError | null {
  if (error === null || error === undefined || error === false) return null;
  if (Array.isArray(error)) {
    return { code: Number(error[0]), message: String(error[1] ?? "") };
  }
  if (typeof error === "object") {
    const e = error as { code?: unknown; message?: unknown };
    return { code: Number(e.code), message: String(e.message ?? "") };
  }
  return { code: 20, message: String(error) };
}

export class StratumClient {
  /** Every notification received, oldest first. */
  readonly notifications: Notification[] = [];
  /** Lines that were not JSON, or responses to no pending request. */
  readonly unexpected: string[] = [];
  /** Resolves once when the connection ends, whoever ended it. */
  readonly closed: Promise<CloseInfo>;

  extranonce1 = "";
  extranonce2Size = 0;
  /** Latest `mining.set_difficulty`; NaN until one arrives. */
  currentDifficulty = NaN;
  /** Mask granted by `mining.configure` or `mining.set_version_mask`; 0 when none. */
  versionMask = 0;
  /** Latest job received. */
  currentJob: Job | null = null;

  #conn: Deno.TcpConn;
  #timeoutMs: number;
  #maxLineBytes: number;
  #nextId = 1;
  #pending = new Map<number, (r: StratumResponse) => void>();
  #waiters = new Set<Waiter>();
  #listeners = new Set<(n: Notification) => void>();
  #notifyCursor = 0;
  #writing: Promise<void> = Promise.resolve();
  #isClosed = false;
  #closeInfo: CloseInfo | null = null;
  #resolveClosed!: (info: CloseInfo) => void;
  #readLoop: Promise<void>;

  private constructor(conn: Deno.TcpConn, options: ClientOptions) {
    this.#conn = conn;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#maxLineBytes = options.maxLineBytes ?? 256 * 1024;
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    this.#readLoop = this.#read();
  }

  /** Opens a TCP connection to the server. */
  static async connect(options: ClientOptions): Promise<StratumClient> {
    const conn = await Deno.connect({
      hostname: options.hostname ?? "127.0.0.1",
      port: options.port,
    });
    conn.setNoDelay(true);
    return new StratumClient(conn, options);
  }

  /** Parses `stratum+tcp://host:port` (or `host:port`) into connect options. */
  static parseUrl(url: string): { hostname: string; port: number } {
    const match = /^(?:stratum\+tcp:\/\/)?\[?([^\]/]+?)\]?:(\d+)\/?$/.exec(url);
    if (!match) throw new Error(`url: expected stratum+tcp://host:port, got ${url}`);
    const port = Number(match[2]);
    if (port < 1 || port > 65535) throw new Error(`url: port must be 1-65535, got ${port}`);
    return { hostname: match[1], port };
  }

  /** True once the connection has ended. */
  get isClosed(): boolean {
    return this.#isClosed;
  }

  /** Sends a request and awaits its response; rejects on timeout or disconnect. */
  async request(method: string, params: unknown[], timeoutMs = this.#timeoutMs) {
    const id = this.#nextId++;
    const response = new Promise<StratumResponse>((resolve) => this.#pending.set(id, resolve));
    await this.sendLine(JSON.stringify({ id, method, params }));
    return await this.#withTimeout(
      response,
      timeoutMs,
      `response to ${method} (id ${id})`,
      () => this.#pending.delete(id),
    );
  }

  /** A request whose Stratum error is returned, not thrown. */
  async call(method: string, params: unknown[], timeoutMs?: number): Promise<CallResult> {
    const response = await this.request(method, params, timeoutMs);
    return { result: response.result, error: normalizeError(response.error) };
  }

  /** Sends a request without awaiting the response (which lands in `unexpected`). */
  async notify(method: string, params: unknown[]): Promise<void> {
    await this.sendLine(JSON.stringify({ id: this.#nextId++, method, params }));
  }

  /** `mining.subscribe`; records extranonce1 and extranonce2 size; throws on error. */
  async subscribe(userAgent?: string, sessionId?: string): Promise<Subscription> {
    const params: unknown[] = [];
    if (userAgent !== undefined) params.push(userAgent);
    if (sessionId !== undefined) params.push(sessionId);
    const { result, error } = await this.call("mining.subscribe", params);
    if (error) throw new Error(`mining.subscribe failed: ${error.code} ${error.message}`);
    if (!Array.isArray(result) || result.length < 3) {
      throw new Error(`mining.subscribe: malformed result ${JSON.stringify(result)}`);
    }
    const [subscriptions, extranonce1, extranonce2Size] = result;
    if (typeof extranonce1 !== "string" || typeof extranonce2Size !== "number") {
      throw new Error(`mining.subscribe: malformed result ${JSON.stringify(result)}`);
    }
    fromHex(extranonce1);
    this.extranonce1 = extranonce1;
    this.extranonce2Size = extranonce2Size;
    return { subscriptions, extranonce1, extranonce2Size };
  }

  /** `mining.authorize`. */
  authorize(user: string, password = "x"): Promise<CallResult> {
    return this.call("mining.authorize", [user, password]);
  }

  /**
   * `mining.configure` (BIP 310). When the result grants version rolling,
   * `versionMask` takes the granted mask.
   */
  async configure(extensions: string[], params: Record<string, unknown>): Promise<CallResult> {
    const outcome = await this.call("mining.configure", [extensions, params]);
    const result = outcome.result as Record<string, unknown> | null;
    if (result && result["version-rolling"] === true) {
      const mask = result["version-rolling.mask"];
      if (typeof mask === "string") this.versionMask = parseInt(mask, 16) >>> 0;
    }
    return outcome;
  }

  /** `mining.configure` asking for version rolling with `mask` (hex, default BIP 310 bits). */
  configureVersionRolling(mask = "1fffe000", minBitCount = 2): Promise<CallResult> {
    return this.configure(["version-rolling"], {
      "version-rolling.mask": mask,
      "version-rolling.min-bit-count": minBitCount,
    });
  }

  /**
   * `mining.suggest_difficulty`. Servers may not answer it, so by default it
   * is sent without waiting; pass `awaitResponse` to wait for an answer.
   */
  async suggestDifficulty(difficulty: number, awaitResponse = false): Promise<CallResult | null> {
    if (!awaitResponse) {
      await this.notify("mining.suggest_difficulty", [difficulty]);
      return null;
    }
    return await this.call("mining.suggest_difficulty", [difficulty]);
  }

  /** `mining.extranonce.subscribe` (lets the server send `mining.set_extranonce`). */
  extranonceSubscribe(): Promise<CallResult> {
    return this.call("mining.extranonce.subscribe", []);
  }

  /** `mining.submit`; a rejection comes back in `error`, never as a throw. */
  submit(
    worker: string,
    jobId: string,
    extranonce2Hex: string,
    ntimeHex: string,
    nonceHex: string,
    versionBitsHex?: string,
  ): Promise<CallResult> {
    const params = [worker, jobId, extranonce2Hex, ntimeHex, nonceHex];
    if (versionBitsHex !== undefined) params.push(versionBitsHex);
    return this.call("mining.submit", params);
  }

  /**
   * Writes raw input: a string gets a trailing newline unless it has one; bytes
   * are written exactly as given (for malformed-input tests).
   */
  async sendLine(line: string | Uint8Array): Promise<void> {
    const bytes = typeof line === "string"
      ? encoder.encode(line.endsWith("\n") ? line : line + "\n")
      : line;
    const write = this.#writing.then(() => this.#writeAll(bytes));
    this.#writing = write.catch(() => {});
    await write;
  }

  /** The next `mining.notify` not yet returned by this method, as a job. */
  async nextNotify(timeoutMs = this.#timeoutMs): Promise<Job> {
    const notifies = () => this.notifications.filter((n) => n.method === "mining.notify");
    const seen = notifies();
    if (seen.length > this.#notifyCursor) return parseNotify(seen[this.#notifyCursor++].params);
    const cursor = this.#notifyCursor;
    const n = await this.waitForNotification(
      (candidate) =>
        candidate.method === "mining.notify" && notifies().indexOf(candidate) >= cursor,
      timeoutMs,
      "mining.notify",
    );
    this.#notifyCursor = notifies().indexOf(n) + 1;
    return parseNotify(n.params);
  }

  /**
   * The current job if it satisfies `predicate`, else the first later job
   * that does.
   */
  async waitForJob(predicate: (job: Job) => boolean, timeoutMs = this.#timeoutMs): Promise<Job> {
    if (this.currentJob && predicate(this.currentJob)) return this.currentJob;
    const n = await this.waitForNotification(
      (candidate) =>
        candidate.method === "mining.notify" && predicate(parseNotify(candidate.params)),
      timeoutMs,
      "a matching mining.notify",
    );
    return parseNotify(n.params);
  }

  /** The first notification from now on that satisfies `match`. */
  waitForNotification(
    match: (n: Notification) => boolean,
    timeoutMs = this.#timeoutMs,
    what = "notification",
  ): Promise<Notification> {
    let waiter: Waiter | undefined;
    const arrived = new Promise<Notification>((resolve) => {
      waiter = { match, resolve };
      this.#waiters.add(waiter);
    });
    return this.#withTimeout(arrived, timeoutMs, what, () => this.#waiters.delete(waiter!));
  }

  /** Calls `listener` for every later notification, in order; returns an unsubscribe function. */
  onNotification(listener: (n: Notification) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Closes the connection and waits for the reader to stop. */
  async close(): Promise<void> {
    this.#finish({ by: "client" });
    await this.#readLoop;
  }

  async #writeAll(bytes: Uint8Array): Promise<void> {
    if (this.#isClosed) throw new Error("stratum: connection closed");
    let offset = 0;
    while (offset < bytes.length) offset += await this.#conn.write(bytes.subarray(offset));
  }

  async #read(): Promise<void> {
    const chunk = new Uint8Array(64 * 1024);
    let buffered = new Uint8Array(0);
    try {
      while (!this.#isClosed) {
        const n = await this.#conn.read(chunk);
        if (n === null) break;
        const joined = new Uint8Array(buffered.length + n);
        joined.set(buffered);
        joined.set(chunk.subarray(0, n), buffered.length);
        let start = 0;
        for (let i = buffered.length; i < joined.length; i++) {
          if (joined[i] !== 0x0a) continue;
          this.#handleLine(decoder.decode(joined.subarray(start, i)));
          start = i + 1;
        }
        buffered = joined.slice(start);
        if (buffered.length > this.#maxLineBytes) {
          this.#finish({ by: "line-too-long", detail: `over ${this.#maxLineBytes} bytes` });
        }
      }
      this.#finish({ by: "server" });
    } catch (error) {
      this.#finish({
        by: "server",
        detail: error instanceof Error ? error.message : String(error),
      });
    }
  }

  #handleLine(line: string): void {
    if (line.trim() === "") return;
    let message: Record<string, unknown>;
    try {
      message = JSON.parse(line);
    } catch {
      this.unexpected.push(line);
      return;
    }
    if (typeof message !== "object" || message === null) {
      this.unexpected.push(line);
      return;
    }
    if (typeof message.method === "string") {
      this.#handleNotification({
        method: message.method,
        params: Array.isArray(message.params) ? message.params : [],
        id: (message.id ?? null) as number | string | null,
        receivedAt: Date.now(),
      });
      return;
    }
    const resolve = typeof message.id === "number" ? this.#pending.get(message.id) : undefined;
    if (!resolve) {
      this.unexpected.push(line);
      return;
    }
    this.#pending.delete(message.id as number);
    resolve({
      id: message.id as number,
      result: message.result ?? null,
      error: message.error ?? null,
    });
  }

  #handleNotification(n: Notification): void {
    // Update state before waiters run, so they see it.
    switch (n.method) {
      case "mining.notify":
        try {
          this.currentJob = parseNotify(n.params);
        } catch {
          this.unexpected.push(JSON.stringify(n.params));
        }
        break;
      case "mining.set_difficulty":
        if (typeof n.params[0] === "number") this.currentDifficulty = n.params[0];
        break;
      case "mining.set_version_mask":
        if (typeof n.params[0] === "string") this.versionMask = parseInt(n.params[0], 16) >>> 0;
        break;
      case "mining.set_extranonce":
        if (typeof n.params[0] === "string") this.extranonce1 = n.params[0];
        if (typeof n.params[1] === "number") this.extranonce2Size = n.params[1];
        break;
    }
    this.notifications.push(n);
    for (const listener of [...this.#listeners]) listener(n);
    for (const waiter of [...this.#waiters]) {
      if (waiter.match(n)) {
        this.#waiters.delete(waiter);
        waiter.resolve(n);
      }
    }
  }

  /** Races `promise` against a timeout and the connection ending. */
  #withTimeout<T>(promise: Promise<T>, ms: number, what: string, cancel: () => void): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const failure = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(
        () => reject(new Error(`stratum: timed out after ${ms} ms waiting for ${what}`)),
        ms,
      );
      this.closed.then((info) =>
        reject(new Error(`stratum: connection closed (${info.by}) while waiting for ${what}`))
      );
    });
    return Promise.race([promise, failure]).finally(() => {
      clearTimeout(timer);
      cancel();
    });
  }

  #finish(info: CloseInfo): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    this.#closeInfo = info;
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
    this.#resolveClosed(info);
  }

  /** Why the connection ended, or null while it is open. */
  get closeInfo(): CloseInfo | null {
    return this.#closeInfo;
  }
}
