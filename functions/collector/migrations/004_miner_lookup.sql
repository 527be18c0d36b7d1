-- The miner API (functions/miner-api) reads one payout address's shares and
-- best-difficulty events, and its blocks: without these every page load would
-- scan the whole table.
CREATE INDEX IF NOT EXISTS events_address_ts_idx ON events ((data->>'address'), ts DESC)
  WHERE event IN ('share_submitted', 'share_best_diff');
CREATE INDEX IF NOT EXISTS blocks_address_ts_idx ON blocks ((data->>'address'), ts DESC);
