/*
 * validate.c - mem_pool_validate and mem_pool_dump. Both are snapshots that never stop
 * owners for long: the registry and the pool's own cache are checked under the pool
 * mutex; each cache's page lists and counters while that cache alone is frozen; the
 * pages' blocks (headers, free lists) in batches, every cache frozen for a bounded
 * time per batch (one process-wide barrier each). The bytes of free blocks (that they
 * are wiped) are checked with nothing frozen, the blocks out of circulation (in
 * custody) meanwhile. Pages unregistered during a validation are freed only when it
 * ends; removals leave holes in the registry rather than moving pages (registry.c).
 * Neither changes what a pool holds, and neither allocates.
 */
#include "hot.h"

#include <inttypes.h>

/* Failures logged in detail per validation; the rest are only counted. */
#define MAX_REPORTED_FAILURES 16

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

/* Word by word: a validation reads every free byte of a pool. */
static bool is_wiped(const MemoryContainer* c, size_t capacity) {
    mem__track_allow(c->data, capacity);
    uint64_t bits = 0;
    size_t i = 0;
    for (; i + sizeof bits <= capacity && bits == 0; i += sizeof bits) {
        uint64_t word;
        memcpy(&word, c->data + i, sizeof word);
        bits |= word;
    }
    for (; i < capacity && bits == 0; i++) {
        bits |= c->data[i];
    }
    mem__track_forbid(c->data, capacity);
    return bits == 0;
}

static bool in_page(const mem__page* page, const MemoryContainer* c) {
    const unsigned char* at = (const unsigned char*)c;
    return at >= page->blocks && at < page->blocks + (size_t)page->carved * page->stride &&
           (size_t)(at - page->blocks) % page->stride == 0;
}

static void check_free_block(validation* v, const MemoryContainer* c) {
    check(v, mem__atomic_load_relaxed(&c->refcount) == 0 && mem__atomic_load_relaxed(&c->shared) == 0,
          "orphan has no references", c);
}

/* Checks a page's block headers and its free list. False when the free list cannot be
 * followed (a link out of the page): nothing may walk it then. */
static bool check_blocks(validation* v, const mem__page* page) {
    size_t live = 0, free_state = 0, remote = 0;
    for (uint32_t i = 0; i < page->carved; i++) {
        const MemoryContainer* c = mem__page_block(page, i);
        if (c->magic != MEM__CONTAINER_MAGIC || c->page != page->id) {
            report(v, "container magic intact", c);
            continue;
        }
        uint8_t state = mem__atomic_load_relaxed(&c->state); /* a remote release may mark it */
        switch (state) {
        case MEM__STATE_LIVE:
        case MEM__STATE_BLOCK:
            live++;
            check(v, c->size != 0 && c->size <= page->capacity, "live size within capacity", c);
            if (state == MEM__STATE_LIVE) {
                check(v, mem__atomic_load_relaxed(&c->refcount) <= MEM__REFCOUNT_MAX, "live refcount within range", c);
            } else {
                check(v, mem__atomic_load_relaxed(&c->refcount) == 0 && mem__atomic_load_relaxed(&c->shared) == 0,
                      "a malloc block counts no reference", c);
                check(v, c->serial == (uint64_t)(uintptr_t)page, "a malloc block names its page", c);
            }
            break;
        case MEM__STATE_FREE:
            free_state++;
            check_free_block(v, c);
            break;
        case MEM__STATE_REMOTE:
            remote++; /* released on another thread since the cache was collected */
            break;
        default:
            report(v, "container state is live, orphaned or remote", c);
        }
    }
    size_t listed = 0;
    for (const MemoryContainer* c = page->free; c != NULL; c = (const MemoryContainer*)(uintptr_t)c->serial) {
        if (!in_page(page, c) || ++listed > page->carved) {
            report(v, "free list holds the page's free blocks", c);
            return false;
        }
        check(v, mem__atomic_load_relaxed(&c->state) == MEM__STATE_FREE, "free list holds the page's free blocks", c);
    }
    check(v, listed == free_state, "free list length matches the free blocks", page);
    check(v, live + remote == page->used, "page's used count matches its live blocks", page);
    return true;
}

static bool page_header_sound(validation* v, const mem__page* page) {
    bool sound = page->magic == MEM__PAGE_MAGIC && page->pool == v->st && mem__page_lookup(page->id) == page &&
                 page->carved <= page->block_count && page->used <= page->carved;
    check(v, sound, "page header intact", page);
    return sound;
}

/* Cache held: takes the page's free blocks out of circulation. A spare page (an empty
 * one, or a released large container's) leaves its list whole; a page in use keeps
 * its place but its free list is set aside, and its custody count keeps it from being
 * emptied away meanwhile. Returns the blocks set aside; *spare_list tells where a
 * whole page came from. */
