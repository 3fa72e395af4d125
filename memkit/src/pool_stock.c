/*
 * pool_stock.c - the pages a pool keeps and makes for caches. The stock is the pool's
 * own cache's empty small pages and released large containers; caches take from it
 * when they run out of blocks and give back what passes their keep limits. What
 * would take the stock past the orphan budget (in page bytes) is unregistered and
 * freed instead. The pool mutex guards the stock; system allocation, freeing, wiping
 * and the OOM handler happen with it released.
 */
#include "hot.h"

mem__cache* mem__pool_next_cache(struct mem__pool_state* st, const mem__cache* cache) {
    mem__pool_lock(st);
    mem__cache* next = cache == NULL ? st->caches : cache->next_in_pool;
    mem__pool_unlock(st);
    return next;
}

static size_t stock_bytes(const struct mem__pool_state* st) { return st->own.spare_bytes; }

mem__page* mem__stock_take(struct mem__pool_state* st, unsigned cls) {
    mem__cache* own = &st->own;
    mem__page* page;
    if (mem__class_is_small(cls)) {
        page = own->empty[mem__page_order(mem__page_bytes_for(cls, false))];
    } else {
        page = mem__bins_find_fit(&own->large, cls, MEM__REUSE_MAX_CLASS_SLACK);
    }
    if (page == NULL) {
        return NULL;
    }
    mem__cache_detach_page(own, page);
    if (page->size_class != cls && mem__class_is_small(cls)) {
        mem__page_reformat(page, cls);
    }
    st->cache_exchanges++;
    return page;
}

mem__page* mem__stock_new_page(struct mem__pool_state* st, unsigned cls, bool single) {
    mem__page* page = mem__page_new(st, cls, single);
    if (page == NULL) {
        mem__out_of_memory(mem__page_bytes_for(cls, single));
        return NULL;
    }
    mem__pool_lock(st);
    bool registered = mem__registry_add(st, page);
    size_t requested = 0; /* what a failed growth asked for, read while locked */
    if (!registered && mem__mul_overflows(st->capacity, 2 * sizeof(mem__page*), &requested)) {
        requested = SIZE_MAX;
    }
    mem__pool_unlock(st);
    if (!registered) {
        mem__page_free(page);
        mem__out_of_memory(requested);
        return NULL;
    }
    return page;
}

/* Pool locked: keeps `page` in the stock, or unregisters it onto *to_free. */
static size_t stock_put_one(struct mem__pool_state* st, mem__page* page, mem__page** to_free) {
    if (st->orphan_budget != 0 && stock_bytes(st) + page->bytes <= st->orphan_budget) {
        mem__cache_keep_empty(&st->own, page);
        return 0;
    }
    return mem__stock_unregister(st, page, to_free);
}

size_t mem__stock_put(struct mem__pool_state* st, mem__page* pages, mem__page** to_free) {
    size_t failed = 0;
    while (pages != NULL) {
        mem__page* next = pages->next;
        size_t f = stock_put_one(st, pages, to_free);
        failed = f != 0 ? f : failed;
        st->cache_exchanges++;
        pages = next;
    }
    return failed;
}

size_t mem__free_pages(mem__page* chain) {
    size_t freed = 0;
    while (chain != NULL) {
        mem__page* next = chain->next;
        freed += chain->bytes;
        mem__page_free(chain);
        chain = next;
    }
    return freed;
}

void mem__stock_return(struct mem__pool_state* st, mem__page* pages) {
    if (pages == NULL) {
        return;
    }
    mem__page* to_free = NULL;
    mem__pool_lock(st);
    size_t failed = mem__stock_put(st, pages, &to_free);
    mem__pool_unlock(st);
    mem__free_pages(to_free);
    if (failed != 0) {
        mem__out_of_memory_absorbed(failed);
    }
}

size_t mem__stock_evict(struct mem__pool_state* st, size_t budget, mem__page** to_free) {
    size_t failed = 0;
    mem__cache* own = &st->own;
    while (stock_bytes(st) > budget) {
        mem__page* page = mem__bins_largest(&own->large);
        for (unsigned order = MEM__PAGE_ORDERS; page == NULL && order > 0; order--) {
            page = own->empty[order - 1];
        }
        if (page == NULL) {
            break;
        }
        mem__cache_detach_page(own, page);
        size_t f = mem__stock_unregister(st, page, to_free);
        failed = f != 0 ? f : failed;
    }
    return failed;
}

size_t mem__stock_unregister(struct mem__pool_state* st, mem__page* page, mem__page** to_free) {
    st->orphans_freed += page->carved - page->used;
    size_t failed = mem__registry_remove(st, page);
    /* A validation walking a copy of the registry may still reach the page: it is
     * freed when the validation ends. */
    mem__page** chain = st->validating ? &st->deferred_frees : to_free;
    page->next = *chain;
    *chain = page;
    return failed;
}
