/**
 * The Bitcoin node of a region: which implementation runs it and its command
 * line, on regtest or on the stack's private OP_TRUE signet (TBG_CHAIN).
 * Choice, first match wins: env `BITCOIND` (a bitcoind binary), the project's
 * own node `stack/regtest/main.ts`, `bitcoind` on PATH.
 */

import type { CommandSpec } from "../types.ts";
import { bitcoinRpcReady } from "../readiness.ts";
import { findCommand } from "../which.ts";
import { type Chain, PRIVATE_SIGNET_CHALLENGE } from "../../topology_settings.ts";

export type BitcoinImpl =
  | { kind: "bitcoind"; path: string }
  | { kind: "deno-regtest"; script: string };

export interface BitcoinLayout {
  dataDir: string;
  rpcPort: number;
  p2pPort: number;
  rpcUser: string;
  rpcPassword: string;
  /** P2P ports on 127.0.0.1 to connect to (other regions' nodes). */
  addNodes: number[];
  /** Absent: regtest. */
  chain?: Chain;
}

/** The flags that select the chain: `-regtest`, or signet with the OP_TRUE challenge. */
export function chainArgs(chain: Chain = "regtest"): string[] {
  return chain === "signet"
    ? ["-signet", `-signetchallenge=${PRIVATE_SIGNET_CHALLENGE}`]
    : ["-regtest"];
}

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** Picks the node implementation; null when none is available. */
export function resolveBitcoinImpl(repoRoot: string): BitcoinImpl | null {
  const explicit = Deno.env.get("BITCOIND");
  if (explicit) {
    const path = findCommand(explicit);
    if (!path) {
      throw new Error(
        `bitcoin: BITCOIND=${explicit} is not an executable file or a command on PATH`,
      );
    }
    return { kind: "bitcoind", path };
  }
  const script = `${repoRoot}/stack/regtest/main.ts`;
  if (isFile(script)) return { kind: "deno-regtest", script };
  const found = findCommand("bitcoind");
  return found ? { kind: "bitcoind", path: found } : null;
}

export function bitcoinCommand(impl: BitcoinImpl, layout: BitcoinLayout): CommandSpec {
  const common = [
    ...chainArgs(layout.chain),
    `-rpcport=${layout.rpcPort}`,
    "-rpcbind=127.0.0.1",
    `-rpcuser=${layout.rpcUser}`,
    `-rpcpassword=${layout.rpcPassword}`,
    `-datadir=${layout.dataDir}`,
    `-port=${layout.p2pPort}`,
    ...layout.addNodes.map((port) => `-addnode=127.0.0.1:${port}`),
  ];
  if (impl.kind === "deno-regtest") {
    return {
      cmd: Deno.execPath(),
      args: ["run", "--allow-net", "--allow-read", "--allow-write", impl.script, ...common],
    };
  }
  return {
    cmd: impl.path,
    args: [
      ...common,
      "-server=1",
      "-listen=1",
      "-bind=127.0.0.1",
      "-rpcallowip=127.0.0.1",
      "-fallbackfee=0.0002",
      "-printtoconsole=1",
    ],
  };
}

export function bitcoinReady(layout: BitcoinLayout): () => Promise<boolean> {
  return () => bitcoinRpcReady(layout.rpcPort, layout.rpcUser, layout.rpcPassword);
}
