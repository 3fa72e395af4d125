/*
 * slab.c - type-stable storage for small fixed-size objects (pointer handles, arena
 * headers). Memory is taken from the system in chunks and never given back while
 * the process runs, and a freed object waits in a FIFO quarantine of
 * MEM_HANDLE_QUARANTINE objects before reuse: a destroyed handle stays readable and
 * still says "destroyed", so double destroy and use after destroy are detected
 * instead of being undefined behaviour. Thread-safe (one mutex per slab).
 */
#include "internal.h"

#define SLAB_CHUNK_OBJECTS 64
#define SLAB_CHUNK_HEADER 16 /* keeps objects 16-byte aligned */

static void* object_link(const void* object) {
    void* next;
    memcpy(&next, object, sizeof next);
    return next;
}

static void set_object_link(void* object, void* next) { memcpy(object, &next, sizeof next); }

/* Pops a reusable object, slab locked; NULL when a new chunk is needed. */
static void* take_object_locked(mem__slab* slab) {
    void* object = NULL;
    if (slab->fifo_length > MEM_HANDLE_QUARANTINE) {
        object = slab->fifo_head;
        slab->fifo_head = object_link(object);
        if (slab->fifo_head == NULL) {
            slab->fifo_tail = NULL;
        }
        slab->fifo_length--;
    } else if (slab->fresh != NULL) {
        object = slab->fresh;
        slab->fresh = object_link(object);
    }
    return object;
}

void* mem__slab_alloc(mem__slab* slab) {
    mem__mutex_lock(&slab->mutex);
    void* object = take_object_locked(slab);
    mem__mutex_unlock(&slab->mutex);
    if (object == NULL) {
        size_t chunk_bytes = SLAB_CHUNK_HEADER + SLAB_CHUNK_OBJECTS * slab->object_size;
        unsigned char* chunk = mem__sys_alloc(chunk_bytes);
        if (chunk == NULL) {
            mem__out_of_memory(chunk_bytes);
            return NULL;
        }
        object = chunk + SLAB_CHUNK_HEADER;
        mem__mutex_lock(&slab->mutex);
        set_object_link(chunk, slab->chunks);
        slab->chunks = chunk;
        for (size_t i = SLAB_CHUNK_OBJECTS - 1; i >= 1; i--) {
            void* spare = chunk + SLAB_CHUNK_HEADER + i * slab->object_size;
            set_object_link(spare, slab->fresh);
            slab->fresh = spare;
        }
        mem__mutex_unlock(&slab->mutex);
    }
    memset(object, 0, slab->object_size);
    return object;
}

void mem__slab_free(mem__slab* slab, void* object) {
    set_object_link(object, NULL);
    mem__mutex_lock(&slab->mutex);
    if (slab->fifo_tail != NULL) {
        set_object_link(slab->fifo_tail, object);
    } else {
        slab->fifo_head = object;
    }
    slab->fifo_tail = object;
    slab->fifo_length++;
    mem__mutex_unlock(&slab->mutex);
}
