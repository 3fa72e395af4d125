/*
 * internal.h - what the library's translation units share and nothing outside sees:
 * the prototypes of each source file, grouped under its name, and the few inline
 * functions of the hot path. The objects are in types.h, the atomics in atomic.h,
 * the sanitizer and valgrind marks in track.h. Internal names carry the mem__ prefix.
 */
#ifndef MEMKIT_INTERNAL_H
#define MEMKIT_INTERNAL_H

/* POSIX and GNU declarations (strnlen, syscall, ...) under -std=c11; this header comes
 * first in every file. */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE 1
#endif

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "memkit.h"
#include "types.h"

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
/* Starts loading the line at `address` for a write soon. Any address will do, NULL
 * included: a prefetch never faults. */
#define mem__prefetch_for_write(address) __builtin_prefetch((address), 1)
/* For the few hot-path helpers the compiler would otherwise call out of line. */
#define mem__always_inline inline __attribute__((always_inline))
/* For a body inlined into callers that each pass it different constants (a name's
 * kind), so that each copy folds to its own straight-line code: forced inline when
 * optimising; at -O0 an ordinary function, so that a coverage build counts its
 * branches once rather than once per copy, most of them dead in each. */
#ifdef __OPTIMIZE__
#define mem__inline_specialised mem__always_inline
#else
#define mem__inline_specialised inline
#endif
#define mem__noinline __attribute__((noinline))

/* ---- checked size arithmetic */
static inline bool mem__mul_overflows(size_t a, size_t b, size_t* product) {
    return __builtin_mul_overflow(a, b, product);
}
static inline bool mem__is_power_of_two(size_t x) { return x != 0 && (x & (x - 1)) == 0; }
static inline size_t mem__align_up(size_t x, size_t alignment) { return (x + alignment - 1) & ~(alignment - 1); }

/* ---- error.c, log.c */
void mem__set_error(MemError error);
/* Records `error` and returns false / NULL, for one-line failure returns. */
bool mem__fail(MemError error);
void* mem__fail_null(MemError error);
void mem__log(MemLogLevel level, const char* format, ...) MEM_ATTR_FORMAT(2, 3);

/* ---- system.c: the system allocator. These never call the OOM handler and never
 * set an error: callers drop their locks first, then report. */
void* mem__sys_alloc(size_t size);
void* mem__sys_realloc(void* block, size_t size);
void mem__sys_free(void* block);
/* A failed system allocation that makes the calling API call fail: sets
 * MEM_ERR_OUT_OF_MEMORY and calls the OOM handler with `requested`. */
void mem__out_of_memory(size_t requested);
/* A failed system allocation the call survives (it fell back on another way): calls
 * the OOM handler only, so a successful call leaves the error alone. */
void mem__out_of_memory_absorbed(size_t requested);
/* True when mem__wipe stores `size` bytes inline (16 to 64). */
static inline bool mem__wipe_is_inline(size_t size) { return size - 16 <= 64 - 16; }
/* mem__wipe of 16 to 64 bytes (mem__wipe_is_inline): never a call. */
static inline void mem__wipe_inline(void* block, size_t size) {
    unsigned char* bytes = block;
    memset(bytes, 0, 16);
    memset(bytes + size - 16, 0, 16);
    if (size > 32) {
        memset(bytes + 16, 0, 16);
        memset(bytes + size - 32, 0, 16);
    }
    __asm__ __volatile__("" : : "r"(block) : "memory");
}
/* mem__wipe through memset, at any size. */
static inline void* mem__wipe_memset(void* block, size_t size) {
    void* wiped = memset(block, 0, size);
    __asm__ __volatile__("" : : "r"(wiped) : "memory");
    return wiped;
}
/* Zeroes `size` bytes in a way the compiler cannot elide: the empty asm statement
 * claims to read the block, so the stores must happen (explicit_bzero's technique,
 * without its two calls). 16 to 64 bytes inline, with two or four 16-byte stores that
 * overlap as needed (memset's own trick, without its call); more through memset.
 * Returns `block`, as memset does: a caller that uses the result keeps nothing
 * across the call. */
static inline void* mem__wipe(void* block, size_t size) {
    /* Likely: the layout mem_free had before the inline part had a function of its own
     * (fall through to the stores, jump to memset), which gcc otherwise inverts. */
    if (mem__likely(mem__wipe_is_inline(size))) {
        mem__wipe_inline(block, size);
        return block;
    }
    return mem__wipe_memset(block, size);
}

/* For debug assertions: true when the first and the last (up to) 64 of `size` bytes
 * read zero, as a wiped block's do. */
static inline bool mem__reads_zero(const void* block, size_t size) {
    const unsigned char* bytes = block;
    size_t sample = size < 64 ? size : 64;
    for (size_t i = 0; i < sample; i++) {
        if (bytes[i] != 0 || bytes[size - 1 - i] != 0) {
            return false;
        }
    }
    return true;
}

/* mem__wipe for bytes the caller wrote a moment ago (a request arena's chunk at its
 * release), which are still in the first-level cache: wiped in pieces of 2 KiB up to
 * 32 KiB. glibc's memset uses `rep stosb` above 2 KiB, which on the AMD EPYC these
 * figures come from zeroes cached bytes about 40 % slower than the vector loop it
 * uses for pieces (8.6 KiB: 53 ns against 33); on bytes already out of that cache
 * the pieces cost about 10 % more, hence the bound. Larger wipes take one memset. */
