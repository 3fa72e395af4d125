/*
 * memkit/arena.h - MemoryArena: bump-pointer allocation in chained chunks, freed all
 * at once; and per-request arenas cached per thread.
 *
 * Threading: an arena is used by one thread at a time. Request arenas belong to the
 * thread that acquired them.
 */
#ifndef MEMKIT_ARENA_H
#define MEMKIT_ARENA_H

#include <stdbool.h>
#include <stddef.h>

#include "memkit/config.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Opaque but for its first 16 bytes, a MemoryArenaWindow (see mem_arena_alloc). */
typedef struct MemoryArena MemoryArena;

/* The first bytes of every MemoryArena: the free space of its current chunk, from
 * which mem_arena_alloc's inline path hands out blocks. Private: only the library
 * sets it. Empty (next == end) while the arena is not live, and always empty in
 * builds of the library that mark memory for AddressSanitizer or valgrind, so that
 * every allocation there goes through the library. */
typedef struct MemoryArenaWindow {
    unsigned char* next;
    unsigned char* end;
} MemoryArenaWindow;

/* Alignment of mem_arena_alloc's blocks: suitable for any type (alignof(max_align_t),
 * 16 bytes on x86-64 and AArch64), or MEM_ALIGNMENT when that is larger. */
#define MEM_ARENA_ALIGNMENT (MEM_ALIGNMENT > 16 ? MEM_ALIGNMENT : 16)

/* Creates an arena whose first chunk holds `size` bytes; a full chunk chains a new
 * one at least twice as large. Returns NULL with MEM_ERR_ZERO_SIZE,
 * MEM_ERR_SIZE_OVERFLOW or MEM_ERR_OUT_OF_MEMORY. Free with mem_arena_destroy. */
MEM_API MEM_ATTR_NODISCARD MemoryArena* mem_arena_create(size_t size);

/* `size` bytes aligned for any type (MEM_ARENA_ALIGNMENT), valid until the arena is
 * reset or destroyed.
 * No per-allocation header. NULL with MEM_ERR_NULL_ARGUMENT, MEM_ERR_INVALID_ARENA,
 * MEM_ERR_ZERO_SIZE, MEM_ERR_SIZE_OVERFLOW or MEM_ERR_OUT_OF_MEMORY.
 * Calls written `mem_arena_alloc(arena, size)` run inline in the caller when the
 * arena's current chunk has room (a compare and an add on its MemoryArenaWindow)
 * and call the library for everything else, errors included; `(mem_arena_alloc)(...)`
 * and the function's address always reach the library. The inline path reads the
 * window of what it is given, so it answers an arena that was destroyed or released
 * (its window is empty) but not a pointer that never was an arena: only the library
 * tells those apart (MEM_ERR_INVALID_ARENA), and code compiled with
 * DEBUG_MEMORY_MANAGER or MEM_ARENA_NO_INLINE defined before including memkit.h
 * always calls it. */
MEM_API MEM_ATTR_NODISCARD MEM_ATTR_ALLOC_SIZE(2) void*(mem_arena_alloc)(MemoryArena* arena, size_t size);

/* As mem_arena_alloc, aligned to `alignment` (a power of two up to 4096; smaller than
 * MEM_ARENA_ALIGNMENT is raised to it). Bad alignment: NULL with MEM_ERR_BAD_ALIGNMENT. */
MEM_API MEM_ATTR_NODISCARD MEM_ATTR_ALLOC_SIZE(2) void* mem_arena_alloc_aligned(MemoryArena* arena, size_t size,
                                                                               size_t alignment);

/* `count` * `size` zeroed bytes; the product is overflow-checked
 * (MEM_ERR_SIZE_OVERFLOW). Other errors as mem_arena_alloc. */
MEM_API MEM_ATTR_NODISCARD MEM_ATTR_ALLOC_SIZE2(2, 3) void* mem_arena_calloc(MemoryArena* arena, size_t count,
                                                                            size_t size);

/* A copy of the NUL-terminated `text` in the arena. NULL with MEM_ERR_NULL_ARGUMENT
 * or as mem_arena_alloc. */
MEM_API MEM_ATTR_NODISCARD char* mem_arena_strdup(MemoryArena* arena, const char* text);

/* Wipes every byte handed out, frees every chunk but the first and starts again at
 * its beginning. Earlier allocations become invalid. False for a NULL or invalid
 * arena, or a request arena (release those instead: MEM_ERR_ARENA_STATE). */
MEM_API bool mem_arena_reset(MemoryArena* arena);

/* Wipes and frees everything. False (and nothing done) for a NULL or invalid arena,
 * an arena destroyed already, or a request arena (MEM_ERR_ARENA_STATE). */
MEM_API bool mem_arena_destroy(MemoryArena* arena);

/* Bytes handed out since creation or the last reset, alignment padding included
 * (each block takes its size rounded up to a multiple of 16); 0 with
 * MEM_ERR_NULL_ARGUMENT or MEM_ERR_INVALID_ARENA. */
MEM_API size_t mem_arena_used(const MemoryArena* arena);

/* Bytes of all chunks the arena holds; 0 with the errors of mem_arena_used. */
MEM_API size_t mem_arena_capacity(const MemoryArena* arena);

/* The calling thread's next cached request arena (created on first use; nested or
 * concurrent requests each get their own). Use it for one request's temporary
 * allocations and give it back with mem_request_arena_release. Steady state: no
 * system allocation, no lock. Arenas a thread still holds when it exits are freed
 * then. NULL with MEM_ERR_OUT_OF_MEMORY. */
MEM_API MEM_ATTR_NODISCARD MemoryArena* mem_request_arena_acquire(void);

/* Gives a request arena back: wipes what was used, keeps its chunks for the next
 * request up to MEM_REQUEST_ARENA_KEEP_BYTES per thread (the rest go back to the
 * system). Must run on the acquiring thread: from another thread it is refused with
 * MEM_ERR_WRONG_THREAD; a second release with MEM_ERR_ARENA_STATE; an arena that is
 * not a request arena with MEM_ERR_INVALID_ARENA. Returns true when released. */
MEM_API bool mem_request_arena_release(MemoryArena* arena);

/* mem_arena_alloc's inline path (see its contract above): a block of `size` bytes
 * rounded up to 16 from the window, else the library's function. */
#if MEM_ARENA_ALIGNMENT == 16 && !defined(MEM_ARENA_NO_INLINE) && !defined(DEBUG_MEMORY_MANAGER)
MEM_ATTR_NODISCARD MEM_ATTR_ALLOC_SIZE(2) static inline void* mem__arena_alloc_inline(MemoryArena* arena, size_t size) {
    if (arena != NULL) {
        MemoryArenaWindow* window = (MemoryArenaWindow*)(void*)arena;
        size_t step = (size + 15) & ~(size_t)15; /* used only when size - 1 < MEM_MAX_ALLOCATION */
        if (size - 1 < MEM_MAX_ALLOCATION && step <= (size_t)(window->end - window->next)) {
            unsigned char* block = window->next;
            window->next = block + step;
            return block;
        }
    }
    return (mem_arena_alloc)(arena, size);
}
#define mem_arena_alloc(arena, size) mem__arena_alloc_inline((arena), (size))
#endif

#ifdef __cplusplus
}
#endif

#endif /* MEMKIT_ARENA_H */
