/*
 * internal.h - what the library's translation units share and nothing outside sees:
 * atomics and locks, the system-allocation path, errors and logging, size classes,
 * ids, the container, pool-state and arena layouts, and the per-thread layer.
 * Internal names carry the mem__ prefix.
 */
#ifndef MEMKIT_INTERNAL_H
#define MEMKIT_INTERNAL_H

/* explicit_bzero and friends under -std=c11; this header comes first in every file. */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE 1
#endif

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "memkit.h"

#if MEM_THREAD_SAFE
#include <pthread.h>
#endif

#if defined(DEBUG_MEMORY_MANAGER) && DEBUG_MEMORY_MANAGER
#include <assert.h>
#define MEM__DEBUG 1
#define mem__assert(cond) assert(cond)
#else
#define MEM__DEBUG 0
#define mem__assert(cond) ((void)0)
#endif

#define mem__likely(x) __builtin_expect(!!(x), 1)
#define mem__unlikely(x) __builtin_expect(!!(x), 0)

/* ---- atomics: the memory order is in the name; plain accesses when single-threaded */
#if MEM_THREAD_SAFE
#define mem__atomic_load_relaxed(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define mem__atomic_load_acquire(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define mem__atomic_store_relaxed(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define mem__atomic_store_release(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define mem__atomic_fetch_add_relaxed(p, v) __atomic_fetch_add((p), (v), __ATOMIC_RELAXED)
#define mem__atomic_fetch_sub_acq_rel(p, v) __atomic_fetch_sub((p), (v), __ATOMIC_ACQ_REL)
#else
#define mem__atomic_load_relaxed(p) (*(p))
#define mem__atomic_load_acquire(p) (*(p))
#define mem__atomic_store_relaxed(p, v) ((void)(*(p) = (v)))
#define mem__atomic_store_release(p, v) ((void)(*(p) = (v)))
#define mem__atomic_fetch_add_relaxed(p, v) __extension__({ __typeof__(*(p)) old_ = *(p); *(p) = old_ + (v); old_; })
#define mem__atomic_fetch_sub_acq_rel(p, v) __extension__({ __typeof__(*(p)) old_ = *(p); *(p) = old_ - (v); old_; })
#endif

/* ---- locks: a mutex for pools, a spinlock for per-thread caches (uncontended but
 * for snapshots); both compile away when MEM_THREAD_SAFE is 0. */
#if MEM_THREAD_SAFE
typedef pthread_mutex_t mem__mutex;
#define MEM__MUTEX_INITIALIZER PTHREAD_MUTEX_INITIALIZER
static inline bool mem__mutex_init(mem__mutex* m) { return pthread_mutex_init(m, NULL) == 0; }
static inline void mem__mutex_destroy(mem__mutex* m) { pthread_mutex_destroy(m); }
static inline void mem__mutex_lock(mem__mutex* m) { pthread_mutex_lock(m); }
static inline void mem__mutex_unlock(mem__mutex* m) { pthread_mutex_unlock(m); }

typedef uint32_t mem__spinlock;
static inline void mem__spin_lock(mem__spinlock* l) {
    while (__atomic_exchange_n(l, 1u, __ATOMIC_ACQUIRE) != 0) {
        while (__atomic_load_n(l, __ATOMIC_RELAXED) != 0) {
#if defined(__x86_64__) || defined(__i386__)
            __builtin_ia32_pause();
#endif
        }
    }
}
static inline void mem__spin_unlock(mem__spinlock* l) { __atomic_store_n(l, 0u, __ATOMIC_RELEASE); }
#else
typedef int mem__mutex;
#define MEM__MUTEX_INITIALIZER 0
static inline bool mem__mutex_init(mem__mutex* m) { *m = 0; return true; }
static inline void mem__mutex_destroy(mem__mutex* m) { (void)m; }
static inline void mem__mutex_lock(mem__mutex* m) { (void)m; }
static inline void mem__mutex_unlock(mem__mutex* m) { (void)m; }
typedef int mem__spinlock;
static inline void mem__spin_lock(mem__spinlock* l) { (void)l; }
static inline void mem__spin_unlock(mem__spinlock* l) { (void)l; }
#endif

/* ---- errors and logging (error.c, log.c) */
void mem__set_error(MemError error);
/* Records `error` and returns false / NULL, for one-line failure returns. */
bool mem__fail(MemError error);
void* mem__fail_null(MemError error);
void mem__log(MemLogLevel level, const char* format, ...) MEM_ATTR_FORMAT(2, 3);

/* ---- the system allocator (system.c). These never call the OOM handler: callers
 * drop their locks first, then call mem__out_of_memory. */
