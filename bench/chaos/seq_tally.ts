/**
 * One store's count of one boot's seqs, kept incrementally so a long chaos run
 * at thousands of events per second never rescans what it already counted.
 * Seqs 1..`countedTo` are settled: each was seen (stored, maybe more than
 * once) or is remembered as missing. Counting moves the line up with the
 * copies observed in the new range; a seq below the line that arrives later
 * (a redelivery filling a gap, or a second copy) is added with `late()`.
 * A boot's seqs start at 1 (docs/events.md).
 */

export interface TallyCount {
  /** Seqs at or below the line that no copy has reached. */
  lost: number;
  /** Copies beyond the first. */
  duplicated: number;
  /** Every copy seen at or below the line. */
  stored: number;
}

export class SeqTally {
  #countedTo = 0;
  #stored = 0;
  #duplicated = 0;
  readonly #missing = new Set<number>();

  get countedTo(): number {
    return this.#countedTo;
  }

  /** The seqs at or below the line still missing (to look for again). */
  missing(): number[] {
    return [...this.#missing];
  }

  count(): TallyCount {
    return { lost: this.#missing.size, duplicated: this.#duplicated, stored: this.#stored };
  }

  /**
   * Moves the line to `mark`; `copies(seq)` is how many copies the store
   * holds of each seq above the old line (0 or undefined: missing).
   */
  advance(mark: number, copies: (seq: number) => number | undefined): void {
    for (let seq = this.#countedTo + 1; seq <= mark; seq++) {
      const n = copies(seq) ?? 0;
      if (n > 0) this.#seen(n, false);
      else this.#missing.add(seq);
    }
    this.#countedTo = Math.max(this.#countedTo, mark);
  }

  /** `n` copies of a seq at or below the line that arrived after it was counted. */
  late(seq: number, n: number): void {
    if (n <= 0 || seq > this.#countedTo) return;
    this.#seen(n, !this.#missing.delete(seq));
  }

  #seen(n: number, alreadyStored: boolean): void {
    if (n <= 0) return;
    this.#stored += n;
    this.#duplicated += alreadyStored ? n : n - 1;
  }
}
