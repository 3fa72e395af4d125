#!/usr/bin/env bash
# Builds the benchmarks optimised, runs libmemkit's and every peer's (glibc malloc,
# jemalloc, mimalloc, tcmalloc) in one run on this machine (5 repetitions each,
# medians), and writes docs/performance.md with tables, goal verdicts and plots.
# Usage: bench/run.sh [--quick]   (--quick: 1 repetition, short runs, for a smoke check)
set -euo pipefail
cd "$(dirname "$0")/.."
bash third_party/install_packages.sh gnuplot-nox python3
reps=5; min_time=0.5
if [[ "${1:-}" == "--quick" ]]; then reps=1; min_time=0.05; fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
bazel build -c opt //bench:all >/dev/null 2>&1 || bazel build -c opt //bench:all
for bin in memkit_bench peer_bench_glibc peer_bench_jemalloc peer_bench_mimalloc peer_bench_tcmalloc; do
    echo "running $bin"
    "bazel-bin/bench/$bin" --benchmark_repetitions="$reps" --benchmark_report_aggregates_only=true \
        --benchmark_filter=-memory/churn --benchmark_min_time="$min_time" --benchmark_format=json \
        --benchmark_out="$out/$bin.json" --benchmark_out_format=json > /dev/null
    # Resident memory is measured once, in a fresh process: a repetition would find the
    # memory of the previous one still resident and measure reuse instead.
    "bazel-bin/bench/$bin" --benchmark_filter=memory/churn --benchmark_format=json \
        --benchmark_out="$out/${bin}_memory.json" --benchmark_out_format=json > /dev/null
done
python3 bench/report.py "$out" docs "$reps"
echo "wrote docs/performance.md"
