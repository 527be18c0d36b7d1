/** Command-line options of the CPU miner (`deno task miner -- --help`). */

import { parseArgs } from "node:util";
import { StratumClient } from "../lib/stratum/client.ts";

export interface MinerOptions {
  hostname: string;
  port: number;
  user: string;
  password: string;
  threads: number;
  /** Sent as mining.suggest_difficulty when set. */
  suggestDifficulty?: number;
  /** Ask for BIP 310 version rolling with this mask (hex) when set. */
  versionRollingMask?: string;
  /** Exit after this many accepted shares; 0: never. */
  maxShares: number;
  userAgent: string;
}

export const USAGE =
  `usage: deno task miner -- --url stratum+tcp://HOST:PORT --user ADDRESS[.WORKER]
  [--password X] [--threads N] [--suggest-diff D] [--version-rolling [MASK]] [--max-shares N]`;

/** Parses argv; throws an Error naming the bad option. */
export function parseMinerArgs(argv: string[]): MinerOptions | "help" {
  const args = argv[0] === "--" ? argv.slice(1) : argv;
  const { values } = parseArgs({
    args,
    options: {
      url: { type: "string" },
      user: { type: "string" },
      password: { type: "string", default: "x" },
      threads: { type: "string", default: "1" },
      "suggest-diff": { type: "string" },
      "version-rolling": { type: "string" },
      "max-shares": { type: "string", default: "0" },
      "user-agent": { type: "string", default: "tbg-cpuminer/0.1" },
      help: { type: "boolean", default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return "help";
  if (!values.url) throw new Error("--url is required (stratum+tcp://host:port)");
  if (!values.user) throw new Error("--user is required (payout address, optionally .worker)");
  const { hostname, port } = StratumClient.parseUrl(values.url);
  const threads = Number(values.threads);
  if (!Number.isInteger(threads) || threads < 1 || threads > 256) {
    throw new Error(`--threads must be an integer 1-256, got ${values.threads}`);
  }
  const maxShares = Number(values["max-shares"]);
  if (!Number.isInteger(maxShares) || maxShares < 0) {
    throw new Error(`--max-shares must be a non-negative integer, got ${values["max-shares"]}`);
  }
  let suggestDifficulty: number | undefined;
  if (values["suggest-diff"] !== undefined) {
    suggestDifficulty = Number(values["suggest-diff"]);
    if (!(suggestDifficulty > 0) || !Number.isFinite(suggestDifficulty)) {
      throw new Error(`--suggest-diff must be a positive number, got ${values["suggest-diff"]}`);
    }
  }
  const mask = values["version-rolling"];
  if (mask !== undefined && !/^[0-9a-fA-F]{8}$/.test(mask)) {
    throw new Error(`--version-rolling must be an 8-digit hex mask, got ${mask}`);
  }
  return {
    hostname,
    port,
    user: values.user,
    password: values.password!,
    threads,
    suggestDifficulty,
    versionRollingMask: mask,
    maxShares,
    userAgent: values["user-agent"]!,
  };
}
