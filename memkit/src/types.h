/*
 * types.h - the library's internal objects, their tunables and the size classes.
 *
 * Ownership in one paragraph: every thread that uses the library has a thread state
 * (thread_state.c). A state holds one cache per pool it allocates from; a cache owns
 * pages; a page is one system allocation carved into equal blocks, each block a
 * container (header + payload). Only the cache's owner thread touches its pages'
 * free lists, with plain loads and stores; other threads hand blocks back through the
 * cache's lock-free remote list, and snapshots (stats, validate, trim) briefly freeze
 * a cache with an asymmetric protocol (freeze.c). The pool keeps a registry of every
 * page and a cache of its own, used under its mutex, for empty pages and for threads
 * without a cache. Handles and arena headers live in per-state object heaps.
 */
#ifndef MEMKIT_SRC_TYPES_H
#define MEMKIT_SRC_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "atomic.h"
#include "memkit.h"
#include "track.h"

/* ---- size classes. Class 0 holds 16 bytes. Above that, each power-of-two range is
 * cut in four: class 4g+k+1 (k = 0..3) holds (5+k) << (g+2) bytes, i.e. 20, 24, 28,
 * 32, 40, 48, 56, 64, 80, ... so a container's capacity is at most 25% above the size
 * asked for, and a class index fits in a byte. */
#define MEM__SIZE_CLASS_COUNT 176
#define MEM__CLASS_BITMAP_WORDS ((MEM__SIZE_CLASS_COUNT + 63) / 64)
/* How many classes above the one asked for a large orphan may come from (at most 2x). */
#define MEM__REUSE_MAX_CLASS_SLACK 4
/* Classes 0..48 (capacity up to 64 KiB) share pages; larger containers each get a
 * page of their own. */
#define MEM__SMALL_CLASS_COUNT 49

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

static inline bool mem__class_is_small(unsigned size_class) { return size_class < MEM__SMALL_CLASS_COUNT; }

/* ---- tunables (defaults; each may be overridden with -D when building the library).
 * Those the public headers name are in memkit/config.h. */
#ifndef MEM_PAGE_MIN_BYTES
#define MEM_PAGE_MIN_BYTES (64u * 1024u) /* smallest page: 64 KiB */
#endif
#define MEM__PAGE_MIN_BLOCKS 8 /* a small page holds at least this many blocks */
#ifndef MEM_THREAD_CACHE_POOLS
#define MEM_THREAD_CACHE_POOLS 8 /* pools one thread caches for; more use the pool's own cache */
#endif
#ifndef MEM_HANDLE_CACHE
#define MEM_HANDLE_CACHE 4096 /* destroyed handles a thread keeps beyond the quarantine */
#endif
#ifndef MEM_REQUEST_ARENA_SIZE
#define MEM_REQUEST_ARENA_SIZE 16384 /* first chunk of a request arena */
#endif
#ifndef MEM_SERIAL_BLOCK
#define MEM_SERIAL_BLOCK (UINT64_C(1) << 20) /* serials a cache takes from its pool at once */
#endif
#define MEM__SERIAL_BLOCK ((uint64_t)(MEM_SERIAL_BLOCK))

/* ---- containers */
#define MEM__CONTAINER_HEADER offsetof(MemoryContainer, data)
#define MEM__CONTAINER_MAGIC 0xC7u
#define MEM__CONTAINER_MAGIC_FREED 0x00u
/* The magic of the 32 bytes before a block from mem_pool_aligned_alloc that does not
 * start at its container's data: their `size` is the offset from the data (malloc.c). */
#define MEM__CONTAINER_MAGIC_ALIGNED 0xA7u
enum mem__container_state {
    MEM__STATE_LIVE = 1,   /* referenced by at least one handle (or being released) */
    MEM__STATE_FREE = 2,   /* wiped, on its page's free list */
    MEM__STATE_REMOTE = 3, /* wiped, released on another thread, on its owner's remote list */
    MEM__STATE_BLOCK = 4   /* live, a block of mem_pool_malloc: no handle, one holder */
};
/* Live in either form: held by handles, or a mem_pool_malloc block. */
static inline bool mem__state_is_live(uint8_t state) { return state == MEM__STATE_LIVE || state == MEM__STATE_BLOCK; }
/* Reference counting is biased towards the owning thread: it counts in `refcount`
 * with plain stores; other threads count in `shared` atomically, as count << 1 with
 * the low bit MERGED set once the owner's count reached zero (from then on `shared`
 * alone decides). A container made without an owner is merged from birth. */
