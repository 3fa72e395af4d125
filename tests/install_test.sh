#!/usr/bin/env bash
# Installs libmemkit with `make install` into a temporary prefix (thread-safe and
# single-threaded builds), then compiles the seed's Quick Start with
# `cc $(pkg-config --cflags --libs memkit)`, runs it, and checks the shared
# library's soname. Run from the repository root (tests/run_suite.sh does).
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for threads in 1 0; do
    prefix="$work/prefix$threads"
    make -s install PREFIX="$prefix" THREAD_SAFE=$threads BUILD="$work/build$threads" >/dev/null
    export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
    # shellcheck disable=SC2046
    cc -std=c11 -Wall -Wextra -Werror examples/quickstart.c -o "$work/quickstart$threads" \
        $(pkg-config --cflags --libs memkit)
    out=$(LD_LIBRARY_PATH="$prefix/lib" "$work/quickstart$threads")
    [[ "$out" == "Allocated 1024 bytes, stored: 42." ]] || { echo "FAIL: printed '$out'"; exit 1; }
    soname=$(objdump -p "$prefix/lib/libmemkit.so.0.1.0" | awk '/SONAME/ {print $2}')
    [[ "$soname" == "libmemkit.so.0" ]] || { echo "FAIL: soname '$soname'"; exit 1; }
    # Only the API is exported.
    if nm -D --defined-only "$prefix/lib/libmemkit.so" | awk '{print $3}' | grep -vE '^mem_[a-z]' | grep -q .; then
        echo "FAIL: non-API symbols exported:"; nm -D --defined-only "$prefix/lib/libmemkit.so" | grep -v ' mem_'; exit 1
    fi
    # Static linking through pkg-config --static.
    # shellcheck disable=SC2046
    cc -std=c11 examples/quickstart.c -o "$work/quickstart_static$threads" $(pkg-config --cflags memkit) \
        $(pkg-config --static --libs memkit | sed "s|-lmemkit|$prefix/lib/libmemkit.a|")
    [[ "$("$work/quickstart_static$threads")" == "$out" ]] || { echo "FAIL: static build"; exit 1; }
    echo "ok: make install (THREAD_SAFE=$threads) + pkg-config: $out (soname $soname)"
done
echo "PASS: install and pkg-config"