#define MEM__WIPE_PIECE 2048u
#define MEM__WIPE_PIECES_UP_TO (32u * 1024u)
static inline void mem__wipe_recent(void* block, size_t size) {
    unsigned char* bytes = block;
    if (size > MEM__WIPE_PIECE && size <= MEM__WIPE_PIECES_UP_TO) {
        /* Hidden from the compiler, which would otherwise expand a memset of a constant
         * 2 KiB into `rep stosq`, the slow form again. */
        size_t piece = MEM__WIPE_PIECE;
        __asm__("" : "+r"(piece));
        /* Every piece through memset, the last one too, never mem__wipe's inline
         * stores: those need a zeroed SSE register, which the compiler zeroes again
         * after each call, and on the Intel VM (Ice Lake) an SSE instruction that
         * writes a register right after glibc's memset returns waits. Four 2 KiB
         * pieces took 44-47 ns, 47-71 ns (median 65) with a `pxor %xmm0` after each
         * call, 43-49 ns with `vzeroupper` before that `pxor` (a throwaway C program). */
        for (; size > piece; bytes += piece, size -= piece) {
            mem__wipe_memset(bytes, piece);
        }
        mem__wipe_memset(bytes, size);
        return;
    }
    mem__wipe(bytes, size);
}

/* ---- ids.c: computed when asked for, from a container's serial and size */
uint64_t mem__fnv1a64(uint64_t hash, const void* bytes, size_t length);
#define MEM__FNV_OFFSET_BASIS UINT64_C(0xcbf29ce484222325)
uint64_t mem__container_id(const MemoryContainer* c);

/* ---- page.c */
/* The page with id `id` (a live container's page id always resolves; mem__page_of in
 * hot.h is the inline form). */
mem__page* mem__page_lookup(uint32_t id);
/* The page table's lock, held across fork (fork.c). */
void mem__page_table_lock(void);
void mem__page_table_unlock(void);
size_t mem__block_stride(unsigned size_class);
/* Bytes of the system allocation a page of `size_class` takes (`single`: a page that
 * holds one block, as every large container's does). */
size_t mem__page_bytes_for(unsigned size_class, bool single);
/* Small pages come in MEM__PAGE_ORDERS sizes; the index of `bytes`. */
unsigned mem__page_order(size_t bytes);
/* A new page for `size_class`, unregistered and owned by nobody, with an id; NULL when
 * the system allocator fails (nothing reported). */
mem__page* mem__page_new(struct mem__pool_state* st, unsigned size_class, bool single);
/* Lays an empty page out again for another size class of the same page size. */
void mem__page_reformat(mem__page* page, unsigned size_class);
MemoryContainer* mem__page_block(const mem__page* page, uint32_t index);
/* The next never-used block, header set and payload zeroed, or NULL. */
MemoryContainer* mem__page_carve(mem__page* page);
/* Wipes what live blocks hold, releases the id and frees the allocation. */
void mem__page_free(mem__page* page);
/* Doubly linked page lists (queue, full, empty, large live); inline, as every page
 * that fills up or gets a block back moves between two of them. */
static inline void mem__page_list_push(mem__page** head, mem__page* page, uint8_t list) {
    page->prev = NULL;
    page->next = *head;
    if (*head != NULL) {
        (*head)->prev = page;
    }
    *head = page;
    page->list = list;
}

static inline void mem__page_list_remove(mem__page** head, mem__page* page) {
    if (page->prev != NULL) {
        page->prev->next = page->next;
    } else {
        *head = page->next;
    }
    if (page->next != NULL) {
        page->next->prev = page->prev;
    }
    page->next = page->prev = NULL;
    page->list = MEM__LIST_NONE;
}

/* ---- bins.c: pages by size class with a bitmap (guarded by the caller) */
void mem__bins_push(mem__page_bins* bins, mem__page* page);
void mem__bins_remove(mem__page_bins* bins, mem__page* page);
/* The page of the smallest class in [cls, cls + slack] (still binned), or NULL. */
mem__page* mem__bins_find_fit(const mem__page_bins* bins, unsigned cls, unsigned slack);
/* A page of the largest class (still binned), or NULL. */
mem__page* mem__bins_largest(const mem__page_bins* bins);
bool mem__bins_bitmap_matches(const mem__page_bins* bins, unsigned cls);

/* ---- registry.c: the pool's pages, pool locked. Add fails (returning false) only
 * when growing the array fails. Remove never fails; a shrink that cannot get memory
 * keeps the larger array and returns the bytes it asked for (0 otherwise), for the
 * caller to report once unlocked. */
bool mem__registry_add(struct mem__pool_state* st, mem__page* page);
size_t mem__registry_remove(struct mem__pool_state* st, mem__page* page);
/* A validation ended: closes the holes it left, as removals would have. */
size_t mem__registry_close_holes(struct mem__pool_state* st);

/* ---- freeze.c: the asymmetric protocol between a cache's owner and snapshots.
 * The owner marks itself busy with plain stores (its state's seq odd, then even) and
 * checks the cache's `frozen` flag; a snapshot claims the cache in `frozen`, runs a
 * heavy barrier (membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED); where that is
 * unavailable, both sides use sequentially consistent atomics instead), holds it and
 * waits until the owner is outside its section. */
