#!/usr/bin/env bash
# The seed's Quick Start, compiled unchanged against //memkit, prints the promised
# line; where valgrind can run the binary (not under a sanitizer build), it runs
# clean: no errors, nothing definitely, indirectly or possibly lost.
set -euo pipefail
bin="$1"
mode="${2:-valgrind}"
out=$("$bin")
expected="Allocated 1024 bytes, stored: 42."
if [[ "$out" != "$expected" ]]; then
    echo "FAIL: printed '$out', expected '$expected'"; exit 1
fi
echo "PASS: $out"
if [[ "$mode" == "valgrind" ]]; then
    if ! command -v valgrind >/dev/null; then
        echo "FAIL: valgrind is not installed (the README test command installs it)"; exit 1
    fi
    valgrind --error-exitcode=3 --leak-check=full --errors-for-leak-kinds=definite,indirect,possible \
        --show-leak-kinds=definite,indirect,possible "$bin" > /dev/null 2> valgrind.log || {
        cat valgrind.log; echo "FAIL: valgrind reported errors or leaks"; exit 1; }
    grep -E "ERROR SUMMARY|definitely|indirectly|in use at exit" valgrind.log || true
    echo "PASS: valgrind clean"
fi
