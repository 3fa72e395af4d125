#!/usr/bin/env bash
# Line and branch coverage of memkit/ by the GoogleTest suites, stress runs, the
# fuzz corpus replayed and the examples, with gcc --coverage and lcov (installed
# if missing). Prints the totals and the uncovered lines; writes build/coverage/memkit.info and an HTML
# report in build/coverage/html. Usage: tests/coverage.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash third_party/install_packages.sh lcov >/dev/null
out=build/coverage
rm -rf "$out"; mkdir -p "$out/obj"
read -ra library_flags <<<"$(sh memkit/cflags.sh)"  # Bazel's list of the library's flags
cflags=("${library_flags[@]}" -O0 -g --coverage -fprofile-update=atomic -Imemkit/include -D_DEFAULT_SOURCE)
for src in memkit/src/*.c; do
    gcc "${cflags[@]}" -c "$src" -o "$out/obj/$(basename "${src%.c}").o"
done
ar rcs "$out/libmemkit_cov.a" "$out"/obj/*.o
libs=("$out/libmemkit_cov.a" -lurcu-bp -lurcu-common -pthread --coverage)
gcc -std=c11 -O0 -Imemkit/include -Itests -c tests/seed_snippets.c -o "$out/seed_snippets.o"
gcc -std=c11 -O0 -Imemkit/include -Itests -c tests/seed_config.c -o "$out/seed_config.o"
for t in tests/*_test.cc; do
    name=$(basename "${t%.cc}")
    extra=()
    [[ $name == seed_snippets_test ]] && extra=("$out/seed_snippets.o" "$out/seed_config.o")
    g++ -std=c++17 -O0 -I. -Imemkit/include -Itests "$t" "${extra[@]}" -o "$out/$name" \
        "${libs[@]}" -lgmock -lgtest_main -lgtest
    (cd "$out" && "./$name" > "$name.log" 2>&1) || { echo "FAIL: $name"; tail -20 "$out/$name.log"; exit 1; }
done
gcc -std=c11 -O0 -I. -Imemkit/include stress/*.c -o "$out/stress" "${libs[@]}"
"$out/stress" --threads 4 --seconds 3 > /dev/null
"$out/stress" --threads 2 --seconds 2 --fail-every 53 > /dev/null
"$out/stress" --threads 1 --ops 20000 --json > /dev/null
gcc -std=c11 -O0 -Imemkit/include fuzz/api_fuzzer.c fuzz/corpus_replay.c -o "$out/corpus_replay" "${libs[@]}"
"$out/corpus_replay" fuzz/corpus > /dev/null
gcc -std=c11 -O0 -Imemkit/include fuzz/malloc_fuzzer.c fuzz/corpus_replay.c -o "$out/malloc_corpus_replay" "${libs[@]}"
"$out/malloc_corpus_replay" fuzz/malloc_corpus > /dev/null
for e in quickstart pool_tour; do
    gcc -std=c11 -O0 -Imemkit/include "examples/$e.c" -o "$out/$e" "${libs[@]}"
    "$out/$e" > /dev/null
done
lcov --quiet --capture --directory "$out/obj" --rc lcov_branch_coverage=1 --output-file "$out/all.info" 2>/dev/null
lcov --quiet --extract "$out/all.info" "*/memkit/src/*" --rc lcov_branch_coverage=1 --output-file "$out/memkit.info"
summary=$(lcov --summary "$out/memkit.info" --rc lcov_branch_coverage=1 2>&1 | grep -E "lines|branches")
echo "$summary"
genhtml --quiet --branch-coverage "$out/memkit.info" --output-directory "$out/html" >/dev/null 2>&1 || true
echo "uncovered lines (file:line):"
awk -F'[:,]' '/^SF:/ {file=$2; sub(".*/memkit/", "memkit/", file)} /^DA:/ && $3 == 0 {print "  " file ":" $2}' "$out/memkit.info"
# The goals: at least 95% of lines and 85% of branches.
lines=$(awk '/lines/ {gsub("%", "", $2); print $2}' <<<"$summary")
branches=$(awk '/branches/ {gsub("%", "", $2); print $2}' <<<"$summary")
if awk -v l="$lines" -v b="$branches" 'BEGIN { exit !(l >= 95 && b >= 85) }'; then
    echo "PASS: coverage goals met (lines $lines% >= 95%, branches $branches% >= 85%)"
else
    echo "FAIL: coverage below the goals (lines $lines%, branches $branches%)"; exit 1
fi
