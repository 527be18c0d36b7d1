/**
 * /metrics and /health hammered with malformed HTTP: garbage request lines,
 * bad methods, versions and targets, NUL bytes, huge heads, no CRLF,
 * partial and slow requests, and hundreds of them at once. Each gets its
 * specific status (or is closed), the server keeps answering valid
 * requests, and honest miners keep mining.
 */

import { assert, assertEquals } from "../assert.ts";
import type { Engine } from "../../lib/harness/engine.ts";
import { requires, SERVICE_PERMISSIONS } from "../harness/permissions.ts";
import { waitFor } from "../../lib/ports.ts";
import { HonestMiners, MemoryWatch, pause, printRtts, withHostileEngine } from "./hostile.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

interface Reply {
  /** The status code, or null when the server closed without one. */
  status: number | null;
  head: string;
  /** No close within REPLY_DEADLINE_MS. */
  timedOut: boolean;
}

/** Past this a reply counts as never coming (the read is cut short). */
const REPLY_DEADLINE_MS = 30_000;

/**
 * Reads until the server closes (EOF or reset); the status line parsed.
 * Bounded: after REPLY_DEADLINE_MS the connection is closed, `timedOut` set.
 */
async function readReply(conn: Deno.TcpConn): Promise<Reply> {
  const chunks: Uint8Array[] = [];
  const buf = new Uint8Array(65536);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    conn.close();
  }, REPLY_DEADLINE_MS);
  try {
    for (let n; (n = await conn.read(buf)) !== null;) chunks.push(buf.slice(0, n));
  } catch {
    // reset after the response (or instead of it), or cut at the deadline
  } finally {
    clearTimeout(timer);
  }
  if (timedOut) return { status: null, head: "", timedOut };
  const text = decoder.decode(new Uint8Array(chunks.flatMap((c) => [...c])));
  const match = /^HTTP\/1\.1 (\d{3}) /.exec(text);
  return {
    status: match ? Number(match[1]) : null,
    head: text.split("\r\n\r\n")[0],
    timedOut,
  };
}

/** Sends `parts` (with `gapMs` between them), then reads the reply. */
async function raw(engine: Engine, parts: Array<string | Uint8Array>, gapMs = 0): Promise<Reply> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: engine.metricsPort });
  try {
    const reply = readReply(conn);
    for (const part of parts) {
      const bytes = typeof part === "string" ? encoder.encode(part) : part;
      try {
        for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
      } catch {
        break; // the server answered and closed first
      }
      if (gapMs) await pause(gapMs, reply);
    }
    const got = await reply;
    if (!got.timedOut) conn.close();
    return got;
  } catch (error) {
    conn.close();
    throw error;
  }
}

/** One byte at a time, `gapMs` apart. */
function bytewise(text: string): string[] {
  return [...text];
}

const noise = crypto.getRandomValues(new Uint8Array(2048)).map((b) => (b === 0 ? 1 : b));

/** [what, request parts, expected status (null: closed without one)]. */
const CASES: Array<[string, Array<string | Uint8Array>, number | null]> = [
  ["garbage request line", ["HELLO THERE\r\n\r\n"], 400],
  ["binary noise", [noise, "\r\n\r\n"], 400],
  ["NUL byte", ["GET /metrics\0 HTTP/1.1\r\n\r\n"], 400],
  ["lower-case method", ["get /metrics HTTP/1.1\r\n\r\n"], 400],
  ["target without /", ["GET metrics HTTP/1.1\r\n\r\n"], 400],
  ["HTTP/2.0", ["GET /health HTTP/2.0\r\n\r\n"], 400],
  ["no version", ["GET /health\r\n\r\n"], 400],
  ["control char in target", ["GET /met\x01rics HTTP/1.1\r\n\r\n"], 400],
  ["POST", ["POST /metrics HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"], 405],
  ["unknown path", ["GET /../../etc/passwd HTTP/1.1\r\n\r\n"], 404],
  ["huge header", [`GET /metrics HTTP/1.1\r\nX-Big: ${"a".repeat(64 * 1024)}\r\n\r\n`], 431],
  [
    "many headers",
    ["GET /health HTTP/1.1\r\n" + "X-H: v\r\n".repeat(2000) + "\r\n"],
    431,
  ],
  ["no CRLF at all", ["GET /metrics HTTP/1.1"], 408],
  ["request line, no blank line", ["GET /metrics HTTP/1.1\r\nHost: x\r\n"], 408],
  ["bare LF line ends (accepted)", ["GET /health HTTP/1.1\nHost: x\n\n"], 200],
  ["HEAD", ["HEAD /metrics HTTP/1.0\r\n\r\n"], 200],
];

