"""Offline stand-in for @rules_shell//shell:sh_test.bzl: Bazel 4.2.3's native sh_test.

Newer Bazel versions take sh_test from the real rules_shell module instead."""

sh_test = native.sh_test
