/*
 * memkit/malloc.h - malloc-shaped allocation from a pool: blocks without handles,
 * served by the same per-thread caches as containers, wiped when freed, counted in
 * the pool's statistics (as live containers) and checked by mem_pool_validate.
 *
 * Each function comes twice: mem_malloc & co. use the process-wide default pool
 * (mem_default_pool), mem_pool_malloc & co. a pool the caller names. mem_free,
 * mem_realloc and mem_usable_size take a block of any pool: a block knows its pool.
 * Their signatures match malloc's, so they plug into malloc-shaped hooks such as
 * uv_replace_allocator(mem_malloc, mem_realloc, mem_calloc, mem_free).
 *
 * Threading: every function is thread-safe; a block may be freed on any thread (it
 * goes back to the cache of the thread that made it). A block is used by one thread
 * at a time, as with malloc.
 *
 * Errors: as C requires, a failed allocation returns NULL with errno ENOMEM (EINVAL
 * for a bad alignment or pool); mem_last_error() names the reason. A successful call
 * leaves both alone. Blocks are aligned for any type (alignof(max_align_t), 16 bytes
 * on x86-64) and read zero when handed out, so mem_calloc costs no more than
 * mem_malloc.
 */
#ifndef MEMKIT_MALLOC_H
#define MEMKIT_MALLOC_H

#include <stddef.h>

#include "memkit/config.h"
#include "memkit/pool.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The process-wide pool behind mem_malloc & co., initialised on first use and never
 * destroyed (mem_pool_destroy refuses it with MEM_ERR_INVALID_POOL). Use it for
 * mem_pool_stats, mem_pool_validate and mem_pool_trim of those blocks. Safe across
 * fork: the child may keep allocating. NULL with MEM_ERR_OUT_OF_MEMORY if it could
 * not be set up (every mem_malloc then fails the same way). Thread-safe. */
MEM_API MemoryPool* mem_default_pool(void);

/* `size` bytes from `pool` (a unique block for 0). NULL with errno ENOMEM and
 * MEM_ERR_SIZE_OVERFLOW (above MEM_MAX_ALLOCATION) or MEM_ERR_OUT_OF_MEMORY (OOM
 * handler called); errno EINVAL and MEM_ERR_NULL_ARGUMENT or MEM_ERR_INVALID_POOL for
 * a bad pool. Free with mem_free. */
MEM_API MEM_ATTR_NODISCARD MEM_ATTR_MALLOC MEM_ATTR_ALLOC_SIZE(2) void* mem_pool_malloc(MemoryPool* pool,
                                                                                       size_t size);

/* `count` * `size` zeroed bytes from `pool`; the product is overflow-checked (NULL,
 * ENOMEM, MEM_ERR_SIZE_OVERFLOW). Other errors as mem_pool_malloc. Costs what
 * mem_pool_malloc costs: every block is zero when handed out. */
MEM_API MEM_ATTR_NODISCARD MEM_ATTR_MALLOC MEM_ATTR_ALLOC_SIZE2(2, 3) void* mem_pool_calloc(MemoryPool* pool,
                                                                                           size_t count,
                                                                                           size_t size);

/* `size` bytes from `pool` aligned to `alignment`, a power of two (any, as
 * posix_memalign; at least alignof(max_align_t) is given anyway). Up to 32 bytes (or
 * MEM_ALIGNMENT) a plain block of a fitting class; beyond, a larger block whose
 * aligned part follows a 32-byte header of its own. Not a power of two: NULL with
 * errno EINVAL and MEM_ERR_BAD_ALIGNMENT. Other errors as
 * mem_pool_malloc. Free with mem_free. */
MEM_API MEM_ATTR_NODISCARD MEM_ATTR_MALLOC MEM_ATTR_ALLOC_SIZE(3) void* mem_pool_aligned_alloc(MemoryPool* pool,
                                                                                              size_t alignment,
                                                                                              size_t size);

/* Resizes `block` (a block of any pool, or NULL) to `size` bytes, keeping its
 * contents up to the smaller size; a new block comes from `pool`. In place when the
 * block already has room and is not twice too big (in builds tracked for
 * AddressSanitizer or valgrind: only for the same size), else a new block, the bytes copied and the old block freed
 * (wiped). NULL `block`: as mem_pool_malloc(pool, size). On failure returns NULL and
 * leaves `block` untouched (errors as mem_pool_malloc; MEM_ERR_INVALID_POINTER and
 * errno EINVAL for a pointer that is not a live block). Size 0 frees `block` and
 * returns a unique minimal block, as mem_pool_malloc(pool, 0) (jemalloc and mimalloc
 * do the same; glibc returns NULL). */
MEM_API MEM_ATTR_NODISCARD MEM_ATTR_ALLOC_SIZE(3) void* mem_pool_realloc(MemoryPool* pool, void* block,
                                                                        size_t size);

/* mem_pool_malloc on the default pool (mem_default_pool; its set-up failing: NULL,
 * ENOMEM, MEM_ERR_OUT_OF_MEMORY). */
MEM_API MEM_ATTR_NODISCARD MEM_ATTR_MALLOC MEM_ATTR_ALLOC_SIZE(1) void* mem_malloc(size_t size);

/* mem_pool_calloc on the default pool. */
MEM_API MEM_ATTR_NODISCARD MEM_ATTR_MALLOC MEM_ATTR_ALLOC_SIZE2(1, 2) void* mem_calloc(size_t count, size_t size);

/* mem_pool_aligned_alloc on the default pool. */
MEM_API MEM_ATTR_NODISCARD MEM_ATTR_MALLOC MEM_ATTR_ALLOC_SIZE(2) void* mem_aligned_alloc(size_t alignment,
                                                                                         size_t size);

/* mem_pool_realloc where a block that moves stays in its own pool (NULL `block`:
 * mem_malloc). */
MEM_API MEM_ATTR_NODISCARD MEM_ATTR_ALLOC_SIZE(2) void* mem_realloc(void* block, size_t size);

/* Wipes `block` and gives it back to the cache of the thread that made it; any
 * thread, any pool. NULL does nothing. A pointer that is not a live block (freed
 * already, an interior pointer, a container's data) is refused with
 * MEM_ERR_INVALID_POINTER and a warning in the log, and nothing is freed; errno is
 * left alone. The check reads the 32 bytes before `block`: for a pointer from another
 * allocator that read is out of bounds (AddressSanitizer reports it; it faults if
 * those bytes are unmapped). (A second free of a block from mem_aligned_alloc aligned beyond 32
 * bytes reads its released payload first: AddressSanitizer and valgrind report
 * that.) A block of a destroyed pool is gone with its pool: freeing it is a use after
 * free the library cannot answer (AddressSanitizer and valgrind see it). */
MEM_API void mem_free(void* block);

/* Bytes of `block` the caller may use: its size rounded up to the size class (the
 * size asked for in builds tracked for AddressSanitizer or valgrind, so they see
 * writes past it). All of them are wiped when it is freed. 0 for NULL, or with
 * MEM_ERR_INVALID_POINTER for a pointer that is not a live block. */
MEM_API size_t mem_usable_size(const void* block);

#ifdef __cplusplus
}
#endif

#endif /* MEMKIT_MALLOC_H */
