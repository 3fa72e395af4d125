#!/usr/bin/env python3
"""Writes docs/performance.md (and two plots) from bench/compare's JSON: the median
of every case over the rounds of every run given, ratios to libmemkit (each the median
of the ratios round by round), and each goal of the issues with its verdict.
Usage: report.py RESULTS.json [MORE.json ...] DOCS_DIR (each file one process of
bench/compare, all of the same workloads and scale)."""
import json
import os
import statistics
import subprocess
import sys

PEERS = ["glibc", "jemalloc", "mimalloc", "tcmalloc"]


def merge(runs):
    """One run from several processes of compare: each case's rounds pooled, the first
    run's machine, load before the first and after the last, the memory runs of
    whichever process made them."""
    merged = dict(runs[0], cases=[], memory=[], rounds=sum(r["rounds"] for r in runs), processes=len(runs),
                  load_after=runs[-1]["load_after"])
    pooled = {}  # (group, contender) -> its case in merged, rounds appended
    for run in runs:
        for c in run["cases"]:
            key = (c["group"], c["contender"])
            if key not in pooled:
                pooled[key] = dict(c, ns=[])
                merged["cases"].append(pooled[key])
            if pooled[key]["ops"] != c["ops"]:
                sys.exit(f"report.py: {key} ran {c['ops']} and {pooled[key]['ops']} operations per round")
            pooled[key]["ns"] += c["ns"]
        merged["memory"] += run["memory"]
        merged["missing_peers"] = sorted(set(merged["missing_peers"]) | set(run["missing_peers"]))
    return merged


class Results:
    def __init__(self, paths):
        runs = []
        for path in paths:
            with open(path) as f:
                runs.append(json.load(f))
        self.raw = merge(runs)
        # (group, contender) -> ns per operation of each round, in run order; and its median
        self.rounds = {(c["group"], c["contender"]): [ns / c["ops"] for ns in c["ns"]] for c in self.raw["cases"]}
        self.ns = {key: statistics.median(rounds) for key, rounds in self.rounds.items()}
        self.memory = {(m["workload"], m["contender"]): m["figures"] for m in self.raw["memory"]}

    def get(self, group, contender):
        return self.ns.get((group, contender))

    def ratio(self, group, a, b):
        """a's time over b's: the median of the ratios of their rounds of one process and
        one index, which ran back to back. This VM's speed changes by up to 1.7x from one
        minute to the next for every contender alike; a ratio within a round cancels
        that, where a ratio of two medians can compare rounds of different speeds."""
        ra, rb = self.rounds[(group, a)], self.rounds[(group, b)]
        if len(ra) != len(rb):
            sys.exit(f"report.py: {group}: {a} ran {len(ra)} rounds and {b} {len(rb)}, which cannot be paired")
        return statistics.median(x / y for x, y in zip(ra, rb))

    def contenders(self, group):
        return [c for (g, c) in self.ns if g == group]


def fmt(ns):
    if ns is None:
        return "-"
    return f"{ns:.1f}" if ns < 100 else f"{ns:.0f}"


def mops(ns):
    return "-" if ns is None else f"{1e3 / ns:.1f}"


class Report:
    def __init__(self, results):
        self.r = results
        self.lines = []
        self.goals = []

    def add(self, *lines):
        self.lines.extend(lines)

    def goal(self, text, met, measured):
        self.goals.append((text, met, measured))

    def table(self, header, rows):
        self.add("| " + " | ".join(header) + " |", "|" + " --- |" * len(header))
        for row in rows:
            self.add("| " + " | ".join(row) + " |")
        self.add("")

    def best_peer(self, group, names=PEERS):
        """The peer with the lowest median time in `group`."""
        values = {p: self.r.get(group, p) for p in names if self.r.get(group, p) is not None}
        return min(values, key=values.get)


