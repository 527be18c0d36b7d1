/**
 * The production NATS configs over TLS: nats/hub.conf and nats/leaf.conf as
 * they are (only their fixed ports and store directory moved to free ones),
 * with certificates from a private CA (lib/tls_certs.ts). Both hub
 * ports demand TLS; a client that trusts the CA (NATS_TLS_CA, as the
 * functions use it) connects and runs nats:init; one that does not is
 * refused; an event published on a relay's leaf node reaches the hub's
 * subscriber across the TLS leaf link.
 */

import { deepStrictEqual as assertEquals, ok, rejects } from "node:assert/strict";
import { requires, SERVICE_PERMISSIONS } from "../harness/permissions.ts";
import { launchService, type ServiceHandle } from "../../lib/harness/service.ts";
import { freePort, waitFor } from "../../lib/ports.ts";
import { commandPath } from "../../stack/supervisor/which.ts";
import { makeCa, makeServerCert } from "../../lib/tls_certs.ts";
import { connectNats } from "../../functions/lib/nats_connect.ts";
import { initNats } from "../../nats/init.ts";

const REPO = new URL("../../", import.meta.url).pathname;

/** The config file's text with `from` replaced (it must be there). */
function moved(text: string, from: string, to: string): string {
  ok(text.includes(from), `the config has '${from}'`);
  return text.replace(from, to);
}

/** The first line a NATS port sends: INFO {...}. */
async function serverInfo(port: number): Promise<Record<string, unknown>> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const buf = new Uint8Array(4096);
    let text = "";
    while (!text.includes("\r\n")) {
      const n = await conn.read(buf);
      if (n === null) break;
      text += new TextDecoder().decode(buf.subarray(0, n));
    }
    ok(text.startsWith("INFO "), text);
    return JSON.parse(text.slice(5, text.indexOf("\r\n")));
  } finally {
    conn.close();
  }
}

function startNatsConfig(
  name: string,
  dir: string,
  conf: string,
  env: Record<string, string>,
  clientPort: number,
): Promise<ServiceHandle> {
  return launchService({
    name,
    command: () => ({ cmd: commandPath("nats-server"), args: ["-c", conf], env }),
    ready: async () => {
      try {
        (await Deno.connect({ hostname: "127.0.0.1", port: clientPort })).close();
        return true;
      } catch {
        return false;
      }
    },
    stopSignal: "SIGINT",
    logPath: `${dir}/${name}.log`,
    ownedDirs: [],
  });
}

requires({
  name: "nats TLS: hub.conf demands TLS on both ports; the CA's clients and leaf nodes get through",
  permissions: SERVICE_PERMISSIONS,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "tbg-nats-tls-" });
    const services: ServiceHandle[] = [];
    const closers: Array<() => Promise<void>> = [];
    try {
      const ca = await makeCa(dir, "nats-ca");
      const hubCert = await makeServerCert(dir, ca, "nats-hub", {
        names: ["localhost", "nats-hub"],
        ips: ["127.0.0.1"],
      });
      const [hubPort, hubHttp, leafPort, leafClientPort] = [
        freePort(),
        freePort(),
        freePort(),
        freePort(),
      ];
      let hub = await Deno.readTextFile(`${REPO}nats/hub.conf`);
      hub = moved(hub, "listen: 127.0.0.1:4222", `listen: 127.0.0.1:${hubPort}`);
      hub = moved(hub, "http: 127.0.0.1:8222", `http: 127.0.0.1:${hubHttp}`);
      hub = moved(hub, 'store_dir: ".data/nats"', `store_dir: "${dir}/store"`);
      hub = moved(hub, "listen: 0.0.0.0:7422", `listen: 127.0.0.1:${leafPort}`);
      await Deno.writeTextFile(`${dir}/hub.conf`, hub);
      const leaf = moved(
        await Deno.readTextFile(`${REPO}nats/leaf.conf`),
        "listen: 127.0.0.1:4222",
        `listen: 127.0.0.1:${leafClientPort}`,
      );
      await Deno.writeTextFile(`${dir}/leaf.conf`, leaf);

      // A letter first: nats-server parses a substituted variable as a config
      // value, and one starting with a digit is read as a number (nats/hub.conf).
      const password = `leaf-${crypto.randomUUID()}`;
      services.push(
        await startNatsConfig("nats-hub", dir, `${dir}/hub.conf`, {
          NATS_TLS_CERT: hubCert.cert,
          NATS_TLS_KEY: hubCert.key,
          LEAF_PASSWORD: password,
        }, hubPort),
      );

      // Both hub ports say TLS is required before anything else is sent.
      assertEquals((await serverInfo(hubPort)).tls_required, true);
      assertEquals((await serverInfo(leafPort)).tls_required, true);

      // A client without the CA is refused: the certificate does not verify.
      const hubUrl = `nats://127.0.0.1:${hubPort}`;
      await rejects(
        connectNats({ servers: hubUrl, name: "stranger", waitOnFirstConnect: false }),
        /cannot connect.*certificate/i,
      );
      // With the CA: nats:init creates the stream over TLS.
      assertEquals(await initNats(hubUrl, ca.cert), { stream: "created", consumer: "created" });

      services.push(
        await startNatsConfig("nats-leaf", dir, `${dir}/leaf.conf`, {
          LEAF_NAME: "nats-leaf-relay-us",
          HUB_URL: `nats-leaf://leaf:${password}@localhost:${leafPort}`,
          NATS_TLS_CA: ca.cert,
        }, leafClientPort),
      );
      const hubClient = await connectNats({
        servers: hubUrl,
        name: "hub-subscriber",
        waitOnFirstConnect: false,
        tlsCaFile: ca.cert,
      });
      closers.push(() => hubClient.close());
      const got: string[] = [];
      hubClient.subscribe("tls.check.>", {
        callback: (_e, m) => {
          got.push(m.string());
        },
      });
      await hubClient.flush();
      // The region's publisher talks to its leaf on loopback, without TLS.
      const leafClient = await connectNats({
        servers: `nats://127.0.0.1:${leafClientPort}`,
        name: "leaf-publisher",
        waitOnFirstConnect: false,
      });
      closers.push(() => leafClient.close());
      // Publish until the leaf link (TLS) carries the subscription's interest.
      await waitFor(async () => {
        leafClient.publish("tls.check.us-east", "across the leaf link");
        await leafClient.flush();
        return got.length > 0;
      }, { what: "a message across the TLS leaf link", timeoutMs: 15_000, intervalMs: 100 });
      assertEquals(got[0], "across the leaf link");
    } finally {
      for (const close of closers.reverse()) await close().catch(() => {});
      for (const s of services.reverse()) await s.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
