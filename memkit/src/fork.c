/*
 * fork.c - fork safety. A thread that forks while another holds one of the library's
 * locks would leave the child a lock nobody releases, and the child's next call on
 * that pool (or its next malloc through mem_malloc) would hang. So, once a pool
 * exists, every lock of the library is held across fork (in the order the library
 * takes them: the fork guard, the set of live pools, each pool's snapshot lock and
 * mutex, then the leaf locks) and released in parent and child, as glibc's malloc
 * does with its arenas; every pool's caches are frozen meanwhile, as for a snapshot,
 * so no thread is halfway through changing one. The default pool is made under the
 * fork guard, so a fork waits for it to be made.
 *
 * What the child inherits: its own thread's cache, consistent (the forking thread
 * was not inside the library); the caches of the threads that did not come along,
 * whose blocks the child may still free (they wait on those caches' remote lists);
 * their owner sections are ended so the child's snapshots do not wait for them.
 */
#include "internal.h"

mem__mutex mem__fork_guard = MEM__MUTEX_INITIALIZER;

#if MEM_THREAD_SAFE /* the single-threaded build holds nothing across fork: single_thread.c */

/* Every live pool's locks, in the order the library takes them (its snapshot mutex,
 * its mutex), and every one of its caches frozen: no thread is inside an owner
 * section of them while fork copies them, so the child gets every cache consistent,
 * those of lost threads too. The live set's lock is held from here to unlock_all. */
static void lock_pools(void) {
    mem__live_pools_lock();
    for (struct mem__pool_state* st = mem__live_pools_first(); st != NULL; st = st->live_next) {
        mem__mutex_lock(&st->snapshot_mutex);
        mem__pool_lock(st);
        mem__freeze_all(st);
    }
}

static void unlock_pools(void) {
    for (struct mem__pool_state* st = mem__live_pools_first(); st != NULL; st = st->live_next) {
        mem__thaw_all(st);
        mem__pool_unlock(st);
        mem__mutex_unlock(&st->snapshot_mutex);
    }
    mem__live_pools_unlock();
}

static void lock_all(void) {
    mem__mutex_lock(&mem__fork_guard);
    lock_pools();
    mem__mutex_lock(&mem__handle_kind.mutex);
    mem__mutex_lock(&mem__arena_kind.mutex);
    mem__thread_states_lock();
    mem__page_table_lock();
}

static void unlock_all(void) {
    mem__page_table_unlock();
    mem__thread_states_unlock();
    mem__mutex_unlock(&mem__arena_kind.mutex);
    mem__mutex_unlock(&mem__handle_kind.mutex);
    unlock_pools();
    mem__mutex_unlock(&mem__fork_guard);
}

/* A thread that did not come along into the child may have been inside an owner
 * section (seq odd): end it, or the child's first snapshot would wait for it forever. */
static void end_section_of_lost_thread(mem__thread_state* ts, void* self) {
    uint64_t seq = mem__atomic_load_relaxed(&ts->seq);
    if (ts != self && (seq & 1u) != 0) {
        mem__atomic_store_release(&ts->seq, seq + 1);
    }
}

static void unlock_all_in_child(void) {
    mem__states_for_each(end_section_of_lost_thread, mem__current_state);
    unlock_all();
}

static void install_once(void) {
    if (pthread_atfork(lock_all, unlock_all, unlock_all_in_child) != 0) {
        mem__log(MEM_LOG_WARNING, "pthread_atfork failed: a fork while another thread allocates may hang the child");
    }
}

void mem__fork_handlers_install(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, install_once);
}

#endif
