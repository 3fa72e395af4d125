#!/usr/bin/env bash
# Installs libmemkit with `make install` into a temporary prefix (thread-safe and
# single-threaded builds), then compiles the seed's Quick Start with
# `cc $(pkg-config --cflags --libs memkit)`, runs it, and checks the shared
# library's soname, and that consumers built with other layout or variant macros
# fail to link. Run from the repository root (tests/run_suite.sh does).
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
    # One version everywhere: the header, the file name, the soname, memkit.pc and
    # what the loaded library reports.
    version=$(sed -n 's/^#define MEMKIT_VERSION_STRING "\(.*\)"/\1/p' memkit/include/memkit/version.h)
    soname=$(objdump -p "$prefix/lib/libmemkit.so.$version" | awk '/SONAME/ {print $2}')
    [[ "$soname" == "libmemkit.so.${version%%.*}" ]] || { echo "FAIL: soname '$soname' for version $version"; exit 1; }
    [[ "$(pkg-config --modversion memkit)" == "$version" ]] || { echo "FAIL: memkit.pc version"; exit 1; }
    module_version=$(sed -n 's/^    version = "\(.*\)",$/\1/p' MODULE.bazel)
    [[ "$module_version" == "$version" ]] || { echo "FAIL: MODULE.bazel says $module_version"; exit 1; }
    grep -q "bazel_dep(name = \"libmemkit\", version = \"$version\")" examples/consumer_bzlmod/MODULE.bazel ||
        { echo "FAIL: examples/consumer_bzlmod asks for another version"; exit 1; }
    printf '#include <memkit/memkit.h>\n#include <stdio.h>\nint main(void) { puts(mem_version_string()); return 0; }\n' \
        > "$work/version.c"
    # shellcheck disable=SC2046
    cc -std=c11 -Wall -Werror "$work/version.c" -o "$work/version$threads" $(pkg-config --cflags --libs memkit)
    loaded=$(LD_LIBRARY_PATH="$prefix/lib" "$work/version$threads")
    [[ "$loaded" == "$version" ]] || { echo "FAIL: the installed library says $loaded, the header $version"; exit 1; }
    # Only the API is exported.
    if nm -D --defined-only "$prefix/lib/libmemkit.so" | awk '{print $3}' | grep -vE '^mem_[a-z]' | grep -q .; then
        echo "FAIL: non-API symbols exported:"; nm -D --defined-only "$prefix/lib/libmemkit.so" | grep -v ' mem_'; exit 1
    fi
    # Static linking through pkg-config --static.
    # shellcheck disable=SC2046
    cc -std=c11 examples/quickstart.c -o "$work/quickstart_static$threads" $(pkg-config --cflags memkit) \
        $(pkg-config --static --libs memkit | sed "s|-lmemkit|$prefix/lib/libmemkit.a|")
    [[ "$("$work/quickstart_static$threads")" == "$out" ]] || { echo "FAIL: static build"; exit 1; }
    # Loadable with dlopen (no initial-exec TLS: no STATIC_TLS flag), and usable so.
    if readelf -d "$prefix/lib/libmemkit.so" | grep -q STATIC_TLS; then
        echo "FAIL: libmemkit.so needs static TLS: dlopen may fail"; exit 1
    fi
    # shellcheck disable=SC2046
    cc -std=c11 -Wall -Wextra -Werror tests/dlopen_probe.c -o "$work/dlopen_probe$threads" \
        $(pkg-config --cflags memkit) -ldl -pthread
    [[ "$("$work/dlopen_probe$threads" "$prefix/lib/libmemkit.so")" == ok ]] || { echo "FAIL: dlopen"; exit 1; }
    # The preloadable malloc: installed with the thread-safe library only, and working.
    if [[ $threads -eq 1 ]]; then
        [[ "$(LD_PRELOAD="$prefix/lib/libmemkit_malloc.so" python3 -c 'import ctypes; print(ctypes.CDLL(None).mem_default_pool() != 0)')" == True ]] ||
            { echo "FAIL: the installed libmemkit_malloc.so does not serve python3's malloc"; exit 1; }
    elif [[ -e "$prefix/lib/libmemkit_malloc.so" ]]; then
        echo "FAIL: THREAD_SAFE=0 installed libmemkit_malloc.so"; exit 1
    fi
    # The variant guard: a consumer built with other layout or variant macros than the
    # library does not link (config.h), whether shared or static.
    other=$((1 - threads))
    for mismatch in "-DMEM_ALIGNMENT=64" "-DMEM_POINTER_NAME_MAX=96" "-UMEM_THREAD_SAFE -DMEM_THREAD_SAFE=$other"; do
        # shellcheck disable=SC2046,SC2086
        if log=$(cc -std=c11 examples/quickstart.c -o "$work/mismatched" $(pkg-config --cflags memkit) $mismatch \
                 $(pkg-config --libs memkit) 2>&1); then
            echo "FAIL: a consumer built with $mismatch linked against the THREAD_SAFE=$threads library"; exit 1
        fi
        grep -q "undefined reference to .mem_variant_" <<<"$log" || { echo "FAIL: $mismatch: $log"; exit 1; }
    done
    echo "ok: make install (THREAD_SAFE=$threads) + pkg-config: $out (soname $soname); mismatched variants refused at link time"
done
# The README's two install lines, as written, one after the other into one prefix: the
# second installs the single-threaded variant (its objects and memkit.pc are its own).
one="$work/one-prefix"
while read -r line; do
    line=${line%%#*}
    # shellcheck disable=SC2086
    make -s ${line#make } PREFIX="$one" >/dev/null  # the Makefile's own build directories
done < <(grep -E '^make install PREFIX=' README.md)
[[ $(grep -cE '^make install PREFIX=' README.md) -eq 2 ]] || { echo "FAIL: the README's install lines changed"; exit 1; }
nm -D --defined-only "$one/lib/libmemkit.so" | grep -q mem_variant_threads0_ ||
    { echo "FAIL: the README's second install line did not leave the single-threaded library"; exit 1; }
[[ "$(PKG_CONFIG_PATH="$one/lib/pkgconfig" pkg-config --cflags memkit)" == *"-DMEM_THREAD_SAFE=0"* ]] ||
    { echo "FAIL: memkit.pc of the second install line does not ask for MEM_THREAD_SAFE=0"; exit 1; }
echo "ok: the README's install lines, one after the other, install what they say"
# A Bazel target that depends on both the thread-safe and the single-threaded library
# gets both variants' marks (memkit/memkit.bzl) and does not compile.
if log=$(cc -std=c11 -fsyntax-only -Imemkit/include -DMEMKIT_BAZEL_THREADS_1 -DMEMKIT_BAZEL_THREADS_0 \
         -DMEM_THREAD_SAFE=0 examples/quickstart.c 2>&1) || ! grep -q "depends on both //memkit" <<<"$log"; then
    echo "FAIL: a target with both variants compiled: $log"; exit 1
fi
echo "ok: a target depending on both //memkit and //memkit:memkit_nothreads is refused"
echo "PASS: install and pkg-config"