#define MEM__SHARED_MERGED 1u
#define MEM__SHARED_ONE 2u
#define MEM__REFCOUNT_MAX (UINT32_MAX / 2)     /* owner-side references */
#define MEM__SHARED_MAX (UINT32_MAX / 2 - 1u)  /* shared word, count << 1 */
/* Container owners: thread-state indices 1..MEM__MAX_STATES; 0 is the pool itself. */
#define MEM__OWNER_POOL 0u
#define MEM__MAX_STATES 65534u
#define MEM__NO_STATE 0xFFFFu /* the calling thread has no state */

/* 64 bytes between two groups of fields that different threads write: bytes that
 * far apart never share a cache line, whatever the object's alignment. */
#define MEM__LINE_GAP(name) char name[64]

/* ---- pages */
#define MEM__PAGE_MAGIC UINT32_C(0x4d4b5047) /* "MKPG" */
enum mem__page_list {
    MEM__LIST_NONE = 0,  /* on no list: being moved, or freed */
    MEM__LIST_QUEUE,     /* small page with a block to hand out, in its cache's class queue */
    MEM__LIST_FULL,      /* small page with nothing to hand out */
    MEM__LIST_EMPTY,     /* empty small page kept for any class of its size */
    MEM__LIST_LARGE_LIVE, /* large page whose container is live */
    MEM__LIST_LARGE_BIN, /* released large container, kept in a cache's bins */
    MEM__LIST_CUSTODY    /* taken out of circulation by a snapshot checking it */
};
struct mem__cache;
struct mem__pool_state;

typedef struct mem__page {
    /* First cache line: fixed while the page belongs to a cache, read by every thread
     * that hands one of its blocks back (mem_free checks a block against them). */
    _Alignas(64) uint32_t magic;
    uint32_t id;                  /* index in the page table (page.c) */
    struct mem__pool_state* pool;
    mem__atomic(struct mem__cache*) cache; /* the owning cache (snapshots read it) */
    unsigned char* blocks;        /* first block */
    size_t stride;                /* bytes from one block to the next */
    uint32_t block_count;         /* blocks the page holds */
    uint8_t size_class;
    size_t capacity;              /* payload bytes of each block (its class capacity) */
    void* raw;                    /* the system allocation */
    /* Second line: the owner's, changed by every allocation and release, so a release
     * on the owner's thread touches these two lines of the page and no more. */
    _Alignas(64) MemoryContainer* free; /* free blocks (FIFO in tracking builds) */
    MemoryContainer* free_tail;   /* tracking builds only (FIFO) */
    struct mem__page* next;       /* links of the list the page is on */
    struct mem__page* prev;
    uint32_t carved;              /* blocks handed out at least once */
    uint32_t used;                /* live blocks, including those on a remote list */
    uint32_t registry_index;
    uint32_t custody;             /* free blocks a validation has set aside */
    uint8_t list;                 /* enum mem__page_list */
    size_t bytes;                 /* size of the system allocation */
} mem__page;
_Static_assert(sizeof(mem__page) == 128, "a page's header is two cache lines");

/* Lists of pages by size class with a bitmap of the non-empty ones (bins.c). */
typedef struct mem__page_bins {
    mem__page* head[MEM__SIZE_CLASS_COUNT];
    uint64_t bitmap[MEM__CLASS_BITMAP_WORDS];
    size_t count;
    size_t bytes; /* capacities of the binned pages' blocks */
} mem__page_bins;

/* ---- caches: one per thread state and pool, plus each pool's own. */
#define MEM__PAGE_ORDERS 8 /* small page sizes: MEM_PAGE_MIN_BYTES << 0..7 */
typedef struct mem__cache_counts {
    size_t containers;      /* carved blocks in the cache's pages */
    size_t container_bytes;
    size_t orphans;         /* of those, free (wiped) */
    size_t orphan_bytes;
    uint64_t hits;          /* large releases (other hits: mem__cache_counts_add) */
    uint64_t misses;        /* allocations that needed the pool */
    uint64_t reuses;        /* allocations served by a free block */
    uint64_t carves;        /* allocations that made a new container */
    /* Per small class, what the hot paths count instead of three fields each (one
     * increment of its own, not a chain through `orphans`): blocks taken from a free
     * list (each one orphan and its capacity less, one reuse more) and blocks put back
     * (one orphan and its capacity more, one hit more). mem__cache_counts_add folds
     * them into the fields above, and counts as hits every allocation that was not a
     * miss (reuses + carves - misses): nothing counts those hits one by one. */
    uint64_t taken[MEM__SMALL_CLASS_COUNT];
    uint64_t put[MEM__SMALL_CLASS_COUNT];
} mem__cache_counts;

