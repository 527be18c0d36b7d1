/**
 * What a hostile or careless miner can no longer do, and what the engine no
 * longer throws away: difficulty credit inflated through suggest_difficulty,
 * unbounded suggestions, flooding (request rate, protocol errors that a
 * good line used to forgive, set_difficulty storms), replies over 1 KiB
 * silently dropped, upper-case bech32 addresses missing their coinbase
 * signature, and blocks found on a just-replaced job left unsubmitted.
 */

import { assert, assertEquals } from "../assert.ts";
import { type BitcoinNode, startBitcoinNode } from "../../lib/harness/bitcoin_node.ts";
import { type Engine, startEngine } from "../../lib/harness/engine.ts";
import { requires, SERVICE_PERMISSIONS } from "../harness/permissions.ts";
import { waitFor } from "../../lib/ports.ts";
import { StratumClient } from "../../lib/stratum/client.ts";
import { toHex } from "../../lib/bitcoin/mod.ts";
import {
  asciiHex,
  connectMiner,
  mineShare,
  regtestAddress,
  submitShare,
} from "../../lib/harness/stratum_miner.ts";

/** Blocks are rare at these bits, so accepted shares do not change the tip. */
const HARD_BITS = "1e00ffff";

async function withEngine(
  nodeOptions: { testbits?: string },
  overrides: Record<string, unknown>,
  fn: (engine: Engine, node: BitcoinNode) => Promise<void>,
) {
  const node = await startBitcoinNode(nodeOptions);
  try {
    const engine = await startEngine(node, { mindiff: 1e-9, startdiff: 1e-9, ...overrides });
    try {
      await fn(engine, node);
    } finally {
      assertEquals(await engine.stop(), 0, `engine exits cleanly:\n${engine.logs().slice(-2000)}`);
    }
  } finally {
    await node.stop();
  }
}

requires({
  name: "hardening: a raised suggest_difficulty opens no grace; suggestions are capped",
  permissions: SERVICE_PERMISSIONS,
  standInOnly: "-testbits",
  fn: () =>
    withEngine({ testbits: HARD_BITS }, {}, async (engine) => {
      const address = regtestAddress();
      const { client, job } = await connectMiner(engine, address);
      try {
        // Mined for 1e-9, submitted after asking for 1: judged at 1 (it was
        // accepted and credited at 1 while a grace window honoured 1e-9).
        const cheap = mineShare(client, job, { difficulty: 1e-9 });
        assertEquals(await client.suggestDifficulty(1, true), { result: true, error: null });
        assertEquals(client.currentDifficulty, 1);
        const answer = await submitShare(client, address, cheap);
        assertEquals(answer.error?.code, 23, JSON.stringify(answer));
      } finally {
        await client.close();
      }
      // No maxdiff configured: a suggestion still has a ceiling.
      const greedy = await connectMiner(engine, regtestAddress());
      try {
        assertEquals(await greedy.client.suggestDifficulty(1e300, true), {
          result: true,
          error: null,
        });
        assertEquals(greedy.client.currentDifficulty, 1e15);
      } finally {
        await greedy.client.close();
      }
    }),
});

requires({
  name: "hardening: a burst of suggest_difficulty yields one change now and the last one later",
  permissions: SERVICE_PERMISSIONS,
  standInOnly: "-testbits",
  fn: () =>
    withEngine({ testbits: HARD_BITS }, {}, async (engine) => {
      const { client } = await connectMiner(engine, regtestAddress());
      try {
        const changes = () =>
          client.notifications.filter((n) => n.method === "mining.set_difficulty").length;
        const before = changes();
        const started = performance.now();
        for (let i = 0; i < 10; i++) {
          await client.suggestDifficulty(i % 2 ? 2e-6 : 1e-6, true);
        }
        const last = client.waitForNotification(
          (n) => n.method === "mining.set_difficulty" && Number(n.params[0]) === 3e-6,
          15_000,
          "the held-back suggestion",
        );
        await client.suggestDifficulty(3e-6, true);
        // One change per 5 s (the engine's limit): a burst that a busy
        // machine stretched past 5 s may rightly have had one more.
        const extra = Math.floor((performance.now() - started) / 5000);
        const now = changes() - before;
        assert(now >= 1 && now <= 1 + extra, `${now} changes at once (burst allows ${1 + extra})`);
        await last;
        const total = changes() - before;
        assert(total >= 2 && total <= 2 + extra, `${total} changes in all`);
      } finally {
        await client.close();
      }
    }),
});

