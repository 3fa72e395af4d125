/*
 * handle.c - MemoryPointer handles: allocation from a type-stable slab and the
 * validity check every pointer function starts with. Thread-safe.
 */
#include "internal.h"

mem__slab mem__handle_slab = MEM__SLAB_INITIALIZER(MEM__SLAB_HANDLES, sizeof(MemoryPointer));

MemoryPointer* mem__handle_alloc(void) {
    MemoryPointer* handle = mem__slab_alloc(&mem__handle_slab);
    if (handle != NULL) {
        handle->magic = MEM__POINTER_MAGIC;
    }
    return handle;
}

void mem__handle_free(MemoryPointer* handle) {
    handle->magic = MEM__POINTER_MAGIC_DEAD;
    handle->container = NULL;
    handle->pool = NULL;
    mem__slab_free(&mem__handle_slab, handle);
}

MemoryPointer* mem__pointer_check(const MemoryPointer* ptr) {
    if (ptr == NULL) {
        return mem__fail_null(MEM_ERR_NULL_ARGUMENT);
    }
    if (ptr->magic != MEM__POINTER_MAGIC) {
        if (ptr->magic == MEM__POINTER_MAGIC_DEAD) {
            mem__log(MEM_LOG_WARNING, "pointer %p (\"%s\") used after destroy", (const void*)ptr, ptr->name);
        } else {
            mem__log(MEM_LOG_WARNING, "%p is not a MemoryPointer handle", (const void*)ptr);
        }
        return mem__fail_null(MEM_ERR_INVALID_POINTER);
    }
    return (MemoryPointer*)ptr;
}
