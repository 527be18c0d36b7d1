/**
 * The publisher's durable spool: an append-only log of events in segment files
 * plus a committed offset below which everything has been acknowledged by
 * JetStream.
 *
 * Layout of the spool directory:
 *   seg-<start offset, 20 digits>.log   records, back to back
 *   committed                           decimal offset, replaced atomically (tmp, fsync, rename)
 *
 * Offsets are positions in the concatenation of all segments. A record is
 * `u32be body length | u16be meta length | meta | payload`, meta being
 * `subject "\n" msg id` in UTF-8. `append` writes a whole batch with one write
 * and (with fsync on) one fdatasync: group commit. After a crash the tail of
 * the last segment is scanned and a torn record is cut off.
 *
 * Appended records also stay in memory (spool_cache.ts) until acknowledged,
 * so the forwarder normally never reads the files back; it does after a
 * restart, or when the cache bound is exceeded.
 */

import { SpoolCache } from "./spool_cache.ts";
import type { SpoolEntry, SpoolRecord } from "./spool_record.ts";

// Re-exported so callers keep importing the spool's types from the spool.
export type { SpoolEntry, SpoolRecord };

export interface SpoolOptions {
  /** Refuse records that would take the spool's disk use beyond this. */
  maxBytes: number;
  /** Start a new segment when the active one would exceed this. */
  segmentBytes: number;
  /** fdatasync after each appended batch (true) or leave it to the OS (false). */
  fsync: boolean;
  /** Write the committed offset at most this often (ms). */
  commitIntervalMs: number;
  /** Keep up to this many appended bytes in memory for the forwarder (default 64 MiB). */
  cacheBytes?: number;
}

export interface AppendResult {
  accepted: number;
  /** Entries refused because the spool is full (from the end of the batch). */
  refused: SpoolEntry[];
}

interface Segment {
  start: number;
  path: string;
}

const HEADER = 6;
const SEGMENT_NAME = /^seg-(\d{20})\.log$/;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function segmentName(start: number): string {
  return `seg-${String(start).padStart(20, "0")}.log`;
}

async function fsyncDir(dir: string): Promise<void> {
  const handle = await Deno.open(dir, { read: true });
  try {
    await handle.sync();
  } finally {
    handle.close();
  }
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await file.write(bytes.subarray(written));
}

async function readAt(path: string, position: number, length: number): Promise<Uint8Array> {
  const file = await Deno.open(path, { read: true });
  try {
    await file.seek(position, Deno.SeekMode.Start);
    const buf = new Uint8Array(length);
    let filled = 0;
    while (filled < length) {
      const n = await file.read(buf.subarray(filled));
      if (n === null) break;
      filled += n;
    }
    return buf.subarray(0, filled);
  } finally {
    file.close();
  }
}

function encodeMeta(entry: SpoolEntry): Uint8Array {
  return encoder.encode(`${entry.subject}\n${entry.msgId}`);
}

/** Encodes entries (with their encoded metas, when known) into one buffer of records. */
export function encodeRecords(
  entries: SpoolEntry[],
  metas: Uint8Array[] = entries.map(encodeMeta),
): Uint8Array {
  let size = 0;
  for (let i = 0; i < entries.length; i++) {
    size += HEADER + metas[i].length + entries[i].payload.length;
  }
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let pos = 0;
  for (let i = 0; i < entries.length; i++) {
    const meta = metas[i];
    const payload = entries[i].payload;
    view.setUint32(pos, 2 + meta.length + payload.length);
    view.setUint16(pos + 4, meta.length);
    out.set(meta, pos + HEADER);
    out.set(payload, pos + HEADER + meta.length);
    pos += HEADER + meta.length + payload.length;
  }
  return out;
}

