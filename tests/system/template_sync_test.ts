/**
 * Template sync on the whole topology of `deno task up`: a new block on the
 * eu node (`generatetoaddress`); miners on eu and on every relay receive a
 * `mining.notify` with clean_jobs on the new previous block, the relays'
 * with the same merkle branch and bits as eu's; the relay notify comes after
 * eu's (the template crossed the bridge). Prints propagation per relay: the
 * engine's own figure and the notify gap the miners saw.
 */

import assert from "node:assert/strict";
import { StratumClient } from "../stratum/client.ts";
import { toHex } from "../stratum/hash.ts";
import type { Job } from "../stratum/job.ts";
import { metric } from "./_metrics.ts";
import { startSystem, systemTest } from "./_target.ts";
import { REGION_NAMES, RELAY_NAMES } from "./_system.ts";

const WORKER = "bcrt1qw33xwttyv4kk7ttdd9hx2u3dv9jxgu3p3snjgx.sync";

function prevhashHex(job: Job): string {
  return toHex(job.prevhash.slice().reverse());
}

async function rpc<T>(
  url: string,
  user: string,
  password: string,
  method: string,
  params: unknown[],
) {
  const response = await fetch(url, {
    method: "POST",
    headers: { authorization: `Basic ${btoa(`${user}:${password}`)}` },
    body: JSON.stringify({ jsonrpc: "1.0", id: "sync", method, params }),
  });
  const body = await response.json() as { result: T; error: unknown };
  if (body.error) throw new Error(`${method}: ${JSON.stringify(body.error)}`);
  return body.result;
}

systemTest(
  "system template sync: a new eu block reaches every relay's miners, same template",
  async () => {
    const stack = await startSystem({ label: "sync" });
    const clients: Record<string, StratumClient> = {};
    try {
      const { regions } = stack.endpoints;
      for (const name of REGION_NAMES) {
        const client = await StratumClient.connect(regions[name].stratum);
        await client.subscribe("system-sync/1.0");
        assert.equal((await client.authorize(WORKER)).result, true);
        await client.nextNotify();
        clients[name] = client;
      }
      const eu = regions.eu.rpc;
      const [hash] = await rpc<string[]>(eu.url, eu.user, eu.password, "generatetoaddress", [
        1,
        "bcrt1qw33xwttyv4kk7ttdd9hx2u3dv9jxgu3p3snjgx",
      ]);
      const minedAt = performance.now();
      const jobs: Record<string, { job: Job; at: number }> = {};
      await Promise.all(REGION_NAMES.map(async (name) => {
        const job = await clients[name].waitForJob(
          (j) => prevhashHex(j) === hash && j.cleanJobs,
          30_000,
        );
        jobs[name] = { job, at: performance.now() };
      }));
      const euJob = jobs.eu.job;
      const lines = [`new block ${hash.slice(0, 16)}... on eu`];
      for (const name of RELAY_NAMES) {
        const { job, at } = jobs[name];
        assert.deepEqual(job.merkleBranch.map(toHex), euJob.merkleBranch.map(toHex), name);
        assert.equal(job.bits, euJob.bits, `${name} bits`);
        assert.equal(job.version & 0x1fffe000, euJob.version & 0x1fffe000, `${name} version`);
        const engine = await metric(regions[name].metricsUrl, "ckpool_relay_template_latency_ms");
        lines.push(
          `eu -> ${name}: engine-reported propagation ${engine?.toFixed(1)} ms; notify ` +
            `${(at - minedAt).toFixed(1)} ms after generatetoaddress returned ` +
            `(eu's ${(jobs.eu.at - minedAt).toFixed(1)} ms)`,
        );
        assert.ok(at > jobs.eu.at, `${name}'s notify came after eu's`);
        const r = regions[name];
        assert.ok(engine !== null && engine >= r.latencyMs - r.jitterMs, `${name}: ${engine} ms`);
      }
      console.log(lines.join("\n"));
    } finally {
      for (const client of Object.values(clients)) await client.close().catch(() => {});
      await stack.close();
    }
  },
);
