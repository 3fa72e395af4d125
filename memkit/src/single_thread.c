/*
 * single_thread.c - the single-threaded build (MEM_THREAD_SAFE=0): what the
 * thread-safe build does in thread_state.c (a state per thread, handed over at thread
 * exit), freeze.c (the owner-section / snapshot protocol), fork.c (locks held across
 * fork) and rcu.c (grace periods on liburcu), for a process with one thread: one
 * state, retired at process exit; nothing to freeze or wait for; nothing held across
 * fork; and a published pointer's replaced container released at once, since no
 * reader can be inside it. The thread-safe build compiles none of this file, and this
 * build none of those parts of the others.
 */
#include "hot.h"

#if !MEM_THREAD_SAFE

/* ---- the one thread's state (thread_state.c) */

mem__thread_state* mem__thread_state_create(void) {
    mem__thread_state* ts = mem__thread_state_acquire();
    mem__current_state = ts;
    return ts;
}

__attribute__((destructor)) static void release_process_state(void) {
    if (mem__current_state != NULL) {
        mem__thread_state_retire(mem__current_state);
    }
}

/* ---- no snapshot protocol: nothing runs beside the caller (freeze.c) */

bool mem__owner_fence_needed = false;

void mem__freeze_setup(void) {}
const char* mem__snapshot_barrier_name(void) { return "none (single-threaded build)"; }
void mem__freeze(mem__cache* cache) { (void)cache; }
bool mem__thaw(mem__cache* cache) {
    (void)cache;
    return false;
}
void mem__freeze_all(struct mem__pool_state* st) { (void)st; }
bool mem__thaw_all(struct mem__pool_state* st) {
    (void)st;
    return false;
}
void mem__snapshot_freeze(struct mem__pool_state* st, mem__cache* cache) {
    (void)st;
    (void)cache;
}
void mem__snapshot_thaw(struct mem__pool_state* st, mem__cache* cache) {
    (void)st;
    (void)cache;
}
void mem__snapshot_freeze_all(struct mem__pool_state* st) { mem__pool_lock(st); }
void mem__snapshot_thaw_all(struct mem__pool_state* st) { mem__pool_unlock(st); }
void mem__sections_fence(void) {}
void mem__wait_quiescent(mem__thread_state* ts) { (void)ts; }
bool mem__owner_enter_claimed(mem__thread_state* ts, mem__cache* cache, mem__section* section) {
    (void)ts;
    (void)cache;
    (void)section;
    return false; /* never claimed: mem__owner_try_enter always enters */
}
void mem__owner_wait(mem__cache* cache) { (void)cache; }
void mem__owner_wait_counted(mem__cache* cache) { (void)cache; }
void mem__thaw_for_adoption(mem__thread_state* ts) { mem__atomic_store_relaxed(&ts->retired, 0u); }

/* ---- nothing held across fork (fork.c) */

void mem__fork_handlers_install(void) {}

/* ---- RCU without readers beside the writer (rcu.c) */

/* Allocated all the same, so that a publish fails the same way in both builds. */
struct mem__rcu_record {
    MemoryContainer* container;
};

mem__rcu_record* mem__rcu_record_new(void) {
    mem__rcu_record* record = mem__sys_alloc(sizeof(mem__rcu_record));
    if (record == NULL) {
        mem__out_of_memory(sizeof(mem__rcu_record));
    }
    return record;
}

void mem__rcu_defer(mem__rcu_record* record, struct mem__pool_state* st, MemoryContainer* c, bool local) {
    mem__sys_free(record); /* no grace period here: the reference drops at once */
    if (local) {
        mem__ref_drop_local(st, c);
    } else {
        mem__ref_drop_shared(c);
    }
}

bool mem__rcu_in_read_section(void) { return false; }

void mem__rcu_fork_handlers_install(void) {}

bool mem__rcu_drop_deferred(const MemoryPointer* ptr, struct mem__pool_state* st, MemoryContainer* c) {
    (void)ptr;
    (void)st;
    mem__ref_drop_shared(c);
    return true;
}

bool mem__rcu_wait_for_releases(struct mem__pool_state* st) {
    (void)st;
    return true;
}

#endif /* !MEM_THREAD_SAFE */
