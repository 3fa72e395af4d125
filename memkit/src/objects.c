/*
 * objects.c - type-stable heaps for small fixed-size objects (pointer handles and
 * arena headers). Memory comes from the system in chunks of 64 objects and is never
 * given back while the process runs, so a destroyed object stays readable and still
 * says "destroyed"; and a destroyed object waits in a FIFO quarantine of
 * MEM_HANDLE_QUARANTINE objects before reuse, so double destroy and use after destroy
 * are detected instead of being undefined behaviour.
 *
 * Each object names the thread state whose heap it belongs to. That thread destroys
 * and reuses its objects with no lock; an object destroyed on another thread goes back
 * to its owner's lock-free remote list, which the owner takes in one exchange. A heap
 * keeps at most MEM_HANDLE_CACHE objects beyond its quarantine and moves the oldest
 * beyond that to a shared FIFO (mutex), where threads that need objects find them; a
 * thread that exits moves its whole heap there.
 *
 * The contract with the object types: bytes 16..23 are the link (a uint64_t), bytes
 * 30..31 the owner (a uint16_t); handle.c and arena.c assert their layouts match.
 */
#include "hot.h"

#define CHUNK_OBJECTS 64
/* Objects are cache-line aligned (their sizes are multiples of 64): an object
 * destroyed by another thread is written there, and must not share a line with one
 * its owner is using. A chunk's system allocation has room to align its first
 * object; the chunk list links the allocations themselves (so that leak checkers
 * see every chunk reachable), each holding the next one's address first. */
#define CHUNK_LINK 64 /* bytes before the first object, the link included, at least */

static unsigned char* first_object(unsigned char* raw) {
    return (unsigned char*)mem__align_up((uintptr_t)raw + sizeof(void*), 64);
}
#define SHARED_BATCH 64


/* ---- FIFOs: head is the oldest. */
typedef struct fifo {
    void** head;
    void** tail;
    size_t* length;
} fifo;

static fifo heap_fifo(mem__object_heap* heap) { return (fifo){&heap->head, &heap->tail, &heap->length}; }

static fifo shared_fifo(mem__object_kind* kind) {
    return (fifo){&kind->shared_head, &kind->shared_tail, &kind->shared_length};
}

static void fifo_push(fifo f, void* object) {
    mem__object_set_link(object, NULL);
    if (*f.tail != NULL) {
        mem__object_set_link(*f.tail, object);
    } else {
        *f.head = object;
    }
    *f.tail = object;
    (*f.length)++;
}

static void* fifo_pop(fifo f) {
    void* object = *f.head;
    *f.head = mem__object_link(object);
    if (*f.head == NULL) {
        *f.tail = NULL;
    }
    (*f.length)--;
    return object;
}

/* Moves the `count` oldest objects of `from` to the end of `to`. */
static void fifo_move(fifo from, fifo to, size_t count) {
    while (count-- > 0 && *from.head != NULL) {
        fifo_push(to, fifo_pop(from));
    }
}

/* ---- the shared FIFO, the chunks and the never-used objects of stateless threads */

static void* take_shared_locked(mem__object_kind* kind) {
    return kind->shared_length > MEM_HANDLE_QUARANTINE ? fifo_pop(shared_fifo(kind)) : NULL;
}

/* A new chunk: returns its first object; the others become `heap`'s never-used
 * objects, or the kind's when the thread has no heap. */
static void* grow(mem__object_kind* kind, mem__object_heap* heap) {
    size_t chunk_bytes = CHUNK_LINK + CHUNK_OBJECTS * kind->size;
    unsigned char* chunk = mem__sys_alloc(chunk_bytes);
    if (chunk == NULL) {
        mem__out_of_memory(chunk_bytes);
        return NULL;
    }
    memset(chunk, 0, chunk_bytes);
    unsigned char* objects = first_object(chunk);
    void* spares = NULL;
    for (size_t i = CHUNK_OBJECTS - 1; i >= 1; i--) {
        void* object = objects + i * kind->size;
        mem__object_set_link(object, spares);
        spares = object;
    }
    mem__mutex_lock(&kind->mutex);
    memcpy(chunk, &kind->chunks, sizeof(void*)); /* the chunk list, for walks */
    kind->chunks = chunk;
    if (heap == NULL) {
        mem__object_set_link(objects + (CHUNK_OBJECTS - 1) * kind->size, kind->fresh);
        kind->fresh = spares;
    }
    mem__mutex_unlock(&kind->mutex);
    if (heap != NULL) {
        heap->fresh = spares;
    }
    return objects;
}

