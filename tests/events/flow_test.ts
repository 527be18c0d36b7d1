/**
 * One miner's whole session seen by an event consumer: connect, vardiff
 * retarget, good and bad shares, a block, hashrate reports, a clean
 * disconnect, then an engine restart. Every event type the engine emits
 * (all but the relay's) arrives with every field docs/events.md lists, the
 * configured region, source "hosted", and seq without gaps; weekly and
 * all-time best difficulties survive the restart.
 */

import { assert, assertEquals } from "../assert.ts";
import { startBitcoinNode } from "../../lib/harness/bitcoin_node.ts";
import { startEngine } from "../../lib/harness/engine.ts";
import { requires, SERVICE_PERMISSIONS } from "../harness/permissions.ts";
import { waitFor } from "../../lib/ports.ts";
import {
  connectMiner,
  mineShare,
  onNewTip,
  regtestAddress,
  submitShare,
} from "../../lib/harness/stratum_miner.ts";
import { type Envelope, EventConsumer, mineNonBlock } from "./_helpers.ts";

const HEX64 = /^[0-9a-f]{64}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Every field docs/events.md lists, with its JSON type. */
const MINER = { address: "string", worker: "string", client_id: "number", ip: "string" };
const FIELDS: Record<string, Record<string, string>> = {
  share_submitted: {
    ...MINER,
    job_id: "string",
    diff: "number",
    sdiff: "number",
    accepted: "boolean",
    reject_reason: "string|null",
    is_block: "boolean",
  },
  block_found: {
    ...MINER,
    job_id: "string",
    height: "number",
    hash: "string",
    diff: "number",
    sdiff: "number",
    network_diff: "number",
    reward_sat: "number",
    coinbase_sig: "string",
    accepted: "boolean",
    reject_reason: "string",
    submit_result: "string",
    submit_time_ms: "number",
    region: "string",
    is_block: "boolean",
    submissions: "array",
    first_success_path: "string|null",
  },
  miner_connected: {
    ...MINER,
    user_agent: "string",
    address_type: "string",
    has_custom_sig: "boolean",
    initial_diff: "number",
  },
  miner_disconnected: {
    ...MINER,
    reason: "string",
    session_duration_s: "number",
    shares_accepted: "number",
    shares_rejected: "number",
    best_diff_session: "number",
    avg_hashrate: "number",
  },
  diff_updated: {
    ...MINER,
    old: "number",
    new: "number",
    direction: "string",
    reason: "string",
    shares_per_min: "number",
  },
  hashrate_update: {
    address: "string",
    worker: "string",
    hashrate_1m: "number",
    hashrate_5m: "number",
    hashrate_1h: "number",
    hashrate_1d: "number",
    shares: "number",
    last_share_age_s: "number|null",
  },
  new_block_network: {
    height: "number",
    hash: "string",
    prev_hash: "string|null",
    network_diff: "number",
    template_height: "number",
    coinbasevalue: "number",
    tx_count: "number",
  },
  share_best_diff: {
    address: "string",
    worker: "string",
    scope: "string",
    new_best: "number",
    prev_best: "number",
    hash: "string",
  },
};

function typeOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  return typeof v;
}

function assertFields(e: Envelope) {
  const want = FIELDS[e.event];
  assert(want, `unexpected event type ${e.event}`);
  for (const [field, types] of Object.entries(want)) {
    assert(
      types.split("|").includes(typeOf(e.data[field])),
      `${e.event}.${field} is ${typeOf(e.data[field])}, want ${types}: ${JSON.stringify(e.data)}`,
    );
  }
}

function assertEnvelope(e: Envelope, region: string, instance: string) {
  assert(UUID.test(e.event_id) && e.event_id[14] === "7", `event_id ${e.event_id} is a UUIDv7`);
  assert(UUID.test(e.boot_id), "boot_id is a UUID");
  assertEquals(e.source, "hosted");
  assertEquals(e.region, region);
  assertEquals(e.pool_instance, instance);
  assert(Number.isInteger(e.ts) && e.ts > 1.7e15, `ts ${e.ts} in microseconds`);
}

