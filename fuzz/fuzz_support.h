/*
 * fuzz_support.h - what both libFuzzer targets share: the input read as a stream of
 * bytes and sizes drawn from it, the CHECK that aborts on a finding, and the system
 * allocator that fails on demand (installed with mem_set_allocator). Each target
 * includes it once.
 */
#ifndef MEMKIT_FUZZ_SUPPORT_H
#define MEMKIT_FUZZ_SUPPORT_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "memkit.h"

#define CHECK(cond)                                                                          \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            fprintf(stderr, "%s: check failed at line %d: %s (last error %s)\n", __FILE__, __LINE__, \
                    #cond, mem_error_name(mem_last_error()));                                \
            abort();                                                                         \
        }                                                                                    \
    } while (0)

/* ---- input */

typedef struct Input {
    const uint8_t* data;
    size_t size;
} Input;

static inline uint8_t take8(Input* in) {
    if (in->size == 0) {
        return 0;
    }
    in->size--;
    return *in->data++;
}

static inline uint16_t take16(Input* in) { return (uint16_t)(take8(in) | take8(in) << 8); }

/* A size: mostly small, sometimes 0, huge or overflowing. */
static inline size_t take_size(Input* in) {
    switch (take8(in) % 16) {
    case 0:
        return 0;
    case 1:
        return SIZE_MAX;
    case 2:
        return MEM_MAX_ALLOCATION + 1;
    case 3:
        return (size_t)1 << 40; /* valid but beyond memory: the allocator says no */
    case 4:
        return 1 + take16(in) * 16u;
    default:
        return 1 + take16(in) % 2048;
    }
}

/* ---- failure injection: every fail_every-th system allocation fails (0: none);
 * `failures` counts them, and the real failures of huge sizes. */

static uint64_t calls, fail_every, failures;

static inline void* counted(void* block) {
    failures += block == NULL; /* a real failure (a huge size) counts too */
    return block;
}

static inline void* fuzz_alloc(void* ctx, size_t size) {
    (void)ctx;
    if (fail_every && ++calls % fail_every == 0) {
        failures++;
        return NULL;
    }
    return counted(malloc(size));
}

static inline void* fuzz_realloc(void* ctx, void* block, size_t size) {
    (void)ctx;
    if (fail_every && ++calls % fail_every == 0) {
        failures++;
        return NULL;
    }
    return counted(realloc(block, size));
}

static inline void fuzz_free(void* ctx, void* block) {
    (void)ctx;
    free(block);
}

#endif /* MEMKIT_FUZZ_SUPPORT_H */
