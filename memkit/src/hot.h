/*
 * hot.h - the per-thread layer's fast paths, inline so that a pointer's create,
 * allocate, share and destroy compile to straight-line code: a container's page, the
 * calling thread's cache for a pool, taking and putting a block, a container's
 * revival, the owner's side of biased counting, and the object heaps' pop and push.
 * Whatever is not the common case calls out of line (cache.c, refcount.c, objects.c).
 * The rules of internal.h apply: functions on a cache run with the cache held.
 */
#ifndef MEMKIT_SRC_HOT_H
#define MEMKIT_SRC_HOT_H

#include "internal.h"

/* ---- pages (page.c owns the table) */
#define MEM__PAGE_TABLE_CHUNK_BITS 12
#define MEM__PAGE_TABLE_CHUNKS 4096u
extern mem__page** mem__page_table[MEM__PAGE_TABLE_CHUNKS];

/* The page of a live (or free, or in-flight) container. Relaxed loads: the page was
 * published before any of its blocks reached the caller. */
static inline mem__page* mem__page_of(const MemoryContainer* c) {
    uint32_t id = c->page;
    mem__page** chunk = mem__atomic_load_acquire(&mem__page_table[id >> MEM__PAGE_TABLE_CHUNK_BITS]);
    return mem__atomic_load_relaxed(&chunk[id & ((1u << MEM__PAGE_TABLE_CHUNK_BITS) - 1)]);
}

/* True when `page` (what a block's header says its page is: mem_free's pointer,
 * untrusted) is the page the page table registers under `c`'s page id and `c` lies
 * among its blocks. A released id's entry is tagged in bit 0 (page.c), so it matches
 * no page. */
static inline bool mem__page_confirms(const mem__page* page, const MemoryContainer* c) {
    uint32_t id = c->page;
    if (mem__unlikely(page == NULL || ((uintptr_t)page & 1u) != 0 || id == 0 ||
                      id >= (MEM__PAGE_TABLE_CHUNKS << MEM__PAGE_TABLE_CHUNK_BITS))) {
        return false;
    }
    mem__page** chunk = mem__atomic_load_acquire(&mem__page_table[id >> MEM__PAGE_TABLE_CHUNK_BITS]);
    if (mem__unlikely(chunk == NULL ||
                      mem__atomic_load_relaxed(&chunk[id & ((1u << MEM__PAGE_TABLE_CHUNK_BITS) - 1)]) != page)) {
        return false;
    }
    /* A registered page. Among its blocks (not checked: that `c` starts one, a 64-bit
     * division on every mem_free; the header's magic and state had to match already). */
    size_t into = (size_t)((const unsigned char*)c - page->blocks); /* wraps when below */
    return into < (size_t)page->block_count * page->stride;
}

static inline bool mem__page_is_single(const mem__page* page) { return page->block_count == 1; }

static inline bool mem__page_has_block(const mem__page* page) {
    return page->free != NULL || page->carved < page->block_count;
}

/* ---- the calling thread's cache */
static inline mem__cache* mem__cache_for(mem__thread_state* ts, struct mem__pool_state* st) {
    mem__cache* hint = ts->last_cache;
    return mem__likely(mem__atomic_load_relaxed(&hint->pool) == st) ? hint : mem__cache_find(ts, st);
}

static inline bool mem__cache_serials_left(const mem__cache* cache) { return cache->next_serial != cache->serial_end; }

/* True when the cache keeps more spares than it should (mem__cache_surplus). */
static inline bool mem__cache_over_limits(const mem__cache* cache) {
    return cache->empty_count > MEM_THREAD_CACHE_EMPTY_PAGES || cache->large.bytes > MEM_THREAD_CACHE_LARGE_BYTES;
}

/* ---- blocks. A free block's serial links it into its page's free list: LIFO, or
 * FIFO in tracking builds, so a released block is not handed out again at once
 * (only those keep `free_tail`). */

static inline MemoryContainer* mem__free_pop(mem__page* page) {
    MemoryContainer* c = page->free;
    if (c != NULL) {
        /* A block on a free list is free and counts no reference. */
        mem__assert(c->state == MEM__STATE_FREE && mem__atomic_load_relaxed(&c->refcount) == 0 &&
                    mem__atomic_load_relaxed(&c->shared) == 0);
        page->free = (MemoryContainer*)(uintptr_t)c->serial;
#if MEM__TRACKING
        if (page->free == NULL) {
            page->free_tail = NULL;
        }
#endif
    }
    return c;
}

