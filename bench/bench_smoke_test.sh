#!/usr/bin/env bash
# Smoke run: each benchmark binary runs every benchmark briefly and reports it.
# No timing is asserted here; bench/run.sh measures.
set -euo pipefail
for bin in "$@"; do
    out=$("$bin" --benchmark_min_time=0.001 --benchmark_format=json 2>/dev/null)
    count=$(grep -c '"name":' <<<"$out")
    [[ $count -ge 5 ]] || { echo "FAIL: $bin reported $count benchmarks"; exit 1; }
    if grep -q '"error_occurred": true' <<<"$out"; then echo "FAIL: $bin reported an error"; exit 1; fi
    echo "ok: $(basename "$bin") ran and reported $count benchmarks"
done
