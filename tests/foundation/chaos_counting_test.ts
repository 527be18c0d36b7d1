/**
 * The chaos bench's arithmetic (bench/chaos): what counts as lost in a store,
 * with and without the tail the other store holds, totals over boots, the
 * incremental per-boot tally, and the printed table.
 */

import assert from "node:assert/strict";
import { type BootCount, lostIn, type StoreCount, totals } from "../../bench/chaos/counting.ts";
import { formatRows } from "../../bench/chaos/table.ts";
import { SeqTally } from "../../bench/chaos/seq_tally.ts";

const store = (lost: number, duplicated: number, stored: number, maxSeq: number): StoreCount => ({
  lost,
  duplicated,
  stored,
  maxSeq,
});

/** seq 1..100 seen; pg holds 1..100 with 2 gaps and a copy, redis stops at 90. */
const boot: BootCount = {
  poolInstance: "ckpool-eu",
  bootId: "b1",
  minSeq: 1,
  maxSeq: 100,
  pg: store(2, 1, 99, 100),
  redis: store(0, 0, 90, 90),
};

Deno.test("chaos counting: a store's tail behind the other store counts as lost only at the end", () => {
  assert.equal(lostIn(boot, boot.redis, false), 0);
  assert.equal(lostIn(boot, boot.redis, true), 10);
  assert.equal(lostIn(boot, boot.pg, true), 2);
});

Deno.test("chaos counting: a store holding nothing of a boot lost all of it", () => {
  const empty = { ...boot, redis: store(0, 0, 0, -1) };
  assert.equal(lostIn(empty, empty.redis, true), 100);
  const fromZero = { ...empty, minSeq: 0 };
  assert.equal(lostIn(fromZero, fromZero.redis, true), 101);
});

Deno.test("chaos counting: an announced last seq beyond both stores is lost in each", () => {
  const killed = { ...boot, announcedLastSeq: 107 };
  assert.equal(lostIn(killed, killed.pg, true), 2 + 7);
  assert.equal(lostIn(killed, killed.redis, true), 17);
  assert.equal(lostIn(killed, killed.redis, false), 0, "only once the boot is over");
  const lower = { ...boot, announcedLastSeq: 50 };
  assert.equal(lostIn(lower, lower.pg, true), 2, "a lower announcement changes nothing");
  const nothingStored: BootCount = {
    ...boot,
    maxSeq: -1,
    announcedLastSeq: 12,
    pg: store(0, 0, 0, -1),
    redis: store(0, 0, 0, -1),
  };
  assert.equal(lostIn(nothingStored, nothingStored.pg, true), 12);
});

Deno.test("chaos counting: totals add boots, per store", () => {
  const other: BootCount = { ...boot, bootId: "b2", pg: store(0, 0, 100, 100) };
  assert.deepEqual(totals([boot, other], true), {
    pg: { lost: 2, duplicated: 1, stored: 199 },
    redis: { lost: 20, duplicated: 0, stored: 180 },
  });
});

Deno.test("chaos table: one aligned row per fault, 'not recovered' when it never did", () => {
  const text = formatRows([
    {
      fault: "SIGKILL nats",
      recoverySeconds: 22.34,
      pgLost: 0,
      pgDuplicated: 0,
      redisLost: 0,
      redisDuplicated: 0,
      note: "",
    },
    {
      fault: "restart redis",
      recoverySeconds: null,
      pgLost: 1,
      pgDuplicated: 0,
      redisLost: 3,
      redisDuplicated: 0,
      note: "tail",
    },
  ]);
  const lines = text.split("\n");
  assert.equal(lines.length, 4);
  assert.ok(lines[0].startsWith("| fault "));
  assert.match(lines[2], /\| SIGKILL nats +\| 22\.3 +\| 0 /);
  assert.match(lines[3], /\| restart redis +\| not recovered \| 1 /);
  assert.equal(new Set(lines.map((l) => l.length)).size, 1, "every line as wide");
});

Deno.test("chaos tally: the line moves over copies seen, gaps stay missing until filled", () => {
  const tally = new SeqTally();
  const copies = new Map([[1, 1], [2, 2], [4, 1], [5, 1]]);
  tally.advance(-1, (seq) => copies.get(seq));
  assert.deepEqual(tally.count(), { lost: 0, duplicated: 0, stored: 0 }, "nothing below -1");
  tally.advance(5, (seq) => copies.get(seq));
  assert.deepEqual(tally.count(), { lost: 1, duplicated: 1, stored: 5 });
  assert.deepEqual(tally.missing(), [3]);
  tally.advance(3, () => 9);
  assert.equal(tally.countedTo, 5, "the line never moves down");
  assert.deepEqual(tally.count(), { lost: 1, duplicated: 1, stored: 5 }, "nothing counted twice");
  tally.late(3, 1);
  assert.deepEqual(tally.count(), { lost: 0, duplicated: 1, stored: 6 }, "a gap filled late");
  tally.late(4, 1);
  assert.deepEqual(tally.count(), { lost: 0, duplicated: 2, stored: 7 }, "a late second copy");
  tally.late(9, 1);
  assert.deepEqual(tally.count(), { lost: 0, duplicated: 2, stored: 7 }, "above the line: later");
  tally.advance(8, () => undefined);
  assert.deepEqual(tally.missing(), [6, 7, 8]);
});
