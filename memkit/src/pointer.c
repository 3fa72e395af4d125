/*
 * pointer.c - MemoryPointer operations: create, allocate, share, copy-on-write,
 * destroy and accessors. Thread rules (memkit/pointer.h): a container may be shared
 * by handles used on different threads; a handle has one user at a time, except that
 * shares and reads of a published pointer may come from any thread (rcu.c).
 *
 * A handle's reference is counted where the container's owner counts it when the
 * handle was made on the owner's thread (LOCAL_REF), else in the shared count
 * (refcount.c). A handle holding an owner-counted reference that is destroyed on
 * another thread becomes the carrier that takes the reference back to the owner.
 */
#include "hot.h"

/* mem_pointer_create and mem_pointer_create_n, every case (create below takes the
 * common one). */
static mem__noinline MemoryPointer* create_general(mem__name name, size_t size) {
    if (name.text == NULL) {
        return mem__fail_null(MEM_ERR_NULL_ARGUMENT);
    }
    if (size > MEM_MAX_ALLOCATION) {
        return mem__fail_null(MEM_ERR_SIZE_OVERFLOW);
    }
    return mem__handle_new(name);
}

/* mem_pointer_create and mem_pointer_create_n, inline in each (when optimising) so
 * that each copies its kind of name without testing which kind it has: the common
 * case, a thread whose handle heap holds more than its quarantine, with no stack
 * frame; everything else tail-calls create_general. */
static mem__inline_specialised MemoryPointer* create(mem__name name, size_t size) {
    mem__thread_state* ts = mem__current_state;
    if (mem__unlikely(ts == NULL || name.text == NULL || size > MEM_MAX_ALLOCATION ||
                      !mem__object_heap_past_quarantine(&ts->heaps[MEM__HEAP_HANDLES]))) {
        return create_general(name, size);
    }
    return mem__handle_make_live(ts, mem__object_pop_past_quarantine(&ts->heaps[MEM__HEAP_HANDLES]), name, NULL, 0,
                                 NULL, 0);
}

MemoryPointer*(mem_pointer_create)(const char* name, size_t size) {
    return create((mem__name){name, MEM__NAME_TERMINATED}, size);
}

MemoryPointer* mem_pointer_create_n(const char* name, size_t length, size_t size) {
    return create((mem__name){name, length}, size);
}

/* Points `ptr` at `c` of `pool` (st); `local` tells where its reference is counted. */
static inline void attach(MemoryPointer* ptr, MemoryPool* pool, const struct mem__pool_state* st, MemoryContainer* c,
                   bool local) {
    mem__handle_set_flags(ptr, local ? MEM__POINTER_LOCAL_REF : 0, local ? 0 : MEM__POINTER_LOCAL_REF);
    mem__atomic_store_relaxed(&ptr->pool, pool);
    mem__atomic_store_relaxed(&ptr->generation, st->generation);
    /* Release: whoever loads the container sees the fields above and its contents. */
    mem__atomic_store_release(&ptr->container, c);
}

/* mem_pointer_allocate once its checks passed (a live, empty handle, `st` the live
 * state of `pool`, a size in range) and the thread's queued page had no block to hand
 * out inline, not even its last (allocate_taking_last tried): a block the general way. */
static mem__noinline bool allocate_obtaining(MemoryPointer* ptr, size_t size, MemoryPool* pool,
                                             struct mem__pool_state* st) {
    if (!mem__handle_enter(ptr, false)) {
        return false;
    }
    bool local;
    MemoryContainer* c = mem__container_obtain_general(st, mem__size_class(size), size, MEM__BIRTH_OWNED, &local);
    if (c != NULL) {
        attach(ptr, pool, st, c, local);
    }
    mem__handle_leave(ptr, false);
    return c != NULL;
}

static mem__noinline bool allocate_taking_last(MemoryPointer* ptr, size_t size, MemoryPool* pool,
                                               struct mem__pool_state* st);

/* mem_pointer_allocate once its checks passed, inline: a block of the thread's queued
 * page of the class, its last one too when `take_last` (which moves the page among
 * the full ones). Without one, a tail call: allocate_taking_last, or (`take_last`)
 * allocate_obtaining. */
static mem__always_inline bool allocate_queued(MemoryPointer* ptr, size_t size, MemoryPool* pool,
                                               struct mem__pool_state* st, bool take_last) {
    if (!mem__handle_enter(ptr, false)) {
        return false;
    }
    MemoryContainer* c = mem__container_take_inline(st, mem__size_class(size), size, MEM__BIRTH_OWNED, take_last);
    if (mem__unlikely(c == NULL)) {
        mem__handle_leave(ptr, false);
        return take_last ? allocate_obtaining(ptr, size, pool, st) : allocate_taking_last(ptr, size, pool, st);
    }
    attach(ptr, pool, st, c, true);
    mem__handle_leave(ptr, false);
    return true;
}

