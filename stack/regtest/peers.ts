/**
 * Peering between instances of this node on `-port`: newline-delimited JSON
 * over TCP. Each side sends `hello` (its tip and chain work); the side with
 * less work asks `getblocks` with a locator and receives `blocks` batches;
 * accepted blocks are pushed as `block` (after -blockrelaydelay). A block
 * whose parent is unknown triggers a `getblocks`. Outbound (-addnode)
 * connections are retried every 500 ms; inbound connections are used both
 * ways. See docs/regtest-node.md.
 */
import {
  type Block,
  blockHash,
  fromHex,
  hashToHex,
  parseBlock,
  toHex,
} from "../../lib/bitcoin/mod.ts";
import type { Chain } from "./chain.ts";
import type { Logger } from "./log.ts";

const PROTOCOL_VERSION = 1;
const MAX_LINE = 64 * 1024 * 1024;
const BATCH_BLOCKS = 500;
const BATCH_BYTES = 8 * 1024 * 1024;
const RETRY_MS = 500;

type Message =
  | {
    type: "hello";
    version: number;
    /** The network's message start, hex: peers on another chain or signet are dropped. */
    magic?: string;
    nonce: string;
    subver: string;
    tip: string;
    height: number;
    chainwork: string;
  }
  | { type: "getblocks"; locator: string[] }
  | { type: "blocks"; blocks: string[]; more: boolean }
  | { type: "block"; hex: string };

export interface PeerHost {
  chain: Chain;
  log: Logger;
  subver: string;
  /** Validates a block from a peer; relays it onward when it became the tip. */
  acceptFromPeer(block: Block, from: Peer): string | null;
}

export interface PeerOptions {
  bind: string;
  port: number;
  listen: boolean;
  addnodes: string[];
  relayDelayMs: number;
}

export class Peer {
  readonly conntime = Math.floor(Date.now() / 1000);
  bytesSent = 0;
  bytesRecv = 0;
  lastSend = 0;
  lastRecv = 0;
  startingHeight = -1;
  subver = "";
  syncing = false;
  /**
   * The last block of the last `blocks` batch from this peer. The next
   * getblocks starts its locator here: on a fork longer than one batch those
   * blocks are a side branch with less work than our tip, so a locator from
   * our active chain alone would ask for the same batch again forever.
   */
  lastReceived: string | undefined;
  private writing: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    readonly id: number,
    readonly conn: Deno.TcpConn,
    readonly inbound: boolean,
    readonly addr: string,
    readonly addrbind: string,
  ) {}

  send(msg: Message): Promise<void> {
    const bytes = new TextEncoder().encode(JSON.stringify(msg) + "\n");
    this.writing = this.writing.then(async () => {
      if (this.closed) return;
      let off = 0;
      while (off < bytes.length) off += await this.conn.write(bytes.subarray(off));
      this.bytesSent += bytes.length;
      this.lastSend = Math.floor(Date.now() / 1000);
    }).catch(() => this.close());
    return this.writing;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.conn.close();
    } catch {
      // already closed
    }
  }
}

/** Yields each newline-terminated line read from `conn`. */
async function* lines(conn: Deno.Conn, onBytes: (n: number) => void): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  const buf = new Uint8Array(256 * 1024);
  let parts: string[] = [];
  let length = 0;
  for (;;) {
    const n = await conn.read(buf);
    if (n === null) return;
    onBytes(n);
    let start = 0;
    for (let i = 0; i < n; i++) {
      if (buf[i] !== 0x0a) continue;
      parts.push(decoder.decode(buf.subarray(start, i)));
      yield parts.join("");
      parts = [];
      length = 0;
      start = i + 1;
    }
    if (start < n) {
      parts.push(decoder.decode(buf.subarray(start, n), { stream: true }));
      length += n - start;
      if (length > MAX_LINE) throw new Error(`peer line longer than ${MAX_LINE} bytes`);
    }
  }
}

export class PeerManager {
  private readonly peers = new Map<number, Peer>();
  private nextId = 0;
  private listener?: Deno.TcpListener;
  private stopped = false;
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private readonly tasks: Promise<unknown>[] = [];
  /** Identifies this process so a connection to itself is dropped. */
  private readonly nonce = toHex(crypto.getRandomValues(new Uint8Array(8)));

  constructor(private readonly host: PeerHost, private readonly opts: PeerOptions) {}

  start(): void {
    if (this.opts.listen) {
      this.listener = Deno.listen({ hostname: this.opts.bind, port: this.opts.port });
      this.tasks.push(this.acceptLoop(this.listener));
    }
    for (const addr of this.opts.addnodes) this.tasks.push(this.outboundLoop(addr));
  }

  list(): Peer[] {
    return [...this.peers.values()];
  }

