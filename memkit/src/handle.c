/*
 * handle.c - MemoryPointer handles: made from the calling thread's object heap (no
 * lock, no zeroing beyond the fields, a bounded copy of the name), the validity and
 * pool-identity checks every pointer function starts with, and the debug build's
 * detection of a handle used by two threads at once.
 *
 * A destroyed handle reads NULL in its public fields (and is marked inaccessible in
 * tracking builds); its magic says "destroyed" for as long as it is quarantined.
 * Fields that other threads may read while a handle lives (its magic, pool,
 * container and flags, read by shares, snapshots and leak reports) are accessed
 * atomically.
 */
#include "hot.h"

mem__object_kind mem__handle_kind = {.size = sizeof(MemoryPointer), .heap = MEM__HEAP_HANDLES,
                                     .mutex = MEM__MUTEX_INITIALIZER};

/* The object heap's layout contract (objects.c). */
_Static_assert(offsetof(MemoryPointer, generation) == 16, "handle link at byte 16");
_Static_assert(offsetof(MemoryPointer, owner) == 30, "handle owner at bytes 30..31");
_Static_assert(sizeof(MemoryPointer) % 64 == 0, "a handle is whole cache lines (objects.c)");

MemoryPointer* mem__handle_alloc(mem__name name, MemoryPool* pool, uint64_t generation) {
    MemoryPointer* handle = mem__object_alloc(&mem__handle_kind);
    if (handle != NULL) {
        mem__handle_init(handle, name, pool, generation);
    }
    return handle;
}

void mem__handle_free(MemoryPointer* handle) { mem__handle_release(handle); }

uint32_t mem__handle_magic(const MemoryPointer* ptr) { return mem__atomic_load_acquire(&ptr->magic); }

MemoryPointer* mem__pointer_invalid(const MemoryPointer* ptr) {
    if (ptr == NULL) {
        return mem__fail_null(MEM_ERR_NULL_ARGUMENT);
    }
    if (mem__handle_magic(ptr) == MEM__POINTER_MAGIC_DEAD) {
        mem__log(MEM_LOG_WARNING, "pointer %p (\"%.*s\") used after destroy", (const void*)ptr,
                 (int)sizeof ptr->name, ptr->name);
    } else {
        mem__log(MEM_LOG_WARNING, "%p is not a MemoryPointer handle", (const void*)ptr);
    }
    return mem__fail_null(MEM_ERR_INVALID_POINTER);
}

struct mem__pool_state* mem__pointer_pool_state(const MemoryPointer* ptr) {
    MemoryPool* pool = mem__atomic_load_relaxed(&ptr->pool);
    if (pool == NULL) {
        return mem__fail_null(MEM_ERR_NOT_ALLOCATED);
    }
    struct mem__pool_state* st = mem__pool_state_matching(pool, mem__atomic_load_relaxed(&ptr->generation));
    return st != NULL ? st : mem__fail_null(MEM_ERR_INVALID_POOL);
}

struct mem__pool_state* mem__pointer_pool(const MemoryPointer* ptr, MemoryPool* pool) {
    struct mem__pool_state* st = mem__pool_state_of(pool);
    if (st == NULL || mem__atomic_load_relaxed(&ptr->container) == NULL) {
        return st;
    }
    MemoryPool* own = mem__atomic_load_relaxed(&ptr->pool);
    if (own != pool) {
        mem__log(MEM_LOG_WARNING, "pointer \"%s\" used with pool %p, it belongs to %p", ptr->name, (void*)pool,
                 (void*)own);
        return mem__fail_null(MEM_ERR_WRONG_POOL);
    }
    if (mem__atomic_load_relaxed(&ptr->generation) != st->generation) {
        return mem__fail_null(MEM_ERR_INVALID_POOL); /* the pool was destroyed and set up again */
    }
    return st;
}

MemoryContainer* mem__container_and_state_of(const MemoryPointer* ptr, struct mem__pool_state** st) {
    *st = NULL;
    if (mem__pointer_check(ptr) == NULL) {
        return NULL;
    }
    /* Acquire: pairs with the release store that published the container. */
    MemoryContainer* c = mem__atomic_load_acquire(&ptr->container);
    if (c == NULL) {
        return mem__fail_null(MEM_ERR_NOT_ALLOCATED);
    }
    /* A destroyed pool took its containers with it. */
    *st = mem__pointer_pool_state(ptr);
    return *st != NULL ? c : NULL;
}

MemoryContainer* mem__container_of(const MemoryPointer* ptr) {
    struct mem__pool_state* st;
    return mem__container_and_state_of(ptr, &st);
}

#if MEM__DEBUG && MEM_THREAD_SAFE
/* Shares of one handle may overlap each other, so they count in the flags' high byte;
 * any other call marks IN_CALL. Seq-cst read-modify-writes: of two threads entering
 * conflicting calls at once, at least one sees the other. */
#define SHARE_ONE ((uint16_t)0x100)

static bool misuse(const MemoryPointer* ptr) {
    mem__log(MEM_LOG_ERROR, "pointer \"%.*s\" used by two threads at once (a handle has one user at a time)",
             (int)sizeof ptr->name, ptr->name);
    return mem__fail(MEM_ERR_WRONG_THREAD);
}

bool mem__handle_enter(MemoryPointer* ptr, bool sharing) {
    if (sharing) {
        uint16_t before = mem__atomic_fetch_add_seq_cst(&ptr->flags, SHARE_ONE);
        if (before & MEM__POINTER_IN_CALL) {
            mem__atomic_fetch_sub_seq_cst(&ptr->flags, SHARE_ONE);
            return misuse(ptr);
        }
        return true;
    }
    uint16_t before = mem__atomic_fetch_or_seq_cst(&ptr->flags, (uint16_t)MEM__POINTER_IN_CALL);
    if (before & (MEM__POINTER_IN_CALL | (uint16_t)~(uint16_t)(SHARE_ONE - 1))) {
        if (!(before & MEM__POINTER_IN_CALL)) {
            mem__atomic_fetch_and_seq_cst(&ptr->flags, (uint16_t)~MEM__POINTER_IN_CALL);
        }
        return misuse(ptr);
    }
    return true;
}

void mem__handle_leave(MemoryPointer* ptr, bool sharing) {
    if (sharing) {
        mem__atomic_fetch_sub_seq_cst(&ptr->flags, SHARE_ONE);
    } else {
        mem__atomic_fetch_and_seq_cst(&ptr->flags, (uint16_t)~MEM__POINTER_IN_CALL);
    }
}
#endif

MemoryPointer* mem__carrier_new(MemoryContainer* c) {
    MemoryPointer* carrier = mem__object_alloc(&mem__handle_kind);
    if (carrier != NULL) {
        mem__track_allow_undefined(carrier, MEM__HANDLE_PUBLIC_BYTES);
        mem__track_block_created(carrier, sizeof *carrier); /* freed as handles are */
        mem__atomic_store_relaxed(&carrier->pool, (MemoryPool*)NULL);
        mem__atomic_store_relaxed(&carrier->flags, (uint16_t)0);
        carrier->name[0] = '\0';
        mem__atomic_store_relaxed(&carrier->container, (MemoryContainer*)mem__carrier_encode(c));
        mem__atomic_store_release(&carrier->magic, MEM__CARRIER_MAGIC);
    }
    return carrier;
}