/* The queued page's last block, taken with nothing called but in tail position (so no
 * stack frame): under random replacement of objects of one size class a page gets
 * blocks back one at a time, and allocations take its last one often. */
static mem__noinline bool allocate_taking_last(MemoryPointer* ptr, size_t size, MemoryPool* pool,
                                               struct mem__pool_state* st) {
    return allocate_queued(ptr, size, pool, st, true);
}

/* mem_pointer_allocate, every case (the function below takes the common one). */
static mem__noinline bool allocate_general(MemoryPointer* ptr, size_t size, MemoryPool* pool) {
    if (mem__pointer_check(ptr) == NULL) {
        return false;
    }
    struct mem__pool_state* st = mem__pool_state_of(pool);
    if (st == NULL || !mem__check_size(size)) {
        return false;
    }
    if (mem__atomic_load_relaxed(&ptr->container) != NULL) {
        return mem__fail(mem__pointer_pool_state(ptr) != NULL ? MEM_ERR_ALREADY_ALLOCATED : MEM_ERR_INVALID_POOL);
    }
    return allocate_obtaining(ptr, size, pool, st);
}

/* The common case inline, with no stack frame: a live, empty handle, a live pool, a
 * size in range, and a free block of a queued page of the thread's cache for the pool
 * (allocate_queued). A failed check (errors included) tail-calls allocate_general,
 * which makes the same checks; a queued page with no block to hand out inline,
 * allocate_taking_last, which does not make them again. */
bool mem_pointer_allocate(MemoryPointer* ptr, size_t size, MemoryPool* pool) {
    /* Acquire (magic): pairs with the release store that made the handle live. */
    if (mem__unlikely(ptr == NULL || pool == NULL || size - 1 >= MEM_MAX_ALLOCATION ||
                      mem__atomic_load_acquire(&ptr->magic) != MEM__POINTER_MAGIC ||
                      mem__atomic_load_relaxed(&ptr->container) != NULL)) {
        return allocate_general(ptr, size, pool);
    }
    struct mem__pool_state* st = mem__pool_state_live(pool);
    if (mem__unlikely(st == NULL)) {
        return allocate_general(ptr, size, pool);
    }
    return allocate_queued(ptr, size, pool, st, false);
}

/* Drops `ptr`'s reference to `c` of `st` now (not deferred); `carrier`, when the
 * reference is the owner's to count and this is not the owner's thread, takes it
 * there. */
static void drop_now(MemoryPointer* carrier, const struct mem__pool_state* st, MemoryContainer* c, bool local_ref) {
    if (carrier != NULL) {
        mem__remote_push(mem__atomic_load_acquire(&mem__page_of(c)->cache), carrier, MEM__REMOTE_CARRIER);
    } else if (local_ref) {
        mem__ref_drop_local(st, c);
    } else {
        mem__ref_drop_shared(c);
    }
}

/* True when dropping a reference counted as `local_ref` needs a carrier here. */
static bool needs_carrier(const MemoryContainer* c, bool local_ref) { return local_ref && !mem__ref_is_owner(c); }

/* mem_pointer_destroy when `pool` is not the handle's live pool: a handle whose pool
 * is gone (or was set up again) is destroyed, its container went with the pool; any
 * other mismatch is refused with its error. */
static bool destroy_mismatched(MemoryPointer* ptr, MemoryPool* pool) {
    if (mem__pointer_pool_state(ptr) == NULL) {
        mem__handle_release(ptr);
        return true;
    }
    (void)mem__pointer_pool(ptr, pool); /* sets the error */
    return false;
}

/* Destroys a published pointer: its reference goes after a grace period. */
static bool destroy_published(MemoryPointer* ptr, struct mem__pool_state* st, MemoryContainer* c) {
    if (!mem__rcu_drop_deferred(ptr, st, c)) {
        mem__handle_leave(ptr, false);
        return false;
    }
    mem__handle_release(ptr);
    return true;
}

/* The handle itself takes its owner-counted reference back to the owner, which frees
 * it; meanwhile its container field is poisoned (see remote.c). */
