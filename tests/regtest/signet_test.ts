/**
 * Signet (BIP 325) under the private challenge 51 (OP_TRUE), with blocks built
 * by hand: the chain's genesis and template, Core's getblocktemplate rule
 * errors, and submitblock accepting valid solutions and answering each broken
 * one with Core's reject string. Runs against bitcoind too (-signet
 * -signetchallenge=51); the two start-up and script cases only the stand-in
 * has are marked so.
 */
import { buildBlock, signetSolution, unhex } from "./block_builder.ts";
import { assert, assertEquals } from "../assert.ts";
import { assertRpcError, getTemplate, nextSpec, nodeTest, runNode, withNodes } from "./helpers.ts";
import type { BitcoinNode } from "../../lib/harness/bitcoin_node.ts";

const SIGNET_RULES = ["segwit", "signet"];
const SIGNET_GENESIS = "00000008819873e925422c1ff0f99f7cc9bbb232af63a077a480a3633bee1ef6";
const SIGNET_RULE_ERROR = "getblocktemplate must be called with the signet rule set " +
  '(call with {"rules": ["segwit", "signet"]})';
const SEGWIT_RULE_ERROR =
  'getblocktemplate must be called with the segwit rule set (call with {"rules": ["segwit"]})';
const OP_0 = Uint8Array.of(0x00);
const OP_RESERVED = Uint8Array.of(0x50);
const OP_NOP = Uint8Array.of(0x61);

const signet = { chain: "signet" as const };

/** Builds the next block on `node` with `extra` spec fields; a fresh time each time. */
async function nextBlock(node: BitcoinNode, extra: Parameters<typeof buildBlock>[0] | object) {
  const spec = await nextSpec(node, SIGNET_RULES);
  return buildBlock({ ...spec, ...extra });
}

nodeTest("signet 51: genesis, template rules and signet_challenge match Core", async () => {
  await withNodes([signet], async (node) => {
    const info = await node.rpc<{ chain: string; blocks: number }>("getblockchaininfo");
    assertEquals(info.chain, "signet");
    assertEquals(await node.rpc("getblockhash", [0]), SIGNET_GENESIS);
    await assertRpcError(
      node.rpc("getblocktemplate", [{ rules: ["segwit"] }]),
      -8,
      SIGNET_RULE_ERROR,
    );
    await assertRpcError(node.rpc("getblocktemplate", [{}]), -8, SIGNET_RULE_ERROR);
    await assertRpcError(
      node.rpc("getblocktemplate", [{ rules: ["signet"] }]),
      -8,
      SEGWIT_RULE_ERROR,
    );
    const t = await getTemplate(node, SIGNET_RULES);
    assertEquals(t.signet_challenge, "51");
    assertEquals(t.bits, "1e0377ae");
    assertEquals(t.previousblockhash, SIGNET_GENESIS);
    assert((t.rules as string[]).includes("!signet"), `rules: ${JSON.stringify(t.rules)}`);
  });
});

nodeTest(
  "signet 51: submitblock accepts valid solutions and rejects each broken one",
  async (t) => {
    await withNodes([signet], async (node) => {
      const submit = (hex: string) => node.rpc<string | null>("submitblock", [hex]);
      const accepted: [string, object][] = [
        ["no signet solution (allowed for OP_TRUE)", {}],
        ["empty scriptSig and witness", { signetSolution: signetSolution(new Uint8Array(0)) }],
        ["push-only scriptSig", { signetSolution: signetSolution(OP_0) }],
      ];
      for (const [name, extra] of accepted) {
        await t.step(`accepted: ${name}`, async () => {
          const block = await nextBlock(node, extra);
          assertEquals(await submit(block.hex), null);
          assertEquals(await node.rpc("getbestblockhash"), block.hash);
        });
      }
      const rejected: [string, object][] = [
        ["no witness commitment", { commitment: "none" }],
        ["a witness for a challenge that is no witness program", {
          signetSolution: signetSolution(new Uint8Array(0), [Uint8Array.of(1)]),
        }],
        ["extra bytes after the solution", {
          signetSolution: Uint8Array.of(...signetSolution(new Uint8Array(0)), 0x00),
        }],
        ["a solution that ends inside its scriptSig", { signetSolution: unhex("0500") }],
        ["a scriptSig that executes OP_RESERVED", { signetSolution: signetSolution(OP_RESERVED) }],
      ];
      for (const [name, extra] of rejected) {
        await t.step(`bad-signet-blksig: ${name}`, async () => {
          const tip = await node.rpc<string>("getbestblockhash");
          const block = await nextBlock(node, extra);
          assertEquals(await submit(block.hex), "bad-signet-blksig");
          assertEquals(await node.rpc("getbestblockhash"), tip);
        });
      }
      await t.step("high-hash: proof of work above signet's target", async () => {
        const block = await nextBlock(node, { pow: "invalid" });
        assertEquals(await submit(block.hex), "high-hash");
      });
    });
  },
);

nodeTest(
  "signet 51: a scriptSig with an opcode the stand-in cannot evaluate is refused, never accepted unverified",
  async () => {
    // Bitcoin Core runs such a scriptSig (OP_NOP then OP_TRUE succeeds); the
    // stand-in has no script interpreter beyond pushes, so it refuses.
    await withNodes([signet], async (node) => {
      const block = await nextBlock(node, { signetSolution: signetSolution(OP_NOP) });
      assertEquals(await node.rpc("submitblock", [block.hex]), "bad-signet-blksig");
    });
  },
  "regtest-ts",
);

nodeTest(
  "signet: a challenge the stand-in cannot verify stops it at start with exit 1",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "signet-cli-" });
    try {
      // The public signet's default challenge (a 1-of-2 multisig) and a made-up one.
      for (const args of [["-signet"], ["-signet", "-signetchallenge=5152ae"]]) {
        const run = await runNode([...args, `-datadir=${dir}`]);
        assertEquals(run.code, 1, run.stderr);
        assert(run.stderr.includes("cannot verify signet challenge"), run.stderr);
        assert(run.stderr.includes("-signetchallenge=51"), run.stderr);
      }
      const badHex = await runNode(["-signet", "-signetchallenge=zz", `-datadir=${dir}`]);
      assertEquals(badHex.code, 1);
      assert(badHex.stderr.includes("-signetchallenge must be hex"), badHex.stderr);
      // Nothing was written: a refused start leaves no chain behind.
      const entries = [...Deno.readDirSync(dir)].map((e) => e.name);
      assert(!entries.includes("signet") || [...Deno.readDirSync(`${dir}/signet`)].length === 0);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
  "regtest-ts",
);
