/*
 * validate.c - mem_pool_validate and mem_pool_dump. Both take the pool mutex and
 * every thread cache of the pool, so they see a consistent snapshot; they never
 * allocate or change pool state. Thread-safe.
 */
#include "internal.h"

#include <inttypes.h>

/* Failures logged in detail per validation; the rest are only counted. */
#define MAX_REPORTED_FAILURES 16

typedef struct validation {
    struct mem__pool_state* st;
    size_t failures;
    size_t cached_seen; /* containers found in thread caches */
} validation;

static void report(validation* v, const char* invariant, const MemoryContainer* c) {
    if (v->failures++ < MAX_REPORTED_FAILURES) {
        if (c != NULL) {
            mem__log(MEM_LOG_ERROR, "validate: %s (container %p, slot %" PRIu32 ", id %016" PRIx64 ")", invariant,
                     (const void*)c, c->index, mem__container_id(c));
        } else {
            mem__log(MEM_LOG_ERROR, "validate: %s", invariant);
        }
    }
}

static void check(validation* v, bool holds, const char* invariant, const MemoryContainer* c) {
    if (!holds) {
        report(v, invariant, c);
    }
}

static bool is_registered(const struct mem__pool_state* st, const MemoryContainer* c) {
    return c->index < st->count && st->registry[c->index] == c;
}

/* An orphan is zero throughout but for its first word, the bin or cache link. */
static bool is_wiped(const MemoryContainer* c) {
    size_t capacity = mem__container_capacity(c);
    for (size_t i = sizeof(MemoryContainer*); i < capacity; i++) {
        if (c->data[i] != 0) {
            return false;
        }
    }
    return true;
}

static void check_orphan(validation* v, const MemoryContainer* c, uint8_t expected_state) {
    check(v, is_registered(v->st, c), "orphan is registered in its pool", c);
    check(v, c->state == expected_state,
          expected_state == MEM__STATE_ORPHAN ? "container in a bin is an orphan" : "container in a cache is cached", c);
    check(v, mem__atomic_load_relaxed(&c->refcount) == 0, "orphan has refcount 0", c);
    check(v, is_wiped(c), "orphan is wiped", c);
}

static void check_registry(validation* v, size_t* orphans, size_t* orphan_bytes, size_t* cached) {
    struct mem__pool_state* st = v->st;
    size_t total = 0;
    check(v, st->count <= st->capacity, "registry count within capacity", NULL);
    check(v, st->capacity >= st->initial_capacity, "registry capacity at least the initial capacity", NULL);
    for (size_t i = 0; i < st->count && i < st->capacity; i++) {
        const MemoryContainer* c = st->registry[i];
        if (c == NULL) {
            report(v, "registry slot holds a container", NULL);
            continue;
        }
        if (c->magic != MEM__CONTAINER_MAGIC) {
            report(v, "container magic intact", c);
            continue;
        }
        check(v, c->index == i, "container index matches its registry slot", c);
        check(v, c->size_class < MEM__SIZE_CLASS_COUNT, "size class in range", c);
        uint32_t refs = mem__atomic_load_relaxed(&c->refcount);
        switch (c->state) {
        case MEM__STATE_LIVE:
            check(v, c->size != 0 && c->size <= mem__container_capacity(c), "live size within capacity", c);
            check(v, refs <= MEM__REFCOUNT_MAX, "live refcount within range", c);
            break;
        case MEM__STATE_ORPHAN:
            (*orphans)++;
            *orphan_bytes += mem__container_capacity(c);
            break;
        case MEM__STATE_CACHED:
            (*cached)++;
            break;
        default:
            report(v, "container state is live, orphan or cached", c);
        }
        total += mem__container_capacity(c);
    }
    check(v, total == st->total_bytes, "registered bytes equal the pool's total", NULL);
}