  /** Pushes a block to every peer but `except`, after the configured relay delay. */
  relay(raw: Uint8Array, except?: Peer): void {
    const send = () => {
      const hex = toHex(raw);
      for (const p of this.peers.values()) if (p !== except) void p.send({ type: "block", hex });
    };
    if (this.opts.relayDelayMs <= 0) return send();
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (!this.stopped) send();
    }, this.opts.relayDelayMs);
    this.timers.add(timer);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    try {
      this.listener?.close();
    } catch {
      // already closed
    }
    for (const p of this.peers.values()) p.close();
    await Promise.allSettled(this.tasks);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.add(timer);
      if (this.stopped) {
        clearTimeout(timer);
        resolve();
      }
    });
  }

  private async acceptLoop(listener: Deno.TcpListener): Promise<void> {
    try {
      for await (const conn of listener) {
        if (this.stopped) {
          conn.close();
          break;
        }
        this.tasks.push(this.runPeer(conn, true));
      }
    } catch (error) {
      if (!this.stopped) this.host.log.error("p2p listener failed", { error: String(error) });
    }
  }

  private async outboundLoop(addr: string): Promise<void> {
    const colon = addr.lastIndexOf(":");
    const hostname = addr.slice(0, colon);
    const port = Number(addr.slice(colon + 1));
    while (!this.stopped) {
      try {
        const conn = await Deno.connect({ hostname, port });
        if (this.stopped) {
          conn.close();
          break;
        }
        if ((await this.runPeer(conn, false)) === "self") return;
      } catch {
        // not up yet or gone: retry
      }
      await this.sleep(RETRY_MS);
    }
  }

  private async runPeer(conn: Deno.TcpConn, inbound: boolean): Promise<"self" | void> {
    const remote = conn.remoteAddr as Deno.NetAddr;
    const local = conn.localAddr as Deno.NetAddr;
    const peer = new Peer(
      this.nextId++,
      conn,
      inbound,
      `${remote.hostname}:${remote.port}`,
      `${local.hostname}:${local.port}`,
    );
    this.peers.set(peer.id, peer);
    this.host.log.info("peer connected", { peer: peer.id, addr: peer.addr, inbound });
    let self = false;
    try {
      const tip = this.host.chain.tip;
      await peer.send({
        type: "hello",
        version: PROTOCOL_VERSION,
        magic: toHex(this.host.chain.params.messageStart),
        nonce: this.nonce,
        subver: this.host.subver,
        tip: tip.hash,
        height: tip.height,
        chainwork: tip.chainWork.toString(16),
      });
      for await (
        const line of lines(conn, (n) => {
          peer.bytesRecv += n;
          peer.lastRecv = Math.floor(Date.now() / 1000);
        })
      ) {
        if (line.trim() === "") continue;
        const msg = JSON.parse(line) as Message;
        if (msg.type === "hello" && msg.nonce === this.nonce) {
          self = true;
          break;
        }
        await this.handle(peer, msg);
      }
    } catch (error) {
      if (!this.stopped) this.host.log.warn("peer error", { peer: peer.id, error: String(error) });
    } finally {
      peer.close();
      this.peers.delete(peer.id);
      if (!this.stopped) {
        this.host.log.info("peer disconnected", { peer: peer.id, addr: peer.addr });
      }
    }
    return self ? "self" : undefined;
  }

  private locator(peer: Peer): string[] {
    const chain = this.host.chain;
    const out: string[] = [];
    if (peer.lastReceived !== undefined && chain.index.has(peer.lastReceived)) {
      out.push(peer.lastReceived);
    }
    let step = 1;
    for (let h = chain.height; h > 0; h -= step) {
      out.push(chain.active[h].hash);
      if (out.length >= 10) step *= 2;
    }
    out.push(chain.active[0].hash);
    return out;
  }

  private requestBlocks(peer: Peer): void {
    if (peer.syncing) return;
    peer.syncing = true;
    void peer.send({ type: "getblocks", locator: this.locator(peer) });
  }

  private accept(peer: Peer, hex: string, onParsed?: (block: Block) => void): string | null {
    let block: Block;
    try {
      block = parseBlock(fromHex(hex, "peer block"), "peer block");
    } catch (error) {
      this.host.log.warn("undecodable block from peer", { peer: peer.id, error: String(error) });
      return "decode-failed";
    }
    onParsed?.(block);
    return this.host.acceptFromPeer(block, peer);
  }

  private async handle(peer: Peer, msg: Message): Promise<void> {
    const chain = this.host.chain;
    switch (msg.type) {
      case "hello": {
        const ours = toHex(chain.params.messageStart);
        if (msg.magic !== ours) {
          throw new Error(
            `peer is on another network (magic ${msg.magic ?? "none"}, ours ${ours})`,
          );
        }
        peer.subver = String(msg.subver);
        peer.startingHeight = Number(msg.height);
        if (BigInt("0x" + msg.chainwork) > chain.tip.chainWork) this.requestBlocks(peer);
        return;
      }
      case "getblocks": {
        const fork = msg.locator.map((h) => chain.index.get(h)).find((e) => e && chain.isActive(e));
        const blocks: string[] = [];
        let bytes = 0;
        let h = (fork?.height ?? 0) + 1;
        for (; h <= chain.height && blocks.length < BATCH_BLOCKS && bytes < BATCH_BYTES; h++) {
          const hex = toHex(chain.active[h].data as Uint8Array);
          blocks.push(hex);
          bytes += hex.length;
        }
        await peer.send({ type: "blocks", blocks, more: h <= chain.height });
        return;
      }
      case "blocks": {
        peer.syncing = false;
        for (const hex of msg.blocks) {
          let hash: string | undefined;
          const result = this.accept(
            peer,
            hex,
            (block) => (hash = hashToHex(blockHash(block.header))),
          );
          if (result === null || result === "duplicate" || result === "inconclusive") {
            peer.lastReceived = hash;
          }
          if (result !== null && result !== "duplicate" && result !== "inconclusive") {
            this.host.log.warn("peer block rejected", { peer: peer.id, reason: result });
            return;
          }
        }
        if (msg.more) this.requestBlocks(peer);
        return;
      }
      case "block": {
        const result = this.accept(peer, msg.hex);
        if (result === "prev-blk-not-found") this.requestBlocks(peer);
        else if (result !== null && result !== "duplicate" && result !== "inconclusive") {
          this.host.log.warn("peer block rejected", { peer: peer.id, reason: result });
        }
        return;
      }
      default:
        this.host.log.warn("unknown peer message", { peer: peer.id });
    }
  }
}
