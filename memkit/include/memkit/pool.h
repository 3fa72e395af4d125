/*
 * memkit/pool.h - MemoryPool: the registry of every page of containers a pool made.
 * Containers live in pages (one system allocation carved into equal blocks; a large
 * container is a page of its own) owned by the thread caches of the threads that use
 * the pool, and by the pool's own stock (docs/threading.md).
 *
 * A pool may be used from many threads at once (MEM_THREAD_SAFE=1). Init and destroy
 * are not concurrent operations: initialize before sharing the pool, destroy after
 * every other thread has stopped using it (destroying a pool in use is a usage error
 * the library cannot make safe).
 *
 * Fork: every initialised pool stays usable in the child, whatever other threads were
 * doing with it: the library holds all its locks across fork (taken before, released
 * in parent and child) and ends, in the child, the work of the threads that did not
 * come along. Their blocks stay allocated in the child until it frees them.
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
    /* private */
    struct mem__pool_state* state;
    uint32_t magic;
} MemoryPool;

/* A snapshot of a pool. Container bytes are capacities (what the pool holds), not the
 * sizes callers asked for. An orphan is a released, wiped block kept for reuse: a free
 * block in a page of a thread cache ("cached") or of the pool's stock. */
typedef struct MemPoolStats {
    size_t live_containers;     /* containers with at least one handle */
    size_t live_bytes;
    size_t orphaned_containers; /* released, wiped, kept for reuse (stock + thread caches) */
    size_t orphaned_bytes;
    size_t cached_containers;   /* the part of the orphans held in thread caches */
    size_t peak_bytes;          /* most bytes of pages (system allocations) the pool held at once */
    size_t registry_capacity;   /* registry slots (one per page) currently allocated */
    size_t orphan_budget;       /* page bytes the pool's stock may keep (see set_orphan_budget) */
    uint64_t reuse_hits;        /* allocations served by an orphan */
    uint64_t reuse_misses;      /* allocations that needed a new container */
    uint64_t cache_hits;        /* thread-cache allocations and releases that took no lock */
    uint64_t cache_misses;      /* thread-cache allocations that needed a page from the pool */
    uint64_t cache_exchanges;   /* pages moved between thread caches and the pool's stock */
    uint64_t lock_acquisitions; /* times the pool mutex was taken */
    uint64_t orphans_freed;     /* orphans freed with their pages (budget, trim, thread exit) */
    uint64_t snapshot_waits;       /* times an owner thread waited for a snapshot (stats,
                                      validate, trim, dump) that held its cache */
    uint64_t snapshot_wait_max_ns; /* the longest of those waits, in nanoseconds */
} MemPoolStats;

/* Initializes `pool` with a registry of `capacity` page slots before it grows (0 means
 * MEM_POOL_DEFAULT_CAPACITY); it never shrinks below that. Not concurrent with any
 * other use of `pool`; initialising a pool that is already initialised is refused
 * (MEM_ERR_ALREADY_INITIALIZED) and leaves it working.
 * Errors: NULL pool (MEM_ERR_NULL_ARGUMENT), capacity too large
 * (MEM_ERR_SIZE_OVERFLOW), no memory (MEM_ERR_OUT_OF_MEMORY, OOM handler called).
 * On failure the pool is left invalid and needs no destroy. */
MEM_API MEM_ATTR_NODISCARD bool mem_pool_init(MemoryPool* pool, size_t capacity);

/* Wipes and frees every container of the pool, live ones included, and drops every
 * thread's cache of it. While releases its publishes deferred have not all run, it
 * first waits for them (liburcu's rcu_barrier: 10 ms or more, until every read-side
 * section open at the time has ended); otherwise it does not wait. Handles that still
 * point into the pool become invalid: their later use reports MEM_ERR_INVALID_POOL.
 * Destroying an invalid or already destroyed pool sets MEM_ERR_INVALID_POOL and does
 * nothing else. A pool that ever published is not destroyed inside a read-side
 * section (or in a child forked from inside one), pending releases or not:
 * MEM_ERR_IN_READ_SECTION, and nothing is destroyed. Call it once no other thread
 * uses the pool. */
MEM_API void mem_pool_destroy(MemoryPool* pool);

/* Gives back to the system every page with no live container: the pool's stock and
 * every thread cache's empty pages and released large containers (free blocks in a
 * page that still holds a live container stay with it). Returns the bytes released,
 * 0 with MEM_ERR_INVALID_POOL on a bad pool. Thread-safe: each owner thread waits only
 * while its own cache's spares are taken. */
MEM_API size_t mem_pool_trim(MemoryPool* pool);

/* Sets the orphan budget (default MEM_POOL_ORPHAN_BUDGET): the page bytes the pool's
 * stock keeps for reuse; pages beyond it are freed when they come back. Each thread
 * cache also keeps a bounded few spares (MEM_THREAD_CACHE_EMPTY_PAGES small pages,
 * MEM_THREAD_CACHE_LARGE_BYTES of large containers). 0 keeps no orphan anywhere: each
 * container then gets a page of its own, freed when it is released. A lowered budget
 * applies at once. Errors: invalid pool. Thread-safe. */
MEM_API bool mem_pool_set_orphan_budget(MemoryPool* pool, size_t bytes);

/* Fills `stats` with a consistent snapshot: every thread cache of the pool is frozen
 * at once for a moment (owner threads wait at most that long) and what other threads
 * handed back is collected first. Errors: NULL argument, invalid pool. Thread-safe. */
MEM_API bool mem_pool_stats(MemoryPool* pool, MemPoolStats* stats);

/* Checks every invariant: registry slots and page indices, page headers and lists,
 * magic values, states, refcount ranges, free lists, byte and count totals, bins and
 * their bitmaps, thread caches, and that every orphan's bytes are wiped. Each failure
 * is logged (MEM_LOG_ERROR) naming the invariant and the container or page; returns
 * false with MEM_ERR_CORRUPTED if any failed, MEM_ERR_INVALID_POOL for an invalid or
 * destroyed pool. Thread-safe: pages are checked in batches, each under one short
 * freeze of every cache, and orphans' bytes are read with nothing frozen. */
MEM_API bool mem_pool_validate(MemoryPool* pool);

/* Prints a summary of the pool to stdout; with `detailed`, how snapshots reach the
 * owner threads ("membarrier", or the atomic fallback where the kernel lacks it or
 * MEMKIT_MEMBARRIER=0 is set) and one line per container (id, state, refcount, size,
 * capacity, the names of its handles). Invalid pool: prints nothing, sets
 * MEM_ERR_INVALID_POOL. Thread-safe. */
MEM_API void mem_pool_dump(MemoryPool* pool, bool detailed);

/* mem_pool_dump to `out`. Returns false for a NULL `out` or an invalid pool, and with
 * MEM_ERR_OUTPUT when `out` could not take the dump (a write error, or a failed
 * flush: it is flushed before returning). */
MEM_API bool mem_pool_dump_to(MemoryPool* pool, FILE* out, bool detailed);

#ifdef __cplusplus
}
#endif

#endif /* MEMKIT_POOL_H */
