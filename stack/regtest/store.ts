/**
 * Append-only block store in `<datadir>/regtest/blocks.dat`. Records:
 * 1 byte kind, 4 bytes little-endian length, payload. Kinds: "B" a block
 * that passed every check short of connecting, "C" a 32-byte block hash that
 * connected (fees and spends verified), "X" a block hash found invalid when
 * connecting. The index is rebuilt from these records at start; a torn last
 * record (crash mid-write) is cut off.
 */

export type StoreRecord =
  | { kind: "B"; data: Uint8Array }
  | { kind: "C"; hash: Uint8Array }
  | { kind: "X"; hash: Uint8Array };

const KIND_CODES: Record<StoreRecord["kind"], number> = { B: 0x42, C: 0x43, X: 0x58 };

export class BlockStore {
  private constructor(private readonly file: Deno.FsFile, public size: number) {}

  /** Opens (creating) the store and returns it with every intact record. */
  static async open(path: string): Promise<{ store: BlockStore; records: StoreRecord[] }> {
    const bytes = await Deno.readFile(path).catch((e) => {
      if (e instanceof Deno.errors.NotFound) return new Uint8Array(0);
      throw e;
    });
    const records: StoreRecord[] = [];
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let off = 0;
    while (off + 5 <= bytes.length) {
      const code = bytes[off];
      const len = view.getUint32(off + 1, true);
      if (off + 5 + len > bytes.length) break;
      const payload = bytes.slice(off + 5, off + 5 + len);
      if (code === KIND_CODES.B) records.push({ kind: "B", data: payload });
      else if (code === KIND_CODES.C && len === 32) records.push({ kind: "C", hash: payload });
      else if (code === KIND_CODES.X && len === 32) records.push({ kind: "X", hash: payload });
      else break;
      off += 5 + len;
    }
    const file = await Deno.open(path, { read: true, write: true, create: true });
    if (off < bytes.length) await file.truncate(off);
    await file.seek(off, Deno.SeekMode.Start);
    return { store: new BlockStore(file, off), records };
  }

  /** Appends a record; writes are synchronous so records never interleave. */
  append(record: StoreRecord): void {
    const payload = record.kind === "B" ? record.data : record.hash;
    const buf = new Uint8Array(5 + payload.length);
    buf[0] = KIND_CODES[record.kind];
    new DataView(buf.buffer).setUint32(1, payload.length, true);
    buf.set(payload, 5);
    let written = 0;
    while (written < buf.length) written += this.file.writeSync(buf.subarray(written));
    this.size += buf.length;
  }

  close(): void {
    try {
      this.file.syncSync();
    } catch {
      // closing anyway
    }
    this.file.close();
  }
}
