/**
 * The JSON-RPC surface: Basic auth, batches, errors, read-only RPCs,
 * validateaddress, and the node's command line.
 */
import { buildBlock } from "./block_builder.ts";
import { assert, assertEquals } from "../assert.ts";
import { assertRpcError, nextSpec, nodeTest, runNode, TEST_ADDRESS, withNodes } from "./helpers.ts";
import type { BitcoinNode } from "../../lib/harness/bitcoin_node.ts";

function post(
  node: BitcoinNode,
  body: string,
  auth = `${node.user}:${node.pass}`,
): Promise<Response> {
  return fetch(node.rpcUrl, {
    method: "POST",
    headers: { Authorization: "Basic " + btoa(auth), "Content-Type": "application/json" },
    body,
  });
}

nodeTest(
  "JSON-RPC: 401 on bad auth, batches, parse errors, unknown methods, JSON-RPC 2.0",
  async () => {
    await withNodes([{}], async (node) => {
      const unauthorized = await post(
        node,
        '{"method":"getblockcount","id":1}',
        `${node.user}:wrong`,
      );
      await unauthorized.body?.cancel();
      assertEquals(unauthorized.status, 401);

      const batch = await post(
        node,
        JSON.stringify([
          { method: "getblockcount", params: [], id: 1 },
          { method: "nosuchmethod", params: [], id: 2 },
          { method: "getblockhash", params: [0], id: 3 },
        ]),
      );
      assertEquals(batch.status, 200);
      const replies = await batch.json();
      assertEquals(replies.length, 3);
      assertEquals(replies[0], { result: 0, error: null, id: 1 });
      assertEquals(replies[1], {
        result: null,
        error: { code: -32601, message: "Method not found" },
        id: 2,
      });
      assertEquals(
        replies[2].result,
        "0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206",
      );

      const unknown = await post(node, '{"method":"nosuchmethod","params":[],"id":7}');
      assertEquals(unknown.status, 404);
      assertEquals(await unknown.json(), {
        result: null,
        error: { code: -32601, message: "Method not found" },
        id: 7,
      });

      const parse = await post(node, "{not json");
      assertEquals(parse.status, 500);
      assertEquals((await parse.json()).error, { code: -32700, message: "Parse error" });

      const v2 = await post(node, '{"jsonrpc":"2.0","method":"getblockcount","id":"x"}');
      assertEquals(await v2.json(), { jsonrpc: "2.0", result: 0, id: "x" });

      const named = await post(node, '{"method":"getblockhash","params":{"height":0},"id":1}');
      assertEquals(
        (await named.json()).result,
        "0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206",
      );
    });
  },
);

nodeTest(
  "chain RPCs report the chain and reject bad parameters with bitcoind's codes",
  async () => {
    await withNodes([{}], async (node) => {
      const info = await node.rpc<Record<string, unknown>>("getblockchaininfo");
      assertEquals(info.chain, "regtest");
      assertEquals(info.blocks, 0);
      assertEquals(info.pruned, false);
      assertEquals(
        info.bestblockhash,
        "0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206",
      );

      const mined = await node.rpc<string[]>("generatetoaddress", [2, TEST_ADDRESS]);
      assertEquals(mined.length, 2);
      assertEquals(await node.rpc("getblockcount"), 2);
      assertEquals(await node.rpc("getblockhash", [2]), mined[1]);
      await assertRpcError(node.rpc("getblockhash", [3]), -8, "Block height out of range");
      await assertRpcError(node.rpc("getblock", ["00".repeat(32)]), -5, "Block not found");
      await assertRpcError(node.rpc("getblockheader", ["00".repeat(32)]), -5, "Block not found");
      await assertRpcError(node.rpc("getblock", ["abc"]), -8);
      await assertRpcError(
        node.rpc("generatetoaddress", [1, "notanaddress"]),
        -5,
        "Error: Invalid address",
      );

      const header = await node.rpc<Record<string, unknown>>("getblockheader", [mined[1]]);
      assertEquals(header.height, 2);
      assertEquals(header.previousblockhash, mined[0]);
      const rawHeader = await node.rpc<string>("getblockheader", [mined[1], false]);
      assertEquals(rawHeader.length, 160);
      const block = await node.rpc<{
        tx: {
          vout: { value: number; scriptPubKey: { address?: string; type: string; hex: string } }[];
        }[];
      }>("getblock", [mined[1], 2]);
      const pay = block.tx[0].vout[0];
      assertEquals(pay.value, 50);
      assertEquals(pay.scriptPubKey.address, TEST_ADDRESS);
      assertEquals(pay.scriptPubKey.type, "witness_v0_keyhash");
      assertEquals(pay.scriptPubKey.hex, "0014751e76e8199196d454941c45d1b3a323f1433bd6");

      assertEquals(typeof (await node.rpc("getdifficulty")), "number");
      const mining = await node.rpc<Record<string, unknown>>("getmininginfo");
      assertEquals(mining.blocks, 2);
      const net = await node.rpc<Record<string, unknown>>("getnetworkinfo");
      assert(typeof net.version === "number" && typeof net.subversion === "string");
      assertEquals(await node.rpc("getpeerinfo"), []);
      assertEquals(await node.rpc("getrawmempool"), []);
    });
  },
);

