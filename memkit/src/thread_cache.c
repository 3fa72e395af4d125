/*
 * thread_cache.c - per-thread, per-pool caches of orphaned containers by size class.
 *
 * The hot path (allocate from / release to the calling thread's cache) takes only
 * the cache's own spinlock, which no other thread touches in steady state; the
 * pool mutex is taken when a cache runs empty or full, to move a batch to or from
 * the pool's global bins. Cached orphans stay registered in the pool. Lock order:
 * threads mutex, then pool mutex, then cache lock.
 */
#include "internal.h"

#if MEM_THREAD_SAFE

/* Serials: each cache takes a block of 2^32 from its pool. */
#define SERIAL_BLOCK (UINT64_C(1) << 32)

static struct mem__thread_cache* attach(struct mem__thread_state* ts, struct mem__pool_state* st) {
    for (unsigned i = 0; i < MEM_THREAD_CACHE_POOLS; i++) {
        struct mem__thread_cache* cache = &ts->caches[i];
        if (mem__atomic_load_relaxed(&cache->pool) != NULL) {
            continue;
        }
        mem__threads_lock();
        mem__pool_lock(st);
        mem__spin_lock(&cache->lock);
        cache->next_serial = st->next_serial;
        st->next_serial += SERIAL_BLOCK;
        cache->next_in_pool = st->caches;
        st->caches = cache;
        mem__atomic_store_relaxed(&cache->pool, st);
        mem__spin_unlock(&cache->lock);
        mem__pool_unlock(st);
        mem__threads_unlock();
        ts->last_cache = i;
        return cache;
    }
    return NULL; /* more pools than cache slots: this pool uses the locked path */
}

/* The calling thread's cache for `st`, attached on first use; NULL if none. Use
 * cache_for_capacity: containers too large to cache bypass the caches. */
static struct mem__thread_cache* cache_for(struct mem__pool_state* st) {
    struct mem__thread_state* ts = mem__thread_state();
    if (mem__unlikely(ts == NULL)) {
        return NULL;
    }
    struct mem__thread_cache* hint = &ts->caches[ts->last_cache];
    if (mem__likely(mem__atomic_load_relaxed(&hint->pool) == st)) {
        return hint;
    }
    for (unsigned i = 0; i < MEM_THREAD_CACHE_POOLS; i++) {
        if (mem__atomic_load_relaxed(&ts->caches[i].pool) == st) {
            ts->last_cache = i;
            return &ts->caches[i];
        }
    }
    return attach(ts, st);
}

/* The cache that holds containers of `capacity` bytes of `st`, or NULL (too large to
 * cache, or no cache for this thread). */
static struct mem__thread_cache* cache_for_capacity(struct mem__pool_state* st, size_t capacity) {
    return capacity <= MEM_THREAD_CACHE_MAX_OBJECT ? cache_for(st) : NULL;
}

static void cache_push(struct mem__thread_cache* cache, MemoryContainer* c) {
    unsigned cls = c->size_class;
    c->state = MEM__STATE_CACHED;
    mem__orphan_set_next(c, cache->bins[cls]);
    cache->bins[cls] = c;
    cache->length[cls]++;
    cache->count++;
    cache->bytes += mem__container_capacity(c);
}

static MemoryContainer* cache_pop(struct mem__thread_cache* cache, unsigned cls) {
    MemoryContainer* c = cache->bins[cls];
    if (c != NULL) {
        cache->bins[cls] = mem__orphan_next(c);
        cache->length[cls]--;
        cache->count--;
        cache->bytes -= mem__container_capacity(c);
    }
    return c;
}

/* Pops the best fit for `cls` and makes it live; cache locked. */
static MemoryContainer* cache_take(struct mem__thread_cache* cache, unsigned cls, size_t size) {
    unsigned last = cls + MEM__REUSE_MAX_CLASS_SLACK;
    for (unsigned fit = cls; fit <= last && fit < MEM__SIZE_CLASS_COUNT; fit++) {
        MemoryContainer* c = cache_pop(cache, fit);
        if (c != NULL) {
            mem__container_revive(c, size, cache->next_serial++);
            return c;
        }
    }
    return NULL;
}

