/*
 * validate.c - mem_pool_validate and mem_pool_dump. Both are snapshots that never stop
 * owners for long: the registry is checked and copied under the pool mutex; each
 * cache's page lists and counters are checked while that cache alone is frozen; each
 * page's blocks (headers, free lists, wiped free blocks) are checked while its owner
 * alone is frozen, one page at a time, so an owner waits at most for one page. Pages
 * unregistered meanwhile are freed only when the validation ends. A free large block
 * is checked out of circulation (its page in custody), with nothing frozen.
 * They never change what a pool holds and never allocate. While a validation walks
 * the registry, removals leave holes rather than moving pages (registry.c).
 */
#include "hot.h"

#include <inttypes.h>

/* Failures logged in detail per validation; the rest are only counted. */
#define MAX_REPORTED_FAILURES 16
/* Free blocks larger than this are checked in custody, with their cache thawed. */
#define CUSTODY_BYTES ((size_t)1 << 20)

typedef struct validation {
    struct mem__pool_state* st;
    size_t failures;
} validation;

static void report(validation* v, const char* invariant, const void* where) {
    if (v->failures++ < MAX_REPORTED_FAILURES) {
        mem__log(MEM_LOG_ERROR, "validate: %s (%p)", invariant, where);
    }
}

static void check(validation* v, bool holds, const char* invariant, const void* where) {
    if (!holds) {
        report(v, invariant, where);
    }
}

/* ---- one page's blocks; the page's cache held */

static bool is_wiped(const MemoryContainer* c, size_t capacity) {
    mem__track_allow(c->data, capacity);
    bool wiped = true;
    for (size_t i = 0; i < capacity && wiped; i++) {
        wiped = c->data[i] == 0;
    }
    mem__track_forbid(c->data, capacity);
    return wiped;
}

static bool in_page(const mem__page* page, const MemoryContainer* c) {
    const unsigned char* at = (const unsigned char*)c;
    return at >= page->blocks && at < page->blocks + (size_t)page->carved * page->stride &&
           (size_t)(at - page->blocks) % page->stride == 0;
}

static void check_free_block(validation* v, const mem__page* page, const MemoryContainer* c, bool bytes) {
    check(v, mem__atomic_load_relaxed(&c->refcount) == 0 && mem__atomic_load_relaxed(&c->shared) == 0,
          "orphan has no references", c);
    if (bytes) {
        check(v, is_wiped(c, page->capacity), "orphan is wiped", c);
    }
}

static void check_blocks(validation* v, const mem__page* page, bool bytes) {
    size_t live = 0, free_state = 0, remote = 0;
    for (uint32_t i = 0; i < page->carved; i++) {
        const MemoryContainer* c = mem__page_block(page, i);
        if (c->magic != MEM__CONTAINER_MAGIC || c->page != page->id) {
            report(v, "container magic intact", c);
            continue;
        }
        switch (mem__atomic_load_relaxed(&c->state)) { /* a remote release may mark it */
        case MEM__STATE_LIVE:
            live++;
            check(v, c->size != 0 && c->size <= page->capacity, "live size within capacity", c);
            check(v, mem__atomic_load_relaxed(&c->refcount) <= MEM__REFCOUNT_MAX, "live refcount within range", c);
            break;
        case MEM__STATE_FREE:
            free_state++;
            check_free_block(v, page, c, bytes);
            break;
        case MEM__STATE_REMOTE:
            remote++; /* released on another thread since the cache was collected */
            break;
        default:
            report(v, "container state is live, orphaned or remote", c);
        }
    }
    size_t listed = 0;
    for (const MemoryContainer* c = page->free; c != NULL && listed <= page->carved;
         c = (const MemoryContainer*)(uintptr_t)c->serial) {
        listed++;
        check(v, in_page(page, c) && mem__atomic_load_relaxed(&c->state) == MEM__STATE_FREE,
              "free list holds the page's free blocks", c);
    }
    check(v, listed == free_state, "free list length matches the free blocks", page);
    check(v, live + remote == page->used, "page's used count matches its live blocks", page);
}

static bool page_header_sound(validation* v, const mem__page* page) {
    bool sound = page->magic == MEM__PAGE_MAGIC && page->pool == v->st && mem__page_lookup(page->id) == page &&
                 page->carved <= page->block_count && page->used <= page->carved;
    check(v, sound, "page header intact", page);
    return sound;
}

