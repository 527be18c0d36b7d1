/** The publisher's pure parts: batch sorting, fill levels and the /health report. */
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { uuidv7 } from "../../functions/lib/uuid.ts";
import { fillLevel, sortDatagrams } from "../../functions/publisher/publisher_ingest.ts";
import {
  publisherHealth,
  type PublisherState,
} from "../../functions/publisher/publisher_health.ts";

const bytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const envelope = (region: string) => ({
  event_id: uuidv7(),
  event: "share_submitted",
  ts: 1716556800123456,
  source: "hosted",
  region,
  pool_instance: "ckpool-relay-us",
  boot_id: crypto.randomUUID(),
  seq: 1,
  data: { accepted: true },
});

Deno.test("publisher ingest: valid events of this region are spooled, the rest dead-lettered", () => {
  const good = envelope("us-east");
  const batch = [bytes(good), bytes(envelope("eu")), new TextEncoder().encode("{not json")];
  const { entries, letters } = sortDatagrams(batch, "us-east");
  assertEquals(entries.map((e) => [e.subject, e.msgId, e.payload]), [
    ["mining.events.us-east.share_submitted", good.event_id, batch[0]],
  ]);
  assertEquals(letters.map((l) => l.payload), [batch[1], batch[2]]);
  assertEquals(letters[0].reason, "region 'eu' does not match REGION 'us-east'");
});

Deno.test("publisher ingest: fill level counts the warning thresholds crossed", () => {
  assertEquals([0, 0.49, 0.5, 0.8, 0.95, 1].map(fillLevel), [0, 0, 1, 2, 3, 3]);
});

const state = (over: Partial<PublisherState> = {}): PublisherState => ({
  region: "us-east",
  natsConnected: true,
  spoolFillRatio: 0.1,
  spoolDiskBytes: 1 << 20,
  spoolMaxBytes: 1 << 30,
  spoolBacklogBytes: 0,
  commitError: undefined,
  ...over,
});

Deno.test("publisher health: ok, degraded and down from the state", () => {
  const view = (s: PublisherState) => {
    const r = publisherHealth(s);
    return [r.status, r.reasons];
  };
  assertEquals(view(state()), ["ok", []]);
  assertEquals(view(state({ natsConnected: false })), ["degraded", ["nats disconnected"]]);
  assertEquals(view(state({ spoolFillRatio: 0.85 })), ["degraded", ["spool above 80%"]]);
  assertEquals(view(state({ spoolDiskBytes: (1 << 30) - 1024 })), ["down", ["spool full"]]);
  assertEquals(view(state({ commitError: new Error("EIO") })), [
    "down",
    ["spool commit failing: EIO"],
  ]);
  assertEquals(publisherHealth(state()).region, "us-east");
});
