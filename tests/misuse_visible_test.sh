#!/usr/bin/env bash
# Misuse no API call can refuse must be visible to the memory tools (issue 12): each
# case of tests/misuse.c, run under AddressSanitizer (mode asan: the binary and the
# library are built with it) or under valgrind (mode valgrind: the library built with
# MEM_VALGRIND=1), must be reported by the tool; the same work without the misuse
# ("clean") must not be. Usage: misuse_visible_test.sh MISUSE_BINARY asan|valgrind|skip
set -uo pipefail
bin="$1"
mode="$2"
cases=(stale-write overflow arena-overflow read-after-reset read-after-release)
if [[ "$mode" == skip ]]; then
    echo "SKIP: neither AddressSanitizer nor valgrind can watch this build"; exit 0
fi
if [[ "$mode" == valgrind ]] && ! command -v valgrind >/dev/null; then
    echo "FAIL: valgrind is not installed (the README test command installs it)"; exit 1
fi
# run CASE [clean]: prints the tool's report; returns the exit status.
run() {
    if [[ "$mode" == asan ]]; then
        ASAN_OPTIONS=detect_leaks=0 "$bin" "$@" 2>&1
    else
        valgrind -q --error-exitcode=99 --leak-check=no "$bin" "$@" 2>&1
    fi
}
fail=0
for c in "${cases[@]}"; do
    out=$(run "$c" clean); status=$?
    if [[ $status -ne 0 ]]; then
        echo "FAIL: $c without the misuse exited $status:"; echo "$out" | head -20; fail=1; continue
    fi
    out=$(run "$c"); status=$?
    if [[ "$mode" == asan ]]; then
        report=$(grep -oE "ERROR: AddressSanitizer: [a-z-]+" <<<"$out" | head -1)
        [[ $status -ne 0 && -n "$report" ]] || { echo "FAIL: $c: no AddressSanitizer report (exit $status)"; fail=1; continue; }
    else
        errors=$(grep -cE "Invalid (read|write) of size" <<<"$out")
        report="valgrind: $errors invalid access(es)"
        [[ $status -eq 99 && $errors -ge 1 ]] || { echo "FAIL: $c: valgrind saw nothing (exit $status)"; echo "$out" | head; fail=1; continue; }
    fi
    echo "ok: $c: $report"
done
[[ $fail -eq 0 ]] && echo "PASS: every misuse reported ($mode)"
exit $fail
