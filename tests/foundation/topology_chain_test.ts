/**
 * TBG_CHAIN: the local stack on regtest (default) or on a private OP_TRUE
 * signet. The setting picks every node's chain flags and a demo payout
 * address valid on that chain; bad values are refused by name.
 */

import assert from "node:assert/strict";
import { decodeAddress, NETWORKS } from "../../lib/bitcoin/address.ts";
import {
  bitcoinCommand,
  type BitcoinImpl,
  type BitcoinLayout,
  chainArgs,
} from "../../stack/supervisor/native/bitcoin.ts";
import { buildTopology } from "../../stack/topology.ts";
import type { StackConfig } from "../../stack/topology_types.ts";
import { planPorts } from "../../stack/topology_ports.ts";
import { REGIONS } from "../../stack/topology_regions.ts";
import {
  DEMO_MINER_ADDRESS,
  demoMinerAddress,
  parseChain,
  resolveMiningSettings,
} from "../../stack/topology_settings.ts";
import { requires } from "../harness/permissions.ts";

function env(vars: Record<string, string>): (name: string) => string | undefined {
  return (name) => vars[name];
}

const LAYOUT: BitcoinLayout = {
  dataDir: "/data/node",
  rpcPort: 18443,
  p2pPort: 18444,
  rpcUser: "u",
  rpcPassword: "p",
  addNodes: [],
};

const IMPLS: BitcoinImpl[] = [
  { kind: "deno-regtest", script: "/repo/stack/regtest/main.ts" },
  { kind: "bitcoind", path: "/usr/bin/bitcoind" },
];

Deno.test("chain: TBG_CHAIN defaults to regtest; anything but regtest or signet is refused", () => {
  assert.equal(parseChain(undefined), "regtest");
  assert.equal(parseChain(""), "regtest");
  assert.equal(parseChain("signet"), "signet");
  assert.equal(resolveMiningSettings(env({})).chain, "regtest");
  for (const bad of ["main", "testnet", "Signet", "signet "]) {
    assert.throws(
      () => resolveMiningSettings(env({ TBG_CHAIN: bad })),
      new RegExp(`TBG_CHAIN must be one of regtest, signet \\(got "${bad}"\\)`),
    );
  }
});

Deno.test("chain: the demo payout address is the same program, bcrt1 on regtest, tb1 on signet", () => {
  assert.equal(DEMO_MINER_ADDRESS, "bcrt1qw33xwttyv4kk7ttdd9hx2u3dv9jxgu3p3snjgx");
  const signet = demoMinerAddress("signet");
  assert.match(signet, /^tb1q/);
  const program = (a: string, net: typeof NETWORKS.regtest) => decodeAddress(a, net).scriptPubKey;
  assert.deepEqual(
    program(signet, NETWORKS.signet),
    program(DEMO_MINER_ADDRESS, NETWORKS.regtest),
  );
  assert.equal(resolveMiningSettings(env({ TBG_CHAIN: "signet" })).minerAddress, signet);
  assert.equal(resolveMiningSettings(env({})).minerAddress, DEMO_MINER_ADDRESS);
});

Deno.test("chain: TBG_MINER_ADDRESS must be valid on the chain", () => {
  assert.throws(
    () =>
      resolveMiningSettings(env({ TBG_CHAIN: "signet", TBG_MINER_ADDRESS: DEMO_MINER_ADDRESS })),
    /TBG_MINER_ADDRESS must be a signet address \(got "bcrt1q/,
  );
  assert.throws(
    () => resolveMiningSettings(env({ TBG_MINER_ADDRESS: demoMinerAddress("signet") })),
    /TBG_MINER_ADDRESS must be a regtest address \(got "tb1q/,
  );
  assert.throws(
    () => resolveMiningSettings(env({ TBG_MINER_ADDRESS: "not-an-address" })),
    /TBG_MINER_ADDRESS must be a regtest address/,
  );
  const own = "tb1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqulkl3g";
  decodeAddress(own, NETWORKS.signet);
  const settings = resolveMiningSettings(env({ TBG_CHAIN: "signet", TBG_MINER_ADDRESS: own }));
  assert.equal(settings.minerAddress, own);
});

Deno.test("chain: nodes run -regtest, or -signet with the OP_TRUE challenge, never both", () => {
  assert.deepEqual(chainArgs(), ["-regtest"]);
  assert.deepEqual(chainArgs("signet"), ["-signet", "-signetchallenge=51"]);
  for (const impl of IMPLS) {
    const regtest = bitcoinCommand(impl, LAYOUT).args;
    assert.ok(regtest.includes("-regtest"), impl.kind);
    assert.ok(!regtest.some((a) => a.startsWith("-signet")), impl.kind);
    const signet = bitcoinCommand(impl, { ...LAYOUT, chain: "signet" }).args;
    assert.ok(signet.includes("-signet") && signet.includes("-signetchallenge=51"), impl.kind);
    assert.ok(!signet.includes("-regtest"), impl.kind);
    // The ports stay explicit, so both chains use the stack's port scheme.
    assert.ok(signet.includes("-rpcport=18443") && signet.includes("-port=18444"), impl.kind);
  }
});

requires({
  name: "chain: with TBG_CHAIN=signet every region's node and demo miner is on signet",
  permissions: ["read", "write", "env", "run", "sys"],
  fn: async () => {
    const stackDir = await Deno.makeTempDir({ prefix: "tbg-chain-" });
    try {
      const vars = { TBG_CHAIN: "signet" };
      const config: StackConfig = {
        repoRoot: "/repo",
        stackDir,
        regions: REGIONS,
        ports: planPorts(REGIONS, env(vars)),
        rpcUser: "tbg",
        rpcPassword: "pw",
        bitcoin: IMPLS[0],
        postgresOsUser: null,
        database: "tbg",
        mining: resolveMiningSettings(env(vars)),
      };
      const { services } = await buildTopology(config);
      const nodes = services.filter((s) => s.name.startsWith("bitcoind-"));
      assert.equal(nodes.length, REGIONS.length);
      for (const node of nodes) {
        const { args } = node.command();
        assert.ok(args.includes("-signetchallenge=51"), `${node.name}: ${args.join(" ")}`);
        assert.ok(!args.includes("-regtest"), node.name);
      }
      // The demo miners (miner-<region>), not the miner API (miner-api).
      const minerNames = new Set(REGIONS.map((r) => `miner-${r.name}`));
      const miners = services.filter((s) => minerNames.has(s.name));
      assert.equal(miners.length, REGIONS.length, "a demo miner in every region");
      for (const miner of miners) {
        const { args } = miner.command();
        const user = args[args.indexOf("--user") + 1];
        assert.ok(user.startsWith(`${demoMinerAddress("signet")}.`), `${miner.name}: ${user}`);
      }
    } finally {
      await Deno.remove(stackDir, { recursive: true });
    }
  },
});
