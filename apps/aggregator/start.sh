#!/bin/sh
# How the aggregator is started: by `npm start`, the image and the bench, so that each runs it the same way.
#
# glibc's malloc gives each thread that allocates an arena of its own (up to 8 a core) and keeps freed memory in
# them; the aggregator has a main thread, a writer, search and line-test threads and libuv's pool, and its request
# bodies, zlib state and SQLite pages come and go in every one. Two arenas, and blocks of 128 KiB or more mapped on
# their own (unmapped when freed, where glibc would otherwise raise that threshold as large blocks are freed and keep
# them in the heap): under the soak's load the RSS at the end was 315 MB rather than 386 (medians of 3 soaks), at no
# cost in latency that the soak could see. Values set by the caller are kept.
#
# V8's young generation of each thread grows to 2 × 16 MiB semi-spaces by default, and the main thread's is that
# large from boot. With 8 MiB the process starts at ~148 MB rather than ~157 (3 starts each), ingest's lines/s the same
# (3 runs each of 400k lines); 4 MiB would start it at ~137 MB but cost ~10 % of ingest (143k → 129k lines/s).
export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}"
export MALLOC_MMAP_THRESHOLD_="${MALLOC_MMAP_THRESHOLD_:-131072}"
exec node --max-semi-space-size=8 "$(dirname "$0")/../../dist/apps/aggregator/src/main.js" "$@"
