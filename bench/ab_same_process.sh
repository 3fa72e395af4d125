#!/usr/bin/env bash
# Times two builds of the library against each other in one process: share + release,
# the pointer lifecycle, the per-request cycle, the refcounted buffer and a mem_malloc +
# mem_free pair, interleaved
# round by round (bench/ab_main.c). Separate processes run in different speed modes on
# a shared VM (performance-analysis.md);
# one process sees both builds in the same mode. Each build's memkit/src is compiled
# as the Makefile does (-O2, memkit/cflags.sh, NDEBUG) and its global symbols are
# renamed (a_..., b_...) so that both link into one binary.
#
# Usage (from the repository root): bash bench/ab_same_process.sh OLD_REV [NEW_REV] [ROUNDS] [SIZE]
#   NEW_REV defaults to the working tree; ROUNDS to 21; SIZE (lifecycle and malloc
#   bytes) to 64.
#   AB_CFLAGS_A / AB_CFLAGS_B: compiler flags added to the old / new build's library
#   (the same revision twice compares flags, e.g. Bazel's -fno-omit-frame-pointer).
# e.g. bash bench/ab_same_process.sh HEAD~1 HEAD 21 64
set -euo pipefail
old=${1:?usage: ab_same_process.sh OLD_REV [NEW_REV] [ROUNDS] [SIZE]}
new=${2:-}
rounds=${3:-21}
size=${4:-64}
root=$(git rev-parse --show-toplevel)
load=$(cut -d' ' -f1-3 /proc/loadavg) # before the builds below load the machine
work="$root/build/ab_same_process"
rm -rf "$work"
mkdir -p "$work"
flags="-O2 -DNDEBUG $(sh "$root/memkit/cflags.sh")"

# sources REV DIR: the library's sources of REV (or of the working tree) into DIR.
sources() {
    mkdir -p "$2"
    if [[ -z $1 ]]; then
        cp -r "$root/memkit" "$2/"
    else
        git -C "$root" archive "$1" memkit | tar -x -C "$2"
    fi
}

# build BUILD REV EXTRA_FLAGS: $work/BUILD.o, the library (compiled with EXTRA_FLAGS
# too) with every global symbol prefixed BUILD_, and $work/loops_BUILD.o calling it.
build() {
    local dir="$work/$1"
    sources "$2" "$dir"
    local objects=()
    for src in "$dir"/memkit/src/*.c; do
        gcc $flags $3 -I"$dir/memkit/include" -c "$src" -o "$src.o" &
        objects+=("$src.o")
    done
    wait
    ld -r "${objects[@]}" -o "$dir/merged.o"
    nm --defined-only -g "$dir/merged.o" | awk -v p="$1" '{print $3, p "_" $3}' >"$dir/renames.txt"
    objcopy --redefine-syms="$dir/renames.txt" "$dir/merged.o" "$work/$1.o"
    # The loops, their calls into the library renamed the same way.
    gcc $flags -I"$dir/memkit/include" -DAB_BUILD="$1" -c "$root/bench/ab_loops.c" -o "$dir/loops.o"
    objcopy --redefine-syms="$dir/renames.txt" "$dir/loops.o" "$work/loops_$1.o"
}

build a "$old" "${AB_CFLAGS_A:-}"
build b "$new" "${AB_CFLAGS_B:-}"
gcc $flags -I"$root/memkit/include" "$root/bench/ab_main.c" "$work/loops_a.o" "$work/loops_b.o" "$work/a.o" \
    "$work/b.o" -o "$work/ab_main" -lurcu-bp -lurcu-common -pthread
echo "a: ${old} ${AB_CFLAGS_A:-}  b: ${new:-working tree} ${AB_CFLAGS_B:-}  load average before building: ${load}"
"$work/ab_main" "$rounds" "$size"
