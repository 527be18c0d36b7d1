/** The collector's pure parts: the /health report and the missing-seq total. */
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import {
  collectorHealth,
  type CollectorState,
  missingTotal,
} from "../../functions/collector/collector_health.ts";

const state = (over: Partial<CollectorState> = {}): CollectorState => ({
  postgresUp: true,
  redisUp: true,
  natsConnected: true,
  socketFailures: [],
  queued: 3,
  seqMissingTotal: 2,
  ...over,
});

Deno.test("collector health: ok, degraded and down from the state", () => {
  const view = (s: CollectorState) => {
    const r = collectorHealth(s);
    return [r.status, r.reasons];
  };
  assertEquals(view(state()), ["ok", []]);
  assertEquals(view(state({ natsConnected: undefined })), ["ok", []]);
  assertEquals(view(state({ natsConnected: false })), ["degraded", ["nats disconnected"]]);
  assertEquals(view(state({ postgresUp: false, redisUp: false })), [
    "degraded",
    ["postgres writes failing", "redis writes failing"],
  ]);
  assertEquals(view(state({ socketFailures: ["socket /x failed: EIO"] })), [
    "down",
    ["socket /x failed: EIO"],
  ]);
  const r = collectorHealth(state());
  assertEquals([r.queued, r.seq_missing_total], [3, 2]);
});

Deno.test("collector health: missing seqs are summed over engine starts", () => {
  assertEquals(missingTotal([]), 0);
  assertEquals(missingTotal([{ missing: 1 }, { missing: 0 }, { missing: 4 }]), 5);
});
