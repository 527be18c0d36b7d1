/**
 * tools/flake_hunt.ts: its argument parsing, its summary, and a real run
 * that leaves no CPU hog behind, whether the command passes or fails.
 */
import assert from "node:assert/strict";
import {
  hogScript,
  parseFlakeHuntArgs,
  showCommand,
  summarize,
  UsageError,
} from "../../tools/flake_hunt.ts";

const TOOL = new URL("../../tools/flake_hunt.ts", import.meta.url).pathname;

Deno.test("options up to -- and the command after it; deno task's leading -- is dropped", () => {
  const o = parseFlakeHuntArgs(
    ["--", "--runs", "5", "--hogs", "0", "--stop-on-fail", "--", "make", "-C", "ckpool", "test"],
    2,
  );
  assert.deepEqual(o, {
    runs: 5,
    hogs: 0,
    stopOnFail: true,
    verbose: false,
    command: ["make", "-C", "ckpool", "test"],
  });
});

Deno.test("defaults: 20 runs, one hog per core; the command starts at the first non-option", () => {
  const o = parseFlakeHuntArgs(["make", "--runs", "3"], 4);
  assert.equal(o.runs, 20);
  assert.equal(o.hogs, 4);
  assert.deepEqual(o.command, ["make", "--runs", "3"]);
  assert.equal(parseFlakeHuntArgs(["--", "true"], 0).hogs, 1);
  assert.equal(
    parseFlakeHuntArgs(["--verbose", "--log-dir", "/tmp/x", "true"], 1).logDir,
    "/tmp/x",
  );
});

Deno.test("bad arguments are refused naming the input", () => {
  const refused = (args: string[], text: string) =>
    assert.throws(
      () => parseFlakeHuntArgs(args, 2),
      (e: unknown) => e instanceof UsageError && e.message.includes(text),
    );
  refused(["--runs", "0", "--", "true"], '--runs must be an integer >= 1, got "0"');
  refused(["--runs", "2.5", "true"], '"2.5"');
  refused(["--hogs", "-1", "true"], '--hogs must be an integer >= 0, got "-1"');
  refused(["--runs"], "--runs needs a value");
  refused(["--log-dir"], "--log-dir needs a value");
  refused(["--fast", "true"], 'unknown option "--fast"');
  refused(["--runs", "2", "--"], "no command to run");
  refused([], "no command to run");
});

Deno.test("summary counts passes and failures and spreads the durations", () => {
  const s = summarize([
    { ok: true, code: 0, seconds: 3 },
    { ok: false, code: 2, seconds: 1 },
    { ok: true, code: 0, seconds: 2 },
    { ok: false, code: 1, seconds: 10 },
  ]);
  assert.deepEqual(s, {
    runs: 4,
    passed: 2,
    failed: 2,
    failedRuns: [2, 4],
    minS: 1,
    medianS: 2.5,
    maxS: 10,
    totalS: 16,
  });
  assert.equal(summarize([{ ok: true, code: 0, seconds: 4 }]).medianS, 4);
  assert.equal(summarize([]).runs, 0);
});

Deno.test("the shown command can be pasted into a shell", () => {
  assert.equal(showCommand(["make", "-C", "ckpool", "test"]), "make -C ckpool test");
  assert.equal(showCommand(["sh", "-c", "echo it's"]), `sh -c 'echo it'\\''s'`);
});

/** Pids of live processes running the hog script that watches `pid`. */
async function hogsWatching(pid: number): Promise<number[]> {
  const script = hogScript(pid);
  const found: number[] = [];
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^[0-9]+$/.test(entry.name)) continue;
    try {
      const cmdline = await Deno.readTextFile(`/proc/${entry.name}/cmdline`);
      if (cmdline.split("\0").includes(script)) found.push(Number(entry.name));
    } catch {
      // the process ended while we looked
    }
  }
  return found;
}

async function runTool(args: string[]) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-run", "--allow-read", "--allow-write", TOOL, ...args],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const out = await child.output();
  return {
    pid: child.pid,
    code: out.code,
    text: new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr),
  };
}

Deno.test("a real hunt: hogs run during the command and are gone afterwards", async () => {
  const logDir = await Deno.makeTempDir({ prefix: "flake_hunt_test." });
  try {
    // The command sees its hogs: both watch the tool, which is the command's parent.
    const seen = await runTool([
      "--runs",
      "2",
      "--hogs",
      "2",
      "--",
      "sh",
      "-c",
      // "nul[l]" keeps grep from matching its own command line
      `n=$(grep -l "kill -0 $PPID 2>/dev/nul[l]" /proc/[0-9]*/cmdline 2>/dev/null | wc -l); ` +
      `[ "$n" -eq 2 ]`,
    ]);
    assert.equal(seen.code, 0, seen.text);
    assert.match(seen.text, /2 passed, 0 failed of 2 run\(s\)/);
    assert.deepEqual(await hogsWatching(seen.pid), []);

    const failing = await runTool([
      "--runs",
      "3",
      "--hogs",
      "1",
      "--stop-on-fail",
      "--log-dir",
      logDir,
      "--",
      "sh",
      "-c",
      "echo broken-output; exit 3",
    ]);
    assert.equal(failing.code, 1, failing.text);
    assert.match(failing.text, /run 1\/3: FAIL \(exit 3\)/);
    assert.match(failing.text, /0 passed, 1 failed of 1 run\(s\)/);
    assert.equal(await Deno.readTextFile(`${logDir}/run-1.log`), "broken-output\n");
    assert.deepEqual(await hogsWatching(failing.pid), []);

    const usage = await runTool(["--runs", "none", "true"]);
    assert.equal(usage.code, 2);
    assert.match(usage.text, /--runs must be an integer >= 1, got "none"/);

    const missing = await runTool(["--runs", "2", "--hogs", "1", "--", "no-such-command-fh"]);
    assert.equal(missing.code, 2, missing.text);
    assert.match(missing.text, /cannot run "no-such-command-fh"/);
    assert.deepEqual(await hogsWatching(missing.pid), []);
  } finally {
    await Deno.remove(logDir, { recursive: true });
  }
});
