/**
 * The spool's in-memory tail: the records of recent appends, kept after they
 * are durable so the forwarder takes them from memory instead of reading the
 * segment files back. The files stay the source of truth: whatever is not (or
 * no longer) cached is read from disk, as after a restart.
 *
 * Chunks are appended in offset order and dropped once acknowledged (below
 * the committed offset) or, oldest first, when the cache holds more than
 * `maxBytes` (the forwarder then reads those records from disk).
 */

import type { SpoolRecord } from "./spool_record.ts";

interface Chunk {
  start: number;
  end: number;
  records: SpoolRecord[];
}

export class SpoolCache {
  #chunks: Chunk[] = [];
  #head = 0;
  #bytes = 0;

  constructor(private readonly maxBytes: number) {}

  /** Adds the records of one append (contiguous, following any cached chunk). */
  add(records: SpoolRecord[]): void {
    if (records.length === 0 || this.maxBytes <= 0) return;
    const start = records[0].offset;
    const end = records[records.length - 1].next;
    const last = this.#chunks[this.#chunks.length - 1];
    if (last !== undefined && last.end !== start) this.clear();
    this.#chunks.push({ start, end, records });
    this.#bytes += end - start;
    while (this.#bytes > this.maxBytes && this.#head < this.#chunks.length) this.#dropHead();
  }

  /**
   * Records from `offset` on (whole records, about `maxBytes`, at least one),
   * or undefined when `offset` is not the start of a cached record.
   */
  read(offset: number, maxBytes: number): SpoolRecord[] | undefined {
    let i = this.#head;
    while (i < this.#chunks.length && this.#chunks[i].end <= offset) i++;
    if (i >= this.#chunks.length || this.#chunks[i].start > offset) return undefined;
    const out: SpoolRecord[] = [];
    let bytes = 0;
    for (; i < this.#chunks.length && bytes < maxBytes; i++) {
      const { records } = this.#chunks[i];
      let j = out.length === 0 ? indexOf(records, offset) : 0;
      if (j < 0) return undefined;
      for (; j < records.length && bytes < maxBytes; j++) {
        out.push(records[j]);
        bytes += records[j].next - records[j].offset;
      }
    }
    return out;
  }

  /** Drops every chunk wholly below `offset` (acknowledged). */
  release(offset: number): void {
    while (this.#head < this.#chunks.length && this.#chunks[this.#head].end <= offset) {
      this.#dropHead();
    }
  }

  clear(): void {
    this.#chunks = [];
    this.#head = 0;
    this.#bytes = 0;
  }

  #dropHead(): void {
    const chunk = this.#chunks[this.#head++];
    this.#bytes -= chunk.end - chunk.start;
    if (this.#head === this.#chunks.length) this.clear();
    else if (this.#head > 64) {
      this.#chunks.splice(0, this.#head);
      this.#head = 0;
    }
  }
}

/** Index of the record starting at `offset` (binary search), or -1. */
function indexOf(records: SpoolRecord[], offset: number): number {
  let lo = 0;
  let hi = records.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const at = records[mid].offset;
    if (at === offset) return mid;
    if (at < offset) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}
