/*
 * system.c - the one place memory enters and leaves the library: the replaceable
 * system allocator, the OOM handler and the wipe. Settings are process-wide and
 * changed only while no other thread uses the library; the calls are thread-safe.
 */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>

#if defined(MEMKIT_PRELOAD) && MEMKIT_PRELOAD
/* libmemkit_malloc.so is malloc: its own memory comes from glibc's allocator. */
extern void* __libc_malloc(size_t size);
extern void* __libc_realloc(void* block, size_t size);
extern void __libc_free(void* block);
#define SYSTEM_MALLOC __libc_malloc
#define SYSTEM_REALLOC __libc_realloc
#define SYSTEM_FREE __libc_free
#else
#define SYSTEM_MALLOC malloc
#define SYSTEM_REALLOC realloc
#define SYSTEM_FREE free
#endif

static void* default_alloc(void* context, size_t size) {
    (void)context;
    return SYSTEM_MALLOC(size);
}

static void* default_realloc(void* context, void* block, size_t size) {
    (void)context;
    return SYSTEM_REALLOC(block, size);
}

static void default_free(void* context, void* block) {
    (void)context;
    SYSTEM_FREE(block);
}

static MemAllocator system_allocator = {default_alloc, default_realloc, default_free, NULL};
static MemOomHandler oom_handler = NULL;

bool mem_set_allocator(const MemAllocator* allocator) {
    if (allocator == NULL) {
        system_allocator = (MemAllocator){default_alloc, default_realloc, default_free, NULL};
        return true;
    }
    if (allocator->alloc == NULL || allocator->realloc == NULL || allocator->free == NULL) {
        return mem__fail(MEM_ERR_NULL_ARGUMENT);
    }
    system_allocator = *allocator;
    return true;
}

MemOomHandler mem_set_oom_handler(MemOomHandler handler) {
    MemOomHandler previous = oom_handler;
    oom_handler = handler;
    return previous;
}

void* mem__sys_alloc(size_t size) { return system_allocator.alloc(system_allocator.context, size); }

void* mem__sys_realloc(void* block, size_t size) {
    return system_allocator.realloc(system_allocator.context, block, size);
}

void mem__sys_free(void* block) {
    if (block != NULL) {
        int saved_errno = errno;
        system_allocator.free(system_allocator.context, block);
        errno = saved_errno;
    }
}

/* Set while the calling thread runs the handler. A failure inside it (a handler that
 * calls the library against its contract, while allocations keep failing) does not
 * call it again: each call would fail the same way, until the stack ran out. */
static mem__thread_local bool in_oom_handler;

void mem__out_of_memory_absorbed(size_t requested) {
    mem__log(MEM_LOG_DEBUG, "system allocation of %zu bytes failed", requested);
    MemOomHandler handler = oom_handler;
    if (handler != NULL && !in_oom_handler) {
        in_oom_handler = true;
        handler(requested);
        in_oom_handler = false;
    }
}

void mem__out_of_memory(size_t requested) {
    mem__set_error(MEM_ERR_OUT_OF_MEMORY);
    mem__out_of_memory_absorbed(requested);
}
