/*
 * live_pools.c - the process-wide set of initialised pools. It tells an initialised
 * pool from stack garbage that happens to look like one, without reading through its
 * pointer (mem_pool_init), gives every initialisation a generation no other has
 * (handles remember it), and lets fork's handlers take every pool's locks (fork.c).
 * Its lock comes before any pool's own locks.
 */
#include "internal.h"

static mem__mutex live_mutex = MEM__MUTEX_INITIALIZER;
static struct mem__pool_state* live_pools; /* under live_mutex */
static uint64_t generations = 0;           /* under live_mutex */

void mem__live_pools_lock(void) { mem__mutex_lock(&live_mutex); }

void mem__live_pools_unlock(void) { mem__mutex_unlock(&live_mutex); }

struct mem__pool_state* mem__live_pools_first(void) { return live_pools; }

bool mem__live_pools_contains(const struct mem__pool_state* candidate) {
    mem__mutex_lock(&live_mutex);
    bool found = false;
    for (struct mem__pool_state* st = live_pools; st != NULL && !found; st = st->live_next) {
        found = st == candidate;
    }
    mem__mutex_unlock(&live_mutex);
    return found;
}

uint64_t mem__live_pools_add(struct mem__pool_state* st) {
    mem__mutex_lock(&live_mutex);
    uint64_t ordinal = generations++;
    st->generation = generations;
    st->live_next = live_pools;
    live_pools = st;
    mem__mutex_unlock(&live_mutex);
    return ordinal;
}

void mem__live_pools_remove(struct mem__pool_state* gone) {
    mem__mutex_lock(&live_mutex);
    for (struct mem__pool_state** link = &live_pools; *link != NULL; link = &(*link)->live_next) {
        if (*link == gone) {
            *link = gone->live_next;
            break;
        }
    }
    mem__mutex_unlock(&live_mutex);
}
