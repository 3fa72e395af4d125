/*
 * registry.c - the pool's registry: a dense array of every page the pool holds (a
 * large container is a page of its own), each page knowing its slot, so removal
 * swaps the last entry into the hole (O(1)). It grows by doubling and halves when
 * less than a quarter full, never below the initial capacity. While a validation
 * walks the registry by index, a removal leaves a hole instead (NULL), so no page
 * moves under the walk; the holes are closed when it ends. Every function here runs
 * with the pool mutex held.
 */
#include "internal.h"

static bool registry_resize(struct mem__pool_state* st, size_t capacity) {
    size_t bytes;
    if (mem__mul_overflows(capacity, sizeof(mem__page*), &bytes)) {
        return false;
    }
    mem__page** resized = mem__sys_realloc(st->registry, bytes);
    if (resized == NULL) {
        return false;
    }
    st->registry = resized;
    st->capacity = capacity;
    return true;
}

bool mem__registry_add(struct mem__pool_state* st, mem__page* page) {
    if (st->count == st->capacity) {
        if (st->capacity >= UINT32_MAX / 2 || !registry_resize(st, st->capacity * 2)) {
            return false;
        }
    }
    page->registry_index = (uint32_t)st->count;
    st->registry[st->count++] = page;
    st->page_bytes += page->bytes;
    if (st->page_bytes > st->peak_bytes) {
        st->peak_bytes = st->page_bytes;
    }
    return true;
}

/* Moves the last page into `index` (the swap that makes removal O(1)). */
static void fill_slot(struct mem__pool_state* st, size_t index) {
    mem__page* last = st->registry[--st->count];
    st->registry[index] = last;
    if (last != NULL) {
        last->registry_index = (uint32_t)index;
    }
}

/* Hysteresis: shrink to half only below a quarter full, so a pool hovering around a
 * boundary does not resize on every add and remove. Capacities are the initial one
 * times a power of two: half never undershoots. Returns the bytes a failed shrink
 * asked for (the larger array stays: harmless). */
static size_t maybe_shrink(struct mem__pool_state* st) {
    if (st->capacity > st->initial_capacity && st->count < st->capacity / 4) {
        size_t target = st->capacity / 2;
        if (!registry_resize(st, target)) {
            return target * sizeof(mem__page*);
        }
    }
    return 0;
}

size_t mem__registry_remove(struct mem__pool_state* st, mem__page* page) {
    mem__assert(page->registry_index < st->count && st->registry[page->registry_index] == page);
    size_t index = page->registry_index;
    page->registry_index = UINT32_MAX;
    st->page_bytes -= page->bytes;
    if (st->validating) {
        st->registry[index] = NULL;
        st->registry_holes++;
        return 0;
    }
    fill_slot(st, index);
    return maybe_shrink(st);
}

size_t mem__registry_close_holes(struct mem__pool_state* st) {
    for (size_t i = st->count; st->registry_holes > 0 && i > 0; i--) {
        if (st->registry[i - 1] == NULL) {
            fill_slot(st, i - 1);
            st->registry_holes--;
        }
    }
    return maybe_shrink(st);
}
