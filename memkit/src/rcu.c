/*
 * rcu.c - RCU-protected publication of pointer data on liburcu's "bp" (bulletproof)
 * flavor: readers register themselves lazily inside liburcu, so callers never call
 * a registration function, and thread exit unregisters them. The writer publishes
 * with a release store; the replaced container is released after a grace period
 * by call_rcu. With MEM_THREAD_SAFE=0 there are no concurrent readers and the same
 * calls act at once.
 */
#include "internal.h"

#if MEM_THREAD_SAFE
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

typedef struct deferred_release {
    struct rcu_head head;
    struct mem__pool_state* pool;
    MemoryContainer* container;
} deferred_release;

static void release_after_grace_period(struct rcu_head* head) {
    deferred_release* deferred = caa_container_of(head, deferred_release, head);
    tsan_grace_period_over();
    /* The acquire pairs with the release in mem__rcu_release_deferred: the request
     * crossed threads inside liburcu's queue, which sanitizers cannot see. */
    MemoryContainer* c = __atomic_load_n(&deferred->container, __ATOMIC_ACQUIRE);
    mem__container_unref(deferred->pool, c);
    mem__sys_free(deferred);
    tsan_callback_done();
}

void mem__rcu_release_deferred(struct mem__pool_state* st, MemoryContainer* c) {
    mem__atomic_store_relaxed(&st->rcu_used, true);
    deferred_release* deferred = mem__sys_alloc(sizeof *deferred);
    if (deferred == NULL) {
        /* No memory to defer: report it, then wait for the readers here instead. */
        mem__out_of_memory(sizeof *deferred);
        synchronize_rcu();
        tsan_grace_period_over();
        mem__container_unref(st, c);
        return;
    }
    deferred->pool = st;
    __atomic_store_n(&deferred->container, c, __ATOMIC_RELEASE);
    call_rcu(&deferred->head, release_after_grace_period);
}

void mem__rcu_wait_for_releases(void) {
    rcu_barrier();
    tsan_barrier_passed();
}

static void enter_read_section(void) { rcu_read_lock(); }

static void leave_read_section(void) {
    tsan_reader_done();
    rcu_read_unlock();
}

#else /* !MEM_THREAD_SAFE */

void mem__rcu_release_deferred(struct mem__pool_state* st, MemoryContainer* c) { mem__container_unref(st, c); }

void mem__rcu_wait_for_releases(void) {}

static void enter_read_section(void) {}

static void leave_read_section(void) {}

#endif

const void* mem_pointer_read_lock(const MemoryPointer* ptr, size_t* size) {
    enter_read_section();
    const MemoryContainer* c = mem__container_of(ptr);
    if (c == NULL) {
        leave_read_section();
        return NULL;
    }
    if (size != NULL) {
        *size = c->size;
    }
    return c->data;
}

void mem_pointer_read_unlock(const MemoryPointer* ptr) {
    (void)ptr;
    leave_read_section();
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
    MemoryContainer* old = ptr->container;
    MemoryContainer* fresh = mem__cache_obtain(st, size);
    if (fresh == NULL) {
        return false;
    }
    memcpy(fresh->data, data, size);
    if (old == NULL || !(ptr->flags & MEM__POINTER_PUBLISHED)) {
        /* First publish only: readers read these fields, so later publishes leave
         * them alone; the release store below orders them before the container. */
        ptr->pool = pool;
        ptr->flags |= MEM__POINTER_PUBLISHED;
    }
    mem__atomic_store_release(&ptr->container, fresh);
    if (old != NULL) {
        mem__rcu_release_deferred(st, old);
    }
    return true;
}

void mem_rcu_barrier(void) { mem__rcu_wait_for_releases(); }
