/**
 * A primary and its relays on loopback for the relay-mode tests: one node per
 * region (regtest, or the OP_TRUE signet with `chain: "signet"`; relay nodes
 * peered to the primary's), one engine per region (the primary accepting
 * relays on a free port, each relay in passthrough mode) and one event
 * socket per engine.
 */

import {
  type BitcoinNode,
  type BitcoinNodeOptions,
  startBitcoinNode,
} from "../../lib/harness/bitcoin_node.ts";
import {
  type Engine,
  passthroughOverrides,
  primaryOverrides,
  relayToken,
  scrapeMetrics,
  startEngine,
} from "../../lib/harness/engine.ts";
import { freePort, waitFor } from "../../lib/ports.ts";
import type { StratumClient } from "../../lib/stratum/client.ts";
import { type Job, parseNotify } from "../../lib/stratum/job.ts";

export interface Envelope {
  event: string;
  ts: number;
  region: string;
  pool_instance: string;
  seq: number;
  data: Record<string, unknown>;
}

/** A consumer on an engine's event socket (Deno.listenDatagram, unixpacket). */
export class EventSink {
  readonly events: Envelope[] = [];
  readonly path: string;
  #socket: Deno.DatagramConn;
  #reading: Promise<void>;

  constructor(readonly dir: string) {
    this.path = `${dir}/events.sock`;
    const socket = Deno.listenDatagram({ transport: "unixpacket", path: this.path });
    this.#socket = socket;
    this.#reading = (async () => {
      try {
        for await (const [bytes] of socket) {
          this.events.push(JSON.parse(new TextDecoder().decode(bytes)));
        }
      } catch {
        // closed
      }
    })();
  }

  /** Waits for an event `name` whose data matches; returns it. */
  find(
    name: string,
    match: (d: Record<string, unknown>, e: Envelope) => boolean = () => true,
    timeoutMs = 20_000,
  ): Promise<Envelope> {
    return waitFor(() => this.events.find((e) => e.event === name && match(e.data, e)), {
      what: `event ${name}`,
      timeoutMs,
    });
  }

  async close() {
    this.#socket.close();
    await this.#reading;
  }
}

export interface Region {
  name: string;
  node: BitcoinNode;
  engine: Engine;
  sink: EventSink;
}

export interface Topology {
  token: string;
  relayPort: number;
  primary: Region;
  relays: Region[];
  close(): Promise<void>;
}

export interface TopologyOptions {
  relays?: string[];
  failoverThreshold?: number;
  /** Extra overrides for every engine. */
  overrides?: Record<string, unknown>;
  /** Options of every relay's node (they are always peered to the primary's). */
  relayNode?: BitcoinNodeOptions;
  /** Every node's chain: regtest (default) or the OP_TRUE signet (-signetchallenge=51). */
  chain?: "regtest" | "signet";
  /** The primary's `relay.tls` ({cert, key}); absent: plaintext relay link. */
  primaryTls?: Record<string, unknown>;
  /** Each relay's `relay.tls` ({ca and/or pin_sha256}), by relay name. */
  relayTls?: (name: string) => Record<string, unknown> | undefined;
}

/** `relay.tls` as config overrides (none when tls is undefined). */
function tlsOverrides(tls: Record<string, unknown> | undefined): Record<string, unknown> {
  return tls ? { relay: { tls } } : {};
}

/** Starts the nodes and engines; every relay has its primary link up and a template. */
export async function startTopology(opts: TopologyOptions = {}): Promise<Topology> {
  const dir = await Deno.makeTempDir({ prefix: "ckpool-relay-" });
  const token = relayToken();
  const relayPort = freePort();
  const cleanups: Array<() => Promise<unknown>> = [];
  const badExits: string[] = [];
  const close = async () => {
    for (const fn of cleanups.reverse()) await fn().catch(() => {});
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    if (badExits.length) throw new Error(`engines did not exit 0:\n${badExits.join("\n")}`);
  };
  try {
    const start = async (
      name: string,
      node: BitcoinNode,
      overrides: Record<string, unknown>,
    ): Promise<Region> => {
      const sinkDir = `${dir}/${name}`;
      await Deno.mkdir(sinkDir);
      const sink = new EventSink(sinkDir);
      cleanups.push(() => sink.close());
      const engine = await startEngine(node, {
        region: name,
        pool_instance: `ckpool-${name}`,
        events: { enabled: true, socket_path: sink.path },
        ...opts.overrides,
        ...overrides,
      }, { readyTimeoutMs: 30_000 });
      cleanups.push(async () => {
        const code = await engine.stop();
        if (code !== 0) badExits.push(`${name}: exit ${code}\n${engine.logs().slice(-3000)}`);
      });
      return { name, node, engine, sink };
    };
    const chain = opts.chain ?? "regtest";
    const primaryNode = await startBitcoinNode({ chain });
    cleanups.push(() => primaryNode.stop());
    const primary = await start("eu", primaryNode, {
      ...primaryOverrides(token, relayPort),
      ...tlsOverrides(opts.primaryTls),
    });
    const relays: Region[] = [];
    for (const name of opts.relays ?? ["us-east", "asia"]) {
      const node = await startBitcoinNode({
        chain,
        ...opts.relayNode,
        addnode: [`127.0.0.1:${primaryNode.p2pPort}`],
      });
      cleanups.push(() => node.stop());
      relays.push(
        await start(
          name,
          node,
          {
            ...passthroughOverrides({
              relayPort,
              authToken: token,
              region: name,
              failoverThreshold: opts.failoverThreshold ?? 10,
              reconnectInterval: 1,
            }),
            ...tlsOverrides(opts.relayTls?.(name)),
          },
        ),
      );
    }
    for (const relay of relays) await waitForLinkUp(relay.engine);
    return { token, relayPort, primary, relays, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** Waits until a relay's link to the primary is up. */
export function waitForLinkUp(engine: Engine): Promise<unknown> {
  return waitFor(async () => (await scrapeMetrics(engine)).get("ckpool_relay_link_up") === 1, {
    what: "relay link up",
    timeoutMs: 20_000,
  });
}

/** Waits until every node is at `height` or above. */
export function waitForHeight(nodes: BitcoinNode[], height: number): Promise<unknown> {
  return waitFor(async () => {
    for (const node of nodes) {
      if ((await node.rpc<number>("getblockcount")) < height) return false;
    }
    return true;
  }, { what: `every node at height ${height}`, timeoutMs: 20_000 });
}

/** The first job this client was ever sent that matches (already seen, or the next one). */
export function jobSeen(
  client: StratumClient,
  match: (job: Job) => boolean,
  timeoutMs = 20_000,
): Promise<Job> {
  const seen = client.notifications.filter((n) => n.method === "mining.notify")
    .map((n) => parseNotify(n.params)).find(match);
  return seen ? Promise.resolve(seen) : client.waitForJob(match, timeoutMs);
}