static void destroy_as_carrier(MemoryPointer* ptr, MemoryContainer* c) {
    mem__atomic_store_release(&ptr->magic, MEM__POINTER_MAGIC_DEAD);
    mem__atomic_store_relaxed(&ptr->pool, (MemoryPool*)NULL);
    mem__atomic_store_relaxed(&ptr->flags, (uint16_t)0);
    mem__atomic_store_relaxed(&ptr->container, (MemoryContainer*)mem__carrier_encode(c));
    mem__remote_push(mem__atomic_load_acquire(&mem__page_of(c)->cache), ptr, MEM__REMOTE_CARRIER);
}

/* mem_pointer_destroy, every case (the function below takes the common one). */
static mem__noinline bool destroy_general(MemoryPointer* ptr, MemoryPool* pool) {
    if (mem__pointer_check(ptr) == NULL) {
        return false;
    }
    MemoryContainer* c = mem__atomic_load_relaxed(&ptr->container);
    if (c == NULL) {
        mem__handle_release(ptr); /* never allocated: any pool, or none, will do */
        return true;
    }
    struct mem__pool_state* st =
        pool != NULL && pool == mem__atomic_load_relaxed(&ptr->pool)
            ? mem__pool_state_matching(pool, mem__atomic_load_relaxed(&ptr->generation))
            : NULL;
    if (mem__unlikely(st == NULL)) {
        return destroy_mismatched(ptr, pool);
    }
    if (!mem__handle_enter(ptr, false)) {
        return false;
    }
    uint16_t flags = mem__atomic_load_relaxed(&ptr->flags);
    if (mem__unlikely(flags & MEM__POINTER_PUBLISHED)) {
        return destroy_published(ptr, st, c);
    }
    if (flags & MEM__POINTER_LOCAL_REF) {
        if (mem__unlikely(!mem__ref_is_owner(c))) {
            destroy_as_carrier(ptr, c);
            return true;
        }
        mem__ref_drop_local(st, c);
    } else {
        mem__ref_drop_shared(c);
    }
    mem__handle_release(ptr);
    return true;
}

/* The fast paths' common step: true, inside the owner section (*section) of the
 * calling thread's (`ts`) last cache, when `pool` lives with `generation`, `ts` owns
 * `c`, a container of it, and that cache holds `c` and is not frozen by a snapshot;
 * else false, nothing changed. The container is read only once its pool is known to
 * live: a destroyed pool took it. */
static mem__always_inline bool enter_owned(mem__thread_state* ts, MemoryPool* pool, uint64_t generation,
                                           const MemoryContainer* c, mem__section* section) {
    struct mem__pool_state* st = mem__pool_state_matching(pool, generation);
    return st != NULL && c->owner == ts->index && mem__last_cache_holds(ts, st, c) &&
           mem__owner_try_enter(ts, ts->last_cache, section);
}

/* mem_pointer_destroy when `ptr` holds its container's last owner-counted reference
 * (mem_pointer_destroy's common case but for that; inside the owner section `section`
 * of `cache`): the handle goes first, into its heap, which has room, then the
 * reference (mem__ref_drop_local_in). Out of line, so that the common destroy does
 * not grow by it. */
static mem__noinline void destroy_owned_last(mem__thread_state* ts, mem__section section, mem__cache* cache,
                                             MemoryPointer* ptr, MemoryContainer* c) {
    mem__handle_release_within(ts, ptr);
    mem__ref_drop_local_in(ts, section, cache, c);
}

/* The common case inline, with no stack frame: a live, unpublished handle made on this
 * thread, destroyed on it with its live pool, holding a reference its owner (this
 * thread) counts, the pool's cache the thread's last, no snapshot holding it, and room
 * in the thread's handle heap. Everything else (errors included) tail-calls
 * destroy_general before changing anything. */
