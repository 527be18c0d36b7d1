/**
 * The relay link over TLS (docs/relay-protocol.md, "TLS"): a primary with a
 * certificate from a private CA; one relay trusts the CA, one pins the key
 * (a two-entry pin list, as during a key rotation). Both links come up over
 * TLS, a new block's template reaches them and a block found on a relay goes
 * up to the primary. Then the refusals, each with its specific reason in
 * the log and in ckpool_relay_tls_failures_total: a wrong pin, a plaintext
 * relay on the TLS port, a certificate from another CA, an expired
 * certificate. Certificates come from the openssl CLI (lib/tls_certs.ts).
 */

import { assert, assertEquals } from "../assert.ts";
import {
  type Engine,
  passthroughOverrides,
  primaryOverrides,
  scrapeMetrics,
  startEngine,
  waitForLog,
} from "../../lib/harness/engine.ts";
import { type RequiredTest, requires, SERVICE_PERMISSIONS } from "../harness/permissions.ts";
import { freePort, waitFor } from "../../lib/ports.ts";
import {
  connectMiner,
  mineShare,
  regtestAddress,
  submitShare,
} from "../../lib/harness/stratum_miner.ts";
import { makeCa, makeSelfSigned, makeServerCert, notAfter, spkiPin } from "../../lib/tls_certs.ts";
import { startTopology, waitForHeight } from "./_topology.ts";

/** Above regtest's network difficulty: every share found is a block. */
const BLOCK_DIFFICULTY = 1e-9;

const relayTest = (test: RequiredTest) => requires({ ...test, unstableNet: true });

const tlsFailures = (reason: string) => `ckpool_relay_tls_failures_total{reason="${reason}"}`;

async function metric(engine: Engine, name: string): Promise<number> {
  return (await scrapeMetrics(engine)).get(name) ?? 0;
}

function waitForMetric(engine: Engine, name: string, atLeast = 1): Promise<unknown> {
  return waitFor(async () => (await metric(engine, name)) >= atLeast, {
    what: `${name} >= ${atLeast}`,
    timeoutMs: 20_000,
  });
}

