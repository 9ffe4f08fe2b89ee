-- The catalogue: which time partitions exist and which label sets (streams) have been seen.
-- Log lines live in one SQLite file per partition (libs/storage/src/partition-schema.ts), so that
-- dropping a partition is an unlink and its space is back at once, WAL included.

CREATE TABLE partitions (
  start_ms   INTEGER PRIMARY KEY,
  end_ms     INTEGER NOT NULL,
  name       TEXT    NOT NULL UNIQUE,
  created_ms INTEGER NOT NULL
);

-- Each label set is stored once and lines refer to it by id. A missing label is '' so that the
-- unique index treats two missing values as equal (NULLs never are).
CREATE TABLE streams (
  id        INTEGER PRIMARY KEY,
  namespace TEXT NOT NULL,
  pod       TEXT NOT NULL,
  container TEXT NOT NULL,
  source    TEXT NOT NULL
);

CREATE UNIQUE INDEX streams_by_labels ON streams (pod, namespace, container, source);
