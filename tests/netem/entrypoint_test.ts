/**
 * netem/entrypoint.sh (the Compose latency bridge) without a Docker engine:
 * `bash -n` / `sh -n`, then NETEM_DRY_RUN=1 with a fake `ip` on PATH that
 * reports the three region interfaces; the printed tc/iptables commands are
 * checked one by one.
 */

import assert from "node:assert/strict";
import { requires } from "../harness/permissions.ts";

const SCRIPT = new URL("../../netem/entrypoint.sh", import.meta.url).pathname;

// What `ip -o -4 addr show` prints inside the bridge container (interface order shuffled).
const FAKE_IP = `#!/bin/sh
cat <<'ADDRS'
1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever
52: eth0    inet 172.20.2.2/24 brd 172.20.2.255 scope global eth0\\       valid_lft forever
50: eth1    inet 172.20.1.2/24 brd 172.20.1.255 scope global eth1\\       valid_lft forever
54: eth2@if55    inet 172.20.3.2/24 brd 172.20.3.255 scope global eth2\\       valid_lft forever
ADDRS
`;

async function run(cmd: string, args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(cmd, {
    args,
    env,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

async function withFakeIp<T>(fn: (env: Record<string, string>) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "netem-entry-" });
  try {
    await Deno.writeTextFile(`${dir}/ip`, FAKE_IP, { mode: 0o755 });
    await Deno.writeTextFile(`${dir}/ip_forward`, "0\n");
    return await fn({
      PATH: `${dir}:/usr/local/bin:/usr/bin:/bin`,
      NETEM_DRY_RUN: "1",
      NETEM_IP_FORWARD_FILE: `${dir}/ip_forward`,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function commands(stdout: string): string[] {
  return stdout.split("\n").filter((l) => l.startsWith("+ ")).map((l) => l.slice(2));
}

const NETEM_US = "netem delay 25ms 5ms distribution normal limit 10000";
const NETEM_ASIA = "netem delay 75ms 10ms distribution normal limit 10000";

for (const shell of ["bash", "sh"]) {
  requires({
    name: `netem entrypoint: ${shell} -n accepts the script`,
    permissions: ["run", "read"],
    async fn() {
      const { code, stderr } = await run(shell, ["-n", SCRIPT], { PATH: "/usr/bin:/bin" });
      assert.equal(code, 0, stderr);
    },
  });
}

requires({
  name: "netem entrypoint: dry run finds interfaces by subnet and prints the tc/iptables commands",
  permissions: ["run", "read", "write"],
  async fn() {
    const out = await withFakeIp((env) =>
      run("sh", [SCRIPT], {
        ...env,
        BRIDGE_FORWARDS: "4222=172.20.1.10:4222 8881=172.20.1.12:8881",
      })
    );
    assert.equal(out.code, 0, out.stderr);
    const dnat = (dev: string, port: number, to: string) =>
      `iptables -t nat -A PREROUTING -i ${dev} -p tcp --dport ${port} -j DNAT --to-destination ${to}`;
    assert.deepEqual(commands(out.stdout), [
      "sysctl -w net.ipv4.ip_forward=1",
      // eu -> us and eu -> asia: root netem on the relay-side interfaces
      `tc qdisc replace dev eth0 root ${NETEM_US}`,
      `tc qdisc replace dev eth2 root ${NETEM_ASIA}`,
      // us -> eu and asia -> eu: prio bands chosen by firewall mark
      "tc qdisc add dev eth1 root handle 1: prio bands 5",
      `tc qdisc add dev eth1 parent 1:4 handle 40: ${NETEM_US}`,
      `tc qdisc add dev eth1 parent 1:5 handle 50: ${NETEM_ASIA}`,
      "tc filter add dev eth1 parent 1: protocol ip prio 1 handle 2 fw flowid 1:4",
      "tc filter add dev eth1 parent 1: protocol ip prio 2 handle 3 fw flowid 1:5",
      "iptables -t mangle -A PREROUTING -i eth0 -j MARK --set-mark 2",
      "iptables -t mangle -A PREROUTING -i eth2 -j MARK --set-mark 3",
      dnat("eth0", 4222, "172.20.1.10:4222"),
      dnat("eth2", 4222, "172.20.1.10:4222"),
      dnat("eth0", 8881, "172.20.1.12:8881"),
      dnat("eth2", 8881, "172.20.1.12:8881"),
      "iptables -t nat -A POSTROUTING -o eth1 -j MASQUERADE",
    ]);
    assert.match(out.stdout, /eu_net 172\.20\.1\.0\/24 on eth1 \(172\.20\.1\.2\)/);
    assert.match(out.stdout, /asia_net 172\.20\.3\.0\/24 on eth2 \(172\.20\.3\.2\)/);
  },
});

requires({
  name: "netem entrypoint: delays, jitter and distribution come from the environment",
  permissions: ["run", "read", "write"],
  async fn() {
    const out = await withFakeIp((env) =>
      run("sh", [SCRIPT], {
        ...env,
        US_DELAY_MS: "40",
        US_JITTER_MS: "8",
        ASIA_DELAY_MS: "120",
        ASIA_JITTER_MS: "20",
        NETEM_DISTRIBUTION: "pareto",
      })
    );
    assert.equal(out.code, 0, out.stderr);
    const cmds = commands(out.stdout);
    const us = "netem delay 40ms 8ms distribution pareto limit 10000";
    const asia = "netem delay 120ms 20ms distribution pareto limit 10000";
    assert.ok(cmds.includes(`tc qdisc replace dev eth0 root ${us}`), cmds.join("\n"));
    assert.ok(cmds.includes(`tc qdisc replace dev eth2 root ${asia}`), cmds.join("\n"));
    assert.ok(!cmds.some((c) => c.includes("DNAT")), "no forwards configured, no DNAT");
  },
});

requires({
  name: "netem entrypoint: bad settings and a missing network fail naming the input",
  permissions: ["run", "read", "write"],
  async fn() {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ US_DELAY_MS: "25ms" }, /US_DELAY_MS must be a whole number/],
      [{ NETEM_DISTRIBUTION: "gauss" }, /NETEM_DISTRIBUTION must be/],
      [{ ASIA_SUBNET: "10.9.0.0/16" }, /no interface on asia_net \(10\.9\.0\.0\/16\)/],
      [{ BRIDGE_FORWARDS: "4222=10.0.0.1:4222" }, /must point into eu_net/],
      [{ BRIDGE_FORWARDS: "nats=172.20.1.10:4222" }, /must be PORT=EU_IP:PORT/],
    ];
    for (const [extra, pattern] of cases) {
      const out = await withFakeIp((env) => run("sh", [SCRIPT], { ...env, ...extra }));
      assert.notEqual(out.code, 0, JSON.stringify(extra));
      assert.match(out.stderr, pattern, JSON.stringify(extra));
    }
  },
});
