-- Per engine start (pool_instance, boot_id): the highest seq seen and how many
-- seqs below it never arrived. seq starts at 1 (0 is accepted as a start too),
-- so missing = highest_seq - least(lowest_seq, 1) + 1 - received; a late event
-- that fills a gap raises received and so lowers missing.
CREATE TABLE IF NOT EXISTS event_sources (
  pool_instance text        NOT NULL,
  boot_id       uuid        NOT NULL,
  region        text        NOT NULL,
  highest_seq   bigint      NOT NULL,
  lowest_seq    bigint      NOT NULL,
  received      bigint      NOT NULL,
  missing       bigint      NOT NULL,
  first_seen    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (pool_instance, boot_id)
);
