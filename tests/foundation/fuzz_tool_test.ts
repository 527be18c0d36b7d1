/**
 * tools/fuzz.ts: its arguments, the figures it reads from libFuzzer's log, and
 * the targets it finds (one per ckpool/fuzz/fuzz_<name>.c, each with a seed
 * corpus in the repo).
 */

import assert from "node:assert/strict";
import { freshCommand, listTargets, parseArgs, parseLog } from "../../tools/fuzz.ts";

const REPO = new URL("../../", import.meta.url).pathname;

Deno.test("fuzz: defaults are 60 s per target, two at a time, every target", () => {
  assert.deepEqual(parseArgs([]), { seconds: 60, jobs: 2, only: null, keep: false });
});

Deno.test("fuzz: --minutes, --seconds, --jobs, --only and --keep, after a task's --", () => {
  assert.equal(parseArgs(["--", "--minutes", "10"]).seconds, 600);
  assert.equal(parseArgs(["--seconds", "10"]).seconds, 10);
  assert.equal(parseArgs(["--jobs", "1.7"]).jobs, 1);
  assert.deepEqual(parseArgs(["--only", "config, relay_frame,"]).only, ["config", "relay_frame"]);
  assert.equal(parseArgs(["--keep"]).keep, true);
});

Deno.test("fuzz: figures come from libFuzzer's last status line and final stats", () => {
  const log = [
    "#2      INITED cov: 10 ft: 11 corp: 1/1b exec/s: 0 rss: 30Mb",
    "#4096   pulse  cov: 240 ft: 600 corp: 80/1700b lim: 43 exec/s: 2048 rss: 40Mb",
    "#5074843 DONE  cov: 249 ft: 669 corp: 89/1763b lim: 256 exec/s: 8374 rss: 70Mb",
    "stat::number_of_executed_units: 5074843",
  ].join("\n");
  assert.deepEqual(parseLog(log), {
    execs: 5074843,
    cov: 249,
    features: 669,
    corpusUnits: 89,
    corpusBytes: "1763b",
  });
  assert.deepEqual(parseLog("no status at all"), {
    execs: null,
    cov: null,
    features: null,
    corpusUnits: null,
    corpusBytes: null,
  });
});

Deno.test({
  name: "fuzz: every untrusted-input parser has a target and a seed corpus",
  permissions: { read: true },
  fn: () => {
    const targets = listTargets();
    for (
      const parser of [
        "address",
        "config",
        "relay_frame",
        "stratum_line",
        "submit_parse",
        "template_codec",
        "workbase",
      ]
    ) {
      assert.ok(targets.includes(parser), `fuzz_${parser}.c`);
    }
    for (const target of targets) {
      const seeds = [...Deno.readDirSync(`${REPO}ckpool/fuzz/corpus/${target}`)];
      assert.ok(seeds.length > 0, `ckpool/fuzz/corpus/${target} holds seeds`);
    }
  },
});

Deno.test("fuzz: a target's peak RSS is its own, not the runner's", async () => {
  // Grow this process well past what a small child uses; a child spawned
  // directly would report this peak as its own (Linux keeps it across exec).
  const ballast = new Uint8Array(512 * 1024 * 1024).fill(1);
  // The child reports its peak RSS (getrusage ru_maxrss, KiB) and exits.
  const args = ["eval", 'import p from "node:process"; console.log(p.resourceUsage().maxRSS)'];
  const peakKiB = async (cmd: Deno.Command) =>
    Number(new TextDecoder().decode((await cmd.output()).stdout).trim());
  const direct = await peakKiB(new Deno.Command(Deno.execPath(), { args, stderr: "null" }));
  const fresh = await peakKiB(
    freshCommand(Deno.execPath(), args, { stdout: "piped", stderr: "null" }),
  );
  assert.ok(direct > 400 * 1024, `a direct child inherits the peak (${direct} KiB)`);
  assert.ok(fresh < 300 * 1024, `the target's own peak only (${fresh} KiB)`);
  assert.equal(ballast[ballast.length - 1], 1);
});

Deno.test("fuzz: freshCommand passes arguments through and returns the exit code", async () => {
  const out = await freshCommand("sh", ["-c", 'printf "%s|" "$@"; exit 3', "x", "a b", "*"], {
    stdout: "piped",
  }).output();
  assert.equal(new TextDecoder().decode(out.stdout), "a b|*|");
  assert.equal(out.code, 3);
});
