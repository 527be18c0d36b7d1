/** Network, control and utility RPCs: peers, stop, validateaddress, sendrawtransaction. */
import {
  decodeAddress,
  fromHex,
  hashToHex,
  isCoinbase,
  outpointKey,
  parseTx,
  toHex,
  type Tx,
  txid,
} from "../../lib/bitcoin/mod.ts";
import type { RpcMethod } from "./context.ts";
import { asString, isMissing, requireParam, RPC, RpcError } from "./rpc_util.ts";
import { checkTransaction } from "./validate.ts";

export const PROTOCOL_VERSION = 70016;
/** Reported as the node version: this node mimics bitcoind 28's RPC surface. */
export const NODE_VERSION = 280000;

export const nodeMethods: Record<string, RpcMethod> = {
  getnetworkinfo: {
    params: [],
    run: (ctx) => {
      const peers = ctx.peers.list();
      const inbound = peers.filter((p) => p.inbound).length;
      return {
        version: NODE_VERSION,
        subversion: ctx.subver,
        protocolversion: PROTOCOL_VERSION,
        localservices: "0000000000000409",
        localservicesnames: ["NETWORK", "WITNESS", "NETWORK_LIMITED"],
        localrelay: true,
        timeoffset: 0,
        networkactive: true,
        connections: peers.length,
        connections_in: inbound,
        connections_out: peers.length - inbound,
        networks: [],
        relayfee: 0.00001,
        incrementalfee: 0.00001,
        localaddresses: [],
        warnings: [],
      };
    },
  },
  getconnectioncount: { params: [], run: (ctx) => ctx.peers.list().length },
  getpeerinfo: {
    params: [],
    run: (ctx) =>
      ctx.peers.list().map((p) => ({
        id: p.id,
        addr: p.addr,
        addrbind: p.addrbind,
        network: "ipv4",
        services: "0000000000000409",
        relaytxes: false,
        lastsend: p.lastSend,
        lastrecv: p.lastRecv,
        bytessent: p.bytesSent,
        bytesrecv: p.bytesRecv,
        conntime: p.conntime,
        timeoffset: 0,
        version: PROTOCOL_VERSION,
        subver: p.subver,
        inbound: p.inbound,
        connection_type: p.inbound ? "inbound" : "manual",
        startingheight: p.startingHeight,
        synced_blocks: -1,
      })),
  },
  uptime: { params: [], run: (ctx) => Math.floor((Date.now() - ctx.startedAt) / 1000) },
  stop: {
    params: ["wait"],
    run: (ctx) => {
      ctx.requestStop();
      return "regtest-ts node stopping";
    },
  },
  validateaddress: {
    params: ["address"],
    required: 1,
    run: (ctx, p) => {
      const address = asString(requireParam(p, 0, "address"));
      try {
        const d = decodeAddress(address, ctx.chain.params.network);
        const out: Record<string, unknown> = {
          isvalid: true,
          address,
          scriptPubKey: toHex(d.scriptPubKey),
          isscript: d.isScript,
          iswitness: d.isWitness,
        };
        if (d.isWitness) {
          out.witness_version = d.witnessVersion;
          out.witness_program = toHex(d.witnessProgram as Uint8Array);
        }
        return out;
      } catch (error) {
        return { isvalid: false, error_locations: [], error: (error as Error).message };
      }
    },
  },
  sendrawtransaction: {
    params: ["hexstring", "maxfeerate", "maxburnamount"],
    required: 1,
    run: (ctx, p) => {
      const hex = asString(requireParam(p, 0, "hexstring"));
      let tx: Tx;
      try {
        tx = parseTx(fromHex(hex, "hexstring"), "hexstring");
      } catch {
        throw new RpcError(
          RPC.DESERIALIZATION_ERROR,
          "TX decode failed. Make sure the tx has at least one input.",
        );
      }
      const id = hashToHex(txid(tx));
      if (ctx.mempool.has(id)) return id;
      if (ctx.chain.confirmed.has(id)) {
        throw new RpcError(RPC.VERIFY_ALREADY_IN_CHAIN, "Transaction outputs already in utxo set");
      }
      if (isCoinbase(tx)) throw new RpcError(RPC.VERIFY_REJECTED, "coinbase");
      const bad = checkTransaction(tx);
      if (bad) throw new RpcError(RPC.VERIFY_REJECTED, bad.reason);
      for (const input of tx.vin) {
        const key = outpointKey(input.prevout);
        if (ctx.mempool.spender(key)) {
          throw new RpcError(RPC.VERIFY_REJECTED, "txn-mempool-conflict");
        }
      }
      if (!isMissing(p[1]) && typeof p[1] !== "number" && typeof p[1] !== "string") {
        throw new RpcError(RPC.TYPE_ERROR, "maxfeerate must be a number or string");
      }
      // No UTXO set: the fee cannot be computed, so it counts as 0 (docs/regtest-node.md).
      ctx.mempool.add(tx, 0n, ctx.chain.height);
      return id;
    },
  },
};
