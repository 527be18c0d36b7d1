/**
 * Consensus constants shared by every chain this node runs, the regtest
 * values, and the genesis block builder: every chain's genesis is the main
 * network's coinbase with its own time, nonce and bits, so this node and
 * Bitcoin Core share block 0. Per-chain parameters are in chainparams.ts.
 */
import {
  type Block,
  blockHashHex,
  concat,
  fromHex,
  merkleRoot,
  pushData,
  type Tx,
  txid,
} from "../../lib/bitcoin/mod.ts";

export const COIN = 100_000_000n;
/** Regtest: 50 BTC halving every 150 blocks. */
export const HALVING_INTERVAL = 150;
export const MAX_BLOCK_WEIGHT = 4_000_000;
export const MAX_BLOCK_SIGOPS_COST = 80_000;
export const WITNESS_SCALE_FACTOR = 4;
export const MAX_MONEY = 21_000_000n * COIN;
/** Blocks may be at most this far ahead of the local clock. */
export const MAX_FUTURE_BLOCK_TIME = 2 * 60 * 60;
export const MEDIAN_TIME_SPAN = 11;
/** BIP 94: how far a retarget block's time may lie before its parent's (Core applies it to mintime). */
export const MAX_TIMEWARP = 600;
/** The easiest target regtest allows (bits 207fffff). */
export const POW_LIMIT = 0x7fffffn << 232n;
export const REGTEST_BITS = 0x207fffff;
/** BIP 34/65/66 are active from height 1 on regtest, so versions below 4 are rejected. */
export const MIN_BLOCK_VERSION = 4;
export const GENESIS_HASH = "0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206";
export const DEFAULT_RPC_PORT = 18443;
export const DEFAULT_P2P_PORT = 18444;

export function blockSubsidy(height: number, halvingInterval = HALVING_INTERVAL): bigint {
  const halvings = Math.floor(height / halvingInterval);
  if (halvings >= 64) return 0n;
  return (50n * COIN) >> BigInt(halvings);
}

const GENESIS_MESSAGE = "The Times 03/Jan/2009 Chancellor on brink of second bailout for banks";
const GENESIS_PUBKEY = "04678afdb0fe5548271967f1a67130b7105cd6a828e03909a67962e0ea1f61deb6" +
  "49f6bc3f4cef38c4f35504e51ec112de5c384df7ba0b8d578a4c702b6bf11d5f";

/** A genesis block: the main-network coinbase in a header with these fields. */
export function buildGenesis(time: number, nonce: number, bits: number): Block {
  const scriptSig = concat(
    pushData(fromHex("ffff001d")),
    pushData(Uint8Array.of(4)),
    pushData(new TextEncoder().encode(GENESIS_MESSAGE)),
  );
  const coinbase: Tx = {
    version: 1,
    vin: [{
      prevout: { hash: new Uint8Array(32), index: 0xffffffff },
      scriptSig,
      sequence: 0xffffffff,
      witness: [],
    }],
    vout: [{
      value: 50n * COIN,
      scriptPubKey: concat(pushData(fromHex(GENESIS_PUBKEY)), Uint8Array.of(0xac)),
    }],
    locktime: 0,
  };
  const block: Block = {
    header: {
      version: 1,
      prevHash: new Uint8Array(32),
      merkleRoot: merkleRoot([txid(coinbase)]).root,
      time,
      bits,
      nonce,
    },
    txs: [coinbase],
  };
  return block;
}

/** The regtest genesis block, checked against its published hash. */
export function genesisBlock(): Block {
  const block = buildGenesis(1296688602, 2, REGTEST_BITS);
  const hash = blockHashHex(block.header);
  if (hash !== GENESIS_HASH) throw new Error(`genesis: built hash ${hash} != ${GENESIS_HASH}`);
  return block;
}
