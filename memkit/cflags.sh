#!/bin/sh
# Prints the flags every build of the library uses (MEMKIT_COPTS in memkit/memkit.bzl,
# the one list): the Makefile, fuzz/run.sh and tests/coverage.sh call this, so they
# compile memkit/src with the same warnings as Bazel. Usage: sh memkit/cflags.sh
sed -n '/^MEMKIT_COPTS = \[/,/^\]/p' "$(dirname "$0")/memkit.bzl" | grep -oE '"-[^"]+"' | tr -d '"' | tr '\n' ' '
echo