static void check_bins(validation* v) {
    struct mem__pool_state* st = v->st;
    for (unsigned cls = 0; cls < MEM__SIZE_CLASS_COUNT; cls++) {
        size_t length = 0;
        for (const MemoryContainer* c = st->bins[cls]; c != NULL && length <= st->count; c = mem__orphan_next(c)) {
            length++;
            check(v, c->size_class == cls, "orphan sits in the bin of its size class", c);
            check_orphan(v, c, MEM__STATE_ORPHAN);
        }
        check(v, length == st->bin_length[cls], "bin length matches its list", NULL);
        bool bit = (st->bin_bitmap[cls / 64] >> (cls % 64)) & 1u;
        check(v, bit == (length != 0), "bin bitmap matches non-empty bins", NULL);
    }
}

static void check_cached(MemoryContainer* c, void* context) {
    validation* v = context;
    v->cached_seen++;
    check_orphan(v, c, MEM__STATE_CACHED);
}

bool mem_pool_validate(MemoryPool* pool) {
    struct mem__pool_state* st = mem__pool_state_of(pool);
    if (st == NULL) {
        return false;
    }
    validation v = {.st = st};
    size_t orphans = 0, orphan_bytes = 0, cached = 0;
    mem__pool_lock(st);
    mem__caches_lock_all(st);
    check_registry(&v, &orphans, &orphan_bytes, &cached);
    check(&v, orphans == st->orphan_count, "orphan count matches the registry", NULL);
    check(&v, orphan_bytes == st->orphan_bytes, "orphan bytes match the registry", NULL);
    check(&v, st->peak_bytes >= st->total_bytes, "peak bytes at least the current bytes", NULL);
    check_bins(&v);
    mem__caches_for_each_container(st, check_cached, &v);
    check(&v, v.cached_seen == cached, "thread caches hold exactly the cached containers", NULL);
    mem__caches_unlock_all(st);
    mem__pool_unlock(st);
    if (v.failures != 0) {
        mem__log(MEM_LOG_ERROR, "validate: pool %p failed %zu check(s)", (void*)pool, v.failures);
        return mem__fail(MEM_ERR_CORRUPTED);
    }
    return true;
}

static const char* state_name(uint8_t state) {
    switch (state) {
    case MEM__STATE_LIVE:
        return "live";
    case MEM__STATE_ORPHAN:
        return "orphan";
    case MEM__STATE_CACHED:
        return "cached";
    default:
        return "corrupt";
    }
}

bool mem_pool_dump_to(MemoryPool* pool, FILE* out, bool detailed) {
    if (out == NULL) {
        return mem__fail(MEM_ERR_NULL_ARGUMENT);
    }
    MemPoolStats s;
    if (!mem_pool_stats(pool, &s)) {
        return false;
    }
    fprintf(out,
            "MemoryPool %p: %zu live (%zu bytes), %zu orphaned (%zu bytes, %zu in thread caches), "
            "peak %zu bytes, registry %zu slots, reuse %" PRIu64 " hits / %" PRIu64 " misses\n",
            (void*)pool, s.live_containers, s.live_bytes, s.orphaned_containers, s.orphaned_bytes,
            s.cached_containers, s.peak_bytes, s.registry_capacity, s.reuse_hits, s.reuse_misses);
    if (!detailed) {
        return true;
    }
    struct mem__pool_state* st = pool->state;
    mem__pool_lock(st);
    mem__caches_lock_all(st);
    for (size_t i = 0; i < st->count; i++) {
        const MemoryContainer* c = st->registry[i];
        fprintf(out, "  [%zu] id %016" PRIx64 " %-6s refs %" PRIu32 " size %zu capacity %zu\n", i, mem__container_id(c),
                state_name(c->state), mem__atomic_load_relaxed(&c->refcount), c->size, mem__container_capacity(c));
    }
    mem__caches_unlock_all(st);
    mem__pool_unlock(st);
    return true;
}

void mem_pool_dump(MemoryPool* pool, bool detailed) { (void)mem_pool_dump_to(pool, stdout, detailed); }
