#!/usr/bin/env python3
"""Turns the benchmark JSON of one bench/run.sh run into docs/performance.md and
the plots beside it (gnuplot). Usage: report.py RESULTS_DIR DOCS_DIR REPETITIONS"""
import json
import os
import platform
import subprocess
import sys

PEERS = ["glibc", "jemalloc", "mimalloc", "tcmalloc"]


def load(path):
    """Medians of BINARY.json plus the single memory run of BINARY_memory.json."""
    results = {}
    context = None
    for part in [path, path.replace(".json", "_memory.json")]:
        with open(part) as f:
            data = json.load(f)
        context = context or data["context"]
        for b in data["benchmarks"]:
            if b.get("aggregate_name", "median") != "median" and b.get("run_type") == "aggregate":
                continue
            results[b.get("run_name", b["name"])] = b
    return context, results


def ns(b):
    scale = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[b.get("time_unit", "ns")]
    return b["real_time"] * scale


def fmt(x):
    return f"{x:.1f}" if x < 100 else f"{x:.0f}"


def main():
    results_dir, docs, repetitions = sys.argv[1], sys.argv[2], sys.argv[3]
    context, memkit = load(os.path.join(results_dir, "memkit_bench.json"))
    peers = {p: load(os.path.join(results_dir, f"peer_bench_{p}.json"))[1] for p in PEERS}
    lines = []
    goals = []

    def goal(text, met, measured):
        goals.append((text, met, measured))

    def best_peer(run_name, key=ns):
        values = {p: key(peers[p][run_name]) for p in PEERS}
        best = min(values, key=values.get)
        return best, values

    cpu = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"],
                         capture_output=True, text=True).stdout.strip()
    lines += ["# libmemkit performance", "",
              "Written by `bench/run.sh` from one run on one machine: every allocator measured in the same",
              f"run, each figure the median of {repetitions} repetitions. Reproduce with `bash bench/run.sh`.", "",
              f"Machine: {context.get('num_cpus')} CPUs ({cpu}), {context.get('mhz_per_cpu')} MHz, "
              f"{platform.system()} {platform.release()}; date {context.get('date')}.",
              "Peers: glibc malloc (plain), jemalloc, mimalloc and tcmalloc (Debian packages, each linked in",
              "as the process's malloc in its own binary). Times are wall-clock nanoseconds per operation.", ""]

    # 1. Per-request cycle
    ref = ns(memkit["request/reference_bump"])
    arena = ns(memkit["request/memkit_arena"])
    lines += ["## 1. Per-request cycle", "",
              "Acquire a request arena, 32 allocations of 16-512 B (fixed seeded sizes), touch each, release",
              "(libmemkit wipes every used byte on release). Peers: the same 32 malloc/free, in LIFO and FIFO",
              "order, plain and with a memset of each block before free.", "",
              "| allocator | plain LIFO | plain FIFO | wiping LIFO | wiping FIFO |", "| --- | --- | --- | --- | --- |"]
    for p in PEERS:
        r = peers[p]
        lines.append(f"| {p} | " + " | ".join(fmt(ns(r[f"request/malloc_{k}"])) for k in
                                                 ["lifo", "fifo", "wipe_lifo", "wipe_fifo"]) + " |")
    lines += ["", f"libmemkit request arena (wiping included): **{fmt(arena)} ns**; "
                  f"reference loop (inline bump + memset of the used bytes): {fmt(ref)} ns.", ""]
    plain_best = min(min(ns(peers[p]["request/malloc_lifo"]), ns(peers[p]["request/malloc_fifo"])) for p in PEERS)
    wipe_best = min(min(ns(peers[p]["request/malloc_wipe_lifo"]), ns(peers[p]["request/malloc_wipe_fifo"]))
                    for p in PEERS)
    goal("W1: request cycle within 1.2x of the reference loop", arena <= 1.2 * ref, f"{arena / ref:.2f}x")
    goal("W1: faster than every peer's plain malloc/free cycle", arena < plain_best,
         f"{plain_best / arena:.2f}x faster than the fastest")
    goal("W1: at least 1.8x faster than the best peer doing the same wiping", wipe_best / arena >= 1.8,
         f"{wipe_best / arena:.2f}x")

    # 2. Pointer lifecycle
    lines += ["## 2. Pointer lifecycle", "",
              "create + allocate + write every byte + destroy (wipes). Peers: malloc + memset + memset before",
              "free + free.", "", "| size | libmemkit | " + " | ".join(PEERS) + " | ratio to best peer |",
              "| --- | --- | " + " | ".join("---" for _ in PEERS) + " | --- |"]
    sizes = [64, 1024, 16384]
    worst = 0
    for s in sizes:
        m = ns(memkit[f"lifecycle/memkit/{s}"])
        best, values = best_peer(f"lifecycle/malloc/{s}")
        ratio = m / values[best]
        worst = max(worst, ratio)
        lines.append(f"| {s} B | {fmt(m)} | " + " | ".join(fmt(values[p]) for p in PEERS) +
                     f" | {ratio:.2f}x ({best}) |")
        goal(f"W2: lifecycle at {s} B within 1.5x of the best peer", ratio <= 1.5, f"{ratio:.2f}x")
    lines.append("")
    plot_lifecycle(docs, memkit, peers, sizes)
    lines += ["![lifecycle per size](performance-lifecycle.png)", ""]

    # 3. Share / release
    one = ns(memkit["share_release/memkit/real_time/threads:1"])
    two = ns(memkit["share_release/memkit/real_time/threads:2"])
    lines += ["## 3. Share / release", "",
              "`mem_pointer_share` (a new handle, refcount + 1) then `mem_pointer_destroy` of that handle.", "",
              "| threads | ns per share+release (wall) |", "| --- | --- |",
              f"| 1 (uncontended) | {fmt(one)} |", f"| 2 (contending on one container) | {fmt(two)} |", ""]
    goal("W3: uncontended share+release at most 10 ns", one <= 10, f"{one:.1f} ns")

    # 4. COW
    cow = ns(memkit["cow/memkit_write"])
    lines += ["## 4. Copy-on-write of a shared 4 KB container", "",
              "libmemkit: share, `mem_pointer_write` (copies), destroy the copy. Peers: malloc + memcpy + free.", "",
              "| libmemkit | " + " | ".join(PEERS) + " |", "| --- | " + " | ".join("---" for _ in PEERS) + " |",
              f"| {fmt(cow)} | " + " | ".join(fmt(ns(peers[p]['cow/malloc_memcpy'])) for p in PEERS) + " |", ""]

    # 5. Threads
    lines += ["## 5. Threads", "",
              "Workload 2 at 1 KB on 1, 2 and 4 threads sharing one pool; million operations per second.", "",
              "| threads | libmemkit | " + " | ".join(PEERS) + " |", "| --- | --- | " + " | ".join("---" for _ in PEERS) + " |"]
    tput = {}
    for t in [1, 2, 4]:
        m = memkit[f"threads/memkit/1024/real_time/threads:{t}"]["items_per_second"] / 1e6
        tput[t] = m
        lines.append(f"| {t} | {m:.1f} | " + " | ".join(
            f"{peers[p][f'threads/malloc/1024/real_time/threads:{t}']['items_per_second'] / 1e6:.1f}" for p in PEERS) + " |")
    lines += ["", "![thread scaling](performance-threads.png)", ""]
    plot_threads(docs, memkit, peers)
    goal("W5: 2-thread throughput at least 1.8x the 1-thread throughput", tput[2] >= 1.8 * tput[1],
         f"{tput[2] / tput[1]:.2f}x")

    # 6. Producer / consumer
    pc = ns(memkit["producer_consumer/memkit/real_time"])
    lines += ["## 6. Producer / consumer", "",
              "One thread allocates 256 B and passes it through a ring; another destroys / frees it.", "",
              "| libmemkit | " + " | ".join(PEERS) + " |", "| --- | " + " | ".join("---" for _ in PEERS) + " |",
              f"| {fmt(pc)} | " + " | ".join(fmt(ns(peers[p]['producer_consumer/malloc/real_time'])) for p in PEERS) + " |", ""]

    # 7. Memory
    mk_live = memkit["memory/churn_memkit/iterations:1"]["rss_live_kb"]
    mk_after = memkit["memory/churn_memkit/iterations:1"]["rss_after_free_kb"]
    meta = memkit["memory/metadata_memkit/iterations:1"]
    lines += ["## 7. Memory", "",
              "Resident memory added by a seeded churn of mixed sizes (64 B to 128 KiB, 20,000 live, 400,000",
              "replacements), measured once per allocator in a fresh process: while the working set is live,",
              "and after everything was freed.", "",
              "| allocator | live working set (KiB) | after freeing all (KiB) |", "| --- | --- | --- |",
              f"| libmemkit | {mk_live:.0f} | {mk_after:.0f} |"]
    best_live = None
    for p in PEERS:
        r = peers[p]["memory/churn_malloc/iterations:1"]
        lines.append(f"| {p} | {r['rss_live_kb']:.0f} | {r['rss_after_free_kb']:.0f} |")
        best_live = r["rss_live_kb"] if best_live is None else min(best_live, r["rss_live_kb"])
    header = meta["container_header_bytes"]
    slot = meta["registry_slot_bytes"]
    lines += ["", f"Metadata: container header {header:.0f} B, registry slot {slot:.0f} B "
                  f"(so {header + slot:.0f} B tracked per container), handle {meta['handle_bytes']:.0f} B per handle.", ""]
    goal("W7: resident memory after churn at most 1.2x the best peer", mk_live <= 1.2 * best_live,
         f"{mk_live / best_live:.2f}x")
    goal("W7: at most 32 bytes of metadata per container", header + slot <= 32,
         f"{header:.0f} B header + {slot:.0f} B registry slot")

    # Goals
    out = ["## Goals", "", "| goal | verdict | measured |", "| --- | --- | --- |"]
    out += [f"| {t} | {'met' if m else '**missed**'} | {v} |" for t, m, v in goals]
    out += ["", "Where a goal is missed, the analysis is in [performance-analysis.md](performance-analysis.md).", ""]
    with open(os.path.join(docs, "performance.md"), "w") as f:
        f.write("\n".join(lines[:8] + [""] + out + lines[8:]) + "\n")


