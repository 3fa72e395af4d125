#!/usr/bin/env bash
# Builds bench/compare optimised, runs every workload against every contender in one
# process (9 interleaved rounds, medians; memory workloads once per contender in a
# fresh process), then mimalloc-bench's shapes under each allocator's LD_PRELOAD
# (bench/preload_run.py), and writes docs/performance.md with its goals and plots.
# Usage: bench/run.sh [--quick] [compare options]   (--quick: one short round, a smoke check)
# The machine should be otherwise idle: the load average is printed first and recorded.
set -euo pipefail
cd "$(dirname "$0")/.."
bash third_party/install_packages.sh gnuplot-nox python3
echo "load average: $(cat /proc/loadavg)"
targets=(//bench:compare //bench:preload_shapes //memkit:libmemkit_malloc.so)
bazel build -c opt "${targets[@]}" >/dev/null 2>&1 || bazel build -c opt "${targets[@]}"
mkdir -p build/bench
bazel-bin/bench/compare --json build/bench/results.json "$@"
# The shapes under each allocator's LD_PRELOAD (one round when --quick).
quick=()
[[ " $* " == *" --quick "* ]] && quick=(--quick)
python3 bench/preload_run.py "${quick[@]}" --json build/bench/preload.json
python3 bench/report.py build/bench/results.json docs
echo "wrote docs/performance.md (raw rounds: build/bench/results.json)"
