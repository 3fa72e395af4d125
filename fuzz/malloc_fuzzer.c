/*
 * malloc_fuzzer.c - libFuzzer target for the malloc-shaped interface (malloc.h): reads
 * its input as a sequence of mem_pool_malloc / calloc / aligned_alloc / realloc /
 * free calls over two pools and the default pool, with sizes and alignments drawn from
 * the input (0, huge, overflowing and not powers of two included), misuse (interior
 * pointers, second frees) and injected system-allocation failures. A shadow model
 * holds what every live block must read back; any difference, a wrong error or errno,
 * a misaligned or non-zero new block, a failed validation or a leak aborts. Built
 * thread-safe and with MEM_THREAD_SAFE=0 (fuzz/run.sh); its corpus is replayed as a
 * test (fuzz/BUILD.bazel).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_support.h"
#include "memkit.h"

#define POOLS 2   /* and the default pool, index POOLS */
#define BLOCKS 32

/* A failed allocation: NULL with ENOMEM and an out-of-memory or size error, or EINVAL
 * and a bad alignment. */
static void check_failure(void) {
    MemError e = mem_last_error();
    if (errno == EINVAL) {
        CHECK(e == MEM_ERR_BAD_ALIGNMENT || e == MEM_ERR_INVALID_POINTER);
    } else {
        CHECK(errno == ENOMEM && (e == MEM_ERR_OUT_OF_MEMORY || e == MEM_ERR_SIZE_OVERFLOW));
    }
}

/* ---- the shadow model */

typedef struct Block {
    unsigned char* at; /* NULL: empty slot */
    size_t size;
    size_t alignment;
    uint8_t fill;
    int pool;
} Block;

static MemoryPool pools[POOLS];
static Block blocks[BLOCKS];
static size_t live[POOLS + 1];

static MemoryPool* pool_of(int index) { return index == POOLS ? mem_default_pool() : &pools[index]; }

/* True when `size` bytes at `at` all read `value`. Compared 4 KiB at a time with
 * memcmp, not byte by byte: the fuzzing build traces every comparison in this file,
 * and byte loops over a few large blocks took half of a run's time. */
static bool reads_all(const unsigned char* at, size_t size, uint8_t value) {
    static unsigned char pattern[4096];
    memset(pattern, value, size < sizeof pattern ? size : sizeof pattern); /* what is compared */
    for (size_t done = 0; done < size; done += sizeof pattern) {
        size_t piece = size - done < sizeof pattern ? size - done : sizeof pattern;
        if (memcmp(at + done, pattern, piece) != 0) {
            return false;
        }
    }
    return true;
}

static void check_block(const Block* b) { CHECK(reads_all(b->at, b->size, b->fill)); }

/* A new block from a successful call: aligned, usable, zero throughout; then filled. */
static void adopt(Block* b, unsigned char* at, size_t size, size_t alignment, int pool, uint8_t fill) {
    CHECK(((uintptr_t)at % (alignment > 16 ? alignment : 16)) == 0);
    CHECK(mem_usable_size(at) >= size);
    CHECK(reads_all(at, size, 0));
    memset(at, fill, size);
    *b = (Block){at, size, alignment, fill, pool};
    live[pool]++;
}

static void release(Block* b) {
    check_block(b);
    mem_free(b->at);
    live[b->pool]--;
    *b = (Block){0};
}

static void op_allocate(Input* in, Block* b) {
    int pool = take8(in) % (POOLS + 1);
    uint8_t how = take8(in) % 3;
    size_t size = take_size(in), alignment = 0;
    unsigned char* at;
    errno = 0;
    if (how == 0) {
        at = mem_pool_malloc(pool_of(pool), size);
    } else if (how == 1) {
        size_t count = 1 + take8(in) % 8;
        size_t total;
        bool overflows = __builtin_mul_overflow(count, size, &total);
        at = mem_pool_calloc(pool_of(pool), count, size);
        if (overflows) {
            CHECK(at == NULL && errno == ENOMEM && mem_last_error() == MEM_ERR_SIZE_OVERFLOW);
            return;
        }
        size = total;
    } else {
        uint8_t a = take8(in);
        alignment = a < 240 ? (size_t)1 << (a % 16) : (size_t)a; /* sometimes not a power of two */
        at = mem_pool_aligned_alloc(pool_of(pool), alignment, size);
        if (alignment & (alignment - 1)) {
            CHECK(at == NULL && errno == EINVAL && mem_last_error() == MEM_ERR_BAD_ALIGNMENT);
            return;
        }
    }
    if (at == NULL) {
        CHECK(size > ((size_t)1 << 32) || fail_every != 0);
        check_failure();
        return;
    }
    adopt(b, at, size, alignment, pool, (uint8_t)(1 + take8(in) % 255));
}

