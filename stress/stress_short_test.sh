#!/usr/bin/env bash
# Short, bounded stress runs: a timed run, a run with injected allocation
# failures, a seeded single-threaded run repeated for the same fingerprint, and
# the option checks. Runs in every configuration (default, asan, tsan, ...).
set -uo pipefail
stress="$1"
threads="${2:-4}"
fail=0
expect() { # expect STATUS DESCRIPTION -- command...
    local want="$1" what="$2"; shift 3
    "$@" > out.txt 2>&1
    local got=$?
    if [[ $got -ne $want ]]; then
        echo "FAIL: $what: exit $got, expected $want"; cat out.txt; fail=1
    else
        echo "ok: $what"
    fi
}
expect 0 "timed run, $threads threads" -- "$stress" --threads "$threads" --seconds 3
grep -q "verdict: PASS" out.txt || { echo "FAIL: no PASS verdict"; cat out.txt; fail=1; }
cat out.txt
if [[ "$threads" -gt 1 ]]; then
    for mode in pipeline exchange owner; do
        expect 0 "$mode mode, $threads threads" -- "$stress" --mode "$mode" --threads "$threads" --seconds 2
        grep -q "verdict: PASS" out.txt || { echo "FAIL: $mode: no PASS verdict"; cat out.txt; fail=1; }
    done
    expect 0 "snapshots in a loop while owners run" -- "$stress" --mode owner --threads 1 --seconds 2 --snapshots
    grep -Eq "[1-9][0-9]* snapshots" out.txt || { echo "FAIL: no snapshot ran"; cat out.txt; fail=1; }
    # An operator's signals: SIGUSR1 prints a snapshot, SIGTERM stops early with the report.
    "$stress" --threads "$threads" --seconds 60 > out.txt 2> err.txt &
    pid=$!
    sleep 1; kill -USR1 $pid; sleep 0.5; kill -TERM $pid; wait $pid; status=$?
    if [[ $status -eq 0 ]] && grep -q "stopped early by a signal" out.txt && grep -q "verdict: PASS" out.txt &&
       grep -q "^snapshot: " err.txt; then
        echo "ok: SIGUSR1 snapshot, SIGTERM early stop with a full report"
    else
        echo "FAIL: signals (exit $status)"; cat out.txt err.txt; fail=1
    fi
fi
expect 0 "injected failures every 97th allocation" -- "$stress" --threads "$threads" --seconds 2 --fail-every 97
grep -E "injected failures: [1-9]" out.txt || { echo "FAIL: no failure was injected"; cat out.txt; fail=1; }
# 5000 operations: a single-threaded run waits for the RCU barrier after each of its
# publishes (about 10 ms each with liburcu) so that its releases happen at the same point.
expect 0 "seeded run A" -- "$stress" --threads 1 --ops 5000 --seed 7 --json
a=$(grep -o '"fingerprint":"[0-9a-f]*"' out.txt)
expect 0 "seeded run B" -- "$stress" --threads 1 --ops 5000 --seed 7 --json
b=$(grep -o '"fingerprint":"[0-9a-f]*"' out.txt)
grep -q '"verdict":"PASS"' out.txt || { echo "FAIL: JSON verdict"; cat out.txt; fail=1; }
if [[ -z "$a" || "$a" != "$b" ]]; then echo "FAIL: same seed, different runs: $a vs $b"; fail=1; else echo "ok: reproducible ($a)"; fi
expect 0 "seeded run C (other seed)" -- "$stress" --threads 1 --ops 5000 --seed 8 --json
c=$(grep -o '"fingerprint":"[0-9a-f]*"' out.txt)
[[ "$a" != "$c" ]] || { echo "FAIL: a different seed gave the same fingerprint"; fail=1; }
expect 0 "--help" -- "$stress" --help
for bad in "--mode bogus" "--mode pipeline --threads 1" "--threads 0" "--threads x" "--seconds -1" "--mix 1:2" "--mix 0:0:0:0:0" "--sizes 10-5" \
           "--sizes 100" "--slots 0" "--fail-every 1" "--bogus 3" "--ops"; do
    # shellcheck disable=SC2086
    expect 2 "rejects $bad" -- "$stress" $bad
    grep -q "stress: " out.txt || { echo "FAIL: no message for $bad"; fail=1; }
done
exit $fail
