/**
 * engine_started against a real PostgreSQL: the seq a killed boot would have
 * reached raises that boot's highest_seq, so what its queue lost counts as
 * missing; also for a boot with nothing stored, in the same batch as the
 * boot's own events, once only on redelivery, and never from a malformed one.
 */

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import postgres from "postgres";
import { requires, SERVICE_PERMISSIONS } from "../harness/permissions.ts";
import { startPostgres } from "../../lib/harness/postgres.ts";
import { allMigrations, migrate } from "../../functions/collector/migrate.ts";
import { type SourceSeq, writeEvents } from "../../functions/collector/pg_sink.ts";
import { FakeEngine } from "../../lib/harness/fake_engine.ts";

function source(sources: SourceSeq[], bootId: string) {
  const s = sources.find((x) => x.boot_id === bootId);
  return s && [s.highest_seq, s.received, s.missing];
}

requires({
  name: "collector: engine_started counts a killed boot's unsent events as missing",
  permissions: SERVICE_PERMISSIONS,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const pg = await startPostgres();
    const sql = postgres(pg.url, { max: 2, onnotice: () => {} });
    const dir = await Deno.makeTempDir();
    const boot = (name: string) =>
      new FakeEngine({ region: "asia", poolInstance: "ckpool-asia", clientPath: `${dir}/${name}` });
    const engines = [boot("a"), boot("b"), boot("c"), boot("d")];
    const [a, b, c, d] = engines;
    try {
      await migrate(sql, await allMigrations());
      // Boot a delivered seqs 1..5; seqs 6..8 were in its queue at the SIGKILL.
      const delivered = Array.from({ length: 5 }, () => a.next());
      for (let i = 0; i < 3; i++) a.next();
      let r = await writeEvents(sql, delivered);
      assertEquals(source(r.sources, a.bootId), [5, 5, 0]);

      const started = b.next("engine_started", {
        previous_boot_id: a.bootId,
        previous_last_seq: 8,
      });
      r = await writeEvents(sql, [started]);
      assertEquals(r.inserted, 1);
      assertEquals(source(r.sources, a.bootId), [8, 5, 3]);
      assertEquals(source(r.sources, b.bootId), [1, 1, 0]);
      // Only b is live: the collector never makes an announced boot its current one.
      const flags = (id: string) => r.sources.find((x) => x.boot_id === id)?.announcedOnly;
      assertEquals([flags(a.bootId), flags(b.bootId)], [true, undefined]);
      // Redelivered: not inserted again, so not counted again.
      r = await writeEvents(sql, [started]);
      assertEquals([r.inserted, r.sources.length], [0, 0]);

      // Boot b's own events and boot c's announcement of b in one batch; and
      // a boot (c) announced by d before any of c's events arrived.
      const bLater = [b.next(), b.next()];
      const cStarted = c.next("engine_started", {
        previous_boot_id: b.bootId,
        previous_last_seq: 6,
      });
      const dStarted = d.next("engine_started", {
        previous_boot_id: c.bootId,
        previous_last_seq: 4,
      });
      r = await writeEvents(sql, [...bLater, cStarted, dStarted]);
      assertEquals(r.inserted, 4);
      assertEquals(source(r.sources, b.bootId), [6, 3, 3]);
      assertEquals(source(r.sources, c.bootId), [4, 1, 3]);
      assertEquals(source(r.sources, d.bootId), [1, 1, 0]);

      // Malformed announcements are stored as events but move no counter.
      const bad = [
        d.next("engine_started", { previous_boot_id: "nope", previous_last_seq: 99 }),
        d.next("engine_started", { previous_boot_id: c.bootId, previous_last_seq: "99" }),
        d.next("engine_started", { previous_boot_id: c.bootId, previous_last_seq: 0 }),
        d.next("engine_started", { previous_boot_id: c.bootId, previous_last_seq: 1.5 }),
      ];
      r = await writeEvents(sql, bad);
      assertEquals(r.inserted, 4);
      assertEquals(source(r.sources, c.bootId), undefined);
      assertEquals(source(r.sources, d.bootId), [5, 5, 0]);
      const [row] = await sql`
        select highest_seq::int, missing::int from event_sources where boot_id = ${c.bootId}`;
      assertEquals(row, { highest_seq: 4, missing: 3 });
    } finally {
      for (const e of engines) e.close();
      await sql.end();
      await pg.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