def pointer_sections(rep):
    r = rep.r
    rep.add("## Pointer lifecycle", "",
            "libmemkit: `mem_pointer_create` + `mem_pointer_allocate` + write every byte + `mem_pointer_destroy`",
            "(which wipes). Peers: malloc + memset + memset before free + free. ns per lifecycle.", "")
    rows = []
    for size, limit in [(64, 2.0), (1024, 1.5), (16384, None)]:
        group = f"lifecycle/{size}"
        mk = r.get(group, "libmemkit")
        best = rep.best_peer(group)
        ratio = r.ratio(group, "libmemkit", best)
        rows.append([f"{size} B", f"**{fmt(mk)}**"] + [fmt(r.get(group, p)) for p in PEERS] + [f"{ratio:.2f}x ({best})"])
        if limit:
            rep.goal(f"lifecycle at {size} B at most {limit}x the best peer", ratio <= limit, f"{ratio:.2f}x ({best})")
    rep.table(["size", "libmemkit"] + PEERS + ["libmemkit / best"], rows)
    rep.add("![lifecycle per size](performance-lifecycle.png)", "")

    rep.add("## Threads", "", "The 1 KiB lifecycle on 1, 2 and 4 threads at once (2 cores); million lifecycles per second.", "")
    rep.table(["threads", "libmemkit"] + PEERS,
              [[str(t), f"**{mops(r.get(f'threads/1024/{t}', 'libmemkit'))}**"] +
               [mops(r.get(f"threads/1024/{t}", p)) for p in PEERS] for t in (1, 2, 4)])
    rep.add("![thread scaling](performance-threads.png)", "")

    own = r.get("share_release/owner", "libmemkit")
    one, two = r.get("share_release/1", "libmemkit"), r.get("share_release/2", "libmemkit")
    rep.add("## Share and release", "",
            "`mem_pointer_share` (a new handle, one more reference) then `mem_pointer_destroy` of it, on one container:",
            "made by the sharing thread (its owner counts with plain stores), or by another thread (every share and",
            "release is an atomic read-modify-write of the shared count).", "")
    rep.table(["threads", "ns per share + release"],
              [["1, its own container", fmt(own)], ["1, another thread's container", fmt(one)],
               ["2 (same container, another thread's)", fmt(two)]])
    rep.goal("share + release at most 10 ns (the owner's container)", own <= 10, f"{own:.1f} ns")
    rep.goal("share + release at most 10 ns (another thread's container)", one <= 10, f"{one:.1f} ns")

    rep.add("## Copy-on-write of a shared 4 KiB container", "",
            "libmemkit: share, `mem_pointer_write` (copies), destroy the copy. Peers: malloc + memcpy + free. ns.", "")
    rep.table(["libmemkit"] + PEERS, [[f"**{fmt(r.get('cow/4096', 'libmemkit'))}**"] +
                                      [fmt(r.get("cow/4096", p)) for p in PEERS]])


def refcount_section(rep):
    r = rep.r
    group = "refcount/256"
    rep.add("## Refcounted buffer", "",
            "A 256-byte buffer made and written, 4 more references taken, all 5 dropped (the last frees it).",
            "libmemkit counts handles (one per reference) and wipes on the last drop; GLib's `g_atomic_rc_box` and",
            "`GBytes` and a hand-rolled C11 atomic count over glibc's malloc do not wipe. ns per cycle.", "")
    names = ["libmemkit", "GLib rc box", "GBytes", "atomic + glibc"]
    rep.table(["contender", "ns", "libmemkit / contender"],
              [[n, fmt(r.get(group, n)), f"{r.ratio(group, 'libmemkit', n):.2f}x"] for n in names])
    box = r.ratio(group, "libmemkit", "GLib rc box")
    rep.goal("refcounted buffer at most 1.0x GLib's g_atomic_rc_box", box <= 1.0, f"{box:.2f}x")


