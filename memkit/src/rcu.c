/*
 * rcu.c - RCU-protected publication of pointer data on liburcu's "bp" (bulletproof)
 * flavor: readers register themselves lazily inside liburcu, so callers never call
 * a registration function, and thread exit unregisters them. The writer copies into
 * a fresh container, publishes it with a release store, and the replaced container's
 * reference is dropped after a grace period by call_rcu. Nothing here ever waits for a
 * grace period from inside the caller's own read-side section. With MEM_THREAD_SAFE=0
 * there are no concurrent readers and the same calls act at once (single_thread.c).
 *
 * Containers made for publication are counted in `shared` only (merged from birth),
 * so a release after the grace period, on liburcu's callback thread, needs no owner
 * section; the one exception, the container a pointer held before its first publish,
 * has its reference carried back to its owner by the release record itself.
 */
#include "hot.h"

#if MEM_THREAD_SAFE /* the single-threaded build's versions: single_thread.c (its section primitives: below) */
#include <urcu-bp.h>

/* ThreadSanitizer does not see liburcu's grace periods; these annotations state the
 * order RCU guarantees: every read-side section ends before the release it delays. */
#if defined(__SANITIZE_THREAD__)
#define MEM__TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define MEM__TSAN 1
#endif
#endif
#ifdef MEM__TSAN
void __tsan_acquire(void* address);
void __tsan_release(void* address);
static char grace_period_token, barrier_token;
#define tsan_reader_done() __tsan_release(&grace_period_token)
#define tsan_grace_period_over() __tsan_acquire(&grace_period_token)
#define tsan_callback_done() __tsan_release(&barrier_token)
#define tsan_barrier_passed() __tsan_acquire(&barrier_token)
#else
#define tsan_reader_done() ((void)0)
#define tsan_grace_period_over() ((void)0)
#define tsan_callback_done() ((void)0)
#define tsan_barrier_passed() ((void)0)
#endif

struct mem__rcu_record {
    mem__carried_ref carried; /* first: it may travel on the owner's remote list */
    struct rcu_head head;
    struct mem__pool_state* pool; /* whose rcu_pending counts this release */
    bool local;                   /* the dropped reference is counted by the container's owner */
};

/* Releases deferred and not run yet, in the whole process (each pool counts its own
 * in rcu_pending too): mem_rcu_barrier waits only when there are any. */
static mem__atomic(uint64_t) releases_pending;

static void release_after_grace_period(struct rcu_head* head) {
    mem__rcu_record* deferred = caa_container_of(head, mem__rcu_record, head);
    struct mem__pool_state* st = deferred->pool; /* read now: the record goes below */
    tsan_grace_period_over();
    /* Acquire: pairs with the release in mem__rcu_defer(); the request crossed threads inside
     * liburcu's queue, which sanitizers cannot see. */
    MemoryContainer* c = __atomic_load_n(&deferred->carried.container, __ATOMIC_ACQUIRE);
    if (deferred->local) {
        /* The owner counts this reference: the record carries it back (and the owner
         * frees the record). */
        mem__remote_push(mem__atomic_load_acquire(&mem__page_of(c)->cache), deferred, MEM__REMOTE_RECORD);
    } else {
        mem__ref_drop_shared(c);
        mem__sys_free(deferred);
    }
    tsan_callback_done();
    /* Release (acq_rel), and the last touch of the pool: a destroy that reads 0 (acquire, in
     * mem__rcu_wait_for_releases) sees this release's work done and may free the pool
     * at once. Then the process's count, the callback's last touch of the library. */
    mem__atomic_fetch_sub_acq_rel(&st->rcu_pending, 1);
    mem__atomic_fetch_sub_acq_rel(&releases_pending, 1);
}

void mem__rcu_defer(mem__rcu_record* deferred, struct mem__pool_state* st, MemoryContainer* c, bool local) {
    mem__atomic_store_relaxed(&st->rcu_used, true);
    /* Relaxed: call_rcu below hands the record over with liburcu's barriers, so the
     * callback's decrement follows this increment; a destroy reads it after its
     * caller's own synchronization with this thread (no other thread uses the pool). */
    mem__atomic_fetch_add_relaxed(&st->rcu_pending, 1);
    mem__atomic_fetch_add_relaxed(&releases_pending, 1);
    deferred->pool = st;
    deferred->local = local;
    __atomic_store_n(&deferred->carried.container, c, __ATOMIC_RELEASE);
    call_rcu(&deferred->head, release_after_grace_period);
}