static void op_realloc(Input* in, Block* b) {
    size_t size = take_size(in);
    int pool = take8(in) % (POOLS + 1);
    errno = 0;
    unsigned char* at = mem_pool_realloc(pool_of(pool), b->at, size);
    if (at == NULL) {
        CHECK(size > ((size_t)1 << 32) || fail_every != 0);
        check_failure();
        check_block(b); /* a failed realloc leaves the block */
        return;
    }
    CHECK(reads_all(at, size < b->size ? size : b->size, b->fill));
    CHECK(mem_usable_size(at) >= size);
    if (at != b->at) { /* moved: into `pool` */
        live[b->pool]--;
        live[pool]++;
        b->pool = pool;
    }
    b->at = at;
    b->size = size;
    b->alignment = 0;
    memset(at, b->fill, size);
}

static void op_misuse(Input* in, Block* b) {
    if (take8(in) & 1 && mem_usable_size(b->at) >= 48) {
        mem_free(b->at + 16); /* an interior pointer: refused, the block stays */
        CHECK(mem_last_error() == MEM_ERR_INVALID_POINTER);
        check_block(b);
        return;
    }
    if (b->alignment > 32) {
        /* Its own header lies in the freed payload: a second free reads released
         * memory, which AddressSanitizer reports (malloc.h); not a refusal to test. */
        return;
    }
    unsigned char* at = b->at;
    release(b);
    mem_free(at); /* a second free, nothing allocated in between: refused */
    CHECK(mem_last_error() == MEM_ERR_INVALID_POINTER);
    errno = 0;
    CHECK(mem_realloc(at, 8) == NULL && errno == EINVAL);
}

static void check_pools(void) {
    for (int p = 0; p < POOLS; p++) {
        MemPoolStats s;
        CHECK(mem_pool_validate(&pools[p]) && mem_pool_stats(&pools[p], &s));
        CHECK(s.live_containers == live[p]);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static bool once = false;
    static size_t default_live_before;
    if (!once) {
        mem_set_log_sink(NULL, NULL);
        CHECK(mem_default_pool() != NULL); /* set up before failures are injected */
        MemAllocator a = {fuzz_alloc, fuzz_realloc, fuzz_free, NULL};
        mem_set_allocator(&a);
        once = true;
    }
    MemPoolStats s;
    CHECK(mem_pool_stats(mem_default_pool(), &s));
    default_live_before = s.live_containers;
    fail_every = 0;
    for (int p = 0; p < POOLS; p++) {
        CHECK(mem_pool_init(&pools[p], 0));
    }
    Input in = {data, size};
    while (in.size > 0) {
        Block* b = &blocks[take8(&in) % BLOCKS];
        switch (take8(&in) % 8) {
        case 0: case 1: case 2:
            if (b->at == NULL) op_allocate(&in, b);
            break;
        case 3:
            if (b->at != NULL) op_realloc(&in, b);
            break;
        case 4: case 5:
            if (b->at != NULL) release(b);
            break;
        case 6:
            if (b->at != NULL) op_misuse(&in, b);
            break;
        default: {
            uint8_t v = take8(&in);
            fail_every = v < 160 ? 0 : 2 + v % 8;
            calls = 0;
            check_pools();
            break;
        }
        }
    }
    fail_every = 0; /* the end: every block checked and freed, nothing left */
    for (int i = 0; i < BLOCKS; i++) {
        if (blocks[i].at != NULL) {
            release(&blocks[i]);
        }
    }
    check_pools();
    for (int p = 0; p < POOLS; p++) {
        mem_pool_destroy(&pools[p]);
    }
    CHECK(mem_pool_validate(mem_default_pool()) && mem_pool_stats(mem_default_pool(), &s));
    CHECK(s.live_containers == default_live_before);
    /* What this input left cached goes back: the next input's validation would read
     * every byte of it again (megabytes after a few large blocks, 19 inputs a second),
     * and an input should not depend on the ones before it. */
    mem_pool_trim(mem_default_pool());
    return 0;
}
