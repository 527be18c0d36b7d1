import { assert, assertEquals, assertThrows } from "../assert.ts";
import { requires } from "../harness/permissions.ts";
import { waitFor } from "../../lib/ports.ts";
import { StratumClient } from "../../lib/stratum/client.ts";
import { FakePool } from "./fake_pool.ts";
import { fromHex } from "../../lib/bitcoin/mod.ts";
import { mine } from "../../lib/stratum/job.ts";

/** A subscribed, authorized client on a fresh fake pool, with its first job. */
async function session(pool: FakePool, worker = "bcrt1qtest.w1") {
  const client = await StratumClient.connect({ port: pool.port, timeoutMs: 5_000 });
  const sub = await client.subscribe("test-client/1.0");
  const auth = await client.authorize(worker, "x");
  const job = await client.nextNotify();
  return { client, sub, auth, job, worker };
}

function mineFor(client: StratumClient, job = client.currentJob!, nonceStart = 0, mask = 0) {
  return mine(job, client.currentDifficulty, {
    extranonce1: fromHex(client.extranonce1),
    extranonce2Size: client.extranonce2Size,
    versionMask: mask,
    nonceStart,
  })!;
}

requires({
  name: "stratum client: subscribe, authorize, mine and submit an accepted share",
  permissions: ["net"],
  async fn() {
    const pool = new FakePool({ difficulty: 1e-6 });
    const { client, sub, auth, job, worker } = await session(pool);
    try {
      assertEquals(sub.extranonce2Size, 4);
      assertEquals(sub.extranonce1.length, 8);
      assertEquals(auth, { result: true, error: null });
      assertEquals(client.currentDifficulty, 1e-6);
      assertEquals(client.currentJob!.jobId, job.jobId);
      const share = mineFor(client);
      const ok = await client.submit(
        worker,
        share.jobId,
        share.extranonce2Hex,
        share.ntimeHex,
        share.nonceHex,
      );
      assertEquals(ok, { result: true, error: null });
      const dup = await client.submit(
        worker,
        share.jobId,
        share.extranonce2Hex,
        share.ntimeHex,
        share.nonceHex,
      );
      assertEquals(dup.error?.code, 22);
      const missing = await client.submit(worker, "ffff", "00000000", share.ntimeHex, "00000000");
      assertEquals(missing.error?.code, 21);
      // Raise the difficulty: a share found for the old one is now low difficulty.
      const easy = mineFor(client, job, share.next.nonce);
      pool.setDifficulty(1e9);
      await waitFor(() => client.currentDifficulty === 1e9, { what: "set_difficulty" });
      const low = await client.submit(
        worker,
        easy.jobId,
        easy.extranonce2Hex,
        easy.ntimeHex,
        easy.nonceHex,
      );
      assertEquals(low.error?.code, 23);
      assertEquals(pool.submits.filter((s) => s.accepted).length, 1);
    } finally {
      await client.close();
      await pool.close();
    }
  },
});

requires({
  name: "stratum client: unsubscribed and unauthorized submits get 25 and 24",
  permissions: ["net"],
  async fn() {
    const pool = new FakePool();
    const client = await StratumClient.connect({ port: pool.port });
    try {
      const early = await client.submit("w", "1", "00000000", "00000000", "00000000");
      assertEquals(early.error?.code, 25);
      await client.subscribe();
      const bad = await client.authorize("bad-user", "x");
      assertEquals(bad.result, false);
      assertEquals(bad.error?.code, 24);
      const unauth = await client.submit("w", "1", "00000000", "00000000", "00000000");
      assertEquals(unauth.error?.code, 24);
    } finally {
      await client.close();
      await pool.close();
    }
  },
});

requires({
  name: "stratum client: version rolling is negotiated, mined within the mask and accepted",
  permissions: ["net"],
  async fn() {
    const pool = new FakePool({ difficulty: 1e-6 });
    const client = await StratumClient.connect({ port: pool.port });
    try {
      const configured = await client.configureVersionRolling("ffffffff");
      assertEquals(configured.error, null);
      assertEquals(client.versionMask, 0x1fffe000);
      await client.subscribe();
      await client.authorize("w1");
      await client.nextNotify();
      const share = mineFor(client, client.currentJob!, 0x20000, client.versionMask);
      assert(share.versionBitsHex !== undefined && share.versionBitsHex !== "00000000");
      const ok = await client.submit(
        "w1",
        share.jobId,
        share.extranonce2Hex,
        share.ntimeHex,
        share.nonceHex,
        share.versionBitsHex,
      );
      assertEquals(ok, { result: true, error: null });
      const outside = await client.submit(
        "w1",
        share.jobId,
        share.extranonce2Hex,
        share.ntimeHex,
        share.nonceHex,
        "00000001",
      );
      assertEquals(outside.error?.code, 20);
    } finally {
      await client.close();
      await pool.close();
    }
  },
});

