-- Every event exactly once. On TimescaleDB this table becomes a hypertable on
-- ts (migration step "timescale" in migrate.ts), so the unique index that makes
-- inserts idempotent includes the time column: (event_id, ts).
CREATE TABLE IF NOT EXISTS events (
  event_id      uuid        NOT NULL,
  ts            timestamptz NOT NULL,
  event         text        NOT NULL,
  source        text        NOT NULL,
  region        text        NOT NULL,
  pool_instance text        NOT NULL,
  boot_id       uuid        NOT NULL,
  seq           bigint      NOT NULL,
  data          jsonb       NOT NULL,
  committed_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE UNIQUE INDEX IF NOT EXISTS events_event_id_ts_key ON events (event_id, ts);
CREATE INDEX IF NOT EXISTS events_event_ts_idx ON events (event, ts DESC);
CREATE INDEX IF NOT EXISTS events_region_ts_idx ON events (region, ts DESC);
CREATE INDEX IF NOT EXISTS events_source_seq_idx ON events (pool_instance, boot_id, seq);
