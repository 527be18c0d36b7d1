import { assert, assertEquals, assertThrows } from "../assert.ts";
import { requires } from "../harness/permissions.ts";
import {
  fromHex,
  hashToBigInt,
  sha256d,
  targetFromBits,
  targetFromDifficulty,
  toHex,
} from "../../lib/bitcoin/mod.ts";
import { prevhashToStratum, u32Hex } from "../../lib/stratum/encoding.ts";
import {
  headerFor,
  mine,
  parseNotify,
  rollVersion,
  spreadIntoMask,
} from "../../lib/stratum/job.ts";

const PREV = fromHex("11".repeat(16) + "22".repeat(16));
const notifyParams = (bits = "207fffff"): unknown[] => [
  "00000000000000a1",
  prevhashToStratum(PREV),
  "01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff0d03",
  "ffffffff0100f2052a010000001600140000000000000000000000000000000000000000" + "00000000",
  [toHex(sha256d(new Uint8Array([7]))), toHex(sha256d(new Uint8Array([8])))],
  "20000000",
  bits,
  "66500000",
  true,
];

requires({
  name: "stratum job: mining.notify decodes every field",
  permissions: [],
  fn() {
    const job = parseNotify(notifyParams());
    assertEquals(job.jobId, "00000000000000a1");
    assertEquals(toHex(job.prevhash), toHex(PREV));
    assertEquals(job.version, 0x20000000);
    assertEquals(job.bits, 0x207fffff);
    assertEquals(job.ntime, 0x66500000);
    assertEquals(job.merkleBranch.length, 2);
    assertEquals(job.cleanJobs, true);
    assertThrows(() => parseNotify(["x"]));
    const bad = notifyParams();
    bad[5] = "2000";
    assertThrows(() => parseNotify(bad));
  },
});

requires({
  name: "stratum job: mine finds a share whose rebuilt header meets the target",
  permissions: [],
  fn() {
    // nbits 1d00ffff: network difficulty 1, so a 1e-7 share is not a block.
    const job = parseNotify(notifyParams("1d00ffff"));
    const extranonce1 = fromHex("f000000d");
    const difficulty = 1e-7;
    const share = mine(job, difficulty, { extranonce1, extranonce2Size: 4 })!;
    assert(share !== null);
    assertEquals(share.jobId, job.jobId);
    assertEquals(share.extranonce2Hex, "00000000");
    assertEquals(share.ntimeHex, "66500000");
    assertEquals(share.isBlock, false);
    const header = headerFor(job, {
      extranonce1,
      extranonce2: fromHex(share.extranonce2Hex),
      ntime: parseInt(share.ntimeHex, 16),
      nonce: parseInt(share.nonceHex, 16),
      version: job.version,
    });
    const value = hashToBigInt(sha256d(header));
    assertEquals(value, share.hash);
    assert(value <= targetFromDifficulty(difficulty));
    assert(value > targetFromBits(job.bits));
    // Resuming from `next` never repeats the share.
    const again = mine(job, difficulty, {
      extranonce1,
      extranonce2Size: 4,
      nonceStart: share.next.nonce,
      extranonce2Start: share.next.extranonce2,
    })!;
    assert(parseInt(again.nonceHex, 16) > parseInt(share.nonceHex, 16));
  },
});

requires({
  name: "stratum job: a share meeting regtest nbits is flagged as a block",
  permissions: [],
  fn() {
    const job = parseNotify(notifyParams("207fffff"));
    // Difficulty below the network's: every share found is a block.
    const share = mine(job, 4e-10, { extranonce1: fromHex("01020304"), extranonce2Size: 8 })!;
    assertEquals(share.isBlock, true);
    assertEquals(share.extranonce2Hex, "0000000000000000");
    assert(share.hash <= targetFromBits(0x207fffff));
  },
});

requires({
  name: "stratum job: version rolling stays within the mask and is hashed",
  permissions: [],
  fn() {
    assertEquals(spreadIntoMask(0b101, 0x1fffe000), 0b101 << 13);
    assertEquals(spreadIntoMask(0b11, 0x00f000f0), 0x30);
    assertEquals(rollVersion(0x20000000, 0x1fffe000, 0xffffffff), 0x3fffe000);
    const job = parseNotify(notifyParams("1d00ffff"));
    const mask = 0x1fffe000;
    const extranonce1 = fromHex("aabbccdd");
    // Start past the first 2^16 nonces so the rolled bits are non-zero.
    const share = mine(job, 1e-7, {
      extranonce1,
      extranonce2Size: 4,
      versionMask: mask,
      nonceStart: 0x00030000,
    })!;
    const bits = parseInt(share.versionBitsHex!, 16);
    assertEquals(share.versionBitsHex, u32Hex(spreadIntoMask(3, mask)));
    assertEquals(bits & ~mask, 0);
    const header = headerFor(job, {
      extranonce1,
      extranonce2: fromHex(share.extranonce2Hex),
      ntime: job.ntime,
      nonce: parseInt(share.nonceHex, 16),
      version: rollVersion(job.version, mask, bits),
    });
    assertEquals(hashToBigInt(sha256d(header)), share.hash);
  },
});

requires({
  name: "stratum job: mine gives up after maxHashes",
  permissions: [],
  fn() {
    const job = parseNotify(notifyParams("1d00ffff"));
    assertEquals(
      mine(job, 1e6, { extranonce1: new Uint8Array(4), extranonce2Size: 4, maxHashes: 50 }),
      null,
    );
  },
});
