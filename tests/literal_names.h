/* Handles named with string literals by code compiled with optimisation, where
 * memkit/pointer.h's inline wrappers pass each literal's length to
 * mem_pointer_create_n and mem_pointer_share_n (pointer_test checks the names). */
#ifndef MEMKIT_TESTS_LITERAL_NAMES_H
#define MEMKIT_TESTS_LITERAL_NAMES_H

#include <stddef.h>

#include "memkit.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct LiteralNamed {
    const char* literal; /* the name given */
    MemoryPointer* handle;
} LiteralNamed;

/* Creates one handle, and shares `source` once, per literal of 0 to 40 bytes; fills
 * `out` (at most `capacity`) and returns how many it filled. */
size_t literal_named_handles(const MemoryPointer* source, LiteralNamed* out, size_t capacity);

#ifdef __cplusplus
}
#endif

#endif /* MEMKIT_TESTS_LITERAL_NAMES_H */