requires({
  name: "stratum client: clean jobs are awaited and old jobs become unknown",
  permissions: ["net"],
  async fn() {
    const pool = new FakePool({ difficulty: 1e-6 });
    const { client, job, worker } = await session(pool);
    try {
      const old = mineFor(client, job);
      const fresh = pool.newJob(true);
      const next = await client.nextNotify();
      assertEquals(next.jobId, fresh.jobId);
      assertEquals(next.cleanJobs, true);
      assertEquals(
        (await client.waitForJob((j) => j.jobId === fresh.jobId)).jobId,
        fresh.jobId,
      );
      const later = client.waitForJob((j) => j.cleanJobs === false);
      pool.newJob(false);
      assertEquals((await later).cleanJobs, false);
      const stale = await client.submit(
        worker,
        old.jobId,
        old.extranonce2Hex,
        old.ntimeHex,
        old.nonceHex,
      );
      assertEquals(stale.error?.code, 21);
    } finally {
      await client.close();
      await pool.close();
    }
  },
});

requires({
  name: "stratum client: raw malformed lines reach the server, its answers are kept",
  permissions: ["net"],
  async fn() {
    const pool = new FakePool();
    const client = await StratumClient.connect({ port: pool.port });
    try {
      await client.sendLine("{not json");
      await client.sendLine(new Uint8Array([0xff, 0xfe, 0x0a]));
      await waitFor(() => pool.malformed.length === 2, { what: "two malformed lines" });
      await waitFor(() => client.unexpected.length === 2, { what: "two error replies" });
      assert(client.unexpected[0].includes("malformed"));
    } finally {
      await client.close();
      await pool.close();
    }
  },
});

requires({
  name: "stratum client: an unanswered request times out",
  permissions: ["net"],
  async fn() {
    const pool = new FakePool({ silentMethods: ["mining.authorize"] });
    const client = await StratumClient.connect({ port: pool.port, timeoutMs: 200 });
    try {
      await client.subscribe();
      const error = await client.authorize("w").then(() => null, (e: Error) => e);
      assert(error?.message.includes("timed out"), `got ${error}`);
      assert(!client.isClosed);
    } finally {
      await client.close();
      await pool.close();
    }
  },
});

requires({
  name: "stratum client: server disconnect resolves closed and fails pending requests",
  permissions: ["net"],
  async fn() {
    const pool = new FakePool({ silentMethods: ["mining.authorize"] });
    const client = await StratumClient.connect({ port: pool.port });
    try {
      await client.subscribe();
      const pending = client.authorize("w").then(() => null, (e: Error) => e);
      await waitFor(() => pool.connections === 1);
      pool.disconnectAll();
      assertEquals((await client.closed).by, "server");
      assert((await pending)?.message.includes("connection closed"));
      assert(client.isClosed);
    } finally {
      await client.close();
      await pool.close();
    }
  },
});

requires({
  name: "stratum client: an over-long line from the server closes the connection",
  permissions: ["net"],
  async fn() {
    const pool = new FakePool();
    const client = await StratumClient.connect({ port: pool.port, maxLineBytes: 1024 });
    try {
      await client.subscribe();
      pool.broadcastRaw("x".repeat(100_000));
      assertEquals((await client.closed).by, "line-too-long");
    } finally {
      await client.close();
      await pool.close();
    }
  },
});

requires({
  name: "stratum client: url parsing",
  permissions: [],
  fn() {
    assertEquals(StratumClient.parseUrl("stratum+tcp://127.0.0.1:3333"), {
      hostname: "127.0.0.1",
      port: 3333,
    });
    assertEquals(StratumClient.parseUrl("pool.example:3334"), {
      hostname: "pool.example",
      port: 3334,
    });
    assertThrows(() => StratumClient.parseUrl("http://x"));
    assertThrows(() => StratumClient.parseUrl("stratum+tcp://h:99999"));
  },
});
