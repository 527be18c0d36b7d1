/**
 * A small in-process Stratum V1 server that validates shares for real, used
 * to test the client and the CPU miner without the engine. It is not a pool:
 * one job at a time (plus the ones before it until a clean job), no vardiff.
 */

import {
  fromHex,
  hashToBigInt,
  sha256d,
  targetFromBits,
  targetFromDifficulty,
  toHex,
} from "../../lib/bitcoin/mod.ts";
import { prevhashToStratum, u32Hex } from "../../lib/stratum/encoding.ts";
import { headerFor, type Job, parseNotify } from "../../lib/stratum/job.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const SERVER_MASK = 0x1fffe000;
const MAX_LINE = 16 * 1024;

interface Session {
  conn: Deno.TcpConn;
  extranonce1: Uint8Array;
  subscribed: boolean;
  authorized: Set<string>;
  versionMask: number;
  difficulty: number;
  /** Writes are chained so lines never interleave. */
  writing: Promise<void>;
}

export interface FakePoolOptions {
  difficulty?: number;
  /** nbits of the jobs; default 1d00ffff (difficulty 1, so test shares are not blocks). */
  bits?: number;
  /** Methods the pool reads but never answers, to test client timeouts. */
  silentMethods?: string[];
}

export class FakePool {
  readonly port: number;
  /** Accepted and rejected submits, in order. */
  readonly submits: { accepted: boolean; code?: number; block: boolean }[] = [];
  /** Raw lines that were not valid JSON-RPC. */
  readonly malformed: string[] = [];
  #listener: Deno.TcpListener;
  #sessions = new Set<Session>();
  #jobs = new Map<string, Job>();
  #seen = new Set<string>();
  #jobCounter = 0;
  #en1Counter = 0;
  #options: Required<FakePoolOptions>;
  #tasks = new Set<Promise<void>>();
  #accepting: Promise<void>;

  constructor(options: FakePoolOptions = {}) {
    this.#options = {
      difficulty: options.difficulty ?? 1e-6,
      bits: options.bits ?? 0x1d00ffff,
      silentMethods: options.silentMethods ?? [],
    };
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.port = (this.#listener.addr as Deno.NetAddr).port;
    this.newJob(true);
    this.#accepting = this.#accept();
  }

  /** Number of connected clients. */
  get connections(): number {
    return this.#sessions.size;
  }

