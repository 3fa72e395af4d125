/*
 * ab_loops.c - the loops bench/ab_same_process.sh times, compiled once per build of
 * the library with its entry points named for the build (-DAB_BUILD=a: a_lifecycle
 * and so on); the script then renames the library calls in the object as it renames
 * the library's own symbols (mem_pointer_destroy -> a_mem_pointer_destroy), so that
 * two builds, each with its own globals, link into one process.
 */
#include <string.h>

#include "memkit.h"

#define AB_NAME2(build, name) build##_##name
#define AB_NAME(build, name) AB_NAME2(build, name)

void AB_NAME(AB_BUILD, share_release)(MemoryPointer* own, MemoryPool* pool, long n);
void AB_NAME(AB_BUILD, lifecycle)(MemoryPool* pool, long n, size_t size);
void AB_NAME(AB_BUILD, request)(const size_t* sizes, int count, long n);
void AB_NAME(AB_BUILD, refcount)(MemoryPool* pool, long n);
void AB_NAME(AB_BUILD, malloc_pairs)(long n, size_t size);
MemoryPointer* AB_NAME(AB_BUILD, setup)(MemoryPool* pool);
void AB_NAME(AB_BUILD, teardown)(MemoryPool* pool, MemoryPointer* own);

extern void* volatile ab_sink;

/* mem_pointer_share + mem_pointer_destroy of the share, on the calling thread's own
 * container (bench/compare's share_release/owner). */
void AB_NAME(AB_BUILD, share_release)(MemoryPointer* own, MemoryPool* pool, long n) {
    for (long i = 0; i < n; i++) {
        MemoryPointer* share = mem_pointer_share(own, "share");
        ab_sink = share;
        if (!mem_pointer_destroy(share, pool)) {
            __builtin_trap();
        }
    }
}

/* create + allocate `size` bytes + write them + destroy (bench/compare's lifecycle/N). */
void AB_NAME(AB_BUILD, lifecycle)(MemoryPool* pool, long n, size_t size) {
    for (long i = 0; i < n; i++) {
        MemoryPointer* p = mem_pointer_create("bench", size);
        if (p == NULL || !mem_pointer_allocate(p, size, pool)) {
            __builtin_trap();
        }
        memset(p->container->data, 0x5A, size);
        ab_sink = p->container->data;
        if (!mem_pointer_destroy(p, pool)) {
            __builtin_trap();
        }
    }
}

/* The refcounted buffer: a 256-byte container made and written, 4 shares, all 5
 * handles destroyed, the last wiping it (bench/compare's refcount/256). */
void AB_NAME(AB_BUILD, refcount)(MemoryPool* pool, long n) {
    enum { BUFFER = 256, SHARES = 4 };
    for (long i = 0; i < n; i++) {
        MemoryPointer* p = mem_pointer_create("buffer", BUFFER);
        if (p == NULL || !mem_pointer_allocate(p, BUFFER, pool)) {
            __builtin_trap();
        }
        memset(p->container->data, 1, BUFFER);
        MemoryPointer* shares[SHARES];
        for (int k = 0; k < SHARES; k++) {
            shares[k] = mem_pointer_share(p, "share");
            ab_sink = shares[k];
        }
        for (int k = 0; k < SHARES; k++) {
            if (!mem_pointer_destroy(shares[k], pool)) {
                __builtin_trap();
            }
        }
        if (!mem_pointer_destroy(p, pool)) {
            __builtin_trap();
        }
    }
}

/* A request: acquire a request arena, `count` allocations of `sizes`, touch each,
 * release (which wipes) (bench/compare's request). */
void AB_NAME(AB_BUILD, request)(const size_t* sizes, int count, long n) {
    for (long i = 0; i < n; i++) {
        MemoryArena* arena = mem_request_arena_acquire();
        if (arena == NULL) {
            __builtin_trap();
        }
        for (int k = 0; k < count; k++) {
            char* block = mem_arena_alloc(arena, sizes[k]);
            block[0] = (char)k;
            ab_sink = block;
        }
        mem_request_arena_release(arena);
    }
}

/* mem_malloc + mem_free (which wipes) of `size` bytes on the default pool
 * (bench/compare's malloc/N/1). */
void AB_NAME(AB_BUILD, malloc_pairs)(long n, size_t size) {
    for (long i = 0; i < n; i++) {
        void* block = mem_malloc(size);
        if (block == NULL) {
            __builtin_trap();
        }
        ab_sink = block;
        mem_free(block);
    }
}

MemoryPointer* AB_NAME(AB_BUILD, setup)(MemoryPool* pool) {
    MemoryPointer* own = NULL;
    if (!mem_pool_init(pool, 16) || (own = mem_pointer_create("own", 64)) == NULL ||
        !mem_pointer_allocate(own, 64, pool)) {
        __builtin_trap();
    }
    return own;
}

void AB_NAME(AB_BUILD, teardown)(MemoryPool* pool, MemoryPointer* own) {
    if (!mem_pointer_destroy(own, pool)) {
        __builtin_trap();
    }
    mem_pool_destroy(pool);
}
