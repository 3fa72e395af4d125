/*
 * cache.c - a cache's blocks: taking a block from its pages, making it live, putting
 * a released one back, and the page lists that keep allocation O(1): per size class a
 * queue of pages with a block to hand out, a list of full pages, empty small pages by
 * page size, live large pages, and released large containers in bins by class.
 *
 * Every function here runs with the cache held: inside its owner's section, by a
 * snapshot that froze it, or (a pool's own cache) under the pool mutex. Nothing here
 * takes a lock or calls the system allocator.
 */
#include "hot.h"

/* One page's blocks added to or removed from the cache's counts. */
static void account(mem__cache* cache, const mem__page* page, bool add) {
    size_t containers = page->carved;
    size_t orphans = page->carved - page->used;
    size_t container_bytes = containers * page->capacity;
    size_t orphan_bytes = orphans * page->capacity;
    mem__cache_counts* n = &cache->counts;
    if (add) {
        n->containers += containers;
        n->container_bytes += container_bytes;
        n->orphans += orphans;
        n->orphan_bytes += orphan_bytes;
    } else {
        n->containers -= containers;
        n->container_bytes -= container_bytes;
        n->orphans -= orphans;
        n->orphan_bytes -= orphan_bytes;
    }
}

static unsigned small_page_order(const mem__page* page) { return mem__page_order(page->bytes); }

mem__cache* mem__cache_find(mem__thread_state* ts, struct mem__pool_state* st) {
    for (unsigned i = 0; i < MEM_THREAD_CACHE_POOLS; i++) {
        if (mem__atomic_load_relaxed(&ts->caches[i].pool) == st) {
            ts->last_cache = &ts->caches[i];
            return &ts->caches[i];
        }
    }
    for (unsigned i = 0; i < MEM_THREAD_CACHE_POOLS; i++) {
        mem__cache* cache = &ts->caches[i];
        if (mem__atomic_load_relaxed(&cache->pool) != NULL) {
            continue;
        }
        mem__pool_lock(st);
        /* The list is kept in address order: snapshots that freeze every cache lock
         * them in list order, so all lock them in one global order. */
        mem__cache** link = &st->caches;
        while (*link != NULL && (uintptr_t)*link < (uintptr_t)cache) {
            link = &(*link)->next_in_pool;
        }
        cache->next_in_pool = *link;
        *link = cache;
        cache->pool_generation = st->generation;
        cache->next_serial = st->next_serial;
        cache->serial_end = st->next_serial += MEM__SERIAL_BLOCK;
        /* Release: snapshots that find the cache in the pool's list see it whole. */
        mem__atomic_store_release(&cache->pool, st);
        mem__pool_unlock(st);
        ts->last_cache = cache;
        return cache;
    }
    return NULL; /* more pools than cache slots: this pool uses its own cache */
}

void mem__cache_counts_add(mem__cache_counts* sum, const mem__cache_counts* part) {
    sum->containers += part->containers;
    sum->container_bytes += part->container_bytes;
    sum->orphans += part->orphans;
    sum->orphan_bytes += part->orphan_bytes;
    sum->hits += part->hits + part->reuses + part->carves - part->misses; /* allocations that were hits */
    sum->misses += part->misses;
    sum->reuses += part->reuses;
    sum->carves += part->carves;
    for (unsigned cls = 0; cls < MEM__SMALL_CLASS_COUNT; cls++) {
        /* Modular: a page moved away took its orphans off the fields above. */
        uint64_t kept = part->put[cls] - part->taken[cls];
        sum->orphans += (size_t)kept;
        sum->orphan_bytes += (size_t)kept * mem__class_capacity(cls);
        sum->reuses += part->taken[cls];
        sum->hits += part->taken[cls] + part->put[cls];
        sum->taken[cls] = sum->put[cls] = 0; /* folded */
    }
}

/* An empty page of the right size kept by the cache, laid out for `cls` and queued. */
static mem__page* reuse_empty_page(mem__cache* cache, unsigned cls) {
    unsigned order = mem__page_order(mem__page_bytes_for(cls, false));
    mem__page* page = cache->empty[order];
    if (page == NULL) {
        return NULL;
    }
    mem__cache_detach_page(cache, page);
    if (page->size_class != cls) {
        mem__page_reformat(page, cls);
    }
    mem__cache_install(cache, page);
    return page;
}

MemoryContainer* mem__cache_take_from(mem__cache* cache, mem__page* page) {
    if (mem__page_is_single(page)) {
        mem__bins_remove(&cache->large, page);
        cache->spare_bytes -= page->bytes;
        MemoryContainer* c = mem__page_take(cache, page);
        mem__page_list_push(&cache->large_live, page, MEM__LIST_LARGE_LIVE);
        return c;
    }
    MemoryContainer* c = mem__page_take(cache, page);
    if (!mem__page_has_block(page)) {
        mem__cache_page_full(cache, page);
    }
    return c;
}

MemoryContainer* mem__cache_take_slow(mem__cache* cache, unsigned cls) {
    mem__page* page;
    if (mem__class_is_small(cls)) {
        page = cache->queue[cls];
        if (page == NULL && (page = reuse_empty_page(cache, cls)) == NULL) {
            return NULL;
        }
    } else if ((page = mem__bins_find_fit(&cache->large, cls, MEM__REUSE_MAX_CLASS_SLACK)) == NULL) {
        return NULL;
    }
    return mem__cache_take_from(cache, page);
}