  /** Makes a new job (new prevhash when `clean`) and sends it to authorized clients. */
  newJob(clean: boolean): Job {
    const id = (++this.#jobCounter).toString(16).padStart(16, "0");
    const previous = [...this.#jobs.values()].at(-1);
    const prevhash = clean || !previous
      ? sha256d(new Uint8Array([this.#jobCounter, 1]))
      : previous.prevhash;
    const params: unknown[] = [
      id,
      prevhashToStratum(prevhash),
      "01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff0e03" +
      u32Hex(this.#jobCounter).slice(2),
      "ffffffff0100f2052a01000000160014" + "ab".repeat(20) + "00000000",
      [toHex(sha256d(new Uint8Array([this.#jobCounter, 2])))],
      "20000000",
      u32Hex(this.#options.bits),
      u32Hex(Math.floor(Date.now() / 1000)),
      clean,
    ];
    const job = parseNotify(params);
    if (clean) this.#jobs.clear();
    this.#jobs.set(id, job);
    for (const s of this.#sessions) {
      if (s.authorized.size > 0) this.#send(s, { id: null, method: "mining.notify", params });
    }
    return job;
  }

  /** Sends `mining.set_difficulty` to every client and applies it to later shares. */
  setDifficulty(difficulty: number): void {
    this.#options.difficulty = difficulty;
    for (const s of this.#sessions) {
      s.difficulty = difficulty;
      this.#send(s, { id: null, method: "mining.set_difficulty", params: [difficulty] });
    }
  }

  /** Sends an arbitrary line to every client (may be invalid on purpose). */
  broadcastRaw(line: string): void {
    for (const s of this.#sessions) this.#write(s, encoder.encode(line));
  }

  /** Drops every client connection. */
  disconnectAll(): void {
    for (const s of this.#sessions) this.#drop(s);
  }

  async close(): Promise<void> {
    this.#listener.close();
    this.disconnectAll();
    await this.#accepting;
    await Promise.all([...this.#tasks]);
  }

  async #accept(): Promise<void> {
    try {
      for await (const conn of this.#listener) {
        const session: Session = {
          conn,
          extranonce1: fromHex(u32Hex(0xf0000000 + ++this.#en1Counter)),
          subscribed: false,
          authorized: new Set(),
          versionMask: 0,
          difficulty: this.#options.difficulty,
          writing: Promise.resolve(),
        };
        this.#sessions.add(session);
        const task = this.#serve(session).finally(() => this.#tasks.delete(task));
        this.#tasks.add(task);
      }
    } catch {
      // listener closed
    }
  }

  async #serve(s: Session): Promise<void> {
    const chunk = new Uint8Array(16 * 1024);
    let pending = "";
    try {
      while (true) {
        const n = await s.conn.read(chunk);
        if (n === null) break;
        pending += decoder.decode(chunk.subarray(0, n));
        let newline: number;
        while ((newline = pending.indexOf("\n")) >= 0) {
          this.#handle(s, pending.slice(0, newline));
          pending = pending.slice(newline + 1);
        }
        if (pending.length > MAX_LINE) break;
      }
    } catch {
      // connection reset or closed by us
    }
    this.#drop(s);
    await s.writing;
  }

  #handle(s: Session, line: string): void {
    let msg: { id?: unknown; method?: unknown; params?: unknown };
    try {
      msg = JSON.parse(line);
      if (typeof msg !== "object" || msg === null || typeof msg.method !== "string") throw 0;
    } catch {
      this.malformed.push(line);
      this.#send(s, { id: null, result: null, error: [20, "malformed request", null] });
      return;
    }
    const id = msg.id ?? null;
    const params = Array.isArray(msg.params) ? msg.params : [];
    const method = msg.method as string;
    if (this.#options.silentMethods.includes(method)) return;
    const reply = (result: unknown, error: unknown = null) => this.#send(s, { id, result, error });
    switch (method) {
      case "mining.subscribe":
        s.subscribed = true;
        return reply([[["mining.notify", "fake"]], toHex(s.extranonce1), 4]);
      case "mining.authorize": {
        const user = String(params[0] ?? "");
        if (user.startsWith("bad")) return reply(false, [24, "unauthorized worker", null]);
        const first = s.authorized.size === 0;
        s.authorized.add(user);
        reply(true);
        if (first) {
          this.#send(s, { id: null, method: "mining.set_difficulty", params: [s.difficulty] });
          const job = [...this.#jobs.values()].at(-1)!;
          this.#send(s, { id: null, method: "mining.notify", params: job.raw });
        }
        return;
      }
      case "mining.configure": {
        const ext = (params[1] ?? {}) as Record<string, unknown>;
        s.versionMask = (parseInt(String(ext["version-rolling.mask"] ?? "0"), 16) & SERVER_MASK) >>>
          0;
        return reply({ "version-rolling": true, "version-rolling.mask": u32Hex(s.versionMask) });
      }
      case "mining.suggest_difficulty":
        return; // answered by a later set_difficulty, like many pools: no reply
      case "mining.submit":
        return this.#submit(s, params, reply);
      default:
        return reply(null, [20, `unknown method ${method}`, null]);
    }
  }

  #submit(s: Session, params: unknown[], reply: (r: unknown, e?: unknown) => void): void {
    const reject = (code: number, message: string) => {
      this.submits.push({ accepted: false, code, block: false });
      reply(null, [code, message, null]);
    };
    if (!s.subscribed) return reject(25, "not subscribed");
    const [worker, jobId, en2, ntime, nonce, vbits] = params.map(String);
    if (!s.authorized.has(worker)) return reject(24, "unauthorized worker");
    const job = this.#jobs.get(jobId);
    if (!job) return reject(21, "job not found");
    const key = [jobId, toHex(s.extranonce1), en2, ntime, nonce, vbits].join(":");
    if (this.#seen.has(key)) return reject(22, "duplicate share");
    const bits = params[5] === undefined ? 0 : parseInt(vbits, 16) >>> 0;
    if ((bits & ~s.versionMask) !== 0) return reject(20, "version bits outside the mask");
    const header = headerFor(job, {
      extranonce1: s.extranonce1,
      extranonce2: fromHex(en2),
      ntime: parseInt(ntime, 16),
      nonce: parseInt(nonce, 16) >>> 0,
      version: ((job.version & ~s.versionMask) | bits) >>> 0,
    });
    const hash = hashToBigInt(sha256d(header));
    if (hash > targetFromDifficulty(s.difficulty)) return reject(23, "low difficulty share");
    this.#seen.add(key);
    this.submits.push({ accepted: true, block: hash <= targetFromBits(job.bits) });
    reply(true);
  }

  #send(s: Session, message: unknown): void {
    this.#write(s, encoder.encode(JSON.stringify(message) + "\n"));
  }

  #write(s: Session, bytes: Uint8Array): void {
    s.writing = s.writing.then(async () => {
      let offset = 0;
      while (offset < bytes.length) offset += await s.conn.write(bytes.subarray(offset));
    }).catch(() => this.#drop(s));
  }

  #drop(s: Session): void {
    if (!this.#sessions.delete(s)) return;
    try {
      s.conn.close();
    } catch {
      // already closed
    }
  }
}