/* A cache's `frozen` (freeze.c): no snapshot; one claimed it and runs its heavy
 * barrier (owners still enter, with a fence); one holds it (owners wait). */
#define MEM__FROZEN_CLAIMED 1u
#define MEM__FROZEN_HELD 2u

typedef struct mem__cache {
    /* Owner side: plain accesses by the owner, read by snapshots while frozen. */
    mem__page* queue[MEM__SMALL_CLASS_COUNT]; /* pages with a block to hand out */
    mem__page* full;                          /* small pages with nothing to hand out */
    mem__page* empty[MEM__PAGE_ORDERS];       /* empty small pages kept, by page size */
    unsigned empty_count;
    mem__page* large_live;                    /* pages of live large containers */
    mem__page_bins large;                     /* released large containers, by class */
    size_t spare_bytes;                       /* page bytes of the empty pages and `large` */
    mem__cache_counts counts;
    uint64_t next_serial;                     /* serials taken from the pool, a block at a time */
    uint64_t serial_end;
    /* The snapshot protocol (freeze.c). */
    mem__atomic(uint32_t) frozen;        /* 0, MEM__FROZEN_CLAIMED or MEM__FROZEN_HELD */
    mem__atomic(uint32_t) owner_waiting; /* the owner waits for a snapshot to finish */
    /* Identity. */
    mem__atomic(struct mem__pool_state*) pool; /* NULL while the slot is unused */
    uint64_t pool_generation;
    struct mem__thread_state* state; /* NULL for a pool's own cache */
    struct mem__cache* next_in_pool;
    /* Each queue's last page (hot.h): read when a full page gets a block back, written
     * when a page joins or leaves a queue's end. Here, after the fields the common
     * paths use, so those keep their places on their cache lines. */
    mem__page* queue_tail[MEM__SMALL_CLASS_COUNT];
    /* Blocks and carriers of released references handed back by other threads
     * (remote.c): an atomic list, tagged in its low bits. On a cache line of its own:
     * other threads write it, and the owner's fields must not move with it. */
    MEM__LINE_GAP(gap_before_remote);
    mem__atomic(uintptr_t) remote;
    MEM__LINE_GAP(gap_after_remote);
} mem__cache;

/* ---- pools */
#define MEM__POOL_MAGIC UINT32_C(0x4d4b504c) /* "MKPL" */

struct mem__pool_state {
    mem__mutex mutex;          /* the registry, the own cache, the lists below, counters */
    mem__mutex snapshot_mutex; /* one snapshot at a time; taken before `mutex` */
    uint64_t generation;       /* distinct for every initialisation of any pool */
    mem__page** registry;      /* every page of the pool (NULL: a hole, see registry.c) */
    size_t count;
    size_t registry_holes;
    size_t capacity;
    size_t initial_capacity;
    size_t page_bytes;         /* bytes of all registered pages' system allocations */
    size_t peak_bytes;         /* the most page_bytes ever was */
    mem__cache own;            /* the pool's cache, under `mutex`: empty pages, released
                                  large containers, and threads without a cache of their own */
    size_t orphan_budget;      /* page bytes the stock (own.spare_bytes) may hold */
    uint64_t next_serial;
    uint64_t lock_acquisitions;
    mem__atomic(uint32_t) lock_waiters; /* threads waiting for `mutex` (paces snapshots) */
    uint64_t cache_exchanges;
    uint64_t orphans_freed;
    mem__cache* caches;        /* thread caches of this pool */
    mem__page* deferred_frees; /* pages unregistered while a validation walks them */
    bool validating;
    uint64_t snapshot_held_since_ns; /* under snapshot_mutex: pacing (freeze.c) */
    uint64_t snapshot_resume_ns;
    /* Owners kept waiting by a snapshot (mem__owner_wait_counted): how often, and the
     * longest wait. Written by the owners, read by mem_pool_stats. */
    mem__atomic(uint64_t) snapshot_waits;
    mem__atomic(uint64_t) snapshot_wait_max_ns;
    mem__atomic(bool) rcu_used;         /* a publish happened: destroy refuses inside a section */
    mem__atomic(uint64_t) rcu_pending; /* deferred releases not run yet: destroy waits for them */
    struct mem__pool_state* live_next; /* the set of live pools (pool.c) */
};

