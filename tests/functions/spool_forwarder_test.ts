import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { Spool, type SpoolEntry } from "../../functions/publisher/spool.ts";
import { Forwarder, type ForwarderLink } from "../../functions/publisher/forwarder.ts";
import { waitFor } from "../../lib/ports.ts";
import { requires } from "../harness/permissions.ts";

const enc = new TextEncoder();
const entry = (i: number): SpoolEntry => ({
  subject: `mining.events.eu.share_submitted`,
  msgId: `id-${i}`,
  payload: enc.encode(`{"n":${i}}`),
});
const options = { maxBytes: 1 << 20, segmentBytes: 64 * 1024, fsync: true, commitIntervalMs: 5 };

async function all(spool: Spool): Promise<string[]> {
  const ids: string[] = [];
  let offset = spool.committed;
  while (offset < spool.writeEnd) {
    const records = await spool.read(offset, 4096);
    for (const r of records) ids.push(r.msgId);
    offset = records[records.length - 1].next;
  }
  return ids;
}

requires({
  name: "spool: recovers records after reopen, cuts a torn tail, drops acked segments",
  permissions: ["read", "write"],
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      let spool = await Spool.open(dir, options);
      for (let b = 0; b < 50; b++) {
        await spool.append(Array.from({ length: 100 }, (_, i) => entry(b * 100 + i)));
      }
      const segments = () =>
        [...Deno.readDirSync(dir)].filter((e) => e.name.startsWith("seg-")).length;
      assertEquals(segments() > 1, true);
      // Acknowledge the first 2500 records (reads stop at segment ends).
      let offset = 0;
      let n = 0;
      while (n < 2500) {
        const records = (await spool.read(offset, 4096)).slice(0, 2500 - n);
        n += records.length;
        offset = records[records.length - 1].next;
      }
      spool.commit(offset);
      await spool.close();
      // A torn write: half a record at the end of the last segment.
      const last = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.startsWith("seg-"))
        .sort().at(-1)!;
      await Deno.writeFile(`${dir}/${last}`, new Uint8Array([0, 0, 1, 0, 0, 3, 1]), {
        append: true,
      });
      spool = await Spool.open(dir, options);
      const ids = await all(spool);
      assertEquals(ids.length, 2500);
      assertEquals([ids[0], ids[2499]], ["id-2500", "id-4999"]);
      const before = segments();
      spool.commit(spool.writeEnd);
      await spool.flushCommit();
      assertEquals(segments() < before, true);
      assertEquals(spool.backlogBytes, 0);
      await spool.append([entry(5000)]);
      assertEquals(await all(spool), ["id-5000"]);
      await spool.close();
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

requires({
  name: "spool: refuses entries beyond maxBytes, and takes them again once acknowledged",
  permissions: ["read", "write"],
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const spool = await Spool.open(dir, {
        ...options,
        maxBytes: 64 * 1024,
        segmentBytes: 32 * 1024,
      });
      for (let round = 0; round < 4; round++) {
        const big = Array.from({ length: 3000 }, (_, i) => entry(round * 3000 + i));
        const result = await spool.append(big);
        assertEquals(result.accepted + result.refused.length, 3000);
        assertEquals(result.refused.length > 0 && spool.diskBytes <= 64 * 1024, true);
        // Once everything is acknowledged the whole spool is available again,
        // the active segment included (it used to stay forever): each round
        // takes new records to within one record (~60 bytes) of maxBytes.
        assertEquals(spool.backlogBytes > 64 * 1024 - 128, true);
        spool.commit(spool.writeEnd);
      }
      await spool.close();
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

requires({
  name: "spool: a segment larger than half the spool is refused at open",
  permissions: ["read", "write"],
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      let error: unknown;
      await Spool.open(dir, { ...options, maxBytes: 64 * 1024, segmentBytes: 64 * 1024 }).catch(
        (e) => (error = e),
      );
      assertEquals((error as Error)?.message, "spool: segmentBytes must not exceed maxBytes / 2");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

requires({
  name: "forwarder: commits only the contiguous acked prefix and republishes after a failure",
  permissions: ["read", "write"],
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const spool = await Spool.open(dir, options);
      await spool.append(Array.from({ length: 200 }, (_, i) => entry(i)));
      const stored = new Set<string>();
      let attempts = 0;
      const pending: Array<() => void> = [];
      const link: ForwarderLink = {
        ready: () => Promise.resolve(),
        publish(_subject, _payload, msgId) {
          attempts++;
          // id-50 fails once; everything else acks out of order (later ones first).
          if (msgId === "id-50" && attempts < 100) return Promise.reject(new Error("timeout"));
          return new Promise((resolve) => {
            pending.push(() => {
              const duplicate = stored.has(msgId);
              stored.add(msgId);
              resolve({ duplicate });
            });
          });
        },
      };
      const flush = setInterval(() => pending.splice(0).reverse().forEach((f) => f()), 1);
      const forwarder = new Forwarder(spool, link, {
        maxInflight: 16,
        backoff: { initialMs: 1, maxMs: 5 },
      });
      forwarder.start();
      await waitFor(() => spool.committed === spool.writeEnd);
      await forwarder.stop();
      clearInterval(flush);
      assertEquals(stored.size, 200);
      assertEquals(spool.committed, spool.writeEnd);
      await spool.close();
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

requires({
  name: "forwarder: a failed publish is retried with no further appends",
  permissions: ["read", "write"],
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const spool = await Spool.open(dir, options);
      await spool.append([entry(1)]);
      let attempts = 0;
      const link: ForwarderLink = {
        ready: () => Promise.resolve(),
        publish() {
          attempts++;
          // The only record fails once; nothing else is ever appended.
          return attempts === 1
            ? Promise.reject(new Error("timeout"))
            : Promise.resolve({ duplicate: false });
        },
      };
      const forwarder = new Forwarder(spool, link, {
        maxInflight: 4,
        backoff: { initialMs: 1, maxMs: 5 },
      });
      forwarder.start();
      await waitFor(() => spool.committed === spool.writeEnd, {
        what: "the failed record republished and committed",
      });
      await forwarder.stop();
      assertEquals(attempts, 2);
      await spool.close();
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

requires({
  name: "spool: a failing commit write is reported and retried, not an unhandled rejection",
  permissions: ["read", "write"],
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const spool = await Spool.open(dir, options);
      await spool.append([entry(1)]);
      // committed.tmp as a directory: opening it for writing fails like a full disk would.
      await Deno.mkdir(`${dir}/committed.tmp`);
      spool.commit(spool.writeEnd);
      await waitFor(() => spool.commitError !== undefined, { what: "the commit failure" });
      await Deno.remove(`${dir}/committed.tmp`);
      await waitFor(() => spool.commitError === undefined, { what: "the commit retried" });
      assertEquals(Number((await Deno.readTextFile(`${dir}/committed`)).trim()), spool.writeEnd);
      await spool.close();
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
