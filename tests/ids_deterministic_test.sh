#!/usr/bin/env bash
# The same single-threaded operation sequence gives the same container ids in two
# separate processes, although the containers' addresses differ (ASLR).
set -euo pipefail
bin="$1"
first=$("$bin")
second=$("$bin")
ids() { awk '{print $1, $2}' <<<"$1"; }
addresses() { awk '{print $3}' <<<"$1"; }
if [[ "$(ids "$first")" != "$(ids "$second")" ]]; then
    echo "FAIL: ids differ between runs"; diff <(ids "$first") <(ids "$second") || true; exit 1
fi
if [[ "$(ids "$first" | awk '{print $2}' | sort -u | wc -l)" -ne 32 ]]; then
    echo "FAIL: ids are not distinct"; exit 1
fi
if [[ "$(addresses "$first")" == "$(addresses "$second")" ]]; then
    echo "note: addresses happened to match (ASLR off?); ids compared all the same"
fi
echo "PASS: 32 ids identical across two processes"
