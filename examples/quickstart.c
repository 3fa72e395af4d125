/* The seed README's Quick Start, verbatim. */
#include "memkit.h"
#include <stdio.h>

int main(void) {
    MemoryPool pool;
    if (!mem_pool_init(&pool, 16)) {
        fprintf(stderr, "Failed to initialize memory pool.\n");
        return 1;
    }

    MemoryPointer* buffer = mem_pointer_create("data_buffer", 1024);
    if (!mem_pointer_allocate(buffer, 1024, &pool)) {
        fprintf(stderr, "Allocation failed.\n");
        return 1;
    }

    // Use allocated memory
    int* data = (int*)buffer->container->data;
    data[0] = 42;
    printf("Allocated %zu bytes, stored: %d.\n", 
           buffer->container->size, data[0]);

    // Cleanup
    mem_pointer_destroy(buffer, &pool);
    mem_pool_destroy(&pool);
    return 0;
}