void* mem__sys_alloc(size_t size);
void* mem__sys_realloc(void* block, size_t size);
void mem__sys_free(void* block);
/* Sets MEM_ERR_OUT_OF_MEMORY and calls the OOM handler with `requested`. */
void mem__out_of_memory(size_t requested);
/* Zeroes `size` bytes in a way the compiler cannot elide. */
void mem__wipe(void* block, size_t size);

/* ---- checked size arithmetic */
static inline bool mem__mul_overflows(size_t a, size_t b, size_t* product) {
    return __builtin_mul_overflow(a, b, product);
}
static inline bool mem__is_power_of_two(size_t x) { return x != 0 && (x & (x - 1)) == 0; }
static inline size_t mem__align_up(size_t x, size_t alignment) { return (x + alignment - 1) & ~(alignment - 1); }

/* ---- size classes. Class 0 holds 16 bytes. Above that, each power-of-two range is
 * cut in four: class 4g+k+1 (k = 0..3) holds (5+k) << (g+2) bytes, i.e. 20, 24, 28,
 * 32, 40, 48, 56, 64, 80, ... so a container's capacity is at most 25% above the size
 * asked for, and a class index fits in a byte. */
#define MEM__SIZE_CLASS_COUNT 176
#define MEM__CLASS_BITMAP_WORDS ((MEM__SIZE_CLASS_COUNT + 63) / 64)
/* How many classes above the one asked for an orphan may come from (at most 2x). */
#define MEM__REUSE_MAX_CLASS_SLACK 4
static inline unsigned mem__size_class(size_t size) {
    if (size <= 16) {
        return 0;
    }
    size_t t = size - 1;
    unsigned msb = 63u - (unsigned)__builtin_clzll((unsigned long long)t);
    unsigned shift = msb - 2;
    unsigned k = (unsigned)((t >> shift) & 3u);
    return 4u * (msb - 4u) + k + 1u;
}
static inline size_t mem__class_capacity(unsigned size_class) {
    if (size_class == 0) {
        return 16;
    }
    unsigned c = size_class - 1;
    return (size_t)(5u + c % 4u) << (c / 4u + 2u);
}

/* ---- ids (ids.c): computed when asked for, from the container's serial
 * (pool seed + sequence number) and size, so the hot path only counts. */
uint64_t mem__fnv1a64(uint64_t hash, const void* bytes, size_t length);
#define MEM__FNV_OFFSET_BASIS UINT64_C(0xcbf29ce484222325)
uint64_t mem__container_id(const MemoryContainer* c);

/* ---- containers (container.c) */
#define MEM__CONTAINER_MAGIC UINT32_C(0x4d4b4354) /* "MKCT" */
#define MEM__CONTAINER_MAGIC_FREED UINT32_C(0x46524545) /* "FREE" */
#define MEM__REFCOUNT_MAX (UINT32_MAX / 2)
enum mem__container_state {
    MEM__STATE_LIVE = 1,   /* referenced by at least one handle (or being released) */
    MEM__STATE_ORPHAN = 2, /* wiped, in a pool's global bin */
    MEM__STATE_CACHED = 3  /* wiped, in a thread's cache */
};
/* A new registered-nowhere container of `size_class` for `size` bytes (bytes past
 * `size` zeroed), or NULL when the system allocator fails. */
MemoryContainer* mem__container_new(unsigned size_class, size_t size);
/* Wipes the whole block and gives it back to the system. */
void mem__container_free(MemoryContainer* container);
static inline size_t mem__container_capacity(const MemoryContainer* c) { return mem__class_capacity(c->size_class); }
/* Orphans are chained through their first data word (wiped again on reuse). */
static inline MemoryContainer* mem__orphan_next(const MemoryContainer* c) {
    MemoryContainer* next;
    memcpy(&next, c->data, sizeof next);
    return next;
}
static inline void mem__orphan_set_next(MemoryContainer* c, MemoryContainer* next) {
    memcpy(c->data, &next, sizeof next);
}
/* Wipes the bytes a caller could have written; the rest of an orphan is zero already. */
static inline void mem__container_wipe_payload(MemoryContainer* c) { mem__wipe(c->data, c->size); }
/* Makes a popped orphan live for `size` bytes with `serial`: all its bytes read zero. */
void mem__container_revive(MemoryContainer* c, size_t size, uint64_t serial);

/* ---- pool state (pool.c, registry.c, bins.c) */
#define MEM__POOL_MAGIC UINT32_C(0x4d4b504c) /* "MKPL" */
struct mem__thread_cache;

