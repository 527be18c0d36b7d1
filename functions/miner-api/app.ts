/**
 * HTTP API of the miner's view (Hono), read-only:
 *   GET /api/v1/miners/:address                 the address's figures (404 when it never mined)
 *   GET /api/v1/miners/:address/workers         its workers, paged (?limit=&offset=)
 *   GET /api/v1/miners/:address/worker?name=    one worker (404 when it never mined)
 *   GET /api/v1/miners/:address/blocks          its blocks, newest first, paged
 *   GET /miners/:address                        the HTML page that shows all of it (?rows=)
 *   GET /                                       a form asking for an address
 *   GET /health                                 200 when PostgreSQL answers, else 503
 *   GET /metrics                                Prometheus text
 * What they are computed from is cached in process for the configured TTL
 * (one read of an address feeds its summary, workers and worker answers) and
 * the answers say so in Cache-Control, Age and X-Cache; docs/miner-api.md is
 * the reference.
 */

import { Hono } from "hono";
import type { Context } from "hono";
import type { Sql } from "postgres";
import type { Logger } from "../lib/log.ts";
import { Registry } from "../lib/metrics.ts";
import { type AddressType, checkAddress, type NetworkName } from "./address.ts";
import { type CachedValue, TtlCache } from "./cache.ts";
import { endpointOf, minerApiMetrics } from "./miner_api_metrics.ts";
import { PAGE_ROWS, renderAddressForm, renderMinerPage } from "./page.ts";
import { summarize, workerPage, workerStats } from "./figures.ts";
import {
  type AddressData,
  blockPage,
  loadAddress,
  type ShareGroup,
  shareGroups,
} from "./queries.ts";

export interface MinerApiOptions {
  sql: Sql;
  network: NetworkName;
  cacheTtlSeconds: number;
  cacheMaxEntries: number;
  logger: Logger;
  /** The time figures are computed at; tests fix it. */
  now?: () => Date;
}

export const PAGE_LIMIT_DEFAULT = 25;
export const PAGE_LIMIT_MAX = 100;
export const PAGE_OFFSET_MAX = 100_000;
/** How long an address's share history (see historyBoundary) is kept. */
const HISTORY_TTL_MS = 3_600_000;
/** A 400 depends only on the request and the network: clients may keep it a day. */
const BAD_REQUEST_MAX_AGE = 86_400;

class BadRequest extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

/** An integer query parameter in min..max, `fallback` when absent; names it when wrong. */
function intParam(c: Context, name: string, fallback: number, min: number, max: number): number {
  const raw = c.req.query(name);
  if (raw === undefined) return fallback;
  if (!/^\d{1,9}$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new BadRequest(
      `invalid_${name}`,
      `${name} must be an integer ${min}-${max}, got '${raw}'`,
    );
  }
  return Number(raw);
}

/** `limit` and `offset` of a paged list. */
function pageParams(c: Context): { limit: number; offset: number } {
  return {
    limit: intParam(c, "limit", PAGE_LIMIT_DEFAULT, 1, PAGE_LIMIT_MAX),
    offset: intParam(c, "offset", 0, 0, PAGE_OFFSET_MAX),
  };
}

/** The address in its canonical form and its type; a 400 naming what is wrong otherwise. */
function validAddress(raw: string, network: NetworkName): { address: string; type: AddressType } {
  const check = checkAddress(raw, network);
  if (!check.ok) {
    throw new BadRequest("invalid_address", `invalid ${network} address '${raw}': ${check.error}`);
  }
  return check;
}

function nextOffset(offset: number, count: number, total: number): number | null {
  return offset + count < total ? offset + count : null;
}