static MemoryContainer* take_custody(mem__cache* cache, mem__page* page, uint8_t* spare_list) {
    *spare_list = page->list;
    if (page->list == MEM__LIST_LARGE_BIN || page->list == MEM__LIST_EMPTY) {
        MemoryContainer* chain = page->free;
        mem__cache_set_aside(cache, page);
        return chain;
    }
    MemoryContainer* chain = page->free;
    for (const MemoryContainer* c = chain; c != NULL; c = (const MemoryContainer*)(uintptr_t)c->serial) {
        page->custody++;
    }
    page->free = page->free_tail = NULL;
    if (page->list == MEM__LIST_QUEUE && !mem__page_has_block(page)) {
        mem__cache_page_full(cache, page); /* queued pages always have a block */
    }
    return chain;
}

/* Cache held: puts what take_custody took back. */
static void end_custody(mem__cache* cache, mem__page* page, MemoryContainer* chain, uint8_t spare_list) {
    if (page->list == MEM__LIST_CUSTODY) {
        mem__cache_take_back(cache, page, spare_list);
        return;
    }
    while (chain != NULL) {
        MemoryContainer* next = (MemoryContainer*)(uintptr_t)chain->serial;
        mem__free_push(page, chain);
        page->custody--;
        chain = next;
    }
    /* A full page with free blocks again is queued; an empty one may move among the
     * empty pages now that nothing of it is in custody. */
    if ((page->list == MEM__LIST_FULL && mem__page_has_block(page)) ||
        (page->list == MEM__LIST_QUEUE && page->used == 0)) {
        mem__cache_relist(cache, page);
    }
}

/* A batch of pages checked under one freeze of every cache, their free blocks in
 * custody until the next. The batch ends at CUSTODY_BATCH pages or once its checks
 * have held the owners for BATCH_NANOSECONDS, so an owner waits about that long at
 * most, and a validation costs the owners one process-wide barrier per batch. */
#define CUSTODY_BATCH 256
#define BATCH_NANOSECONDS 200000

typedef struct custody {
    mem__page* page;
    MemoryContainer* chain;
    uint8_t spare_list;
} custody;

/* Pool locked, every cache frozen: checks registered pages from *next on (header,
 * block headers, free list) and takes their free blocks into custody. A page with no
 * cache is in transit between the pool and a thread (taken from the stock or just
 * made, not yet installed): the thread moving it owns it, and it is skipped; so is a
 * page whose free list is damaged, once reported. Returns how many pages it holds;
 * *finished once the registry is done. */
static size_t take_batch(validation* v, custody* batch, size_t* next, bool* finished) {
    struct mem__pool_state* st = v->st;
    size_t held = 0;
    uint64_t start = mem__now_ns();
    while (held < CUSTODY_BATCH && *next < st->count && mem__now_ns() - start < BATCH_NANOSECONDS) {
        mem__page* page = st->registry[(*next)++];
        mem__cache* cache = page != NULL ? mem__atomic_load_relaxed(&page->cache) : NULL;
        if (cache == NULL || !page_header_sound(v, page)) {
            continue; /* a hole left by a page freed meanwhile, or in transit */
        }
        if (!check_blocks(v, page)) {
            continue; /* its free list is damaged: its blocks stay where they are */
        }
        batch[held].page = page;
        batch[held].chain = take_custody(cache, page, &batch[held].spare_list);
        held++;
    }
    *finished = *next >= st->count;
    return held;
}

/* Pool locked, every cache frozen: gives a batch's blocks back. A page in custody
 * stays in its cache (it is on no list to leave by, or not empty). */
static void end_batch(custody* batch, size_t held) {
    for (size_t i = 0; i < held; i++) {
        mem__page* page = batch[i].page;
        end_custody(mem__atomic_load_relaxed(&page->cache), page, batch[i].chain, batch[i].spare_list);
    }
}

/* With nothing frozen: that a batch's free blocks are wiped. */
static void check_batch_bytes(validation* v, const custody* batch, size_t held) {
    for (size_t i = 0; i < held; i++) {
        for (const MemoryContainer* c = batch[i].chain; c != NULL; c = (const MemoryContainer*)(uintptr_t)c->serial) {
            check(v, is_wiped(c, batch[i].page->capacity), "orphan is wiped", c);
        }
    }
}

