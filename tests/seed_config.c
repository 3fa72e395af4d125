/*
 * seed_config.c - the seed README's configuration snippet, unchanged, before
 * memkit.h: the macros are overridable (thread-safe build only, where the seed's
 * MEM_THREAD_SAFE 1 matches the library).
 */
#define MEM_POOL_DEFAULT_CAPACITY 32   /* initial pool size */
#define MEM_ALIGNMENT 8                /* memory alignment */
#define MEM_THREAD_SAFE 1              /* enable thread safety */
#define DEBUG_MEMORY_MANAGER 1         /* enable debug features */

#include "memkit.h"

#include "seed_snippets.h"

int seed_config_values_ok(void) {
    return MEM_POOL_DEFAULT_CAPACITY == 32 && MEM_ALIGNMENT == 8 && MEM_THREAD_SAFE == 1;
}