struct mem__pool_state {
    mem__mutex mutex;
    MemoryContainer** registry; /* every container of the pool: live, orphaned, cached */
    size_t count;
    size_t capacity;
    size_t initial_capacity;
    size_t total_bytes; /* capacities of all registered containers */
    size_t peak_bytes;
    size_t orphan_count; /* in the global bins */
    size_t orphan_bytes;
    size_t orphan_budget;
    MemoryContainer* bins[MEM__SIZE_CLASS_COUNT];
    uint32_t bin_length[MEM__SIZE_CLASS_COUNT];
    uint64_t bin_bitmap[MEM__CLASS_BITMAP_WORDS];
    uint64_t next_serial; /* serials for the locked path; caches take blocks of it */
    uint64_t reuse_hits;
    uint64_t reuse_misses;
    uint64_t lock_acquisitions;
    uint64_t cache_exchanges;
    uint64_t orphans_freed;
    uint64_t detached_cache_hits; /* counters of caches that were detached */
    uint64_t detached_cache_misses;
    uint64_t detached_cache_reuses;
    struct mem__thread_cache* caches; /* caches of this pool, one per thread using it */
    bool rcu_used;                      /* a publish happened: destroy waits for RCU */
};

/* The pool's state if `pool` is valid; else NULL with MEM_ERR_NULL_ARGUMENT or
 * MEM_ERR_INVALID_POOL. */
struct mem__pool_state* mem__pool_state_of(MemoryPool* pool);

/* Take and drop the pool mutex (counted in lock_acquisitions). */
void mem__pool_lock(struct mem__pool_state* st);
void mem__pool_unlock(struct mem__pool_state* st);

/* Registry (registry.c), pool locked. Add fails only when growth fails. */
bool mem__registry_add(struct mem__pool_state* st, MemoryContainer* c);
void mem__registry_remove(struct mem__pool_state* st, MemoryContainer* c);

/* Global orphan bins (bins.c), pool locked. */
void mem__bin_push(struct mem__pool_state* st, MemoryContainer* c);
/* The orphan of the smallest class in [size_class, size_class + slack], unlinked,
 * or NULL. O(1): a bitmap finds the first non-empty bin. */
MemoryContainer* mem__bin_pop_fit(struct mem__pool_state* st, unsigned size_class, unsigned slack);
/* Unlinks one orphan of exactly `size_class`, or NULL. */
MemoryContainer* mem__bin_pop_exact(struct mem__pool_state* st, unsigned size_class);

/* The locked allocation and release paths (pool_path.c); the caches fall back on them.
 * obtain: a LIVE container of `size` bytes with refcount 1, an orphan or a new one, or
 * NULL (error set, OOM handler called). new_container: a new one with `serial`,
 * registered. release_wiped: makes `c` (refcount 0, payload wiped) an orphan, or
 * frees it when that would pass the budget. */
MemoryContainer* mem__pool_obtain(struct mem__pool_state* st, size_t size);
MemoryContainer* mem__pool_new_container(struct mem__pool_state* st, size_t size, uint64_t serial);
void mem__pool_release_wiped(struct mem__pool_state* st, MemoryContainer* c);
/* Unregisters and frees orphans from the global bins until their bytes fit `budget`;
 * pool locked. Returns the containers to free, chained, for freeing after unlock. */
MemoryContainer* mem__pool_evict_orphans_locked(struct mem__pool_state* st, size_t budget);
/* Frees a chain returned by mem__pool_evict_orphans_locked; returns bytes freed. */
size_t mem__free_orphan_chain(MemoryContainer* chain);

/* ---- per-thread layer (thread_state.c, thread_cache.c, request_arena.c) */
#ifndef MEM_THREAD_CACHE_POOLS
#define MEM_THREAD_CACHE_POOLS 8 /* pools one thread caches for; more use the locked path */
#endif
#ifndef MEM_THREAD_CACHE_MAX_PER_CLASS
#define MEM_THREAD_CACHE_MAX_PER_CLASS 64 /* orphans per size class in one cache */
#endif
#ifndef MEM_THREAD_CACHE_MAX_BYTES
#define MEM_THREAD_CACHE_MAX_BYTES (4u * 1024u * 1024u) /* orphan bytes in one cache */
#endif
#ifndef MEM_THREAD_CACHE_MAX_OBJECT
#define MEM_THREAD_CACHE_MAX_OBJECT (256u * 1024u) /* larger containers skip caches */
#endif
#ifndef MEM_THREAD_CACHE_BATCH
#define MEM_THREAD_CACHE_BATCH 16 /* orphans moved per exchange with the pool */
#endif
#ifndef MEM_REQUEST_ARENA_SIZE
#define MEM_REQUEST_ARENA_SIZE 16384 /* first chunk of a request arena */
#endif
#ifndef MEM_REQUEST_ARENA_KEEP_BYTES
#define MEM_REQUEST_ARENA_KEEP_BYTES (1024u * 1024u) /* chunk bytes a thread keeps */
#endif