/* Every registered page, batch by batch. */
static void check_pages(validation* v) {
    struct mem__pool_state* st = v->st;
    custody batch[CUSTODY_BATCH];
    size_t held = 0, next = 0;
    bool finished = false;
    do {
        mem__snapshot_freeze_all(st);
        end_batch(batch, held);
        held = finished ? 0 : take_batch(v, batch, &next, &finished);
        mem__snapshot_thaw_all(st);
        check_batch_bytes(v, batch, held);
    } while (held != 0 || !finished);
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

/* Checks the pages of the list from `head`; false when the list itself is broken (it
 * does not end, or holds what is not a page), else true with its last page in *last. */
static bool check_list(validation* v, const mem__cache* cache, const mem__page* head, uint8_t list, sums* s,
                       const mem__page** last) {
    const mem__page* slow = head;
    size_t step = 0;
    *last = NULL;
    for (const mem__page* page = head; page != NULL; page = page->next, step++) {
        if (!acyclic(page, &slow, step)) {
            report(v, "page list ends", cache);
            return false;
        }
        if (!page_header_sound(v, page)) {
            return false;
        }
        *last = page;
        check(v, mem__atomic_load_relaxed(&page->cache) == cache && page->list == list, "page sits on its cache's list", page);
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
    return true;
}

static void check_cache(validation* v, const mem__cache* cache) {
    sums s = {0};
    const mem__page* last;
    for (unsigned cls = 0; cls < MEM__SMALL_CLASS_COUNT; cls++) {
        if (!check_list(v, cache, cache->queue[cls], MEM__LIST_QUEUE, &s, &last)) {
            continue;
        }
        check(v, cache->queue_tail[cls] == last, "a class's queue ends at its tail", cache);
        for (const mem__page* page = cache->queue[cls]; page != NULL; page = page->next) {
            check(v, page->size_class == cls, "queued page is of its queue's class", page);
        }
    }
    check_list(v, cache, cache->full, MEM__LIST_FULL, &s, &last);
    for (unsigned order = 0; order < MEM__PAGE_ORDERS; order++) {
        check_list(v, cache, cache->empty[order], MEM__LIST_EMPTY, &s, &last);
    }
    check_list(v, cache, cache->large_live, MEM__LIST_LARGE_LIVE, &s, &last);
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
            check(v,
                  mem__atomic_load_relaxed(&page->cache) == cache && page->list == MEM__LIST_LARGE_BIN &&
                      page->used == 0 && page->size_class == cls,
                  "released large container sits in the bin of its class", page);
            s.spare_bytes += page->bytes;
            add_page(&s, page);
        }
    }
    check(v, binned == cache->large.count && binned_bytes == cache->large.bytes, "bin counts match", cache);
    check(v, s.empty == cache->empty_count && s.spare_bytes == cache->spare_bytes, "spare pages counted", cache);
    mem__cache_counts folded = {0};
    mem__cache_counts_add(&folded, &cache->counts);
    const mem__cache_counts* n = &folded;
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
        mem__snapshot_freeze(st, cache);
        mem__remote_collect(cache);
        check_cache(&v, cache);
        mem__snapshot_thaw(st, cache);
    }
    check_pages(&v);
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
    case MEM__STATE_BLOCK:
        return "block";
    case MEM__STATE_FREE:
        return mem__atomic_load_relaxed(&page->cache) == &st->own ? "orphan" : "cached";
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
    if (mem__atomic_load_acquire(&page->cache) == NULL) {
        fprintf(d->out, "  (a page of %zu-byte blocks on its way to a thread)\n", page->capacity);
        return; /* in transit: its mover owns it */
    }
    for (uint32_t i = 0; i < page->carved; i++) {
        const MemoryContainer* c = mem__page_block(page, i);
        uint8_t state = mem__atomic_load_relaxed(&c->state);
        bool live = mem__state_is_live(state);
        fprintf(d->out, "  [%zu] id %016" PRIx64 " %-6s refs %" PRIu32 " size %zu capacity %zu", d->line++,
                state == MEM__STATE_LIVE ? mem__container_id(c) : UINT64_C(0), state_name(state, page, d->st),
                state == MEM__STATE_BLOCK ? 1u : live ? mem__ref_total(c) : 0u, live ? c->size : 0u, page->capacity);
        if (live) {
            mem__handle_index_print(&d->handles, c, d->out);
        }
        fputc('\n', d->out);
    }
}

/* True when `out` took everything written to it (flushed, no write error), else
 * false with MEM_ERR_OUTPUT: a dump lost on a full disk is not a success. */
static bool output_written(FILE* out) {
    if (fflush(out) != 0 || ferror(out)) {
        return mem__fail(MEM_ERR_OUTPUT);
    }
    return true;
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
        return output_written(out);
    }
    struct mem__pool_state* st = mem__pool_state_of(pool);
    if (st == NULL) {
        return false;
    }
    fprintf(out, "  snapshot barrier: %s\n", mem__snapshot_barrier_name());
    dump_context d = {.out = out, .st = st};
    mem__handle_index_build(&d.handles, st->generation);
    /* Everything frozen at once: a dump is a consistent picture, and a rare one. */
    mem__mutex_lock(&st->snapshot_mutex);
    mem__snapshot_freeze_all(st);
    for (size_t i = 0; i < st->count; i++) {
        dump_page(&d, st->registry[i]);
    }
    mem__snapshot_thaw_all(st);
    mem__mutex_unlock(&st->snapshot_mutex);
    mem__handle_index_free(&d.handles);
    return output_written(out);
}

void mem_pool_dump(MemoryPool* pool, bool detailed) { (void)mem_pool_dump_to(pool, stdout, detailed); }