static inline void mem__free_push(mem__page* page, MemoryContainer* c) {
#if MEM__TRACKING
    c->serial = 0;
    if (page->free_tail != NULL) {
        page->free_tail->serial = (uint64_t)(uintptr_t)c;
    } else {
        page->free = c;
    }
    page->free_tail = c;
#else
    c->serial = (uint64_t)(uintptr_t)page->free;
    page->free = c;
#endif
}

/* Counts a block taken from `page`: `reused` (a free one) or carved. */
static inline void mem__page_count_take(mem__cache* cache, mem__page* page, bool reused) {
    if (reused && mem__class_is_small(page->size_class)) {
        cache->counts.taken[page->size_class]++;
    } else if (reused) {
        cache->counts.orphans--;
        cache->counts.orphan_bytes -= page->capacity;
        cache->counts.reuses++;
    } else {
        cache->counts.containers++;
        cache->counts.container_bytes += page->capacity;
        cache->counts.carves++;
    }
    page->used++;
}

/* A block of `page`, which has one: a free one, else a new carve (the other way round
 * in tracking builds, where never-used blocks come first). */
static inline MemoryContainer* mem__page_take(mem__cache* cache, mem__page* page) {
    MemoryContainer* c = MEM__TRACKING ? mem__page_carve(page) : mem__free_pop(page);
    bool reused = !MEM__TRACKING;
    if (c == NULL) {
        c = MEM__TRACKING ? mem__free_pop(page) : mem__page_carve(page);
        reused = !reused;
    }
    mem__page_count_take(cache, page, reused);
    return c;
}

/* ---- a class's queue: its pages with a block to hand out. Allocations take from
 * the head. A page new to the queue joins at the head (it has the most to hand out);
 * a full page that got a block back joins at the tail, so it gathers more while the
 * pages before it are used up. At the head it would hand that one block straight
 * out and go back among the full pages: under random replacement of objects of one
 * class, that was two page moves per object replaced (mimalloc queues such pages at
 * the tail too). */

static inline void mem__queue_push_head(mem__cache* cache, mem__page* page) {
    unsigned cls = page->size_class;
    if (cache->queue[cls] == NULL) {
        cache->queue_tail[cls] = page;
    }
    mem__page_list_push(&cache->queue[cls], page, MEM__LIST_QUEUE);
}

static inline void mem__queue_push_tail(mem__cache* cache, mem__page* page) {
    unsigned cls = page->size_class;
    mem__page* tail = cache->queue_tail[cls];
    page->prev = tail;
    page->next = NULL;
    page->list = MEM__LIST_QUEUE;
    if (tail != NULL) {
        tail->next = page;
    } else {
        cache->queue[cls] = page;
    }
    cache->queue_tail[cls] = page;
}

static inline void mem__queue_remove(mem__cache* cache, mem__page* page) {
    unsigned cls = page->size_class;
    if (page->next == NULL) {
        cache->queue_tail[cls] = page->prev;
    }
    mem__page_list_remove(&cache->queue[cls], page);
}

/* After a take left the page with nothing to hand out: off its class's queue, among
 * the full pages. */
static inline void mem__cache_page_full(mem__cache* cache, mem__page* page) {
    mem__queue_remove(cache, page);
    mem__page_list_push(&cache->full, page, MEM__LIST_FULL);
}

/* A full page with a block to hand out again goes back on its class's queue, at the
 * tail. */
static inline void mem__cache_unfull(mem__cache* cache, mem__page* page) {
    mem__page_list_remove(&cache->full, page);
    mem__queue_push_tail(cache, page);
}

/* mem__page_take's common case: a free block of `page`, a queued page of small class
 * `cls`. NULL, and nothing taken, when the page has no free block, or (unless
 * `take_last`) when the block is its last to hand out: taking that one also moves the
 * page off its queue (mem__cache_page_full), code that would make the inline
 * allocation paths save registers on every call, so they leave it to
 * mem__container_obtain. Tracking builds carve first: NULL while they can. */
static mem__always_inline MemoryContainer* mem__page_take_free(mem__cache* cache, mem__page* page, unsigned cls,
                                                               bool take_last) {
    MemoryContainer* c = page->free;
    if (mem__unlikely(c == NULL)) {
        return NULL;
    }
    bool uncarved = page->carved < page->block_count;
    bool last = c->serial == 0 && !uncarved;
    if (mem__unlikely((MEM__TRACKING && uncarved) || (last && !take_last))) {
        return NULL;
    }
    mem__free_pop(page);
    cache->counts.taken[cls]++; /* as mem__page_count_take, for a small class */
    page->used++;
    if (last) {
        mem__cache_page_full(cache, page); /* queued pages always have a block */
    }
    return c;
}

