/*
 * pointer.c - MemoryPointer operations: create, allocate, share, copy-on-write,
 * destroy and accessors. Thread-safe as memkit/pointer.h describes: a container may
 * be shared across threads, a handle is used by one thread at a time.
 */
#include "internal.h"

static void copy_name(MemoryPointer* handle, const char* name) {
    size_t length = strnlen(name, MEM_POINTER_NAME_MAX - 1);
    memcpy(handle->name, name, length);
    handle->name[length] = '\0';
}

MemoryPointer* mem_pointer_create(const char* name, size_t size) {
    if (name == NULL) {
        return mem__fail_null(MEM_ERR_NULL_ARGUMENT);
    }
    if (size > MEM_MAX_ALLOCATION) {
        return mem__fail_null(MEM_ERR_SIZE_OVERFLOW);
    }
    MemoryPointer* handle = mem__handle_alloc();
    if (handle != NULL) {
        copy_name(handle, name);
    }
    return handle;
}

struct mem__pool_state* mem__pointer_pool(const MemoryPointer* ptr, MemoryPool* pool) {
    struct mem__pool_state* st = mem__pool_state_of(pool);
    if (st != NULL && ptr->container != NULL && ptr->pool != pool) {
        mem__log(MEM_LOG_WARNING, "pointer \"%s\" used with pool %p, it belongs to %p", ptr->name, (void*)pool,
                 (void*)ptr->pool);
        return mem__fail_null(MEM_ERR_WRONG_POOL);
    }
    return st;
}

bool mem__check_size(size_t size) {
    if (size == 0) {
        return mem__fail(MEM_ERR_ZERO_SIZE);
    }
    if (size > MEM_MAX_ALLOCATION) {
        return mem__fail(MEM_ERR_SIZE_OVERFLOW);
    }
    return true;
}

bool mem_pointer_allocate(MemoryPointer* ptr, size_t size, MemoryPool* pool) {
    if (mem__pointer_check(ptr) == NULL) {
        return false;
    }
    struct mem__pool_state* st = mem__pool_state_of(pool);
    if (st == NULL || !mem__check_size(size)) {
        return false;
    }
    if (ptr->container != NULL) {
        return mem__fail(MEM_ERR_ALREADY_ALLOCATED);
    }
    MemoryContainer* c = mem__cache_obtain(st, size);
    if (c == NULL) {
        return false;
    }
    ptr->pool = pool;
    mem__atomic_store_release(&ptr->container, c);
    return true;
}

void mem__container_unref(struct mem__pool_state* st, MemoryContainer* c) {
    /* The only reference cannot be raised by anyone else (they would need a handle),
     * so the last release needs no atomic read-modify-write. */
    uint32_t before = mem__atomic_load_acquire(&c->refcount);
    if (mem__likely(before == 1)) {
        mem__atomic_store_relaxed(&c->refcount, 0u);
    } else {
        before = mem__atomic_fetch_sub_acq_rel(&c->refcount, 1u);
    }
#ifdef MEM_FAULT_SKIP_RELEASE
    before = 2; /* planted fault: the last reference never releases (a leak) */
#endif
    if (before == 1) {
        mem__cache_release(st, c);
    } else if (mem__unlikely(before == 0)) {
        mem__log(MEM_LOG_ERROR, "container %016llx released below refcount 0", (unsigned long long)mem__container_id(c));
        mem__atomic_store_relaxed(&c->refcount, 0u);
    }
}

/* Drops `ptr`'s reference to `c`: after a grace period when readers may hold it. */
static void drop_reference(const MemoryPointer* ptr, struct mem__pool_state* st, MemoryContainer* c) {
    if (ptr->flags & MEM__POINTER_PUBLISHED) {
        mem__rcu_release_deferred(st, c);
    } else {
        mem__container_unref(st, c);
    }
}

