#!/usr/bin/env bash
# The harness must be able to fail: built against libraries with planted faults
# (copy-on-write that does not copy; a last reference that never releases) it
# reports the violated invariant and exits non-zero.
set -uo pipefail
skip_cow="$1"
skip_release="$2"
threads="${3:-4}"
fail=0
# Under ThreadSanitizer the planted faults race by design (in-place writes to shared
# buffers); the harness's own verdict is what this test checks.
export TSAN_OPTIONS="${TSAN_OPTIONS:-}:exitcode=0:report_bugs=0"
check() { # check BINARY EXPECTED-INVARIANT
    "$1" --threads "$threads" --seconds 2 > out.txt 2>&1
    local status=$?
    if [[ $status -ne 1 ]]; then echo "FAIL: $1 exited $status, expected 1"; cat out.txt; fail=1; fi
    if ! grep -q "VIOLATED $2" out.txt; then echo "FAIL: '$2' not reported violated"; cat out.txt; fail=1; fi
    grep -q "verdict: FAIL" out.txt || { echo "FAIL: no FAIL verdict"; fail=1; }
    grep VIOLATED out.txt
}
check "$skip_cow" "COW isolation"
check "$skip_release" "no leak at the end"
[[ $fail -eq 0 ]] && echo "PASS: planted faults were caught"
exit $fail