void mem__cache_relist(mem__cache* cache, mem__page* page) {
    if (mem__page_is_single(page)) {
        mem__page_list_remove(&cache->large_live, page);
        page->list = MEM__LIST_LARGE_BIN;
        mem__bins_push(&cache->large, page);
        cache->spare_bytes += page->bytes;
        return;
    }
    if (page->list == MEM__LIST_FULL) {
        mem__cache_unfull(cache, page);
    }
    /* An empty page stays the class's page while it is the only one queued; others
     * wait among the empty pages, for any class of their size (but not while a
     * validation holds some of its free blocks). */
    if (page->used == 0 && page->custody == 0 && (page->prev != NULL || page->next != NULL)) {
        mem__queue_remove(cache, page);
        mem__page_list_push(&cache->empty[small_page_order(page)], page, MEM__LIST_EMPTY);
        cache->empty_count++;
        cache->spare_bytes += page->bytes;
    }
}

void mem__cache_install(mem__cache* cache, mem__page* page) {
    /* Release: a thread that reads the page's cache to hand a block back sees the
     * cache as it was when the page joined it. */
    mem__atomic_store_release(&page->cache, cache);
    account(cache, page, true);
    if (mem__page_is_single(page)) {
        page->list = MEM__LIST_LARGE_BIN;
        mem__bins_push(&cache->large, page);
        cache->spare_bytes += page->bytes;
    } else {
        mem__queue_push_head(cache, page);
    }
}

void mem__cache_keep_empty(mem__cache* cache, mem__page* page) {
    if (mem__page_is_single(page)) {
        mem__cache_install(cache, page);
        return;
    }
    mem__atomic_store_release(&page->cache, cache);
    account(cache, page, true);
    mem__page_list_push(&cache->empty[small_page_order(page)], page, MEM__LIST_EMPTY);
    cache->empty_count++;
    cache->spare_bytes += page->bytes;
}

void mem__cache_set_aside(mem__cache* cache, mem__page* page) {
    if (page->list == MEM__LIST_EMPTY) {
        mem__page_list_remove(&cache->empty[small_page_order(page)], page);
        cache->empty_count--;
    } else {
        mem__bins_remove(&cache->large, page);
    }
    page->list = MEM__LIST_CUSTODY;
}

void mem__cache_take_back(mem__cache* cache, mem__page* page, uint8_t list) {
    if (list == MEM__LIST_EMPTY) {
        mem__page_list_push(&cache->empty[small_page_order(page)], page, MEM__LIST_EMPTY);
        cache->empty_count++;
    } else {
        page->list = MEM__LIST_LARGE_BIN;
        mem__bins_push(&cache->large, page);
    }
}

void mem__cache_detach_page(mem__cache* cache, mem__page* page) {
    switch (page->list) {
    case MEM__LIST_QUEUE:
        mem__queue_remove(cache, page);
        break;
    case MEM__LIST_FULL:
        mem__page_list_remove(&cache->full, page);
        break;
    case MEM__LIST_EMPTY:
        mem__page_list_remove(&cache->empty[small_page_order(page)], page);
        cache->empty_count--;
        cache->spare_bytes -= page->bytes;
        break;
    case MEM__LIST_LARGE_LIVE:
        mem__page_list_remove(&cache->large_live, page);
        break;
    case MEM__LIST_LARGE_BIN:
        mem__bins_remove(&cache->large, page);
        page->list = MEM__LIST_NONE;
        cache->spare_bytes -= page->bytes;
        break;
    default:
        break;
    }
    account(cache, page, false);
    mem__atomic_store_relaxed(&page->cache, (mem__cache*)NULL);
}

/* An empty page of the cache's largest order, or NULL. */
static mem__page* any_empty_page(const mem__cache* cache) {
    for (unsigned order = MEM__PAGE_ORDERS; order > 0; order--) {
        if (cache->empty[order - 1] != NULL) {
            return cache->empty[order - 1];
        }
    }
    return NULL;
}

mem__page* mem__cache_surplus(mem__cache* cache, bool everything) {
    mem__page* chain = NULL;
    mem__page* page;
    unsigned keep_pages = everything ? 0 : MEM_THREAD_CACHE_EMPTY_PAGES;
    while (cache->empty_count > keep_pages && (page = any_empty_page(cache)) != NULL) {
        mem__cache_detach_page(cache, page);
        page->next = chain;
        chain = page;
    }
    if (everything) {
        for (unsigned cls = 0; cls < MEM__SMALL_CLASS_COUNT; cls++) {
            page = cache->queue[cls];
            if (page != NULL && page->used == 0 && page->custody == 0 && page->next == NULL) {
                mem__cache_detach_page(cache, page);
                page->next = chain;
                chain = page;
            }
        }
    }
    size_t keep_bytes = everything ? 0 : MEM_THREAD_CACHE_LARGE_BYTES;
    while (cache->large.bytes > keep_bytes && (page = mem__bins_largest(&cache->large)) != NULL) {
        mem__cache_detach_page(cache, page);
        page->next = chain;
        chain = page;
    }
    return chain;
}
