/*
 * memkit/rcu.h - RCU-protected copy-on-write for data that many threads read while
 * one thread occasionally replaces it (configuration, routing tables).
 *
 * Readers need no registration and never block; the writer copies into a fresh
 * container and publishes it; the old one is wiped and released after a grace
 * period. Built on liburcu's "bp" flavor (see docs/threading.md). With
 * MEM_THREAD_SAFE=0 the same calls work without RCU.
 */
#ifndef MEMKIT_RCU_H
#define MEMKIT_RCU_H

#include <stdbool.h>
#include <stddef.h>

#include "memkit/config.h"
#include "memkit/pointer.h"
#include "memkit/pool.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Enters an RCU read-side section (liburcu-bp: the thread needs no registration)
 * and returns `ptr`'s current data (its size in
 * *size when `size` is not NULL). The buffer stays intact until the matching
 * mem_pointer_read_unlock, whatever writers publish meanwhile. Sections nest. Returns
 * NULL (and enters no section) for a NULL, invalid or unallocated pointer, or one whose
 * pool was destroyed. Any thread; `ptr` must not be destroyed while readers use it. */
MEM_API const void* mem_pointer_read_lock(const MemoryPointer* ptr, size_t* size);

/* Leaves the section entered by the matching mem_pointer_read_lock. Without one (the
 * thread is in no section) nothing is left: MEM_ERR_NOT_IN_READ_SECTION and a warning
 * in the log. Any thread: the one that took the lock. */
MEM_API void mem_pointer_read_unlock(const MemoryPointer* ptr);

/* Copies `size` bytes of `data` into a fresh container from `pool` and makes it
 * `ptr`'s container atomically; readers see the old or the new buffer, never a mix.
 * The old container's reference is dropped after a grace period (wiped when it was
 * the last). `ptr` may be unallocated (first publish); once published, in-place writes
 * through mem_pointer_write are refused (MEM_ERR_PUBLISHED). One writer per pointer at
 * a time. Errors: NULL argument, MEM_ERR_ZERO_SIZE, MEM_ERR_SIZE_OVERFLOW,
 * MEM_ERR_INVALID_POINTER, MEM_ERR_INVALID_POOL, MEM_ERR_WRONG_POOL,
 * MEM_ERR_OUT_OF_MEMORY; `ptr` unchanged then. */
MEM_API MEM_ATTR_NODISCARD bool mem_pointer_publish(MemoryPointer* ptr, const void* data, size_t size,
                                                   MemoryPool* pool);

/* Waits until every release deferred by mem_pointer_publish (and by destroying a
 * published pointer) has run: at once when none is pending, otherwise through
 * liburcu's rcu_barrier (10 ms or more, until every read-side section open at the
 * time has ended). Any thread, outside a read-side section: inside one it would wait
 * for itself, so it returns at once with MEM_ERR_IN_READ_SECTION and a warning in the
 * log, pending releases or not; so it does in a child forked from inside a read-side
 * section, where deferred releases never run. */
MEM_API void mem_rcu_barrier(void);

#ifdef __cplusplus
}
#endif

#endif /* MEMKIT_RCU_H */
