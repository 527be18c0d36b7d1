/**
 * The miner API against real PostgreSQL rows written by the real collector
 * (tests/functions/_miner_api.ts): every figure of an address and a worker,
 * paging, caching, the 400s and the unknown address. The app runs in process
 * on a fixed clock (a Wednesday noon), so windows and the ISO week are exact.
 */

import { deepStrictEqual as assertEquals, match, ok } from "node:assert/strict";
import { createApp } from "../../functions/miner-api/app.ts";
import { createLogger } from "../../functions/lib/log.ts";
import { requires, SERVICE_PERMISSIONS } from "../harness/permissions.ts";
import { waitFor } from "../../lib/ports.ts";
import {
  ADDRESS_A,
  ADDRESS_B,
  ADDRESS_UNKNOWN,
  type MinerWorld,
  startMinerWorld,
} from "./_miner_api.ts";

const NOW = new Date("2026-06-10T12:00:00.000Z");
const T = NOW.getTime();
const iso = (secondsAgo: number) => new Date(T - secondsAgo * 1000).toISOString();
const rate = (diffSum: number, seconds: number) => (diffSum * 2 ** 32) / seconds;
const quiet = createLogger({ component: "miner-api", region: "test", sink: () => {} });

function appFor(world: MinerWorld, cacheTtlSeconds: number) {
  return createApp({
    sql: world.sql,
    network: "regtest",
    cacheTtlSeconds,
    cacheMaxEntries: 1000,
    logger: quiet,
    now: () => NOW,
  });
}

async function json(res: Response) {
  return { status: res.status, headers: res.headers, body: await res.json() };
}

