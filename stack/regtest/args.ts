/**
 * Command-line parsing with bitcoind's syntax for the flags this node knows:
 * `-name=value`, `-name` (boolean true), `-noname` (false), `--name` as
 * `-name`. Anything else is an error naming the flag.
 */
import { parseBitsHex } from "../bitcoin/mod.ts";
import { DEFAULT_P2P_PORT, DEFAULT_RPC_PORT } from "./params.ts";

export interface NodeConfig {
  datadir: string;
  rpcBind: string;
  rpcPort: number;
  rpcUser?: string;
  rpcPassword?: string;
  bind: string;
  p2pPort: number;
  listen: boolean;
  addnodes: string[];
  /** 0 off, 1 manual, >= 550 target MiB (as bitcoind). */
  prune: number;
  /** Compact bits every block must carry (test-only -testbits); undefined means 207fffff. */
  testBits?: number;
  blockRelayDelayMs: number;
}

export class ArgsError extends Error {}

type Kind = "bool" | "string" | "int" | "multi";

const FLAGS: Record<string, Kind> = {
  regtest: "bool",
  chain: "string",
  datadir: "string",
  rpcport: "int",
  rpcbind: "string",
  rpcuser: "string",
  rpcpassword: "string",
  rpcallowip: "multi",
  port: "int",
  bind: "string",
  listen: "bool",
  addnode: "multi",
  prune: "int",
  testbits: "string",
  blockrelaydelay: "int",
  // Accepted for compatibility with bitcoind command lines; they change nothing here.
  server: "bool",
  printtoconsole: "bool",
  debug: "multi",
  fallbackfee: "string",
  txindex: "bool",
};

export const USAGE =
  `Usage: deno run --allow-net --allow-read --allow-write stack/regtest/main.ts -regtest [options]

  -datadir=<dir>          data directory (must exist; default .data/regtest-node, created)
  -rpcport=<port>         JSON-RPC port (default ${DEFAULT_RPC_PORT})
  -rpcbind=<addr>[:port]  JSON-RPC address (default 127.0.0.1)
  -rpcuser=<user> -rpcpassword=<pw>  Basic auth (default: cookie in <datadir>/regtest/.cookie)
  -port=<port>            peer port other instances -addnode (default ${DEFAULT_P2P_PORT})
  -bind=<addr>            peer listen address (default 127.0.0.1)
  -listen / -nolisten     accept peers (default 1)
  -addnode=<host:port>    peer to keep connected (repeatable)
  -prune=<n>              0 off, 1 manual, >=550 target MiB: reports pruned
  -testbits=<hex8>        TEST ONLY: compact bits every new block must carry (e.g. 1e0fffff)
  -blockrelaydelay=<ms>   delay before relaying accepted blocks to peers (default 0)
Ignored for compatibility: -server -printtoconsole -rpcallowip -debug -fallbackfee -txindex`;

function parsePort(value: string, flag: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 65535) {
    throw new ArgsError(`Invalid port specified in -${flag}: '${value}'`);
  }
  return n;
}

function parseBool(value: string | undefined, flag: string): boolean {
  if (value === undefined || value === "" || value === "1") return true;
  if (value === "0") return false;
  throw new ArgsError(`-${flag} expects 0 or 1, got '${value}'`);
}

/** Parses argv; returns "help" for -h/-help/-?. Throws ArgsError with bitcoind-like wording. */
export function parseArgs(argv: string[]): NodeConfig | "help" {
  const values = new Map<string, string[]>();
  for (const raw of argv) {
    if (!raw.startsWith("-")) {
      throw new ArgsError(
        `Command line contains unexpected token '${raw}', see -help for a list of options.`,
      );
    }
    const arg = raw.replace(/^--?/, "");
    if (arg === "h" || arg === "help" || arg === "?") return "help";
    const eq = arg.indexOf("=");
    let name = eq >= 0 ? arg.slice(0, eq) : arg;
    let value: string | undefined = eq >= 0 ? arg.slice(eq + 1) : undefined;
    if (!(name in FLAGS) && name.startsWith("no") && FLAGS[name.slice(2)] === "bool") {
      name = name.slice(2);
      value = parseBool(value, "no" + name) ? "0" : "1";
    }
    const kind = FLAGS[name];
    if (!kind) {
      throw new ArgsError(`Error parsing command line arguments: Invalid parameter -${name}`);
    }
    if (kind === "bool") value = parseBool(value, name) ? "1" : "0";
    else if (value === undefined) throw new ArgsError(`-${name} requires a value`);
    values.set(name, kind === "multi" ? [...(values.get(name) ?? []), value] : [value]);
  }
  const one = (name: string): string | undefined => values.get(name)?.at(-1);

  const chain = one("chain");
  if (chain !== undefined && chain !== "regtest") {
    throw new ArgsError(`this node only runs regtest, got -chain=${chain}`);
  }
  if (one("regtest") !== "1" && chain !== "regtest") {
    throw new ArgsError("this node only runs regtest: pass -regtest (or -chain=regtest)");
  }

  let rpcBind = "127.0.0.1";
  let rpcPort = DEFAULT_RPC_PORT;
  const bindValue = one("rpcbind");
  if (bindValue !== undefined) {
    const m = /^(\[[^\]]+\]|[^:]+)(?::(.*))?$/.exec(bindValue);
    if (!m) throw new ArgsError(`Invalid -rpcbind address: '${bindValue}'`);
    rpcBind = m[1].replace(/^\[|\]$/g, "");
    if (m[2] !== undefined) rpcPort = parsePort(m[2], "rpcbind");
  }
  if (one("rpcport") !== undefined) rpcPort = parsePort(one("rpcport") as string, "rpcport");

  const prune = Number(one("prune") ?? "0");
  if (!Number.isInteger(prune)) {
    throw new ArgsError(`-prune expects an integer, got '${one("prune")}'`);
  }
  if (prune < 0) throw new ArgsError("Prune cannot be configured with a negative value.");
  if (prune > 1 && prune < 550) {
    throw new ArgsError(
      "Prune configured below the minimum of 550 MiB.  Please use a higher number.",
    );
  }

  let testBits: number | undefined;
  if (one("testbits") !== undefined) {
    try {
      testBits = parseBitsHex(one("testbits") as string, "-testbits");
    } catch (error) {
      throw new ArgsError((error as Error).message);
    }
  }

  const delay = one("blockrelaydelay") ?? "0";
  if (!/^\d+$/.test(delay)) {
    throw new ArgsError(
      `-blockrelaydelay expects milliseconds (a non-negative integer), got '${delay}'`,
    );
  }

  const addnodes = (values.get("addnode") ?? []).map((a) => {
    const m = /^(.+):(\d+)$/.exec(a);
    if (!m) throw new ArgsError(`-addnode expects host:port, got '${a}'`);
    parsePort(m[2], "addnode");
    return a;
  });

  return {
    datadir: one("datadir") ?? ".data/regtest-node",
    rpcBind,
    rpcPort,
    rpcUser: one("rpcuser"),
    rpcPassword: one("rpcpassword"),
    bind: one("bind") ?? "127.0.0.1",
    p2pPort: one("port") !== undefined
      ? parsePort(one("port") as string, "port")
      : DEFAULT_P2P_PORT,
    listen: one("listen") !== "0",
    addnodes,
    prune,
    testBits,
    blockRelayDelayMs: Number(delay),
  };
}
