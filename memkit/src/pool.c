/*
 * pool.c - pool life cycle and pool-wide operations: init, destroy, trim, orphan
 * budget, statistics. Init and destroy are not concurrent operations (memkit/pool.h);
 * the others are snapshots: they take the pool's snapshot mutex, then its mutex, and
 * freeze thread caches only as long as they need each one (freeze.c).
 *
 * Every initialisation gets a generation no other will have (live_pools.c), which
 * handles remember: a handle of a destroyed pool stays invalid when the same struct is
 * set up again.
 */
#include "hot.h"

/* This build's variant (config.h): every consumer's object files refer to it. */
const int MEM_VARIANT_SYMBOL = 1;

bool mem_pool_init(MemoryPool* pool, size_t capacity) {
    if (pool == NULL) {
        return mem__fail(MEM_ERR_NULL_ARGUMENT);
    }
    /* Before any lock is taken (the default pool is made under the fork guard and has
     * them installed already), RCU's after the library's (internal.h says why). */
    mem__fork_handlers_install();
    mem__rcu_fork_handlers_install();
    mem__track_may_read_uninitialised(pool, sizeof *pool);
    if (pool->magic == MEM__POOL_MAGIC && mem__live_pools_contains(pool->state)) {
        mem__log(MEM_LOG_WARNING, "pool %p initialised twice (destroy it first)", (void*)pool);
        return mem__fail(MEM_ERR_ALREADY_INITIALIZED);
    }
    /* From here on every failure leaves the pool recognisably invalid. */
    pool->magic = 0;
    pool->state = NULL;
    if (capacity == 0) {
        capacity = MEM_POOL_DEFAULT_CAPACITY;
    }
    size_t registry_bytes;
    if (capacity > UINT32_MAX / 2 || mem__mul_overflows(capacity, sizeof(mem__page*), &registry_bytes)) {
        return mem__fail(MEM_ERR_SIZE_OVERFLOW);
    }
    struct mem__pool_state* st = mem__sys_alloc(sizeof *st);
    if (st == NULL) {
        mem__out_of_memory(sizeof *st);
        return false;
    }
    memset(st, 0, sizeof *st);
    st->registry = mem__sys_alloc(registry_bytes);
    if (st->registry == NULL || !mem__mutex_init(&st->mutex) || !mem__mutex_init(&st->snapshot_mutex)) {
        mem__sys_free(st->registry);
        mem__sys_free(st);
        mem__out_of_memory(registry_bytes);
        return false;
    }
    st->capacity = capacity;
    st->initial_capacity = capacity;
    st->orphan_budget = MEM_POOL_ORPHAN_BUDGET;
    uint64_t ordinal = mem__live_pools_add(st);
    uint64_t seed_inputs[2] = {ordinal, (uint64_t)capacity};
    st->next_serial = mem__fnv1a64(MEM__FNV_OFFSET_BASIS, seed_inputs, sizeof seed_inputs);
    pool->magic = MEM__POOL_MAGIC;
    mem__atomic_store_release(&pool->state, st);
    mem__log(MEM_LOG_DEBUG, "pool %p initialized, capacity %zu", (void*)pool, capacity);
    return true;
}

/* Frozen cache of a pool being destroyed: what other threads handed back to it goes
 * away with the pool, but carried handles go back to their heaps. */
static void drop_remote_items(mem__cache* cache) {
    uintptr_t list = mem__atomic_exchange_seq_cst(&cache->remote, (uintptr_t)0);
    while (list != 0) {
        unsigned tag = mem__remote_tag(list);
        void* item = mem__remote_item(list);
        list = mem__remote_link(item, tag);
        /* A block goes with its page. */
        if (tag == MEM__REMOTE_CARRIER) {
            mem__handle_free(item);
        } else if (tag == MEM__REMOTE_RECORD) {
            mem__sys_free(item);
        }
    }
}

/* Unhooks every thread cache from the pool (their threads may be using other pools). */
static void detach_caches(struct mem__pool_state* st) {
    for (mem__cache* cache = st->caches; cache != NULL;) {
        mem__cache* next = cache->next_in_pool;
        mem__freeze(cache);
        drop_remote_items(cache);
        memset(cache->queue, 0, sizeof cache->queue);
        memset(cache->queue_tail, 0, sizeof cache->queue_tail);
        memset(cache->empty, 0, sizeof cache->empty);
        memset(&cache->large, 0, sizeof cache->large);
        cache->full = cache->large_live = NULL;
        cache->empty_count = 0;
        cache->spare_bytes = 0;
        cache->counts = (mem__cache_counts){0};
        cache->next_serial = cache->serial_end = 0;
        cache->next_in_pool = NULL;
        mem__atomic_store_release(&cache->pool, (struct mem__pool_state*)NULL);
        mem__thaw(cache);
        cache = next;
    }
    st->caches = NULL;
}

/* Every cache of `st` frozen at once, briefly (under the snapshot mutex), with what
 * other threads handed back collected: a container released anywhere counts as
 * released. thaw_all ends it. */
static void freeze_all_and_collect(struct mem__pool_state* st) {
    mem__mutex_lock(&st->snapshot_mutex);
    mem__snapshot_freeze_all(st);
    for (mem__cache* cache = st->caches; cache != NULL; cache = cache->next_in_pool) {
        mem__remote_collect(cache);
    }
}

static void thaw_all(struct mem__pool_state* st) {
    mem__snapshot_thaw_all(st);
    mem__mutex_unlock(&st->snapshot_mutex);
}

