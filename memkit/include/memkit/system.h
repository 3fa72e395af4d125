/*
 * memkit/system.h - where memory enters and leaves the library: the system allocator
 * hooks, the out-of-memory handler and the diagnostic log sink.
 *
 * These are process-wide settings. Change them while no other thread is using the
 * library (typically at start-up, or in tests between workloads).
 */
#ifndef MEMKIT_SYSTEM_H
#define MEMKIT_SYSTEM_H

#include <stdbool.h>
#include <stddef.h>

#include "memkit/config.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The library's own system allocations (containers, registries, arena chunks,
 * handles, thread state) go through these three functions, malloc/realloc/free
 * shaped, each given `context`. alloc and realloc return NULL on failure and must
 * return memory aligned for any standard type (16 bytes on x86-64). They must not
 * call the library: they may run while it holds a pool's lock. */
typedef struct MemAllocator {
    void* (*alloc)(void* context, size_t size);
    void* (*realloc)(void* context, void* block, size_t size);
    void (*free)(void* context, void* block);
    void* context;
} MemAllocator;

/* Installs `allocator` (copied), or restores malloc/realloc/free when it is NULL.
 * Memory already handed out is later freed through the new functions, so they must
 * be able to free what the previous ones allocated (a wrapper around malloc that
 * counts or fails calls qualifies), or be installed before any allocation.
 * Returns false with MEM_ERR_NULL_ARGUMENT if a function pointer in it is NULL.
 * Not thread-safe: call while no other thread uses the library. */
MEM_API bool mem_set_allocator(const MemAllocator* allocator);

/* Called with the requested size each time a system allocation fails, after the
 * library has released its locks and before the failing call returns false/NULL.
 * It may free memory or log; it must not call back into the library's pools. A
 * failure while it runs (on that thread) does not call it again. */
typedef void (*MemOomHandler)(size_t requested);

/* Installs `handler` (NULL removes it) and returns the previous one; it is called as
 * MemOomHandler says, normally with no library lock held (a failed shrink of a pool's
 * registry is the exception). Process-wide; call while no other thread uses the
 * library. */
MEM_API MemOomHandler mem_set_oom_handler(MemOomHandler handler);

typedef enum MemLogLevel {
    MEM_LOG_DEBUG = 0, /* internal consistency tracing (debug builds only) */
    MEM_LOG_WARNING,   /* a misuse the library refused (double destroy, ...) */
    MEM_LOG_ERROR      /* an invariant failed (mem_pool_validate) */
} MemLogLevel;

/* Receives one formatted line (no trailing newline) per event. */
typedef void (*MemLogSink)(MemLogLevel level, const char* message, void* context);

/* Routes diagnostics to `sink` with `context`: refused misuse at MEM_LOG_WARNING,
 * failed invariants at MEM_LOG_ERROR, tracing at MEM_LOG_DEBUG in debug builds. NULL
 * silences them. The default sink
 * writes warnings and errors (and debug lines in DEBUG_MEMORY_MANAGER builds) to
 * stderr. The sink may be called from any thread and must not call the library (what
 * would be logged while it runs on a thread is dropped). */
MEM_API void mem_set_log_sink(MemLogSink sink, void* context);

/* Restores the default stderr sink. */
MEM_API void mem_reset_log_sink(void);

#ifdef __cplusplus
}
#endif

#endif /* MEMKIT_SYSTEM_H */