/* A block of class `cls` from the cache's pages, or NULL when it needs a page from
 * the pool. The common case, a queued page of the class, is inline. */
static inline MemoryContainer* mem__cache_take(mem__cache* cache, unsigned cls) {
    mem__page* page = mem__class_is_small(cls) ? cache->queue[cls] : NULL;
    if (mem__unlikely(page == NULL)) {
        return mem__cache_take_slow(cache, cls);
    }
    MemoryContainer* c = mem__page_take(cache, page);
    if (mem__unlikely(!mem__page_has_block(page))) {
        mem__cache_page_full(cache, page);
    }
    return c;
}

/* Makes `c`, a free block of `page`, live for `size` bytes, born as `birth` says. A
 * block keeps its page in `serial` (mem_free's one-load way to it, checked against
 * the page table) and counts no reference (its caller holds it). Any other container
 * takes the next serial; `owner` counts in refcount (1) unless it is MEM__OWNER_POOL
 * or the birth is shared, then shared is one, merged. A free block's refcount and
 * shared are 0 (carved so, put back so): only the counts that differ are stored. */
static mem__always_inline void mem__cache_revive(mem__cache* cache, mem__page* page, MemoryContainer* c, size_t size,
                                                 uint16_t owner, mem__birth birth) {
    mem__track_block_created(c, MEM__CONTAINER_HEADER + size);
    c->size = size;
    /* Two 8-byte stores, not one 16-byte store the compiler would merge them into:
     * mem_free reads them back soon after, and a load of a wide store's upper half
     * is forwarded slowly (measured: 6.9 -> 6.2 ns per malloc/free pair at 16 B). */
    mem__compiler_barrier();
    c->serial = birth == MEM__BIRTH_BLOCK ? (uint64_t)(uintptr_t)page : cache->next_serial++;
    c->owner = owner;
    /* Relaxed: the container reaches other threads only through a handle, published
     * with a release store of its `container` field, or (a block) through its caller. */
    if (birth == MEM__BIRTH_BLOCK) {
        /* no reference counted */
    } else if (owner == MEM__OWNER_POOL || birth == MEM__BIRTH_SHARED) {
        mem__atomic_store_relaxed(&c->shared, MEM__SHARED_ONE | MEM__SHARED_MERGED);
    } else {
        mem__atomic_store_relaxed(&c->refcount, 1u);
    }
    mem__atomic_store_relaxed(&c->state, (uint8_t)(birth == MEM__BIRTH_BLOCK ? MEM__STATE_BLOCK : MEM__STATE_LIVE));
    mem__track_allow(c->data, size); /* zero: carved zeroed, or wiped when released */
    mem__assert(mem__reads_zero(c->data, size));
}

/* Gives a released, wiped block back to its page's free list. True when the page must
 * move to another list (mem__cache_relist): it was full, is large, or is empty with
 * others queued. */
static inline bool mem__cache_put_block(mem__cache* cache, mem__page* page, MemoryContainer* c) {
    mem__track_block_released(c);
    mem__track_allow(c, MEM__CONTAINER_HEADER); /* the header stays the library's */
    mem__track_forbid(c->data, page->capacity);
    /* Every release leaves both counts 0 (a free block's, mem__cache_revive). */
    mem__assert(mem__atomic_load_relaxed(&c->refcount) == 0 && mem__atomic_load_relaxed(&c->shared) == 0);
    mem__atomic_store_relaxed(&c->state, (uint8_t)MEM__STATE_FREE);
    mem__free_push(page, c);
    page->used--;
    if (mem__likely(mem__class_is_small(page->size_class))) {
        cache->counts.put[page->size_class]++;
    } else {
        cache->counts.hits++;
        cache->counts.orphans++;
        cache->counts.orphan_bytes += page->capacity;
    }
    return mem__unlikely(page->list != MEM__LIST_QUEUE ||
                         (page->used == 0 && (page->prev != NULL || page->next != NULL)));
}

/* mem__cache_put_block, the page moved when it must. True when it moved and the
 * cache now keeps more spares than it should (only a move adds spares): the caller
 * hands the surplus back (mem__cache_surplus). */
static inline bool mem__cache_put(mem__cache* cache, mem__page* page, MemoryContainer* c) {
    if (mem__likely(!mem__cache_put_block(cache, page, c))) {
        return false;
    }
    mem__cache_relist(cache, page);
    return mem__cache_over_limits(cache);
}