bool mem_pointer_destroy(MemoryPointer* ptr, MemoryPool* pool) {
    mem__thread_state* ts = mem__current_state;
    /* Acquire (magic): pairs with the release store that made the handle live. */
    if (mem__unlikely(ptr == NULL || ts == NULL || mem__atomic_load_acquire(&ptr->magic) != MEM__POINTER_MAGIC)) {
        return destroy_general(ptr, pool);
    }
    MemoryContainer* c = mem__atomic_load_relaxed(&ptr->container);
    uint16_t flags = mem__atomic_load_relaxed(&ptr->flags);
    if (mem__unlikely(c == NULL || pool == NULL || pool != mem__atomic_load_relaxed(&ptr->pool) ||
                      (flags & (MEM__POINTER_PUBLISHED | MEM__POINTER_LOCAL_REF)) != MEM__POINTER_LOCAL_REF ||
                      mem__object_owner(ptr) != ts->index || mem__object_heap_full(&ts->heaps[MEM__HEAP_HANDLES]))) {
        return destroy_general(ptr, pool);
    }
    mem__section section;
    if (mem__unlikely(!enter_owned(ts, pool, mem__atomic_load_relaxed(&ptr->generation), c, &section))) {
        return destroy_general(ptr, pool);
    }
    mem__cache* cache = ts->last_cache;
    if (!mem__handle_enter(ptr, false)) {
        mem__owner_leave(ts, section);
        return false;
    }
    uint32_t count = mem__atomic_load_relaxed(&c->refcount);
    if (mem__unlikely(count <= 1)) {
        destroy_owned_last(ts, section, cache, ptr, c);
        return true;
    }
    mem__ref_drop_local_not_last(c, count);
    mem__owner_leave(ts, section);
    mem__handle_release_within(ts, ptr);
    return true;
}

/* Adds a reference to `src`'s container for a new handle (`ts`: the calling thread's
 * state, or NULL), safe against a first publish
 * running on another thread: a share that sees the pointer unpublished runs inside
 * the thread's section, which that publish waits for before replacing the container. */
static mem__always_inline MemoryContainer* share_reference(mem__thread_state* ts, const struct mem__pool_state* st,
                                                           const MemoryPointer* src, bool* local) {
    MemoryContainer* c = mem__atomic_load_acquire(&src->container);
    bool owner = ts != NULL && c->owner == ts->index;
    mem__cache* cache = owner ? mem__owned_cache(ts, st, c) : NULL;
    if (ts != NULL) {
        mem__section section = cache != NULL ? mem__owner_enter(ts, cache) : mem__section_enter(ts);
        if (!(mem__atomic_load_relaxed(&src->flags) & MEM__POINTER_PUBLISHED)) {
            bool added = mem__ref_add_held(c, owner, local);
            mem__owner_leave(ts, section);
            return added ? c : NULL;
        }
        mem__owner_leave(ts, section);
    }
    /* Published (or no thread state): inside an RCU read-side section, where the
     * container cannot be released under us whatever a writer publishes. */
    mem__rcu_read_enter();
    c = mem__atomic_load_acquire(&src->container);
    bool added = mem__ref_add(c, local);
    (void)mem__rcu_read_leave();
    return added ? c : NULL;
}

/* mem_pointer_share and mem_pointer_share_n, every case (share below takes the
 * common one). */
static mem__noinline MemoryPointer* share_general(const MemoryPointer* src, mem__name name) {
    struct mem__pool_state* st;
    if (mem__container_of_live(src, &st) == NULL) {
        return NULL;
    }
    if (name.text == NULL) {
        return mem__fail_null(MEM_ERR_NULL_ARGUMENT);
    }
    MemoryPointer* source = (MemoryPointer*)src;
    if (!mem__handle_enter(source, true)) {
        return NULL;
    }
    mem__thread_state* ts = mem__this_thread();
    /* The source's pool and generation: a live source's stay as they are while it is
     * shared (a publish keeps its pool). */
    MemoryPointer* handle = mem__handle_new_on(ts, name, mem__atomic_load_relaxed(&src->pool),
                                               mem__atomic_load_relaxed(&src->generation));
    bool local = false;
    MemoryContainer* c = handle != NULL ? share_reference(ts, st, src, &local) : NULL;
    if (c != NULL) {
        /* A plain store: no other thread knows the new handle yet. */
        mem__atomic_store_relaxed(&handle->flags, (uint16_t)(local ? MEM__POINTER_LOCAL_REF : 0));
        mem__atomic_store_release(&handle->container, c);
    } else if (handle != NULL) {
        mem__handle_release(handle);
        handle = NULL;
    }
    mem__handle_leave(source, true);
    return handle;
}

/* mem_pointer_share and mem_pointer_share_n, inline in each as create is: the common
 * case with no stack frame. A live, unpublished source on the thread that owns its
 * container, with its live pool, whose cache is the thread's last and held by no
 * snapshot, a count the owner may add to, and a handle past the quarantine in the
 * thread's heap: the reference is counted inside the owner section, then the new
 * handle made. Everything else (errors included) tail-calls share_general before
 * changing anything. */