/* Checks one registered page under its owner's freeze (or the pool mutex). */
static void check_page(validation* v, mem__page* page) {
    for (int attempt = 0; attempt < 8; attempt++) {
        mem__cache* cache = mem__atomic_load_acquire(&page->cache);
        bool own = cache == &v->st->own || cache == NULL;
        if (own) {
            mem__pool_lock(v->st);
        } else {
            mem__freeze(cache);
        }
        bool still = mem__atomic_load_relaxed(&page->cache) == cache && page->registry_index != UINT32_MAX;
        bool custody = false;
        if (still && page_header_sound(v, page)) {
            custody = !own && page->list == MEM__LIST_LARGE_BIN && page->capacity > CUSTODY_BYTES;
            if (custody) {
                /* Out of circulation while its bytes are read with nothing frozen. */
                mem__bins_remove(&cache->large, page);
                page->list = MEM__LIST_CUSTODY;
            } else {
                check_blocks(v, page, true);
            }
        }
        if (own) {
            mem__pool_unlock(v->st);
        } else {
            mem__thaw(cache);
        }
        if (custody) {
            check_blocks(v, page, true);
            mem__freeze(cache);
            page->list = MEM__LIST_LARGE_BIN;
            mem__bins_push(&cache->large, page);
            mem__thaw(cache);
        }
        if (still || page->registry_index == UINT32_MAX) {
            return; /* checked, or unregistered meanwhile */
        }
    }
}

/* ---- a cache's lists and counters; the cache held and its remote list collected */

typedef struct sums {
    size_t containers, orphans, container_bytes, orphan_bytes, pages, spare_bytes, empty;
} sums;

static void add_page(sums* s, const mem__page* page) {
    s->pages++;
    s->containers += page->carved;
    s->orphans += page->carved - page->used;
    s->container_bytes += (size_t)page->carved * page->capacity;
    s->orphan_bytes += (size_t)(page->carved - page->used) * page->capacity;
}

/* A list walk's cycle check: `slow` moves one page for every two of the walk (at
 * steps 2, 4, ...), so in a cycle the walk catches up with it. True while none. */
static bool acyclic(const mem__page* page, const mem__page** slow, size_t step) {
    if (step != 0 && step % 2 == 0) {
        *slow = (*slow)->next;
    }
    return step == 0 || page != *slow;
}

static void check_list(validation* v, const mem__cache* cache, const mem__page* head, uint8_t list, sums* s) {
    const mem__page* slow = head;
    size_t step = 0;
    for (const mem__page* page = head; page != NULL; page = page->next, step++) {
        if (!acyclic(page, &slow, step)) {
            report(v, "page list ends", cache);
            return;
        }
        if (!page_header_sound(v, page)) {
            return;
        }
        check(v, page->cache == cache && page->list == list, "page sits on its cache's list", page);
        bool has_block = page->free != NULL || page->carved < page->block_count;
        if (list == MEM__LIST_QUEUE) {
            check(v, has_block && page->block_count > 1, "queued page has a block to hand out", page);
        } else if (list == MEM__LIST_FULL) {
            check(v, !has_block, "full page has nothing to hand out", page);
        } else if (list == MEM__LIST_EMPTY) {
            check(v, page->used == 0, "empty page holds no live container", page);
            s->empty++;
            s->spare_bytes += page->bytes;
        } else {
            check(v, page->used == 1 && page->block_count == 1, "large page holds its live container", page);
        }
        add_page(s, page);
    }
}

static void check_cache(validation* v, const mem__cache* cache) {
    sums s = {0};
    for (unsigned cls = 0; cls < MEM__SMALL_CLASS_COUNT; cls++) {
        check_list(v, cache, cache->queue[cls], MEM__LIST_QUEUE, &s);
        for (const mem__page* page = cache->queue[cls]; page != NULL; page = page->next) {
            check(v, page->size_class == cls, "queued page is of its queue's class", page);
        }
    }
    check_list(v, cache, cache->full, MEM__LIST_FULL, &s);
    for (unsigned order = 0; order < MEM__PAGE_ORDERS; order++) {
        check_list(v, cache, cache->empty[order], MEM__LIST_EMPTY, &s);
    }
    check_list(v, cache, cache->large_live, MEM__LIST_LARGE_LIVE, &s);
    size_t binned = 0, binned_bytes = 0;
    for (unsigned cls = 0; cls < MEM__SIZE_CLASS_COUNT; cls++) {
        check(v, mem__bins_bitmap_matches(&cache->large, cls), "bin bitmap matches non-empty bins", cache);
        const mem__page* slow = cache->large.head[cls];
        size_t step = 0;
        for (const mem__page* page = cache->large.head[cls]; page != NULL; page = page->next, step++) {
            if (!acyclic(page, &slow, step)) {
                report(v, "bin list ends", cache);
                break;
            }
            binned++;
            binned_bytes += page->capacity;
            check(v, page->cache == cache && page->list == MEM__LIST_LARGE_BIN && page->used == 0 &&
                         page->size_class == cls,
                  "released large container sits in the bin of its class", page);
            s.spare_bytes += page->bytes;
            add_page(&s, page);
        }
    }
    check(v, binned == cache->large.count && binned_bytes == cache->large.bytes, "bin counts match", cache);
    check(v, s.empty == cache->empty_count && s.spare_bytes == cache->spare_bytes, "spare pages counted", cache);
    const mem__cache_counts* n = &cache->counts;
    check(v, n->containers == s.containers && n->container_bytes == s.container_bytes, "cache counts its containers",
          cache);
    check(v, n->orphans == s.orphans && n->orphan_bytes == s.orphan_bytes, "cache counts its orphans", cache);
}

