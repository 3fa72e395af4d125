#!/usr/bin/env python3
"""Two builds of bench/compare, before and after a change, timed against each other:
for each pair, both binaries run each workload (libmemkit alone, 3 rounds), the order
alternating from pair to pair; prints, per workload, each build's median ns per
operation and the median of the pairs' new/old ratios, with how many pairs the new
build won. On a VM whose speed drifts, the ratio of back-to-back runs is what holds.

Usage (from the repository root, each binary from `bazel build -c opt //bench:compare`
copied aside):
    python3 bench/ab_compare.py OLD_COMPARE NEW_COMPARE PAIRS WORKLOAD[,WORKLOAD...]
e.g. python3 bench/ab_compare.py build/compare.old build/compare.new 16 lifecycle/64,refcount"""
import json
import os
import statistics
import subprocess
import sys
import tempfile


def median_ns(binary, workload, json_path):
    """{group: median ns per operation} of libmemkit's cases in one run of `binary`."""
    subprocess.run([binary, "--filter", workload, "--no-peers", "--no-memory", "--rounds", "3", "--json", json_path],
                   check=True, capture_output=True)
    with open(json_path) as f:
        cases = json.load(f)["cases"]
    return {c["group"]: statistics.median(ns / c["ops"] for ns in c["ns"])
            for c in cases if c["contender"] == "libmemkit"}


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    binaries = {"old": sys.argv[1], "new": sys.argv[2]}
    pairs, workloads = int(sys.argv[3]), sys.argv[4].split(",")
    # compare re-executes itself unless glibc leaves it room for the peers' TLS.
    os.environ.setdefault("GLIBC_TUNABLES", "glibc.rtld.optional_static_tls=65536")
    times = {}  # (group, build) -> [ns per operation, one per pair]
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(pairs):
            for build in (("old", "new") if i % 2 == 0 else ("new", "old")):
                for workload in workloads:
                    for group, ns in median_ns(binaries[build], workload, os.path.join(tmp, "run.json")).items():
                        times.setdefault((group, build), []).append(ns)
    for group in sorted({g for g, _ in times}):
        old, new = times[(group, "old")], times[(group, "new")]
        ratios = [n / o for o, n in zip(old, new)]
        print(f"{group:22s} old {statistics.median(old):7.1f} new {statistics.median(new):7.1f} ns"
              f"  new/old median {statistics.median(ratios):.3f}  faster in {sum(r < 1 for r in ratios)}/{len(ratios)}")


if __name__ == "__main__":
    main()