def gnuplot(script):
    subprocess.run(["gnuplot"], input=script, text=True, check=True)


def plot_lifecycle(docs, memkit, peers, sizes):
    data = os.path.join(docs, ".lifecycle.dat")
    with open(data, "w") as f:
        for s in sizes:
            f.write(f"{s} {ns(memkit[f'lifecycle/memkit/{s}'])} " +
                    " ".join(str(ns(peers[p][f'lifecycle/malloc/{s}'])) for p in PEERS) + "\n")
    cols = ["libmemkit"] + PEERS
    plots = ", ".join(f"'{data}' using 1:{i + 2} with linespoints title '{c}'" for i, c in enumerate(cols))
    gnuplot(f"set terminal png size 800,450; set output '{docs}/performance-lifecycle.png'; set logscale xy;"
            f"set xlabel 'size (bytes)'; set ylabel 'ns per lifecycle'; set key left top; plot {plots}\n")
    os.remove(data)


def plot_threads(docs, memkit, peers):
    data = os.path.join(docs, ".threads.dat")
    with open(data, "w") as f:
        for t in [1, 2, 4]:
            f.write(f"{t} {memkit[f'threads/memkit/1024/real_time/threads:{t}']['items_per_second'] / 1e6} " +
                    " ".join(str(peers[p][f'threads/malloc/1024/real_time/threads:{t}']['items_per_second'] / 1e6)
                             for p in PEERS) + "\n")
    cols = ["libmemkit"] + PEERS
    plots = ", ".join(f"'{data}' using 1:{i + 2} with linespoints title '{c}'" for i, c in enumerate(cols))
    gnuplot(f"set terminal png size 800,450; set output '{docs}/performance-threads.png'; set xtics (1,2,4);"
            f"set xlabel 'threads (2 cores)'; set ylabel 'million lifecycles/s (1 KB)'; set key left top; plot {plots}\n")
    os.remove(data)


if __name__ == "__main__":
    main()
