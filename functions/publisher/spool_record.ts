/**
 * The records the spool stores and hands out, shared by spool.ts (which
 * writes and reads them) and spool_cache.ts (which keeps recent ones in
 * memory). A leaf: it imports nothing, so neither of those imports the other
 * for a type.
 */

export interface SpoolEntry {
  subject: string;
  msgId: string;
  payload: Uint8Array;
}

export interface SpoolRecord extends SpoolEntry {
  /** Offset of the record's first byte. */
  offset: number;
  /** Offset just past the record. */
  next: number;
}
