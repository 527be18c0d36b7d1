/** Settings and the delay schedule of the latency bridge (pure, no permissions). */

import assert from "node:assert/strict";
import { loadProxyConfig } from "../../netem/config.ts";
import { DelayLine, delaySampler } from "../../netem/delay.ts";

const noEnv = () => undefined;

Deno.test("netem config: flags give one route with delay and jitter", () => {
  const config = loadProxyConfig(
    ["--", "--listen", "127.0.0.1:1000", "--target=127.0.0.1:2000", "--delay", "25", "--jitter=5"],
    noEnv,
  );
  assert.deepEqual(config.routes, [{
    listen: { hostname: "127.0.0.1", port: 1000 },
    target: { hostname: "127.0.0.1", port: 2000 },
  }]);
  assert.equal(config.delayMs, 25);
  assert.equal(config.jitterMs, 5);
  assert.equal(config.maxBufferBytes, 1 << 20);
});

Deno.test("netem config: the environment works and flags win over it", () => {
  const env: Record<string, string> = {
    NETEM_ROUTES: "127.0.0.1:1=127.0.0.1:2, 127.0.0.1:3=[::1]:4",
    NETEM_DELAY_MS: "75",
    NETEM_JITTER_MS: "10",
    NETEM_REGION: "asia",
  };
  const config = loadProxyConfig(["--delay", "80"], (name) => env[name]);
  assert.equal(config.routes.length, 2);
  assert.equal(config.routes[1].target.hostname, "::1");
  assert.equal(config.delayMs, 80);
  assert.equal(config.jitterMs, 10);
  assert.equal(config.region, "asia");
});

Deno.test("netem config: errors name the flag or variable", () => {
  const cases: Array<[string[], Record<string, string>, RegExp]> = [
    [[], {}, /no route/],
    [["--listen", "127.0.0.1:1"], {}, /--listen is given without its partner/],
    [["--listen", "nope", "--target", "127.0.0.1:2"], {}, /--listen must be HOST:PORT/],
    [["--listen", "127.0.0.1:1", "--target", "127.0.0.1:2", "--delay", "-3"], {}, /--delay must/],
    [["--route", "127.0.0.1:1"], {}, /--route must be LISTEN/],
    [[], { NETEM_LISTEN: "127.0.0.1:1", NETEM_TARGET: "h:0" }, /NETEM_TARGET must be HOST:PORT/],
    [["--bogus"], {}, /unknown argument "--bogus"/],
    [["--route", "127.0.0.1:1=a:2", "--route", "127.0.0.1:1=b:3"], {}, /used twice/],
  ];
  for (const [args, env, pattern] of cases) {
    assert.throws(() => loadProxyConfig(args, (n) => env[n]), pattern, args.join(" "));
  }
});

Deno.test("netem delay: jitter 0 is exact, jitter never makes a delay negative", () => {
  assert.equal(delaySampler(25, 0)(), 25);
  let flip = 0;
  // A random source that alternates extreme values drives Box-Muller far out.
  const extreme = () => (flip++ % 2 === 0 ? 1 - 1e-12 : 0);
  const sample = delaySampler(5, 100, extreme);
  for (let i = 0; i < 100; i++) assert.ok(sample() >= 0);
});

Deno.test("netem delay: send times never go backwards, whatever the samples", () => {
  const samples = [50, 1, 30, 0, 80, 2];
  let i = 0;
  const line = new DelayLine(() => samples[i++]);
  const sendAt = [0, 1, 2, 3, 4, 5].map((arrival) => line.schedule(arrival));
  assert.deepEqual(sendAt, [50, 50, 50, 50, 84, 84]);
});

Deno.test("netem delay: samples have the configured mean and spread", () => {
  const sample = delaySampler(25, 5);
  const n = 20_000;
  const xs = Array.from({ length: n }, sample);
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / n);
  assert.ok(Math.abs(mean - 25) < 0.5, `mean ${mean}`);
  assert.ok(Math.abs(sd - 5) < 0.5, `sd ${sd}`);
});