nodeTest("validateaddress accepts regtest encodings and rejects others", async () => {
  await withNodes([{}], async (node) => {
    const valid: [string, string][] = [
      ["mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn", "76a914243f1394f44554f4ce3fd68649c19adc483ce92488ac"],
      ["2MzQwSSnBHWHqSAqtTVQ6v47XtaisrJa1Vc", "a9144e9f39ca4688ff102128ea4ccda34105324305b087"],
      [TEST_ADDRESS, "0014751e76e8199196d454941c45d1b3a323f1433bd6"],
      [
        "bcrt1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqc8gma6",
        "512079be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798",
      ],
    ];
    for (const [address, script] of valid) {
      const r = await node.rpc<{ isvalid: boolean; scriptPubKey: string }>("validateaddress", [
        address,
      ]);
      assertEquals(r.isvalid, true, address);
      assertEquals(r.scriptPubKey, script, address);
    }
    const invalid = [
      "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", // mainnet P2PKH
      "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", // mainnet bech32
      "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt081", // bad checksum
      "mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfm", // bad base58 checksum
      "bcrt1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqmx6r2j", // v1 with bech32 checksum
      "",
    ];
    for (const address of invalid) {
      const r = await node.rpc<{ isvalid: boolean }>("validateaddress", [address]);
      assertEquals(r.isvalid, false, address);
    }
  });
});

nodeTest("stop RPC ends the node; blocks survive a restart", async () => {
  await withNodes([{}], async (node) => {
    const spec = await nextSpec(node);
    const block = buildBlock(spec);
    assertEquals(await node.rpc("submitblock", [block.hex]), null);
    await node.rpc("generatetoaddress", [3, TEST_ADDRESS]);
    const best = await node.rpc<string>("getbestblockhash");
    await node.restart();
    assertEquals(await node.rpc("getblockcount"), 4);
    assertEquals(await node.rpc("getbestblockhash"), best);
    assertEquals(await node.rpc("getblockhash", [1]), block.hash);
    await node.kill();
    await node.restart();
    assertEquals(await node.rpc("getbestblockhash"), best);
    await node.rpc("stop");
    // restart() after the node stopped itself starts it again on the same data.
    await node.restart();
    assertEquals(await node.rpc("getblockcount"), 4);
  });
});

nodeTest("pruned mode reports pruned and keeps templates and submission working", async () => {
  await withNodes([{ prune: 550 }], async (node) => {
    const info = await node.rpc<Record<string, unknown>>("getblockchaininfo");
    assertEquals(info.pruned, true);
    assertEquals(typeof info.pruneheight, "number");
    const block = buildBlock(await nextSpec(node));
    assertEquals(await node.rpc("submitblock", [block.hex]), null);
    assertEquals(await node.rpc("getbestblockhash"), block.hash);
  });
});

nodeTest("command line: unknown flags and bad values exit 1 with a clear error", async () => {
  const dir = await Deno.makeTempDir({ prefix: "regtest-cli-" });
  try {
    const unknown = await runNode(["-regtest", `-datadir=${dir}`, "-bogusflag=1"]);
    assertEquals(unknown.code, 1);
    assert(unknown.stderr.includes("Invalid parameter -bogusflag"), unknown.stderr);
    const badPort = await runNode(["-regtest", `-datadir=${dir}`, "-rpcport=notaport"]);
    assertEquals(badPort.code, 1);
    assert(badPort.stderr.includes("-rpcport"), badPort.stderr);
    const badBits = await runNode(["-regtest", `-datadir=${dir}`, "-testbits=xyz"]);
    assertEquals(badBits.code, 1);
    assert(badBits.stderr.includes("-testbits"), badBits.stderr);
    const noDir = await runNode(["-regtest", `-datadir=${dir}/missing`]);
    assertEquals(noDir.code, 1);
    assert(noDir.stderr.includes("does not exist"), noDir.stderr);
    const noRegtest = await runNode([`-datadir=${dir}`]);
    assertEquals(noRegtest.code, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}, "regtest-ts");