def request_section(rep):
    r = rep.r
    group = "request"
    rep.add("## Per-request cycle", "",
            "32 allocations of 16-512 bytes (fixed seeded sizes), each touched, then everything given back. libmemkit:",
            "a request arena, whose release wipes every used byte. APR: one pool, `apr_pool_clear` per request.",
            "talloc: a `talloc_pool` of 16 KiB per request. malloc peers: 32 malloc / free. \"+ wipe\": a memset of",
            "each block before it is given back (what libmemkit does). Floor: bump allocation inline from one buffer",
            "and one memset of the used bytes; \"in 2 KiB pieces\": the same floor wiping as libmemkit's release does,",
            "in memset calls of at most 2 KiB (glibc's vector loop instead of `rep stosb`; see performance-analysis.md);",
            "\"no wipe\": the floor's allocations alone. libmemkit's \"acquire + release alone\": a request that",
            "allocates nothing. ns per request.", "")
    names = ["libmemkit", "libmemkit acquire + release alone", "bump + wipe (floor)", "bump + wipe in 2 KiB pieces",
             "bump, no wipe", "APR pool", "APR pool + wipe", "talloc pool", "talloc pool + wipe"]
    names += [n for p in PEERS for n in (p, p + " + wipe")]
    rep.table(["contender", "ns", "libmemkit / contender"],
              [[n, fmt(r.get(group, n)), f"{r.ratio(group, 'libmemkit', n):.2f}x"] for n in names if r.get(group, n)])
    apr = r.ratio(group, "libmemkit", "APR pool")
    floor = r.ratio(group, "libmemkit", "bump + wipe (floor)")
    rep.goal("per request faster than APR pools (libmemkit wiping, APR not)", apr < 1.0, f"{apr:.2f}x APR")
    rep.goal("per request within 1.1x of the inline bump + wipe floor", floor <= 1.1, f"{floor:.2f}x")


def server_sections(rep):
    r = rep.r
    rep.add("## Server traffic between threads", "",
            "**larson**: each thread keeps 1000 live objects of 64-256 B and replaces random ones; every 10,000",
            "operations it swaps its set with the one waiting in a shared mailbox, so objects made on one thread",
            "are freed on another. **xmalloc**: half the threads make 64-256 B objects and pass them in batches",
            "of 64 (one handoff per batch, as xmalloc-test does) to a consumer each, which frees them. libmemkit",
            "uses handles (`mem_pointer_create` + `allocate`,",
            "`mem_pointer_destroy`); the peers malloc and free. Million operations (larson) or objects (xmalloc)",
            "per second over all threads; 2 cores.", "")
    rows = []
    for workload in ("larson", "xmalloc"):
        for t in (2, 4):
            group = f"{workload}/{t}"
            mk = r.get(group, "libmemkit")
            g, m = r.ratio(group, "glibc", "libmemkit"), r.ratio(group, "mimalloc", "libmemkit")
            rows.append([f"{workload}, {t} threads", f"**{mops(mk)}**"] + [mops(r.get(group, p)) for p in PEERS] +
                        [f"{g:.2f}x", f"{m:.2f}x"])
            rep.goal(f"{workload} on {t} threads at least 1.0x glibc and 0.7x mimalloc", g >= 1.0 and m >= 0.7,
                     f"{g:.2f}x glibc, {m:.2f}x mimalloc")
    rep.table(["workload", "libmemkit"] + PEERS + ["vs glibc", "vs mimalloc"], rows)
    group = "replace/128"
    if r.get(group, "libmemkit"):
        rep.add("**replace/128**: larson's loop on one thread in one size class: 1000 live objects of 128 B, a",
                "random one replaced each time (nothing handed to another thread), so each page gets its blocks",
                "back one at a time. No goal. ns per replacement.", "")
        present = [p for p in PEERS if r.get(group, p)]
        rep.table(["libmemkit"] + present + [f"vs {p}" for p in present],
                  [[f"**{fmt(r.get(group, 'libmemkit'))}**"] + [fmt(r.get(group, p)) for p in present] +
                   [f"{r.ratio(group, 'libmemkit', p):.2f}x" for p in present]])


