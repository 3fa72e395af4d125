#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, -fsanitize=fuzzer,address,undefined) in the
# thread-safe and the MEM_THREAD_SAFE=0 variants, and fuzzes each from its seed
# corpus: api_fuzzer from fuzz/corpus, malloc_fuzzer from fuzz/malloc_corpus (copied:
# the committed corpora are not modified; what a run finds is left in
# build/fuzz/grown-<corpus>, to merge with -merge=1 when worthwhile). Each target
# gets the seconds given. The builds run side by side, and so do the two targets' runs
# when the cores allow (2 x JOBS at most the number of cores), each target's output
# printed whole.
# Usage: fuzz/run.sh [SECONDS_THREADSAFE] [SECONDS_NOTHREADS] [JOBS]   (default 45 15 1)
# A long run (docs/security.md): fuzz/run.sh 900 0 2  -> 30 CPU-minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-45}"; seconds_nothreads="${2:-15}"; jobs="${3:-1}"
out=build/fuzz
mkdir -p "$out"
# The library's own flags (memkit/cflags.sh: Bazel's list), then the fuzzing ones.
read -ra library_flags <<<"$(sh memkit/cflags.sh)"
flags=("${library_flags[@]}" -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
       -Imemkit/include)
builds=()
for target in api_fuzzer malloc_fuzzer; do
    clang "${flags[@]}" memkit/src/*.c "fuzz/$target.c" -lurcu-bp -lurcu-common -pthread -o "$out/$target" &
    builds+=($!)
    clang "${flags[@]}" -DMEM_THREAD_SAFE=0 memkit/src/*.c "fuzz/$target.c" -o "$out/${target}_nothreads" &
    builds+=($!)
done
for pid in "${builds[@]}"; do wait "$pid"; done # set -e: a failed build stops here
export ASAN_OPTIONS="allocator_may_return_null=1:detect_leaks=1:malloc_limit_mb=4096"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
fuzz() { # fuzz BINARY SECONDS SEED_CORPUS
    [[ "$2" -gt 0 ]] || return 0
    local corpus
    corpus=$(mktemp -d)
    cp "$3"/* "$corpus/"
    echo "=== $(basename "$1"): $2 s, $jobs job(s)"
    local parallel=()
    [[ "$jobs" -gt 1 ]] && parallel=(-fork="$jobs")
    local log="$out/$(basename "$1").log" status=0
    "$1" "${parallel[@]}" -max_total_time="$2" -max_len=4096 -rss_limit_mb=4096 -print_final_stats=1 \
         -artifact_prefix="$out/" "$corpus" > "$log" 2>&1 || status=$?
    grep -E "^#[0-9]+.*(INITED|DONE)|cov:.*ft:|stat::|ERROR|SUMMARY|crash-|leak-|check failed" "$log" | tail -12
    local grown="$out/grown-$(basename "$3")"
    mkdir -p "$grown" && cp -n "$corpus"/* "$grown/" 2>/dev/null || true
    rm -rf "$corpus"
    if [[ $status -ne 0 ]]; then echo "FAIL: $(basename "$1") found a problem (see $out)"; return 1; fi
    echo "ok: $(basename "$1") ran $2 s without a finding"
}
# fuzz_target NAME CORPUS: both variants of one target, one after the other.
fuzz_target() {
    fuzz "$out/$1" "$seconds" "$2" && fuzz "$out/${1}_nothreads" "$seconds_nothreads" "$2"
}
if ((2 * jobs <= $(nproc))); then
    fuzz_target api_fuzzer fuzz/corpus > "$out/api.out" 2>&1 &
    api=$!
    fuzz_target malloc_fuzzer fuzz/malloc_corpus > "$out/malloc.out" 2>&1 &
    malloc=$!
    status=0
    wait "$api" || status=1
    wait "$malloc" || status=1
    cat "$out/api.out" "$out/malloc.out"
    exit "$status"
fi
fuzz_target api_fuzzer fuzz/corpus
fuzz_target malloc_fuzzer fuzz/malloc_corpus