static mem__inline_specialised MemoryPointer* share(const MemoryPointer* src, mem__name name) {
    mem__thread_state* ts = mem__current_state;
    /* Acquire (magic): pairs with the release store that made the handle live. */
    if (mem__unlikely(src == NULL || ts == NULL || name.text == NULL ||
                      mem__atomic_load_acquire(&src->magic) != MEM__POINTER_MAGIC)) {
        return share_general(src, name);
    }
    /* Acquire: pairs with the release store that published the container. */
    MemoryContainer* c = mem__atomic_load_acquire(&src->container);
    MemoryPool* pool = mem__atomic_load_relaxed(&src->pool);
    mem__object_heap* heap = &ts->heaps[MEM__HEAP_HANDLES];
    if (mem__unlikely(c == NULL || pool == NULL || !mem__object_heap_past_quarantine(heap))) {
        return share_general(src, name);
    }
    uint64_t generation = mem__atomic_load_relaxed(&src->generation);
    mem__section section;
    if (mem__unlikely(!enter_owned(ts, pool, generation, c, &section))) {
        return share_general(src, name);
    }
    /* Unpublished, seen inside the section: a first publish waits for the section
     * before it replaces the container (share_reference). */
    if (mem__unlikely(mem__atomic_load_relaxed(&src->flags) & MEM__POINTER_PUBLISHED)) {
        mem__owner_leave(ts, section);
        return share_general(src, name);
    }
    MemoryPointer* source = (MemoryPointer*)src;
    if (!mem__handle_enter(source, true)) {
        mem__owner_leave(ts, section);
        return NULL;
    }
    /* Merged or at the limit, the count is not the owner's to add to. */
    bool overflow = false;
    if (mem__unlikely(!mem__ref_add_local(c, &overflow))) {
        mem__handle_leave(source, true);
        mem__owner_leave(ts, section);
        return share_general(src, name);
    }
    mem__owner_leave(ts, section);
    MemoryPointer* handle = mem__handle_make_live(ts, mem__object_pop_past_quarantine(heap), name, pool, generation, c,
                                                  MEM__POINTER_LOCAL_REF);
    mem__handle_leave(source, true);
    return handle;
}

MemoryPointer*(mem_pointer_share)(const MemoryPointer* src, const char* name) {
    return share(src, (mem__name){name, MEM__NAME_TERMINATED});
}

MemoryPointer* mem_pointer_share_n(const MemoryPointer* src, const char* name, size_t length) {
    return share(src, (mem__name){name, length});
}

void* mem_pointer_write(MemoryPointer* ptr, MemoryPool* pool) {
    if (mem__pointer_check(ptr) == NULL) {
        return NULL;
    }
    struct mem__pool_state* st = mem__pointer_pool(ptr, pool);
    if (st == NULL) {
        return NULL;
    }
    MemoryContainer* c = mem__atomic_load_relaxed(&ptr->container);
    if (c == NULL) {
        return mem__fail_null(MEM_ERR_NOT_ALLOCATED);
    }
    uint16_t flags = mem__atomic_load_relaxed(&ptr->flags);
    if (flags & MEM__POINTER_PUBLISHED) {
        /* Readers may be inside its buffer: only mem_pointer_publish replaces it. */
        return mem__fail_null(MEM_ERR_PUBLISHED);
    }
    if (!mem__handle_enter(ptr, false)) {
        return NULL;
    }
    bool exclusive = mem__ref_total(c) == 1;
#ifdef MEM_FAULT_SKIP_COW
    exclusive = true; /* planted fault: the stress harness must catch it */
#endif
    if (exclusive) {
        mem__handle_leave(ptr, false);
        return c->data;
    }
    bool local_ref = (flags & MEM__POINTER_LOCAL_REF) != 0;
    MemoryPointer* carrier = NULL;
    if (needs_carrier(c, local_ref) && (carrier = mem__carrier_new(c)) == NULL) {
        mem__handle_leave(ptr, false);
        return NULL;
    }
    bool local;
    MemoryContainer* copy = mem__container_new(st, mem__size_class(c->size), c->size, MEM__BIRTH_OWNED, &local);
    if (copy == NULL) {
        if (carrier != NULL) {
            mem__handle_release(carrier);
        }
        mem__handle_leave(ptr, false);
        return NULL;
    }
    memcpy(copy->data, c->data, c->size);
    attach(ptr, mem__atomic_load_relaxed(&ptr->pool), st, copy, local);
    drop_now(carrier, st, c, local_ref);
    mem__handle_leave(ptr, false);
    return copy->data;
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
    return c != NULL ? mem__ref_total(c) : 0;
}

uint64_t mem_pointer_id(const MemoryPointer* ptr) {
    MemoryContainer* c = mem__container_of(ptr);
    return c != NULL ? mem__container_id(c) : 0;
}
