/**
 * Command-line parsing with bitcoind's syntax for the flags this node knows:
 * `-name=value`, `-name` (boolean true), `-noname` (false), `--name` as
 * `-name`. Anything else is an error naming the flag.
 */
import { parseBitsHex } from "../../lib/bitcoin/mod.ts";
import {
  type ChainName,
  DEFAULT_SIGNET_CHALLENGE,
  SIGNET_P2P_PORT,
  SIGNET_RPC_PORT,
} from "./chainparams.ts";
import { DEFAULT_P2P_PORT, DEFAULT_RPC_PORT } from "./params.ts";

export interface NodeConfig {
  chain: ChainName;
  /** Signet: the block challenge (-signetchallenge, default the public signet's). */
  signetChallenge?: Uint8Array;
  /** -signetchallenge given on regtest, where (as in bitcoind) it means nothing. */
  ignoredSignetChallenge?: boolean;
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
  signet: "bool",
  testnet: "bool",
  testnet4: "bool",
  chain: "string",
  signetchallenge: "multi",
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
  `Usage: deno run --allow-net --allow-read --allow-write stack/regtest/main.ts -regtest|-signet [options]

  -regtest | -chain=regtest  run regtest
  -signet | -chain=signet    run a signet; only challenge 51 (OP_TRUE) can be verified
  -signetchallenge=<hex>  signet block challenge (default: the public signet's, refused at start)
  -datadir=<dir>          data directory (must exist; default .data/regtest-node, created)
  -rpcport=<port>         JSON-RPC port (default ${DEFAULT_RPC_PORT}, signet ${SIGNET_RPC_PORT})
  -rpcbind=<addr>[:port]  JSON-RPC address (default 127.0.0.1)
  -rpcuser=<user> -rpcpassword=<pw>  Basic auth (default: cookie in <datadir>/regtest/.cookie)
  -port=<port>            peer port other instances -addnode (default ${DEFAULT_P2P_PORT}, signet ${SIGNET_P2P_PORT})
  -bind=<addr>            peer listen address (default 127.0.0.1)
  -listen / -nolisten     accept peers (default 1)
  -addnode=<host:port>    peer to keep connected (repeatable)
  -prune=<n>              0 off, 1 manual, >=550 target MiB: reports pruned
  -testbits=<hex8>        TEST ONLY, regtest: compact bits every new block must carry (e.g. 1e0fffff)
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

/** bitcoind's chain selection: at most one of -regtest, -signet, -testnet, -testnet4, -chain. */
function selectChain(one: (name: string) => string | undefined): ChainName {
  const chainArg = one("chain");
  const flags = ["regtest", "signet", "testnet", "testnet4"].filter((f) => one(f) === "1");
  if (flags.length + (chainArg !== undefined ? 1 : 0) > 1) {
    throw new ArgsError(
      "Invalid combination of -regtest, -signet, -testnet, -testnet4 and -chain. Can use at most one.",
    );
  }
  const chain = chainArg ?? flags[0];
  if (chain === "regtest" || chain === "signet") return chain;
  throw new ArgsError(
    chain === undefined
      ? "this node runs regtest or signet: pass -regtest or -signet (or -chain=regtest|signet)"
      : `this node runs regtest or signet only, got ${
        chainArg !== undefined ? `-chain=${chain}` : `-${chain}`
      }`,
  );
}

/** bitcoind's reading of a challenge: hex digit pairs, whitespace allowed between pairs. */
function parseChallenge(value: string): Uint8Array {
  const bytes: number[] = [];
  const hexDigit = (c: string | undefined) => c !== undefined && /^[0-9a-fA-F]$/.test(c);
  for (let i = 0; i < value.length;) {
    if (/\s/.test(value[i])) {
      i++;
      continue;
    }
    if (!hexDigit(value[i]) || !hexDigit(value[i + 1])) {
      throw new ArgsError(`-signetchallenge must be hex, not '${value}'.`);
    }
    bytes.push(parseInt(value.slice(i, i + 2), 16));
    i += 2;
  }
  return Uint8Array.from(bytes);
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

  const chain = selectChain(one);
  const challenges = values.get("signetchallenge") ?? [];
  let signetChallenge: Uint8Array | undefined;
  if (chain === "signet") {
    if (challenges.length > 1) throw new ArgsError("-signetchallenge cannot be multiple values.");
    signetChallenge = parseChallenge(challenges[0] ?? DEFAULT_SIGNET_CHALLENGE);
  }

  let rpcBind = "127.0.0.1";
  let rpcPort = chain === "signet" ? SIGNET_RPC_PORT : DEFAULT_RPC_PORT;
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
  if (one("testbits") !== undefined && chain !== "regtest") {
    throw new ArgsError("-testbits is a regtest-only test flag; signet blocks carry signet's bits");
  }
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
    chain,
    signetChallenge,
    ignoredSignetChallenge: chain === "regtest" && challenges.length > 0,
    datadir: one("datadir") ?? ".data/regtest-node",
    rpcBind,
    rpcPort,
    rpcUser: one("rpcuser"),
    rpcPassword: one("rpcpassword"),
    bind: one("bind") ?? "127.0.0.1",
    p2pPort: one("port") !== undefined
      ? parsePort(one("port") as string, "port")
      : chain === "signet"
      ? SIGNET_P2P_PORT
      : DEFAULT_P2P_PORT,
    listen: one("listen") !== "0",
    addnodes,
    prune,
    testBits,
    blockRelayDelayMs: Number(delay),
  };
}
