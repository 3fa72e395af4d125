"""stress_binary: the stress harness linked against a given memkit library."""

load("@rules_cc//cc:defs.bzl", "cc_binary")

def stress_binary(name, memkit, testonly = False):
    cc_binary(
        name = name,
        srcs = native.glob(["*.c", "*.h"], exclude = ["histogram.c", "histogram.h"]),
        copts = ["-std=c11", "-Wall", "-Wextra", "-Werror"],
        linkopts = ["-pthread"],
        testonly = testonly,
        deps = [memkit, ":histogram"],
    )
