/*
 * stress.c - the libmemkit stress harness: worker threads run one of the modes
 * (mixed.c, pipeline.c, exchange.c, owner.c) against one pool, every payload checks
 * itself, every violation is counted against a named invariant, and the exit status
 * is 0 only if all held. A monitor thread validates the pool during the run (or, with
 * --snapshots, runs validate, stats and trim in a loop) and shows progress.
 *
 * Exit status: 0 every invariant held; 1 an invariant was violated; 2 a bad option;
 * 3 the harness could not set itself up (out of memory, threads).
 */
#define _DEFAULT_SOURCE 1

#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "payload.h"

StressOptions opt;
MemoryPool pool;
atomic_ullong violations[INVARIANTS];
atomic_ullong injected_failures, oom_handler_calls, allocator_calls, total_ops;
atomic_bool stop_flag;

const char* const invariant_names[INVARIANTS] = {
    "no torn reads under RCU",        "COW isolation (no write leaks to other handles)",
    "no lost writes",                 "no wiped memory through a live handle",
    "RCU versions never go backwards", "request arena bytes intact",
    "payloads intact across threads",  "library memory bounded",
    "failed calls report OUT_OF_MEMORY",
    "every injected failure handled",  "refcounts balance",
    "no leak at the end",              "mem_pool_validate passes",
};

/* ---- the library's system allocator: counted, and failing on demand ----------------- */

static atomic_llong system_bytes, system_peak;
static atomic_bool injecting;

static bool injection_due(void) {
    if (atomic_load(&injecting) && atomic_fetch_add(&allocator_calls, 1) % opt.fail_every == opt.fail_every - 1) {
        atomic_fetch_add(&injected_failures, 1);
        return true;
    }
    return false;
}

static void counted(void* block, long long sign) {
    if (block == NULL) {
        return;
    }
    long long now = atomic_fetch_add(&system_bytes, sign * (long long)malloc_usable_size(block)) +
                    sign * (long long)malloc_usable_size(block);
    long long peak = atomic_load(&system_peak);
    while (now > peak && !atomic_compare_exchange_weak(&system_peak, &peak, now)) {
    }
}

static void* counting_alloc(void* context, size_t size) {
    (void)context;
    void* block = injection_due() ? NULL : malloc(size);
    counted(block, 1);
    return block;
}

static void* counting_realloc(void* context, void* block, size_t size) {
    (void)context;
    if (injection_due()) {
        return NULL;
    }
    counted(block, -1);
    void* resized = realloc(block, size);
    counted(resized != NULL ? resized : block, 1);
    return resized;
}

static void counting_free(void* context, void* block) {
    (void)context;
    counted(block, -1);
    free(block);
}

size_t library_peak_bytes(void) { return (size_t)atomic_load(&system_peak); }

size_t live_objects_bound(size_t objects) {
    return ((size_t)64 << 20) + (size_t)16 * (objects + 64u * opt.threads) * (opt.max_size + 256);
}

static void count_oom(size_t requested) {
    (void)requested;
    atomic_fetch_add(&oom_handler_calls, 1);
}

/* ---- helpers shared with the modes ----------------------------------------------- */

uint64_t next_random(Worker* w) {
    w->rng ^= w->rng >> 12;
    w->rng ^= w->rng << 25;
    w->rng ^= w->rng >> 27;
    return w->rng * UINT64_C(0x2545F4914F6CDD1D);
}

size_t random_size(Worker* w) { return opt.min_size + next_random(w) % (opt.max_size - opt.min_size + 1); }

uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void violated(enum invariant which) { atomic_fetch_add(&violations[which], 1); }

void call_failed(Worker* w) {
    w->failed_calls++;
    if (opt.fail_every == 0 || mem_last_error() != MEM_ERR_OUT_OF_MEMORY) {
        violated(INV_ERROR_CODES);
    }
}

void check_payload(const void* data, size_t size, uint32_t slot, uint64_t version, enum invariant if_changed) {
    switch (payload_check(data, size, slot)) {
    case PAYLOAD_WIPED:
        violated(INV_WIPED_LIVE);
        break;
    case PAYLOAD_TORN:
    case PAYLOAD_FOREIGN:
        violated(if_changed);
        break;
    case PAYLOAD_OK:
        if (((const Payload*)data)->version != version) {
            violated(if_changed);
        }
        break;
    }
}

MemoryPointer* make_payload(Worker* w, const char* name, uint32_t slot, uint64_t version, size_t* size) {
    *size = random_size(w);
    MemoryPointer* p = mem_pointer_create(name, *size);
    if (p == NULL) {
        call_failed(w);
        return NULL;
    }
    if (!mem_pointer_allocate(p, *size, &pool)) {
        call_failed(w);
        mem_pointer_destroy(p, &pool);
        return NULL;
    }
    payload_fill(p->container->data, *size, slot, w->index, version);
    return p;
}

/* ---- the workers ---------------------------------------------------------------- */

static const Mode* mode;

