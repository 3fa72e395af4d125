/*
 * malloc_preload.c - libmemkit_malloc.so: the C allocator of a whole process served
 * by libmemkit's default pool, for LD_PRELOAD=libmemkit_malloc.so.
 *
 * Defines the set glibc documents as replaceable together (malloc, free, calloc,
 * realloc, aligned_alloc, posix_memalign, memalign, valloc, pvalloc,
 * malloc_usable_size, plus reallocarray). C++'s operator new and delete reach them
 * through libstdc++, which allocates with malloc and aligned_alloc. The library's own
 * system allocations go to glibc's allocator directly (__libc_malloc & co., system.c
 * built with MEMKIT_PRELOAD), so it never calls itself. Fork safety comes with the
 * default pool (fork.c).
 *
 * Glibc's answers are kept where programs may rely on them: realloc(p, 0) frees p
 * and returns NULL; posix_memalign returns its error instead of setting errno.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include "memkit.h"

#if !MEM_THREAD_SAFE
#error "libmemkit_malloc.so is built thread-safe: the programs it is preloaded into have threads"
#endif

#define EXPORT __attribute__((visibility("default")))

EXPORT void* malloc(size_t size);
EXPORT void free(void* block);
EXPORT void* calloc(size_t count, size_t size);
EXPORT void* realloc(void* block, size_t size);
EXPORT void* reallocarray(void* block, size_t count, size_t size);
EXPORT void* aligned_alloc(size_t alignment, size_t size);
EXPORT int posix_memalign(void** out, size_t alignment, size_t size);
EXPORT void* memalign(size_t alignment, size_t size);
EXPORT void* valloc(size_t size);
EXPORT void* pvalloc(size_t size);
EXPORT size_t malloc_usable_size(void* block);

void* malloc(size_t size) { return mem_malloc(size); }

void free(void* block) { mem_free(block); }

void* calloc(size_t count, size_t size) { return mem_calloc(count, size); }

void* realloc(void* block, size_t size) {
    if (block != NULL && size == 0) {
        mem_free(block);
        return NULL;
    }
    return mem_realloc(block, size);
}

void* reallocarray(void* block, size_t count, size_t size) {
    size_t total;
    if (__builtin_mul_overflow(count, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc(block, total);
}

void* aligned_alloc(size_t alignment, size_t size) { return mem_aligned_alloc(alignment, size); }

void* memalign(size_t alignment, size_t size) { return mem_aligned_alloc(alignment, size); }

int posix_memalign(void** out, size_t alignment, size_t size) {
    if (alignment < sizeof(void*) || (alignment & (alignment - 1)) != 0) {
        return EINVAL;
    }
    int saved = errno;
    void* block = mem_aligned_alloc(alignment, size);
    int error = block == NULL ? errno : 0;
    errno = saved;
    if (block != NULL) {
        *out = block;
    }
    return error;
}

static size_t page_size(void) {
    long size = sysconf(_SC_PAGESIZE);
    return size > 0 ? (size_t)size : 4096u;
}

void* valloc(size_t size) { return mem_aligned_alloc(page_size(), size); }

void* pvalloc(size_t size) {
    size_t page = page_size();
    size_t rounded = size + (page - 1);
    if (rounded < size) {
        errno = ENOMEM;
        return NULL;
    }
    return mem_aligned_alloc(page, rounded & ~(page - 1));
}

size_t malloc_usable_size(void* block) { return mem_usable_size(block); }
