#!/usr/bin/env bash
# Template benchmark (release build, one thread): renders per second of the
# TechEmpower fortunes template (13 rows) and of a page with a layout, three
# partials and a 50-row table.
#
#   Tests/Benchmarks/template-bench.sh          # 3 s per template
#   SECONDS_PER_CASE=10 Tests/Benchmarks/template-bench.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
swift build -c release --product StrataTemplateBench >/dev/null
"$(swift build -c release --show-bin-path)/StrataTemplateBench" "${SECONDS_PER_CASE:-3}"
