/*
 * ab_main.c - bench/ab_same_process.sh's driver: two builds of the library (a: before,
 * b: after) in one process, their loops interleaved round by round, so that a change
 * of the whole VM's speed hits both alike. Prints, per loop, each build's median ns
 * per operation and the median of the rounds' b/a ratios, with how many rounds b won.
 * Loops: share + release, the lifecycle of SIZE bytes, a request of 32 blocks, the
 * refcounted 256-byte buffer (create, 4 shares, 5 destroys), a mem_malloc + mem_free
 * pair of SIZE bytes.
 * Usage: ab_main [ROUNDS] [SIZE]
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "memkit.h"

void* volatile ab_sink;

void a_share_release(MemoryPointer* own, MemoryPool* pool, long n);
void b_share_release(MemoryPointer* own, MemoryPool* pool, long n);
void a_lifecycle(MemoryPool* pool, long n, size_t size);
void b_lifecycle(MemoryPool* pool, long n, size_t size);
MemoryPointer* a_setup(MemoryPool* pool);
MemoryPointer* b_setup(MemoryPool* pool);
void a_request(const size_t* sizes, int count, long n);
void b_request(const size_t* sizes, int count, long n);
void a_refcount(MemoryPool* pool, long n);
void b_refcount(MemoryPool* pool, long n);
void a_malloc_pairs(long n, size_t size);
void b_malloc_pairs(long n, size_t size);
void a_teardown(MemoryPool* pool, MemoryPointer* own);
void b_teardown(MemoryPool* pool, MemoryPointer* own);

#define MAX_ROUNDS 201
#define OPS 1000000L
#define REQUESTS 200000L
#define REQUEST_BLOCKS 32

static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static int by_value(const void* x, const void* y) {
    double a = *(const double*)x, b = *(const double*)y;
    return (a > b) - (a < b);
}

static double median(const double* values, int n) {
    double sorted[MAX_ROUNDS];
    for (int i = 0; i < n; i++) {
        sorted[i] = values[i];
    }
    qsort(sorted, (size_t)n, sizeof sorted[0], by_value);
    return sorted[n / 2];
}

static void report(const char* name, const double* a, const double* b, int rounds) {
    double ratio[MAX_ROUNDS];
    int won = 0;
    for (int r = 0; r < rounds; r++) {
        ratio[r] = b[r] / a[r];
        won += ratio[r] < 1.0;
    }
    printf("%-16s a %7.2f ns  b %7.2f ns  b/a %.3f (b faster in %d of %d rounds)\n", name, median(a, rounds),
           median(b, rounds), median(ratio, rounds), won, rounds);
}

/* One build's loops, its pool and pointer, and its times per round. */
typedef struct {
    void (*share_release)(MemoryPointer* own, MemoryPool* pool, long n);
    void (*lifecycle)(MemoryPool* pool, long n, size_t size);
    void (*request)(const size_t* sizes, int count, long n);
    void (*refcount)(MemoryPool* pool, long n);
    void (*malloc_pairs)(long n, size_t size);
    MemoryPool pool;
    MemoryPointer* own;
    double share[MAX_ROUNDS], life[MAX_ROUNDS], request_ns[MAX_ROUNDS], refcount_ns[MAX_ROUNDS];
    double malloc_ns[MAX_ROUNDS];
} Build;

static void run_round(Build* build, int round, size_t size, const size_t* sizes) {
    double t0 = now_ns();
    build->share_release(build->own, &build->pool, OPS);
    double t1 = now_ns();
    build->lifecycle(&build->pool, OPS, size);
    double t2 = now_ns();
    build->request(sizes, REQUEST_BLOCKS, REQUESTS);
    double t3 = now_ns();
    build->refcount(&build->pool, REQUESTS);
    double t4 = now_ns();
    build->malloc_pairs(OPS, size);
    build->share[round] = (t1 - t0) / OPS;
    build->life[round] = (t2 - t1) / OPS;
    build->request_ns[round] = (t3 - t2) / REQUESTS;
    build->refcount_ns[round] = (t4 - t3) / REQUESTS;
    build->malloc_ns[round] = (now_ns() - t4) / OPS;
}

int main(int argc, char** argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 21;
    long size = argc > 2 ? atol(argv[2]) : 64;
    if (rounds < 1 || rounds > MAX_ROUNDS || size < 1) {
        fprintf(stderr, "usage: ab_main [ROUNDS (1-%d)] [SIZE]\n", MAX_ROUNDS);
        return 2;
    }
    static Build a = {.share_release = a_share_release,
                      .lifecycle = a_lifecycle,
                      .request = a_request,
                      .refcount = a_refcount,
                      .malloc_pairs = a_malloc_pairs};
    static Build b = {.share_release = b_share_release,
                      .lifecycle = b_lifecycle,
                      .request = b_request,
                      .refcount = b_refcount,
                      .malloc_pairs = b_malloc_pairs};
    a.own = a_setup(&a.pool);
    b.own = b_setup(&b.pool);
    /* bench/compare's request sizes are its own generator's; any 32 of 16-512 B do. */
    size_t sizes[REQUEST_BLOCKS];
    unsigned seed = 2026;
    for (int k = 0; k < REQUEST_BLOCKS; k++) {
        seed = seed * 1103515245u + 12345u;
        sizes[k] = 16 + (seed >> 8) % 497;
    }
    for (int r = 0; r < rounds; r++) {
        /* The order alternates, so neither build always runs right after the other. */
        run_round(r % 2 == 0 ? &a : &b, r, (size_t)size, sizes);
        run_round(r % 2 == 0 ? &b : &a, r, (size_t)size, sizes);
    }
    char name[32];
    snprintf(name, sizeof name, "lifecycle/%ld", size);
    report("share_release", a.share, b.share, rounds);
    report(name, a.life, b.life, rounds);
    report("request", a.request_ns, b.request_ns, rounds);
    report("refcount/256", a.refcount_ns, b.refcount_ns, rounds);
    snprintf(name, sizeof name, "malloc/%ld", size);
    report(name, a.malloc_ns, b.malloc_ns, rounds);
    a_teardown(&a.pool, a.own);
    b_teardown(&b.pool, b.own);
    return 0;
}
