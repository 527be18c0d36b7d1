/**
 * lib/tls_certs.ts: ensureServerCerts makes a CA and a server
 * certificate that verifies against it for 127.0.0.1 and localhost, keeps
 * both on the next start, and issues the server certificate again (same CA)
 * when it is gone.
 */

import assert from "node:assert/strict";
import { requires } from "../harness/permissions.ts";
import { ensureServerCerts, spkiPin } from "../../lib/tls_certs.ts";

async function openssl(args: string[]): Promise<{ ok: boolean; out: string }> {
  const out = await new Deno.Command("openssl", { args, stdout: "piped", stderr: "piped" })
    .output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  return { ok: out.success, out: text };
}

requires({
  name: "tls certs: made once, verified by their CA for 127.0.0.1, kept, reissued when gone",
  permissions: ["run", "read", "write"],
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "tbg-tls-certs-" });
    const files = {
      ca: { cert: `${dir}/tls/ca.pem`, key: `${dir}/tls/ca.key` },
      server: { cert: `${dir}/tls/server.pem`, key: `${dir}/tls/server.key` },
    };
    try {
      await Promise.all([ensureServerCerts(files), ensureServerCerts(files)]);
      for (const host of [["-verify_ip", "127.0.0.1"], ["-verify_hostname", "localhost"]]) {
        const v = await openssl(["verify", "-CAfile", files.ca.cert, ...host, files.server.cert]);
        assert.ok(v.ok, v.out);
      }
      const caPin = await spkiPin(files.ca.cert);
      const serverPin = await spkiPin(files.server.cert);
      await ensureServerCerts(files);
      assert.equal(await spkiPin(files.server.cert), serverPin, "kept on the next start");
      await Deno.remove(files.server.cert);
      await ensureServerCerts(files);
      assert.notEqual(await spkiPin(files.server.cert), serverPin, "a new server key");
      assert.equal(await spkiPin(files.ca.cert), caPin, "from the same CA");
      const v = await openssl(["verify", "-CAfile", files.ca.cert, files.server.cert]);
      assert.ok(v.ok, v.out);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
