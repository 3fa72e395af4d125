/*
 * preload_shapes.c - mimalloc-bench's workload shapes written against plain malloc and
 * free, to be run under each allocator's LD_PRELOAD (bench/preload_run.sh):
 *   larson  T threads each keep 1000 live 16-512 B blocks and replace random ones;
 *           every 10,000 replacements a thread swaps its whole set with a shared slot,
 *           so blocks are freed by threads that did not make them.
 *   xmalloc T/2 producers make 16-512 B blocks in batches of 64 that T/2 consumers free.
 *   cscratch cache-scratch: each thread repeatedly allocates a 16 B object, writes it
 *           1000 times and frees it (passive false sharing: the first objects came from
 *           the main thread).
 *   cfrac   many small objects: a big-number-like workload of 8-64 B nodes built into
 *           lists and freed, one thread.
 * Prints "<shape> <threads> <operations> <seconds> <peak RSS kB>". Usage:
 *   preload_shapes SHAPE THREADS OPERATIONS
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t next_random(uint64_t* state) {
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return *state * 0x2545F4914F6CDD1Dull;
}

static void* must(void* block) {
    if (block == NULL) {
        fprintf(stderr, "preload_shapes: out of memory\n");
        exit(1);
    }
    return block;
}

static long ops_per_thread;
static int thread_count;

/* ---- larson */
#define LARSON_LIVE 1000
static _Atomic(void**) larson_exchange;

static void** larson_set(uint64_t* seed) {
    void** set = must(calloc(LARSON_LIVE, sizeof *set));
    for (int i = 0; i < LARSON_LIVE; i++) set[i] = must(malloc(16 + next_random(seed) % 497));
    return set;
}

static void larson_free(void** set) {
    for (int i = 0; i < LARSON_LIVE; i++) free(set[i]);
    free(set);
}

static void* larson_thread(void* arg) {
    uint64_t seed = (uintptr_t)arg * 7919 + 1;
    void** set = larson_set(&seed);
    for (long op = 0; op < ops_per_thread; op++) {
        uint64_t r = next_random(&seed);
        size_t slot = r % LARSON_LIVE;
        free(set[slot]);
        set[slot] = must(malloc(16 + (r >> 20) % 497));
        ((char*)set[slot])[0] = (char)op;
        if (op % 10000 == 9999) set = atomic_exchange(&larson_exchange, set); /* never empty: seeded */
    }
    larson_free(set);
    return NULL;
}

/* ---- xmalloc */
#define XM_BATCH 64
#define XM_SLOTS 256
static _Atomic(void**) xm_slots[XM_SLOTS];
static atomic_int xm_producers_left;

static void* xm_producer(void* arg) {
    uint64_t seed = (uintptr_t)arg * 31 + 7;
    size_t at = (uintptr_t)arg;
    for (long made = 0; made < ops_per_thread; made += XM_BATCH) {
        void** batch = must(malloc(XM_BATCH * sizeof *batch));
        for (int i = 0; i < XM_BATCH; i++) {
            batch[i] = must(malloc(16 + next_random(&seed) % 497));
            memset(batch[i], 1, 16);
        }
        for (;; at = (at + 1) % XM_SLOTS) {
            void** expected = NULL;
            if (atomic_compare_exchange_weak(&xm_slots[at], &expected, batch)) break;
        }
    }
    atomic_fetch_sub(&xm_producers_left, 1);
    return NULL;
}

static void* xm_consumer(void* arg) {
    size_t at = (uintptr_t)arg;
    for (;;) {
        bool idle = true;
        for (int n = 0; n < XM_SLOTS; n++, at = (at + 1) % XM_SLOTS) {
            void** batch = atomic_exchange(&xm_slots[at], NULL);
            if (batch == NULL) continue;
            idle = false;
            for (int i = 0; i < XM_BATCH; i++) free(batch[i]);
            free(batch);
        }
        if (idle && atomic_load(&xm_producers_left) == 0) {
            bool empty = true;
            for (int n = 0; n < XM_SLOTS; n++) empty = empty && atomic_load(&xm_slots[n]) == NULL;
            if (empty) return NULL;
        }
    }
}

/* ---- cache-scratch */
static void* cscratch_thread(void* arg) {
    char* object = arg;
    free(object);
    for (long op = 0; op < ops_per_thread; op++) {
        volatile char* o = must(malloc(16));
        for (int w = 0; w < 1000; w++) o[w % 16] = (char)w;
        free((void*)o);
    }
    return NULL;
}

