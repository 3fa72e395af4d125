/*
 * slab.c - type-stable storage for small fixed-size objects (pointer handles, arena
 * headers). Memory is taken from the system in chunks and never given back while
 * the process runs, and a freed object waits in a FIFO quarantine of
 * MEM_HANDLE_QUARANTINE objects before reuse: a destroyed handle stays readable and
 * still says "destroyed", so double destroy and use after destroy are detected
 * instead of being undefined behaviour.
 *
 * Thread-safe. Each thread quarantines what it frees in its own FIFO and reuses from
 * it without a lock; the slab's mutex guards the shared FIFO (objects of exited
 * threads), the never-used objects and the chunk list.
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

static void fifo_push(void** head, void** tail, size_t* length, void* object) {
    set_object_link(object, NULL);
    if (*tail != NULL) {
        set_object_link(*tail, object);
    } else {
        *head = object;
    }
    *tail = object;
    (*length)++;
}

/* The oldest object of a FIFO longer than the quarantine, or NULL. */
static void* fifo_pop_past_quarantine(void** head, void** tail, size_t* length) {
    if (*length <= MEM_HANDLE_QUARANTINE) {
        return NULL;
    }
    void* object = *head;
    *head = object_link(object);
    if (*head == NULL) {
        *tail = NULL;
    }
    (*length)--;
    return object;
}

/* The calling thread's quarantine for `slab`, or NULL (single-threaded build, or no
 * thread state could be made). */
static mem__slab_local* local_quarantine(const mem__slab* slab) {
#if MEM_THREAD_SAFE
    struct mem__thread_state* ts = mem__thread_state();
    return ts != NULL ? &ts->slab_locals[slab->index] : NULL;
#else
    (void)slab;
    return NULL;
#endif
}

/* Slab locked: a reusable object from the shared FIFO or the never-used ones. */
static void* take_shared_locked(mem__slab* slab) {
    void* object = fifo_pop_past_quarantine(&slab->fifo_head, &slab->fifo_tail, &slab->fifo_length);
    if (object == NULL && slab->fresh != NULL) {
        object = slab->fresh;
        slab->fresh = object_link(object);
    }
    return object;
}

/* A new chunk: returns its first object and makes the others never-used ones. */
static void* grow(mem__slab* slab) {
    size_t chunk_bytes = SLAB_CHUNK_HEADER + SLAB_CHUNK_OBJECTS * slab->object_size;
    unsigned char* chunk = mem__sys_alloc(chunk_bytes);
    if (chunk == NULL) {
        mem__out_of_memory(chunk_bytes);
        return NULL;
    }
    mem__mutex_lock(&slab->mutex);
    set_object_link(chunk, slab->chunks);
    slab->chunks = chunk;
    for (size_t i = SLAB_CHUNK_OBJECTS - 1; i >= 1; i--) {
        void* spare = chunk + SLAB_CHUNK_HEADER + i * slab->object_size;
        set_object_link(spare, slab->fresh);
        slab->fresh = spare;
    }
    mem__mutex_unlock(&slab->mutex);
    return chunk + SLAB_CHUNK_HEADER;
}

void* mem__slab_alloc(mem__slab* slab) {
    mem__slab_local* local = local_quarantine(slab);
    void* object = local != NULL ? fifo_pop_past_quarantine(&local->head, &local->tail, &local->length) : NULL;
    if (object == NULL) {
        mem__mutex_lock(&slab->mutex);
        object = take_shared_locked(slab);
        mem__mutex_unlock(&slab->mutex);
    }
    if (object == NULL && (object = grow(slab)) == NULL) {
        return NULL;
    }
    memset(object, 0, slab->object_size);
    return object;
}

void mem__slab_free(mem__slab* slab, void* object) {
    mem__slab_local* local = local_quarantine(slab);
    if (local != NULL) {
        fifo_push(&local->head, &local->tail, &local->length, object);
        return;
    }
    mem__mutex_lock(&slab->mutex);
    fifo_push(&slab->fifo_head, &slab->fifo_tail, &slab->fifo_length, object);
    mem__mutex_unlock(&slab->mutex);
}

/* Appends a thread's whole quarantine to the shared FIFO, oldest first. */
static void splice_into_shared(mem__slab* slab, mem__slab_local* local) {
    if (local->head == NULL) {
        return;
    }
    mem__mutex_lock(&slab->mutex);
    if (slab->fifo_tail != NULL) {
        set_object_link(slab->fifo_tail, local->head);
    } else {
        slab->fifo_head = local->head;
    }
    slab->fifo_tail = local->tail;
    slab->fifo_length += local->length;
    mem__mutex_unlock(&slab->mutex);
    *local = (mem__slab_local){0};
}

void mem__slab_release_locals(struct mem__slab_local* locals) {
    splice_into_shared(&mem__handle_slab, &locals[MEM__SLAB_HANDLES]);
    splice_into_shared(&mem__arena_slab, &locals[MEM__SLAB_ARENAS]);
}