relayTest({
  name: "relay TLS: CA-trusting and pinning relays link up; templates go down, blocks go up",
  permissions: SERVICE_PERMISSIONS,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "relay-tls-" });
    const ca = await makeCa(dir);
    const server = await makeServerCert(dir, ca);
    const pin = await spkiPin(server.cert);
    // The key a rotation would move to, listed before it is in use.
    const nextPin = await spkiPin((await makeSelfSigned(dir, "next-key")).cert);
    const topo = await startTopology({
      primaryTls: { cert: server.cert, key: server.key },
      relayTls: (name) => name === "us-east" ? { ca: ca.cert } : { pin_sha256: [nextPin, pin] },
    }).catch(async (e) => {
      await Deno.remove(dir, { recursive: true });
      throw e;
    });
    try {
      // Both links are TLS: a handshake on each relay and two on the primary, no failures.
      for (const relay of topo.relays) {
        assert((await metric(relay.engine, "ckpool_relay_tls_handshakes_total")) >= 1);
        assertEquals(await metric(relay.engine, "ckpool_relay_link_up"), 1);
      }
      assert((await metric(topo.primary.engine, "ckpool_relay_tls_handshakes_total")) >= 2);
      assertEquals(await metric(topo.primary.engine, tlsFailures("plaintext_peer")), 0);

      // A new block on the primary's node: its template reaches every relay over the link.
      const before = await Promise.all(
        topo.relays.map((r) => metric(r.engine, "ckpool_relay_templates_received_total")),
      );
      const height = await topo.primary.node.rpc<number>("getblockcount");
      await topo.primary.node.rpc("generatetoaddress", [1, regtestAddress()]);
      await waitForHeight([topo.primary.node, ...topo.relays.map((r) => r.node)], height + 1);
      for (const [i, relay] of topo.relays.entries()) {
        await waitForMetric(relay.engine, "ckpool_relay_templates_received_total", before[i] + 1);
      }

      // A block found on the pinning relay goes up the TLS link to the primary.
      const relay = topo.relays[1];
      const address = regtestAddress();
      const { client, job } = await connectMiner(relay.engine, address);
      try {
        const share = mineShare(client, job, { difficulty: BLOCK_DIFFICULTY });
        assert(share.isBlock);
        assertEquals(await submitShare(client, address, share), { result: true, error: null });
        await waitForMetric(
          topo.primary.engine,
          `ckpool_relay_blocks_received_total{region="${relay.name}",pool_instance="${relay.engine.config.pool_instance}"}`,
        );
      } finally {
        await client.close();
      }
    } finally {
      await topo.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

/** A relay engine on `node` dialing the primary's relay port, with `tls` (or plaintext). */
function startRelay(
  topo: { relayPort: number; token: string; primary: { node: Parameters<typeof startEngine>[0] } },
  region: string,
  tls: Record<string, unknown> | undefined,
  relayPort = topo.relayPort,
): Promise<Engine> {
  return startEngine(topo.primary.node, {
    ...passthroughOverrides({ relayPort, authToken: topo.token, region, reconnectInterval: 1 }),
    ...(tls ? { relay: { tls } } : {}),
  }, { readyOn: "metrics" });
}

/** The relay's "TLS connection to primary failed" line with `reason`. */
function tlsFailureLogged(engine: Engine, reason: string) {
  return waitForLog(
    engine,
    (l) => l.msg === "TLS connection to primary failed" && l.reason === reason,
    `TLS failure ${reason}`,
  );
}

relayTest({
  name: "relay TLS: wrong pin, plaintext relay, other CA and expired certificate are refused",
  permissions: SERVICE_PERMISSIONS,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "relay-tls-" });
    const ca = await makeCa(dir);
    const otherCa = await makeCa(dir, "other-ca");
    const server = await makeServerCert(dir, ca);
    const expired = await makeServerCert(dir, ca, "expired-primary", { days: 0 });
    const wrongPin = await spkiPin((await makeSelfSigned(dir, "wrong-key")).cert);
    const topo = await startTopology({
      relays: [],
      primaryTls: { cert: server.cert, key: server.key },
    }).catch(async (e) => {
      await Deno.remove(dir, { recursive: true });
      throw e;
    });
    const engines: Engine[] = [];
    try {
      const primary = topo.primary.engine;
      // Wrong pin: the relay refuses the primary's key and names it.
      const pinned = await startRelay(topo, "us-east", { pin_sha256: wrongPin });
      engines.push(pinned);
      const pinLine = await tlsFailureLogged(pinned, "pin_mismatch");
      assert(
        String(pinLine.detail).includes(await spkiPin(server.cert)),
        `the detail names the key seen: ${pinLine.detail}`,
      );
      await waitForMetric(pinned, tlsFailures("pin_mismatch"));
      // The relay's alert reaches the primary, which counts the refusal.
      await waitForMetric(primary, tlsFailures("peer_refused"));

      // A plaintext relay on the TLS port: the primary names it.
      const plain = await startRelay(topo, "asia", undefined);
      engines.push(plain);
      const plainLine = await waitForLog(
        primary,
        (l) => l.msg === "relay TLS connection failed" && l.reason === "plaintext_peer",
        "plaintext relay refused",
      );
      assert(String(plainLine.detail).includes("plaintext relay frame"), String(plainLine.detail));
      await waitForMetric(primary, tlsFailures("plaintext_peer"));
      // The plaintext relay hears only a close; its log says what to check.
      await waitForLog(
        plain,
        (l) => String(l.reason).includes("before CHALLENGE (does it require TLS? relay.tls)"),
        "the plaintext relay's hint",
      );

      // A primary certificate from a CA the relay does not trust.
      const stranger = await startRelay(topo, "sa-east", { ca: otherCa.cert });
      engines.push(stranger);
      const caLine = await tlsFailureLogged(stranger, "bad_certificate");
      assert(String(caLine.detail).includes("issuer"), String(caLine.detail));
      await waitForMetric(stranger, tlsFailures("bad_certificate"));

      // An expired certificate from the right CA, served by a second primary.
      await waitFor(async () => Date.now() > (await notAfter(expired.cert)).getTime() + 1000, {
        what: "the certificate expired",
        timeoutMs: 5_000,
      });
      const expiredPort = freePort();
      const oldPrimary = await startEngine(topo.primary.node, {
        ...primaryOverrides(topo.token, expiredPort),
        relay: { tls: { cert: expired.cert, key: expired.key } },
      });
      engines.push(oldPrimary);
      const late = await startRelay(topo, "ap-south", { ca: ca.cert }, expiredPort);
      engines.push(late);
      const expiredLine = await tlsFailureLogged(late, "certificate_expired");
      assert(String(expiredLine.detail).includes("expired"), String(expiredLine.detail));

      // None of them ever got a link; the primary has no relay.
      for (const relay of [pinned, plain, stranger, late]) {
        assertEquals(await metric(relay, "ckpool_relay_link_up"), 0);
      }
      assertEquals(await metric(primary, "ckpool_relay_connected_relays"), 0);
    } finally {
      for (const e of engines.reverse()) await e.stop();
      await topo.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