/* ---- cfrac-like: numbers as lists of small digit nodes */
typedef struct Digit {
    struct Digit* next;
    uint32_t value;
    char pad[];
} Digit;

static Digit* number(uint64_t* seed, int digits) {
    Digit* head = NULL;
    for (int i = 0; i < digits; i++) {
        Digit* d = must(malloc(sizeof(Digit) + next_random(seed) % 49));
        d->value = (uint32_t)next_random(seed);
        d->next = head;
        head = d;
    }
    return head;
}

static Digit* add(const Digit* a, const Digit* b, uint64_t* seed) {
    Digit* head = NULL;
    uint64_t carry = 0;
    while (a || b || carry) {
        uint64_t sum = carry + (a ? a->value : 0) + (b ? b->value : 0);
        Digit* d = must(malloc(sizeof(Digit) + next_random(seed) % 49));
        d->value = (uint32_t)sum;
        carry = sum >> 32;
        d->next = head;
        head = d;
        a = a ? a->next : NULL;
        b = b ? b->next : NULL;
    }
    return head;
}

static void drop(Digit* d) {
    while (d) {
        Digit* next = d->next;
        free(d);
        d = next;
    }
}

static long cfrac(long ops) {
    uint64_t seed = 99;
    Digit* acc = number(&seed, 8);
    long made = 0;
    while (made < ops) {
        Digit* x = number(&seed, 4 + (int)(next_random(&seed) % 28));
        Digit* sum = add(acc, x, &seed);
        long n = 0;
        for (Digit* d = sum; d; d = d->next) n++;
        made += n * 2;
        drop(x);
        drop(acc);
        acc = sum;
        if (n > 64) {
            drop(acc);
            acc = number(&seed, 8);
        }
    }
    drop(acc);
    return made;
}

static long peak_rss_kb(void) {
    FILE* f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = 0;
    while (f && fgets(line, sizeof line, f)) {
        if (strncmp(line, "VmHWM:", 6) == 0) kb = strtol(line + 6, NULL, 10);
    }
    if (f) fclose(f);
    return kb;
}

static void run_threads(void* (*body)(void*), int count, void** args) {
    pthread_t* threads = must(malloc((size_t)count * sizeof *threads));
    for (int t = 0; t < count; t++) pthread_create(&threads[t], NULL, body, args ? args[t] : (void*)(uintptr_t)t);
    for (int t = 0; t < count; t++) pthread_join(threads[t], NULL);
    free(threads);
}

int main(int argc, char** argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: preload_shapes larson|xmalloc|cscratch|cfrac THREADS OPERATIONS\n");
        return 2;
    }
    const char* shape = argv[1];
    thread_count = atoi(argv[2]);
    long ops = atol(argv[3]);
    if (thread_count < 1 || ops < 1) return 2;
    ops_per_thread = ops / thread_count;
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    if (strcmp(shape, "larson") == 0) {
        uint64_t seed = 3;
        atomic_store(&larson_exchange, larson_set(&seed));
        run_threads(larson_thread, thread_count, NULL);
        larson_free(atomic_load(&larson_exchange));
    } else if (strcmp(shape, "xmalloc") == 0) {
        int producers = thread_count > 1 ? thread_count / 2 : 1;
        ops_per_thread = ops / producers;
        atomic_store(&xm_producers_left, producers);
        pthread_t* threads = must(malloc(2 * (size_t)producers * sizeof *threads));
        for (int t = 0; t < producers; t++) {
            pthread_create(&threads[2 * t], NULL, xm_producer, (void*)(uintptr_t)(t * 37));
            pthread_create(&threads[2 * t + 1], NULL, xm_consumer, (void*)(uintptr_t)(t * 53));
        }
        for (int t = 0; t < 2 * producers; t++) pthread_join(threads[t], NULL);
        free(threads);
    } else if (strcmp(shape, "cscratch") == 0) {
        void** objects = must(malloc((size_t)thread_count * sizeof *objects));
        for (int t = 0; t < thread_count; t++) objects[t] = must(malloc(16));
        run_threads(cscratch_thread, thread_count, objects);
        free(objects);
    } else if (strcmp(shape, "cfrac") == 0) {
        ops = cfrac(ops);
    } else {
        fprintf(stderr, "preload_shapes: unknown shape %s\n", shape);
        return 2;
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    double seconds = (double)(end.tv_sec - start.tv_sec) + (double)(end.tv_nsec - start.tv_nsec) / 1e9;
    printf("%s %d %ld %.6f %ld\n", shape, thread_count, ops, seconds, peak_rss_kb());
    return 0;
}
