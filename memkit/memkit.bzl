"""memkit_library: one definition of how the library is built, for every variant."""

load("@rules_cc//cc:defs.bzl", "cc_library")

# The sanitizer configurations of .bazelrc (--define=sanitizer=NAME): the library
# keeps its frame pointers in each (below), and tests/BUILD.bazel has a setting each.
SANITIZERS = ["asan", "tsan", "ubsan"]

# How long the heavy barrier of //memkit:memkit_slow_barrier takes, in microseconds,
# for the library and for //tests:snapshot_barrier_slow_test, which requires owners
# not to wait for it.
SLOW_BARRIER_US = 30000

# The warning set and flags of every build of the library: Bazel's, and through
# memkit/cflags.sh the Makefile's, the fuzz build's and the coverage build's.
MEMKIT_COPTS = [
    "-std=c11",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-Wshadow",
    "-Wstrict-prototypes",
    "-Wmissing-prototypes",
    "-fvisibility=hidden",
    "-DMEMKIT_BUILDING",
]

def memkit_library(name, defines = [], local_defines = [], threads = True, extra_srcs = [], extra_copts = [], **kwargs):
    """The library from memkit/src with the public headers.

    Args:
      name: the target.
      defines: macros consumers see too (layout and variant macros).
      local_defines: macros for the library's own sources only (test knobs, faults).
      threads: thread-safe (liburcu, -pthread) or MEM_THREAD_SAFE=0.
      extra_srcs: sources compiled with the library's (the preloadable malloc).
      extra_copts: compiler flags beyond the library's own.
      **kwargs: visibility, testonly.
    """
    cc_library(
        name = name,
        srcs = native.glob(["src/*.c", "src/*.h"]) + extra_srcs,
        hdrs = native.glob(["include/**/*.h"]),
        copts = MEMKIT_COPTS + ["-D" + d for d in local_defines] + extra_copts + select(dict({
            # Bazel's toolchain compiles everything with -fno-omit-frame-pointer; gcc
            # and clang at -O2 omit it. The owner's paths (share, destroy, allocate,
            # mem_malloc, mem_free) are short functions whose common case calls
            # nothing: a frame pointer is two more instructions and one register less
            # in each (bench/ab_same_process.sh with AB_CFLAGS_A/B: share + release
            # about 3 % faster without, performance-analysis.md). -c opt only: other
            # modes, and the sanitizer configurations in any mode, keep the frames.
            str(Label("//memkit:optimized")): ["-fomit-frame-pointer"],
            "//conditions:default": [],
        }, **{str(Label("//memkit:optimized_" + sanitizer)): [] for sanitizer in SANITIZERS})),
        # MEMKIT_BAZEL_THREADS_n marks which variant a target depends on: config.h
        # refuses a target that gets both (//memkit and //memkit:memkit_nothreads).
        defines = defines + (["MEMKIT_BAZEL_THREADS_1"] if threads else ["MEM_THREAD_SAFE=0", "MEMKIT_BAZEL_THREADS_0"]),
        includes = ["include"],
        linkopts = ["-pthread"] if threads else [],
        deps = ["//third_party:urcu_bp"] if threads else [],
        **kwargs
    )
