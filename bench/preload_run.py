#!/usr/bin/env python3
"""mimalloc-bench's shapes (bench/preload_shapes.c) under each allocator's LD_PRELOAD:
glibc (no preload), jemalloc, mimalloc, tcmalloc and libmemkit_malloc.so. Runs every
contender on every workload once per round, the contenders' order rotating from
round to round, and prints a markdown table of medians: operations per second, the
ratio of libmemkit to each peer, and peak resident memory (VmHWM).

Usage: python3 bench/preload_run.py [--rounds N] [--quick] [--json FILE]   (from the
repository root, after `bazel build -c opt //bench:preload_shapes //memkit:libmemkit_malloc.so`);
--json also writes the medians for bench/report.py."""
import argparse
import json
import os
import statistics
import subprocess
import sys

LIBDIR = "/usr/lib/x86_64-linux-gnu"
PEERS = [("glibc", None), ("jemalloc", "libjemalloc.so.2"), ("mimalloc", "libmimalloc.so.2"),
         ("tcmalloc", "libtcmalloc_minimal.so.4")]
WORKLOADS = [("larson", 2, 20_000_000), ("larson", 4, 20_000_000), ("xmalloc", 2, 10_000_000),
             ("xmalloc", 4, 10_000_000), ("cscratch", 2, 200_000), ("cfrac", 1, 20_000_000)]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="one round, a tenth of the work")
    parser.add_argument("--json", help="write the medians here too")
    args = parser.parse_args()
    rounds = 1 if args.quick else args.rounds
    scale = 0.1 if args.quick else 1.0
    shapes = "bazel-bin/bench/preload_shapes"
    contenders = [("libmemkit", os.path.abspath("bazel-bin/memkit/libmemkit_malloc.so"))]
    for name, soname in PEERS:
        path = os.path.join(LIBDIR, soname) if soname else None
        if path is None or os.path.exists(path):
            contenders.append((name, path))
        else:
            print(f"preload_run: {name} not installed ({path}), left out", file=sys.stderr)
    with open("/proc/loadavg") as f:
        load_before = f.read().strip()
    results = {}  # (workload, contender) -> [(ops/s, peak kB)]
    for r in range(rounds):
        order = contenders[r % len(contenders):] + contenders[:r % len(contenders)]
        for shape, threads, ops in WORKLOADS:
            ops = max(1, int(ops * scale))
            for name, lib in order:
                env = dict(os.environ)
                env.pop("LD_PRELOAD", None)
                if lib:
                    env["LD_PRELOAD"] = lib
                out = subprocess.run([shapes, shape, str(threads), str(ops)], env=env, check=True,
                                     capture_output=True, text=True).stdout.split()
                done, seconds, peak = int(out[2]), float(out[3]), int(out[4])
                results.setdefault((f"{shape}/{threads}", name), []).append((done / seconds, peak))
        print(f"preload_run: round {r + 1} of {rounds} done", file=sys.stderr)
    with open("/proc/loadavg") as f:
        load_after = f.read().strip()
    names = [name for name, _ in contenders]
    print(f"Load average before: {load_before}; after: {load_after}; medians of {rounds} round(s).\n")
    print("| workload | " + " | ".join(f"{n} Mops/s (peak MiB)" for n in names) + " | libmemkit / "
          + " / ".join(names[1:]) + " |")
    print("| --- " * (len(names) + 2) + "|")
    rows = []
    for shape, threads, _ in WORKLOADS:
        key = f"{shape}/{threads}"
        medians = {n: (statistics.median(v[0] for v in results[(key, n)]),
                       statistics.median(v[1] for v in results[(key, n)])) for n in names}
        cells = [f"{medians[n][0] / 1e6:.1f} ({medians[n][1] / 1024:.1f})" for n in names]
        ratios = [f"{medians['libmemkit'][0] / medians[n][0]:.2f}x" for n in names[1:]]
        print(f"| {key} | " + " | ".join(cells) + " | " + " / ".join(ratios) + " |")
        rows += [{"workload": key, "contender": n, "mops": medians[n][0] / 1e6, "peak_kib": medians[n][1]}
                 for n in names]
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"load_before": load_before, "load_after": load_after, "rounds": rounds, "rows": rows}, f,
                      indent=1)


if __name__ == "__main__":
    main()