/* Gives `c`, released and wiped, back to `page` of `cache` inside the owner's section
 * `section`, then leaves it: inline unless the page moves elsewhere than from the full
 * pages back to its queue (alloc.c). */
static inline void mem__owner_put_and_leave(mem__thread_state* ts, mem__section section, mem__cache* cache,
                                            mem__page* page, MemoryContainer* c) {
    if (mem__likely(!mem__cache_put_block(cache, page, c))) {
        mem__owner_leave(ts, section);
        return;
    }
    if (page->list == MEM__LIST_FULL && page->used != 0) {
        mem__cache_unfull(cache, page); /* the common move: no spare page made */
        mem__owner_leave(ts, section);
        return;
    }
    mem__cache_page_moved(ts, section, cache, page);
}

/* Wipes the bytes a caller could have written (the rest of the block is zero
 * already); returns `c`, from what mem__wipe returns (up to 64 bytes inline). */
static inline MemoryContainer* mem__wipe_payload(MemoryContainer* c) {
    return (MemoryContainer*)((unsigned char*)mem__wipe(c->data, c->size) - offsetof(MemoryContainer, data));
}

/* ---- biased counting, the owner's side (inside its owner section) */

/* Adds to refcount unless the count is merged: false then, or (overflow set) at the
 * limit. Only the owner sets MERGED, so its read here is exact. */
static inline bool mem__ref_add_local(MemoryContainer* c, bool* overflow) {
    if (mem__atomic_load_relaxed(&c->shared) & MEM__SHARED_MERGED) {
        return false;
    }
    uint32_t count = mem__atomic_load_relaxed(&c->refcount);
    if (mem__unlikely(count >= MEM__REFCOUNT_MAX)) {
        *overflow = true;
        return false;
    }
    mem__atomic_store_relaxed(&c->refcount, count + 1);
    return true;
}

/* mem__ref_add inside a section, `owner_held` when it is the owner section of `c`'s
 * cache: counted in refcount (*local) when the owner may, else in `shared`. */
static inline bool mem__ref_add_held(MemoryContainer* c, bool owner_held, bool* local) {
    bool overflow = false;
    *local = owner_held && mem__ref_add_local(c, &overflow);
    if (mem__likely(*local)) {
        return true;
    }
    return overflow ? mem__fail(MEM_ERR_REFCOUNT_OVERFLOW) : mem__ref_add_shared(c);
}

/* The common last drop of `c`, whose refcount is `count`: true, the count now 0, when
 * that was the container's last reference, none being counted in `shared` (and none
 * can be added: that takes a reference); else false, nothing changed. Any other last
 * drop merges, out of line. */
static inline bool mem__ref_drop_last_unshared(MemoryContainer* c, uint32_t count) {
#ifndef MEM_FAULT_SKIP_RELEASE
    /* Acquire: other threads' earlier drops happen before our release of the container. */
    if (count == 1 && mem__atomic_load_acquire(&c->shared) == 0) {
        mem__atomic_store_release(&c->refcount, 0u);
        return true;
    }
#else
    (void)c;
    (void)count;
#endif
    return false;
}

/* Drops one of `count` (more than one) references counted in refcount. */
static inline void mem__ref_drop_local_not_last(MemoryContainer* c, uint32_t count) {
    mem__assert(count > 1);
    /* Release: this thread's use of the data happens before a writer that later finds
     * the container unshared (mem__ref_total). */
    mem__atomic_store_release(&c->refcount, count - 1);
}

/* One reference less in refcount; true when it was the container's last of all. */
static inline bool mem__ref_drop_local_count(MemoryContainer* c) {
    uint32_t count = mem__atomic_load_relaxed(&c->refcount);
    if (mem__ref_drop_last_unshared(c, count)) {
        return true;
    }
    if (mem__likely(count > 1)) {
        mem__ref_drop_local_not_last(c, count);
        return false;
    }
    return mem__ref_drop_last_local(c);
}

/* ---- object heaps: pop and push of the owner's FIFO. The link is bytes 16..23 of
 * every object (objects.c). */

static inline void* mem__object_link(const void* object) {
    uint64_t link;
    memcpy(&link, (const unsigned char*)object + 16, sizeof link);
    return (void*)(uintptr_t)link;
}

static inline void mem__object_set_link(void* object, const void* next) {
    uint64_t link = (uint64_t)(uintptr_t)next;
    memcpy((unsigned char*)object + 16, &link, sizeof link);
}