def malloc_section(rep):
    r = rep.r
    rep.add("## Malloc-shaped blocks", "",
            "A malloc/free pair of N bytes on T threads at once (`malloc/N/T`): `mem_malloc` + `mem_free` (which",
            "wipes) against each peer plain and with a `memset` of the block before free. ns per pair.", "")
    groups = sorted({g for (g, _) in r.ns if g.startswith("malloc/")},
                    key=lambda g: (int(g.split("/")[2]), int(g.split("/")[1])))
    rows = []
    for group in groups:
        mk = r.get(group, "libmemkit")
        mi, gl = r.ratio(group, "libmemkit", "mimalloc + memset"), r.ratio(group, "libmemkit", "glibc + memset")
        rows.append([group, f"**{fmt(mk)}**"] + [f"{fmt(r.get(group, p))} / {fmt(r.get(group, p + ' + memset'))}"
                                                 for p in PEERS] + [f"{mi:.2f}x", f"{gl:.2f}x"])
        rep.goal(f"{group}: within 1.3x of mimalloc + memset, faster than glibc + memset",
                 mi <= 1.3 and gl < 1.0, f"{mi:.2f}x mimalloc + memset, {gl:.2f}x glibc + memset")
    rep.table(["pair", "libmemkit"] + [f"{p} / + memset" for p in PEERS] + ["vs mimalloc + memset", "vs glibc + memset"],
              rows)


def preload_section(rep, path):
    if not os.path.exists(path):
        return
    with open(path) as f:
        data = json.load(f)
    names = list(dict.fromkeys(row["contender"] for row in data["rows"]))
    cell = {(row["workload"], row["contender"]): row for row in data["rows"]}
    rep.add("## The whole allocator replaced (LD_PRELOAD)", "",
            "mimalloc-bench's shapes on plain malloc/free (`bench/preload_shapes.c`), each allocator preloaded in a",
            "process of its own (libmemkit as `libmemkit_malloc.so`), run by `bench/preload_run.py`: million",
            f"operations per second and peak resident memory (MiB), medians of {data['rounds']} rounds, the",
            "contenders' order rotating. **larson**: 1000 live 16-512 B blocks per thread, random replacement, sets",
            "swapped between threads; **xmalloc**: producers pass batches of 64 blocks to consumers that free",
            "them; **cscratch**: cache-scratch (16 B objects written 1000 times each); **cfrac**: lists of 8-64 B",
            f"nodes, one thread. Load average before: {data['load_before'].split()[0]}, "
            f"after: {data['load_after'].split()[0]}.", "")
    rows = []
    for workload in dict.fromkeys(row["workload"] for row in data["rows"]):
        mk = cell[(workload, "libmemkit")]["mops"]
        rows.append([workload] + [f"{cell[(workload, n)]['mops']:.1f} ({cell[(workload, n)]['peak_kib'] / 1024:.1f})"
                                  for n in names] + [" / ".join(f"{mk / cell[(workload, n)]['mops']:.2f}x"
                                                                for n in names if n != "libmemkit")])
    rep.table(["workload"] + names + ["libmemkit / " + " / ".join(n for n in names if n != "libmemkit")], rows)


def memory_sections(rep):
    mem = rep.r.memory
    names = ["libmemkit"] + PEERS
    rep.add("## Resident memory", "",
            "Each figure from one run in a fresh process per contender.", "",
            "**Per live object**: 1,000,000 live 64-byte objects (libmemkit: a handle and its container each),",
            "resident bytes per object.", "")
    per = {n: mem.get(("per_object/64", n), {}).get("bytes_per_object") for n in names + ["GLib rc box"]}
    rep.table(["contender", "bytes per 64 B object"], [[n, f"{v:.0f}"] for n, v in per.items() if v is not None])
    ratio = per["libmemkit"] / per["glibc"]
    rep.goal("resident memory per live 64 B object at most 1.5x glibc's malloc(64)", ratio <= 1.5, f"{ratio:.2f}x")

    rep.add("**Producer/consumer growth**: the xmalloc workload on 2 threads over 5.9 million objects; how much",
            "the resident set grew, at its peak and at the end (MiB).", "")
    growth = {n: mem.get(("xmalloc_growth", n), {}) for n in names}
    rep.table(["contender", "peak growth", "growth at the end"],
              [[n, f"{g['peak_growth_mib']:.1f}", f"{g['growth_mib']:.1f}"] for n, g in growth.items() if g])
    mk, gl = growth["libmemkit"]["peak_growth_mib"], growth["glibc"]["peak_growth_mib"]
    # Below a few MiB the growth is noise (thread stacks, the first pages): count 4 MiB as the floor.
    rep.goal("producer/consumer memory growth at most 2x glibc's", mk <= 2 * max(gl, 4.0),
             f"{mk:.1f} MiB vs {gl:.1f} MiB")

    rep.add("**Churn**: a seeded churn of mixed sizes (64 B-128 KiB, 20,000 live, 400,000 replacements): resident",
            "KiB added while the working set is live, and after everything was freed.", "")
    churn = {n: mem.get(("churn", n), {}) for n in names}
    rep.table(["contender", "live working set (KiB)", "after freeing all (KiB)"],
              [[n, f"{c['live_kib']:.0f}", f"{c['after_free_kib']:.0f}"] for n, c in churn.items() if c])


