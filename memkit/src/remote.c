/*
 * remote.c - what other threads hand back to a cache's owner: blocks they released
 * (the last reference was theirs) and references they dropped that the owner counts
 * (carried by a destroyed handle, a message object, or an RCU release record). They
 * push onto the cache's lock-free list with one compare-and-swap; the owner takes the
 * whole list with one exchange when it runs out of blocks, and processes it in bulk,
 * as mimalloc's thread-delayed free lists do. Items are tagged in the low bits of
 * their link (they are at least 8-byte aligned).
 *
 * A thread that has exited collects nothing: whoever pushes to its cache then finds
 * it abandoned and collects in its place, with the cache frozen.
 */
#include "hot.h"

static void set_link(void* item, unsigned tag, uintptr_t next) {
    switch (tag) {
    case MEM__REMOTE_BLOCK:
        ((MemoryContainer*)item)->serial = next;
        break;
    case MEM__REMOTE_CARRIER:
        ((MemoryPointer*)item)->generation = next;
        break;
    default:
        ((mem__carried_ref*)item)->link = next;
        break;
    }
}

/* Collects for a cache whose thread has exited, and gives its spare pages back. */
static void collect_for_exited_owner(mem__cache* cache) {
    struct mem__pool_state* st = mem__atomic_load_acquire(&cache->pool);
    mem__freeze(cache);
    mem__remote_collect(cache);
    mem__page* surplus = mem__cache_surplus(cache, true);
    mem__thaw(cache);
    if (st != NULL) {
        mem__stock_return(st, surplus);
    }
}

void mem__remote_push(mem__cache* cache, void* item, unsigned tag) {
    uintptr_t tagged = (uintptr_t)item | tag;
    uintptr_t head = mem__atomic_load_relaxed(&cache->remote);
    do {
        set_link(item, tag, head);
        /* Seq-cst: it publishes the item (release, for the owner's acquire exchange)
         * and orders this push before the `abandoned` load below, against the exiting
         * owner's store of `abandoned` and its last collection (Dekker). */
    } while (!mem__atomic_cas_weak_seq_cst(&cache->remote, &head, tagged));
    mem__thread_state* owner = cache->state;
    if (owner != NULL && mem__atomic_load_seq_cst(&owner->abandoned) != 0) {
        collect_for_exited_owner(cache);
    }
}

bool mem__remote_pending(const mem__cache* cache) { return mem__atomic_load_relaxed(&cache->remote) != 0; }

void mem__remote_collect(mem__cache* cache) {
    /* Acquire: pairs with the pushers' CAS, so their writes to the items (wiped
     * payloads, links) happen before we use them. Seq-cst: an exiting owner's last
     * collection must follow its store of `abandoned` (Dekker, see above). */
    uintptr_t list = mem__atomic_exchange_seq_cst(&cache->remote, (uintptr_t)0);
    while (list != 0) {
        unsigned tag = mem__remote_tag(list);
        void* item = mem__remote_item(list);
        uintptr_t next = mem__remote_link(item, tag);
        /* The items were last written on other threads, and each is written here
         * (a block's free-list link, a carrier's fields): start moving the next one's
         * line while this one is processed. */
        mem__prefetch_for_write(mem__remote_item(next));
        if (tag == MEM__REMOTE_BLOCK) {
            MemoryContainer* c = item;
            mem__cache_put(cache, mem__page_of(c), c);
        } else if (tag == MEM__REMOTE_CARRIER) {
            MemoryPointer* carrier = item;
            mem__ref_drop_local_held(cache, mem__carrier_decode((uintptr_t)carrier->container));
            mem__handle_free(carrier);
        } else {
            mem__carried_ref* record = item;
            mem__ref_drop_local_held(cache, record->container);
            mem__sys_free(record);
        }
        list = next;
    }
}
