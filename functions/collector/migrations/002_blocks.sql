-- Every block_found, with the region that found it.
CREATE TABLE IF NOT EXISTS blocks (
  event_id      uuid        PRIMARY KEY,
  ts            timestamptz NOT NULL,
  region        text        NOT NULL,
  pool_instance text        NOT NULL,
  height        bigint,
  block_hash    text,
  data          jsonb       NOT NULL,
  committed_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE INDEX IF NOT EXISTS blocks_ts_idx ON blocks (ts DESC);
CREATE INDEX IF NOT EXISTS blocks_region_ts_idx ON blocks (region, ts DESC);