/* ---- the registry; pool locked */

static void check_registry(validation* v) {
    struct mem__pool_state* st = v->st;
    check(v, st->count <= st->capacity, "registry count within capacity", st);
    check(v, st->capacity >= st->initial_capacity, "registry capacity at least the initial capacity", st);
    size_t bytes = 0;
    for (size_t i = 0; i < st->count && i < st->capacity; i++) {
        const mem__page* page = st->registry[i];
        if (page == NULL || page->magic != MEM__PAGE_MAGIC) {
            report(v, "registry slot holds a page", page);
            continue;
        }
        check(v, page->registry_index == i, "page index matches its registry slot", page);
        bytes += page->bytes;
    }
    check(v, bytes == st->page_bytes, "registered bytes equal the pool's total", st);
    check(v, st->peak_bytes >= st->page_bytes, "peak bytes at least the current bytes", st);
}

/* The registry's page at `index`, NULL for a hole, or stop (false) past its end. */
static bool page_at(struct mem__pool_state* st, size_t index, mem__page** page) {
    mem__pool_lock(st);
    bool inside = index < st->count;
    *page = inside ? st->registry[index] : NULL;
    mem__pool_unlock(st);
    return inside;
}

bool mem_pool_validate(MemoryPool* pool) {
    struct mem__pool_state* st = mem__pool_state_of(pool);
    if (st == NULL) {
        return false;
    }
    validation v = {.st = st};
    mem__mutex_lock(&st->snapshot_mutex);
    mem__pool_lock(st);
    check_registry(&v);
    st->validating = true;
    check_cache(&v, &st->own);
    mem__pool_unlock(st);
    for (mem__cache* cache = mem__pool_next_cache(st, NULL); cache != NULL; cache = mem__pool_next_cache(st, cache)) {
        mem__freeze(cache);
        mem__remote_collect(cache);
        check_cache(&v, cache);
        mem__thaw(cache);
    }
    mem__page* page;
    for (size_t i = 0; page_at(st, i, &page); i++) {
        if (page != NULL) {
            check_page(&v, page);
        }
    }
    mem__pool_lock(st);
    st->validating = false;
    size_t failed = mem__registry_close_holes(st);
    mem__page* deferred = st->deferred_frees;
    st->deferred_frees = NULL;
    mem__pool_unlock(st);
    mem__mutex_unlock(&st->snapshot_mutex);
    mem__free_pages(deferred);
    if (failed != 0) {
        mem__out_of_memory_absorbed(failed);
    }
    if (v.failures != 0) {
        mem__log(MEM_LOG_ERROR, "validate: pool %p failed %zu check(s)", (void*)pool, v.failures);
        return mem__fail(MEM_ERR_CORRUPTED);
    }
    return true;
}

/* ---- dump */

static const char* state_name(uint8_t state, const mem__page* page, const struct mem__pool_state* st) {
    switch (state) {
    case MEM__STATE_LIVE:
        return "live";
    case MEM__STATE_FREE:
        return page->cache == &st->own ? "orphan" : "cached";
    case MEM__STATE_REMOTE:
        return "remote";
    default:
        return "corrupt";
    }
}

typedef struct dump_context {
    FILE* out;
    struct mem__pool_state* st;
    mem__handle_index handles;
    size_t line;
} dump_context;

static void dump_page(dump_context* d, const mem__page* page) {
    for (uint32_t i = 0; i < page->carved; i++) {
        const MemoryContainer* c = mem__page_block(page, i);
        uint8_t state = mem__atomic_load_relaxed(&c->state);
        bool live = state == MEM__STATE_LIVE;
        fprintf(d->out, "  [%zu] id %016" PRIx64 " %-6s refs %" PRIu32 " size %zu capacity %zu", d->line++,
                live ? mem__container_id(c) : UINT64_C(0), state_name(state, page, d->st),
                live ? mem__ref_total(c) : 0u, live ? c->size : 0u, page->capacity);
        if (live) {
            mem__handle_index_print(&d->handles, c, d->out);
        }
        fputc('\n', d->out);
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
    struct mem__pool_state* st = mem__pool_state_of(pool);
    if (st == NULL) {
        return false;
    }
    dump_context d = {.out = out, .st = st};
    mem__handle_index_build(&d.handles, st->generation);
    /* Everything frozen at once: a dump is a consistent picture, and a rare one. */
    mem__mutex_lock(&st->snapshot_mutex);
    mem__pool_lock(st);
    mem__freeze_all(st);
    for (size_t i = 0; i < st->count; i++) {
        dump_page(&d, st->registry[i]);
    }
    mem__thaw_all(st);
    mem__pool_unlock(st);
    mem__mutex_unlock(&st->snapshot_mutex);
    mem__handle_index_free(&d.handles);
    return true;
}

void mem_pool_dump(MemoryPool* pool, bool detailed) { (void)mem_pool_dump_to(pool, stdout, detailed); }