def gnuplot(script):
    subprocess.run(["gnuplot"], input=script, text=True, check=True)


def plot(docs, name, rows, columns, xlabel, ylabel, logscale):
    data = os.path.join(docs, f".{name}.dat")
    with open(data, "w") as f:
        for x, values in rows:
            f.write(f"{x} " + " ".join(str(v) for v in values) + "\n")
    plots = ", ".join(f"'{data}' using 1:{i + 2} with linespoints title '{c}'" for i, c in enumerate(columns))
    gnuplot(f"set terminal png size 800,450; set output '{docs}/performance-{name}.png'; {logscale}"
            f"set xlabel '{xlabel}'; set ylabel '{ylabel}'; set key left top; plot {plots}\n")
    os.remove(data)


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: report.py RESULTS.json [MORE.json ...] DOCS_DIR")
    results = Results(sys.argv[1:-1])
    docs = sys.argv[-1]
    rep = Report(results)
    pointer_sections(rep)
    refcount_section(rep)
    request_section(rep)
    server_sections(rep)
    memory_sections(rep)
    malloc_section(rep)
    preload_section(rep, os.path.join(os.path.dirname(sys.argv[1]), "preload.json"))
    raw = results.raw
    names = ["libmemkit"] + PEERS
    plot(docs, "lifecycle", [(s, [results.get(f"lifecycle/{s}", n) for n in names]) for s in (64, 1024, 16384)],
         names, "size (bytes)", "ns per lifecycle", "set logscale xy;")
    plot(docs, "threads", [(t, [1e3 / results.get(f"threads/1024/{t}", n) for n in names]) for t in (1, 2, 4)],
         names, "threads (2 cores)", "million lifecycles/s (1 KiB)", "set xtics (1,2,4);")
    head = ["# libmemkit performance", "",
            "Written by `bash bench/run.sh` (`bench/compare`, then `bench/report.py`) from one run on one machine.",
            "Every contender runs in the same process; each round runs every case of a workload one after the",
            f"other (the order rotating from round to round); each figure is the median of {raw['rounds']} rounds",
            f"from {raw['processes']} process(es) of `bench/compare`: on a shared VM the whole machine's speed",
            "can change by up to 1.7x from one minute to the next, every contender alike (see",
            "performance-analysis.md), so no single process decides. Each ratio (\"libmemkit / ...\", \"vs ...\",",
            "and every goal's) is the median of the ratios of rounds that ran back to back, which cancels those",
            "changes; it can differ from the ratio of the two medians shown.",
            "jemalloc, mimalloc and tcmalloc are loaded with `dlopen(RTLD_LOCAL)` and called through their own",
            "entry points, so none of them replaces the process's malloc (glibc's, which GLib, APR and talloc use).",
            "", f"Machine: {raw['cpus']} CPUs ({raw['cpu']}), Linux {raw['kernel']}. "
            f"Load average before: {raw['load_before'].split()[0]}, after: {raw['load_after'].split()[0]}."]
    if raw["missing_peers"]:
        head.append("Left out (did not load): " + ", ".join(raw["missing_peers"]) + ".")
    goals = ["", "## Goals", "", "| goal | verdict | measured |", "| --- | --- | --- |"]
    goals += [f"| {t} | {'met' if m else '**missed**'} | {v} |" for t, m, v in rep.goals]
    goals += ["", "Every miss is explained in [performance-analysis.md](performance-analysis.md).", ""]
    with open(os.path.join(docs, "performance.md"), "w") as f:
        f.write("\n".join(head + goals + rep.lines) + "\n")


if __name__ == "__main__":
    main()
