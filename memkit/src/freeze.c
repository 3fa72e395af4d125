/*
 * freeze.c - the asymmetric protocol that lets a cache's owner run without any lock
 * or atomic read-modify-write while snapshots (stats, validate, trim, pool destroy,
 * and collecting for an exited thread) still get exclusive access to it.
 *
 * Owner (mem__owner_enter in internal.h): store seq odd; [compiler barrier]; load
 * `frozen`; ...section...; store seq even.
 * Snapshot: lock the freeze mutex; store frozen = 1; heavy barrier; wait until the
 * owner's seq is even (or has changed since). It now owns the cache until it thaws.
 *
 * Why it is correct: this is Dekker's pattern with the owner's fence moved to the
 * snapshot side. membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) makes every running
 * thread of the process execute a full barrier, so after it returns either the owner
 * saw frozen = 1 (and goes to the mutex), or its odd seq is visible to the snapshot
 * (which waits for it). Where membarrier is unavailable (old kernels, seccomp
 * filters, or MEMKIT_MEMBARRIER=0 in the environment) the owner marks itself with a
 * sequentially consistent read-modify-write instead, against the snapshot's
 * sequentially consistent store and loads: slower for the owner, equally correct.
 * The mode is chosen once, before any thread runs an owner section.
 *
 * A frozen owner waits on the freeze mutex and runs its operation holding it; the
 * snapshot yields to a waiting owner when it thaws, so a snapshot looping over a
 * cache cannot starve its owner.
 */
#include "internal.h"

#if MEM_THREAD_SAFE
#include <linux/membarrier.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

bool mem__owner_fence_needed = true;
static bool membarrier_ready = false;
static pthread_once_t setup_once = PTHREAD_ONCE_INIT;

static int membarrier(int command) { return (int)syscall(__NR_membarrier, command, 0, 0); }

static void setup(void) {
    const char* setting = getenv("MEMKIT_MEMBARRIER");
    bool allowed = setting == NULL || strcmp(setting, "0") != 0;
    membarrier_ready = allowed && membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0;
    /* Published before any owner section runs: every thread reaches its first
     * section through mem__thread_state_create, which runs this once first. */
    mem__atomic_store_relaxed(&mem__owner_fence_needed, !membarrier_ready);
}

void mem__freeze_setup(void) { pthread_once(&setup_once, setup); }

/* After raising `frozen`: with membarrier, the owners' half of the fence. Without it
 * the owners use read-modify-writes and the sequentially consistent accesses of both
 * sides suffice. Once registered, membarrier does not fail; if it ever did, owners
 * that skip their fence would no longer be safe to snapshot, so the process stops
 * rather than read a cache an owner is changing. */
static void heavy_barrier(void) {
    if (membarrier_ready && membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0) {
        abort();
    }
}

/* Short spins, then yields: the thread we wait for may need our CPU. */
static void backoff(unsigned* round) {
    if (++*round < 64) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    } else {
        sched_yield();
    }
}

/* After the barrier: waits until `ts` is outside the section it may be inside. */
static void wait_quiescent(mem__thread_state* ts) {
    /* Acquire: the owner's release store of the even value makes its section's
     * accesses happen before ours. */
    uint64_t seq = mem__atomic_load_seq_cst(&ts->seq);
    unsigned round = 0;
    while ((seq & 1u) != 0 && mem__atomic_load_seq_cst(&ts->seq) == seq) {
        backoff(&round);
    }
}

static void raise_flag(mem__cache* cache) {
    mem__mutex_lock(&cache->freeze_mutex);
    mem__atomic_store_seq_cst(&cache->frozen, 1u);
}

void mem__freeze(mem__cache* cache) {
    mem__freeze_setup();
    raise_flag(cache);
    heavy_barrier();
    if (cache->state != NULL) {
        wait_quiescent(cache->state);
    }
}

void mem__thaw(mem__cache* cache) {
    /* Release: the owner's acquire load of `frozen` orders our accesses before its. */
    mem__atomic_store_release(&cache->frozen, 0u);
    mem__mutex_unlock(&cache->freeze_mutex);
    /* Let a waiting owner in before this thread can freeze the cache again. */
    unsigned round = 0;
    for (unsigned i = 0; i < 4096 && mem__atomic_load_acquire(&cache->owner_waiting) != 0; i++) {
        backoff(&round);
    }
}

void mem__freeze_all(struct mem__pool_state* st) {
    mem__freeze_setup();
    for (mem__cache* cache = st->caches; cache != NULL; cache = cache->next_in_pool) {
        raise_flag(cache);
    }
    heavy_barrier();
    for (mem__cache* cache = st->caches; cache != NULL; cache = cache->next_in_pool) {
        wait_quiescent(cache->state);
    }
}

void mem__thaw_all(struct mem__pool_state* st) {
    for (mem__cache* cache = st->caches; cache != NULL; cache = cache->next_in_pool) {
        mem__thaw(cache);
    }
}

static void wait_for_state(mem__thread_state* ts, void* context) {
    (void)context;
    wait_quiescent(ts);
}

void mem__wait_for_sections(void) {
    mem__freeze_setup();
    heavy_barrier();
    mem__states_for_each(wait_for_state, NULL);
}

void mem__owner_wait(mem__cache* cache) {
    mem__atomic_store_relaxed(&cache->owner_waiting, 1u);
    mem__mutex_lock(&cache->freeze_mutex);
    mem__atomic_store_relaxed(&cache->owner_waiting, 0u);
}

#else /* !MEM_THREAD_SAFE: one thread, nothing to freeze */

bool mem__owner_fence_needed = false;

void mem__freeze_setup(void) {}
void mem__freeze(mem__cache* cache) { (void)cache; }
void mem__thaw(mem__cache* cache) { (void)cache; }
void mem__freeze_all(struct mem__pool_state* st) { (void)st; }
void mem__thaw_all(struct mem__pool_state* st) { (void)st; }
void mem__wait_for_sections(void) {}
void mem__owner_wait(mem__cache* cache) { (void)cache; }

#endif
