import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { SpoolCache } from "../../functions/publisher/spool_cache.ts";
import type { SpoolRecord } from "../../functions/publisher/spool_record.ts";
import { AckTracker, parseAck } from "../../functions/publisher/ack_tracker.ts";

const enc = new TextEncoder();

/** `n` records of 10 bytes each from `offset`. */
function records(offset: number, n: number, first = 0): SpoolRecord[] {
  return Array.from({ length: n }, (_, i) => ({
    subject: "mining.events.eu.share_submitted",
    msgId: `id-${first + i}`,
    payload: new Uint8Array(4),
    offset: offset + i * 10,
    next: offset + (i + 1) * 10,
  }));
}

Deno.test("spool cache: serves contiguous records across chunks, misses what it dropped", () => {
  const cache = new SpoolCache(1_000);
  cache.add(records(0, 10));
  cache.add(records(100, 10, 10));
  const ids = (r: SpoolRecord[] | undefined) => r?.map((x) => x.msgId);
  assertEquals(ids(cache.read(50, 1_000))?.length, 15);
  assertEquals(ids(cache.read(90, 25)), ["id-9", "id-10", "id-11"]);
  assertEquals(cache.read(55, 100), undefined, "not a record start");
  cache.release(100);
  assertEquals(cache.read(0, 100), undefined, "released");
  assertEquals(ids(cache.read(100, 10)), ["id-10"]);
  // Over the bound the oldest chunk goes; its records come from disk instead.
  cache.add(records(200, 95, 20));
  assertEquals(cache.read(100, 10), undefined);
  assertEquals(ids(cache.read(200, 10)), ["id-20"]);
  // A gap (not following the last chunk) starts over.
  cache.add(records(5_000, 1, 99));
  assertEquals(cache.read(200, 10), undefined);
  assertEquals(ids(cache.read(5_000, 10)), ["id-99"]);
});

Deno.test("ack tracker: settles by id, reports errors and duplicates, fails all", async () => {
  assertEquals(parseAck(enc.encode('{"stream":"S","seq":1}')), { duplicate: false });
  assertEquals(parseAck(enc.encode('{"stream":"S","seq":1,"duplicate":true}')), {
    duplicate: true,
  });
  assertEquals(
    (parseAck(enc.encode('{"error":{"code":503,"description":"x"}}')) as Error).message,
    "nats: publish rejected: 503 x",
  );
  const tracker = new AckTracker(60_000);
  const a = tracker.register();
  const b = tracker.register();
  const c = tracker.register();
  tracker.settle(b.id, enc.encode('{"stream":"S","seq":2,"duplicate":true}'));
  tracker.settle(a.id, new Uint8Array(), { code: 503, description: "No Responders" });
  assertEquals(await b.acked, { duplicate: true });
  await a.acked.then(() => assertEquals("resolved", "rejected"), (e: Error) => {
    assertEquals(e.message, "nats: publish answered 503 No Responders");
  });
  tracker.failAll(new Error("gone"));
  await c.acked.then(() => assertEquals("resolved", "rejected"), (e: Error) => {
    assertEquals(e.message, "gone");
  });
  assertEquals(tracker.size, 0);
});
