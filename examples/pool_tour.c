/*
 * pool_tour.c - the Quick Start workload, then a short tour (share, copy-on-write,
 * reuse of a wiped orphan, a request arena), printing the pool statistics after
 * each step. Exits non-zero if any step or the final validation fails.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "memkit.h"

static void print_stats(MemoryPool* pool, const char* step) {
    MemPoolStats s;
    if (!mem_pool_stats(pool, &s)) {
        return;
    }
    printf("%-28s live %zu (%zu B)  orphaned %zu (%zu B, %zu cached)  peak %zu B  reuse %" PRIu64 "/%" PRIu64
           "  cache hits %" PRIu64 "\n",
           step, s.live_containers, s.live_bytes, s.orphaned_containers, s.orphaned_bytes, s.cached_containers,
           s.peak_bytes, s.reuse_hits, s.reuse_misses, s.cache_hits);
}

static int fail(const char* what) {
    fprintf(stderr, "pool_tour: %s: %s\n", what, mem_strerror(mem_last_error()));
    return 1;
}

int main(void) {
    MemoryPool pool;
    if (!mem_pool_init(&pool, 16)) {
        return fail("mem_pool_init");
    }
    MemoryPointer* buffer = mem_pointer_create("data_buffer", 1024);
    if (!mem_pointer_allocate(buffer, 1024, &pool)) {
        return fail("mem_pointer_allocate");
    }
    int* data = (int*)buffer->container->data;
    data[0] = 42;
    printf("Allocated %zu bytes, stored: %d.\n", buffer->container->size, data[0]);
    print_stats(&pool, "after allocate");

    MemoryPointer* reader = mem_pointer_share(buffer, "reader");
    if (reader == NULL) {
        return fail("mem_pointer_share");
    }
    printf("shared: refcount %" PRIu32 ", same container: %s\n", mem_pointer_refcount(buffer),
           reader->container == buffer->container ? "yes" : "no");
    int* writable = mem_pointer_write(reader, &pool);
    if (writable == NULL) {
        return fail("mem_pointer_write");
    }
    writable[0] = 7;
    printf("copy-on-write: reader sees %d, buffer still sees %d\n", writable[0], data[0]);
    print_stats(&pool, "after copy-on-write");

    mem_pointer_destroy(reader, &pool);
    print_stats(&pool, "after destroying the copy");
    MemoryPointer* again = mem_pointer_create("again", 1000);
    if (!mem_pointer_allocate(again, 1000, &pool)) {
        return fail("mem_pointer_allocate");
    }
    const unsigned char* bytes = mem_pointer_data(again);
    size_t nonzero = 0;
    for (size_t i = 0; i < 1000; i++) {
        nonzero += bytes[i] != 0;
    }
    printf("reused orphan reads back %zu non-zero bytes\n", nonzero);
    print_stats(&pool, "after reuse");

    MemoryArena* request = mem_request_arena_acquire();
    char* line = request != NULL ? mem_arena_strdup(request, "GET /index.html") : NULL;
    if (line == NULL) {
        return fail("request arena");
    }
    printf("request arena holds \"%s\" (%zu bytes used)\n", line, mem_arena_used(request));
    mem_request_arena_release(request);

    mem_pointer_destroy(again, &pool);
    mem_pointer_destroy(buffer, &pool);
    print_stats(&pool, "after cleanup");
    bool valid = mem_pool_validate(&pool);
    printf("mem_pool_validate: %s\n", valid ? "ok" : "FAILED");
    mem_pool_dump(&pool, false);
    mem_pool_destroy(&pool);
    return valid && nonzero == 0 ? 0 : 1;
}
