/*
 * ids_dump.c - runs a fixed single-threaded sequence of pool operations and prints
 * every container id; ids_deterministic_test.sh runs it twice (two processes,
 * different address layouts) and requires identical output.
 */
#include <inttypes.h>
#include <stdio.h>

#include "memkit.h"

int main(void) {
    MemoryPool pools[2];
    for (int p = 0; p < 2; p++) {
        if (!mem_pool_init(&pools[p], 8)) {
            return 1;
        }
    }
    MemoryPointer* ptrs[32];
    for (int i = 0; i < 32; i++) {
        ptrs[i] = mem_pointer_create("id", 0);
        if (!mem_pointer_allocate(ptrs[i], 16 + (size_t)i * 48, &pools[i % 2])) {
            return 1;
        }
    }
    for (int i = 0; i < 32; i += 3) {
        mem_pointer_destroy(ptrs[i], &pools[i % 2]);
        ptrs[i] = mem_pointer_create("again", 0);
        if (!mem_pointer_allocate(ptrs[i], 40, &pools[i % 2])) { /* reuses an orphan */
            return 1;
        }
    }
    for (int i = 0; i < 32; i++) {
        printf("%d %016" PRIx64 " %p\n", i, mem_pointer_id(ptrs[i]), (void*)ptrs[i]->container);
        mem_pointer_destroy(ptrs[i], &pools[i % 2]);
    }
    mem_pool_destroy(&pools[0]);
    mem_pool_destroy(&pools[1]);
    return 0;
}