extern bool mem__owner_fence_needed; /* true until membarrier is registered */
void mem__freeze_setup(void);
/* How snapshots reach the owners in this process, for dumps. */
const char* mem__snapshot_barrier_name(void);
/* Lock order: a pool's snapshot mutex, its mutex, then the caches' flags. A cache of
 * a retired state (its thread exited) freezes without the heavy barrier. */
void mem__freeze(mem__cache* cache);
/* Makes retired state `ts` ownable by the calling thread, which adopts it: clears
 * `retired` and waits until no freeze of its caches that relied on it is running. */
void mem__thaw_for_adoption(mem__thread_state* ts);
/* True when the owner waited for the thaw. */
bool mem__thaw(mem__cache* cache);
/* Every thread cache of `st` at once (one barrier); pool mutex held. */
void mem__freeze_all(struct mem__pool_state* st);
bool mem__thaw_all(struct mem__pool_state* st);
/* The same for snapshots (stats, validate, dump, trim; snapshot mutex held), paced so
 * that a loop of them leaves owners at least 97.5 % of their time. freeze_all also
 * takes the pool mutex, and thaw_all releases it. */
void mem__snapshot_freeze(struct mem__pool_state* st, mem__cache* cache);
void mem__snapshot_thaw(struct mem__pool_state* st, mem__cache* cache);
void mem__snapshot_freeze_all(struct mem__pool_state* st);
void mem__snapshot_thaw_all(struct mem__pool_state* st);
/* The snapshot side's half of the fence against every thread's section entry (after
 * it, mem__wait_quiescent sees any section entered before the call). */
void mem__sections_fence(void);
/* After a fence: waits until `ts` is outside the section it may be inside. */
void mem__wait_quiescent(mem__thread_state* ts);
/* The owner's slow entry: returns once no snapshot holds its cache (spinning briefly,
 * then asleep on the flag); a claim that is not yet a hold lets it go too. */
void mem__owner_wait(mem__cache* cache);
/* mem__owner_wait for an owner that uses the cache's pool (alive, as the API requires
 * of its callers), counted in the pool's snapshot_waits and snapshot_wait_max_ns. */
void mem__owner_wait_counted(mem__cache* cache);

/* An owner section: the odd value its entry stored in the thread's `seq`. Leaving
 * stores the next value from it, so the owner reads `seq` once per section: each
 * read waits for the store before it (a chain through memory across sections). */
typedef uint64_t mem__section;

/* Enters the calling thread's section (not tied to a cache). */
static inline mem__section mem__section_enter(mem__thread_state* ts) {
    mem__section section = mem__atomic_load_relaxed(&ts->seq) + 1;
    if (mem__likely(!mem__atomic_load_relaxed(&mem__owner_fence_needed))) {
        /* Relaxed: the snapshot's membarrier orders this store before the `frozen`
         * load of mem__owner_try_enter, as seen from the snapshot's side. */
        mem__atomic_store_relaxed(&ts->seq, section);
        mem__compiler_barrier();
    } else {
        /* No membarrier: a sequentially consistent read-modify-write, against the
         * snapshot's sequentially consistent store of `frozen` and load of `seq`. */
        mem__atomic_fetch_add_seq_cst(&ts->seq, (uint64_t)1);
    }
    return section;
}

/* Enters the calling thread's owner section for `cache` (*section) unless a
 * snapshot has claimed or holds the cache: then false, out of the section again (the
 * caller takes mem__owner_enter, or a path that does). Sections do not nest. */
static inline bool mem__owner_try_enter(mem__thread_state* ts, mem__cache* cache, mem__section* section) {
    *section = mem__section_enter(ts);
    /* Seq-cst (a plain load on x86 and AArch64): the fallback needs it; it also
     * acquires, pairing with the release store that thaws the cache, so the
     * snapshot's accesses happen before the owner's. */
    if (mem__likely(!mem__atomic_load_seq_cst(&cache->frozen))) {
        return true;
    }
    /* Release: out of the section again, so the snapshot goes on. */
    mem__atomic_store_release(&ts->seq, *section + 1);
    return false;
}

/* The owner's entry while a snapshot has claimed its cache and runs its heavy
 * barrier: with a fence, so the snapshot waits for this section instead of the owner
 * for the barrier. True, inside the section (*section), unless the snapshot holds the
 * cache by now. */
bool mem__owner_enter_claimed(mem__thread_state* ts, mem__cache* cache, mem__section* section);

/* Enters the calling thread's owner section for `cache`, once no snapshot holds the
 * cache (a snapshot that only claimed it waits for the section instead). */
static inline mem__section mem__owner_enter(mem__thread_state* ts, mem__cache* cache) {
    mem__section section;
    while (mem__unlikely(!mem__owner_try_enter(ts, cache, &section))) {
        if (mem__owner_enter_claimed(ts, cache, &section)) {
            break;
        }
        mem__owner_wait_counted(cache);
    }
    return section;
}

static inline void mem__owner_leave(mem__thread_state* ts, mem__section section) {
    /* Release: a snapshot that reads the even value sees every access of the section. */
    mem__atomic_store_release(&ts->seq, section + 1);
}