/* ---- object heaps: handles and arena headers (objects.c). Objects are type-stable:
 * their memory is never returned to the system, and a destroyed object waits in a
 * FIFO quarantine before reuse, so a stale handle still reads as destroyed. */
enum { MEM__HEAP_HANDLES, MEM__HEAP_ARENAS, MEM__HEAP_COUNT };

typedef struct mem__object_heap {
    void* head;       /* destroyed objects, oldest first (owner only) */
    void* tail;
    size_t length;
    void* fresh;      /* never-used objects (owner only) */
    /* Atomic: objects destroyed by other threads; on a line of its own, as the cache's. */
    MEM__LINE_GAP(gap_before_remote);
    uintptr_t remote;
    MEM__LINE_GAP(gap_after_remote);
} mem__object_heap;

/* A reference dropped by a thread that does not own the container, on its way to the
 * owner (remote.c): the release record of a deferred RCU release starts with this. */
typedef struct mem__carried_ref {
    uint64_t link;
    MemoryContainer* container;
} mem__carried_ref;

/* ---- thread states (thread_state.c) */
typedef struct mem__thread_state {
    mem__atomic(uint64_t) seq; /* odd while the owner is inside an owner section */
    uint16_t index;     /* 1..MEM__MAX_STATES */
    struct mem__cache* last_cache; /* the cache the last call used (a hint) */
    /* Read by every thread that hands something back: apart from the owner's fields. */
    MEM__LINE_GAP(gap_before_abandoned);
    mem__atomic(uint32_t) abandoned; /* its thread exited; waits for a new thread to adopt it */
    mem__atomic(uint32_t) retired;   /* its thread ran its last section and nobody adopted
                                        it yet: its caches freeze without the heavy
                                        barrier (freeze.c) */
    MEM__LINE_GAP(gap_after_abandoned);
    mem__cache caches[MEM_THREAD_CACHE_POOLS];
    mem__object_heap heaps[MEM__HEAP_COUNT];
    MemoryArena* spare_arenas; /* released request arenas, ready for reuse */
    MemoryArena* owned_arenas; /* every request arena of the thread */
    size_t kept_arena_bytes;   /* chunk bytes of the spare arenas */
    struct mem__thread_state* next_abandoned;
} mem__thread_state;

/* ---- handles */
#define MEM__POINTER_MAGIC UINT32_C(0x4d4b5054)      /* "MKPT" */
#define MEM__POINTER_MAGIC_DEAD UINT32_C(0x44454144) /* "DEAD" */
#define MEM__CARRIER_MAGIC UINT32_C(0x4d4b4352)      /* "MKCR": a reference in transit */
enum {
    MEM__POINTER_PUBLISHED = 1u, /* replaced through mem_pointer_publish: RCU-protected */
    MEM__POINTER_LOCAL_REF = 2u, /* its reference is counted in the owner's `refcount` */
    MEM__POINTER_IN_CALL = 4u    /* debug builds: a call on it is running (shares of it
                                    are counted in the high byte) */
};

/* ---- arenas */
#define MEM__ARENA_MAGIC UINT32_C(0x4d4b4152)      /* "MKAR" */
#define MEM__ARENA_MAGIC_DEAD UINT32_C(0x44454144) /* "DEAD" */
#define MEM__ARENA_MAGIC_IDLE UINT32_C(0x49444c45) /* "IDLE": a released request arena */
enum {
    MEM__ARENA_REQUEST = 1u /* a thread's request arena (its magic says whether acquired) */
};

typedef struct mem__arena_chunk {
    struct mem__arena_chunk* next;
    size_t capacity;
    size_t used; /* not kept for the arena's current chunk: its window says */
    void* block; /* what the system allocator returned: the chunk lies inside it */
    _Alignas(16) unsigned char data[]; /* on a cache line (arena.c) */
} mem__arena_chunk;

/* The first fields match MemoryPointer's private layout (the object heap's contract):
 * two pointers, the link, the magic, flags and the owner. */
struct MemoryArena {
    MemoryArenaWindow window; /* the current chunk's free space (the public header's) */
    uint64_t link;            /* object heap link; request arenas: the owner's spare stack */
    uint32_t magic;
    uint16_t flags;
    uint16_t owner; /* the thread state whose object heap holds it */
    mem__arena_chunk* first;
    mem__arena_chunk* current; /* its `used` is the window's; every other chunk's is its own */
    size_t total_capacity;
    mem__thread_state* request_owner; /* request arenas: the acquiring thread's state */
    struct MemoryArena* next_owned;   /* request arenas: the owner's list of all */
};

#endif /* MEMKIT_SRC_TYPES_H */