/* Cache empty for `cls`: fetch a batch from the global bins (the caller's container
 * plus up to a batch more of the exact class), or NULL if the bins have none. */
static MemoryContainer* refill(struct mem__pool_state* st, struct mem__thread_cache* cache, unsigned cls,
                               size_t size) {
    mem__pool_lock(st);
    MemoryContainer* first = mem__bin_pop_fit(st, cls, MEM__REUSE_MAX_CLASS_SLACK);
    MemoryContainer* c = NULL;
    mem__spin_lock(&cache->lock);
    if (first != NULL) {
        st->reuse_hits++;
        st->cache_exchanges++;
        MemoryContainer* extra;
        for (unsigned n = 1; n < MEM_THREAD_CACHE_BATCH && (extra = mem__bin_pop_exact(st, cls)) != NULL; n++) {
            cache_push(cache, extra);
        }
        cache_push(cache, first);
        c = cache_take(cache, first->size_class, size);
    } else {
        st->reuse_misses++;
    }
    mem__spin_unlock(&cache->lock);
    mem__pool_unlock(st);
    return c;
}

MemoryContainer* mem__cache_obtain(struct mem__pool_state* st, size_t size) {
    unsigned cls = mem__size_class(size);
    struct mem__thread_cache* cache = cache_for_capacity(st, mem__class_capacity(cls));
    if (cache == NULL) {
        return mem__pool_obtain(st, size);
    }
    mem__spin_lock(&cache->lock);
    MemoryContainer* c = cache_take(cache, cls, size);
    uint64_t serial = cache->next_serial;
    if (mem__likely(c != NULL)) {
        cache->hits++;
        cache->reuses++;
        mem__spin_unlock(&cache->lock);
        return c;
    }
    cache->misses++;
    cache->next_serial++;
    mem__spin_unlock(&cache->lock);
    c = refill(st, cache, cls, size);
    return c != NULL ? c : mem__pool_new_container(st, size, serial);
}

/* Moves every orphan of `cache` to the bins of `st`; both locked. */
static void empty_into_bins(struct mem__pool_state* st, struct mem__thread_cache* cache) {
    for (unsigned cls = 0; cls < MEM__SIZE_CLASS_COUNT; cls++) {
        MemoryContainer* c;
        while ((c = cache_pop(cache, cls)) != NULL) {
            mem__bin_push(st, c);
        }
    }
}

void mem__cache_flush_locked(struct mem__thread_cache* cache, MemoryContainer** evicted) {
    struct mem__pool_state* st = cache->pool;
    empty_into_bins(st, cache);
    MemoryContainer* chain = mem__pool_evict_orphans_locked(st, st->orphan_budget);
    while (chain != NULL) {
        MemoryContainer* next = mem__orphan_next(chain);
        mem__orphan_set_next(chain, *evicted);
        *evicted = chain;
        chain = next;
    }
}

/* Cache full for `c`'s class: move half of that class and `c` to the global bins. */
static void spill(struct mem__pool_state* st, struct mem__thread_cache* cache, MemoryContainer* c) {
    mem__pool_lock(st);
    mem__spin_lock(&cache->lock);
    unsigned cls = c->size_class;
    for (unsigned n = cache->length[cls] / 2; n > 0; n--) {
        mem__bin_push(st, cache_pop(cache, cls));
    }
    st->cache_exchanges++;
    mem__spin_unlock(&cache->lock);
    mem__bin_push(st, c);
    MemoryContainer* evicted = mem__pool_evict_orphans_locked(st, st->orphan_budget);
    mem__pool_unlock(st);
    mem__free_orphan_chain(evicted);
}