/* ---- thread_state.c (the single-threaded build's one state: single_thread.c) */
extern mem__thread_local mem__thread_state* mem__current_state;
/* The calling thread's state, made or adopted and installed as mem__current_state
 * with its exit handled; NULL when out of memory (the OOM handler was told). */
mem__thread_state* mem__thread_state_create(void);
/* Adopts an abandoned state or makes one; NULL when neither is possible (the OOM
 * handler was told). */
mem__thread_state* mem__thread_state_acquire(void);
/* Gives back what `ts`, the calling thread's state, keeps that others can use and
 * leaves it for adoption; the thread runs no more sections of it and has no state
 * any more. */
void mem__thread_state_retire(mem__thread_state* ts);
/* The lock over making and adopting states, held across fork (fork.c). */
void mem__thread_states_lock(void);
void mem__thread_states_unlock(void);
/* The calling thread's state, created on first use; NULL when that fails (the OOM
 * handler was told; the caller falls back on the pool's own cache). */
static inline mem__thread_state* mem__this_thread(void) {
    mem__thread_state* ts = mem__current_state;
    return mem__likely(ts != NULL) ? ts : mem__thread_state_create();
}
/* The calling thread's state if it has one; never creates one. */
static inline mem__thread_state* mem__this_thread_peek(void) { return mem__current_state; }
static inline uint16_t mem__state_index(const mem__thread_state* ts) {
    return ts != NULL ? ts->index : (uint16_t)MEM__NO_STATE;
}
/* The state with `index`, or NULL. */
mem__thread_state* mem__state_lookup(uint16_t index);
/* Calls `visit` for every thread state ever made (live or waiting for adoption). */
void mem__states_for_each(void (*visit)(mem__thread_state* ts, void* context), void* context);
/* Waits until no thread is inside a section it entered before this call. */
void mem__wait_for_sections(void);

/* ---- cache.c: a cache's pages and blocks, beyond the inline fast paths of hot.h.
 * Every function here runs with the cache held: an owner section, a freeze, or (a
 * pool's own cache) the pool mutex. */
/* The calling thread's cache for `st` when its hint missed: found among its slots, or
 * attached to a free one; NULL when all its slots serve other pools. */
mem__cache* mem__cache_find(mem__thread_state* ts, struct mem__pool_state* st);
/* mem__cache_take when no page of the class is queued: an empty page of the right
 * size kept by the cache, or a released large container; NULL when the cache needs
 * a page from the pool. */
MemoryContainer* mem__cache_take_slow(mem__cache* cache, unsigned cls);
/* A block of `page`, which the cache holds and which has one to hand out. */
MemoryContainer* mem__cache_take_from(mem__cache* cache, mem__page* page);
/* After a put: moves the page to the list its state now calls for. */
void mem__cache_relist(mem__cache* cache, mem__page* page);
/* Takes `page` (from the pool, empty or fresh) into the cache, ready to hand out. */
void mem__cache_install(mem__cache* cache, mem__page* page);
/* Takes an empty page into the cache's spares (empty pages, released large ones). */
void mem__cache_keep_empty(mem__cache* cache, mem__page* page);
/* Detaches what passes the cache's keep limits (every empty page and released large
 * container when `everything`), chained through `next`, for the pool. */
mem__page* mem__cache_surplus(mem__cache* cache, bool everything);
/* A validation sets a spare page (empty, or a released large container) aside while it
 * reads it, and takes it back onto `list` (its counters stay the cache's meanwhile). */
void mem__cache_set_aside(mem__cache* cache, mem__page* page);
void mem__cache_take_back(mem__cache* cache, mem__page* page, uint8_t list);
/* Detaches `page` from `cache` (counters included). */
void mem__cache_detach_page(mem__cache* cache, mem__page* page);
/* Adds `part` to `sum`, its per-class counts folded in (sum's are left 0). */
void mem__cache_counts_add(mem__cache_counts* sum, const mem__cache_counts* part);

/* ---- remote.c: references and blocks handed back to a cache by other threads */
enum { MEM__REMOTE_BLOCK = 0, MEM__REMOTE_CARRIER = 1, MEM__REMOTE_RECORD = 2, MEM__REMOTE_TAGS = 7 };
/* A remote list's entry is an item's address with its tag in the low bits (items are
 * at least 8-byte aligned); 0 ends the list. */
static inline unsigned mem__remote_tag(uintptr_t entry) { return (unsigned)(entry & MEM__REMOTE_TAGS); }
static inline void* mem__remote_item(uintptr_t entry) { return (void*)(entry & ~(uintptr_t)MEM__REMOTE_TAGS); }
/* The entry after `item` (tagged `tag`): each kind keeps its link in its own field. */
static inline uintptr_t mem__remote_link(const void* item, unsigned tag) {
    switch (tag) {
    case MEM__REMOTE_BLOCK:
        return (uintptr_t)((const MemoryContainer*)item)->serial;
    case MEM__REMOTE_CARRIER:
        return (uintptr_t)((const MemoryPointer*)item)->generation;
    default:
        return (uintptr_t)((const mem__carried_ref*)item)->link;
    }
}
/* Pushes a tagged item on `cache`'s remote list; when the cache's thread has exited,
 * collects the list itself (freezing the cache). Never inside a section. */