requires({
  name: "hardening: protocol errors add up even between good requests; floods are cut off",
  permissions: SERVICE_PERMISSIONS,
  standInOnly: "-testbits",
  fn: () =>
    withEngine({ testbits: HARD_BITS }, {}, async (engine) => {
      // "Missing method" used to be free, and any good line reset the count.
      const sloppy = await StratumClient.connect({ port: engine.stratumPort });
      for (let i = 0; i < 10 && !sloppy.isClosed; i++) {
        await sloppy.sendLine(JSON.stringify({ id: 100 + i, params: [] }));
        await sloppy.extranonceSubscribe().catch(() => null);
      }
      assertEquals((await sloppy.closed).by, "server");
      // the log comes through a pipe and may trail the close
      await waitFor(() => engine.logs().includes('"reason":"too many malformed lines"'), {
        what: "the malformed-lines close in the log",
      });
      await sloppy.close();

      // Thousands of requests at once: closed for the rate, not served.
      const flood = await Deno.connect({ hostname: "127.0.0.1", port: engine.stratumPort });
      const line = '{"id":1,"method":"mining.extranonce.subscribe","params":[]}\n';
      const batch = new TextEncoder().encode(line.repeat(3000));
      const reading = (async () => {
        const buf = new Uint8Array(65536);
        try {
          while ((await flood.read(buf)) !== null) {
            // drain the answers until the engine closes
          }
        } catch {
          // reset counts as closed
        }
      })();
      await flood.write(batch).catch(() => 0);
      await waitFor(() => engine.logs().includes('"reason":"too many requests"'), {
        what: "a close for the request rate",
      });
      await reading;
      flood.close();

      // A well-behaved miner is untouched.
      const address = regtestAddress();
      const { client, job } = await connectMiner(engine, address);
      assertEquals(await submitShare(client, address, mineShare(client, job)), {
        result: true,
        error: null,
      });
      await client.close();
    }),
});

requires({
  name: "hardening: answers over 1 KiB are sent, not dropped",
  permissions: SERVICE_PERMISSIONS,
  standInOnly: "-testbits",
  fn: () =>
    withEngine({ testbits: HARD_BITS }, {}, async (engine) => {
      const client = await StratumClient.connect({ port: engine.stratumPort });
      try {
        const extensions = Array.from({ length: 40 }, (_, i) => `x-ext-${i}-${"e".repeat(40)}`);
        const answer = await client.call("mining.configure", [extensions, {}], 5_000);
        assertEquals(answer.error, null);
        const result = answer.result as Record<string, unknown>;
        assertEquals(Object.keys(result).length, 40);
        for (const name of extensions) assertEquals(result[name], false);
      } finally {
        await client.close();
      }
    }),
});

requires({
  name: "hardening: an upper-case bech32 address gets its coinbase signature, logged lower-case",
  permissions: SERVICE_PERMISSIONS,
  standInOnly: "-testbits",
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "ckpool-case-" });
    try {
      const address = regtestAddress();
      const sigs = `${dir}/sigs.json`;
      await Deno.writeTextFile(sigs, JSON.stringify({ [address]: "case-sig" }));
      await withEngine({ testbits: HARD_BITS }, { coinbase_sigs: sigs }, async (engine) => {
        const upper = address.toUpperCase();
        const { client, job } = await connectMiner(engine, upper, { worker: "Rig1" });
        try {
          assert(toHex(job.coinb1).includes(asciiHex("case-sig")), "signature of the address");
          const authorized = await waitFor(
            () => engine.logLines().find((l) => l.msg === "miner authorized"),
            { what: "the miner-authorized log line" },
          );
          assertEquals(authorized?.address, address);
          assertEquals(authorized?.worker, "Rig1");
          // Shares are submitted with the name the miner typed.
          assertEquals(await submitShare(client, `${upper}.Rig1`, mineShare(client, job)), {
            result: true,
            error: null,
          });
        } finally {
          await client.close();
        }
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

requires({
  name: "hardening: a block found on a job the tip just replaced is still submitted",
  permissions: SERVICE_PERMISSIONS,
  fn: () =>
    withEngine({}, {}, async (engine, node) => {
      const address = regtestAddress();
      const { client, job } = await connectMiner(engine, address);
      try {
        // Someone else finds block 1; the engine moves everyone on.
        const moved = client.waitForJob((j) =>
          j.cleanJobs && toHex(j.prevhash) !== toHex(job.prevhash)
        );
        await node.rpc("generatetoaddress", [1, regtestAddress()]);
        await moved;
        let share = mineShare(client, job);
        for (let i = 1; !share.isBlock && i < 50; i++) {
          share = mineShare(client, job, { nonceStart: i * 1_000 });
        }
        assert(share.isBlock, "a block solution for the replaced job");
        const answer = await submitShare(client, address, share);
        assertEquals(answer.error?.code, 21, "the share itself is stale");
        // ...but the node got the block (a competing block 1).
        const header = await waitFor(
          () => node.rpc<{ height: number }>("getblockheader", [share.hashHex, true]),
          { what: "the stale-job block at the node" },
        );
        assertEquals(header.height, 1);
      } finally {
        await client.close();
      }
    }),
});
