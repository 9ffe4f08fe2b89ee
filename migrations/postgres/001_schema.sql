-- Daylog's schema on PostgreSQL (15 or newer), beside SQLite's in migrations/.
--
-- Times are bigint milliseconds since the epoch (UTC), as the API speaks them and as SQLite stores them,
-- so a (ts, id) cursor, a minute's start (ts - ts % 60000) and a partition's bounds are the same integers
-- on both engines, and times come from the aggregator's clock (tests inject one), never from now().
--
-- Lines, their per-minute counts, idempotency keys and ingest commits live in tables partitioned by range
-- of that time, one partition per DAYLOG_PARTITION, which the aggregator creates ahead (CREATE TABLE …
-- (LIKE …) then ATTACH PARTITION, which does not block inserts nor queries) and drops with DETACH …
-- CONCURRENTLY then DROP TABLE. There is no DEFAULT partition: it would forbid DETACH CONCURRENTLY and
-- make every ATTACH scan it; a line for which no partition exists fails the insert (SQLSTATE 23514).
--
-- Text columns whose comparisons a user sees use the "C" collation whatever the database's locale:
-- labels sort by code point, as SQLite's BINARY sorts them, and ILIKE folds ASCII letters only, as
-- SQLite's LIKE and the live tail's matcher do (and scans several times faster than under a libc locale).

CREATE TABLE schema_migrations (
  version    integer     PRIMARY KEY,
  name       text        NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
);

-- The key cursors are sealed with, shared by every replica: made once by the first that finds none
-- (INSERT … ON CONFLICT DO NOTHING, then read back) unless DAYLOG_CURSOR_SECRET gives one.
CREATE TABLE cursor_key (
  only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
  key      bytea   NOT NULL CHECK (octet_length(key) = 32)
);

-- Each label set once; lines refer to it by id. A missing label is '' so that the unique constraint treats
-- two missing values as equal. Ids come from an identity sequence, which never goes back: an id freed when
-- the pruner forgets a label set no partition uses is never given to another one. A failed or conflicting
-- insert burns an id, so look a label set up before inserting it. The namespace leads the unique index so
-- that a namespace's label sets are counted from it (the cap per namespace, taken under
-- pg_advisory_xact_lock of the namespace so that two replicas cannot both admit the last one). No foreign
-- key from lines: it would cost a look-up per line written.
CREATE TABLE streams (
  id        integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  namespace text COLLATE "C" NOT NULL,
  pod       text COLLATE "C" NOT NULL,
  container text COLLATE "C" NOT NULL,
  source    text COLLATE "C" NOT NULL,
  CONSTRAINT streams_labels_unique UNIQUE (namespace, pod, container, source)
);

-- Unique across replicas and drawn in the order lines are written, so that ties of one millisecond read in that
-- order: a batch sent after another's answer reads after it, as on SQLite. No CACHE: a session's cached block
-- would give a later batch on another connection smaller ids (measured: its cost is not seen beside COPY's).
CREATE SEQUENCE line_ids;
CREATE SEQUENCE commit_ids;

-- `level` is the severity (0 trace … 5 fatal); `format` the code of a message whose fields are parsed
-- from it when read (FORMAT_CODES); `fields` the JSON of what the line was sent with, as text since it is
-- never searched in SQL (and jsonb refuses \u0000). PostgreSQL's text cannot hold U+0000, which a log line
-- may: such a message is kept whole in `message_with_nul` (its UTF-8), and `message` has U+FFFD in each
-- NUL's place for searches. `commit_id` names the ingest transaction that wrote the line (ingest_commits),
-- how a tail finds what other replicas wrote. Fixed-width columns first: no alignment padding.
CREATE TABLE logs (
  ts               bigint   NOT NULL,
  id               bigint   NOT NULL DEFAULT nextval('line_ids'),
  commit_id        bigint   NOT NULL,
  stream_id        integer  NOT NULL,
  level            smallint NOT NULL,
  format           smallint,
  message          text     COLLATE "C" NOT NULL,
  fields           text,
  message_with_nul bytea
) PARTITION BY RANGE (ts);

-- Declared on the parent, so every partition gets them when attached. Each ends in (ts, id), the reading
-- order, so that a newest-first page is an index scan backward that stops at its LIMIT, partition by
-- partition from the newest. Warn and above are the rare lines worth finding fast: indexing every info
-- line by level would cost inserts for nothing. BRIN on commit_id (lines of one commit are written
-- together) finds a commit's lines for the tail at almost no cost. Text indexes are built on closed
-- partitions only, by the maintenance job, never declared here: GIN on the open partition slows inserts 6–15×.
CREATE INDEX logs_by_ts ON logs (ts, id);
CREATE INDEX logs_by_stream ON logs (stream_id, ts, id);
CREATE INDEX logs_by_level ON logs (level, ts, id) WHERE level >= 3;
CREATE INDEX logs_by_commit ON logs USING brin (commit_id) WITH (pages_per_range = 16);

-- Lines counted per minute, label set and level, so that counts over time and the labels seen are read
-- without visiting lines. Appended, one row per (minute, stream_id, level) per ingest commit, and summed
-- when read: replicas never wait on each other's counters. `minute` is the minute's start.
CREATE TABLE minute_counts (
  minute    bigint   NOT NULL,
  last_ts   bigint   NOT NULL,
  stream_id integer  NOT NULL,
  lines     integer  NOT NULL,
  level     smallint NOT NULL
) PARTITION BY RANGE (minute);

CREATE INDEX minute_counts_by_minute ON minute_counts (minute, stream_id, level);

-- Idempotency keys as stored (the key within its token's namespaces, which may hold NUL: bytea), each filed
-- under the ts of its batch's newest line, in that line's partition and committed in the same transaction,
-- so that the key lives until those lines are dropped; optionally filed again under the batch's arrival.
-- The unique constraint must hold the partition key; with the key first, a look-up by key alone probes each
-- partition's index once. The same batch sent to two replicas at once files the same (key, ts): the second
-- INSERT … ON CONFLICT DO NOTHING waits for the first to commit and then inserts nothing, a duplicate.
CREATE TABLE batch_keys (
  ts              bigint NOT NULL,
  idempotency_key bytea  NOT NULL,
  CONSTRAINT batch_keys_unique PRIMARY KEY (idempotency_key, ts)
) PARTITION BY RANGE (ts);

-- One row per ingest transaction, written in it. `xid` lets a tail read commits in an order nothing
-- committed later can precede: those with xid < pg_snapshot_xmin(pg_current_snapshot()) are all settled.
-- `min_ts` and `max_ts` bound the lines' partitions. Partitioned by the aggregator's clock at commit.
CREATE TABLE ingest_commits (
  committed_ms bigint  NOT NULL,
  id           bigint  NOT NULL DEFAULT nextval('commit_ids'),
  xid          xid8    NOT NULL DEFAULT pg_current_xact_id(),
  min_ts       bigint  NOT NULL,
  max_ts       bigint  NOT NULL,
  lines        integer NOT NULL
) PARTITION BY RANGE (committed_ms);

CREATE INDEX ingest_commits_by_xid ON ingest_commits (xid, id);