requires({
  name: "miner api: figures, paging, caching and errors from collector-written rows",
  permissions: SERVICE_PERMISSIONS,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    assertEquals(NOW.getUTCDay(), 3, "the fixed clock is a Wednesday");
    const world = await startMinerWorld(NOW);
    try {
      const app = appFor(world, 3600);
      const get = async (path: string) => json(await app.request(path));

      await t.step("address summary: every field", async () => {
        const { status, body } = await get(`/api/v1/miners/${ADDRESS_A}`);
        assertEquals(status, 200);
        assertEquals(body, {
          address: ADDRESS_A,
          network: "regtest",
          address_type: "bech32",
          // accepted diff: 1 min 1000 + 500; 1 h adds 2000 + 100; 24 h adds 4000
          hashrate: { "1m": rate(1500, 60), "1h": rate(3600, 3600), "24h": rate(7600, 86_400) },
          // the malformed share counts as accepted and earns nothing
          shares: { accepted: 8, rejected: 2 },
          // this week: 700000 (Monday noon); ever: rig2's share_best_diff event
          best_share: { week: 700_000, ever: 50_000_000 },
          blocks_found: 2,
          last_share_at: iso(5),
          region: "us-east",
          regions_24h: ["asia", "eu", "us-east"],
          workers: 3,
          week_start: "2026-06-08T00:00:00.000Z",
          as_of: NOW.toISOString(),
        });
      });

      await t.step("one worker: every field", async () => {
        const rig1 = await get(`/api/v1/miners/${ADDRESS_A}/worker?name=rig1`);
        assertEquals(rig1.status, 200);
        assertEquals(rig1.body, {
          address: ADDRESS_A,
          worker: "rig1",
          hashrate: { "1m": rate(1000, 60), "1h": rate(3000, 3600), "24h": rate(7000, 86_400) },
          shares: { accepted: 6, rejected: 1 },
          best_share: { week: 700_000, ever: 9_000_000 },
          blocks_found: 1,
          last_share_at: iso(10),
          region: "eu",
          as_of: NOW.toISOString(),
        });
        const unnamed = await get(`/api/v1/miners/${ADDRESS_A}/worker?name=`);
        assertEquals(unnamed.status, 200);
        assertEquals(unnamed.body.region, "asia");
        assertEquals(unnamed.body.hashrate["1m"], 0);
        assertEquals(unnamed.body.hashrate["1h"], rate(100, 3600));
        const absent = await get(`/api/v1/miners/${ADDRESS_A}/worker?name=rig9`);
        assertEquals([absent.status, absent.body.code], [404, "not_found"]);
      });

      await t.step("workers list: per-worker fields, ordered by name", async () => {
        const { status, body } = await get(`/api/v1/miners/${ADDRESS_A}/workers`);
        assertEquals(status, 200);
        assertEquals([body.total, body.limit, body.offset, body.next_offset], [3, 25, 0, null]);
        assertEquals(body.workers.map((w: { worker: string }) => w.worker), ["", "rig1", "rig2"]);
        const rig2 = body.workers[2];
        assertEquals(rig2, {
          worker: "rig2",
          hashrate: { "1m": rate(500, 60), "1h": rate(500, 3600), "24h": rate(500, 86_400) },
          shares: { accepted: 1, rejected: 1 },
          best_share: { week: 600, ever: 50_000_000 },
          blocks_found: 1,
          last_share_at: iso(5),
          region: "us-east",
        });
      });

      await t.step("workers paging: 7 workers in pages of 3", async () => {
        const names: string[] = [];
        const offsets: Array<number | null> = [];
        let offset: number | null = 0;
        while (offset !== null) {
          const { body } = await get(
            `/api/v1/miners/${ADDRESS_B}/workers?limit=3&offset=${offset}`,
          );
          assertEquals(body.total, 7);
          ok(body.workers.length <= 3);
          names.push(...body.workers.map((w: { worker: string }) => w.worker));
          offset = body.next_offset;
          offsets.push(offset);
        }
        assertEquals(names, ["w1", "w2", "w3", "w4", "w5", "w6", "w7"]);
        assertEquals(offsets, [3, 6, null]);
        const past = await get(`/api/v1/miners/${ADDRESS_B}/workers?limit=3&offset=9`);
        assertEquals([past.body.total, past.body.workers, past.body.next_offset], [7, [], null]);
      });

      await t.step("blocks: newest first, paged, with their fields", async () => {
        const first = await get(`/api/v1/miners/${ADDRESS_A}/blocks?limit=2`);
        assertEquals([first.body.total, first.body.next_offset], [3, 2]);
        assertEquals(first.body.blocks[0], {
          height: 103,
          hash: (103).toString(16).padStart(64, "0"),
          found_at: iso(30),
          region: "us-east",
          worker: "rig2",
          accepted: true,
          reward_sat: 5_000_000_103,
        });
        assertEquals(first.body.blocks[1].height, 102);
        assertEquals(first.body.blocks[1].accepted, false);
        const second = await get(`/api/v1/miners/${ADDRESS_A}/blocks?limit=2&offset=2`);
        assertEquals(second.body.blocks.map((b: { height: number }) => b.height), [101]);
        assertEquals(second.body.next_offset, null);
        const past = await get(`/api/v1/miners/${ADDRESS_A}/blocks?offset=10`);
        assertEquals([past.body.total, past.body.blocks], [3, []]);
      });

      await t.step("bad requests: 400 with a specific error", async () => {
        const cases: Array<[string, string, RegExp]> = [
          [
            "/api/v1/miners/bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
            "invalid_address",
            /invalid regtest address 'bc1q.*': bech32 prefix 'bc1' is not this network's/,
          ],
          [
            `/api/v1/miners/${ADDRESS_A.slice(0, -1)}q`,
            "invalid_address",
            /bech32 checksum does not match/,
          ],
          [
            "/api/v1/miners/mg4oZj8S8jd86yCRvCi8w3D1q87Q8HET0d",
            "invalid_address",
            /'0' at position 33/,
          ],
          [`/api/v1/miners/${"m".repeat(91)}`, "invalid_address", /91 characters \(at most 90\)/],
          [
            `/api/v1/miners/${ADDRESS_A}/workers?limit=0`,
            "invalid_limit",
            /limit must be an integer 1-100, got '0'/,
          ],
          [`/api/v1/miners/${ADDRESS_A}/workers?limit=abc`, "invalid_limit", /got 'abc'/],
          [
            `/api/v1/miners/${ADDRESS_A}/blocks?offset=-1`,
            "invalid_offset",
            /offset must be an integer/,
          ],
          [`/api/v1/miners/${ADDRESS_A}/worker`, "invalid_name", /name is required/],
        ];
        for (const [path, code, message] of cases) {
          const { status, headers, body } = await get(path);
          assertEquals([status, body.code], [400, code], path);
          match(body.error, message, path);
          assertEquals(headers.get("cache-control"), "public, max-age=86400");
        }
        const page = await app.request("/miners/bcrt1qbad");
        assertEquals(page.status, 400);
        match(await page.text(), /invalid regtest address/);
        const rows = await app.request(`/miners/${ADDRESS_A}?rows=500`);
        assertEquals(rows.status, 400);
        match(await rows.text(), /rows must be an integer 1-100, got &#39;500&#39;/);
      });

      await t.step("unknown address: 404 summary, empty lists", async () => {
        const summary = await get(`/api/v1/miners/${ADDRESS_UNKNOWN}`);
        assertEquals(summary.status, 404);
        assertEquals(summary.body, {
          error: `no shares recorded for address '${ADDRESS_UNKNOWN}'`,
          code: "not_found",
          address: ADDRESS_UNKNOWN,
        });
        const workers = await get(`/api/v1/miners/${ADDRESS_UNKNOWN}/workers`);
        assertEquals([workers.status, workers.body.total, workers.body.workers], [200, 0, []]);
        const blocks = await get(`/api/v1/miners/${ADDRESS_UNKNOWN}/blocks`);
        assertEquals([blocks.status, blocks.body.total, blocks.body.blocks], [200, 0, []]);
      });

      await t.step("caching: a repeat is served from the cache until the TTL ends", async () => {
        // A new app: the steps above have filled the other one's cache.
        const cachedApp = appFor(world, 3600);
        const getCached = async (path: string) => json(await cachedApp.request(path));
        const path = `/api/v1/miners/${ADDRESS_B}`;
        const first = await getCached(path);
        assertEquals(first.headers.get("x-cache"), "MISS");
        assertEquals(first.headers.get("cache-control"), "public, max-age=3600");
        assertEquals(first.body.shares.accepted, 7);
        // A new share reaches PostgreSQL; the cached answer does not change.
        await world.send([{
          region: "eu",
          event: "share_submitted",
          ago: 1,
          data: { address: ADDRESS_B, worker: "w8", diff: 1, sdiff: 3, accepted: true },
        }]);
        const second = await getCached(path);
        assertEquals(second.headers.get("x-cache"), "HIT");
        assertEquals(second.body, first.body);
        const age = Number(second.headers.get("age"));
        const maxAge = Number(/max-age=(\d+)/.exec(second.headers.get("cache-control")!)![1]);
        assertEquals(age + maxAge, 3600);
        // Without a cache (TTL 0) the same request sees the new row at once.
        const uncached = appFor(world, 0);
        const fresh = await json(await uncached.request(path));
        assertEquals(fresh.headers.get("x-cache"), "MISS");
        assertEquals(fresh.headers.get("cache-control"), "public, max-age=0");
        assertEquals([fresh.body.shares.accepted, fresh.body.workers], [8, 8]);
        // One read of the address feeds its other answers: the workers page comes from
        // the same cached data (7 workers, not 8), computed no later than the summary.
        const paged = await getCached(`/api/v1/miners/${ADDRESS_B}/workers?limit=2`);
        assertEquals([paged.headers.get("x-cache"), paged.body.total], ["HIT", 7]);
        assertEquals(paged.body.as_of, first.body.as_of);
        // Blocks pages are cached per query.
        const blocks = (q: string) => getCached(`/api/v1/miners/${ADDRESS_A}/blocks?${q}`);
        assertEquals((await blocks("limit=1")).headers.get("x-cache"), "MISS");
        assertEquals((await blocks("limit=2")).headers.get("x-cache"), "MISS");
        assertEquals((await blocks("limit=1")).headers.get("x-cache"), "HIT");
      });

      await t.step(
        "history: shares older than 25 h are read once an hour, recent ones per TTL",
        async () => {
          const app1 = appFor(world, 1);
          const before = (await json(await app1.request(`/api/v1/miners/${ADDRESS_B}`))).body;
          // A late row of three days ago (history) and a new one (recent), both accepted.
          await world.send([
            {
              region: "eu",
              event: "share_submitted",
              ago: 3 * 86_400,
              data: { address: ADDRESS_B, worker: "w1", diff: 1, sdiff: 9e9, accepted: true },
            },
            {
              region: "eu",
              event: "share_submitted",
              ago: 2,
              data: { address: ADDRESS_B, worker: "w1", diff: 1, sdiff: 1, accepted: true },
            },
          ]);
          // After the 1 s TTL the recent share shows; the cached history does not have the late one.
          const after = await waitFor(async () => {
            const body = (await json(await app1.request(`/api/v1/miners/${ADDRESS_B}`))).body;
            return body.shares.accepted > before.shares.accepted ? body : undefined;
          }, { timeoutMs: 30_000, intervalMs: 200, what: "the recent share in the summary" });
          assertEquals(after.shares.accepted, before.shares.accepted + 1);
          assertEquals(after.best_share.ever, before.best_share.ever);
          // Without a cache both count at once.
          const all =
            (await json(await appFor(world, 0).request(`/api/v1/miners/${ADDRESS_B}`))).body;
          assertEquals(all.shares.accepted, before.shares.accepted + 2);
          assertEquals(all.best_share.ever, 9e9);
        },
      );

      await t.step("health and the page", async () => {
        const health = await get("/health");
        assertEquals([health.status, health.body.status, health.body.network], [
          200,
          "ok",
          "regtest",
        ]);
        const page = await app.request(`/miners/${ADDRESS_A.toUpperCase()}`);
        assertEquals(page.status, 200);
        const html = await page.text();
        ok(
          html.includes(`const ADDRESS = "${ADDRESS_A}";`),
          "the page asks for the canonical address",
        );
        const form = await app.request(`/?address=${ADDRESS_A}`);
        assertEquals([form.status, form.headers.get("location")], [303, `/miners/${ADDRESS_A}`]);
      });

      await t.step("metrics: requests by endpoint and status, cache hits and misses", async () => {
        const fresh = appFor(world, 3600);
        await fresh.request(`/api/v1/miners/${ADDRESS_A}`);
        await fresh.request(`/api/v1/miners/${ADDRESS_A}`);
        await fresh.request(`/api/v1/miners/${ADDRESS_A}/blocks?limit=0`);
        await fresh.request(`/api/v1/miners/${ADDRESS_UNKNOWN}`);
        const text = await (await fresh.request("/metrics")).text();
        const sample = (line: string) => {
          const found = text.split("\n").find((l) => l.startsWith(`${line} `));
          return found === undefined ? undefined : Number(found.slice(line.length + 1));
        };
        assertEquals(sample('miner_api_requests_total{endpoint="summary",status="200"}'), 2);
        assertEquals(sample('miner_api_requests_total{endpoint="summary",status="404"}'), 1);
        assertEquals(sample('miner_api_requests_total{endpoint="blocks",status="400"}'), 1);
        assertEquals(sample('miner_api_cache_total{result="hit"}'), 1);
        assertEquals(sample('miner_api_cache_total{result="miss"}'), 2);
        // two addresses, each its answer data and its hourly share history
        assertEquals(sample("miner_api_cache_entries"), 4);
        assertEquals(sample('miner_api_history_total{result="miss"}'), 2);
        ok(sample("miner_api_compute_seconds_total")! > 0);
        ok(!text.includes(ADDRESS_A), "no address in any label");
      });

      await t.step("database down: 503 naming it, health 503", async () => {
        await world.pg.stop();
        const uncached = appFor(world, 0);
        const res = await json(await uncached.request(`/api/v1/miners/${ADDRESS_A}`));
        assertEquals([res.status, res.body.code], [503, "unavailable"]);
        match(res.body.error, /^database unavailable: /);
        assertEquals(res.headers.get("cache-control"), "no-store");
        const health = await json(await uncached.request("/health"));
        assertEquals([health.status, health.body.status], [503, "down"]);
      });
    } finally {
      await world.close();
    }
  },
});
