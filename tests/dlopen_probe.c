/*
 * dlopen_probe.c - loads libmemkit with dlopen (as a plugin host or an interpreter
 * would), resolves the API with dlsym and runs pools, shares, copy-on-write, arenas
 * and (for the thread-safe library) a second thread through it. Regression (issue
 * 12): a library built with initial-exec TLS may fail to load this way ("cannot
 * allocate memory in static TLS block"); tests/install_test.sh runs this against the
 * installed library and checks it carries no STATIC_TLS flag.
 * Usage: dlopen_probe PATH_TO_LIBMEMKIT_SO. Prints "ok".
 */
#define _POSIX_C_SOURCE 200809L
#define MEMKIT_NO_VARIANT_GUARD 1 /* not linked: the variant is checked with dlsym */
#include <dlfcn.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "memkit.h"

static struct {
    bool (*pool_init)(MemoryPool*, size_t);
    void (*pool_destroy)(MemoryPool*);
    bool (*pool_validate)(MemoryPool*);
    MemoryPointer* (*create)(const char*, size_t);
    bool (*allocate)(MemoryPointer*, size_t, MemoryPool*);
    MemoryPointer* (*share)(const MemoryPointer*, const char*);
    void* (*write)(MemoryPointer*, MemoryPool*);
    bool (*destroy)(MemoryPointer*, MemoryPool*);
    MemoryArena* (*request_acquire)(void);
    void* (*arena_alloc)(MemoryArena*, size_t);
    bool (*request_release)(MemoryArena*);
} api;

static bool resolve(void* lib, const char* name, void* slot) {
    void* symbol = dlsym(lib, name);
    if (symbol == NULL) {
        fprintf(stderr, "dlopen_probe: %s: %s\n", name, dlerror());
        return false;
    }
    memcpy(slot, &symbol, sizeof symbol); /* object pointer to function pointer, as POSIX allows */
    return true;
}

static MemoryPool pool;

/* Allocates, shares, writes a copy and destroys, 1000 times; true when all worked. */
static bool work(void) {
    for (int i = 0; i < 1000; i++) {
        MemoryPointer* p = api.create("probe", 64);
        if (p == NULL || !api.allocate(p, 64, &pool)) {
            return false;
        }
        MemoryPointer* s = api.share(p, "probe share");
        unsigned char* copy = s != NULL ? api.write(s, &pool) : NULL;
        if (copy == NULL) {
            return false;
        }
        copy[0] = 1;
        if (!api.destroy(p, &pool) || !api.destroy(s, &pool)) {
            return false;
        }
        MemoryArena* r = api.request_acquire();
        if (r == NULL || api.arena_alloc(r, 100) == NULL || !api.request_release(r)) {
            return false;
        }
    }
    return true;
}

static void* thread_main(void* result) {
    *(bool*)result = work();
    return NULL;
}

int main(int argc, char** argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s LIBMEMKIT_SO\n", argv[0]);
        return 2;
    }
    void* lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL) {
        fprintf(stderr, "dlopen_probe: %s\n", dlerror());
        return 1;
    }
    if (dlsym(lib, MEM_VARIANT_SYMBOL_NAME) == NULL) {
        fprintf(stderr, "dlopen_probe: %s is not the variant these headers describe (%s)\n", argv[1],
                MEM_VARIANT_SYMBOL_NAME);
        return 1;
    }
    bool ok = resolve(lib, "mem_pool_init", &api.pool_init) && resolve(lib, "mem_pool_destroy", &api.pool_destroy) &&
              resolve(lib, "mem_pool_validate", &api.pool_validate) &&
              resolve(lib, "mem_pointer_create", &api.create) && resolve(lib, "mem_pointer_allocate", &api.allocate) &&
              resolve(lib, "mem_pointer_share", &api.share) && resolve(lib, "mem_pointer_write", &api.write) &&
              resolve(lib, "mem_pointer_destroy", &api.destroy) &&
              resolve(lib, "mem_request_arena_acquire", &api.request_acquire) &&
              resolve(lib, "mem_arena_alloc", &api.arena_alloc) &&
              resolve(lib, "mem_request_arena_release", &api.request_release);
    if (!ok || !api.pool_init(&pool, 8)) {
        return 1;
    }
    bool in_thread = false;
#if MEM_THREAD_SAFE
    pthread_t thread;
    if (pthread_create(&thread, NULL, thread_main, &in_thread) != 0) {
        return 1;
    }
    bool here = work();
    pthread_join(thread, NULL);
#else /* the single-threaded library: one thread only, the same work twice */
    bool here = work();
    thread_main(&in_thread);
#endif
    ok = here && in_thread && api.pool_validate(&pool);
    api.pool_destroy(&pool);
    puts(ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}
