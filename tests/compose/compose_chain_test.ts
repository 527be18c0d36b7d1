/**
 * The chain of each Compose deployment, and the Compose tools that read it.
 *
 * compose.yaml alone: the public signet (Bitcoin Core's default signet, no
 * -signetchallenge), an archival primary node and pruned relays
 * (`prune=1000`, the brief's value). With compose.private-signet.yaml: every
 * node on the OP_TRUE signet in volumes of its own, and one demo miner per
 * region on its region's engine with a signet payout address.
 *
 * Both variants are also run through the real Compose CLIs where they are
 * installed: `docker compose` (v2) and Debian 12's `docker-compose` 1.29.2,
 * which rejects a top-level `name:` (so the project name lives in .env).
 */

import assert from "node:assert/strict";
import { requires } from "../harness/permissions.ts";
import { decodeAddress, NETWORKS } from "../../lib/bitcoin/address.ts";
import { REGIONS } from "../../stack/topology_regions.ts";
import { demoMinerAddress, PRIVATE_SIGNET_CHALLENGE } from "../../stack/topology_settings.ts";
import {
  type ComposeFile,
  loadCompose,
  networksOf,
  readEnvFile,
  REPO,
  type Service,
  type Variant,
  VARIANTS,
} from "./_compose.ts";

const PERMS = ["read", "env"] as const;
const DATA_DIR = "/home/bitcoin/.bitcoin";

function load(variant: Variant): { compose: ComposeFile; env: Record<string, string> } {
  const env = readEnvFile(`${REPO}.env.example`);
  return { compose: loadCompose(env, VARIANTS[variant]), env };
}

function nodes(compose: ComposeFile): Array<[string, Service]> {
  return REGIONS.map((r) => [r.compose.node, compose.services[r.compose.node]]);
}

/** `key=value` settings of a bitcoin.conf, by key (section headers ignored). */
function confSettings(service: Service): Map<string, string[]> {
  const mount = service.volumes!.find((v) => v.endsWith(":/etc/bitcoin/bitcoin.conf:ro"))!;
  const text = Deno.readTextFileSync(`${REPO}${mount.split(":")[0].replace(/^\.\//, "")}`);
  const settings = new Map<string, string[]>();
  for (const line of text.split("\n")) {
    const m = /^\s*([a-z]+)=(.*)$/.exec(line);
    if (m) settings.set(m[1], [...(settings.get(m[1]) ?? []), m[2].trim()]);
  }
  return settings;
}

function dataVolume(service: Service): string {
  const mount = service.volumes!.find((v) => v.split(":")[1] === DATA_DIR);
  assert.ok(mount, `nothing mounted at ${DATA_DIR}`);
  return mount!.split(":")[0];
}

requires({
  name: "compose chain: public signet by default; archival primary, relays pruned at 1000 MiB",
  permissions: PERMS,
  fn() {
    const { compose, env } = load("public signet");
    for (const [name, s] of nodes(compose)) {
      const conf = confSettings(s);
      assert.deepEqual(conf.get("signet"), ["1"], `${name}: signet=1`);
      assert.ok(!conf.has("signetchallenge"), `${name}: the public signet has no challenge set`);
      assert.ok(!s.command!.some((a) => a.startsWith("-signetchallenge")), name);
      assert.ok(!s.command!.some((a) => /^-(regtest|testnet|chain=main)/.test(a)), name);
      const relay = name !== "bitcoind-primary";
      assert.deepEqual(conf.get("prune"), [relay ? "1000" : "0"], `${name}: prune`);
      assert.deepEqual(conf.get("txindex"), [relay ? "0" : "1"], `${name}: txindex`);
    }
    assert.ok(
      !Object.keys(compose.services).some((n) => n.startsWith("demo-miner")),
      "no demo miners on the public signet (their blocks could never be valid)",
    );
    // The pool's payout address is a signet one.
    decodeAddress(env.POOL_BTC_ADDRESS, NETWORKS.signet);
  },
});

requires({
  name: "compose chain: the private-signet override puts every node on OP_TRUE, apart in data",
  permissions: PERMS,
  fn() {
    const publicNodes = new Map(nodes(load("public signet").compose));
    const { compose } = load("private signet");
    const volumes = new Set<string>();
    for (const [name, s] of nodes(compose)) {
      assert.ok(
        s.command!.includes(`-signetchallenge=${PRIVATE_SIGNET_CHALLENGE}`),
        `${name}: ${s.command!.join(" ")}`,
      );
      // Everything else about the node is the public deployment's.
      const without = s.command!.filter((a) => !a.startsWith("-signetchallenge"));
      assert.deepEqual(without, publicNodes.get(name)!.command, `${name}: same command otherwise`);
      assert.equal(confSettings(s).get("signet")?.[0], "1");
      const volume = dataVolume(s);
      assert.notEqual(volume, dataVolume(publicNodes.get(name)!), `${name}: own chain data`);
      assert.ok(!volumes.has(volume), `${name} shares ${volume}`);
      volumes.add(volume);
      assert.equal(s.volumes!.filter((v) => v.split(":")[1] === DATA_DIR).length, 1);
    }
  },
});

