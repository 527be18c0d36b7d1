/**
 * A regtest Bitcoin node for tests: real `bitcoind` when env `BITCOIND` names
 * one or `bitcoind` is on PATH, else this project's TypeScript node
 * (stack/regtest/main.ts). Both get a fresh temp datadir (unless given), free
 * RPC and P2P ports on 127.0.0.1, and Basic auth; `rpc()` throws an
 * `RpcCallError` carrying bitcoind's code and message.
 */
import { freePort } from "../ports.ts";
import { launchService, type ServiceHandle } from "./service.ts";

export type BitcoinNodeKind = "regtest-ts" | "bitcoind";

export interface BitcoinNodeOptions {
  /** Run this implementation; by default bitcoind when one is found, else regtest-ts. */
  kind?: BitcoinNodeKind;
  /** Peers as "127.0.0.1:port" (their p2pPort). */
  addnode?: string[];
  /** bitcoind's -prune (0 off, 1 manual, >= 550 MiB). */
  prune?: number;
  /** Test-only -testbits (regtest-ts only; throws for bitcoind). */
  testbits?: string;
  /** Use this datadir (kept on stop) instead of a fresh temp one (removed on stop). */
  datadir?: string;
  /** -blockrelaydelay in ms (regtest-ts only; ignored by bitcoind). */
  blockRelayDelayMs?: number;
  /** regtest (default) or a private OP_TRUE signet (-signet -signetchallenge=51). */
  chain?: "regtest" | "signet";
}

export interface BitcoinNode {
  kind: BitcoinNodeKind;
  rpcUrl: string;
  rpcHost: string;
  rpcPort: number;
  p2pPort: number;
  user: string;
  pass: string;
  datadir: string;
  rpc<T>(method: string, params?: unknown[]): Promise<T>;
  /** Graceful stop; removes the datadir when the harness created it. */
  stop(): Promise<void>;
  /** SIGKILL; the datadir stays for restart(). */
  kill(): Promise<void>;
  /** Stops (if running) and starts again with the same ports and datadir. */
  restart(): Promise<void>;
  /** bitcoind only: its -zmqpubhashblock endpoint. */
  zmqHashblock?: string;
}

export class RpcCallError extends Error {
  constructor(readonly code: number, readonly rpcMessage: string, method: string) {
    super(`${method}: RPC error ${code}: ${rpcMessage}`);
  }
}

const REGTEST_MAIN = new URL("../../stack/regtest/main.ts", import.meta.url).pathname;

function isExecutable(path: string): boolean {
  try {
    const st = Deno.statSync(path);
    return st.isFile && ((st.mode ?? 0o111) & 0o111) !== 0;
  } catch {
    return false;
  }
}

/** The bitcoind binary to use, or undefined for the TypeScript node. */
export function bitcoindPath(): string | undefined {
  const explicit = Deno.env.get("BITCOIND");
  const candidates = explicit
    ? (explicit.includes("/")
      ? [explicit]
      : (Deno.env.get("PATH") ?? "").split(":").map((d) => `${d}/${explicit}`))
    : (Deno.env.get("PATH") ?? "").split(":").filter(Boolean).map((d) => `${d}/bitcoind`);
  const found = candidates.find(isExecutable);
  if (explicit && !found) throw new Error(`BITCOIND=${explicit} is not an executable file`);
  return found;
}

/** Which implementation startBitcoinNode() will run (for ignoring kind-specific tests). */
export function bitcoinNodeKind(): BitcoinNodeKind {
  return bitcoindPath() ? "bitcoind" : "regtest-ts";
}

