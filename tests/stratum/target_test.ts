import { assert, assertEquals, assertThrows } from "../assert.ts";
import { requires } from "../harness/permissions.ts";
import {
  DIFF1_TARGET,
  difficulty,
  difficultyFromTarget,
  MAX_TARGET,
  targetFromBits,
  targetFromDifficulty,
} from "../../lib/bitcoin/mod.ts";

requires({
  name: "stratum target: difficulty 1 and powers of two are exact",
  permissions: [],
  fn() {
    assertEquals(targetFromDifficulty(1), DIFF1_TARGET);
    assertEquals(
      targetFromDifficulty(1).toString(16).padStart(64, "0"),
      "00000000ffff0000000000000000000000000000000000000000000000000000",
    );
    assertEquals(targetFromDifficulty(2), DIFF1_TARGET / 2n);
    assertEquals(targetFromDifficulty(0.5), DIFF1_TARGET * 2n);
    assertEquals(targetFromDifficulty(65536), DIFF1_TARGET >> 16n);
  },
});

requires({
  name: "stratum target: tiny difficulties give large targets, capped at 2^256-1",
  permissions: [],
  fn() {
    const t = targetFromDifficulty(1e-9);
    // diff1 * 1e9 within the rounding of 1e-9 as a double.
    const expected = DIFF1_TARGET * 1_000_000_000n;
    const error = t > expected ? t - expected : expected - t;
    assert(error * 1_000_000_000_000n < expected, `target ${t} far from ${expected}`);
    assert(t < MAX_TARGET);
    assertEquals(targetFromDifficulty(2 ** -40), MAX_TARGET);
    const back = difficultyFromTarget(t);
    assert(Math.abs(back - 1e-9) / 1e-9 < 1e-12, `difficulty ${back}`);
    assertThrows(() => targetFromDifficulty(0));
    assertThrows(() => targetFromDifficulty(-1));
    assertThrows(() => targetFromDifficulty(NaN));
  },
});

requires({
  name: "stratum target: nbits decode (mainnet diff 1, block 125552, regtest, testbits)",
  permissions: [],
  fn() {
    assertEquals(targetFromBits(0x1d00ffff), DIFF1_TARGET);
    assertEquals(difficulty(0x1d00ffff), 1);
    assertEquals(targetFromBits(0x1a44b9f2), 0x44b9f2n << (8n * 23n));
    assertEquals(targetFromBits(0x207fffff), 0x7fffffn << (8n * 29n));
    const regtest = difficulty(0x207fffff);
    assert(Math.abs(regtest - 4.6565423739069247e-10) / regtest < 1e-12, `regtest ${regtest}`);
    assertEquals(difficulty(0x1e00ffff), 1 / 256);
    assertEquals(difficultyFromTarget(0n), Infinity);
  },
});