/* One thread's cache for one pool. Only its thread pushes and pops, under `lock`,
 * which others take only for snapshots, trims, thread exit and pool destroy. */
struct mem__thread_cache {
    mem__spinlock lock;
    struct mem__pool_state* pool; /* NULL when unused; atomic: pool destroy clears it */
    struct mem__thread_cache* next_in_pool;
    size_t count;
    size_t bytes;
    uint64_t hits;
    uint64_t misses;
    uint64_t reuses;        /* allocations served from this cache */
    uint64_t next_serial;   /* a block of the pool's serials */
    MemoryContainer* bins[MEM__SIZE_CLASS_COUNT];
    uint16_t length[MEM__SIZE_CLASS_COUNT];
};

/* A thread's own quarantine of objects it freed: reused without the slab mutex once
 * longer than MEM_HANDLE_QUARANTINE. */
typedef struct mem__slab_local {
    void* head;
    void* tail;
    size_t length;
} mem__slab_local;
enum { MEM__SLAB_HANDLES, MEM__SLAB_ARENAS, MEM__SLAB_COUNT };

struct mem__thread_state {
    struct mem__thread_cache caches[MEM_THREAD_CACHE_POOLS];
    unsigned last_cache;
    MemoryArena* spare_arenas;  /* released request arenas, ready for reuse */
    MemoryArena* owned_arenas;  /* every request arena of the thread */
    size_t kept_arena_bytes;    /* chunk bytes of the spare arenas */
    mem__slab_local slab_locals[MEM__SLAB_COUNT];
};

/* The calling thread's state, created on first use; NULL when that fails. The
 * fast path is one initial-exec TLS load. */
#if MEM_THREAD_SAFE
#define MEM__TLS _Thread_local __attribute__((tls_model("initial-exec")))
extern MEM__TLS struct mem__thread_state* mem__current_state;
struct mem__thread_state* mem__thread_state_create(void);
static inline struct mem__thread_state* mem__thread_state(void) {
    struct mem__thread_state* ts = mem__current_state;
    return mem__likely(ts != NULL) ? ts : mem__thread_state_create();
}
#else
#define MEM__TLS
struct mem__thread_state* mem__thread_state(void);
#endif
/* Serialises cache attachment, thread exit and pool destroy (taken before a pool). */
void mem__threads_lock(void);
void mem__threads_unlock(void);
/* Thread exit: hands the thread's quarantined objects to the slab (slab.c). */
void mem__slab_release_locals(struct mem__slab_local* locals);
/* Thread exit: returns the thread's caches to their pools and frees its arenas. */
void mem__thread_state_release(struct mem__thread_state* ts);
void mem__request_arenas_release_all(struct mem__thread_state* ts);

/* Allocation and release through the calling thread's cache of `st`, falling back
 * on the locked path (and only that path when MEM_THREAD_SAFE is 0). */
MemoryContainer* mem__cache_obtain(struct mem__pool_state* st, size_t size);
void mem__cache_release(struct mem__pool_state* st, MemoryContainer* c);
/* Returns every cached orphan of `cache` to its pool's bins (pool and cache locked);
 * adds what passes the budget to *evicted for freeing after unlock. */
void mem__cache_flush_locked(struct mem__thread_cache* cache, MemoryContainer** evicted);
/* Pool locked: lock / unlock every cache of the pool (for snapshots). */
void mem__caches_lock_all(struct mem__pool_state* st);
void mem__caches_unlock_all(struct mem__pool_state* st);
/* Counters of the pool's caches, summed; caches locked. */
typedef struct mem__cache_counts {
    size_t containers;
    size_t bytes;
    uint64_t hits;
    uint64_t misses;
    uint64_t reuses;
} mem__cache_counts;
void mem__caches_sum(struct mem__pool_state* st, mem__cache_counts* out);
/* Each cached container of every cache of the pool (caches locked). */
typedef void (*mem__container_visitor)(MemoryContainer* c, void* context);
void mem__caches_for_each_container(struct mem__pool_state* st, mem__container_visitor visit, void* context);
/* Pool locked, caches not: moves every cached orphan to the global bins. */
void mem__caches_flush_all(struct mem__pool_state* st);
/* Detaches every cache of the pool (mem_pool_destroy; takes the locks it needs);
 * cached containers stay registered and are freed with the registry. */
