/*
 * alloc.c - where containers come from and go back to. A thread with a cache for the
 * pool allocates and releases its own containers inside its owner section (no lock,
 * no atomic read-modify-write); it goes to the pool, under the pool mutex, only for a
 * page or a block of serials. A thread without a cache (more pools than cache slots,
 * or no memory for its state) uses the pool's own cache under the mutex. A container
 * released by a thread that does not own it goes back through the owner's remote
 * list (remote.c).
 */
#include "hot.h"

/* Pool locked: the next serials for `cache` when its block is used up. */
static void refill_serials(struct mem__pool_state* st, mem__cache* cache) {
    if (!mem__cache_serials_left(cache)) {
        cache->next_serial = st->next_serial;
        cache->serial_end = st->next_serial += MEM__SERIAL_BLOCK;
    }
}

/* A page for `cls`: from the pool's stock, or new (registered); NULL with the error
 * set. `single`: a page of one block (the orphan budget is 0: nothing is kept). */
static mem__page* page_from_pool(struct mem__pool_state* st, mem__cache* cache, unsigned cls, bool single) {
    mem__pool_lock(st);
    refill_serials(st, cache);
    mem__page* page = single ? NULL : mem__stock_take(st, cls);
    mem__pool_unlock(st);
    return page != NULL ? page : mem__stock_new_page(st, cls, single);
}

/* The pool's own cache, for threads without one of their own. */
static MemoryContainer* obtain_from_pool(struct mem__pool_state* st, unsigned cls, size_t size, mem__birth birth,
                                         bool single) {
    mem__cache* own = &st->own;
    mem__pool_lock(st);
    refill_serials(st, own);
    MemoryContainer* c = single ? NULL : mem__cache_take(own, cls);
    if (c != NULL) {
        mem__cache_revive(own, mem__page_of(c), c, size, MEM__OWNER_POOL, birth);
    }
    mem__pool_unlock(st);
    if (c != NULL) {
        return c;
    }
    mem__page* page = mem__stock_new_page(st, cls, single);
    if (page == NULL) {
        return NULL;
    }
    mem__pool_lock(st);
    refill_serials(st, own);
    mem__cache_install(own, page);
    c = mem__cache_take_from(own, page);
    own->counts.misses++;
    mem__cache_revive(own, page, c, size, MEM__OWNER_POOL, birth);
    mem__pool_unlock(st);
    return c;
}

mem__noinline MemoryContainer* mem__container_obtain_general(struct mem__pool_state* st, unsigned cls, size_t size,
                                                            mem__birth birth, bool* local) {
    /* A budget of 0 keeps no orphan anywhere: each container gets a page of its own,
     * freed when it is released. */
    bool single = mem__atomic_load_relaxed(&st->orphan_budget) == 0;
    mem__thread_state* ts = mem__this_thread();
    mem__cache* cache = ts != NULL && !single ? mem__cache_for(ts, st) : NULL;
    *local = false;
    if (cache == NULL) {
        return obtain_from_pool(st, cls, size, birth, single);
    }
    if (mem__likely(mem__cache_serials_left(cache))) {
        mem__section section = mem__owner_enter(ts, cache);
        MemoryContainer* c = mem__cache_take(cache, cls);
        mem__page* surplus = NULL;
        if (c == NULL && mem__remote_pending(cache)) {
            mem__remote_collect(cache);
            c = mem__cache_take(cache, cls);
            surplus = mem__cache_surplus(cache, false);
        }
        if (c != NULL) {
            mem__cache_revive(cache, mem__page_of(c), c, size, ts->index, birth);
        }
        mem__owner_leave(ts, section);
        mem__stock_return(st, surplus);
        if (c != NULL) {
            *local = birth == MEM__BIRTH_OWNED;
            return c;
        }
    }
    mem__page* page = page_from_pool(st, cache, cls, false);
    if (page == NULL) {
        return NULL;
    }
    mem__section section = mem__owner_enter(ts, cache);
    mem__cache_install(cache, page);
    MemoryContainer* c = mem__cache_take_from(cache, page);
    cache->counts.misses++;
    mem__cache_revive(cache, page, c, size, ts->index, birth);
    mem__owner_leave(ts, section);
    *local = birth == MEM__BIRTH_OWNED;
    return c;
}

MemoryContainer* mem__container_obtain(struct mem__pool_state* st, unsigned cls, size_t size, mem__birth birth,
                                       bool* local) {
    /* The common reason to be here: the queued page's last free block, whose taking
     * moves the page to the full ones (every allocation does when a page gets one
     * block back at a time, as under random replacement). Everything else is a tail
     * call, so this part needs no stack frame. */
    MemoryContainer* last = mem__container_take_inline(st, cls, size, birth, true);
    if (mem__unlikely(last == NULL)) {
        return mem__container_obtain_general(st, cls, size, birth, local);
    }
    *local = birth == MEM__BIRTH_OWNED;
    return last;
}

void mem__container_release_held(mem__cache* cache, MemoryContainer* c) {
    mem__wipe_payload(c);
    mem__cache_put(cache, mem__page_of(c), c);
}

void mem__container_release(MemoryContainer* c) { mem__container_release_in(mem__page_of(c), c); }

void mem__container_release_wiped(mem__page* page, mem__cache* cache, MemoryContainer* c) {
    mem__thread_state* ts = mem__this_thread_peek();
    if (ts != NULL && ts->index == c->owner) {
        mem__owner_put_and_leave(ts, mem__owner_enter(ts, cache), cache, page, c);
        return;
    }
    if (c->owner == MEM__OWNER_POOL) {
        mem__container_release_to_pool(page->pool, page, cache, c);
        return;
    }
    /* Atomic: a snapshot of the owner's cache may be reading the block's state. */
    mem__atomic_store_relaxed(&c->state, (uint8_t)MEM__STATE_REMOTE);
    mem__track_forbid(c->data, page->capacity);
    mem__remote_push(cache, c, MEM__REMOTE_BLOCK);
}

void mem__cache_page_moved(mem__thread_state* ts, mem__section section, mem__cache* cache, mem__page* page) {
    struct mem__pool_state* st = page->pool; /* the page may be among the surplus below */
    mem__cache_relist(cache, page);
    mem__page* surplus = mem__cache_over_limits(cache) ? mem__cache_surplus(cache, false) : NULL;
    mem__owner_leave(ts, section);
    mem__stock_return(st, surplus);
}

void mem__container_release_to_pool(struct mem__pool_state* st, mem__page* page, mem__cache* cache,
                                     MemoryContainer* c) {
    mem__page* to_free = NULL;
    mem__pool_lock(st);
    mem__cache_put(cache, page, c); /* the pool's own: its spares are the stock */
    size_t failed = mem__stock_evict(st, st->orphan_budget, &to_free);
    mem__pool_unlock(st);
    mem__free_pages(to_free);
    if (failed != 0) {
        mem__out_of_memory_absorbed(failed);
    }
}