void mem__remote_push(mem__cache* cache, void* item, unsigned tag);
bool mem__remote_pending(const mem__cache* cache);
/* Takes the whole list and processes it; cache held. */
void mem__remote_collect(mem__cache* cache);

/* ---- carriers, inline: handle.c and pointer.c make them, remote.c takes them apart.
 * A dead handle or message object carries the container it drops in its `container`
 * field with the top bit flipped: non-canonical on x86-64 and AArch64, so reading it
 * through a stale handle faults at once. */
#define MEM__CARRIER_POISON (UINT64_C(1) << 63)
static inline uintptr_t mem__carrier_encode(const MemoryContainer* c) {
    return (uintptr_t)c ^ (uintptr_t)MEM__CARRIER_POISON;
}
static inline MemoryContainer* mem__carrier_decode(uintptr_t value) {
    return (MemoryContainer*)(value ^ (uintptr_t)MEM__CARRIER_POISON);
}

/* ---- the pool mutex, inline: caches, the stock, snapshots and the pool itself take it */
/* Takes the pool mutex, counted in lock_acquisitions. A thread that finds it taken
 * spins, then sleeps, and meanwhile counts itself in lock_waiters. */
static inline void mem__pool_lock(struct mem__pool_state* st) {
    if (mem__unlikely(!mem__mutex_trylock(&st->mutex))) {
        /* Relaxed: a hint that paces snapshots (freeze.c), not a synchronisation. */
        mem__atomic_fetch_add_relaxed(&st->lock_waiters, 1u);
        mem__mutex_lock_spinning(&st->mutex);
        mem__atomic_fetch_sub_relaxed(&st->lock_waiters, 1u);
    }
    st->lock_acquisitions++;
}

static inline void mem__pool_unlock(struct mem__pool_state* st) { mem__mutex_unlock(&st->mutex); }

/* ---- pool_stock.c: pages the pool keeps and makes, for caches */
/* Pool locked: an empty page or released large container from the pool's own stock
 * that fits class `cls`, detached; NULL if none. */
mem__page* mem__stock_take(struct mem__pool_state* st, unsigned cls);
/* Pool unlocked: a new registered page for `cls` (`single`: of one block); NULL with
 * the error set and the OOM handler called when the system allocator fails. */
mem__page* mem__stock_new_page(struct mem__pool_state* st, unsigned cls, bool single);
/* Pool locked: takes the detached, empty pages chained in `pages` into the stock, or
 * unregisters those that would pass the orphan budget and chains them onto *to_free.
 * Returns the bytes of a registry shrink that failed (report it once unlocked). */
size_t mem__stock_put(struct mem__pool_state* st, mem__page* pages, mem__page** to_free);
/* Pool unlocked: frees a chain of unregistered pages; returns the bytes freed. */
size_t mem__free_pages(mem__page* chain);
/* Pool unlocked: hands surplus pages of a cache to the pool. */
void mem__stock_return(struct mem__pool_state* st, mem__page* pages);
/* Pool locked: unregisters an empty, detached page and chains it for freeing (onto
 * *to_free, or the pool's deferred frees while a validation runs); returns the bytes
 * of a failed registry shrink. */
size_t mem__stock_unregister(struct mem__pool_state* st, mem__page* page, mem__page** to_free);
/* Pool locked: unregisters the stock's orphans until they fit `budget`. */
size_t mem__stock_evict(struct mem__pool_state* st, size_t budget, mem__page** to_free);
/* The pool's thread cache after `cache` (the first for NULL), read under the pool
 * mutex: a walk that does not hold it sees the list as attaching threads change it.
 * Caches leave the list only at pool destroy. */
mem__cache* mem__pool_next_cache(struct mem__pool_state* st, const mem__cache* cache);

/* ---- alloc.c: containers for pointers and blocks */
/* How a new container starts: its first reference counted in its owner's refcount
 * (a handle's, when the owner is the calling thread), in its shared count (RCU
 * publication), or as a mem_malloc block (no handle, no serial and no counted
 * reference: its caller holds it; state MEM__STATE_BLOCK). */
typedef enum mem__birth { MEM__BIRTH_OWNED, MEM__BIRTH_SHARED, MEM__BIRTH_BLOCK } mem__birth;
/* A live container of `size` bytes from `st`: through the calling thread's cache,
 * else the pool's own cache. *local tells whether its first reference is counted in
 * the owner's refcount (else in shared). NULL with the error set (OOM handler
 * called) on failure. The inline mem__container_new (hot.h) serves the common case
 * and calls this for the rest. */
MemoryContainer* mem__container_obtain(struct mem__pool_state* st, unsigned cls, size_t size, mem__birth birth,
                                       bool* local);
/* mem__container_obtain without its first step (the inline take of a queued page's
 * last block, mem__container_take_inline with take_last), for callers that just
 * made that attempt: the cache's other pages, a new page, the remote list, the pool.
 * Same contract. */
MemoryContainer* mem__container_obtain_general(struct mem__pool_state* st, unsigned cls, size_t size,
                                               mem__birth birth, bool* local);
/* Releases a container whose last reference is gone: wipes it and gives it back to
 * its cache, directly when the caller may, else through the owner's remote list.
 * Never inside a section. */
void mem__container_release(MemoryContainer* c);
/* The same when the caller has looked up `c`'s page already: mem__container_release_in
 * in hot.h. Its part for a container of the pool's own cache, wiped already, `cache`
 * its page's: */
