/** Malformed datagrams are dead-lettered and counted, and the stream continues. */

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { requires, SERVICE_PERMISSIONS } from "../harness/permissions.ts";
import { waitFor } from "../../lib/ports.ts";
import { FakeEngine } from "../../lib/harness/fake_engine.ts";
import { metric } from "../../lib/harness/functions.ts";
import { startPipeline, waitForAll } from "../../lib/harness/pipeline.ts";

requires({
  name: "publisher: malformed datagrams go to the dead-letter file, counted; valid ones flow",
  permissions: SERVICE_PERMISSIONS,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const stack = await startPipeline({ region: "eu" });
    const engine = new FakeEngine({ region: "eu", clientPath: `${stack.dir}/engine-client.sock` });
    const enc = new TextEncoder();
    try {
      const bad: Array<[Uint8Array, string]> = [
        [enc.encode("not json"), "payload is not JSON"],
        [new Uint8Array([0xff, 0xfe, 0x00, 0x80]), "payload is not valid UTF-8"],
        [
          enc.encode(JSON.stringify({ ...engine.next(), event: "ShareSubmitted" })),
          "is not a known event type",
        ],
        [enc.encode(JSON.stringify({ ...engine.next(), region: "eu.west" })), "region must match"],
        [
          enc.encode(JSON.stringify({ ...engine.next(), event_id: crypto.randomUUID() })),
          "event_id must be a lower-case UUIDv7",
        ],
        [enc.encode(JSON.stringify({ ...engine.next(), ts: 1.5 })), "ts must be an integer"],
        [enc.encode(JSON.stringify({ ...engine.next(), region: "asia" })), "does not match REGION"],
      ];
      // The malformed ones above consumed seqs 1..6; the valid stream restarts on a fresh engine.
      const good = new FakeEngine({ region: "eu", clientPath: `${stack.dir}/engine-good.sock` });
      try {
        for (let i = 0; i < 20; i++) {
          await good.send(stack.socketPath, good.next());
          if (i < bad.length) await engine.sendRaw(stack.socketPath, bad[i][0]);
        }
        await waitForAll(stack, good.bootId, 20);
        await waitFor(async () =>
          (await metric(stack.publisherPort, "publisher_events_invalid_total")) === bad.length
        );
        const lines = (await Deno.readTextFile(stack.deadLetterPath)).trim().split("\n").map((l) =>
          JSON.parse(l)
        );
        assertEquals(lines.length, bad.length);
        for (const [i, [, reason]] of bad.entries()) {
          assertEquals({ i, ok: String(lines[i].reason).includes(reason) }, { i, ok: true });
        }
        assertEquals(lines[0].payload, "not json");
        assertEquals(lines[1].payload_base64, btoa(String.fromCharCode(0xff, 0xfe, 0x00, 0x80)));
        assertEquals(await metric(stack.publisherPort, "publisher_events_published_total"), 20);
      } finally {
        good.close();
      }
    } finally {
      engine.close();
      await stack.close();
    }
  },
});
