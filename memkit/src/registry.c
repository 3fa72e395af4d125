/*
 * registry.c - the pool's registry: a dense array of every container, each knowing
 * its slot, so removal swaps the last entry into the hole (O(1)). It grows by
 * doubling and halves when less than a quarter full, never below the initial
 * capacity. Every function here runs with the pool mutex held.
 */
#include "internal.h"

static bool registry_resize(struct mem__pool_state* st, size_t capacity) {
    size_t bytes;
    if (mem__mul_overflows(capacity, sizeof(MemoryContainer*), &bytes)) {
        return false;
    }
    MemoryContainer** resized = mem__sys_realloc(st->registry, bytes);
    if (resized == NULL) {
        return false;
    }
    st->registry = resized;
    st->capacity = capacity;
    return true;
}

bool mem__registry_add(struct mem__pool_state* st, MemoryContainer* c) {
    if (st->count == st->capacity) {
        if (st->capacity >= UINT32_MAX / 2 || !registry_resize(st, st->capacity * 2)) {
            return false;
        }
    }
    c->index = (uint32_t)st->count;
    st->registry[st->count++] = c;
    st->total_bytes += mem__container_capacity(c);
    if (st->total_bytes > st->peak_bytes) {
        st->peak_bytes = st->total_bytes;
    }
    return true;
}

void mem__registry_remove(struct mem__pool_state* st, MemoryContainer* c) {
    mem__assert(c->index < st->count && st->registry[c->index] == c);
    MemoryContainer* last = st->registry[--st->count];
    st->registry[c->index] = last;
    last->index = c->index;
    c->index = UINT32_MAX;
    st->total_bytes -= mem__container_capacity(c);
    /* Hysteresis: shrink to half only below a quarter full, so a pool hovering
     * around a boundary does not resize on every add and remove. */
    if (st->capacity > st->initial_capacity && st->count < st->capacity / 4) {
        /* Capacities are the initial one times a power of two: half never undershoots. */
        size_t target = st->capacity / 2;
        if (!registry_resize(st, target)) {
            /* The larger array stays: harmless, but the failure is still reported to
             * the OOM handler (called with the pool locked; it must not use pools). */
            mem__out_of_memory(target * sizeof(MemoryContainer*));
        }
    }
}