void mem__container_release_to_pool(struct mem__pool_state* st, mem__page* page, mem__cache* cache,
                                     MemoryContainer* c);
/* The same with `cache`, the container's, held by the caller. */
void mem__container_release_held(mem__cache* cache, MemoryContainer* c);
/* mem__container_release_in's rest, for `c` (wiped) of `page` of `cache`: the owner's
 * thread while a snapshot holds the cache (waits for it), the pool's own cache
 * (under its mutex), another thread (the owner's remote list). */
void mem__container_release_wiped(mem__page* page, mem__cache* cache, MemoryContainer* c);
/* In the owner's section `section` of `cache`, after mem__cache_put_block said
 * `page` must move: moves it, trims the cache if that put it over its limits, and
 * leaves the section. */
void mem__cache_page_moved(mem__thread_state* ts, mem__section section, mem__cache* cache, mem__page* page);

/* ---- refcount.c: biased reference counting (see types.h) */
/* Adds a reference for the calling thread: true and *local when counted in refcount,
 * false with MEM_ERR_REFCOUNT_OVERFLOW at the limit. Never inside a section. */
bool mem__ref_add(MemoryContainer* c, bool* local);
/* Adds a reference counted in `shared` (atomically, any thread); false with
 * MEM_ERR_REFCOUNT_OVERFLOW at the limit. mem__ref_add_held (hot.h) is the same as
 * mem__ref_add inside a section. */
bool mem__ref_add_shared(MemoryContainer* c);
/* Drops a reference counted in `shared`; releases the container when it was the last. */
void mem__ref_drop_shared(MemoryContainer* c);
/* Drops a reference counted in refcount, on the owner's thread inside an owner
 * section (or with the cache frozen); releases the container when it was the last. */
void mem__ref_drop_local_held(mem__cache* cache, MemoryContainer* c);
/* The owner's count was 1 and is now 0: merges with `shared`; true when that was the
 * container's last reference of all. */
bool mem__ref_drop_last_local(MemoryContainer* c);
/* mem__ref_drop_local_in's (hot.h) rarer ends, out of line so that its common ones
 * need no stack frame; each leaves the owner's section `section` of `cache`. The last
 * reference to `c` of `page` is gone: a small container is wiped (through memset)
 * inside the section and put back, a large one released after it. */
void mem__ref_release_last_local(mem__thread_state* ts, mem__section section, mem__cache* cache, mem__page* page,
                                 MemoryContainer* c);
/* The owner's count of `c` was 1 with references counted in `shared` (or 0): merges,
 * and releases `c` when that was its last reference of all. */
void mem__ref_drop_local_merging(mem__thread_state* ts, mem__section section, mem__cache* cache, MemoryContainer* c);
/* References in total (a snapshot when other threads share the container). */
uint32_t mem__ref_total(const MemoryContainer* c);
/* True when the calling thread owns `c` (its refcount is this thread's to change). */
static inline bool mem__ref_is_owner(const MemoryContainer* c) {
    mem__thread_state* ts = mem__this_thread_peek();
    return ts != NULL && c->owner == ts->index;
}

/* ---- objects.c: handles and arena headers */
typedef struct mem__object_kind {
    size_t size;
    unsigned heap;      /* index in each state's heaps */
    mem__mutex mutex;   /* the shared FIFO and the chunk list */
    void* shared_head;  /* destroyed objects of exited threads and overflow, oldest first */
    void* shared_tail;
    size_t shared_length;
    void* chunks;       /* every chunk, never freed */
    void* fresh;        /* never-used objects, for threads without a heap */
} mem__object_kind;
extern mem__object_kind mem__handle_kind; /* handle.c */
extern mem__object_kind mem__arena_kind;  /* arena.c */
/* An object whose owner field names the calling thread's state (MEM__NO_STATE when it
 * has none); other fields unspecified. NULL (error set, OOM handler called) on failure. */
void* mem__object_alloc(mem__object_kind* kind);
/* Quarantines a destroyed object: in the calling thread's heap when it owns it, else
 * on its owner's remote list. */
void mem__object_free(mem__object_kind* kind, void* object);
/* mem__object_pop's slow path: collects the heap's remote list, then never-used
 * objects, then a batch from the shared FIFO; NULL when all are empty. */
void* mem__object_take(mem__object_kind* kind, mem__object_heap* heap);
/* mem__object_push's overflow: moves the oldest objects to the shared FIFO. */
void mem__object_spill(mem__object_kind* kind, mem__object_heap* heap);
/* Thread exit: hands the state's destroyed objects to the shared FIFO. */
void mem__object_heaps_retire(mem__thread_state* ts);
/* Calls `visit` for every object of `kind` ever made; the kind's mutex is held. */
void mem__objects_for_each(mem__object_kind* kind, void (*visit)(void* object, void* context), void* context);

/* ---- handle.c */
/* A handle's name as the caller gave it: NUL-terminated (`length` is
 * MEM__NAME_TERMINATED), or its first `length` bytes (mem_pointer_create_n). */
typedef struct mem__name {
    const char* text;
    size_t length;
} mem__name;
#define MEM__NAME_TERMINATED SIZE_MAX
/* A live handle named `name` from the shared heaps or new memory (mem__handle_new in
 * hot.h is the inline fast path); NULL (error set, OOM handler called) on failure. */
