/** What RPC handlers see of the running node. */
import type { Block } from "../../lib/bitcoin/mod.ts";
import type { NodeConfig } from "./args.ts";
import type { Chain } from "./chain.ts";
import type { Mempool } from "./mempool.ts";
import type { PeerManager } from "./peers.ts";

export interface NodeContext {
  readonly chain: Chain;
  readonly mempool: Mempool;
  readonly peers: PeerManager;
  readonly config: NodeConfig;
  readonly startedAt: number;
  readonly subver: string;
  /** Validates, stores and relays a block; returns the BIP 22 result. */
  submitBlock(block: Block): string | null;
  /** Begins a clean shutdown (the stop RPC). */
  requestStop(): void;
  readonly stopping: boolean;
}

export type RpcHandler = (ctx: NodeContext, params: unknown[]) => unknown | Promise<unknown>;

export interface RpcMethod {
  /** Parameter names, for named-parameter requests and "too many parameters". */
  params: string[];
  /** How many leading parameters are required (default 0); fewer gets bitcoind's -1 usage reply. */
  required?: number;
  run: RpcHandler;
}
