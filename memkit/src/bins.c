/*
 * bins.c - pages kept by size class, with a bitmap of the non-empty classes so that
 * best fit is a bit scan, O(1). Used for released large containers (each on a page
 * of its own), in thread caches and in the pool. Callers hold whatever guards the
 * bins (the owner section of their cache, or the pool mutex).
 */
#include "internal.h"

static void bitmap_set(mem__page_bins* bins, unsigned cls) { bins->bitmap[cls / 64] |= UINT64_C(1) << (cls % 64); }

static void bitmap_clear(mem__page_bins* bins, unsigned cls) {
    bins->bitmap[cls / 64] &= ~(UINT64_C(1) << (cls % 64));
}

#if MEM__DEBUG
/* The bitmap's invariant: a class's bit is set exactly when its list is not empty. */
static bool bitmap_agrees(const mem__page_bins* bins, unsigned cls) {
    bool set = (bins->bitmap[cls / 64] >> (cls % 64)) & 1u;
    return set == (bins->head[cls] != NULL);
}
#endif

void mem__bins_push(mem__page_bins* bins, mem__page* page) {
    unsigned cls = page->size_class;
    page->prev = NULL;
    page->next = bins->head[cls];
    if (page->next != NULL) {
        page->next->prev = page;
    }
    bins->head[cls] = page;
    bitmap_set(bins, cls);
    bins->count++;
    bins->bytes += page->capacity;
    mem__assert(bitmap_agrees(bins, cls));
}

void mem__bins_remove(mem__page_bins* bins, mem__page* page) {
    unsigned cls = page->size_class;
    if (page->prev != NULL) {
        page->prev->next = page->next;
    } else {
        bins->head[cls] = page->next;
    }
    if (page->next != NULL) {
        page->next->prev = page->prev;
    }
    if (bins->head[cls] == NULL) {
        bitmap_clear(bins, cls);
    }
    page->next = page->prev = NULL;
    bins->count--;
    bins->bytes -= page->capacity;
    mem__assert(bitmap_agrees(bins, cls));
}

/* First set bit at or above `from` and at most `last`, or -1. */
static int bitmap_find(const mem__page_bins* bins, unsigned from, unsigned last) {
    for (unsigned word = from / 64; word <= last / 64; word++) {
        uint64_t bits = bins->bitmap[word];
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

mem__page* mem__bins_find_fit(const mem__page_bins* bins, unsigned cls, unsigned slack) {
    unsigned last = cls + slack < MEM__SIZE_CLASS_COUNT ? cls + slack : MEM__SIZE_CLASS_COUNT - 1;
    int found = bitmap_find(bins, cls, last);
    return found < 0 ? NULL : bins->head[found];
}

mem__page* mem__bins_largest(const mem__page_bins* bins) {
    for (unsigned word = MEM__CLASS_BITMAP_WORDS; word > 0; word--) {
        uint64_t bits = bins->bitmap[word - 1];
        if (bits != 0) {
            return bins->head[(word - 1) * 64 + 63u - (unsigned)__builtin_clzll(bits)];
        }
    }
    return NULL;
}

bool mem__bins_bitmap_matches(const mem__page_bins* bins, unsigned cls) {
    bool bit = (bins->bitmap[cls / 64] >> (cls % 64)) & 1u;
    return bit == (bins->head[cls] != NULL);
}