static void* worker_main(void* arg) {
    Worker* w = arg;
    uint64_t deadline = opt.ops ? 0 : now_ns() + (uint64_t)(opt.seconds * 1e9);
    for (uint64_t n = 0;; n++) {
        bool stop = atomic_load(&stop_flag) || monitor_stopped_by_signal();
        if (opt.ops ? n >= w->ops_target || stop : ((n & 63) == 0 && (now_ns() >= deadline || stop))) {
            break;
        }
        uint64_t start = now_ns();
        unsigned kind = mode->op(w);
        uint64_t took = now_ns() - start;
        histogram_record(&w->latency[kind], took);
        if (took > w->max_ns[kind]) {
            w->max_ns[kind] = took;
        }
        w->ops[kind]++;
        if ((n & 255) == 255) {
            atomic_fetch_add(&total_ops, 256);
        }
    }
    if (mode->worker_done != NULL) {
        mode->worker_done(w);
    }
    return NULL;
}

static const Mode* mode_of(StressMode m) {
    static const Mode* const modes[] = {&mode_mixed, &mode_pipeline, &mode_exchange, &mode_owner};
    return modes[m];
}

int main(int argc, char** argv) {
    int parsed = stress_parse_options(argc, argv, &opt);
    if (parsed != 0) {
        return parsed == 1 ? 0 : 2;
    }
    if (!MEM_THREAD_SAFE && opt.threads > 1) {
        fprintf(stderr, "stress: this build has MEM_THREAD_SAFE=0: use --threads 1\n");
        return 2;
    }
    mode = mode_of(opt.mode);
    if (getenv("STRESS_LOG") == NULL) {
        mem_set_log_sink(NULL, NULL); /* expected misuse is counted, not printed */
    }
    mem_set_oom_handler(count_oom);
    MemAllocator counting = {counting_alloc, counting_realloc, counting_free, NULL};
    mem_set_allocator(&counting); /* before anything is allocated: every block is counted */
    Worker* workers = calloc(opt.threads, sizeof *workers);
    if (!mem_pool_init(&pool, opt.slots * 2u) || workers == NULL) {
        fprintf(stderr, "stress: setup failed: %s\n", mem_strerror(mem_last_error()));
        return 3;
    }
    for (unsigned t = 0; t < opt.threads; t++) {
        workers[t].index = t;
        workers[t].rng = (opt.seed + 1) * UINT64_C(0x9E3779B97F4A7C15) + t * UINT64_C(0xBF58476D1CE4E5B9);
        workers[t].ops_target = opt.ops / opt.threads + (t == 0 ? opt.ops % opt.threads : 0);
        workers[t].scratch = malloc(opt.max_size);
        if (workers[t].scratch == NULL) {
            return 3;
        }
    }
    if (mode->setup != NULL && !mode->setup(workers)) {
        fprintf(stderr, "stress: %s setup failed: %s\n", mode->name, mem_strerror(mem_last_error()));
        return 3;
    }
    /* From here on, every N-th system allocation fails (with --fail-every). */
    atomic_store(&injecting, opt.fail_every != 0);
    monitor_install_signals();
    pthread_t monitor;
    bool monitoring = MEM_THREAD_SAFE && monitor_start(&monitor);
    uint64_t start = now_ns();
    for (unsigned t = 0; t < opt.threads; t++) {
        if (pthread_create(&workers[t].thread, NULL, worker_main, &workers[t]) != 0) {
            fprintf(stderr, "stress: cannot start thread %u\n", t);
            return 3;
        }
    }
    for (unsigned t = 0; t < opt.threads; t++) {
        pthread_join(workers[t].thread, NULL);
    }
    double elapsed = (double)(now_ns() - start) / 1e9;
    atomic_store(&stop_flag, true);
    uint64_t snapshots = 0;
    if (monitoring) {
        void* result;
        pthread_join(monitor, &result);
        snapshots = (uint64_t)(uintptr_t)result;
    }
    mem_rcu_barrier(); /* liburcu's callback thread is done with the library too */
    atomic_store(&injecting, false); /* the end-of-run checks run without injected failures */
    if (mode->memory_bound != NULL && library_peak_bytes() > mode->memory_bound()) {
        violated(INV_BOUNDED);
    }
    if (atomic_load(&injected_failures) != atomic_load(&oom_handler_calls)) {
        violated(INV_FAILURES_SEEN);
    }
    uint64_t fingerprint = mode->fingerprint != NULL ? mode->fingerprint() : 0;
    if (mode->teardown != NULL) {
        mode->teardown(workers);
    }
    mem_rcu_barrier();
    MemPoolStats s;
    if (!mem_pool_stats(&pool, &s) || s.live_containers != 0 || s.live_bytes != 0) {
        violated(INV_NO_LEAK);
    }
    if (!mem_pool_validate(&pool)) {
        violated(INV_VALIDATE);
    }
    report(mode, workers, elapsed, fingerprint, &s, snapshots);
    mem_pool_destroy(&pool);
    for (unsigned t = 0; t < opt.threads; t++) {
        free(workers[t].scratch);
    }
    free(workers);
    return all_invariants_held() ? 0 : 1;
}
