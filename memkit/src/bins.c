/*
 * bins.c - the pool's global orphan bins: one singly linked list per size class and
 * a bitmap of the non-empty ones, so best fit is a bit scan, O(1). Every function
 * here runs with the pool mutex held.
 */
#include "internal.h"

static void bitmap_set(struct mem__pool_state* st, unsigned cls) { st->bin_bitmap[cls / 64] |= UINT64_C(1) << (cls % 64); }

static void bitmap_clear(struct mem__pool_state* st, unsigned cls) {
    st->bin_bitmap[cls / 64] &= ~(UINT64_C(1) << (cls % 64));
}

void mem__bin_push(struct mem__pool_state* st, MemoryContainer* c) {
    unsigned cls = c->size_class;
    c->state = MEM__STATE_ORPHAN;
    mem__orphan_set_next(c, st->bins[cls]);
    st->bins[cls] = c;
    st->bin_length[cls]++;
    bitmap_set(st, cls);
    st->orphan_count++;
    st->orphan_bytes += mem__container_capacity(c);
}

MemoryContainer* mem__bin_pop_exact(struct mem__pool_state* st, unsigned cls) {
    MemoryContainer* c = st->bins[cls];
    if (c == NULL) {
        return NULL;
    }
    st->bins[cls] = mem__orphan_next(c);
    if (--st->bin_length[cls] == 0) {
        bitmap_clear(st, cls);
    }
    st->orphan_count--;
    st->orphan_bytes -= mem__container_capacity(c);
    return c;
}

/* First set bit at or above `from` and at most `last`, or -1. */
static int bitmap_find(const struct mem__pool_state* st, unsigned from, unsigned last) {
    for (unsigned word = from / 64; word <= last / 64; word++) {
        uint64_t bits = st->bin_bitmap[word];
        if (word == from / 64) {
            bits &= ~UINT64_C(0) << (from % 64);
        }
        if (bits != 0) {
            unsigned cls = word * 64 + (unsigned)__builtin_ctzll(bits);
            return cls <= last ? (int)cls : -1;
        }
    }
    return -1;
}

MemoryContainer* mem__bin_pop_fit(struct mem__pool_state* st, unsigned cls, unsigned slack) {
    unsigned last = cls + slack;
    if (last >= MEM__SIZE_CLASS_COUNT) {
        last = MEM__SIZE_CLASS_COUNT - 1;
    }
    int found = bitmap_find(st, cls, last);
    return found < 0 ? NULL : mem__bin_pop_exact(st, (unsigned)found);
}
