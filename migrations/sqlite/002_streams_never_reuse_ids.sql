-- The pruner forgets label sets no partition uses any more. Without AUTOINCREMENT SQLite hands the
-- highest freed id to the next new label set, and a reader that cached the old set under that id
-- would show (or miss) lines under the wrong labels.

CREATE TABLE streams_autoincrement (
  id        INTEGER PRIMARY KEY AUTOINCREMENT,
  namespace TEXT NOT NULL,
  pod       TEXT NOT NULL,
  container TEXT NOT NULL,
  source    TEXT NOT NULL
);

INSERT INTO streams_autoincrement (id, namespace, pod, container, source)
  SELECT id, namespace, pod, container, source FROM streams;

DROP TABLE streams;

ALTER TABLE streams_autoincrement RENAME TO streams;

CREATE UNIQUE INDEX streams_by_labels ON streams (pod, namespace, container, source);