MemoryPointer* mem__handle_alloc(mem__name name, MemoryPool* pool, uint64_t generation);
/* Destroys a handle (public fields NULL, magic DEAD) and quarantines it. */
void mem__handle_free(MemoryPointer* handle);
/* Reports why `ptr` is not a live handle (NULL, destroyed, or not one); NULL. */
MemoryPointer* mem__pointer_invalid(const MemoryPointer* ptr);
/* The handle if it is a live MemoryPointer, else NULL with the error set. */
static inline MemoryPointer* mem__pointer_check(const MemoryPointer* ptr) {
    /* Acquire: pairs with the release store that made the handle live. */
    if (mem__likely(ptr != NULL && mem__atomic_load_acquire(&ptr->magic) == MEM__POINTER_MAGIC)) {
        return (MemoryPointer*)ptr;
    }
    return mem__pointer_invalid(ptr);
}
/* The magic of any handle-sized object, readable even where tracking forbids it. */
uint32_t mem__handle_magic(const MemoryPointer* ptr);
/* The state of the pool `ptr` belongs to when that pool still lives (same
 * initialisation), else NULL with MEM_ERR_INVALID_POOL; for an unallocated pointer,
 * MEM_ERR_NOT_ALLOCATED. */
struct mem__pool_state* mem__pointer_pool_state(const MemoryPointer* ptr);
/* The state of `pool` if valid and, when `ptr` is allocated, `ptr`'s pool; else NULL
 * with MEM_ERR_NULL_ARGUMENT, MEM_ERR_INVALID_POOL or MEM_ERR_WRONG_POOL. */
struct mem__pool_state* mem__pointer_pool(const MemoryPointer* ptr, MemoryPool* pool);
/* The container of a valid, allocated pointer whose pool lives, or NULL with the error. */
MemoryContainer* mem__container_of(const MemoryPointer* ptr);
/* mem__container_of, and (*st) the state of that pool (NULL with the container). */
MemoryContainer* mem__container_and_state_of(const MemoryPointer* ptr, struct mem__pool_state** st);
/* False with MEM_ERR_ZERO_SIZE or MEM_ERR_SIZE_OVERFLOW unless 0 < size <= max. */
static inline bool mem__check_size(size_t size) {
    if (mem__likely(size - 1 < MEM_MAX_ALLOCATION)) {
        return true;
    }
    return mem__fail(size == 0 ? MEM_ERR_ZERO_SIZE : MEM_ERR_SIZE_OVERFLOW);
}
/* Debug builds: marks a call on `ptr` (false with MEM_ERR_WRONG_THREAD when another
 * thread is inside a call on it: a handle has one user at a time). No-ops otherwise. */
#if MEM__DEBUG && MEM_THREAD_SAFE
bool mem__handle_enter(MemoryPointer* ptr, bool sharing);
void mem__handle_leave(MemoryPointer* ptr, bool sharing);
#else
static inline bool mem__handle_enter(MemoryPointer* ptr, bool sharing) {
    (void)ptr;
    (void)sharing;
    return true;
}
static inline void mem__handle_leave(MemoryPointer* ptr, bool sharing) {
    (void)ptr;
    (void)sharing;
}
#endif
/* Changes the flags of a handle the caller uses: plain where nobody else writes the
 * flags, atomic where the debug build's detection writes them from other threads. */
static inline void mem__handle_set_flags(MemoryPointer* ptr, uint16_t set, uint16_t clear) {
#if MEM__DEBUG && MEM_THREAD_SAFE
    mem__atomic_fetch_or_seq_cst(&ptr->flags, set);
    mem__atomic_fetch_and_seq_cst(&ptr->flags, (uint16_t)~clear);
#else
    uint16_t flags = mem__atomic_load_relaxed(&ptr->flags);
    mem__atomic_store_relaxed(&ptr->flags, (uint16_t)((flags | set) & ~clear));
#endif
}
/* A handle-sized object carrying a dropped reference to `c` (COW on another thread). */
MemoryPointer* mem__carrier_new(MemoryContainer* c);

/* ---- rcu.c (the single-threaded build's versions: single_thread.c) */
/* A record that delays a reference's drop past a grace period. */
typedef struct mem__rcu_record mem__rcu_record;
/* A record from the system allocator (mem__sys_free one unused); NULL with
 * MEM_ERR_OUT_OF_MEMORY. */
mem__rcu_record* mem__rcu_record_new(void);
/* Drops `c`'s reference (counted by its owner when `local`) once every read-side
 * section running now has ended; takes `record`. */
void mem__rcu_defer(mem__rcu_record* record, struct mem__pool_state* st, MemoryContainer* c, bool local);
/* An RCU read-side section (nests; the library counts its own per thread; in both
 * builds, rcu.c). Leaving returns false, and leaves nothing, when the thread is in
 * none of them. */
void mem__rcu_read_enter(void);
bool mem__rcu_read_leave(void);
/* Drops `ptr`'s reference to `c` after a grace period (published pointers). False with
 * MEM_ERR_OUT_OF_MEMORY when that cannot be arranged without waiting on the caller. */
