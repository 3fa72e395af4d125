#!/usr/bin/env bash
# Runs the test suite's binaries under valgrind memcheck, built with --config=valgrind
# (the library tracks its memory with valgrind's client requests; the sanitizer
# builds cannot run under valgrind): every GoogleTest suite, the Quick Start, a short
# stress run. Fails on any memcheck error or any byte definitely or indirectly lost.
# Valgrind runs one thread at a time, so the runs go side by side, one per core; their
# verdicts print in the order below.
# Usage: tests/valgrind.sh
set -uo pipefail
cd "$(dirname "$0")/.."
targets=(//tests:all //tests:names_96_test //stress:stress //examples:all) # names_96_test: manual, not in :all
if ! build_log=$(bazel build --config=valgrind "${targets[@]}" 2>&1); then
    grep -E "error|ERROR" <<<"$build_log" | head -20
    echo "FAIL: the valgrind build did not complete (stale binaries would be checked instead)"
    exit 1
fi
vg=(valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect
    --show-leak-kinds=definite,indirect --fair-sched=yes)
fail=0
results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
jobs_max=$(nproc)
runs=0
# check LABEL COMMAND...: memcheck COMMAND; writes the verdict (and on failure what
# memcheck or the test said) to $results/<number>.
check() {
    local label="$1" out="$2"; shift 2
    local log="$out.log"
    "${vg[@]}" "$@" > "$log" 2>&1
    local status=$?
    if [[ $status -eq 0 ]]; then
        echo "ok: $label: 0 memcheck errors, 0 bytes definitely or indirectly lost" > "$out"
    else
        { echo "FAIL: $label (exit $status)"; grep -E "==[0-9]+==|FAILED|Failure|^[a-z_]+: " "$log" | head -40; } > "$out"
    fi
    rm -f "$log"
}
run() { # run LABEL COMMAND...: starts the check once a core is free
    while (($(jobs -rp | wc -l) >= jobs_max)); do wait -n; done
    runs=$((runs + 1))
    check "$1" "$results/$runs" "${@:2}" &
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
wait
for n in $(seq "$runs"); do
    cat "$results/$n"
    grep -q "^ok: " "$results/$n" || fail=1
done
[[ $fail -eq 0 ]] && echo "PASS: valgrind memcheck clean"
exit $fail