bool mem_pointer_destroy(MemoryPointer* ptr, MemoryPool* pool) {
    if (mem__pointer_check(ptr) == NULL) {
        return false;
    }
    MemoryContainer* c = ptr->container;
    if (c != NULL) {
        struct mem__pool_state* st = mem__pointer_pool(ptr, pool);
        if (st == NULL) {
            return false;
        }
        drop_reference(ptr, st, c);
    }
    mem__handle_free(ptr);
    return true;
}

MemoryPointer* mem_pointer_share(const MemoryPointer* src, const char* name) {
    if (mem__container_of(src) == NULL) {
        return NULL;
    }
    if (name == NULL) {
        return mem__fail_null(MEM_ERR_NULL_ARGUMENT);
    }
    MemoryPointer* handle = mem__handle_alloc();
    if (handle == NULL) {
        return NULL;
    }
    const void* section = (src->flags & MEM__POINTER_PUBLISHED) ? mem_pointer_read_lock(src, NULL) : NULL;
    MemoryContainer* c = mem__atomic_load_acquire(&src->container);
    uint32_t before = mem__atomic_fetch_add_relaxed(&c->refcount, 1u);
    if (section != NULL) {
        mem_pointer_read_unlock(src);
    }
    if (before >= MEM__REFCOUNT_MAX) {
        mem__atomic_fetch_sub_acq_rel(&c->refcount, 1u);
        mem__handle_free(handle);
        return mem__fail_null(MEM_ERR_REFCOUNT_OVERFLOW);
    }
    copy_name(handle, name);
    handle->pool = src->pool;
    handle->container = c;
    return handle;
}

void* mem_pointer_write(MemoryPointer* ptr, MemoryPool* pool) {
    if (mem__pointer_check(ptr) == NULL) {
        return NULL;
    }
    struct mem__pool_state* st = mem__pointer_pool(ptr, pool);
    if (st == NULL) {
        return NULL;
    }
    MemoryContainer* c = ptr->container;
    if (c == NULL) {
        return mem__fail_null(MEM_ERR_NOT_ALLOCATED);
    }
    if (ptr->flags & MEM__POINTER_PUBLISHED) {
        /* Readers may be inside its buffer: only mem_pointer_publish replaces it. */
        return mem__fail_null(MEM_ERR_PUBLISHED);
    }
    bool exclusive = mem__atomic_load_acquire(&c->refcount) == 1;
#ifdef MEM_FAULT_SKIP_COW
    exclusive = true; /* planted fault: the stress harness must catch it */
#endif
    if (exclusive) {
        return c->data;
    }
    MemoryContainer* copy = mem__cache_obtain(st, c->size);
    if (copy == NULL) {
        return NULL;
    }
    memcpy(copy->data, c->data, c->size);
    mem__atomic_store_release(&ptr->container, copy);
    drop_reference(ptr, st, c);
    return copy->data;
}

MemoryContainer* mem__container_of(const MemoryPointer* ptr) {
    if (mem__pointer_check(ptr) == NULL) {
        return NULL;
    }
    MemoryContainer* c = mem__atomic_load_acquire(&ptr->container);
    if (c == NULL) {
        return mem__fail_null(MEM_ERR_NOT_ALLOCATED);
    }
    /* A destroyed pool took its containers with it. */
    return mem__pool_state_of(ptr->pool) != NULL ? c : NULL;
}

const void* mem_pointer_data(const MemoryPointer* ptr) {
    MemoryContainer* c = mem__container_of(ptr);
    return c != NULL ? c->data : NULL;
}

size_t mem_pointer_size(const MemoryPointer* ptr) {
    MemoryContainer* c = mem__container_of(ptr);
    return c != NULL ? c->size : 0;
}

uint32_t mem_pointer_refcount(const MemoryPointer* ptr) {
    MemoryContainer* c = mem__container_of(ptr);
    return c != NULL ? mem__atomic_load_relaxed(&c->refcount) : 0;
}

uint64_t mem_pointer_id(const MemoryPointer* ptr) {
    MemoryContainer* c = mem__container_of(ptr);
    return c != NULL ? mem__container_id(c) : 0;
}