bool mem__rcu_drop_deferred(const MemoryPointer* ptr, struct mem__pool_state* st, MemoryContainer* c);
/* Makes a forked child able to use RCU (liburcu paused across fork, its worker and
 * reader slots set right in the child). Once per process, after
 * mem__fork_handlers_install: prepare handlers run in the reverse order of
 * installation, so liburcu is paused before the library's locks are taken (its
 * worker's releases take them), and let go after they are released. */
void mem__rcu_fork_handlers_install(void);
/* Waits for every deferred release when any of `st`'s (`st` NULL: any at all) has not
 * run yet; false (MEM_ERR_IN_READ_SECTION) inside a section, pending or not. */
bool mem__rcu_wait_for_releases(struct mem__pool_state* st);
bool mem__rcu_in_read_section(void);

/* ---- arena.c, request_arena.c */
MemoryArena* mem__arena_check(const MemoryArena* arena);
MemoryArena* mem__arena_new(size_t first_chunk_size);
/* Opens a live arena's window on its current chunk's free space (the inline path's). */
static inline void mem__arena_open(MemoryArena* arena) {
    const mem__arena_chunk* chunk = arena->current;
    arena->window.end = MEM__TRACKING ? arena->window.next : (unsigned char*)chunk->data + chunk->capacity;
}
/* Wipes what was used; keeps chunks while their total stays within `keep_bytes` (the
 * first chunk always), frees the rest. Leaves the window closed at the first chunk's
 * start: mem__arena_open it when the arena is live again. */
void mem__arena_rewind(MemoryArena* arena, size_t keep_bytes);
/* Wipes and frees every chunk and the header. */
void mem__arena_free(MemoryArena* arena);
void mem__request_arenas_release_all(mem__thread_state* ts);

/* ---- live_pools.c: the set of initialised pools. Its lock comes before any pool's
 * own locks. */
/* Adds `st`, giving it the next generation; returns its ordinal (0 for the first). */
uint64_t mem__live_pools_add(struct mem__pool_state* st);
void mem__live_pools_remove(struct mem__pool_state* st);
bool mem__live_pools_contains(const struct mem__pool_state* candidate);
/* For fork's handlers: the set locked, and walked from its first pool through each
 * one's `live_next`. */
void mem__live_pools_lock(void);
void mem__live_pools_unlock(void);
struct mem__pool_state* mem__live_pools_first(void);

/* ---- a pool's state, inline: every call on a pool or handle checks it with these */
/* The state of `pool`, a non-NULL pool, when it is initialised, else NULL (no error
 * set). */
static inline struct mem__pool_state* mem__pool_state_live(MemoryPool* pool) {
    /* Acquire: pairs with the release store of mem_pool_init. */
    struct mem__pool_state* st = mem__atomic_load_acquire(&pool->state);
    return mem__likely(pool->magic == MEM__POOL_MAGIC) ? st : NULL;
}
/* The pool's state if `pool` is valid; else NULL with MEM_ERR_NULL_ARGUMENT or
 * MEM_ERR_INVALID_POOL. */
static inline struct mem__pool_state* mem__pool_state_of(MemoryPool* pool) {
    if (mem__unlikely(pool == NULL)) {
        return mem__fail_null(MEM_ERR_NULL_ARGUMENT);
    }
    struct mem__pool_state* st = mem__pool_state_live(pool);
    if (mem__unlikely(st == NULL)) {
        return mem__fail_null(MEM_ERR_INVALID_POOL);
    }
    return st;
}
/* The state of a pool whose address is `pool` if it is initialised with generation
 * `generation`, else NULL (no error set). */
static inline struct mem__pool_state* mem__pool_state_matching(MemoryPool* pool, uint64_t generation) {
    struct mem__pool_state* st = mem__pool_state_live(pool);
    return st != NULL && st->generation == generation ? st : NULL;
}

/* ---- malloc.c */
extern MemoryPool mem__default_pool; /* behind mem_malloc & co.; never destroyed */

/* ---- fork.c */
/* Makes fork safe for every live pool and the library's process-wide locks: they are
 * taken before fork and released after it in parent and child. Once per process (at
 * the first mem_pool_init or mem_default_pool); nothing in the single-threaded build.
 * Call it holding none of the library's locks. */
void mem__fork_handlers_install(void);
/* The first lock fork's handlers take: hold it over a step a fork must not split (the
 * default pool's creation), after mem__fork_handlers_install. Comes before the live
 * pools' lock. */
extern mem__mutex mem__fork_guard;

/* ---- report.c: who holds what, for dumps and leak reports */
typedef struct mem__handle_index mem__handle_index;
struct mem__handle_index {
    uint64_t generation; /* handles of this pool initialisation; 0: of every pool */
    struct mem__named_ref* refs;
    size_t count;
    size_t capacity;
    bool incomplete; /* memory ran out while collecting */
};
/* Collects the live handles (of one pool initialisation, or all) with their names. */
void mem__handle_index_build(mem__handle_index* index, uint64_t generation);
void mem__handle_index_free(mem__handle_index* index);
/* Prints " held by "a", "b"" for `c`. */
void mem__handle_index_print(const mem__handle_index* index, const MemoryContainer* c, FILE* out);
/* Logs every live container of `st` with its handles' names, at `level`; returns the
 * number of live containers. Nothing else may use the pool meanwhile. */
size_t mem__report_live(struct mem__pool_state* st, MemLogLevel level, const char* why);

#endif /* MEMKIT_INTERNAL_H */
