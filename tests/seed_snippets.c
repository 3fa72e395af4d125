/*
 * seed_snippets.c - the seed README's arena, debug and OOM-handler snippets, each
 * pasted unchanged into a function so the tests can run them
 * (seed_snippets_test.cc). The configuration snippet is seed_config.c.
 */
#define DEBUG_MEMORY_MANAGER 1

#include "memkit.h"
#include <stdio.h>

#include "seed_snippets.h"

int seed_arena_snippet(void) {
    MemoryArena* arena = mem_arena_create(4096);
    int* array = mem_arena_alloc(arena, 100 * sizeof(int));
    if (array == NULL) {
        return 1;
    }
    array[99] = 7;
    // All allocations freed with single call:
    mem_arena_destroy(arena);
    return 0;
}

int seed_debug_snippet(void) {
    MemoryPool pool;
    if (!mem_pool_init(&pool, 16)) {
        return 1;
    }
    MemoryPointer* p = mem_pointer_create("debugged", 64);
    if (!mem_pointer_allocate(p, 64, &pool)) {
        return 1;
    }
#ifdef DEBUG_MEMORY_MANAGER
mem_pool_validate(&pool);      /* integrity check */
mem_pool_dump(&pool, true);    /* detailed diagnostics */
#endif
    int ok = mem_pool_validate(&pool) ? 0 : 1;
    mem_pointer_destroy(p, &pool);
    mem_pool_destroy(&pool);
    return ok;
}

int seed_oom_handler_calls = 0;

void my_oom_handler(size_t requested) {
    fprintf(stderr, "CRITICAL: Failed to allocate %zu bytes.\n", requested);
    // Emergency cleanup or alerting
    seed_oom_handler_calls++;
}

void seed_install_oom_handler(void) {
mem_set_oom_handler(my_oom_handler);
}
