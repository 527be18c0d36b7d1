/**
 * The chains this node runs, regtest and signet, with the parameters Bitcoin
 * Core gives them (src/kernel/chainparams.cpp is the reference for the
 * facts): genesis, proof-of-work limit and retargeting, subsidy halving,
 * default ports, address prefixes and the network's message start.
 */
import {
  type Block,
  blockHashHex,
  type Network,
  NETWORKS,
  sha256d,
  Writer,
} from "../../lib/bitcoin/mod.ts";
import {
  buildGenesis,
  DEFAULT_P2P_PORT,
  DEFAULT_RPC_PORT,
  GENESIS_HASH,
  genesisBlock,
  HALVING_INTERVAL,
  POW_LIMIT,
} from "./params.ts";

export type ChainName = "regtest" | "signet";

export interface ChainParams {
  name: ChainName;
  genesis: Block;
  /** Display hex of the genesis block hash. */
  genesisHash: string;
  /** The easiest target a block may have. */
  powLimit: bigint;
  /** false on regtest (fPowNoRetargeting): every block keeps the genesis bits. */
  retarget: boolean;
  /** Blocks per retarget period; also the period of Core's BIP 94 mintime adjustment. */
  adjustmentInterval: number;
  /** Seconds a retarget period should last. */
  targetTimespan: number;
  halvingInterval: number;
  rpcPort: number;
  p2pPort: number;
  /** Data lives in `<datadir>/<subdir>/`, as bitcoind's per-chain directories. */
  subdir: string;
  /** Address prefixes: `bcrt` on regtest, `tb` and testnet Base58 versions on signet. */
  network: Network;
  /** The 4-byte network magic (message start). */
  messageStart: Uint8Array;
  /** Signet only: the block challenge script (BIP 325). */
  signetChallenge?: Uint8Array;
}

const TARGET_SPACING = 10 * 60;

export function regtestParams(): ChainParams {
  const timespan = 24 * 60 * 60;
  return {
    name: "regtest",
    genesis: genesisBlock(),
    genesisHash: GENESIS_HASH,
    powLimit: POW_LIMIT,
    retarget: false,
    adjustmentInterval: timespan / TARGET_SPACING,
    targetTimespan: timespan,
    halvingInterval: HALVING_INTERVAL,
    rpcPort: DEFAULT_RPC_PORT,
    p2pPort: DEFAULT_P2P_PORT,
    subdir: "regtest",
    network: NETWORKS.regtest,
    messageStart: Uint8Array.of(0xfa, 0xbf, 0xb5, 0xda),
  };
}

/** The public signet's challenge: a 1-of-2 multisig of the signet operators' keys. */
export const DEFAULT_SIGNET_CHALLENGE =
  "512103ad5e0edad18cb1f0fc0d28a3d4f1f3e445640337489abb10404f" +
  "2d1e086be430210359ef5021964fe22d6f8e05b2463c9540ce96883fe3b278760f048f5189f2e6c452ae";
/** Every signet shares this genesis block, whatever its challenge. */
export const SIGNET_GENESIS_HASH =
  "00000008819873e925422c1ff0f99f7cc9bbb232af63a077a480a3633bee1ef6";
/** Signet's proof-of-work limit, which is also the genesis target (bits 1e0377ae). */
export const SIGNET_POW_LIMIT = 0x0377aen << 216n;
export const SIGNET_GENESIS_BITS = 0x1e0377ae;
export const SIGNET_RPC_PORT = 38332;
export const SIGNET_P2P_PORT = 38333;

/** The message start: the first 4 bytes of sha256d of the challenge serialized with its length. */
export function signetMessageStart(challenge: Uint8Array): Uint8Array {
  return sha256d(new Writer().varBytes(challenge).finish()).slice(0, 4);
}

export function signetParams(challenge: Uint8Array): ChainParams {
  const genesis = buildGenesis(1598918400, 52613770, SIGNET_GENESIS_BITS);
  const hash = blockHashHex(genesis.header);
  if (hash !== SIGNET_GENESIS_HASH) {
    throw new Error(`signet genesis: built hash ${hash} != ${SIGNET_GENESIS_HASH}`);
  }
  return {
    name: "signet",
    genesis,
    genesisHash: SIGNET_GENESIS_HASH,
    powLimit: SIGNET_POW_LIMIT,
    retarget: true,
    adjustmentInterval: 2016,
    targetTimespan: 14 * 24 * 60 * 60,
    halvingInterval: 210_000,
    rpcPort: SIGNET_RPC_PORT,
    p2pPort: SIGNET_P2P_PORT,
    subdir: "signet",
    network: NETWORKS.signet,
    messageStart: signetMessageStart(challenge),
    signetChallenge: challenge,
  };
}