/** Decodes the complete records at the start of `bytes`; `base` is the offset of bytes[0]. */
export function decodeRecords(bytes: Uint8Array, base: number): SpoolRecord[] {
  const records: SpoolRecord[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;
  while (pos + HEADER <= bytes.length) {
    const body = view.getUint32(pos);
    const metaLen = view.getUint16(pos + 4);
    if (body < 2 + metaLen || pos + 4 + body > bytes.length) break;
    const meta = decoder.decode(bytes.subarray(pos + HEADER, pos + HEADER + metaLen));
    const nl = meta.indexOf("\n");
    if (nl < 0) break;
    records.push({
      subject: meta.slice(0, nl),
      msgId: meta.slice(nl + 1),
      payload: bytes.subarray(pos + HEADER + metaLen, pos + 4 + body),
      offset: base + pos,
      next: base + pos + 4 + body,
    });
    pos += 4 + body;
  }
  return records;
}

export class Spool {
  #segments: Segment[] = [];
  #active!: Deno.FsFile;
  #writeEnd = 0;
  #committed = 0;
  #persisted = 0;
  #commitTimer: ReturnType<typeof setTimeout> | undefined;
  #commitWrite: Promise<void> = Promise.resolve();
  #commitError: Error | undefined;
  #waiters: Array<() => void> = [];
  #appendChain: Promise<unknown> = Promise.resolve();
  #closed = false;
  #cache: SpoolCache;

  private constructor(readonly dir: string, readonly options: SpoolOptions) {
    this.#cache = new SpoolCache(options.cacheBytes ?? 64 << 20);
  }

  /** Opens (creating or recovering) the spool in `dir`. */
  static async open(dir: string, options: SpoolOptions): Promise<Spool> {
    if (options.segmentBytes * 2 > options.maxBytes) {
      // With one segment able to fill the spool, a fully acknowledged active
      // segment could be all the disk use; two fit so the next one can start.
      throw new Error("spool: segmentBytes must not exceed maxBytes / 2");
    }
    const spool = new Spool(dir, options);
    await Deno.mkdir(dir, { recursive: true });
    await spool.#recover();
    return spool;
  }

  async #recover(): Promise<void> {
    const segments: Segment[] = [];
    for await (const entry of Deno.readDir(this.dir)) {
      const match = entry.isFile ? SEGMENT_NAME.exec(entry.name) : null;
      if (match) segments.push({ start: Number(match[1]), path: `${this.dir}/${entry.name}` });
    }
    segments.sort((a, b) => a.start - b.start);
    let committed = segments.length > 0 ? segments[0].start : 0;
    try {
      const text = (await Deno.readTextFile(`${this.dir}/committed`)).trim();
      if (!/^\d+$/.test(text)) {
        throw new Error(`spool: ${this.dir}/committed is corrupt: '${text}'`);
      }
      committed = Math.max(committed, Number(text));
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    if (segments.length === 0) {
      segments.push({ start: committed, path: `${this.dir}/${segmentName(committed)}` });
      await Deno.writeFile(segments[0].path, new Uint8Array());
      await fsyncDir(this.dir);
    }
    const last = segments[segments.length - 1];
    const size = (await Deno.stat(last.path)).size;
    const valid = await this.#validLength(last.path, size);
    if (valid < size) await Deno.truncate(last.path, valid);
    this.#segments = segments;
    this.#writeEnd = last.start + valid;
    this.#committed = Math.min(Math.max(committed, segments[0].start), this.#writeEnd);
    this.#persisted = this.#committed;
    this.#active = await Deno.open(last.path, { write: true, append: true });
    await this.#dropAckedSegments();
  }

  async #validLength(path: string, size: number): Promise<number> {
    let pos = 0;
    const chunk = 4 << 20;
    while (pos < size) {
      const bytes = await readAt(path, pos, Math.min(chunk, size - pos));
      const records = decodeRecords(bytes, pos);
      if (records.length === 0) {
        // Either a torn tail or a record larger than the chunk.
        if (bytes.length < HEADER) return pos;
        const body = new DataView(bytes.buffer, bytes.byteOffset).getUint32(0);
        if (pos + 4 + body > size || body <= bytes.length) return pos;
        const whole = await readAt(path, pos, 4 + body);
        if (decodeRecords(whole, pos).length !== 1) return pos;
        pos += 4 + body;
        continue;
      }
      pos = records[records.length - 1].next;
      if (bytes.length < chunk) return pos;
    }
    return pos;
  }

  /** Offset past the last durable record. */
  get writeEnd(): number {
    return this.#writeEnd;
  }

  /** Offset below which every record is acknowledged. */
  get committed(): number {
    return this.#committed;
  }

  /** Bytes not yet acknowledged. */
  get backlogBytes(): number {
    return this.#writeEnd - this.#committed;
  }

  /** Bytes the segments take on disk. */
  get diskBytes(): number {
    return this.#writeEnd - this.#segments[0].start;
  }

  get fillRatio(): number {
    return this.diskBytes / this.options.maxBytes;
  }

  /**
   * Appends entries durably (one write, one fdatasync) and only then makes
   * them visible to readers. Entries beyond `maxBytes` are refused.
   */
  append(entries: SpoolEntry[]): Promise<AppendResult> {
    const run = this.#appendChain.then(() => this.#append(entries));
    this.#appendChain = run.catch(() => {});
    return run;
  }

  async #append(entries: SpoolEntry[]): Promise<AppendResult> {
    if (this.#closed) throw new Error("spool: closed");
    let { accepted, bytes, metas } = this.#fit(entries);
    if (accepted < entries.length && (await this.#reclaim())) {
      ({ accepted, bytes, metas } = this.#fit(entries));
    }
    const refused = entries.slice(accepted);
    if (accepted === 0) return { accepted, refused };
    const activeStart = this.#segments[this.#segments.length - 1].start;
    if (
      this.#writeEnd > activeStart &&
      this.#writeEnd - activeStart + bytes > this.options.segmentBytes
    ) {
      await this.#roll();
    }
    const encoded = encodeRecords(entries.slice(0, accepted), metas);
    await writeAll(this.#active, encoded);
    if (this.options.fsync) await this.#active.syncData();
    const records: SpoolRecord[] = new Array(accepted);
    let offset = this.#writeEnd;
    for (let i = 0; i < accepted; i++) {
      const next = offset + HEADER + metas[i].length + entries[i].payload.length;
      records[i] = { ...entries[i], offset, next };
      offset = next;
    }
    this.#cache.add(records);
    this.#writeEnd += encoded.length;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
    return { accepted, refused };
  }

  /** How many of `entries` (from the start) fit in the room left under maxBytes. */
  #fit(entries: SpoolEntry[]): { accepted: number; bytes: number; metas: Uint8Array[] } {
    const room = this.options.maxBytes - this.diskBytes;
    let accepted = 0;
    let bytes = 0;
    const metas: Uint8Array[] = [];
    while (accepted < entries.length) {
      const e = entries[accepted];
      const meta = encodeMeta(e);
      const size = HEADER + meta.length + e.payload.length;
      if (bytes + size > room) break;
      metas.push(meta);
      bytes += size;
      accepted++;
    }
    return { accepted, bytes, metas };
  }

  /**
   * Frees acknowledged disk space before refusing: persists the committed
   * offset now (dropping acked segments) and, when even the active segment is
   * fully acknowledged, starts a new one so the old can go. True if it freed any.
   */
  async #reclaim(): Promise<boolean> {
    const before = this.diskBytes;
    try {
      await this.flushCommit();
      const activeStart = this.#segments[this.#segments.length - 1].start;
      if (this.#committed >= this.#writeEnd && this.#writeEnd > activeStart) {
        await this.#roll();
        await this.#serialCommitWrite(() => this.#dropAckedSegments());
      }
    } catch {
      // The disk may be the reason the spool is full: refuse this time, retry next append.
    }
    return this.diskBytes < before;
  }

  async #roll(): Promise<void> {
    if (this.options.fsync) await this.#active.syncData();
    this.#active.close();
    const segment = { start: this.#writeEnd, path: `${this.dir}/${segmentName(this.#writeEnd)}` };
    this.#active = await Deno.open(segment.path, { write: true, create: true, append: true });
    this.#segments.push(segment);
    if (this.options.fsync) await fsyncDir(this.dir);
  }

  /** Resolves once `writeEnd` is beyond `offset` (or the spool closes, or `signal` aborts). */
  waitForData(offset: number, signal?: AbortSignal): Promise<void> {
    if (this.#writeEnd > offset || this.#closed || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        signal?.removeEventListener("abort", done);
        resolve();
      };
      this.#waiters.push(done);
      signal?.addEventListener("abort", done, { once: true });
    });
  }

  /** Reads whole records from `offset` up to about `maxBytes` (at least one record if any). */
  async read(offset: number, maxBytes: number): Promise<SpoolRecord[]> {
    if (offset >= this.#writeEnd) return [];
    const cached = this.#cache.read(offset, maxBytes);
    if (cached !== undefined) return cached;
    const index = this.#segmentIndex(offset);
    const segment = this.#segments[index];
    const end = index + 1 < this.#segments.length
      ? this.#segments[index + 1].start
      : this.#writeEnd;
    if (offset >= end) return this.read(end, maxBytes);
    let length = Math.min(maxBytes, end - offset);
    let bytes = await readAt(segment.path, offset - segment.start, length);
    let records = decodeRecords(bytes, offset);
    if (records.length === 0 && bytes.length >= 4) {
      length = 4 + new DataView(bytes.buffer, bytes.byteOffset).getUint32(0);
      bytes = await readAt(segment.path, offset - segment.start, length);
      records = decodeRecords(bytes, offset);
    }
    if (records.length === 0) throw new Error(`spool: unreadable record at offset ${offset}`);
    return records;
  }

  #segmentIndex(offset: number): number {
    let index = this.#segments.length - 1;
    while (index > 0 && this.#segments[index].start > offset) index--;
    if (offset < this.#segments[0].start) {
      throw new Error(`spool: offset ${offset} is below the oldest segment`);
    }
    return index;
  }

  /** Marks everything below `offset` acknowledged; persisted within commitIntervalMs. */
  commit(offset: number): void {
    if (offset <= this.#committed) return;
    if (offset > this.#writeEnd) throw new Error(`spool: commit ${offset} beyond end`);
    this.#committed = offset;
    this.#cache.release(offset);
    this.#scheduleCommit(this.options.commitIntervalMs);
  }

  /**
   * The last failure persisting the committed offset (e.g. disk full), until a
   * later write succeeds; the timer keeps retrying meanwhile.
   */
  get commitError(): Error | undefined {
    return this.#commitError;
  }

  #scheduleCommit(delayMs: number): void {
    if (this.#commitTimer !== undefined || this.#closed) return;
    this.#commitTimer = setTimeout(() => {
      this.#commitTimer = undefined;
      this.flushCommit().catch(() => {
        // Recorded in commitError by flushCommit; try again later.
        this.#scheduleCommit(Math.max(this.options.commitIntervalMs, 1_000));
      });
    }, delayMs);
  }

  /** Runs `fn` after any commit write in progress (whether that failed or not). */
  #serialCommitWrite(fn: () => Promise<void>): Promise<void> {
    const run = this.#commitWrite.catch(() => {}).then(fn);
    this.#commitWrite = run;
    return run;
  }

  /** Writes the committed offset now (tmp file, fsync, rename) and drops acked segments. */
  flushCommit(): Promise<void> {
    return this.#serialCommitWrite(async () => {
      const offset = this.#committed;
      if (offset === this.#persisted) return;
      const tmp = `${this.dir}/committed.tmp`;
      const file = await Deno.open(tmp, { write: true, create: true, truncate: true });
      try {
        await writeAll(file, encoder.encode(`${offset}\n`));
        await file.syncData();
      } finally {
        file.close();
      }
      await Deno.rename(tmp, `${this.dir}/committed`);
      if (this.options.fsync) await fsyncDir(this.dir);
      this.#persisted = offset;
      await this.#dropAckedSegments();
    }).then(
      () => {
        this.#commitError = undefined;
      },
      (error) => {
        this.#commitError = error instanceof Error ? error : new Error(String(error));
        throw error;
      },
    );
  }

  async #dropAckedSegments(): Promise<void> {
    while (this.#segments.length > 1 && this.#segments[1].start <= this.#persisted) {
      const [old] = this.#segments.splice(0, 1);
      await Deno.remove(old.path).catch((error) => {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      });
    }
  }

  /** Persists the committed offset and closes the active segment. */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.#appendChain;
    this.#closed = true;
    clearTimeout(this.#commitTimer);
    this.#commitTimer = undefined;
    await this.flushCommit();
    this.#cache.clear();
    this.#active.close();
    for (const wake of this.#waiters.splice(0)) wake();
  }
}
