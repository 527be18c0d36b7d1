/**
 * The primary's relay port refuses a wrong token, a replayed handshake,
 * garbage bytes and an oversize frame, counts each in /metrics, and keeps
 * serving the real relay meanwhile (link stays up, new templates arrive).
 * The frames are built here from docs/relay-protocol.md.
 */

import { assert, assertEquals } from "../assert.ts";
import { scrapeMetrics } from "../../lib/harness/engine.ts";
import { type RequiredTest, requires, SERVICE_PERMISSIONS } from "../harness/permissions.ts";
import { waitFor } from "../../lib/ports.ts";
import {
  connectMiner,
  mineShare,
  prevhashHex,
  regtestAddress,
  submitShare,
} from "../../lib/harness/stratum_miner.ts";
import { jobSeen, startTopology } from "./_topology.ts";

const relayTest = (test: RequiredTest) => requires({ ...test, unstableNet: true });

const HELLO = 1, CHALLENGE = 2, AUTH = 3, AUTH_OK = 4, AUTH_FAIL = 5;

function frame(
  type: number,
  payload: Uint8Array,
  declaredLength = payload.length,
): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(8 + payload.length);
  out.set([0x54, 0x42, 1, type]);
  new DataView(out.buffer).setUint32(4, declaredLength);
  out.set(payload, 8);
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const text = (s: string) => new TextEncoder().encode(s);
const short = (s: string) => concat(Uint8Array.of(s.length), text(s));

/** Relay protocol version (HELLO): 2 = binary templates (docs/relay-protocol.md). */
const PROTOCOL_VERSION = 2;

function hello(region: string, instance: string, clientNonce: Uint8Array): Uint8Array {
  return frame(
    HELLO,
    concat(Uint8Array.of(PROTOCOL_VERSION), short(region), short(instance), clientNonce),
  );
}

async function relayProof(
  token: string,
  serverNonce: Uint8Array,
  clientNonce: Uint8Array,
  region: string,
  instance: string,
): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey(
    "raw",
    text(token),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const msg = concat(
    text("tbg-relay-v1 relay"),
    serverNonce,
    clientNonce,
    short(region),
    short(instance),
  );
  return new Uint8Array(await crypto.subtle.sign("HMAC", key, msg));
}

/** A raw connection to the relay port that reads whole frames. */
class RawLink {
  #buf: Uint8Array<ArrayBuffer> = new Uint8Array(0);
  private constructor(readonly conn: Deno.TcpConn) {}

  static async open(port: number) {
    return new RawLink(await Deno.connect({ hostname: "127.0.0.1", port }));
  }

  async write(bytes: Uint8Array) {
    let at = 0;
    while (at < bytes.length) at += await this.conn.write(bytes.subarray(at));
  }

