#!/usr/bin/env bash
# The whole test suite: installs missing packages, then runs every test in the
# default build and in the nothreads, debug, asan, ubsan and tsan configurations,
# and builds everything with clang (-Werror). Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
bash third_party/install_packages.sh || exit 1
passed=0
failed=0
log=$(mktemp)
run() {
    local label="$1"; shift
    echo "=== $label: bazel $*"
    bazel "$@" 2>&1 | tee "$log" | grep -E "^//.*(PASSED|FAILED|TIMEOUT|NO STATUS)|^(ERROR|FAIL):|Executed" 
    local status=${PIPESTATUS[0]}
    local p f
    p=$(grep -cE "^//.* PASSED in" "$log")
    f=$(grep -cE "^//.* (FAILED|TIMEOUT|NO STATUS)" "$log")
    if [[ "$1" == "build" ]]; then
        if [[ $status -eq 0 ]]; then p=1; f=0; else p=0; f=1; fi
    elif [[ $status -ne 0 && $f -eq 0 ]]; then
        f=1  # the build itself failed
    fi
    passed=$((passed + p))
    failed=$((failed + f))
}
run default test //...
run nothreads test --config=nothreads //...
run debug test --config=debug //...
run asan test --config=asan //...
run ubsan test --config=ubsan //...
run tsan test --config=tsan //...
run clang build --config=clang //...
rm -f "$log"
echo "tests: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
