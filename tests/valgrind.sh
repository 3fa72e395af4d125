#!/usr/bin/env bash
# Runs the test suite's binaries under valgrind memcheck, built with --config=valgrind
# (the library tracks its memory with valgrind's client requests; the sanitizer
# builds cannot run under valgrind): every GoogleTest suite, the Quick Start, a short
# stress run. Fails on any memcheck error or any byte definitely or indirectly lost.
# Usage: tests/valgrind.sh
set -uo pipefail
cd "$(dirname "$0")/.."
targets=(//tests:all //stress:stress //examples:all)
bazel build --config=valgrind "${targets[@]}" >/dev/null 2>&1 || bazel build --config=valgrind "${targets[@]}"
vg=(valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect
    --show-leak-kinds=definite,indirect --fair-sched=yes)
fail=0
run() { # run LABEL COMMAND...
    local label="$1"; shift
    local log status
    log=$(mktemp)
    "${vg[@]}" "$@" > "$log" 2>&1
    status=$?
    if [[ $status -eq 0 ]]; then
        echo "ok: $label: 0 memcheck errors, 0 bytes definitely or indirectly lost"
    else
        echo "FAIL: $label (exit $status)"; grep -E "==[0-9]+==|FAILED|Failure|^[a-z_]+: " "$log" | head -40; fail=1
    fi
    rm -f "$log"
}
for t in bazel-bin/tests/*_test; do
    [[ -x "$t" && ! -d "$t" && "$t" != *.sh ]] || continue
    head -c 2 "$t" | grep -q '#!' && continue  # shell tests: their binaries are covered below
    run "$(basename "$t")" "$t"
done
run quickstart bazel-bin/examples/quickstart
run pool_tour bazel-bin/examples/pool_tour
run "stress (2 threads, 20000 ops)" bazel-bin/stress/stress --threads 2 --ops 20000 --seed 3
run "stress with injected failures" bazel-bin/stress/stress --threads 2 --ops 20000 --fail-every 41
[[ $fail -eq 0 ]] && echo "PASS: valgrind memcheck clean"
exit $fail