void* mem__object_take(mem__object_kind* kind, mem__object_heap* heap) {
    fifo own = heap_fifo(heap);
    if (mem__atomic_load_relaxed(&heap->remote) != 0) {
        /* Acquire: pairs with the pushers' CAS (their writes to the objects). */
        void* list = (void*)mem__atomic_exchange_acquire(&heap->remote, (uintptr_t)0);
        while (list != NULL) {
            void* next = mem__object_link(list);
            fifo_push(own, list);
            list = next;
        }
        if (heap->length > MEM_HANDLE_QUARANTINE) {
            return fifo_pop(own);
        }
    }
    if (heap->fresh != NULL) {
        void* object = heap->fresh;
        heap->fresh = mem__object_link(object);
        return object;
    }
    mem__mutex_lock(&kind->mutex);
    size_t available = kind->shared_length > MEM_HANDLE_QUARANTINE ? kind->shared_length - MEM_HANDLE_QUARANTINE : 0;
    size_t batch = available < SHARED_BATCH ? available : SHARED_BATCH;
    void* object = NULL;
    while (batch-- > 0) {
        void* taken = fifo_pop(shared_fifo(kind));
        mem__object_set_link(taken, heap->fresh);
        heap->fresh = taken;
    }
    if (heap->fresh != NULL) {
        object = heap->fresh;
        heap->fresh = mem__object_link(object);
    }
    mem__mutex_unlock(&kind->mutex);
    return object;
}

void* mem__object_alloc(mem__object_kind* kind) {
    mem__thread_state* ts = mem__this_thread();
    mem__object_heap* heap = ts != NULL ? &ts->heaps[kind->heap] : NULL;
    void* object = heap != NULL ? mem__object_pop(kind, heap) : NULL;
    if (object == NULL && heap == NULL) {
        mem__mutex_lock(&kind->mutex);
        object = take_shared_locked(kind);
        if (object == NULL && kind->fresh != NULL) {
            object = kind->fresh;
            kind->fresh = mem__object_link(object);
        }
        mem__mutex_unlock(&kind->mutex);
    }
    if (object == NULL && (object = grow(kind, heap)) == NULL) {
        return NULL;
    }
    mem__object_set_owner(object, mem__state_index(ts));
    return object;
}

/* Moves the objects of an owner's remote list to the shared FIFO. */
static void drain_remote_to_shared(mem__object_kind* kind, mem__object_heap* heap) {
    void* list = (void*)mem__atomic_exchange_seq_cst(&heap->remote, (uintptr_t)0);
    if (list == NULL) {
        return;
    }
    mem__mutex_lock(&kind->mutex);
    while (list != NULL) {
        void* next = mem__object_link(list);
        fifo_push(shared_fifo(kind), list);
        list = next;
    }
    mem__mutex_unlock(&kind->mutex);
}

void mem__object_spill(mem__object_kind* kind, mem__object_heap* heap) {
    mem__mutex_lock(&kind->mutex);
    fifo_move(heap_fifo(heap), shared_fifo(kind), MEM_HANDLE_CACHE / 2);
    mem__mutex_unlock(&kind->mutex);
}

void mem__object_free(mem__object_kind* kind, void* object) {
    mem__thread_state* ts = mem__this_thread_peek();
    uint16_t owner = mem__object_owner(object);
    if (ts != NULL && owner == ts->index) {
        mem__object_push(kind, &ts->heaps[kind->heap], object);
        return;
    }
    mem__thread_state* owner_state = mem__state_lookup(owner);
    if (owner_state == NULL) {
        mem__mutex_lock(&kind->mutex);
        fifo_push(shared_fifo(kind), object);
        mem__mutex_unlock(&kind->mutex);
        return;
    }
    mem__object_heap* heap = &owner_state->heaps[kind->heap];
    uintptr_t head = mem__atomic_load_relaxed(&heap->remote);
    do {
        mem__object_set_link(object, (void*)head);
        /* Seq-cst: publishes the object (release) and orders the push before the
         * `abandoned` load, against the exiting owner's store and last drain. */
    } while (!mem__atomic_cas_weak_seq_cst(&heap->remote, &head, (uintptr_t)object));
    if (mem__atomic_load_seq_cst(&owner_state->abandoned) != 0) {
        drain_remote_to_shared(kind, heap);
    }
}

static void retire_heap(mem__object_kind* kind, mem__object_heap* heap) {
    drain_remote_to_shared(kind, heap);
    mem__mutex_lock(&kind->mutex);
    fifo_move(heap_fifo(heap), shared_fifo(kind), heap->length);
    while (heap->fresh != NULL) {
        void* object = heap->fresh;
        heap->fresh = mem__object_link(object);
        mem__object_set_link(object, kind->fresh);
        kind->fresh = object;
    }
    mem__mutex_unlock(&kind->mutex);
}

void mem__object_heaps_retire(mem__thread_state* ts) {
    retire_heap(&mem__handle_kind, &ts->heaps[MEM__HEAP_HANDLES]);
    retire_heap(&mem__arena_kind, &ts->heaps[MEM__HEAP_ARENAS]);
}

void mem__objects_for_each(mem__object_kind* kind, void (*visit)(void* object, void* context), void* context) {
    mem__mutex_lock(&kind->mutex);
    for (unsigned char* chunk = kind->chunks; chunk != NULL;) {
        for (size_t i = 0; i < CHUNK_OBJECTS; i++) {
            visit(first_object(chunk) + i * kind->size, context);
        }
        unsigned char* next;
        memcpy(&next, chunk, sizeof next);
        chunk = next;
    }
    mem__mutex_unlock(&kind->mutex);
}
