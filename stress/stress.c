/*
 * stress.c - the libmemkit stress harness: worker threads hammer a shared table of
 * pointer slots (share, copy-on-write writes, destroy and re-create, cross-thread
 * destroys), read an RCU-published pointer while others publish it, and run
 * per-request arena bursts. Every payload checks itself; every violation is
 * counted against a named invariant; the exit status is 0 only if all held.
 */
#define _DEFAULT_SOURCE 1

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "histogram.h"
#include "memkit.h"
#include "options.h"
#include "payload.h"

#define HELD_PER_THREAD 16       /* shares a worker keeps before checking and dropping them */
#define CONFIG_SLOT UINT32_MAX   /* the slot id of the RCU-published payload */

enum invariant {
    INV_TORN_READ,       /* an RCU reader saw a torn or mixed buffer */
    INV_ISOLATION,       /* a write was visible through a handle that must not see it */
    INV_LOST_WRITE,      /* a handle that must see a write did not */
    INV_WIPED_LIVE,      /* a live handle read wiped memory */
    INV_VERSION_ORDER,   /* an RCU reader saw versions go backwards */
    INV_ARENA_INTACT,    /* request-arena allocations kept their bytes */
    INV_ERROR_CODES,     /* every failed call reported MEM_ERR_OUT_OF_MEMORY */
    INV_FAILURES_SEEN,   /* every injected failure reached the OOM handler */
    INV_REFCOUNTS,       /* each slot's refcount is exactly 1 once shares are gone */
    INV_NO_LEAK,         /* no live container or byte at the end */
    INV_VALIDATE,        /* mem_pool_validate passed, during the run and at the end */
    INVARIANTS
};

static const char* const invariant_names[INVARIANTS] = {
    "no torn reads under RCU",        "COW isolation (no write leaks to other handles)",
    "no lost writes",                 "no wiped memory through a live handle",
    "RCU versions never go backwards", "request arena bytes intact",
    "failed calls report OUT_OF_MEMORY", "every injected failure handled",
    "refcounts balance",              "no leak at the end",
    "mem_pool_validate passes",
};

typedef struct Slot {
    pthread_mutex_t lock;
    MemoryPointer* ptr; /* NULL after a failed re-create */
    uint64_t version;
    size_t size;
} Slot;

typedef struct Held {
    MemoryPointer* ptr;
    uint32_t slot;
    uint64_t version;
    size_t size;
} Held;

/* Shares handed from one worker to another for checking and destroying. */
typedef struct Handoff {
    pthread_mutex_t lock;
    Held* items;
    size_t count;
    size_t capacity;
} Handoff;

typedef struct Worker {
    pthread_t thread;
    unsigned index;
    uint64_t rng;
    uint64_t ops_target;
    uint64_t ops[OP_KINDS];
    uint64_t failed_calls;
    Histogram latency[OP_KINDS];
    Held held[HELD_PER_THREAD];
    unsigned held_count;
    uint64_t last_config_version;
    unsigned char* scratch;
} Worker;

static StressOptions opt;
static MemoryPool pool;
static Slot* slots;
static Handoff handoff = {.lock = PTHREAD_MUTEX_INITIALIZER};
static MemoryPointer* config;
static pthread_mutex_t publish_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t config_version;
static atomic_ullong violations[INVARIANTS];
static atomic_ullong injected_failures, oom_handler_calls, allocator_calls, total_ops;
static atomic_bool stop_flag;
static unsigned mix_total;

/* ---- injected failures ------------------------------------------------------- */

static void* failing_alloc(void* context, size_t size) {
    (void)context;
    if (atomic_fetch_add(&allocator_calls, 1) % opt.fail_every == opt.fail_every - 1) {
        atomic_fetch_add(&injected_failures, 1);
        return NULL;
    }
    return malloc(size);
}

static void* failing_realloc(void* context, void* block, size_t size) {
    (void)context;
    if (atomic_fetch_add(&allocator_calls, 1) % opt.fail_every == opt.fail_every - 1) {
        atomic_fetch_add(&injected_failures, 1);
        return NULL;
    }
    return realloc(block, size);
}

