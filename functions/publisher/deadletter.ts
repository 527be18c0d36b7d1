/**
 * Dead-letter file: one JSON line per refused datagram with the time, the
 * reason and the raw payload (as text when UTF-8, else base64). Bounded: past
 * `maxBytes` lines are no longer written, only counted by the caller.
 */

export interface DeadLetter {
  reason: string;
  payload: Uint8Array;
}

const decoder = new TextDecoder("utf-8", { fatal: true });
const encoder = new TextEncoder();

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/** One dead-letter line (without the newline). */
export function deadLetterLine(letter: DeadLetter, now: Date = new Date()): string {
  const record: Record<string, unknown> = { ts: now.toISOString(), reason: letter.reason };
  try {
    record.payload = decoder.decode(letter.payload);
  } catch {
    record.payload_base64 = toBase64(letter.payload);
  }
  return JSON.stringify(record);
}

export class DeadLetterFile {
  #size = 0;
  #file: Deno.FsFile | undefined;

  constructor(readonly path: string, readonly maxBytes: number) {}

  async open(): Promise<void> {
    const dir = this.path.replace(/\/[^/]*$/, "");
    if (dir !== this.path && dir !== "") await Deno.mkdir(dir, { recursive: true });
    this.#file = await Deno.open(this.path, { create: true, append: true });
    this.#size = (await this.#file.stat()).size;
  }

  /** Appends the letters that fit; returns how many were written. */
  async write(letters: DeadLetter[]): Promise<number> {
    if (!this.#file || letters.length === 0) return 0;
    const lines: string[] = [];
    let size = this.#size;
    for (const letter of letters) {
      const line = deadLetterLine(letter) + "\n";
      const bytes = encoder.encode(line).length;
      if (size + bytes > this.maxBytes) break;
      size += bytes;
      lines.push(line);
    }
    if (lines.length === 0) return 0;
    const data = encoder.encode(lines.join(""));
    let written = 0;
    while (written < data.length) written += await this.#file.write(data.subarray(written));
    this.#size += data.length;
    return lines.length;
  }

  close(): void {
    this.#file?.close();
    this.#file = undefined;
  }
}
