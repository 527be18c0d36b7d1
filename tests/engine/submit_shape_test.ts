/**
 * The engine reads the common shape of mining.submit without building a
 * JSON tree, and everything else through the general JSON parser. Whichever
 * path a line takes, the reply must be the same bytes: every case here is
 * sent once as is and once with an extra non-string member (which only the
 * general path reads), and the two reply lines are compared exactly.
 */

import { assert, assertEquals } from "../assert.ts";
import { startBitcoinNode } from "../../lib/harness/bitcoin_node.ts";
import { startEngine } from "../../lib/harness/engine.ts";
import { requires, SERVICE_PERMISSIONS } from "../harness/permissions.ts";
import { waitFor } from "../../lib/ports.ts";
import { StratumClient } from "../../lib/stratum/client.ts";
import type { MinedShare } from "../../lib/stratum/job.ts";
import { connectMiner, mineShare, regtestAddress } from "../../lib/harness/stratum_miner.ts";

/** Blocks are rare at these bits, so accepted shares do not change the tip. */
const HARD_BITS = "1e00ffff";

/** The reply line to a raw request line (its id is not one the client tracks). */
async function replyTo(client: StratumClient, line: string): Promise<string> {
  const before = client.unexpected.length;
  await client.sendLine(line);
  await waitFor(() => client.unexpected.length > before, { what: `a reply to ${line}` });
  return client.unexpected[before];
}

/** Sends `line` and `line` with an extra member; both replies, which must match. */
async function bothWays(client: StratumClient, line: string, other = line): Promise<string> {
  const fast = await replyTo(client, line);
  const general = await replyTo(client, other.replace(/}\s*$/, ',"x":1}'));
  assertEquals(fast, general, `same reply either way for ${line}`);
  return fast;
}

function paramsOf(address: string, s: MinedShare): string[] {
  return [address, s.jobId, s.extranonce2Hex, s.ntimeHex, s.nonceHex];
}

function submitLine(id: string | null, params: unknown[]): string {
  const idPart = id === null ? "" : `"id":${id},`;
  return `{${idPart}"method":"mining.submit","params":${JSON.stringify(params)}}`;
}

requires({
  name: "engine: mining.submit gets the same reply whichever parser reads it",
  permissions: SERVICE_PERMISSIONS,
  standInOnly: "-testbits",
  fn: async () => {
    const node = await startBitcoinNode({ testbits: HARD_BITS });
    try {
      const engine = await startEngine(node, { mindiff: 1e-9, startdiff: 1e-9 });
      try {
        const address = regtestAddress();
        const { client, job } = await connectMiner(engine, address);
        const one = mineShare(client, job, { extranonce2Start: 1n });
        const two = mineShare(client, job, { extranonce2Start: 1_000_000_000n });

        // Accepted, then a duplicate of each.
        assertEquals(
          await bothWays(
            client,
            submitLine("1001", paramsOf(address, one)),
            submitLine("1001", paramsOf(address, two)),
          ),
          '{"id":1001,"result":true,"error":null}',
        );
        const dup = await bothWays(client, submitLine("1002", paramsOf(address, one)));
        assert(dup.includes("[22,"), dup);

        // Every kind of id, on shares for a job the engine never sent.
        const unknown = paramsOf(address, one);
        unknown[1] = "ffffffffffffffff";
        const ids = [
          "0",
          "-42",
          "123456789012345678",
          '"abc"',
          '""',
          `"${"z".repeat(93)}"`,
          `"${"z".repeat(94)}"`,
          "null",
          "1.5",
          "1e3",
          '"caf\\u00e9"',
          "[1]",
        ];
        for (const id of ids) {
          const r = await bothWays(client, submitLine(id, unknown));
          assert(r.includes('"error":[21,'), `${id}: ${r}`);
        }
        assert((await bothWays(client, submitLine(null, unknown))).startsWith('{"id":null,'));

        // Spacing, key order and other string members.
        const spaced = `  { "params" : ${JSON.stringify(unknown).replaceAll(",", " ,\t")} ,` +
          ` "jsonrpc": "2.0", "method" :"mining.submit" , "id" : 7 }  `;
        assert((await bothWays(client, spaced)).startsWith('{"id":7,"result":null,"error":[21,'));
        // An escape in a param: the general path reads it.
        const escaped = submitLine("8", unknown).replace(
          '"ffffffffffffffff"',
          '"\\u0066fffffffffffffff"',
        );
        assert((await bothWays(client, escaped)).includes('"error":[21,'));

        // Malformed params (protocol errors, so on their own connection).
        const sloppy = await connectMiner(engine, address);
        const bad = paramsOf(address, one);
        for (
          const params of [bad.slice(0, 4), [...bad, "00000000", "00"], [...bad.slice(0, 4), "zz"]]
        ) {
          const r = await bothWays(sloppy.client, submitLine("9", params));
          assert(r.includes('"error":[20,"Invalid submit parameters'), r);
        }
        await sloppy.client.close();

        // Before subscribing and before authorizing.
        const fresh = await StratumClient.connect({ port: engine.stratumPort });
        assert((await bothWays(fresh, submitLine("10", unknown))).includes('"error":[25,'));
        await fresh.subscribe();
        assert((await bothWays(fresh, submitLine("11", unknown))).includes('"error":[24,'));
        await fresh.close();

        assert(!client.isClosed);
        await client.close();
      } finally {
        assertEquals(
          await engine.stop(),
          0,
          `engine exits cleanly:\n${engine.logs().slice(-2000)}`,
        );
      }
    } finally {
      await node.stop();
    }
  },
});