/** seq runs 1, 2, 3... within each boot. */
function assertContiguous(events: Envelope[], boot: string) {
  const seqs = events.filter((e) => e.boot_id === boot).map((e) => e.seq);
  assertEquals(seqs, seqs.map((_, i) => i + 1), `seq of boot ${boot} has no gaps`);
}

requires({
  unstableNet: true,
  name: "events: a full session emits every event type with every documented field",
  permissions: SERVICE_PERMISSIONS,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "ckpool-events-flow-" });
    const consumer = new EventConsumer(`${dir}/events.sock`);
    consumer.start();
    const node = await startBitcoinNode();
    const region = "asia";
    const instance = "ckpool-flow-test";
    try {
      const engine = await startEngine(node, {
        events: { enabled: true, socket_path: consumer.path, hashrate_interval_sec: 1 },
        region,
        pool_instance: instance,
        state_dir: dir,
        startdiff: 1e-10,
        mindiff: 1e-10,
        maxdiff: 3e-10,
        vardiff_target_s: 1,
      });
      try {
        const address = regtestAddress("p2tr");
        const worker = `${address}.rig1`;
        const { client, job } = await connectMiner(engine, address, {
          worker: "rig1",
          userAgent: "flow-test/2.0",
        });

        // Good shares until vardiff retargets (30 shares close its window).
        const retargeted = client.waitForNotification(
          (n) => n.method === "mining.set_difficulty",
          30_000,
          "a vardiff retarget",
        );
        const good = [];
        for (let i = 0; i < 30; i++) {
          const share = mineNonBlock(client, job);
          assertEquals(await submitShare(client, worker, share), { result: true, error: null });
          good.push(share);
        }
        await retargeted;

        // Bad shares: duplicate, unknown job, malformed.
        assertEquals((await submitShare(client, worker, good[0])).error?.code, 22);
        const unknown = await client.submit(
          worker,
          "00000000deadbeef",
          "00".repeat(8),
          "00000000",
          "00000000",
        );
        assertEquals(unknown.error?.code, 21);
        const malformed = await client.submit(worker, "zz", "00", "00000000", "0");
        assertEquals(malformed.error?.code, 20);

        // A block, then a share on the job the block made stale.
        const block = mineShare(client, job, { difficulty: 1e-9 });
        assert(block.isBlock);
        assertEquals(await submitShare(client, worker, block), { result: true, error: null });
        // the block's new tip, not just the next notify (a periodic update may come first)
        await client.waitForJob(onNewTip(job));
        // Not a block: a block solution for a replaced job is submitted anyway.
        const stale = mineNonBlock(client, job);
        assertEquals((await submitShare(client, worker, stale)).error?.code, 21);

        await waitFor(() => consumer.of("hashrate_update").length > 0, { what: "hashrate_update" });
        await client.close();
        const gone = await waitFor(() => consumer.of("miner_disconnected")[0], {
          what: "miner_disconnected",
        });
        const boot = gone.boot_id;

        // Every type, every field, the envelope, and no gap in seq.
        for (const type of Object.keys(FIELDS)) {
          assert(consumer.of(type).length > 0, `saw ${type}`);
        }
        for (const e of consumer.events) {
          assertEnvelope(e, region, instance);
          assertFields(e);
        }
        assertContiguous(consumer.events, boot);

        // Field values match what the miner did.
        const connected = consumer.of("miner_connected")[0].data;
        assertEquals(connected.address, address);
        assertEquals(connected.worker, "rig1");
        assertEquals(connected.user_agent, "flow-test/2.0");
        assertEquals(connected.address_type, "bech32m");
        assertEquals(connected.has_custom_sig, false);
        assertEquals(connected.initial_diff, 1e-10);
        assertEquals(connected.ip, "127.0.0.1");

        const shares = consumer.of("share_submitted").map((e) => e.data);
        assertEquals(shares.filter((s) => s.accepted).length, 31);
        const reasons = shares.filter((s) => !s.accepted).map((s) => s.reject_reason).sort();
        assertEquals(reasons, ["duplicate", "invalid", "job not found", "stale"]);
        for (const s of shares.filter((s) => s.accepted)) {
          assert(HEX64.test(s.hash as string), "accepted shares carry their hash");
          assertEquals(s.reject_reason, null);
        }
        const blockShare = shares.find((s) => s.is_block)!;
        assertEquals(blockShare.hash, block.hashHex);

        const retarget = consumer.of("diff_updated")[0].data;
        assertEquals(retarget.reason, "vardiff");
        assertEquals(retarget.direction, "up");
        assertEquals(retarget.old, 1e-10);
        assert((retarget.new as number) > 1e-10 && (retarget.shares_per_min as number) > 0);

        const found = consumer.of("block_found")[0].data;
        assertEquals(found.hash, block.hashHex);
        assertEquals(found.height, 1);
        assertEquals(found.accepted, true);
        assertEquals(found.submit_result, "accepted");
        assertEquals(found.reject_reason, "");
        assertEquals(found.region, region);
        assertEquals(found.reward_sat, 50 * 1e8);
        assertEquals(found.coinbase_sig, "/thebitcoingame/");
        assertEquals(found.first_success_path, "local");
        const paths = found.submissions as Array<Record<string, unknown>>;
        assertEquals(paths.map((p) => [p.path, p.result]), [["local", "accepted"]]);
        assert((found.submit_time_ms as number) >= 0);

        const tip = consumer.of("new_block_network").find((e) => e.data.hash === block.hashHex)!;
        assertEquals(tip.data.height, 1);
        assertEquals(tip.data.template_height, 2);
        assertEquals(tip.data.prev_hash, await node.rpc<string>("getblockhash", [0]));

        const rate = consumer.of("hashrate_update")[0].data;
        assertEquals([rate.address, rate.worker], [address, "rig1"]);
        assert((rate.hashrate_1m as number) > 0);

        const scopes = consumer.of("share_best_diff").map((e) => e.data.scope);
        for (const scope of ["session", "weekly", "alltime"]) assert(scopes.includes(scope));
        const weekly = consumer.of("share_best_diff").find((e) => e.data.scope === "weekly")!;
        assert(/^\d{4}-W\d{2}$/.test(weekly.data.week as string), "weekly carries its ISO week");
        const best = Math.max(
          ...consumer.of("share_best_diff").map((e) => e.data.new_best as number),
        );

        assertEquals(gone.data.reason, "clean");
        assertEquals(gone.data.shares_accepted, 31);
        assertEquals(gone.data.shares_rejected, 4);
        assertEquals(gone.data.best_diff_session, best);
        assert((gone.data.avg_hashrate as number) > 0);

        // Restart: weekly and all-time bests come back from state_dir.
        await engine.restart();
        const again = await connectMiner(engine, address, { worker: "rig2" });
        const small = mineNonBlock(again.client, again.job);
        assertEquals(await submitShare(again.client, `${address}.rig2`, small), {
          result: true,
          error: null,
        });
        const second = await waitFor(() => consumer.boots().find((b) => b !== boot), {
          what: "events of the second boot",
        });
        await waitFor(() => consumer.of("share_best_diff", second).length > 0, {
          what: "share_best_diff after the restart",
        });
        await again.client.close();
        await waitFor(() => consumer.of("miner_disconnected", second).length > 0, {
          what: "miner_disconnected after the restart",
        });
        const after = consumer.of("share_best_diff", second).map((e) => e.data);
        assertEquals(after.map((d) => d.scope), ["session"], "the saved bests were not beaten");
        assertEquals(after[0].prev_best, 0);
        assert((small.hash > 0n) && (after[0].new_best as number) < best);
        assertContiguous(consumer.events, second);
        const saved = JSON.parse(await Deno.readTextFile(`${dir}/best_diff.json`));
        assertEquals(saved.addresses[address].alltime.diff, best);
      } finally {
        assertEquals(await engine.stop(), 0);
      }
    } finally {
      await node.stop();
      await consumer.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
