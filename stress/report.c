/*
 * report.c - the end-of-run report: operations by kind with throughput and latency
 * (p50, p99, p99.9 and the worst), the pool's counters, the library's system memory,
 * injected failures, every invariant with its verdict, as text or JSON.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"

bool all_invariants_held(void) {
    for (unsigned i = 0; i < INVARIANTS; i++) {
        if (atomic_load(&violations[i]) != 0) {
            return false;
        }
    }
    return true;
}

typedef struct Totals {
    uint64_t ops[MAX_KINDS];
    uint64_t max_ns[MAX_KINDS];
    Histogram merged[MAX_KINDS];
    uint64_t all;
    uint64_t failed;
} Totals;

static void add_up(const Mode* mode, const Worker* workers, Totals* t) {
    memset(t, 0, sizeof *t);
    for (unsigned w = 0; w < opt.threads; w++) {
        for (unsigned k = 0; k < mode->kinds; k++) {
            t->ops[k] += workers[w].ops[k];
            t->max_ns[k] = workers[w].max_ns[k] > t->max_ns[k] ? workers[w].max_ns[k] : t->max_ns[k];
            histogram_merge(&t->merged[k], &workers[w].latency[k]);
        }
        t->failed += workers[w].failed_calls;
    }
    for (unsigned k = 0; k < mode->kinds; k++) {
        t->all += t->ops[k];
    }
}

static void report_json(const Mode* mode, const Totals* t, double elapsed, uint64_t fingerprint, const MemPoolStats* s,
                        uint64_t snapshots) {
    printf("{\"mode\":\"%s\",\"threads\":%u,\"seconds\":%.3f,\"seed\":%" PRIu64 ",\"ops\":%" PRIu64
           ",\"ops_per_second\":%.0f,\"snapshots\":%" PRIu64 ",\"stopped_by_signal\":%s,",
           mode->name, opt.threads, elapsed, opt.seed, t->all, (double)t->all / elapsed, snapshots,
           monitor_stopped_by_signal() ? "true" : "false");
    printf("\"fingerprint\":\"%016" PRIx64 "\",\"kinds\":{", fingerprint);
    for (unsigned k = 0; k < mode->kinds; k++) {
        printf("%s\"%s\":{\"ops\":%" PRIu64 ",\"p50_ns\":%" PRIu64 ",\"p99_ns\":%" PRIu64 ",\"p999_ns\":%" PRIu64
               ",\"max_ns\":%" PRIu64 "}",
               k ? "," : "", mode->kind_names[k], t->ops[k], histogram_quantile(&t->merged[k], 0.5),
               histogram_quantile(&t->merged[k], 0.99), histogram_quantile(&t->merged[k], 0.999), t->max_ns[k]);
    }
    printf("},\"injected_failures\":%llu,\"oom_handler_calls\":%llu,\"failed_calls\":%" PRIu64
           ",\"cache_hits\":%" PRIu64 ",\"cache_misses\":%" PRIu64 ",\"snapshot_waits\":%" PRIu64
           ",\"snapshot_wait_max_ns\":%" PRIu64 ",\"peak_page_bytes\":%zu,\"library_peak_bytes\":%zu,\"invariants\":{",
           (unsigned long long)atomic_load(&injected_failures), (unsigned long long)atomic_load(&oom_handler_calls),
           t->failed, s->cache_hits, s->cache_misses, s->snapshot_waits, s->snapshot_wait_max_ns, s->peak_bytes,
           library_peak_bytes());
    for (unsigned i = 0; i < INVARIANTS; i++) {
        printf("%s\"%s\":%llu", i ? "," : "", invariant_names[i], (unsigned long long)atomic_load(&violations[i]));
    }
    printf("},\"verdict\":\"%s\"}\n", all_invariants_held() ? "PASS" : "FAIL");
}

void report(const Mode* mode, Worker* workers, double elapsed, uint64_t fingerprint, const MemPoolStats* s,
            uint64_t snapshots) {
    Totals t;
    add_up(mode, workers, &t);
    if (opt.json) {
        report_json(mode, &t, elapsed, fingerprint, s, snapshots);
        return;
    }
    printf("libmemkit stress: %s mode, %u threads, %.2f s, seed %" PRIu64 ", sizes %zu-%zu, %u slots%s%s\n", mode->name,
           opt.threads, elapsed, opt.seed, opt.min_size, opt.max_size, opt.slots,
           MEM_THREAD_SAFE ? "" : " (single-threaded build)",
           monitor_stopped_by_signal() ? " (stopped early by a signal)" : "");
    printf("  %" PRIu64 " operations, %.0f ops/s; fingerprint %016" PRIx64 "\n", t.all, (double)t.all / elapsed,
           fingerprint);
    if (opt.snapshots) {
        printf("  %" PRIu64 " snapshots (validate + stats + trim) ran back to back during the run\n", snapshots);
    }
    printf("  %-8s %12s %10s %10s %10s %10s\n", "kind", "ops", "p50 ns", "p99 ns", "p99.9 ns", "max ns");
    for (unsigned k = 0; k < mode->kinds; k++) {
        printf("  %-8s %12" PRIu64 " %10" PRIu64 " %10" PRIu64 " %10" PRIu64 " %10" PRIu64 "\n", mode->kind_names[k],
               t.ops[k], histogram_quantile(&t.merged[k], 0.5), histogram_quantile(&t.merged[k], 0.99),
               histogram_quantile(&t.merged[k], 0.999), t.max_ns[k]);
    }
    printf("  library system memory: peak %.1f MiB\n", (double)library_peak_bytes() / (1 << 20));
    printf("  pool: peak %zu bytes of pages, reuse %" PRIu64 " hits / %" PRIu64 " misses, thread cache %" PRIu64
           " hits / %" PRIu64 " misses, %" PRIu64 " page exchanges\n",
           s->peak_bytes, s->reuse_hits, s->reuse_misses, s->cache_hits, s->cache_misses, s->cache_exchanges);
    printf("  owners kept waiting by a snapshot: %" PRIu64 " times, the longest %.3f ms\n", s->snapshot_waits,
           (double)s->snapshot_wait_max_ns / 1e6);
    if (opt.fail_every) {
        unsigned long long injected = atomic_load(&injected_failures);
        printf("  injected failures: %llu (every %" PRIu64 "th system allocation), OOM handler called %llu times\n"
               "    %" PRIu64 " surfaced as calls failing cleanly with MEM_ERR_OUT_OF_MEMORY (the harness went on)\n"
               "    %llu absorbed inside the library (a release waited for readers instead of deferring,\n"
               "    a registry kept its larger array, a thread ran without its cache)\n",
               injected, opt.fail_every, (unsigned long long)atomic_load(&oom_handler_calls), t.failed,
               injected > t.failed ? injected - t.failed : 0);
    }
    printf("  invariants:\n");
    for (unsigned i = 0; i < INVARIANTS; i++) {
        unsigned long long v = atomic_load(&violations[i]);
        printf("    %-8s %s", v ? "VIOLATED" : "held", invariant_names[i]);
        if (v) {
            printf(" (%llu violations)", v);
        }
        printf("\n");
    }
    printf("verdict: %s\n", all_invariants_held() ? "PASS - every invariant held" : "FAIL - invariants violated");
}
