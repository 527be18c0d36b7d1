/**
 * Relay-mode configuration: invalid combinations stop start-up with one line
 * naming the key (exit 2), before any node is contacted.
 */

import { assert, assertEquals } from "../assert.ts";
import { runEngineOnce, writeConfig } from "../../lib/harness/engine.ts";
import { requires } from "../harness/permissions.ts";

const TOKEN = "0123456789abcdef";

function base(): Record<string, unknown> {
  return { btcd: [{ url: "127.0.0.1:1", auth: "u", pass: "p" }] };
}

const cases: Array<[string, (c: Record<string, unknown>) => void, string]> = [
  ["passthrough without primary host", (c) => {
    c.mode = "passthrough";
    c.primary = { auth_token: TOKEN };
  }, 'config: primary.host is required when mode is "passthrough"'],
  ["passthrough without a token", (c) => {
    c.mode = "passthrough";
    c.primary = { host: "127.0.0.1" };
  }, 'config: primary.auth_token is required when mode is "passthrough"'],
  ["a token shorter than 16 bytes", (c) => {
    c.mode = "passthrough";
    c.primary = { host: "127.0.0.1", auth_token: "short" };
  }, "config: primary.auth_token must be at least 16 characters"],
  ["a short token on a primary", (c) => {
    c.primary = { auth_token: "short" };
  }, "config: primary.auth_token must be at least 16 characters"],
  ["template_push_port out of range", (c) => {
    c.mode = "passthrough";
    c.primary = { host: "127.0.0.1", auth_token: TOKEN, template_push_port: 0 };
  }, "config: primary.template_push_port must be 1-65535"],
  ["failover_threshold out of range", (c) => {
    c.mode = "passthrough";
    c.primary = { host: "127.0.0.1", auth_token: TOKEN, failover_threshold: 0 };
  }, "config: primary.failover_threshold must be 1-3600"],
  ["mode unknown", (c) => (c.mode = "relay"), 'config: mode must be "primary" or "passthrough"'],
  ["relay.tls on a primary without a key", (c) => {
    c.primary = { auth_token: TOKEN };
    c.relay = { tls: { cert: "/etc/relay.pem" } };
  }, "config: relay.tls.cert and relay.tls.key are required on a primary"],
  ["relay.tls on a relay without ca or pin", (c) => {
    c.mode = "passthrough";
    c.primary = { host: "127.0.0.1", auth_token: TOKEN };
    c.relay = { tls: {} };
  }, "config: relay.tls needs ca or pin_sha256 (or both) on a relay"],
  ["a pin that is not 64 hex digits", (c) => {
    c.mode = "passthrough";
    c.primary = { host: "127.0.0.1", auth_token: TOKEN };
    c.relay = { tls: { pin_sha256: ["ab".repeat(32), "xyz"] } };
  }, "config: relay.tls.pin_sha256[1] must be 64 hex digits"],
  ["relay.tls not an object", (c) => {
    c.relay = { tls: true };
  }, "config: relay.tls must be an object"],
];

for (const [what, edit, message] of cases) {
  requires({
    name: `relay config: ${what} stops start-up`,
    permissions: ["run", "read", "write", "env"],
    fn: async () => {
      const dir = await Deno.makeTempDir({ prefix: "ckpool-relay-config-" });
      try {
        const config = base();
        edit(config);
        const path = await writeConfig(dir, config);
        const { code, stderr } = await runEngineOnce(["-c", path]);
        assertEquals(code, 2);
        const lines = stderr.trim().split("\n");
        assertEquals(lines.length, 1, stderr);
        assert(lines[0].startsWith(message), `${lines[0]} should start with ${message}`);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}
