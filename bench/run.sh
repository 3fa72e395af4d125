#!/usr/bin/env bash
# Builds bench/compare optimised, runs every workload against every contender in 3
# processes of 3 interleaved rounds each (medians over the 9 rounds: a shared VM's
# speed changes from minute to minute, see docs/performance-analysis.md; memory workloads
# once per contender in a fresh process), then mimalloc-bench's shapes under each
# allocator's LD_PRELOAD (bench/preload_run.py), and writes docs/performance.md with its
# goals and plots.
# Usage: bench/run.sh [--quick] [compare options]   (--quick: one process of one short
# round, a smoke check; other options, --rounds included, go to every process)
# The machine should be otherwise idle: the load average is printed first and recorded.
set -euo pipefail
cd "$(dirname "$0")/.."
bash third_party/install_packages.sh gnuplot-nox python3
echo "load average: $(cat /proc/loadavg)"
targets=(//bench:compare //bench:preload_shapes //memkit:libmemkit_malloc.so)
bazel build -c opt "${targets[@]}" >/dev/null 2>&1 || bazel build -c opt "${targets[@]}"
mkdir -p build/bench
rm -f build/bench/results-*.json
quick=()
processes=3
[[ " $* " == *" --quick "* ]] && quick=(--quick) && processes=1
for process in $(seq "$processes"); do
    memory=()
    (( process > 1 )) && memory=(--no-memory) # measured once, each in a fresh child anyway
    bazel-bin/bench/compare --rounds 3 "${memory[@]}" --json "build/bench/results-$process.json" "$@"
done
# The shapes under each allocator's LD_PRELOAD (one round when --quick).
python3 bench/preload_run.py "${quick[@]}" --json build/bench/preload.json
python3 bench/report.py build/bench/results-*.json docs
echo "wrote docs/performance.md (raw rounds: build/bench/results-*.json)"