mem__rcu_record* mem__rcu_record_new(void) {
    mem__rcu_record* record = mem__sys_alloc(sizeof(mem__rcu_record));
    if (record == NULL) {
        mem__out_of_memory(sizeof(mem__rcu_record));
    }
    return record;
}

bool mem__rcu_in_read_section(void) { return rcu_read_ongoing() != 0; }

/* ---- fork: liburcu-bp leaves it to its user. A child that does not get its help
 * inherits the call_rcu worker's queue but not the worker (its first wait for
 * deferred releases never ends), and the reader slots of threads that did not come
 * along (a grace period would wait for readers that no longer exist). */

/* Whether the prepare handler paused liburcu (the child inherits the answer). */
static bool rcu_paused_for_fork;
/* In a child forked without that pause: liburcu cannot end a grace period or run a
 * deferred release here, so nothing may wait for one (waits are refused instead). */
static bool rcu_lost_in_fork;

static void rcu_before_fork(void) {
    /* A fork inside the forking thread's own read-side section cannot pause the
     * worker, which may be waiting for that very section to end: liburcu is left as
     * it is (docs/malloc.md, "Fork"). */
    rcu_paused_for_fork = !rcu_read_ongoing();
    if (rcu_paused_for_fork) {
        call_rcu_before_fork(); /* first: the worker's grace periods take the lock below */
        urcu_bp_before_fork();
    }
}

static void rcu_after_fork_parent(void) {
    if (rcu_paused_for_fork) {
        urcu_bp_after_fork_parent();
        call_rcu_after_fork_parent();
    }
}

static void rcu_after_fork_child(void) {
    if (rcu_paused_for_fork) {
        urcu_bp_after_fork_child(); /* drops the reader slots of the threads left behind */
        call_rcu_after_fork_child(); /* a new worker, with the queue the old one had */
    } else {
        rcu_lost_in_fork = true;
    }
}

static void rcu_install_fork_handlers_once(void) {
    if (pthread_atfork(rcu_before_fork, rcu_after_fork_parent, rcu_after_fork_child) != 0) {
        mem__log(MEM_LOG_WARNING, "pthread_atfork failed: a forked child may hang waiting for RCU releases");
    }
}

void mem__rcu_fork_handlers_install(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, rcu_install_fork_handlers_once);
}

bool mem__rcu_drop_deferred(const MemoryPointer* ptr, struct mem__pool_state* st, MemoryContainer* c) {
    (void)ptr; /* a published pointer's reference is counted in `shared` */
    mem__rcu_record* deferred = mem__sys_alloc(sizeof(mem__rcu_record));
    if (deferred != NULL) {
        mem__rcu_defer(deferred, st, c, false);
        return true;
    }
    if (mem__rcu_in_read_section() || rcu_lost_in_fork) {
        /* Waiting for readers here would wait for the caller itself (or forever). */
        mem__out_of_memory(sizeof(mem__rcu_record));
        return false;
    }
    /* No memory to defer: tell the handler, then wait for the readers here. */
    mem__out_of_memory_absorbed(sizeof(mem__rcu_record));
    synchronize_rcu();
    tsan_grace_period_over();
    mem__ref_drop_shared(c);
    return true;
}

bool mem__rcu_wait_for_releases(struct mem__pool_state* st) {
    if (mem__rcu_in_read_section()) {
        mem__log(MEM_LOG_WARNING, "waiting for RCU releases inside a read-side section would never end");
        return mem__fail(MEM_ERR_IN_READ_SECTION);
    }
    if (rcu_lost_in_fork) {
        mem__log(MEM_LOG_WARNING, "this process was forked inside a read-side section: RCU releases cannot be "
                                  "waited for here");
        return mem__fail(MEM_ERR_IN_READ_SECTION);
    }
    /* Acquire: pairs with the callbacks' release decrements. liburcu's worker sleeps
     * 10 ms before each batch and its barrier waits for every reader of every pool, so
     * with nothing of `st`'s (or, NULL, nothing at all) pending there is no wait. */
    if (mem__atomic_load_acquire(st != NULL ? &st->rcu_pending : &releases_pending) != 0) {
        rcu_barrier();
        tsan_barrier_passed();
    }
    return true;
}

