#!/usr/bin/env bash
# Smoke run: every workload of bench/compare once, briefly (--quick), every memory
# run in its child process, and a complete JSON report. No timing is asserted here;
# bench/run.sh measures. Extra arguments go to compare (--no-peers under sanitizers).
set -euo pipefail
compare="$1"
shift
json="${TEST_TMPDIR:-/tmp}/bench-smoke.json"
"$compare" --quick --json "$json" "$@"
python3 - "$json" "$@" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
peers = "--no-peers" not in sys.argv[2:]
cases = r["cases"]
assert len(cases) >= 25, f"only {len(cases)} cases ran"
for c in cases:
    assert len(c["ns"]) == 1 and c["ns"][0] > 0, f"{c['group']} {c['contender']} has no time"
contenders = {c["contender"] for c in cases}
expected = ["libmemkit", "glibc", "GLib rc box", "GBytes", "APR pool", "talloc pool", "bump + wipe (floor)"]
expected += ["jemalloc", "mimalloc", "tcmalloc"] if peers else []
for name in expected:
    assert name in contenders, f"{name} did not run"
memory = r["memory"]
assert len(memory) >= 6 and all(m["figures"] for m in memory), "a memory run reported nothing"
print(f"ok: {len(cases)} cases and {len(memory)} memory runs reported")
PY
