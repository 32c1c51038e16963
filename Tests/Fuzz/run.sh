#!/usr/bin/env bash
# Fuzzes the HTTP request parser.
#
#   Tests/Fuzz/run.sh [SECONDS]     # default 600
#
# Builds FuzzHTTPParser with libFuzzer and AddressSanitizer (swiftc
# -sanitize=fuzzer,address) into .build-fuzz and runs it on a copy of
# Tests/Fuzz/corpus/http, keeping what it learns in .build-fuzz/corpus. Where
# libFuzzer cannot be built, runs the built-in mutation fuzzer instead.
# Crashing inputs are written to .build-fuzz/crash-*; add them to the corpus
# and a test once fixed.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-600}
corpus=.build-fuzz/corpus
mkdir -p "$corpus"
cp -n Tests/Fuzz/corpus/http/* "$corpus/" 2>/dev/null || true

if swift build -c release --product FuzzHTTPParser --scratch-path .build-fuzz \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -DSTRATA_LIBFUZZER -Xswiftc -use-ld=lld >/dev/null 2>.build-fuzz/build.log; then
    bin=$(swift build -c release --scratch-path .build-fuzz --show-bin-path)
    "$bin/FuzzHTTPParser" -max_total_time="$seconds" -max_len=4096 -timeout=5 \
        -artifact_prefix=.build-fuzz/ -print_final_stats=1 "$corpus"
else
    echo "libFuzzer build failed (see .build-fuzz/build.log); using the built-in mutation fuzzer"
    swift build -c release --product FuzzHTTPParser >/dev/null
    "$(swift build -c release --show-bin-path)/FuzzHTTPParser" --seconds "$seconds" Tests/Fuzz/corpus/http
fi