requires({
  name: "hostile: malformed HTTP gets specific statuses; /metrics and /health keep answering",
  permissions: SERVICE_PERMISSIONS,
  standInOnly: "-testbits",
  fn: () =>
    withHostileEngine({}, async (engine) => {
      const memory = new MemoryWatch(engine);
      const honest = await HonestMiners.start(engine, 2);
      await waitFor(() => honest.accepted("before") >= 20, { what: "shares before the abuse" });
      memory.mark("before");
      honest.phase = "during";

      // One at a time: the specific answer to each.
      const results = await Promise.all(CASES.map(([, parts]) => raw(engine, parts)));
      CASES.forEach(([what, , expected], i) => {
        assertEquals(results[i].status, expected, `${what}: ${results[i].head}`);
      });
      assert(results[8].head.includes("Allow: GET, HEAD"), "405 names the allowed methods");
      // Slow but within the read timeout (5 s): answered; slower: 408.
      const slow = await raw(engine, bytewise("GET /health HTTP/1.1\r\n\r\n"), 50);
      assert(slow.status === 200 || slow.status === 503, `slow request: ${slow.head}`);
      // Partial requests dropped by the client: nothing to answer, nothing breaks.
      for (let i = 0; i < 50; i++) {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port: engine.metricsPort });
        await conn.write(encoder.encode("GET /metr".slice(0, i % 10))).catch(() => 0);
        conn.close();
      }

      // Many at once: 200 silent clients (over the 64 slots), 200 garbage
      // ones, while valid scrapes go on. Silent clients give up their slots.
      const silent = await Promise.all(
        Array.from(
          { length: 200 },
          () => Deno.connect({ hostname: "127.0.0.1", port: engine.metricsPort }),
        ),
      );
      const silentReplies = silent.map(readReply);
      const garbage = Array.from({ length: 200 }, (_, i) => raw(engine, [CASES[i % 12][1][0]]));
      const scrapes: number[] = [];
      for (let i = 0; i < 10; i++) {
        const started = performance.now();
        const res = await fetch(`http://127.0.0.1:${engine.metricsPort}/metrics`, {
          signal: AbortSignal.timeout(30_000),
        });
        assertEquals(res.status, 200);
        assert((await res.text()).includes("ckpool_connections "), "a real /metrics body");
        scrapes.push(performance.now() - started);
      }
      memory.mark("during");
      const garbageStatuses = (await Promise.all(garbage)).map((r) => r.status);
      assert(
        garbageStatuses.every((s) => s === null || (s >= 400 && s < 500)),
        `garbage answered with ${[...new Set(garbageStatuses)]}`,
      );
      const silentDone = await Promise.all(silentReplies);
      silent.forEach((conn, i) => silentDone[i].timedOut || conn.close());
      assertEquals(silentDone.filter((r) => r.timedOut).length, 0, "every silent client let go");
      const silentStatuses = silentDone.map((r) => r.status);
      assert(silentStatuses.every((s) => s === 408 || s === null), `${new Set(silentStatuses)}`);
      honest.phase = "after";

      const health = await fetch(`http://127.0.0.1:${engine.metricsPort}/health`);
      assert(health.status === 200 || health.status === 503, `health ${health.status}`);
      assert("status" in await health.json(), "a real /health body");
      await waitFor(() => honest.accepted("after") >= 10, { what: "shares after the abuse" });
      memory.mark("after");
      const rtts = await honest.stop();
      scrapes.sort((a, b) => a - b);
      console.log(
        `http: ${CASES.length} malformed kinds answered as expected; 200 silent + 200 garbage ` +
          `clients at once: /metrics scrape median ${scrapes[5].toFixed(1)} ms, max ` +
          `${scrapes[9].toFixed(1)} ms; silent clients got ${
            silentStatuses.filter((s) => s === 408).length
          } x 408`,
      );
      printRtts("http", rtts);
      memory.assertBounded("http", 32);
    }),
});
