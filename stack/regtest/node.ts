/**
 * Assembles a running node from its configuration: data directory, block
 * store, chain, mempool, peers and the RPC server, and shuts it down cleanly.
 */
import { bitsToHex, type Block, serializeBlock, toHex } from "../../lib/bitcoin/mod.ts";
import type { NodeConfig } from "./args.ts";
import { Chain } from "./chain.ts";
import { type ChainParams, regtestParams, signetParams } from "./chainparams.ts";
import type { NodeContext, RpcMethod } from "./context.ts";
import { jsonLogger, type Logger } from "./log.ts";
import { Mempool } from "./mempool.ts";
import { type Peer, PeerManager } from "./peers.ts";
import { blockchainMethods } from "./rpc_blockchain.ts";
import { miningMethods } from "./rpc_mining.ts";
import { nodeMethods } from "./rpc_node.ts";
import { RpcServer } from "./rpc_server.ts";
import { canVerifyChallenge } from "./signet.ts";
import { BlockStore } from "./store.ts";

export const SUBVERSION = "/regtest-ts:0.1.0/";

export class StartupError extends Error {}

/**
 * The chain the configuration asks for. A signet whose challenge this node
 * cannot verify is refused here: running it would mean accepting blocks
 * whose solutions nobody checked.
 */
export function chainParamsFor(config: NodeConfig): ChainParams {
  if (config.chain === "regtest") return regtestParams();
  const challenge = config.signetChallenge as Uint8Array;
  if (!canVerifyChallenge(challenge)) {
    throw new StartupError(
      `cannot verify signet challenge ${toHex(challenge) || "(empty)"}: this node verifies ` +
        "block solutions only for challenge 51 (OP_TRUE) and never accepts blocks it cannot " +
        "verify. Use -signetchallenge=51, or Bitcoin Core for this signet.",
    );
  }
  return signetParams(challenge);
}

export class RegtestNode implements NodeContext {
  readonly startedAt = Date.now();
  readonly subver = SUBVERSION;
  stopping = false;
  readonly peers: PeerManager;
  private readonly rpc: RpcServer;
  private resolveDone!: () => void;
  /** Resolves once the node has shut down. */
  readonly done = new Promise<void>((resolve) => (this.resolveDone = resolve));

  private constructor(
    readonly config: NodeConfig,
    readonly chain: Chain,
    readonly mempool: Mempool,
    private readonly store: BlockStore,
    private readonly log: Logger,
    auth: { user: string; password: string },
    private readonly cookiePath?: string,
  ) {
    this.peers = new PeerManager({
      chain,
      log,
      subver: SUBVERSION,
      acceptFromPeer: (block, from) => this.accept(block, from),
    }, {
      bind: config.bind,
      port: config.p2pPort,
      listen: config.listen,
      addnodes: config.addnodes,
      relayDelayMs: config.blockRelayDelayMs,
    });
    const methods: Record<string, RpcMethod> = {
      ...blockchainMethods,
      ...miningMethods,
      ...nodeMethods,
    };
    methods.help = { params: ["command"], run: () => Object.keys(methods).sort().join("\n") };
    this.rpc = new RpcServer(this, methods, auth.user, auth.password);
  }

  static async start(config: NodeConfig, log = jsonLogger("regtest-node")): Promise<RegtestNode> {
    const params = chainParamsFor(config);
    const stat = await Deno.stat(config.datadir).catch(() => undefined);
    if (!stat) {
      if (config.datadir !== ".data/regtest-node") {
        throw new StartupError(`Specified data directory "${config.datadir}" does not exist.`);
      }
      await Deno.mkdir(config.datadir, { recursive: true });
    } else if (!stat.isDirectory) {
      throw new StartupError(`Specified data directory "${config.datadir}" is not a directory.`);
    }
    const dir = `${config.datadir}/${params.subdir}`;
    await Deno.mkdir(dir, { recursive: true });
    let auth: { user: string; password: string };
    let cookiePath: string | undefined;
    if (config.rpcUser !== undefined && config.rpcPassword !== undefined) {
      auth = { user: config.rpcUser, password: config.rpcPassword };
    } else {
      cookiePath = `${dir}/.cookie`;
      auth = { user: "__cookie__", password: toHex(crypto.getRandomValues(new Uint8Array(32))) };
      await Deno.writeTextFile(cookiePath, `${auth.user}:${auth.password}`, { mode: 0o600 });
    }
    const { store, records } = await BlockStore.open(`${dir}/blocks.dat`);
    const mempool = new Mempool();
    const chain = new Chain({
      store,
      mempool,
      params,
      testBits: config.testBits,
      onRejectDetail: (hash, reject) =>
        log.info("block rejected", { hash, reason: reject.reason, detail: reject.detail }),
    });
    chain.load(records);
    const node = new RegtestNode(config, chain, mempool, store, log, auth, cookiePath);
    try {
      node.rpc.start(config.rpcBind, config.rpcPort);
      node.peers.start();
    } catch (error) {
      await node.shutdown();
      throw new StartupError(`cannot listen: ${(error as Error).message}`);
    }
    if (config.ignoredSignetChallenge) {
      log.warn("-signetchallenge is ignored on regtest (as by bitcoind)");
    }
    log.info("started", {
      chain: params.name,
      ...(params.signetChallenge ? { signet_challenge: toHex(params.signetChallenge) } : {}),
      height: chain.height,
      tip: chain.tip.hash,
      rpc: `${config.rpcBind}:${config.rpcPort}`,
      p2p: config.listen ? `${config.bind}:${config.p2pPort}` : null,
      addnode: config.addnodes,
      bits: bitsToHex(chain.nextBits()),
      pruned: config.prune > 0,
    });
    return node;
  }

  submitBlock(block: Block): string | null {
    return this.accept(block, undefined);
  }

  private accept(block: Block, from: Peer | undefined): string | null {
    const result = this.chain.submit(block);
    if (result === null) {
      this.log.info("block accepted", {
        height: this.chain.height,
        hash: this.chain.tip.hash,
        from: from ? `peer ${from.id}` : "rpc",
      });
      this.peers.relay(serializeBlock(block), from);
    } else if (!from) {
      this.log.info("block not accepted", { result });
    }
    return result;
  }

  requestStop(): void {
    // Reply to the stop RPC first, then shut down.
    setTimeout(() => void this.shutdown(), 10);
  }

  async shutdown(): Promise<void> {
    if (this.stopping) return this.done;
    this.stopping = true;
    this.log.info("stopping");
    await this.peers.stop();
    await this.rpc.stop();
    this.store.close();
    if (this.cookiePath) await Deno.remove(this.cookiePath).catch(() => {});
    this.log.info("stopped");
    this.resolveDone();
  }
}
