/*
 * buffers_memkit.c - demo server memory from libmemkit: one pool shared by every
 * event-loop thread (each thread works from its own cache), request arenas for
 * per-message work, and libuv's own allocations and the server's small objects
 * (connections, write requests) from mem_malloc's default pool.
 */
#include <inttypes.h>
#include <uv.h>

#include "buffers.h"
#include "memkit.h"

struct DemoBuffer {
    MemoryPointer pointer; /* never instantiated: DemoBuffer* is a MemoryPointer* */
};

static MemoryPool pool;

bool buffers_init(void) {
    if (!MEM_THREAD_SAFE) {
        fprintf(stderr, "demo_server: its event loops need the thread-safe libmemkit (MEM_THREAD_SAFE=1)\n");
        return false;
    }
    /* Before any other libuv call, as uv_replace_allocator requires. */
    return uv_replace_allocator(mem_malloc, mem_realloc, mem_calloc, mem_free) == 0 && mem_pool_init(&pool, 1024);
}

void* object_alloc(size_t size) { return mem_malloc(size); }

void object_free(void* object) { mem_free(object); }

const char* buffers_name(void) { return "memkit"; }

DemoBuffer* buffer_new(size_t size) {
    MemoryPointer* p = mem_pointer_create("read", size);
    if (p == NULL) {
        return NULL;
    }
    if (!mem_pointer_allocate(p, size, &pool)) {
        mem_pointer_destroy(p, &pool);
        return NULL;
    }
    return (DemoBuffer*)p;
}

char* buffer_data(DemoBuffer* buffer) { return (char*)((MemoryPointer*)buffer)->container->data; }

DemoBuffer* buffer_share(DemoBuffer* buffer) { return (DemoBuffer*)mem_pointer_share((MemoryPointer*)buffer, "write"); }

void buffer_release(DemoBuffer* buffer) { mem_pointer_destroy((MemoryPointer*)buffer, &pool); }

DemoScratch* scratch_begin(void) { return (DemoScratch*)mem_request_arena_acquire(); }

void* scratch_alloc(DemoScratch* scratch, size_t size) { return mem_arena_alloc((MemoryArena*)scratch, size); }

void scratch_end(DemoScratch* scratch) { mem_request_arena_release((MemoryArena*)scratch); }

size_t buffers_live(void) {
    MemPoolStats s;
    return mem_pool_stats(&pool, &s) ? s.live_containers : 0;
}

void buffers_report(FILE* out) {
    MemPoolStats s;
    if (!mem_pool_stats(&pool, &s)) {
        return;
    }
    uint64_t cache_ops = s.cache_hits + s.cache_misses;
    uint64_t allocations = s.reuse_hits + s.reuse_misses;
    fprintf(out,
            "pool: live_containers=%zu live_bytes=%zu orphans=%zu orphan_bytes=%zu peak_bytes=%zu "
            "read_buffers_made=%" PRIu64 " reuse_hit_rate=%.1f%% cache_hit_rate=%.1f%% lock_acquisitions=%" PRIu64 "\n",
            s.live_containers, s.live_bytes, s.orphaned_containers, s.orphaned_bytes, s.peak_bytes, allocations,
            allocations ? 100.0 * (double)s.reuse_hits / (double)allocations : 0.0,
            cache_ops ? 100.0 * (double)s.cache_hits / (double)cache_ops : 0.0, s.lock_acquisitions);
    if (mem_pool_stats(mem_default_pool(), &s)) {
        fprintf(out, "objects (libuv and the server's, mem_malloc): live=%zu live_bytes=%zu peak_bytes=%zu\n",
                s.live_containers, s.live_bytes, s.peak_bytes);
    }
}

bool buffers_finish(FILE* report) {
    bool valid = mem_pool_validate(&pool) && mem_pool_validate(mem_default_pool());
    size_t live = buffers_live();
    fprintf(report, "final: live_containers=%zu validate=%s\n", live, valid ? "ok" : "FAILED");
    mem_pool_destroy(&pool);
    return valid && live == 0;
}