requires({
  name: "compose chain: private signet has a demo miner per region, on its own engine",
  permissions: PERMS,
  fn() {
    const { compose, env } = load("private signet");
    for (const region of REGIONS) {
      const miner = compose.services[region.compose.demoMiner];
      assert.ok(miner, `no ${region.compose.demoMiner}`);
      const engine = compose.services[region.compose.engine];
      assert.deepEqual(networksOf(miner), networksOf(engine).slice(0, 1));
      assert.equal(miner.depends_on?.[region.compose.engine]?.condition, "service_healthy");
      const args = miner.command!;
      const url = args[args.indexOf("--url") + 1];
      assert.equal(url, `stratum+tcp://${region.compose.engine}:3333`);
      assert.ok(args.includes(`--allow-net=${region.compose.engine}:3333`), "narrow --allow-net");
      const user = args[args.indexOf("--user") + 1];
      const address = user.split(".")[0];
      decodeAddress(address, NETWORKS.signet);
      assert.throws(() => decodeAddress(address, NETWORKS.regtest));
    }
    // The default payout address is the stack's signet demo address.
    assert.equal(env.DEMO_MINER_ADDRESS, demoMinerAddress("signet"));
    const bare = loadCompose({ ...env, DEMO_MINER_ADDRESS: "" }, VARIANTS["private signet"]);
    const user = bare.services[REGIONS[0].compose.demoMiner].command!;
    assert.ok(user.some((a) => a.startsWith(`${demoMinerAddress("signet")}.`)));
  },
});

requires({
  name: "compose chain: no top-level name (Compose 1.x rejects it); the project name is in .env",
  permissions: PERMS,
  fn() {
    for (const file of new Set(Object.values(VARIANTS).flat())) {
      const text = Deno.readTextFileSync(`${REPO}${file}`);
      assert.doesNotMatch(text, /^name:/m, `${file}: top-level name`);
      assert.doesNotMatch(text, /^version:/m, `${file}: obsolete version key`);
    }
    assert.equal(readEnvFile(`${REPO}.env.example`).COMPOSE_PROJECT_NAME, "tbg-mining");
  },
});

// ------------------------------------------------------------- the Compose CLIs

interface ComposeCli {
  label: string;
  cmd: string;
  prefix: string[];
}

const CLIS: ComposeCli[] = [
  { label: "docker compose (v2)", cmd: "docker", prefix: ["compose"] },
  { label: "docker-compose (1.x)", cmd: "docker-compose", prefix: [] },
];

/** The CLI's version line, or null when it is not installed (or we may not run it). */
function cliVersion(cli: ComposeCli): string | null {
  if (Deno.permissions.querySync({ name: "run" }).state !== "granted") return null;
  try {
    const out = new Deno.Command(cli.cmd, {
      args: [...cli.prefix, "version"],
      stdout: "piped",
      stderr: "null",
    }).outputSync();
    return out.success ? new TextDecoder().decode(out.stdout).split("\n")[0] : null;
  } catch {
    return null;
  }
}

for (const cli of CLIS) {
  const version = cliVersion(cli);
  for (const [variant, files] of Object.entries(VARIANTS)) {
    Deno.test({
      name: version
        ? `compose chain: ${cli.label} config accepts the ${variant} files (${version})`
        : `compose chain: ${cli.label} config, ${variant} [ignored: needs --allow-run and ${cli.label}]`,
      ignore: !version,
      async fn() {
        const out = await new Deno.Command(cli.cmd, {
          args: [
            ...cli.prefix,
            "--project-directory",
            REPO,
            "--env-file",
            `${REPO}.env.example`,
            ...files.flatMap((f) => ["-f", `${REPO}${f}`]),
            "config",
          ],
          stdout: "piped",
          stderr: "piped",
        }).output();
        const stderr = new TextDecoder().decode(out.stderr);
        assert.equal(out.code, 0, stderr);
        // The CLI's own merge agrees with the test's on what matters here.
        const text = new TextDecoder().decode(out.stdout);
        const challenge = `-signetchallenge=${PRIVATE_SIGNET_CHALLENGE}`;
        assert.equal(text.includes(challenge), variant === "private signet", challenge);
        for (const region of REGIONS) {
          assert.ok(text.includes(`${region.compose.engine}:`), region.compose.engine);
        }
      },
    });
  }
}
