#!/usr/bin/env bash
# Data-tier benchmark (release build): primary-key select and single-row
# update through the data tier's RPC from one client, and the same statements
# in-process, at 1 and 64 in flight, on SQLite and on a throwaway PostgreSQL
# server started from the installed binaries (as `postgres` when root).
#
#   Tests/Benchmarks/data-bench.sh            # 3 runs of 3 s per row, interleaved; medians
#   SECONDS_PER_CASE=10 STRATA_DATA_ROUNDS=5 Tests/Benchmarks/data-bench.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
swift build -c release --product StrataDataBench >/dev/null
"$(swift build -c release --show-bin-path)/StrataDataBench" "${SECONDS_PER_CASE:-3}" 2> >(grep -v '^NOTICE' >&2)
