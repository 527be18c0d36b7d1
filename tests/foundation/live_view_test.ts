/** The live view's parsing: Prometheus families summed across labels; TBG_LIVE_INTERVAL. */

import assert from "node:assert/strict";
import { liveIntervalMs, parseMetrics } from "../../stack/control/live.ts";

Deno.test("live view: metric families are summed across labels; comments are skipped", () => {
  const m = parseMetrics(
    '# HELP x\nckpool_shares_total 7\nckpool_events_emitted_total{type="a"} 3\n' +
      'ckpool_events_emitted_total{type="b"} 4\n',
  );
  assert.equal(m.get("ckpool_shares_total"), 7);
  assert.equal(m.get("ckpool_events_emitted_total"), 7);
});

Deno.test("live view: TBG_LIVE_INTERVAL is seconds, 0 is off, bad input names the variable", () => {
  assert.equal(liveIntervalMs(undefined), 5_000);
  assert.equal(liveIntervalMs("0"), 0);
  assert.equal(liveIntervalMs("2.5"), 2_500);
  assert.throws(
    () => liveIntervalMs("fast"),
    /TBG_LIVE_INTERVAL must be seconds >= 0 \(got "fast"\)/,
  );
});
