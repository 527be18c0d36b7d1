/**
 * The engine's runtime events reach a consumer on the Unix datagram socket:
 * miner_connected, share_submitted (accepted and rejected, with the block
 * flag), block_found, new_block_network, diff_updated and
 * miner_disconnected, with the fields docs/engine.md lists. Needs
 * --unstable-net (Deno.listenDatagram); ignored without it.
 */

import { assert, assertEquals } from "../assert.ts";
import { startBitcoinNode } from "../../lib/harness/bitcoin_node.ts";
import { startEngine } from "../../lib/harness/engine.ts";
import { requires, SERVICE_PERMISSIONS } from "../harness/permissions.ts";
import { waitFor } from "../../lib/ports.ts";
import {
  connectMiner,
  mineShare,
  regtestAddress,
  submitShare,
} from "../../lib/harness/stratum_miner.ts";

interface Envelope {
  event: string;
  region: string;
  pool_instance: string;
  data: Record<string, unknown>;
}

requires({
  unstableNet: true,
  name: "engine: emits miner, share, block and network events to the event socket",
  permissions: SERVICE_PERMISSIONS,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "ckpool-events-" });
    const path = `${dir}/events.sock`;
    const socket = Deno.listenDatagram({ transport: "unixpacket", path });
    const events: Envelope[] = [];
    const reading = (async () => {
      try {
        for await (const [bytes] of socket) {
          events.push(JSON.parse(new TextDecoder().decode(bytes)));
        }
      } catch {
        // closed
      }
    })();
    const node = await startBitcoinNode();
    try {
      const engine = await startEngine(node, {
        events: { enabled: true, socket_path: path },
        region: "us-east",
        pool_instance: "ckpool-events-test",
      });
      try {
        const address = regtestAddress();
        const { client, job } = await connectMiner(engine, address, { worker: "rig7" });
        const bad = await client.submit(address, "00000000deadbeef", "00", "00000000", "0");
        assertEquals(bad.error?.code, 20);
        const unknown = await client.submit(
          address,
          "00000000deadbeef",
          "0000000000000000",
          "00000000",
          "00000000",
        );
        assertEquals(unknown.error?.code, 21);
        const share = mineShare(client, job, { difficulty: 1e-9 });
        assertEquals(await submitShare(client, address, share), { result: true, error: null });
        await client.suggestDifficulty(0.5, true);
        await client.close();

        const find = (name: string, match: (d: Record<string, unknown>) => boolean = () => true) =>
          waitFor(() => events.find((e) => e.event === name && match(e.data)), {
            what: `event ${name}`,
          });
        const connected = await find("miner_connected");
        assertEquals(connected.region, "us-east");
        assertEquals(connected.pool_instance, "ckpool-events-test");
        assertEquals(connected.data.address, address);
        assertEquals(connected.data.worker, "rig7");
        assertEquals(connected.data.ip, "127.0.0.1");
        const rejected = await find("share_submitted", (d) => d.accepted === false);
        assertEquals(rejected.data.reject_reason, "invalid", "malformed submits are reported");
        assertEquals(rejected.data.sdiff, 0);
        await find("share_submitted", (d) => d.reject_reason === "job not found");
        const accepted = await find("share_submitted", (d) => d.accepted === true);
        assertEquals(accepted.data.hash, share.hashHex);
        assertEquals(accepted.data.is_block, true);
        assertEquals(accepted.data.job_id, share.jobId);
        const block = await find("block_found");
        assertEquals(block.data.hash, share.hashHex);
        assertEquals(block.data.accepted, true);
        assertEquals(block.data.height, 1);
        assertEquals(block.data.address, address);
        const tip = await find("new_block_network", (d) => d.hash === share.hashHex);
        assertEquals(tip.data.height, 1);
        const diff = await find("diff_updated");
        assertEquals(diff.data.new, 0.5);
        assertEquals(diff.data.reason, "suggest_difficulty");
        const gone = await find("miner_disconnected");
        assertEquals(gone.data.shares_accepted, 1);
        assert(typeof gone.data.reason === "string");
      } finally {
        assertEquals(await engine.stop(), 0);
      }
    } finally {
      await node.stop();
      socket.close();
      await reading;
      await Deno.remove(dir, { recursive: true });
    }
  },
});