export async function startBitcoinNode(opts: BitcoinNodeOptions = {}): Promise<BitcoinNode> {
  const bitcoind = opts.kind === "regtest-ts" ? undefined : bitcoindPath();
  if (opts.kind === "bitcoind" && !bitcoind) {
    throw new Error("startBitcoinNode: kind bitcoind, but no bitcoind found (env BITCOIND, PATH)");
  }
  const kind: BitcoinNodeKind = bitcoind ? "bitcoind" : "regtest-ts";
  if (kind === "bitcoind" && opts.testbits !== undefined) {
    throw new Error("startBitcoinNode: testbits is a regtest-ts flag; bitcoind has no such option");
  }
  const ownedDirs: string[] = [];
  const datadir = opts.datadir ?? await Deno.makeTempDir({ prefix: "bitcoin-node-" });
  if (!opts.datadir) ownedDirs.push(datadir);
  const logDir = await Deno.makeTempDir({ prefix: "bitcoin-node-log-" });
  ownedDirs.push(logDir);
  const rpcPort = freePort();
  const p2pPort = freePort();
  const user = "test";
  const pass = crypto.randomUUID();
  const rpcUrl = `http://127.0.0.1:${rpcPort}/`;
  const zmqHashblock = kind === "bitcoind" ? `tcp://127.0.0.1:${freePort()}` : undefined;

  const common = [
    ...(opts.chain === "signet" ? ["-signet", "-signetchallenge=51"] : ["-regtest"]),
    `-rpcport=${rpcPort}`,
    "-rpcbind=127.0.0.1",
    `-rpcuser=${user}`,
    `-rpcpassword=${pass}`,
    `-datadir=${datadir}`,
    `-port=${p2pPort}`,
    ...(opts.addnode ?? []).map((a) => `-addnode=${a}`),
    ...(opts.prune !== undefined ? [`-prune=${opts.prune}`] : []),
  ];
  const command = kind === "bitcoind"
    ? {
      cmd: bitcoind as string,
      args: [
        ...common,
        "-server",
        "-listen",
        "-bind=127.0.0.1",
        "-rpcallowip=127.0.0.1",
        "-fallbackfee=0.0002",
        `-zmqpubhashblock=${zmqHashblock}`,
        "-printtoconsole",
      ],
    }
    : {
      cmd: Deno.execPath(),
      args: [
        "run",
        "--allow-net",
        "--allow-read",
        "--allow-write",
        REGTEST_MAIN,
        ...common,
        ...(opts.testbits !== undefined ? [`-testbits=${opts.testbits}`] : []),
        ...(opts.blockRelayDelayMs !== undefined
          ? [`-blockrelaydelay=${opts.blockRelayDelayMs}`]
          : []),
      ],
    };

  const auth = "Basic " + btoa(`${user}:${pass}`);
  let nextId = 0;
  const rpc = async <T>(method: string, params: unknown[] = []): Promise<T> => {
    const res = await fetch(rpcUrl, {
      method: "POST",
      headers: { Authorization: auth, "Content-Type": "application/json" },
      body: JSON.stringify({ jsonrpc: "1.0", id: ++nextId, method, params }),
    });
    const text = await res.text();
    let body: { result: T; error: { code: number; message: string } | null };
    try {
      body = JSON.parse(text);
    } catch {
      throw new Error(`${method}: HTTP ${res.status}: ${text.slice(0, 200)}`);
    }
    if (body.error) throw new RpcCallError(body.error.code, body.error.message, method);
    return body.result;
  };

  const service: ServiceHandle = await launchService({
    name: `${kind}-${rpcPort}`,
    command: () => command,
    ready: async () => {
      try {
        await rpc("getblockchaininfo");
        return true;
      } catch {
        return false;
      }
    },
    stopSignal: "SIGTERM",
    logPath: `${logDir}/node.log`,
    ownedDirs,
  });

  return {
    kind,
    rpcUrl,
    rpcHost: "127.0.0.1",
    rpcPort,
    p2pPort,
    user,
    pass,
    datadir,
    rpc,
    stop: () => service.stop(),
    kill: () => service.kill(),
    restart: () => service.restart(),
    zmqHashblock,
  };
}
