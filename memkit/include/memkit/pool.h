/*
 * memkit/pool.h - MemoryPool: the registry of every container a pool created.
 *
 * A pool may be used from many threads at once (MEM_THREAD_SAFE=1). Init and destroy
 * are not concurrent operations: initialize before sharing the pool, destroy after
 * every other thread has stopped using it (destroying a pool in use is a usage error
 * the library cannot make safe).
 */
#ifndef MEMKIT_POOL_H
#define MEMKIT_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "memkit/config.h"

#ifdef __cplusplus
extern "C" {
#endif

struct mem__pool_state;

/* A pool. Declare it anywhere (stack, static, heap) and pass its address to
 * mem_pool_init. Its fields are private. */
typedef struct MemoryPool {
    struct mem__pool_state* state;
    uint32_t magic;
} MemoryPool;

/* A snapshot of a pool. Bytes are container capacities (what the pool holds), not
 * the sizes callers asked for. */
typedef struct MemPoolStats {
    size_t live_containers;     /* containers with at least one handle */
    size_t live_bytes;
    size_t orphaned_containers; /* released, wiped, kept for reuse (bins + thread caches) */
    size_t orphaned_bytes;
    size_t cached_containers;   /* the part of the orphans held in thread caches */
    size_t peak_bytes;          /* highest live + orphaned bytes seen */
    size_t registry_capacity;   /* registry slots currently allocated */
    size_t orphan_budget;       /* orphan bytes kept before releases free instead */
    uint64_t reuse_hits;        /* allocations served by an orphan */
    uint64_t reuse_misses;      /* allocations that needed a new container */
    uint64_t cache_hits;        /* thread-cache pops and pushes that took no lock */
    uint64_t cache_misses;      /* thread-cache operations that went to the pool */
    uint64_t cache_exchanges;   /* batches moved between thread caches and the pool */
    uint64_t lock_acquisitions; /* times the pool mutex was taken */
    uint64_t orphans_freed;     /* orphans freed by the budget or mem_pool_trim */
} MemPoolStats;

/* Initializes `pool` with room for `capacity` containers before the registry grows
 * (0 means MEM_POOL_DEFAULT_CAPACITY). The registry never shrinks below it.
 * Errors: NULL pool (MEM_ERR_NULL_ARGUMENT), capacity too large
 * (MEM_ERR_SIZE_OVERFLOW), no memory (MEM_ERR_OUT_OF_MEMORY, OOM handler called).
 * On failure the pool is left invalid and needs no destroy. */
MEM_API MEM_ATTR_NODISCARD bool mem_pool_init(MemoryPool* pool, size_t capacity);

/* Wipes and frees every container of the pool, live ones included, drops every
 * thread's cache of it and waits for pending RCU releases. Handles that still point
 * into the pool become invalid: their later use reports MEM_ERR_INVALID_POOL.
 * Destroying an invalid or already destroyed pool sets MEM_ERR_INVALID_POOL and does
 * nothing else. Call it once no other thread uses the pool. */
MEM_API void mem_pool_destroy(MemoryPool* pool);

/* Frees every orphan (global bins and every thread's cache). Returns the number of
 * bytes released to the system, 0 with MEM_ERR_INVALID_POOL on a bad pool.
 * Thread-safe. */
MEM_API size_t mem_pool_trim(MemoryPool* pool);

/* Sets the orphan byte budget (default MEM_POOL_ORPHAN_BUDGET); releases that would
 * pass it free the container instead of keeping it. 0 keeps no orphans. Orphans
 * already over a lowered budget are freed now. Thread-safe. */
MEM_API bool mem_pool_set_orphan_budget(MemoryPool* pool, size_t bytes);

/* Fills `stats` with a consistent snapshot (the pool and every thread cache are
 * locked while it is taken). Errors: NULL argument, invalid pool. Thread-safe. */
MEM_API bool mem_pool_stats(MemoryPool* pool, MemPoolStats* stats);

/* Checks every invariant: registry slots and indices, magic values, states, refcount
 * ranges, byte and count totals, orphan bins and their bitmap, thread caches, wiped
 * orphans. Each failure is logged (MEM_LOG_ERROR) naming the invariant and the
 * container; returns false with MEM_ERR_CORRUPTED if any failed, MEM_ERR_INVALID_POOL
 * for an invalid or destroyed pool. Takes a consistent snapshot; thread-safe. */
MEM_API bool mem_pool_validate(MemoryPool* pool);

/* Prints a summary of the pool to stdout; with `detailed`, how snapshots reach the
 * owner threads ("membarrier", or the atomic fallback where the kernel lacks it or
 * MEMKIT_MEMBARRIER=0 is set) and one line per container (id, state, refcount, size,
 * capacity, the names of its handles). Invalid pool: prints nothing, sets
 * MEM_ERR_INVALID_POOL. Thread-safe. */
MEM_API void mem_pool_dump(MemoryPool* pool, bool detailed);

/* mem_pool_dump to `out`. Returns false for a NULL `out` or an invalid pool. */
MEM_API bool mem_pool_dump_to(MemoryPool* pool, FILE* out, bool detailed);

#ifdef __cplusplus
}
#endif

#endif /* MEMKIT_POOL_H */
