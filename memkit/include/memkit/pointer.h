/*
 * memkit/pointer.h - MemoryPointer handles over reference-counted, copy-on-write
 * MemoryContainers.
 *
 * Threading: a container may be shared by handles used on different threads. A handle
 * has one mutating user at a time (allocate, write, publish, destroy); any number of
 * threads may share it at once, but not while another thread mutates it (debug builds
 * refuse that overlap with MEM_ERR_WRONG_THREAD). Hand a handle to another thread by
 * sharing it there, or let readers snapshot a buffer its owner keeps changing by
 * publishing it (mem_pointer_publish): shares and reads of a published pointer are
 * safe alongside its publishes. A handle may be destroyed on any thread.
 */
#ifndef MEMKIT_POINTER_H
#define MEMKIT_POINTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "memkit/config.h"
#include "memkit/pool.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One contiguous block and its header (32 bytes on x86-64 with MEM_ALIGNMENT <= 32;
 * MEM_ALIGNMENT when larger). Callers may read `size` and `data`, and write
 * `data[0..size)` of a container they do not share (mem_pointer_write gives a safe
 * writable view). The other fields are private; the refcount is mem_pointer_refcount()
 * and the deterministic id mem_pointer_id(). */
typedef struct MemoryContainer {
    /* read-only */
    size_t size; /* usable bytes requested */
    /* private (the header's layout is the library's: no field moves) */
    uint64_t serial;   /* the pool's seed plus a sequence number (see mem_pointer_id);
                          a mem_malloc block's page; a free block's list link */
    uint32_t refcount; /* references counted by the thread that owns the container */
    uint32_t shared;   /* references counted atomically by other threads */
    uint32_t page;     /* the page that holds the block */
    uint16_t owner;    /* the owning thread's state */
    uint8_t state;
    uint8_t magic; /* detects use after release */
    /* public: the payload, MEM_ALIGNMENT-aligned; writable as mem_pointer_write says */
    MEM_ALIGNAS(MEM_ALIGNMENT) unsigned char data[];
} MemoryContainer;

/* A named handle. `container` (NULL before allocation) and `pool` are read-only for
 * callers; the other fields are private. A destroyed handle reads NULL in both. */
typedef struct MemoryPointer {
    /* read-only */
    MemoryContainer* container;
    MemoryPool* pool;
    /* private (bytes 16..31: the handle heap's link and owner, at the same place in
     * every object of the library's object heaps) */
    uint64_t generation; /* the pool's generation (the heap's link once destroyed) */
    uint32_t magic;
    uint16_t flags;
    uint16_t owner; /* the thread state whose handle heap holds it */
    /* read-only */
    char name[MEM_POINTER_NAME_MAX]; /* diagnostic name, truncated to fit */
} MemoryPointer;

/* The sizes these headers promise: a 32-byte container header (more only when
 * MEM_ALIGNMENT asks for more), a handle of whole 64-byte cache lines. */
#ifdef __cplusplus
#define MEM__STATIC_ASSERT(cond, message) static_assert(cond, message)
#else
#define MEM__STATIC_ASSERT(cond, message) _Static_assert(cond, message)
#endif
MEM__STATIC_ASSERT(offsetof(MemoryContainer, data) == (MEM_ALIGNMENT > 32 ? MEM_ALIGNMENT : 32),
                   "a container header is 32 bytes, or MEM_ALIGNMENT when that is larger");
MEM__STATIC_ASSERT(sizeof(MemoryPointer) % 64 == 0, "a handle is whole cache lines");

/* Creates an empty handle named `name` (copied, truncated to MEM_POINTER_NAME_MAX-1
 * bytes). `size` is the size the caller intends to allocate, kept for diagnostics; 0
 * means unknown. Returns NULL with MEM_ERR_NULL_ARGUMENT (name), MEM_ERR_SIZE_OVERFLOW
 * (size above MEM_MAX_ALLOCATION) or MEM_ERR_OUT_OF_MEMORY. Free it with
 * mem_pointer_destroy. Thread-safe. */
MEM_API MEM_ATTR_NODISCARD MemoryPointer*(mem_pointer_create)(const char* name, size_t size);

/* mem_pointer_create with a name of `length` bytes that need not be NUL-terminated
 * (a slice of a request, say): the name is `name[0..length)`, truncated to
 * MEM_POINTER_NAME_MAX-1 bytes; only those bytes are read, and a NUL among them ends
 * the name early. Same errors, ownership and threading as mem_pointer_create. Built
 * with an optimising gcc or clang, mem_pointer_create of a string literal calls this
 * with the literal's length (an inline wrapper in this header), which spares the copy
 * its search for the name's end. */
MEM_API MEM_ATTR_NODISCARD MemoryPointer* mem_pointer_create_n(const char* name, size_t length, size_t size);

/* Gives `ptr` a container of `size` bytes from `pool`: a wiped orphan of a fitting
 * size class when there is one (its bytes read zero), else a new block (contents
 * unspecified). An orphan serves a request of at least half its capacity. The data is
 * MEM_ALIGNMENT-aligned. Refcount becomes 1. Errors: NULL argument, MEM_ERR_ZERO_SIZE,
 * MEM_ERR_SIZE_OVERFLOW, MEM_ERR_INVALID_POINTER, MEM_ERR_INVALID_POOL,
 * MEM_ERR_ALREADY_ALLOCATED, MEM_ERR_OUT_OF_MEMORY (OOM handler called). On failure
 * `ptr` is unchanged. Any thread; one thread at a time per handle. */
