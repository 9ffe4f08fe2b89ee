#!/usr/bin/env bash
# The e2e suite on PostgreSQL: the files that test behaviour through HTTP, with every app on a fresh database
# of one throwaway cluster per test process (DAYLOG_TEST_ENGINE=postgres, test/support/test-app.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
engine_neutral=(
  auth client-identity context field-filters health hostile-input ingest json-answers label-matcher label-sets loki loki-query loki-tail metrics nested-json nosniff web-view
  pagination query query-limits queue-shares readme request-limits retention shutdown stats tail terminal-output token-before-body
)
# Files whose apps are SQLite's by what they test (its files read or broken, its word index or compression awaited, its WAL,
# DAYLOG_MAX_DISK, an aggregator process on a data dir), or whose apps choose their engine themselves.
engine_specific=(
  boot compaction compaction-crash compressed-reads crash disk-full filter-meaning label-set-flood line-cursors page-turns postgres-config postgres-partitions postgres-replicas search sqlite-partition-files
)

# A new file that starts apps is placed on one side or the other, never left out unseen.
for file in test/*.test.ts; do
  name=$(basename "$file" .test.ts)
  grep -q startTestApp "$file" || continue
  if [[ " ${engine_neutral[*]} ${engine_specific[*]} " != *" $name "* ]]; then
    echo "$file starts apps but is in neither list of test/postgres-suite.sh: add it to one" >&2
    exit 1
  fi
done

files=()
for name in "${engine_neutral[@]}"; do files+=("dist/test/${name}.test.js"); done
DAYLOG_TEST_ENGINE=postgres exec node --test --test-concurrency=2 "${files[@]}"
