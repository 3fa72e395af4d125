/*
 * refcount.c - biased reference counting (Choi, Shull and Torrellas, "Biased
 * Reference Counting", PACT 2018). The thread that owns a container counts its
 * references in `refcount` with plain loads and stores inside its owner section;
 * every other thread counts in `shared` with atomic read-modify-writes. When the
 * owner's count reaches zero it merges: if `shared` is zero the container is
 * released, else MERGED is set and whoever takes `shared` to zero releases it.
 *
 * A reference counted in `refcount` that another thread drops is carried back to the
 * owner (remote.c) instead of being decremented there; containers made for RCU
 * publication or without an owner are merged from birth and only use `shared`.
 *
 * The owner's `refcount` changes only inside its owner section, so a snapshot that
 * froze the cache may process carried drops for it.
 */
#include "hot.h"

static uint32_t shared_count(uint32_t shared) { return shared >> 1; }

uint32_t mem__ref_total(const MemoryContainer* c) {
    /* Acquire: pairs with the release of every dropped reference (the owner's release
     * store below, others' release read-modify-writes), so a caller that finds itself
     * alone and writes in place writes after every other holder's last read. */
    uint64_t total =
        (uint64_t)mem__atomic_load_acquire(&c->refcount) + shared_count(mem__atomic_load_acquire(&c->shared));
    return total > UINT32_MAX ? UINT32_MAX : (uint32_t)total;
}

bool mem__ref_add_shared(MemoryContainer* c) {
    /* Relaxed: the caller holds a reference, which keeps the container alive; an
     * increment publishes nothing. */
    uint32_t before = mem__atomic_fetch_add_relaxed(&c->shared, MEM__SHARED_ONE);
    if (shared_count(before) >= MEM__REFCOUNT_MAX) {
        mem__atomic_fetch_sub_acq_rel(&c->shared, MEM__SHARED_ONE);
        return mem__fail(MEM_ERR_REFCOUNT_OVERFLOW);
    }
    return true;
}

bool mem__ref_add(MemoryContainer* c, bool* local) {
    mem__thread_state* ts = mem__this_thread_peek();
    if (ts == NULL || c->owner != ts->index) {
        *local = false;
        return mem__ref_add_shared(c);
    }
    mem__cache* cache = mem__atomic_load_acquire(&mem__page_of(c)->cache);
    mem__section section = mem__owner_enter(ts, cache);
    bool added = mem__ref_add_held(c, true, local);
    mem__owner_leave(ts, section);
    return added;
}

/* A reference dropped that nobody counted: reported (and the count left at zero);
 * the debug build stops there. */
static void underflow(const MemoryContainer* c) {
    mem__log(MEM_LOG_ERROR, "container %016llx released below refcount 0", (unsigned long long)mem__container_id(c));
    mem__assert(!"a container's references dropped below zero");
}

void mem__ref_drop_shared(MemoryContainer* c) {
    /* Acq-rel: the release orders this thread's use of the data before whoever
     * releases the container; the acquire (when this is the last reference) orders
     * every other thread's use before the wipe. */
    uint32_t before = mem__atomic_fetch_sub_acq_rel(&c->shared, MEM__SHARED_ONE);
    if (mem__unlikely(shared_count(before) == 0)) {
        mem__atomic_fetch_add_relaxed(&c->shared, MEM__SHARED_ONE);
        underflow(c);
        return;
    }
#ifdef MEM_FAULT_SKIP_RELEASE
    before = 0; /* planted fault: the last reference never releases (a leak) */
#endif
    if (before == (MEM__SHARED_ONE | MEM__SHARED_MERGED)) {
        /* The last reference: nobody else reads the count now. A released container
         * counts nothing (mem__cache_put_block). */
        mem__atomic_store_relaxed(&c->shared, 0u);
        mem__container_release(c);
    }
}

bool mem__ref_drop_last_local(MemoryContainer* c) {
    uint32_t count = mem__atomic_load_relaxed(&c->refcount);
    if (mem__unlikely(count == 0)) {
        underflow(c);
        return false;
    }
    mem__atomic_store_release(&c->refcount, 0u); /* release: as in mem__ref_drop_local_count */
#ifdef MEM_FAULT_SKIP_RELEASE
    return false; /* planted fault: the last reference never releases (a leak) */
#endif
    /* Acquire: other threads' drops of `shared` (releases) happen before a release of
     * the container by us. */
    uint32_t shared = mem__atomic_load_acquire(&c->shared);
    for (;;) {
        mem__assert(!(shared & MEM__SHARED_MERGED));
        if (shared_count(shared) == 0) {
            return true; /* nobody else holds a reference, so nobody can add one */
        }
        if (mem__atomic_cas_weak_acq_rel(&c->shared, &shared, shared | MEM__SHARED_MERGED)) {
            return false; /* `shared` decides from now on */
        }
    }
}

void mem__ref_drop_local_held(mem__cache* cache, MemoryContainer* c) {
    if (mem__ref_drop_local_count(c)) {
        mem__container_release_held(cache, c);
    }
}

void mem__ref_release_last_local(mem__thread_state* ts, mem__section section, mem__cache* cache, mem__page* page,
                                 MemoryContainer* c) {
    if (mem__page_is_single(page)) {
        mem__owner_leave(ts, section);
        mem__container_release(c); /* large: wiped outside the section */
        return;
    }
    mem__wipe_payload(c); /* small: the wipe is short */
    mem__owner_put_and_leave(ts, section, cache, page, c);
}

void mem__ref_drop_local_merging(mem__thread_state* ts, mem__section section, mem__cache* cache, MemoryContainer* c) {
    if (mem__ref_drop_last_local(c)) {
        mem__ref_release_last_local(ts, section, cache, mem__page_of(c), c);
        return;
    }
    mem__owner_leave(ts, section);
}
