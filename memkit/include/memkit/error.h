/*
 * memkit/error.h - error codes. Every failing call returns false or NULL and records
 * why in a thread-local MemError, read with mem_last_error().
 */
#ifndef MEMKIT_ERROR_H
#define MEMKIT_ERROR_H

#include "memkit/config.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One list makes the enum and the messages: X(name, message). */
#define MEM_ERROR_LIST(X)                                                          \
    X(MEM_OK, "no error")                                                          \
    X(MEM_ERR_NULL_ARGUMENT, "a required pointer argument is NULL")                \
    X(MEM_ERR_ZERO_SIZE, "size is zero")                                           \
    X(MEM_ERR_SIZE_OVERFLOW, "size is too large or its arithmetic overflows")      \
    X(MEM_ERR_BAD_ALIGNMENT, "alignment is not a power of two within limits")      \
    X(MEM_ERR_OUT_OF_MEMORY, "the system allocator failed")                        \
    X(MEM_ERR_INVALID_POOL, "pool is not initialized or was destroyed")            \
    X(MEM_ERR_INVALID_POINTER, "pointer handle is invalid or was destroyed")       \
    X(MEM_ERR_WRONG_POOL, "pointer belongs to another pool")                       \
    X(MEM_ERR_NOT_ALLOCATED, "pointer holds no container")                         \
    X(MEM_ERR_ALREADY_ALLOCATED, "pointer already holds a container")              \
    X(MEM_ERR_REFCOUNT_OVERFLOW, "reference count would pass its maximum")         \
    X(MEM_ERR_INVALID_ARENA, "arena is invalid or was destroyed")                  \
    X(MEM_ERR_ARENA_STATE, "request arena is not acquired (released twice?)")      \
    X(MEM_ERR_WRONG_THREAD, "object belongs to another thread")                    \
    X(MEM_ERR_PUBLISHED, "pointer is RCU-published: replace its data with mem_pointer_publish") \
    X(MEM_ERR_CORRUPTED, "an internal invariant does not hold")                    \
    X(MEM_ERR_ALREADY_INITIALIZED, "pool is already initialized: destroy it first")      \
    X(MEM_ERR_IN_READ_SECTION, "the call would wait for RCU readers inside the caller's read-side section") \
    X(MEM_ERR_NOT_IN_READ_SECTION, "no read-side section to leave: unlock without a matching lock") \
    X(MEM_ERR_OUTPUT, "the output stream could not be written")

typedef enum MemError {
#define MEM__ERROR_ENUM(name, message) name,
    MEM_ERROR_LIST(MEM__ERROR_ENUM)
#undef MEM__ERROR_ENUM
    MEM_ERROR_COUNT
} MemError;

/* The reason for the last failure on the calling thread. Like errno, successful calls
 * leave it unchanged; read it right after a call returned false or NULL.
 * Thread-safe (thread-local). */
MEM_API MemError mem_last_error(void);

/* Resets the calling thread's last error to MEM_OK. Thread-safe (thread-local). */
MEM_API void mem_clear_error(void);

/* A static, human-readable message for `error`; never NULL ("unknown error" for a value
 * outside the enum). Thread-safe. */
MEM_API const char* mem_strerror(MemError error);

/* The enumerator's name, e.g. "MEM_ERR_ZERO_SIZE"; "MEM_ERR_UNKNOWN" outside the enum. */
MEM_API const char* mem_error_name(MemError error);

#ifdef __cplusplus
}
#endif

#endif /* MEMKIT_ERROR_H */
