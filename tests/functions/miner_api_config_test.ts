/** The miner API's configuration: defaults, and errors that name the variable. */

import { deepStrictEqual as assertEquals, throws } from "node:assert/strict";
import { fromRecord } from "../../functions/lib/config.ts";
import { loadMinerApiConfig } from "../../functions/miner-api/config.ts";

Deno.test("miner api config: defaults", () => {
  assertEquals(loadMinerApiConfig(fromRecord({})), {
    listen: { hostname: "0.0.0.0", port: 8091 },
    databaseUrl: "postgres://tbg@127.0.0.1:5432/tbg",
    network: "main",
    cacheTtlSeconds: 10,
    cacheMaxEntries: 10_000,
    queryTimeoutMs: 5_000,
    logLevel: "info",
  });
});

Deno.test("miner api config: bad values are rejected naming the variable", () => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [
      { MINER_API_NETWORK: "mainnet" },
      /MINER_API_NETWORK must be one of main, testnet, testnet4, signet, regtest, got 'mainnet'/,
    ],
    [{ MINER_API_CACHE_TTL: "-1" }, /MINER_API_CACHE_TTL must be an integer in 0\.\.3600/],
    [{ MINER_API_CACHE_MAX_ENTRIES: "0" }, /MINER_API_CACHE_MAX_ENTRIES must be an integer/],
    [{ MINER_API_QUERY_TIMEOUT_MS: "5s" }, /MINER_API_QUERY_TIMEOUT_MS must be an integer/],
    [{ MINER_API_LISTEN: "8091" }, /MINER_API_LISTEN must be host:port/],
  ];
  for (const [env, message] of cases) {
    throws(() => loadMinerApiConfig(fromRecord(env)), message);
  }
});
