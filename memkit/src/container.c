/*
 * container.c - a container's block: creation, revival of an orphan, release to the
 * system. A container is one system allocation: header then payload. Not locked:
 * callers own the container they pass.
 */
#include "internal.h"

MemoryContainer* mem__container_new(unsigned size_class, size_t size) {
    size_t capacity = mem__class_capacity(size_class);
    MemoryContainer* c = mem__sys_alloc(offsetof(MemoryContainer, data) + capacity);
    if (c == NULL) {
        return NULL;
    }
    c->size = size;
    c->serial = 0;
    c->refcount = 1;
    c->index = UINT32_MAX;
    c->magic = MEM__CONTAINER_MAGIC;
    c->state = MEM__STATE_LIVE;
    c->size_class = (uint8_t)size_class;
    c->flags = 0;
    /* Bytes past `size` start zero, so every orphan is zero throughout once its
     * payload is wiped. */
    memset(c->data + size, 0, capacity - size);
    return c;
}

void mem__container_revive(MemoryContainer* c, size_t size, uint64_t serial) {
    mem__orphan_set_next(c, NULL);
    c->size = size;
    c->serial = serial;
    mem__atomic_store_relaxed(&c->refcount, 1u);
    c->state = MEM__STATE_LIVE;
}

void mem__container_free(MemoryContainer* c) {
    size_t block = offsetof(MemoryContainer, data) + mem__container_capacity(c);
    mem__wipe(c, block);
    mem__sys_free(c);
}