static inline uint16_t mem__object_owner(const void* object) {
    uint16_t owner;
    memcpy(&owner, (const unsigned char*)object + 30, sizeof owner);
    return owner;
}

static inline void mem__object_set_owner(void* object, uint16_t owner) {
    memcpy((unsigned char*)object + 30, &owner, sizeof owner);
}

/* True when `heap` holds more objects than its quarantine: a pop takes the oldest. */
static inline bool mem__object_heap_past_quarantine(const mem__object_heap* heap) {
    return heap->length > MEM_HANDLE_QUARANTINE;
}

/* The oldest object of the calling thread's `heap`, which holds more than its
 * quarantine (mem__object_heap_past_quarantine). */
static inline void* mem__object_pop_past_quarantine(mem__object_heap* heap) {
    mem__assert(mem__object_heap_past_quarantine(heap));
    void* object = heap->head;
    void* next = mem__object_link(object);
    heap->head = next;
    if (next == NULL) {
        heap->tail = NULL;
    }
    heap->length--;
    /* The next pop reads `next`'s link and the object made of it is written. A FIFO's
     * head was last touched at least MEM_HANDLE_QUARANTINE destroys ago, out of the
     * first-level cache when the thread's objects are many: load its line now, while
     * the caller works, so that the next create does not wait for it. */
    mem__prefetch_for_write(next);
    return object;
}

/* An object of the calling thread's `heap` of `kind` past its quarantine, or NULL.
 * (The heap by address: a constant index into the thread's heaps for handles, not
 * one loaded from `kind` on every call.) */
static inline void* mem__object_pop(mem__object_kind* kind, mem__object_heap* heap) {
    if (mem__unlikely(!mem__object_heap_past_quarantine(heap))) {
        return mem__object_take(kind, heap);
    }
    return mem__object_pop_past_quarantine(heap);
}

/* True when one more object would take `heap` past what a thread keeps: the push
 * that adds it spills. */
static inline bool mem__object_heap_full(const mem__object_heap* heap) {
    return heap->length >= MEM_HANDLE_QUARANTINE + MEM_HANDLE_CACHE;
}

/* Puts a destroyed object at the tail of the calling thread's `heap` (its FIFO). */
static inline void mem__object_append(mem__object_heap* heap, void* object) {
    mem__object_set_link(object, NULL);
    if (heap->tail != NULL) {
        mem__object_set_link(heap->tail, object);
    } else {
        heap->head = object;
    }
    heap->tail = object;
    heap->length++;
}

/* Quarantines a destroyed object in the calling thread's `heap`, which is not full
 * (mem__object_heap_full). */
static inline void mem__object_push_within(mem__object_heap* heap, void* object) {
    mem__assert(!mem__object_heap_full(heap));
    mem__object_append(heap, object);
}

/* Quarantines a destroyed object in the calling thread's `heap` of `kind`. */
static inline void mem__object_push(mem__object_kind* kind, mem__object_heap* heap, void* object) {
    mem__object_append(heap, object);
    if (mem__unlikely(heap->length > MEM_HANDLE_QUARANTINE + MEM_HANDLE_CACHE)) {
        mem__object_spill(kind, heap);
    }
}

/* ---- containers: the calling thread's cache, inline; everything else in alloc.c */

/* The inline part of mem__container_new: a container of class `cls` (for `size`
 * bytes, born as `birth` says) from a free block of a queued page of the calling
 * thread's cache for `st`; NULL when the call needs mem__container_obtain (no thread
 * state yet, another pool's cache used last, a large class, a pool that keeps no
 * orphans, no serials left, a snapshot holding the cache, no queued page of the
 * class, a block to carve, or the page's last one unless `take_last`). It calls
 * nothing, and without `take_last` needs no stack frame. */
static mem__always_inline MemoryContainer* mem__container_take_inline(struct mem__pool_state* st, unsigned cls,
                                                                      size_t size, mem__birth birth, bool take_last) {
    mem__thread_state* ts = mem__current_state;
    if (mem__unlikely(ts == NULL || !mem__class_is_small(cls) || mem__atomic_load_relaxed(&st->orphan_budget) == 0)) {
        return NULL;
    }
    mem__cache* cache = ts->last_cache;
    if (mem__unlikely(mem__atomic_load_relaxed(&cache->pool) != st ||
                      (birth != MEM__BIRTH_BLOCK && !mem__cache_serials_left(cache)))) {
        return NULL;
    }
    /* A snapshot holds the cache: mem__container_obtain waits for it. */
    mem__section section;
    if (mem__unlikely(!mem__owner_try_enter(ts, cache, &section))) {
        return NULL;
    }
    mem__page* page = cache->queue[cls];
    MemoryContainer* c = mem__likely(page != NULL) ? mem__page_take_free(cache, page, cls, take_last) : NULL;
    if (mem__likely(c != NULL)) {
        mem__cache_revive(cache, page, c, size, ts->index, birth);
    }
    mem__owner_leave(ts, section);
    return c;
}

