#!/usr/bin/env bash
# The whole test suite: installs missing packages, then runs every test in the
# default build and in the nothreads, debug, asan, ubsan and tsan configurations (ubsan
# builds everything with clang, -Werror: the clang configuration plus UBSan, so clang's
# warnings and codegen are covered there), lints the Bazel files (buildifier),
# builds and runs the separate consumer workspace (examples/consumer), builds and
# tests the module with Debian's Bazel 7 in a chroot and runs the bzlmod consumer
# (tests/modern_bazel.sh), checks `make install` + pkg-config, fuzzes for a minute
# (fuzz/run.sh), runs the tests under valgrind and measures coverage, and builds and
# runs bench/ab_same_process.sh for one round (a smoke check of the tool, no timing).
# Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
bash third_party/install_packages.sh || exit 1
passed=0
failed=0
timings=() # "label N s" per step, printed at the end
log=$(mktemp)
# run LABEL COMMAND...: a `bazel test` counts each test target; anything else
# counts as one check that passes when it exits 0.
run() {
    local label="$1"; shift
    local started=$SECONDS
    echo "=== $label: $*"
    "$@" 2>&1 | tee "$log" | grep -E "^//.*(PASSED|FAILED|TIMEOUT|NO STATUS)|^(ERROR|FAIL)|Executed|^(ok|PASS)"
    local status=${PIPESTATUS[0]}
    local p f
    if [[ "$1 ${2:-}" == "bazel test" ]]; then
        p=$(grep -cE "^//.* PASSED in" "$log")
        f=$(grep -cE "^//.* (FAILED|TIMEOUT|NO STATUS)" "$log")
        [[ $status -ne 0 && $f -eq 0 ]] && f=1  # the build itself failed
    elif [[ $status -eq 0 ]]; then
        p=1; f=0
    else
        p=0; f=1
        # What failed and why (the filter above shows only the verdict lines), then the end.
        grep -E -A25 "^(FAIL|ERROR)" "$log" | head -80
        tail -5 "$log"
    fi
    passed=$((passed + p))
    failed=$((failed + f))
    timings+=("$label $((SECONDS - started)) s")
}
consumer() { (cd examples/consumer && bazel test //... && bazel run //:handler_demo; s=$?; bazel shutdown; exit $s); }
run default bazel test //... //tests:names_96_test
run nothreads bazel test --config=nothreads //...
run debug bazel test --config=debug //...
run asan bazel test --config=asan //... //tests:names_96_test
run ubsan bazel test --config=ubsan //...
run tsan bazel test --config=tsan //...
run buildifier bash tests/buildifier_lint.sh
run consumer-workspace consumer
run modern-bazel-bzlmod bash tests/modern_bazel.sh
run make-install-pkg-config bash tests/install_test.sh
run fuzz bash fuzz/run.sh 45 15
run valgrind bash tests/valgrind.sh
run coverage bash tests/coverage.sh
run bench-ab-smoke bash bench/ab_same_process.sh HEAD HEAD 1 64
rm -f "$log"
echo "time per step: ${timings[*]/%/;} total $SECONDS s"
echo "tests: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