static void plain_free(void* context, void* block) {
    (void)context;
    free(block);
}

static void count_oom(size_t requested) {
    (void)requested;
    atomic_fetch_add(&oom_handler_calls, 1);
}

/* ---- helpers ------------------------------------------------------------------ */

static uint64_t next_random(Worker* w) {
    w->rng ^= w->rng >> 12;
    w->rng ^= w->rng << 25;
    w->rng ^= w->rng >> 27;
    return w->rng * UINT64_C(0x2545F4914F6CDD1D);
}

static size_t random_size(Worker* w) { return opt.min_size + next_random(w) % (opt.max_size - opt.min_size + 1); }

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void violated(enum invariant which) { atomic_fetch_add(&violations[which], 1); }

/* A library call failed: with injected failures that is expected, but only as OOM. */
static void call_failed(Worker* w) {
    w->failed_calls++;
    if (opt.fail_every == 0 || mem_last_error() != MEM_ERR_OUT_OF_MEMORY) {
        violated(INV_ERROR_CODES);
    }
}

static void check_payload(const void* data, size_t size, uint32_t slot, uint64_t version, enum invariant if_changed) {
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

/* Creates and fills a fresh pointer for `slot` (slot locked). */
static void refill_slot(Worker* w, uint32_t index) {
    Slot* s = &slots[index];
    size_t size = random_size(w);
    MemoryPointer* p = mem_pointer_create("slot", size);
    if (p == NULL) {
        call_failed(w);
        return;
    }
    if (!mem_pointer_allocate(p, size, &pool)) {
        call_failed(w);
        mem_pointer_destroy(p, &pool);
        return;
    }
    s->ptr = p;
    s->size = size;
    s->version++;
    payload_fill(p->container->data, size, index, w->index, s->version);
}

/* Checks a held share still shows what it showed when taken, then destroys it. */
static void drop_held(Worker* w, Held h) {
    check_payload(mem_pointer_data(h.ptr), h.size, h.slot, h.version, INV_ISOLATION);
    if (!mem_pointer_destroy(h.ptr, &pool)) {
        call_failed(w);
    }
}

static void pass_to_another_thread(Held h) {
    pthread_mutex_lock(&handoff.lock);
    if (handoff.count == handoff.capacity) {
        size_t capacity = handoff.capacity ? handoff.capacity * 2 : 64;
        Held* grown = realloc(handoff.items, capacity * sizeof *grown);
        if (grown == NULL) {
            pthread_mutex_unlock(&handoff.lock);
            fprintf(stderr, "stress: out of memory for the handoff queue\n");
            exit(3);
        }
        handoff.items = grown;
        handoff.capacity = capacity;
    }
    handoff.items[handoff.count++] = h;
    pthread_mutex_unlock(&handoff.lock);
}

static bool take_from_another_thread(Held* out) {
    pthread_mutex_lock(&handoff.lock);
    bool got = handoff.count > 0;
    if (got) {
        *out = handoff.items[--handoff.count];
    }
    pthread_mutex_unlock(&handoff.lock);
    return got;
}

/* ---- operations ------------------------------------------------------------------ */

/* Picks a random slot and locks it. */
static Slot* lock_random_slot(Worker* w, uint32_t* index) {
    *index = (uint32_t)(next_random(w) % opt.slots);
    Slot* s = &slots[*index];
    pthread_mutex_lock(&s->lock);
    return s;
}

static void op_share(Worker* w) {
    uint32_t index;
    Slot* s = lock_random_slot(w, &index);
    if (s->ptr == NULL) {
        refill_slot(w, index);
        pthread_mutex_unlock(&s->lock);
        return;
    }
    MemoryPointer* share = mem_pointer_share(s->ptr, "share");
    Held h = {share, index, s->version, s->size};
    pthread_mutex_unlock(&s->lock);
    if (share == NULL) {
        call_failed(w);
        return;
    }
    check_payload(mem_pointer_data(share), h.size, index, h.version, INV_LOST_WRITE);
    if (w->held_count == HELD_PER_THREAD) {
        Held oldest = w->held[0];
        memmove(&w->held[0], &w->held[1], (HELD_PER_THREAD - 1) * sizeof(Held));
        w->held_count--;
        if (next_random(w) % 4 == 0) {
            pass_to_another_thread(oldest);
        } else {
            drop_held(w, oldest);
        }
    }
    w->held[w->held_count++] = h;
    Held foreign;
    if (next_random(w) % 4 == 0 && take_from_another_thread(&foreign)) {
        drop_held(w, foreign); /* cross-thread destroy */
    }
}

static void op_write(Worker* w) {
    uint32_t index;
    Slot* s = lock_random_slot(w, &index);
    if (s->ptr == NULL) {
        refill_slot(w, index);
    } else {
        void* data = mem_pointer_write(s->ptr, &pool);
        if (data == NULL) {
            call_failed(w);
        } else {
            /* The writable view (a copy when shared) must carry the current version. */
            check_payload(data, s->size, index, s->version, INV_LOST_WRITE);
            s->version++;
            payload_fill(data, s->size, index, w->index, s->version);
        }
    }
    pthread_mutex_unlock(&s->lock);
}

static void op_destroy(Worker* w) {
    uint32_t index;
    Slot* s = lock_random_slot(w, &index);
    if (s->ptr != NULL) {
        check_payload(mem_pointer_data(s->ptr), s->size, index, s->version, INV_LOST_WRITE);
        if (!mem_pointer_destroy(s->ptr, &pool)) {
            call_failed(w);
        }
        s->ptr = NULL;
    }
    refill_slot(w, index);
    pthread_mutex_unlock(&s->lock);
}

static void op_read(Worker* w) {
    if (next_random(w) % 8 == 0) { /* one in eight reads publishes a new version */
        size_t size = random_size(w);
        pthread_mutex_lock(&publish_lock);
        payload_fill(w->scratch, size, CONFIG_SLOT, w->index, config_version + 1);
        if (mem_pointer_publish(config, w->scratch, size, &pool)) {
            config_version++;
            if (opt.threads == 1) {
                /* Single-threaded runs are reproducible: the deferred release must
                 * happen at the same point of the sequence every time. */
                mem_rcu_barrier();
            }
        } else {
            call_failed(w);
        }
        pthread_mutex_unlock(&publish_lock);
        return;
    }
    size_t size = 0;
    const Payload* p = mem_pointer_read_lock(config, &size);
    if (p == NULL) {
        violated(INV_WIPED_LIVE);
        return;
    }
    switch (payload_check(p, size, CONFIG_SLOT)) {
    case PAYLOAD_OK:
        if (p->version < w->last_config_version) {
            violated(INV_VERSION_ORDER);
        }
        w->last_config_version = p->version;
        break;
    case PAYLOAD_WIPED:
        violated(INV_WIPED_LIVE);
        break;
    default:
        violated(INV_TORN_READ);
    }
    mem_pointer_read_unlock(config);
}

static bool arena_burst(Worker* w, MemoryArena* arena, unsigned count) {
    unsigned char* blocks[32];
    size_t sizes[32];
    for (unsigned i = 0; i < count; i++) {
        sizes[i] = 16 + next_random(w) % 497;
        blocks[i] = mem_arena_alloc(arena, sizes[i]);
        if (blocks[i] == NULL) {
            call_failed(w);
            return true;
        }
        memset(blocks[i], (int)(i + 1), sizes[i]);
    }
    for (unsigned i = 0; i < count; i++) {
        for (size_t b = 0; b < sizes[i]; b += 7) {
            if (blocks[i][b] != (unsigned char)(i + 1)) {
                return false;
            }
        }
    }
    return true;
}

static void op_arena(Worker* w) {
    MemoryArena* request = mem_request_arena_acquire();
    if (request == NULL) {
        call_failed(w);
        return;
    }
    bool intact = arena_burst(w, request, 1 + (unsigned)(next_random(w) % 32));
    MemoryArena* nested = mem_request_arena_acquire();
    if (nested == NULL) {
        call_failed(w);
    } else {
        intact = arena_burst(w, nested, 4) && intact;
        if (nested == request || !mem_request_arena_release(nested)) {
            intact = false;
        }
    }
    if (!mem_request_arena_release(request) || !intact) {
        violated(INV_ARENA_INTACT);
    }
}

static void (*const operations[OP_KINDS])(Worker*) = {op_share, op_write, op_destroy, op_read, op_arena};

static unsigned pick_op(Worker* w) {
    unsigned r = (unsigned)(next_random(w) % mix_total);
    for (unsigned k = 0; k < OP_KINDS; k++) {
        if (r < opt.mix[k]) {
            return k;
        }
        r -= opt.mix[k];
    }
    return OP_READ;
}

static void* worker_main(void* arg) {
    Worker* w = arg;
    uint64_t deadline = opt.ops ? 0 : now_ns() + (uint64_t)(opt.seconds * 1e9);
    for (uint64_t n = 0;; n++) {
        if (opt.ops ? n >= w->ops_target : ((n & 63) == 0 && (now_ns() >= deadline || atomic_load(&stop_flag)))) {
            break;
        }
        unsigned kind = pick_op(w);
        uint64_t start = now_ns();
        operations[kind](w);
        histogram_record(&w->latency[kind], now_ns() - start);
        w->ops[kind]++;
        if ((n & 255) == 255) {
            atomic_fetch_add(&total_ops, 256);
        }
    }
    while (w->held_count > 0) {
        drop_held(w, w->held[--w->held_count]);
    }
    return NULL;
}

/* ---- monitor: a status line a second on a terminal, validate during traffic --------- */

static void* monitor_main(void* arg) {
    (void)arg;
    bool tty = isatty(STDOUT_FILENO) && !opt.json;
    uint64_t start = now_ns(), last_ops = 0;
    while (!atomic_load(&stop_flag)) {
        usleep(200000);
        if (atomic_load(&stop_flag)) {
            break;
        }
        if (!mem_pool_validate(&pool)) {
            violated(INV_VALIDATE);
        }
        uint64_t ops = atomic_load(&total_ops);
        MemPoolStats s;
        if (tty && mem_pool_stats(&pool, &s)) {
            uint64_t hits = s.cache_hits, all = s.cache_hits + s.cache_misses;
            printf("\r%6.1fs  %10.0f ops/s  live %7zu  orphans %7zu  cache hit %5.1f%%   ",
                   (double)(now_ns() - start) / 1e9, (double)(ops - last_ops) * 5.0, s.live_containers,
                   s.orphaned_containers, all ? 100.0 * (double)hits / (double)all : 0.0);
            fflush(stdout);
        }
        last_ops = ops;
    }
    if (tty) {
        printf("\n");
    }
    return NULL;
}

/* ---- setup, teardown, report ---------------------------------------------------------- */

static uint64_t fingerprint(void) {
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (unsigned i = 0; i < opt.slots; i++) {
        uint64_t parts[3] = {slots[i].version, slots[i].size, slots[i].ptr ? mem_pointer_id(slots[i].ptr) : 0};
        for (unsigned k = 0; k < 3; k++) {
            h = (h ^ parts[k]) * UINT64_C(0x100000001b3);
        }
    }
    return (h ^ config_version) * UINT64_C(0x100000001b3);
}

static void teardown_and_check(Worker* workers) {
    Held h;
    while (take_from_another_thread(&h)) {
        drop_held(&workers[0], h);
    }
    for (unsigned i = 0; i < opt.slots; i++) {
        if (slots[i].ptr != NULL && mem_pointer_refcount(slots[i].ptr) != 1) {
            violated(INV_REFCOUNTS);
        }
    }
}

static void destroy_everything(void) {
    for (unsigned i = 0; i < opt.slots; i++) {
        if (slots[i].ptr != NULL) {
            mem_pointer_destroy(slots[i].ptr, &pool);
        }
        pthread_mutex_destroy(&slots[i].lock);
    }
    mem_pointer_destroy(config, &pool);
    mem_rcu_barrier();
    MemPoolStats s;
    if (!mem_pool_stats(&pool, &s) || s.live_containers != 0 || s.live_bytes != 0) {
        violated(INV_NO_LEAK);
    }
    if (!mem_pool_validate(&pool)) {
        violated(INV_VALIDATE);
    }
}

static void report(Worker* workers, double elapsed, uint64_t print_fingerprint, MemPoolStats* s) {
    uint64_t ops[OP_KINDS] = {0}, all = 0, failed = 0;
    Histogram merged[OP_KINDS];
    memset(merged, 0, sizeof merged);
    for (unsigned t = 0; t < opt.threads; t++) {
        for (unsigned k = 0; k < OP_KINDS; k++) {
            ops[k] += workers[t].ops[k];
            histogram_merge(&merged[k], &workers[t].latency[k]);
        }
        failed += workers[t].failed_calls;
    }
    for (unsigned k = 0; k < OP_KINDS; k++) {
        all += ops[k];
    }
    bool ok = true;
    for (unsigned i = 0; i < INVARIANTS; i++) {
        ok = ok && atomic_load(&violations[i]) == 0;
    }
    if (opt.json) {
        printf("{\"threads\":%u,\"seconds\":%.3f,\"seed\":%" PRIu64 ",\"ops\":%" PRIu64 ",\"ops_per_second\":%.0f,",
               opt.threads, elapsed, opt.seed, all, (double)all / elapsed);
        printf("\"fingerprint\":\"%016" PRIx64 "\",\"kinds\":{", print_fingerprint);
        for (unsigned k = 0; k < OP_KINDS; k++) {
            printf("%s\"%s\":{\"ops\":%" PRIu64 ",\"p50_ns\":%" PRIu64 ",\"p99_ns\":%" PRIu64 ",\"p999_ns\":%" PRIu64
                   "}",
                   k ? "," : "", stress_op_names[k], ops[k], histogram_quantile(&merged[k], 0.5),
                   histogram_quantile(&merged[k], 0.99), histogram_quantile(&merged[k], 0.999));
        }
        printf("},\"injected_failures\":%llu,\"oom_handler_calls\":%llu,\"failed_calls\":%" PRIu64
               ",\"cache_hits\":%" PRIu64 ",\"cache_misses\":%" PRIu64 ",\"invariants\":{",
               (unsigned long long)atomic_load(&injected_failures), (unsigned long long)atomic_load(&oom_handler_calls),
               failed, s->cache_hits, s->cache_misses);
        for (unsigned i = 0; i < INVARIANTS; i++) {
            printf("%s\"%s\":%llu", i ? "," : "", invariant_names[i], (unsigned long long)atomic_load(&violations[i]));
        }
        printf("},\"verdict\":\"%s\"}\n", ok ? "PASS" : "FAIL");
        return;
    }
    printf("libmemkit stress: %u threads, %.2f s, seed %" PRIu64 ", sizes %zu-%zu, %u slots%s\n", opt.threads,
           elapsed, opt.seed, opt.min_size, opt.max_size, opt.slots, MEM_THREAD_SAFE ? "" : " (single-threaded build)");
    printf("  %" PRIu64 " operations, %.0f ops/s; fingerprint %016" PRIx64 "\n", all, (double)all / elapsed,
           print_fingerprint);
    printf("  %-8s %12s %10s %10s %10s\n", "kind", "ops", "p50 ns", "p99 ns", "p99.9 ns");
    for (unsigned k = 0; k < OP_KINDS; k++) {
        printf("  %-8s %12" PRIu64 " %10" PRIu64 " %10" PRIu64 " %10" PRIu64 "\n", stress_op_names[k], ops[k],
               histogram_quantile(&merged[k], 0.5), histogram_quantile(&merged[k], 0.99),
               histogram_quantile(&merged[k], 0.999));
    }
    printf("  pool: peak %zu bytes, reuse %" PRIu64 " hits / %" PRIu64 " misses, thread cache %" PRIu64
           " hits / %" PRIu64 " misses, %" PRIu64 " batch exchanges\n",
           s->peak_bytes, s->reuse_hits, s->reuse_misses, s->cache_hits, s->cache_misses, s->cache_exchanges);
    if (opt.fail_every) {
        unsigned long long injected = atomic_load(&injected_failures);
        printf("  injected failures: %llu (every %" PRIu64 "th system allocation), OOM handler called %llu times\n"
               "    %" PRIu64 " surfaced as calls failing cleanly with MEM_ERR_OUT_OF_MEMORY (the harness went on)\n"
               "    %llu absorbed inside the library (a publish waited for readers instead of deferring,\n"
               "    a registry kept its larger array, a thread ran without its cache)\n",
               injected, opt.fail_every, (unsigned long long)atomic_load(&oom_handler_calls), failed,
               injected > failed ? injected - failed : 0);
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
    printf("verdict: %s\n", ok ? "PASS - every invariant held" : "FAIL - invariants violated");
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
    for (unsigned k = 0; k < OP_KINDS; k++) {
        mix_total += opt.mix[k];
    }
    if (getenv("STRESS_LOG") == NULL) mem_set_log_sink(NULL, NULL); /* expected misuse is counted, not printed */
    mem_set_oom_handler(count_oom);
    if (!mem_pool_init(&pool, opt.slots * 2u) || (slots = calloc(opt.slots, sizeof *slots)) == NULL ||
        (config = mem_pointer_create("config", opt.max_size)) == NULL) {
        fprintf(stderr, "stress: setup failed: %s\n", mem_strerror(mem_last_error()));
        return 3;
    }
    Worker* workers = calloc(opt.threads, sizeof *workers);
    unsigned char* first_config = malloc(opt.max_size);
    if (workers == NULL || first_config == NULL) {
        fprintf(stderr, "stress: out of memory\n");
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
    for (unsigned i = 0; i < opt.slots; i++) {
        pthread_mutex_init(&slots[i].lock, NULL);
        refill_slot(&workers[0], i);
    }
    payload_fill(first_config, opt.min_size, CONFIG_SLOT, 0, 0);
    if (!mem_pointer_publish(config, first_config, opt.min_size, &pool)) {
        fprintf(stderr, "stress: first publish failed\n");
        return 3;
    }
    free(first_config);
    if (opt.fail_every) { /* from here on, every N-th system allocation fails */
        MemAllocator failing = {failing_alloc, failing_realloc, plain_free, NULL};
        mem_set_allocator(&failing);
    }
    pthread_t monitor;
    bool monitoring = MEM_THREAD_SAFE && pthread_create(&monitor, NULL, monitor_main, NULL) == 0;
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
    if (monitoring) {
        pthread_join(monitor, NULL);
    }
    teardown_and_check(workers);
    mem_rcu_barrier(); /* liburcu's callback thread is done with the library too */
    mem_set_allocator(NULL); /* the end-of-run checks run without injected failures */
    if (atomic_load(&injected_failures) != atomic_load(&oom_handler_calls)) {
        violated(INV_FAILURES_SEEN);
    }
    uint64_t print_fingerprint = fingerprint();
    destroy_everything();
    MemPoolStats s;
    mem_pool_stats(&pool, &s);
    report(workers, elapsed, print_fingerprint, &s);
    mem_pool_destroy(&pool);
    for (unsigned t = 0; t < opt.threads; t++) {
        free(workers[t].scratch);
    }
    free(workers);
    free(slots);
    free(handoff.items);
    for (unsigned i = 0; i < INVARIANTS; i++) {
        if (atomic_load(&violations[i]) != 0) {
            return 1;
        }
    }
    return 0;
}