/* A live container of `size` bytes in class `cls` (mem__size_class(size), or a larger
 * class) from `st`, as mem__container_obtain: inline when the calling thread's cache
 * has a queued page of the class. */
static mem__always_inline MemoryContainer* mem__container_new(struct mem__pool_state* st, unsigned cls, size_t size,
                                                              mem__birth birth, bool* local) {
    MemoryContainer* c = mem__container_take_inline(st, cls, size, birth, false);
    if (mem__likely(c != NULL)) {
        *local = birth == MEM__BIRTH_OWNED;
        return c;
    }
    return mem__container_obtain(st, cls, size, birth, local);
}

/* Releases a container whose last reference is gone, `page` its page, or NULL for a
 * block, whose header names its page (as mem__container_release; the page knows the
 * pool): wiped, then back to its cache directly on the owner's thread, under the pool
 * mutex for the pool's own cache, else through the owner's remote list. Never inside
 * a section. */
static mem__always_inline void mem__container_release_in(mem__page* page, MemoryContainer* c) {
    c = mem__wipe_payload(c); /* first, and from memset's result: nothing kept across it */
    if (page == NULL) {
        page = (mem__page*)(uintptr_t)c->serial;
    }
    /* Acquire: pairs with the release store that installed the page in its cache. */
    mem__cache* cache = mem__atomic_load_acquire(&page->cache);
    mem__thread_state* ts = mem__this_thread_peek();
    mem__section section;
    /* The owner's thread (its index is never MEM__OWNER_POOL), no snapshot holding
     * the cache: inline. Anything else: mem__container_release_wiped. */
    if (mem__likely(ts != NULL && ts->index == c->owner && mem__owner_try_enter(ts, cache, &section))) {
        mem__owner_put_and_leave(ts, section, cache, page, c);
        return;
    }
    mem__container_release_wiped(page, cache, c);
}

/* True when `ts`'s last cache, the calling thread's, is its cache for `st`, and so
 * holds `c`, a live container of `st` that `ts` owns. That needs no walk from the
 * container through the page table: a page with live blocks stays in the cache of its
 * blocks' owner for their pool (only empty pages leave a cache). */
static inline bool mem__last_cache_holds(const mem__thread_state* ts, const struct mem__pool_state* st,
                                         const MemoryContainer* c) {
    bool holds = mem__atomic_load_relaxed(&ts->last_cache->pool) == st;
    mem__assert(!holds || mem__atomic_load_relaxed(&mem__page_of(c)->cache) == ts->last_cache);
    (void)c;
    return holds;
}

/* The cache that holds `c`, a live container of `st` that `ts`, the calling thread's
 * state, owns: its last cache (mem__last_cache_holds), else the one the page names. */
static inline mem__cache* mem__owned_cache(mem__thread_state* ts, const struct mem__pool_state* st,
                                           const MemoryContainer* c) {
    /* Acquire: pairs with the release store that installed the page in its cache. */
    return mem__likely(mem__last_cache_holds(ts, st, c)) ? ts->last_cache
                                                         : mem__atomic_load_acquire(&mem__page_of(c)->cache);
}

/* Drops a reference counted in refcount to `c`, inside the owner section `section`
 * of `cache`, its cache on the calling thread `ts`, and leaves the section. A small
 * container whose last reference it was is wiped inside the section and put back
 * inline (mem__owner_put_and_leave); the rest is mem__ref_release_last_local's and
 * mem__ref_drop_local_merging's. Every call is the last thing done, so a caller that
 * ends with it needs no stack frame for it. */
static mem__always_inline void mem__ref_drop_local_in(mem__thread_state* ts, mem__section section, mem__cache* cache,
                                                      MemoryContainer* c) {
    uint32_t count = mem__atomic_load_relaxed(&c->refcount);
    if (mem__ref_drop_last_unshared(c, count)) {
        mem__page* page = mem__page_of(c);
        if (mem__likely(!mem__page_is_single(page) && mem__wipe_is_inline(c->size))) {
            mem__wipe_inline(c->data, c->size);
            mem__owner_put_and_leave(ts, section, cache, page, c);
            return;
        }
        mem__ref_release_last_local(ts, section, cache, page, c);
        return;
    }
    if (mem__likely(count > 1)) {
        mem__ref_drop_local_not_last(c, count);
        mem__owner_leave(ts, section);
        return;
    }
    mem__ref_drop_local_merging(ts, section, cache, c);
}