MEM_API MEM_ATTR_NODISCARD bool mem_pointer_allocate(MemoryPointer* ptr, size_t size, MemoryPool* pool);

/* Drops `ptr`'s reference (the container is wiped and kept as an orphan, or freed,
 * when it was the last) and destroys the handle; a published pointer's reference is
 * dropped after an RCU grace period. `pool` must be the pool it was
 * allocated from (any valid pool, or NULL, for a handle never allocated). A second
 * destroy or a destroy of a handle that is not one is refused with
 * MEM_ERR_INVALID_POINTER; a pool mismatch with MEM_ERR_WRONG_POOL (nothing is
 * destroyed then). Returns true when the handle was destroyed. Thread-safe. */
MEM_API bool mem_pointer_destroy(MemoryPointer* ptr, MemoryPool* pool);

/* A new handle named `name` to `src`'s container; refcount + 1 (refused past
 * UINT32_MAX / 2). The caller owns the
 * new handle and may use or destroy it on any thread. Errors: NULL argument,
 * MEM_ERR_INVALID_POINTER, MEM_ERR_NOT_ALLOCATED, MEM_ERR_INVALID_POOL (its pool was
 * destroyed), MEM_ERR_REFCOUNT_OVERFLOW, MEM_ERR_OUT_OF_MEMORY. Threading: any thread,
 * alongside other shares of `src`, not alongside a mutating call on `src` (see above;
 * a published `src` may be shared alongside its publishes). */
MEM_API MEM_ATTR_NODISCARD MemoryPointer*(mem_pointer_share)(const MemoryPointer* src, const char* name);

/* mem_pointer_share with a name of `length` bytes, as mem_pointer_create_n takes it.
 * Same errors, ownership and threading as mem_pointer_share. */
MEM_API MEM_ATTR_NODISCARD MemoryPointer* mem_pointer_share_n(const MemoryPointer* src, const char* name,
                                                              size_t length);

/* Writable data of `ptr`: when its container is shared, first copies it into a new
 * container from `pool` and drops the shared reference (copy-on-write), so no other
 * handle sees later writes. Unshared: returns the data, copying nothing. NULL on
 * error (NULL argument, invalid pointer or pool, MEM_ERR_WRONG_POOL,
 * MEM_ERR_NOT_ALLOCATED, MEM_ERR_OUT_OF_MEMORY, MEM_ERR_PUBLISHED for a pointer
 * replaced through mem_pointer_publish; `ptr` unchanged then). */
MEM_API MEM_ATTR_NODISCARD void* mem_pointer_write(MemoryPointer* ptr, MemoryPool* pool);

/* Read-only data of `ptr`; NULL with an error code if it is invalid or unallocated,
 * or its pool was destroyed (MEM_ERR_INVALID_POOL). The accessors below answer the
 * same way. A published pointer's data is read inside mem_pointer_read_lock instead. */
MEM_API const void* mem_pointer_data(const MemoryPointer* ptr);

/* Size in bytes of `ptr`'s container; 0 with an error code if invalid or unallocated. */
MEM_API size_t mem_pointer_size(const MemoryPointer* ptr);

/* Current refcount of `ptr`'s container (a snapshot when other threads share it);
 * 0 with an error code if invalid or unallocated. */
MEM_API uint32_t mem_pointer_refcount(const MemoryPointer* ptr);

/* Deterministic id of `ptr`'s container: FNV-1a 64 over its serial (the pool's seed
 * plus an allocation sequence number) and its size, never an address, so the same
 * single-threaded program gets the same ids in every run. 0 with an error code if
 * invalid or unallocated. */
MEM_API uint64_t mem_pointer_id(const MemoryPointer* ptr);

/* mem_pointer_create and mem_pointer_share of a string literal (or any name whose
 * length the compiler knows): the _n function with that length. Any other name, and
 * compilers other than gcc and clang, call the functions above. Define
 * MEM_POINTER_NO_INLINE to always call them. */
#if defined(__GNUC__) && !defined(MEM_POINTER_NO_INLINE)
/* True when the compiler knows `name` is not NULL and knows its length. */
#define MEM__NAME_LENGTH_KNOWN(name) \
    (__builtin_constant_p((name) != NULL) && (name) != NULL && __builtin_constant_p(__builtin_strlen(name)))
MEM_ATTR_NODISCARD static inline MemoryPointer* mem__pointer_create_inline(const char* name, size_t size) {
    if (MEM__NAME_LENGTH_KNOWN(name)) {
        return mem_pointer_create_n(name, __builtin_strlen(name), size);
    }
    return (mem_pointer_create)(name, size);
}
MEM_ATTR_NODISCARD static inline MemoryPointer* mem__pointer_share_inline(const MemoryPointer* src, const char* name) {
    if (MEM__NAME_LENGTH_KNOWN(name)) {
        return mem_pointer_share_n(src, name, __builtin_strlen(name));
    }
    return (mem_pointer_share)(src, name);
}
#define mem_pointer_create(name, size) mem__pointer_create_inline((name), (size))
#define mem_pointer_share(src, name) mem__pointer_share_inline((src), (name))
#endif

#ifdef __cplusplus
}
#endif

#endif /* MEMKIT_POINTER_H */
