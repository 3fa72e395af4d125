#!/usr/bin/env python3
"""What snapshots cost the owners: runs the stress harness in owner mode without and
with --snapshots (validate, stats and trim back to back on another thread), round by
round interleaved, and prints the medians: throughput, its ratio, the worst wait of
any owner operation (whatever held it up: a snapshot, the system allocator, the
scheduler), and the longest wait for a snapshot, which the library counts itself
(mem_pool_stats' snapshot_wait_max_ns). Run it with one worker thread fewer than the machine's cores
(the snapshot thread needs a core too, or the comparison measures CPU sharing).

Usage: snapshot_cost.py STRESS_BINARY [--rounds N] [--seconds S] [--threads T]
                        [--sizes MIN-MAX] [--slots N]"""
import argparse
import json
import os
import statistics
import subprocess
import sys


def run(binary, args, snapshots):
    command = [binary, "--mode", "owner", "--json", "--threads", str(args.threads), "--seconds", str(args.seconds),
               "--sizes", args.sizes, "--slots", str(args.slots)] + (["--snapshots"] if snapshots else [])
    out = subprocess.run(command, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"snapshot_cost: {' '.join(command)} exited {out.returncode}:\n{out.stdout}{out.stderr}")
    return json.loads(out.stdout)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=3)
    parser.add_argument("--threads", type=int, default=max(1, (os.cpu_count() or 2) - 1))
    parser.add_argument("--sizes", default="64-65536")
    parser.add_argument("--slots", type=int, default=256, help="pointers each owner keeps")
    args = parser.parse_args()
    with open("/proc/loadavg") as f:
        load = f.read().split()[0]
    results = {False: [], True: []}
    for _ in range(args.rounds):
        for snapshots in (False, True):
            results[snapshots].append(run(args.binary, args, snapshots))
    rate = {k: statistics.median(r["ops_per_second"] for r in v) for k, v in results.items()}
    worst = {k: statistics.median(max(kind["max_ns"] for kind in r["kinds"].values()) for r in v)
             for k, v in results.items()}
    p999 = {k: statistics.median(max(kind["p999_ns"] for kind in r["kinds"].values()) for r in v)
            for k, v in results.items()}
    snaps = statistics.median(r["snapshots"] for r in results[True])
    snapshot_wait = statistics.median(r["snapshot_wait_max_ns"] for r in results[True])
    waits = statistics.median(r["snapshot_waits"] for r in results[True])
    print(f"load average before: {load}; {args.rounds} rounds of {args.seconds} s, {args.threads} owner thread(s), "
          f"sizes {args.sizes}, {args.slots} pointers each")
    print(f"{'':24} {'ops/s':>12} {'p99.9 ns':>10} {'worst ns':>12}")
    print(f"{'without snapshots':24} {rate[False]:12.0f} {p999[False]:10.0f} {worst[False]:12.0f}")
    print(f"{'with snapshots':24} {rate[True]:12.0f} {p999[True]:10.0f} {worst[True]:12.0f}")
    print(f"throughput with snapshots: {rate[True] / rate[False]:.3f} of without "
          f"({snaps:.0f} snapshots per run, median); worst owner operation {worst[True] / 1e6:.3f} ms")
    print(f"owners kept waiting by a snapshot: {waits:.0f} times per run, the longest {snapshot_wait / 1e6:.3f} ms "
          f"(medians over the runs)")


if __name__ == "__main__":
    main()