/* Drops a reference counted in refcount, on the owner's thread, to `c` of `st`
 * (mem__ref_drop_local_in, once inside the owner section). */
static mem__always_inline void mem__ref_drop_local(const struct mem__pool_state* st, MemoryContainer* c) {
    mem__thread_state* ts = mem__current_state;
    mem__cache* cache = mem__owned_cache(ts, st, c);
    mem__ref_drop_local_in(ts, mem__owner_enter(ts, cache), cache, c);
}

/* ---- handles */

/* mem__container_and_state_of with its common case inline: a live handle's container
 * whose pool still lives, and (*st) that pool's state; anything else goes to the
 * function, which sets the error. */
static inline MemoryContainer* mem__container_of_live(const MemoryPointer* ptr, struct mem__pool_state** st) {
    /* Acquire (magic): pairs with the release store that made the handle live;
     * (container): with the one that published the container. */
    if (mem__likely(ptr != NULL && mem__atomic_load_acquire(&ptr->magic) == MEM__POINTER_MAGIC)) {
        MemoryContainer* c = mem__atomic_load_acquire(&ptr->container);
        MemoryPool* pool = mem__atomic_load_relaxed(&ptr->pool);
        if (mem__likely(c != NULL && pool != NULL &&
                        (*st = mem__pool_state_matching(pool, mem__atomic_load_relaxed(&ptr->generation))) != NULL)) {
            return c;
        }
    }
    return mem__container_and_state_of(ptr, st);
}

/* The public fields, which a destroyed handle forbids in tracking builds (its private
 * fields and name stay readable: the library reads the magic to refuse a second
 * destroy, and the name to say which handle it was). */
#define MEM__HANDLE_PUBLIC_BYTES offsetof(MemoryPointer, generation)

/* Copies `name` into a handle's name field, truncated to MEM_POINTER_NAME_MAX - 1
 * bytes, NUL-terminated. A NUL-terminated name is copied byte by byte, four to a loop
 * step (a load, a store and a test per byte): names are short, and strnlen + memcpy
 * would be two calls. A name of known length (a literal, measured when the caller was
 * compiled: pointer.h) is copied as memcpy copies small sizes, in moves of 16 bytes
 * or two overlapping moves of 8 or fewer, inside the `length` bytes the caller gave. */
static mem__inline_specialised void mem__name_copy(char to[MEM_POINTER_NAME_MAX], mem__name name) {
    const char* from = name.text;
    if (name.length != MEM__NAME_TERMINATED) {
        size_t n = name.length < MEM_POINTER_NAME_MAX - 1 ? name.length : MEM_POINTER_NAME_MAX - 1;
        if (n >= 16) {
            for (size_t i = 0; i + 16 < n; i += 16) { /* once at most for the default 32 */
                memcpy(to + i, from + i, 16);
            }
            memcpy(to + n - 16, from + n - 16, 16);
        } else if (n >= 8) {
            memcpy(to, from, 8);
            memcpy(to + n - 8, from + n - 8, 8);
        } else if (n >= 4) {
            memcpy(to, from, 4);
            memcpy(to + n - 4, from + n - 4, 4);
        } else if (n > 0) {
            to[0] = from[0];
            to[n / 2] = from[n / 2];
            to[n - 1] = from[n - 1];
        }
        to[n] = '\0';
        return;
    }
    size_t i = 0;
    for (; i + 4 < MEM_POINTER_NAME_MAX; i += 4) {
        if ((to[i] = from[i]) == '\0' || (to[i + 1] = from[i + 1]) == '\0' ||
            (to[i + 2] = from[i + 2]) == '\0' || (to[i + 3] = from[i + 3]) == '\0') {
            return;
        }
    }
    for (; i + 1 < MEM_POINTER_NAME_MAX && (to[i] = from[i]) != '\0'; i++) {
    }
    to[MEM_POINTER_NAME_MAX - 1] = '\0';
}

/* Makes an object of the handle heap a live handle named `name` (a bounded copy)
 * holding `container` (NULL: none yet), counted as `flags` say, of `pool` of
 * `generation` (NULL and 0: none yet; a share that has yet to count its reference
 * gives its source's, so that it sets only the container later). Fields other
 * threads may read are stored atomically. */
