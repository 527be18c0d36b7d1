/**
 * Compose creates stream MINING_EVENTS from the one definition
 * (functions/lib/stream.json): the one-shot nats-init service runs
 * nats/init.ts from the functions image, which carries functions/lib/, and
 * every publisher and the collector start only after it succeeded.
 */

import assert from "node:assert/strict";
import { requires } from "../harness/permissions.ts";
import { loadCompose, readEnvFile, REPO, VARIANTS } from "./_compose.ts";

const PERMS = ["read", "env"] as const;

for (const variant of Object.keys(VARIANTS) as Array<keyof typeof VARIANTS>) {
  requires({
    name: `compose stream: nats-init creates it before any publisher or the collector [${variant}]`,
    permissions: PERMS,
    fn() {
      const compose = loadCompose(readEnvFile(`${REPO}.env.example`), VARIANTS[variant]);
      const init = compose.services["nats-init"];
      assert.ok(init, "compose.yaml has no nats-init service");
      assert.equal(init.command?.at(-1), "nats/init.ts");
      assert.equal(init.restart, "no");
      assert.equal(init.depends_on?.["nats-hub"]?.condition, "service_healthy");
      const users = Object.entries(compose.services).filter(([, s]) =>
        (s.command ?? []).some((arg) =>
          arg === "functions/publisher/main.ts" || arg === "functions/collector/main.ts"
        )
      );
      assert.ok(users.length >= 4, `expected 3 publishers and the collector, got ${users.length}`);
      for (const [name, s] of users) {
        assert.equal(
          s.depends_on?.["nats-init"]?.condition,
          "service_completed_successfully",
          `${name} must wait for nats-init`,
        );
      }
    },
  });
}

requires({
  name: "compose stream: nats/init.ts uses functions/lib/stream.ts, which the image copies",
  permissions: PERMS,
  fn() {
    const init = Deno.readTextFileSync(`${REPO}nats/init.ts`);
    assert.match(init, /from "\.\.\/functions\/lib\/stream\.ts"/);
    const stream = Deno.readTextFileSync(`${REPO}functions/lib/stream.ts`);
    assert.match(stream, /from "\.\/stream\.json" with \{ type: "json" \}/);
    const dockerfile = Deno.readTextFileSync(`${REPO}functions/Dockerfile`);
    assert.match(dockerfile, /^COPY .*functions\/ \.\/functions\/$/m);
    assert.match(dockerfile, /^COPY .*nats\/ \.\/nats\/$/m);
  },
});