  /** The next frame, or null when the peer closed. */
  async read(): Promise<{ type: number; payload: Uint8Array } | null> {
    while (true) {
      if (this.#buf.length >= 8) {
        const len = new DataView(this.#buf.buffer, this.#buf.byteOffset).getUint32(4);
        if (this.#buf.length >= 8 + len) {
          const f = { type: this.#buf[3], payload: this.#buf.slice(8, 8 + len) };
          this.#buf = this.#buf.slice(8 + len);
          return f;
        }
      }
      const chunk = new Uint8Array(65536);
      const n = await this.conn.read(chunk).catch(() => null);
      if (n === null) return null;
      this.#buf = concat(this.#buf, chunk.subarray(0, n));
    }
  }

  /** Reads until the peer closes; the frame types seen. */
  async drainUntilClosed(): Promise<number[]> {
    const types: number[] = [];
    for (let f = await this.read(); f; f = await this.read()) types.push(f.type);
    return types;
  }

  close() {
    try {
      this.conn.close();
    } catch {
      // already closed
    }
  }
}

/** HELLO, CHALLENGE, then `auth` as the AUTH payload; the reply's frame type. */
async function handshake(
  port: number,
  nonce: Uint8Array,
  auth: (serverNonce: Uint8Array) => Promise<Uint8Array>,
): Promise<{ reply: number | undefined; sent: Uint8Array }> {
  const link = await RawLink.open(port);
  try {
    await link.write(hello("evil", "intruder", nonce));
    const challenge = await link.read();
    assertEquals(challenge?.type, CHALLENGE);
    const sent = await auth(challenge!.payload);
    await link.write(frame(AUTH, sent));
    const reply = await link.read();
    return { reply: reply?.type, sent };
  } finally {
    link.close();
  }
}

relayTest({
  name: "relay: bad tokens, replays, garbage and oversize frames are refused and counted",
  permissions: SERVICE_PERMISSIONS,
  fn: async () => {
    const topo = await startTopology({ relays: ["us-east"] });
    const relay = topo.relays[0];
    const address = regtestAddress();
    const relayMiner = await connectMiner(relay.engine, address);
    const primaryMiner = await connectMiner(topo.primary.engine, address);
    try {
      const port = topo.relayPort;
      const nonce = crypto.getRandomValues(new Uint8Array(32));

      // Wrong token.
      const wrong = await handshake(
        port,
        nonce,
        (sn) => relayProof("not-the-token-at-all", sn, nonce, "evil", "intruder"),
      );
      assertEquals(wrong.reply, AUTH_FAIL);

      // A genuine proof, then the same bytes replayed on a new connection.
      const genuine = await handshake(
        port,
        nonce,
        (sn) => relayProof(topo.token, sn, nonce, "evil", "intruder"),
      );
      assertEquals(genuine.reply, AUTH_OK, "the recorded handshake was valid");
      const replay = await handshake(port, nonce, () => Promise.resolve(genuine.sent));
      assertEquals(replay.reply, AUTH_FAIL);

      // Garbage bytes.
      const garbage = await RawLink.open(port);
      await garbage.write(text("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
      assertEquals(await garbage.drainUntilClosed(), []);
      garbage.close();

      // An oversize frame: HELLO declaring 16 MiB (the cap is 225 bytes).
      const oversize = await RawLink.open(port);
      await oversize.write(frame(HELLO, new Uint8Array(0), 16 * 1024 * 1024));
      assertEquals(await oversize.drainUntilClosed(), []);
      oversize.close();

      const m = await waitFor(async () => {
        const m = await scrapeMetrics(topo.primary.engine);
        return (m.get("ckpool_relay_auth_failures_total") ?? 0) >= 2 &&
            (m.get('ckpool_relay_frames_rejected_total{reason="bad_magic"}') ?? 0) >= 1 &&
            (m.get('ckpool_relay_frames_rejected_total{reason="oversize"}') ?? 0) >= 1 &&
            // the raw relay that authenticated has closed; the primary sees it soon after
            m.get("ckpool_relay_connected_relays") === 1
          ? m
          : null;
      }, { what: "the refusals counted" });
      assertEquals(m.get("ckpool_relay_auth_failures_total"), 2);
      assertEquals(m.get("ckpool_relay_connected_relays"), 1, "only the real relay");

      // The real relay was never disturbed and still gets new templates.
      const relayMetrics = await scrapeMetrics(relay.engine);
      assertEquals(relayMetrics.get("ckpool_relay_link_up"), 1);
      assertEquals(relayMetrics.get("ckpool_relay_link_reconnects_total"), 0);
      const share = mineShare(primaryMiner.client, primaryMiner.job, { difficulty: 1e-9 });
      assertEquals(await submitShare(primaryMiner.client, address, share), {
        result: true,
        error: null,
      });
      const next = await jobSeen(relayMiner.client, (j) => prevhashHex(j) === share.hashHex);
      assert(next.cleanJobs);
    } finally {
      await relayMiner.client.close();
      await primaryMiner.client.close();
      await topo.close();
    }
  },
});