static mem__always_inline void mem__handle_init_holding(MemoryPointer* handle, mem__name name, MemoryPool* pool,
                                                        uint64_t generation, MemoryContainer* container,
                                                        uint16_t flags) {
    mem__track_allow_undefined(handle, MEM__HANDLE_PUBLIC_BYTES);
    mem__atomic_store_relaxed(&handle->container, container);
    mem__atomic_store_relaxed(&handle->pool, pool);
    mem__atomic_store_relaxed(&handle->generation, generation);
    mem__atomic_store_relaxed(&handle->flags, flags);
    mem__name_copy(handle->name, name);
    /* Release: whoever sees the magic (a leak report, a later call) sees the name and
     * the fields too, and the container's contents. */
    mem__atomic_store_release(&handle->magic, MEM__POINTER_MAGIC);
    mem__track_block_created(handle, sizeof *handle);
}

/* mem__handle_init_holding with no container yet. */
static mem__always_inline void mem__handle_init(MemoryPointer* handle, mem__name name, MemoryPool* pool,
                                                uint64_t generation) {
    mem__handle_init_holding(handle, name, pool, generation, NULL, 0);
}

/* Makes `handle`, just taken from the heap of `ts` (the calling thread's state), a
 * live handle of that thread, as mem__handle_init_holding says. */
static mem__always_inline MemoryPointer* mem__handle_make_live(mem__thread_state* ts, MemoryPointer* handle,
                                                               mem__name name, MemoryPool* pool, uint64_t generation,
                                                               MemoryContainer* container, uint16_t flags) {
    mem__object_set_owner(handle, ts->index);
    mem__handle_init_holding(handle, name, pool, generation, container, flags);
    return handle;
}

/* A live handle as mem__handle_init makes it: from the heap of `ts`, the calling
 * thread's state (or NULL), inline; else out of line. */
static mem__always_inline MemoryPointer* mem__handle_new_on(mem__thread_state* ts, mem__name name, MemoryPool* pool,
                                                           uint64_t generation) {
    MemoryPointer* handle = ts != NULL ? mem__object_pop(&mem__handle_kind, &ts->heaps[MEM__HEAP_HANDLES]) : NULL;
    if (mem__unlikely(handle == NULL)) {
        return mem__handle_alloc(name, pool, generation);
    }
    return mem__handle_make_live(ts, handle, name, pool, generation, NULL, 0);
}

/* A live, empty handle named `name` from the calling thread's heap. */
static mem__always_inline MemoryPointer* mem__handle_new(mem__name name) {
    return mem__handle_new_on(mem__this_thread(), name, NULL, 0);
}

/* Makes a handle dead: magic DEAD, public fields NULL (forbidden in tracking builds). */
static inline void mem__handle_kill(MemoryPointer* handle) {
    mem__atomic_store_release(&handle->magic, MEM__POINTER_MAGIC_DEAD);
    mem__atomic_store_relaxed(&handle->container, (MemoryContainer*)NULL);
    mem__atomic_store_relaxed(&handle->pool, (MemoryPool*)NULL);
    mem__atomic_store_relaxed(&handle->flags, (uint16_t)0);
    mem__track_block_released(handle);
    mem__track_allow((unsigned char*)handle + MEM__HANDLE_PUBLIC_BYTES, sizeof *handle - MEM__HANDLE_PUBLIC_BYTES);
    mem__track_forbid(handle, MEM__HANDLE_PUBLIC_BYTES);
}

/* Destroys a handle made by `ts`, the calling thread's state, whose heap is not full
 * (mem__object_heap_full): mem__handle_kill, then quarantined there. */
static inline void mem__handle_release_within(mem__thread_state* ts, MemoryPointer* handle) {
    mem__handle_kill(handle);
    mem__object_push_within(&ts->heaps[MEM__HEAP_HANDLES], handle);
}

/* Destroys a handle: public fields NULL, magic DEAD, then quarantined in its owner's
 * heap (inline when that is the calling thread's). */
static inline void mem__handle_release(MemoryPointer* handle) {
    mem__handle_kill(handle);
    mem__thread_state* ts = mem__this_thread_peek();
    if (mem__likely(ts != NULL && mem__object_owner(handle) == ts->index)) {
        mem__object_push(&mem__handle_kind, &ts->heaps[MEM__HEAP_HANDLES], handle);
    } else {
        mem__object_free(&mem__handle_kind, handle);
    }
}

#endif /* MEMKIT_SRC_HOT_H */
