/**
 * The miner API's address check: BIP 173 / BIP 350 and Base58Check vectors
 * accepted on their network, and each kind of mistake rejected with its own reason.
 */

import { deepStrictEqual as assertEquals, match } from "node:assert/strict";
import { checkAddress, type NetworkName } from "../../functions/miner-api/address.ts";

const VALID: Array<[string, NetworkName, string]> = [
  ["BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", "main", "bech32"],
  ["bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3", "main", "bech32"],
  ["bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0", "main", "bech32m"],
  ["1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", "main", "legacy"],
  ["3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", "main", "p2sh"],
  ["tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7", "testnet", "bech32"],
  ["tb1ppyysjzgfpyysjzgfpyysjzgfpyysjzgfpyysjzgfpyysjzgfpyys6k4apt", "signet", "bech32m"],
  ["bcrt1qw33xwttyv4kk7ttdd9hx2u3dv9jxgu3p3snjgx", "regtest", "bech32"],
  ["bcrt1pqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszq8t4fdp", "regtest", "bech32m"],
  ["mg4oZj8S8jd86yCRvCi8w3D1q87Q8HET9d", "regtest", "legacy"],
  ["2MstP8uJfYBsk1HfmCU9MW3qqKgvrw3ESd1", "testnet4", "p2sh"],
];

Deno.test("miner api address: valid addresses of every type and network pass", () => {
  for (const [address, network, type] of VALID) {
    const check = checkAddress(address, network);
    const canonical = type === "bech32" || type === "bech32m" ? address.toLowerCase() : address;
    assertEquals(check, { ok: true, address: canonical, type }, address);
  }
});

const INVALID: Array<[string, NetworkName, RegExp]> = [
  ["", "main", /empty/],
  ["bc1q" + "q".repeat(90), "main", /at most 90/],
  ["bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4 ", "main", /space/],
  ["bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5", "main", /checksum does not match/],
  ["bc1qw508d6qejxtdg4y5r3zarvaRy0c5xw7kv8f3t4", "main", /mixes upper and lower case/],
  [
    "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3tb",
    "main",
    /'b' at position 42 is not in the bech32 alphabet/,
  ],
  [
    "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7",
    "main",
    /prefix 'tb1' is not this network's \(main uses 'bc1'\)/,
  ],
  ["bcrt1qw33xwttyv4kk7ttdd9hx2u3dv9jxgu3p3snjgx", "signet", /prefix 'bcrt1'/],
  // BIP 350: v1 with a bech32 checksum, v0 with a bech32m checksum.
  [
    "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd",
    "main",
    /witness version 1 needs a bech32m checksum/,
  ],
  [
    "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh",
    "main",
    /witness version 0 needs a bech32 checksum, the address has a bech32m one/,
  ],
  ["1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3", "main", /base58 checksum does not match/],
  [
    "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN0",
    "main",
    /'0' at position 34 is not in the base58 alphabet/,
  ],
  ["1BvBMSEYstWetqTFn5Au4m", "main", /decodes to \d+ bytes \(25 expected\)/],
  [
    "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2",
    "regtest",
    /version byte 0x00 is not a regtest P2PKH or P2SH address/,
  ],
  ["mg4oZj8S8jd86yCRvCi8w3D1q87Q8HET9d", "main", /version byte 0x6f is not a main/],
];

Deno.test("miner api address: each mistake gets its own reason", () => {
  for (const [address, network, reason] of INVALID) {
    const check = checkAddress(address, network);
    assertEquals(check.ok, false, address);
    if (!check.ok) match(check.error, reason, address);
  }
});
