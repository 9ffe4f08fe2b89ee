#!/bin/sh
# How the aggregator is started: by `npm start`, the image and the bench, so that each runs it the same way.
#
# glibc's malloc gives each thread that allocates an arena of its own (up to 8 a core) and keeps freed memory in
# them; the aggregator has a main thread, a writer, search and line-test threads and libuv's pool, and its request
# bodies, zlib state and SQLite pages come and go in every one. Two arenas, with the 8 MiB semi-spaces below: at the
# end of soaks of 150 s the RSS was 296-301 MB (2 soaks) against 378-389 MB before (3), ingest's rate and latencies
# the same. (A fixed MALLOC_MMAP_THRESHOLD_ as well made every inflated block a fresh mapping: a substring search over
# compressed hours took ~1.5× node's bare HTTP server rather than ~1.3×.) A value set by the caller is kept.
#
# V8's young generation of each thread grows to 2 × 16 MiB semi-spaces by default, and the main thread's is that
# large from boot. With 8 MiB the process starts at ~148 MB rather than ~157 (3 starts each), ingest's lines/s the same
# (3 runs each of 400k lines); 4 MiB would start it at ~137 MB but cost ~10 % of ingest (143k → 129k lines/s).
export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}"
exec node --max-semi-space-size=8 "$(dirname "$0")/../../dist/apps/aggregator/src/main.js" "$@"
