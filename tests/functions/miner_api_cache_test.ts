/** The miner API's answer cache, on a clock the test moves. */

import { deepStrictEqual as assertEquals, rejects } from "node:assert/strict";
import { TtlCache } from "../../functions/miner-api/cache.ts";

Deno.test("miner api cache: an answer is reused until its TTL has passed, then recomputed", async () => {
  let clock = 1_000_000;
  let computed = 0;
  const cache = new TtlCache<number>(10_000, 100, () => clock);
  const compute = () => Promise.resolve(++computed);
  assertEquals((await cache.get("a", compute)).value, 1);
  clock += 9_999;
  const hit = await cache.get("a", compute);
  assertEquals([hit.value, hit.fresh, hit.storedAt], [1, false, 1_000_000]);
  clock += 1;
  const again = await cache.get("a", compute);
  assertEquals([again.value, again.fresh], [2, true]);
});

Deno.test("miner api cache: concurrent misses share one computation", async () => {
  let computed = 0;
  let release!: () => void;
  const gate = new Promise<void>((resolve) => release = resolve);
  const cache = new TtlCache<number>(10_000, 100);
  const compute = async () => {
    computed++;
    await gate;
    return 7;
  };
  const both = Promise.all([cache.get("k", compute), cache.get("k", compute)]);
  release();
  const [first, second] = await both;
  assertEquals([first.value, second.value, computed], [7, 7, 1]);
  assertEquals([first.fresh, second.fresh], [true, false]);
});

Deno.test("miner api cache: a failed computation is not kept", async () => {
  const cache = new TtlCache<number>(10_000, 100);
  await rejects(cache.get("k", () => Promise.reject(new Error("db down"))), /db down/);
  assertEquals((await cache.get("k", () => Promise.resolve(3))).value, 3);
});

Deno.test("miner api cache: the oldest entry goes when the cache is full; TTL 0 keeps nothing", async () => {
  const cache = new TtlCache<string>(10_000, 2);
  for (const key of ["a", "b", "c"]) await cache.get(key, () => Promise.resolve(key));
  assertEquals(cache.size, 2);
  assertEquals((await cache.get("a", () => Promise.resolve("a2"))).value, "a2");
  assertEquals((await cache.get("c", () => Promise.resolve("c2"))).value, "c");
  const none = new TtlCache<string>(0, 2);
  await none.get("a", () => Promise.resolve("x"));
  assertEquals([none.size, (await none.get("a", () => Promise.resolve("y"))).value], [0, "y"]);
});