void mem__caches_detach_pool(struct mem__pool_state* st);

/* ---- handles (handle.c): type-stable slots that are never returned to the system
 * while quarantined, so a destroyed handle still reads as destroyed. */
#define MEM__POINTER_MAGIC UINT32_C(0x4d4b5054)      /* "MKPT" */
#define MEM__POINTER_MAGIC_DEAD UINT32_C(0x44454144) /* "DEAD" */
MemoryPointer* mem__handle_alloc(void);
void mem__handle_free(MemoryPointer* handle);
/* The handle if it is a live MemoryPointer, else NULL with the error set. */
MemoryPointer* mem__pointer_check(const MemoryPointer* ptr);
/* The state of `pool` if it is valid and, when `ptr` holds a container, its pool;
 * else NULL with MEM_ERR_NULL_ARGUMENT, MEM_ERR_INVALID_POOL or MEM_ERR_WRONG_POOL. */
struct mem__pool_state* mem__pointer_pool(const MemoryPointer* ptr, MemoryPool* pool);
/* The container of a valid, allocated pointer whose pool is alive, or NULL with
 * MEM_ERR_NULL_ARGUMENT, MEM_ERR_INVALID_POINTER, MEM_ERR_NOT_ALLOCATED or
 * MEM_ERR_INVALID_POOL. */
MemoryContainer* mem__container_of(const MemoryPointer* ptr);
/* False with MEM_ERR_ZERO_SIZE or MEM_ERR_SIZE_OVERFLOW unless 0 < size <= max. */
bool mem__check_size(size_t size);

/* Generic type-stable object slab (slab.c) behind handles and arena headers. */
typedef struct mem__slab {
    mem__mutex mutex;
    unsigned index; /* which of each thread's local quarantines serves it */
    size_t object_size;
    void* chunks;     /* chain of chunks, freed never (objects must stay readable) */
    void* fifo_head;  /* freed objects, oldest first */
    void* fifo_tail;
    size_t fifo_length;
    void* fresh;      /* never-used objects */
} mem__slab;
#define MEM__SLAB_INITIALIZER(which, size) { MEM__MUTEX_INITIALIZER, (which), (size), NULL, NULL, NULL, 0, NULL }
extern mem__slab mem__handle_slab; /* handle.c */
extern mem__slab mem__arena_slab;  /* arena.c */
/* A zeroed object, or NULL (error set, OOM handler called). */
void* mem__slab_alloc(mem__slab* slab);
/* Quarantines `object` (its first word becomes the free-list link). */
void mem__slab_free(mem__slab* slab, void* object);

/* ---- arenas (arena.c, request_arena.c) */
#define MEM__ARENA_MAGIC UINT32_C(0x4d4b4152)      /* "MKAR" */
#define MEM__ARENA_MAGIC_DEAD UINT32_C(0x44454144) /* "DEAD" */
#define MEM__ARENA_REQUEST 1u                      /* a thread's request arena */
#define MEM__ARENA_ACQUIRED 2u                     /* request arena handed out */

typedef struct mem__arena_chunk {
    struct mem__arena_chunk* next;
    size_t capacity;
    size_t used;
    size_t reserved;
    unsigned char data[];
} mem__arena_chunk;

struct MemoryArena {
    struct MemoryArena* link; /* slab free list; request-arena stack */
    uint32_t magic;
    uint32_t flags;
    mem__arena_chunk* first;
    mem__arena_chunk* current;
    size_t total_capacity;
    void* owner;                    /* request arenas: the owning thread's state */
    struct MemoryArena* next_owned; /* request arenas: the owner's list of all */
    size_t reserved;
};
MemoryArena* mem__arena_check(const MemoryArena* arena);
MemoryArena* mem__arena_new(size_t first_chunk_size);
/* Wipes what was used; keeps chunks while their total stays within `keep_bytes`
 * (the first chunk always), frees the rest. */
void mem__arena_rewind(MemoryArena* arena, size_t keep_bytes);
/* Wipes and frees every chunk and the header. */
void mem__arena_free(MemoryArena* arena);

/* ---- RCU (rcu.c) */
/* Drops the pointer's reference to `c` once readers are done (deferred when RCU
 * published it, immediate otherwise). */
void mem__rcu_release_deferred(struct mem__pool_state* st, MemoryContainer* c);
void mem__rcu_wait_for_releases(void);
#define MEM__POINTER_PUBLISHED 1u

/* The common end of a container reference: refcount - 1; the last one releases it
 * to the cache / pool. */
void mem__container_unref(struct mem__pool_state* st, MemoryContainer* c);

#endif /* MEMKIT_INTERNAL_H */