void mem_pool_destroy(MemoryPool* pool) {
    struct mem__pool_state* st = mem__pool_state_of(pool);
    if (st == NULL) {
        return;
    }
    if (pool == &mem__default_pool) {
        mem__set_error(MEM_ERR_INVALID_POOL);
        mem__log(MEM_LOG_WARNING, "mem_pool_destroy refused: the default pool lives as long as the process");
        return;
    }
    if (mem__atomic_load_relaxed(&st->rcu_used) && !mem__rcu_wait_for_releases(st)) {
        return; /* called inside a read-side section: the error says so */
    }
    /* A reference dropped on another thread waits on its owner's remote list until
     * the owner collects it: not a leak. */
    freeze_all_and_collect(st);
    thaw_all(st);
    mem__report_live(st, MEM_LOG_WARNING, "destroyed with live containers");
    /* Before its locks: fork's handler takes the live set's lock, then each live
     * pool's (fork.c). */
    mem__live_pools_remove(st);
    mem__mutex_lock(&st->snapshot_mutex);
    mem__pool_lock(st);
    detach_caches(st);
    pool->magic = 0;
    mem__atomic_store_release(&pool->state, (struct mem__pool_state*)NULL);
    mem__pool_unlock(st);
    mem__mutex_unlock(&st->snapshot_mutex);
    for (size_t i = 0; i < st->count; i++) {
        mem__page_free(st->registry[i]);
    }
    mem__free_pages(st->deferred_frees);
    mem__sys_free(st->registry);
    mem__mutex_destroy(&st->snapshot_mutex);
    mem__mutex_destroy(&st->mutex);
    mem__wipe(st, sizeof *st);
    mem__sys_free(st);
    mem__log(MEM_LOG_DEBUG, "pool %p destroyed", (void*)pool);
}

/* Frozen: what `cache` keeps that is not in use (pending remote releases collected
 * first), detached for freeing. */
static mem__page* take_spares(mem__cache* cache) {
    mem__remote_collect(cache);
    return mem__cache_surplus(cache, true);
}

static void chain_append(mem__page** chain, mem__page* more) {
    while (more != NULL) {
        mem__page* next = more->next;
        more->next = *chain;
        *chain = more;
        more = next;
    }
}

size_t mem_pool_trim(MemoryPool* pool) {
    struct mem__pool_state* st = mem__pool_state_of(pool);
    if (st == NULL) {
        return 0;
    }
    mem__mutex_lock(&st->snapshot_mutex);
    mem__page* spares = NULL;
    /* One cache at a time: each owner waits only while its own spares are taken. A
     * cache attached while we walk may be missed (its spares are new). */
    for (mem__cache* cache = mem__pool_next_cache(st, NULL); cache != NULL; cache = mem__pool_next_cache(st, cache)) {
        mem__snapshot_freeze(st, cache);
        chain_append(&spares, take_spares(cache));
        mem__snapshot_thaw(st, cache);
    }
    mem__page* to_free = NULL;
    mem__pool_lock(st);
    chain_append(&spares, mem__cache_surplus(&st->own, true));
    size_t failed = 0;
    for (mem__page* page = spares; page != NULL;) {
        mem__page* next = page->next;
        size_t f = mem__stock_unregister(st, page, &to_free);
        failed = f != 0 ? f : failed;
        page = next;
    }
    mem__pool_unlock(st);
    mem__mutex_unlock(&st->snapshot_mutex);
    size_t freed = mem__free_pages(to_free);
    if (failed != 0) {
        mem__out_of_memory_absorbed(failed);
    }
    return freed;
}

bool mem_pool_set_orphan_budget(MemoryPool* pool, size_t bytes) {
    struct mem__pool_state* st = mem__pool_state_of(pool);
    if (st == NULL) {
        return false;
    }
    mem__page* to_free = NULL;
    mem__pool_lock(st);
    mem__atomic_store_relaxed(&st->orphan_budget, bytes);
    size_t failed = mem__stock_evict(st, bytes, &to_free);
    mem__pool_unlock(st);
    mem__free_pages(to_free);
    if (failed != 0) {
        mem__out_of_memory_absorbed(failed);
    }
    if (bytes == 0) {
        (void)mem_pool_trim(pool); /* 0 keeps nothing, in thread caches neither */
    }
    return true;
}

bool mem_pool_stats(MemoryPool* pool, MemPoolStats* stats) {
    if (stats == NULL) {
        return mem__fail(MEM_ERR_NULL_ARGUMENT);
    }
    struct mem__pool_state* st = mem__pool_state_of(pool);
    if (st == NULL) {
        return false;
    }
    mem__cache_counts all = {0}, cached = {0};
    freeze_all_and_collect(st);
    for (mem__cache* cache = st->caches; cache != NULL; cache = cache->next_in_pool) {
        mem__cache_counts_add(&cached, &cache->counts);
    }
    all = cached;
    mem__cache_counts_add(&all, &st->own.counts);
    *stats = (MemPoolStats){
        .live_containers = all.containers - all.orphans,
        .live_bytes = all.container_bytes - all.orphan_bytes,
        .orphaned_containers = all.orphans,
        .orphaned_bytes = all.orphan_bytes,
        .cached_containers = cached.orphans,
        .peak_bytes = st->peak_bytes,
        .registry_capacity = st->capacity,
        .orphan_budget = st->orphan_budget,
        .reuse_hits = all.reuses,
        .reuse_misses = all.carves,
        .cache_hits = cached.hits,
        .cache_misses = cached.misses,
        .cache_exchanges = st->cache_exchanges,
        .lock_acquisitions = st->lock_acquisitions,
        .orphans_freed = st->orphans_freed,
        .snapshot_waits = mem__atomic_load_relaxed(&st->snapshot_waits),
        .snapshot_wait_max_ns = mem__atomic_load_relaxed(&st->snapshot_wait_max_ns),
    };
    thaw_all(st);
    return true;
}
