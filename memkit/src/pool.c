/*
 * pool.c - pool life cycle and pool-wide operations: init, destroy, trim, orphan
 * budget, statistics. Init and destroy are not thread-safe (see memkit/pool.h); the
 * others lock the pool, and every thread cache of it where they need a snapshot.
 */
#include "internal.h"

static uint64_t pools_initialized = 0;

struct mem__pool_state* mem__pool_state_of(MemoryPool* pool) {
    if (pool == NULL) {
        return mem__fail_null(MEM_ERR_NULL_ARGUMENT);
    }
    if (pool->magic != MEM__POOL_MAGIC || pool->state == NULL) {
        return mem__fail_null(MEM_ERR_INVALID_POOL);
    }
    return pool->state;
}

void mem__pool_lock(struct mem__pool_state* st) {
    mem__mutex_lock(&st->mutex);
    st->lock_acquisitions++;
}

void mem__pool_unlock(struct mem__pool_state* st) { mem__mutex_unlock(&st->mutex); }

bool mem_pool_init(MemoryPool* pool, size_t capacity) {
    if (pool == NULL) {
        return mem__fail(MEM_ERR_NULL_ARGUMENT);
    }
    pool->magic = 0;
    pool->state = NULL;
    if (capacity == 0) {
        capacity = MEM_POOL_DEFAULT_CAPACITY;
    }
    size_t registry_bytes;
    if (capacity > UINT32_MAX / 2 || mem__mul_overflows(capacity, sizeof(MemoryContainer*), &registry_bytes)) {
        return mem__fail(MEM_ERR_SIZE_OVERFLOW);
    }
    struct mem__pool_state* st = mem__sys_alloc(sizeof *st);
    if (st == NULL) {
        mem__out_of_memory(sizeof *st);
        return false;
    }
    memset(st, 0, sizeof *st);
    st->registry = mem__sys_alloc(registry_bytes);
    if (st->registry == NULL || !mem__mutex_init(&st->mutex)) {
        mem__sys_free(st->registry);
        mem__sys_free(st);
        mem__out_of_memory(registry_bytes);
        return false;
    }
    st->capacity = capacity;
    st->initial_capacity = capacity;
    st->orphan_budget = MEM_POOL_ORPHAN_BUDGET;
    uint64_t ordinal = mem__atomic_fetch_add_relaxed(&pools_initialized, 1u);
    uint64_t seed_inputs[2] = {ordinal, (uint64_t)capacity};
    st->next_serial = mem__fnv1a64(MEM__FNV_OFFSET_BASIS, seed_inputs, sizeof seed_inputs);
    pool->state = st;
    pool->magic = MEM__POOL_MAGIC;
    mem__log(MEM_LOG_DEBUG, "pool %p initialized, capacity %zu", (void*)pool, capacity);
    return true;
}

void mem_pool_destroy(MemoryPool* pool) {
    struct mem__pool_state* st = mem__pool_state_of(pool);
    if (st == NULL) {
        return;
    }
    if (mem__atomic_load_relaxed(&st->rcu_used)) {
        mem__rcu_wait_for_releases();
    }
    mem__caches_detach_pool(st);
    pool->magic = 0;
    pool->state = NULL;
    for (size_t i = 0; i < st->count; i++) {
        mem__container_free(st->registry[i]);
    }
    mem__sys_free(st->registry);
    mem__mutex_destroy(&st->mutex);
    mem__wipe(st, sizeof *st);
    mem__sys_free(st);
    mem__log(MEM_LOG_DEBUG, "pool %p destroyed", (void*)pool);
}

size_t mem_pool_trim(MemoryPool* pool) {
    struct mem__pool_state* st = mem__pool_state_of(pool);
    if (st == NULL) {
        return 0;
    }
    mem__pool_lock(st);
    mem__caches_flush_all(st);
    MemoryContainer* chain = mem__pool_evict_orphans_locked(st, 0);
    mem__pool_unlock(st);
    return mem__free_orphan_chain(chain);
}

bool mem_pool_set_orphan_budget(MemoryPool* pool, size_t bytes) {
    struct mem__pool_state* st = mem__pool_state_of(pool);
    if (st == NULL) {
        return false;
    }
    mem__pool_lock(st);
    st->orphan_budget = bytes;
    MemoryContainer* chain = mem__pool_evict_orphans_locked(st, bytes);
    mem__pool_unlock(st);
    mem__free_orphan_chain(chain);
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
    mem__pool_lock(st);
    mem__caches_lock_all(st);
    mem__cache_counts cached;
    mem__caches_sum(st, &cached);
    mem__caches_unlock_all(st);
    *stats = (MemPoolStats){
        .orphaned_containers = st->orphan_count + cached.containers,
        .orphaned_bytes = st->orphan_bytes + cached.bytes,
        .cached_containers = cached.containers,
        .peak_bytes = st->peak_bytes,
        .registry_capacity = st->capacity,
        .orphan_budget = st->orphan_budget,
        .reuse_hits = st->reuse_hits + cached.reuses + st->detached_cache_reuses,
        .reuse_misses = st->reuse_misses,
        .cache_hits = cached.hits + st->detached_cache_hits,
        .cache_misses = cached.misses + st->detached_cache_misses,
        .cache_exchanges = st->cache_exchanges,
        .lock_acquisitions = st->lock_acquisitions,
        .orphans_freed = st->orphans_freed,
    };
    stats->live_containers = st->count - stats->orphaned_containers;
    stats->live_bytes = st->total_bytes - stats->orphaned_bytes;
    mem__pool_unlock(st);
    return true;
}
