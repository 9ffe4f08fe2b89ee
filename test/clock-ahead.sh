#!/usr/bin/env bash
# The whole suite with the machine's clock a month ahead (libfaketime): a README example, fixture or test
# that carries a fixed date fails here long before the calendar reaches it. Monotonic clocks are left
# alone, so timers and deadlines keep their real length.
set -euo pipefail
if ! command -v faketime >/dev/null; then
  echo "faketime is not installed: apt-get install faketime (.ci/run does)" >&2
  exit 1
fi
export FAKETIME_DONT_FAKE_MONOTONIC=1
exec faketime -f +30d npm test