export function createApp(options: MinerApiOptions): Hono {
  const { sql, network, logger } = options;
  const now = options.now ?? (() => new Date());
  const ttl = options.cacheTtlSeconds;
  const cache = new TtlCache<unknown>(ttl * 1000, options.cacheMaxEntries);
  // Share groups older than the history boundary change only when late rows
  // arrive: read once an hour per address (none kept when caching is off).
  const historyCache = new TtlCache<ShareGroup[]>(
    ttl === 0 ? 0 : HISTORY_TTL_MS,
    options.cacheMaxEntries,
  );
  const registry = new Registry();
  const metrics = minerApiMetrics(registry);
  registry.gaugeFn(
    "miner_api_cache_entries",
    "Entries held in the cache",
    () => cache.size + historyCache.size,
  );
  const app = new Hono();

  app.use("*", async (c, next) => {
    await next();
    metrics.requests.inc(1, { endpoint: endpointOf(c.req.path), status: String(c.res.status) });
  });

  /** `compute`'s value from the cache under `key`, timed and counted. */
  async function fromCache<T>(key: string, compute: () => Promise<T>): Promise<CachedValue<T>> {
    const got = await cache.get(key, async () => {
      const started = performance.now();
      try {
        return await compute();
      } finally {
        metrics.computeSeconds.inc((performance.now() - started) / 1000);
      }
    });
    metrics.cache.inc(1, { result: got.fresh ? "miss" : "hit" });
    return got as CachedValue<T>;
  }

  /** The address's data: every share figure of it and its workers comes from this. */
  function addressData(address: string): Promise<CachedValue<AddressData>> {
    return fromCache(`address ${address}`, () => {
      const at = now();
      return loadAddress(sql, address, at, async (a, boundary, weekStart) => {
        const key = `${a} ${boundary.toISOString()} ${weekStart.toISOString()}`;
        const got = await historyCache.get(
          key,
          () => shareGroups(sql, a, at, weekStart, { upTo: boundary }),
        );
        metrics.history.inc(1, { result: got.fresh ? "miss" : "hit" });
        return got.value;
      });
    });
  }

  /** A JSON answer with the cache headers of the data it was made from. */
  function answer(
    c: Context,
    status: 200 | 404,
    body: Record<string, unknown>,
    from: CachedValue<unknown>,
  ) {
    const age = Math.max(0, Math.floor((Date.now() - from.storedAt) / 1000));
    return c.json(body, status, {
      "cache-control": `public, max-age=${Math.max(0, ttl - age)}`,
      "age": String(age),
      "x-cache": from.fresh ? "MISS" : "HIT",
    });
  }

  function notFound(c: Context, message: string, address: string, from: CachedValue<unknown>) {
    return answer(c, 404, { error: message, code: "not_found", address }, from);
  }

  app.onError((error, c) => {
    if (error instanceof BadRequest) {
      return c.json({ error: error.message, code: error.code }, 400, {
        "cache-control": `public, max-age=${BAD_REQUEST_MAX_AGE}`,
      });
    }
    logger.error("request failed", { path: c.req.path, error: error.message });
    return c.json({ error: `database unavailable: ${error.message}`, code: "unavailable" }, 503, {
      "cache-control": "no-store",
    });
  });

  app.get("/health", async (c) => {
    try {
      await sql`select 1 from events limit 1`;
      return c.json({ status: "ok", network, cache_entries: cache.size });
    } catch (error) {
      return c.json({ status: "down", reasons: [(error as Error).message] }, 503);
    }
  });

  app.get("/metrics", (c) =>
    c.body(registry.render(), 200, {
      "content-type": "text/plain; version=0.0.4; charset=utf-8",
    }));

  app.get("/api/v1/miners/:address", async (c) => {
    const { address, type } = validAddress(c.req.param("address"), network);
    const got = await addressData(address);
    const summary = summarize(got.value);
    if (!summary) return notFound(c, `no shares recorded for address '${address}'`, address, got);
    return answer(c, 200, {
      address,
      network,
      address_type: type,
      ...summary,
      week_start: got.value.weekStart.toISOString(),
      as_of: got.value.at.toISOString(),
    }, got);
  });

  app.get("/api/v1/miners/:address/worker", async (c) => {
    const { address } = validAddress(c.req.param("address"), network);
    const name = c.req.query("name");
    if (name === undefined) {
      throw new BadRequest("invalid_name", "name is required (the worker name, '' for none)");
    }
    if (name.length > 128) {
      throw new BadRequest("invalid_name", `name is ${name.length} characters (at most 128)`);
    }
    const got = await addressData(address);
    const stats = workerStats(got.value, name);
    if (!stats) {
      return notFound(c, `no shares recorded for worker '${name}' of '${address}'`, address, got);
    }
    return answer(c, 200, {
      address,
      worker: name,
      ...stats,
      as_of: got.value.at.toISOString(),
    }, got);
  });

  app.get("/api/v1/miners/:address/workers", async (c) => {
    const { address } = validAddress(c.req.param("address"), network);
    const { limit, offset } = pageParams(c);
    const got = await addressData(address);
    const page = workerPage(got.value, limit, offset);
    return answer(c, 200, {
      address,
      total: page.total,
      limit,
      offset,
      next_offset: nextOffset(offset, page.items.length, page.total),
      workers: page.items,
      as_of: got.value.at.toISOString(),
    }, got);
  });

  app.get("/api/v1/miners/:address/blocks", async (c) => {
    const { address } = validAddress(c.req.param("address"), network);
    const { limit, offset } = pageParams(c);
    const got = await fromCache(`blocks ${address} ${limit} ${offset}`, async () => ({
      at: now(),
      page: await blockPage(sql, address, limit, offset),
    }));
    const { at, page } = got.value;
    return answer(c, 200, {
      address,
      total: page.total,
      limit,
      offset,
      next_offset: nextOffset(offset, page.items.length, page.total),
      blocks: page.items,
      as_of: at.toISOString(),
    }, got);
  });

  app.get("/miners/:address", (c) => {
    const raw = c.req.param("address");
    const check = checkAddress(raw, network);
    if (!check.ok) {
      return c.html(renderAddressForm(network, `invalid ${network} address: ${check.error}`), 400);
    }
    let rows: number;
    try {
      rows = intParam(c, "rows", PAGE_ROWS, 1, PAGE_LIMIT_MAX);
    } catch (error) {
      return c.html(renderAddressForm(network, (error as Error).message), 400);
    }
    return c.html(renderMinerPage(check.address, network, rows), 200, {
      "cache-control": "public, max-age=300",
    });
  });

  app.get("/", (c) => {
    const q = c.req.query("address");
    if (q !== undefined && q.trim() !== "") {
      return c.redirect(`/miners/${encodeURIComponent(q.trim())}`, 303);
    }
    return c.html(renderAddressForm(network));
  });

  return app;
}
