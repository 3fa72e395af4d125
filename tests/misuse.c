/*
 * misuse.c - one misuse of memory the library handed out, chosen by argv[1], that no
 * API call can refuse: tests/misuse_visible_test.sh runs each under AddressSanitizer
 * (library built with -fsanitize=address) and under valgrind (library built with
 * MEM_VALGRIND=1) and expects the tool to report it. "clean" does the same work
 * without the misuse and must run silently.
 */
#include <stdio.h>
#include <string.h>

#include "memkit.h"

/* Keeps the compiler from proving the accesses below dead. */
static volatile unsigned char sink;

static int stale_write(MemoryPool* pool, int misuse) {
    MemoryPointer* p = mem_pointer_create("stale", 64);
    if (p == NULL || !mem_pointer_allocate(p, 64, pool)) {
        return 1;
    }
    unsigned char* data = mem_pointer_write(p, pool);
    if (!mem_pointer_destroy(p, pool)) {
        return 1;
    }
    if (misuse) {
        data[0] = 1; /* a data pointer kept after the last destroy */
    }
    return 0;
}

static int overflow(MemoryPool* pool, int misuse) {
    MemoryPointer* p = mem_pointer_create("short", 60);
    if (p == NULL || !mem_pointer_allocate(p, 60, pool)) {
        return 1;
    }
    unsigned char* data = mem_pointer_write(p, pool);
    data[misuse ? 90 : 59] = 1; /* byte 90 of a 60-byte container */
    return mem_pointer_destroy(p, pool) ? 0 : 1;
}

static int arena_overflow(int misuse) {
    MemoryArena* arena = mem_arena_create(4096);
    unsigned char* block = arena != NULL ? mem_arena_alloc(arena, 16) : NULL;
    if (block == NULL) {
        return 1;
    }
    memset(block, 0xAB, misuse ? 24 : 16); /* 24 bytes over a 16-byte block */
    return mem_arena_destroy(arena) ? 0 : 1;
}

static int read_after_reset(int misuse) {
    MemoryArena* arena = mem_arena_create(4096);
    unsigned char* block = arena != NULL ? mem_arena_alloc(arena, 100) : NULL;
    if (block == NULL || !mem_arena_reset(arena)) {
        return 1;
    }
    if (misuse) {
        sink = block[10];
    }
    return mem_arena_destroy(arena) ? 0 : 1;
}

static int read_after_release(int misuse) {
    MemoryArena* request = mem_request_arena_acquire();
    unsigned char* block = request != NULL ? mem_arena_alloc(request, 100) : NULL;
    if (block == NULL || !mem_request_arena_release(request)) {
        return 1;
    }
    if (misuse) {
        sink = block[10];
    }
    return 0;
}

int main(int argc, char** argv) {
    const char* what = argc > 1 ? argv[1] : "";
    int misuse = argc > 2 && strcmp(argv[2], "clean") == 0 ? 0 : 1;
    MemoryPool pool;
    if (!mem_pool_init(&pool, 8)) {
        return 1;
    }
    int status = 2;
    if (strcmp(what, "stale-write") == 0) {
        status = stale_write(&pool, misuse);
    } else if (strcmp(what, "overflow") == 0) {
        status = overflow(&pool, misuse);
    } else if (strcmp(what, "arena-overflow") == 0) {
        status = arena_overflow(misuse);
    } else if (strcmp(what, "read-after-reset") == 0) {
        status = read_after_reset(misuse);
    } else if (strcmp(what, "read-after-release") == 0) {
        status = read_after_release(misuse);
    } else {
        fprintf(stderr, "usage: %s stale-write|overflow|arena-overflow|read-after-reset|read-after-release [clean]\n",
                argv[0]);
    }
    mem_pool_destroy(&pool);
    return status;
}
