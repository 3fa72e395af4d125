/*
 * pool_path.c - allocation and release through the pool's global bins under the
 * pool mutex: the path thread caches fall back on, and the only path when
 * MEM_THREAD_SAFE is 0. Wiping, system allocation and the OOM handler happen with
 * the mutex released.
 */
#include "internal.h"

MemoryContainer* mem__pool_obtain(struct mem__pool_state* st, size_t size) {
    unsigned cls = mem__size_class(size);
    mem__pool_lock(st);
    uint64_t serial = st->next_serial++;
    MemoryContainer* c = mem__bin_pop_fit(st, cls, MEM__REUSE_MAX_CLASS_SLACK);
    if (c != NULL) {
        st->reuse_hits++;
        mem__container_revive(c, size, serial);
        mem__pool_unlock(st);
        return c;
    }
    st->reuse_misses++;
    mem__pool_unlock(st);
    return mem__pool_new_container(st, size, serial);
}

MemoryContainer* mem__pool_new_container(struct mem__pool_state* st, size_t size, uint64_t serial) {
    unsigned cls = mem__size_class(size);
    MemoryContainer* c = mem__container_new(cls, size);
    if (c == NULL) {
        mem__out_of_memory(offsetof(MemoryContainer, data) + mem__class_capacity(cls));
        return NULL;
    }
    c->serial = serial;
    mem__pool_lock(st);
    bool registered = mem__registry_add(st, c);
    mem__pool_unlock(st);
    if (!registered) {
        mem__container_free(c);
        mem__out_of_memory(st->capacity * 2 * sizeof(MemoryContainer*));
        return NULL;
    }
    return c;
}

void mem__pool_release_wiped(struct mem__pool_state* st, MemoryContainer* c) {
    size_t capacity = mem__container_capacity(c);
    mem__pool_lock(st);
    if (st->orphan_bytes + capacity <= st->orphan_budget) {
        mem__bin_push(st, c);
        mem__pool_unlock(st);
        return;
    }
    mem__registry_remove(st, c);
    st->orphans_freed++;
    mem__pool_unlock(st);
    mem__container_free(c);
}

MemoryContainer* mem__pool_evict_orphans_locked(struct mem__pool_state* st, size_t budget) {
    MemoryContainer* chain = NULL;
    unsigned cls = MEM__SIZE_CLASS_COUNT;
    /* Largest classes first: the fewest frees bring the bytes under the budget. */
    while (st->orphan_bytes > budget && cls > 0) {
        MemoryContainer* c = mem__bin_pop_exact(st, cls - 1);
        if (c == NULL) {
            cls--;
            continue;
        }
        mem__registry_remove(st, c);
        st->orphans_freed++;
        mem__orphan_set_next(c, chain);
        chain = c;
    }
    return chain;
}

size_t mem__free_orphan_chain(MemoryContainer* chain) {
    size_t freed = 0;
    while (chain != NULL) {
        MemoryContainer* next = mem__orphan_next(chain);
        freed += offsetof(MemoryContainer, data) + mem__container_capacity(chain);
        mem__container_free(chain);
        chain = next;
    }
    return freed;
}
