/* seed_snippets.h - entry points of seed_snippets.c for the C++ tests. */
#ifndef MEMKIT_TESTS_SEED_SNIPPETS_H
#define MEMKIT_TESTS_SEED_SNIPPETS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

int seed_arena_snippet(void);
int seed_config_values_ok(void);
int seed_debug_snippet(void);
void my_oom_handler(size_t requested);
void seed_install_oom_handler(void);
extern int seed_oom_handler_calls;

#ifdef __cplusplus
}
#endif

#endif