void mem__cache_release(struct mem__pool_state* st, MemoryContainer* c) {
    mem__container_wipe_payload(c);
    size_t capacity = mem__container_capacity(c);
    struct mem__thread_cache* cache = cache_for_capacity(st, capacity);
    if (cache == NULL) {
        mem__pool_release_wiped(st, c);
        return;
    }
    mem__spin_lock(&cache->lock);
    if (mem__likely(cache->length[c->size_class] < MEM_THREAD_CACHE_MAX_PER_CLASS &&
                    cache->bytes + capacity <= MEM_THREAD_CACHE_MAX_BYTES)) {
        cache_push(cache, c);
        cache->hits++;
        mem__spin_unlock(&cache->lock);
        return;
    }
    cache->misses++;
    mem__spin_unlock(&cache->lock);
    spill(st, cache, c);
}

void mem__caches_lock_all(struct mem__pool_state* st) {
    for (struct mem__thread_cache* cache = st->caches; cache != NULL; cache = cache->next_in_pool) {
        mem__spin_lock(&cache->lock);
    }
}

void mem__caches_unlock_all(struct mem__pool_state* st) {
    for (struct mem__thread_cache* cache = st->caches; cache != NULL; cache = cache->next_in_pool) {
        mem__spin_unlock(&cache->lock);
    }
}

void mem__caches_sum(struct mem__pool_state* st, mem__cache_counts* out) {
    *out = (mem__cache_counts){0};
    for (struct mem__thread_cache* cache = st->caches; cache != NULL; cache = cache->next_in_pool) {
        out->containers += cache->count;
        out->bytes += cache->bytes;
        out->hits += cache->hits;
        out->misses += cache->misses;
        out->reuses += cache->reuses;
    }
}

void mem__caches_for_each_container(struct mem__pool_state* st, mem__container_visitor visit, void* context) {
    for (struct mem__thread_cache* cache = st->caches; cache != NULL; cache = cache->next_in_pool) {
        for (unsigned cls = 0; cls < MEM__SIZE_CLASS_COUNT; cls++) {
            size_t seen = 0;
            for (MemoryContainer* c = cache->bins[cls]; c != NULL && seen <= cache->length[cls];
                 c = mem__orphan_next(c), seen++) {
                visit(c, context);
            }
        }
    }
}

void mem__caches_flush_all(struct mem__pool_state* st) {
    for (struct mem__thread_cache* cache = st->caches; cache != NULL; cache = cache->next_in_pool) {
        mem__spin_lock(&cache->lock);
        empty_into_bins(st, cache);
        mem__spin_unlock(&cache->lock);
    }
}

void mem__caches_detach_pool(struct mem__pool_state* st) {
    mem__threads_lock();
    mem__pool_lock(st);
    for (struct mem__thread_cache* cache = st->caches; cache != NULL;) {
        struct mem__thread_cache* next = cache->next_in_pool;
        mem__spin_lock(&cache->lock);
        memset(cache->bins, 0, sizeof cache->bins);
        memset(cache->length, 0, sizeof cache->length);
        cache->count = cache->bytes = 0;
        cache->hits = cache->misses = cache->reuses = 0;
        cache->next_in_pool = NULL;
        mem__atomic_store_relaxed(&cache->pool, NULL);
        mem__spin_unlock(&cache->lock);
        cache = next;
    }
    st->caches = NULL;
    mem__pool_unlock(st);
    mem__threads_unlock();
}

#else /* !MEM_THREAD_SAFE: no caches, the locked path is the only path */

MemoryContainer* mem__cache_obtain(struct mem__pool_state* st, size_t size) { return mem__pool_obtain(st, size); }

void mem__cache_release(struct mem__pool_state* st, MemoryContainer* c) {
    mem__container_wipe_payload(c);
    mem__pool_release_wiped(st, c);
}

void mem__caches_lock_all(struct mem__pool_state* st) { (void)st; }

void mem__caches_unlock_all(struct mem__pool_state* st) { (void)st; }

void mem__caches_sum(struct mem__pool_state* st, mem__cache_counts* out) {
    (void)st;
    *out = (mem__cache_counts){0};
}

void mem__caches_for_each_container(struct mem__pool_state* st, mem__container_visitor visit, void* context) {
    (void)st;
    (void)visit;
    (void)context;
}

void mem__caches_flush_all(struct mem__pool_state* st) { (void)st; }

void mem__caches_detach_pool(struct mem__pool_state* st) { (void)st; }

#endif