static inline void urcu_section_enter(void) { rcu_read_lock(); }

static inline void urcu_section_leave(void) {
    tsan_reader_done();
    rcu_read_unlock();
}

#else
/* No concurrent readers in the single-threaded build: a section is only counted. */
static inline void urcu_section_enter(void) {}
static inline void urcu_section_leave(void) {}
#endif

/* The calling thread's sections entered through the library and not left: liburcu
 * keeps no guard, and one unlock too many drives its nesting count below zero (or, on
 * a thread that never locked, dereferences its unset reader). Counted here rather
 * than asked of liburcu (rcu_read_ongoing), which would be one more call per
 * section; in both builds, so that an unbalanced unlock gets the same answer. */
static mem__thread_local unsigned long read_depth;

void mem__rcu_read_enter(void) {
    urcu_section_enter();
    read_depth++;
}

bool mem__rcu_read_leave(void) {
    if (mem__unlikely(read_depth == 0)) {
        return false;
    }
    read_depth--;
    urcu_section_leave();
    return true;
}

const void* mem_pointer_read_lock(const MemoryPointer* ptr, size_t* size) {
    mem__rcu_read_enter();
    const MemoryContainer* c = mem__container_of(ptr);
    if (c == NULL) {
        (void)mem__rcu_read_leave();
        return NULL;
    }
    if (size != NULL) {
        *size = c->size;
    }
    return c->data;
}

void mem_pointer_read_unlock(const MemoryPointer* ptr) {
    (void)ptr;
    if (!mem__rcu_read_leave()) {
        mem__set_error(MEM_ERR_NOT_IN_READ_SECTION);
        mem__log(MEM_LOG_WARNING, "mem_pointer_read_unlock without a matching mem_pointer_read_lock: refused");
    }
}

bool mem_pointer_publish(MemoryPointer* ptr, const void* data, size_t size, MemoryPool* pool) {
    if (mem__pointer_check(ptr) == NULL) {
        return false;
    }
    if (data == NULL) {
        return mem__fail(MEM_ERR_NULL_ARGUMENT);
    }
    struct mem__pool_state* st = mem__pointer_pool(ptr, pool);
    if (st == NULL || !mem__check_size(size)) {
        return false;
    }
    MemoryContainer* old = mem__atomic_load_relaxed(&ptr->container);
    uint16_t flags = mem__atomic_load_relaxed(&ptr->flags);
    /* Everything that can fail comes first: a failed publish changes nothing, and no
     * release ever needs to wait for readers. */
    mem__rcu_record* deferred = NULL;
    if (old != NULL && (deferred = mem__rcu_record_new()) == NULL) {
        return false;
    }
    bool local;
    MemoryContainer* fresh = mem__container_obtain(st, mem__size_class(size), size, MEM__BIRTH_SHARED, &local);
    if (fresh == NULL) {
        mem__sys_free(deferred);
        return false;
    }
    memcpy(fresh->data, data, size);
    if (!(flags & MEM__POINTER_PUBLISHED)) {
        /* First publish: from now on shares take their reference inside a read-side
         * section. Shares that read the flag before it was set run inside their
         * thread's section; wait for those before replacing the container. */
        mem__atomic_store_relaxed(&ptr->pool, pool);
        mem__atomic_store_relaxed(&ptr->generation, st->generation);
        mem__handle_set_flags(ptr, MEM__POINTER_PUBLISHED, 0);
        mem__wait_for_sections();
    }
    mem__handle_set_flags(ptr, 0, MEM__POINTER_LOCAL_REF);
    /* Release: readers that load the new container see its bytes. */
    mem__atomic_store_release(&ptr->container, fresh);
    if (old != NULL) {
        mem__rcu_defer(deferred, st, old, (flags & MEM__POINTER_LOCAL_REF) != 0);
    }
    return true;
}

void mem_rcu_barrier(void) { (void)mem__rcu_wait_for_releases(NULL); }
