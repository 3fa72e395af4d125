/*
 * freeze.c - the asymmetric protocol that lets a cache's owner run without any lock
 * or atomic read-modify-write while snapshots (stats, validate, trim, pool destroy,
 * and collecting for an exited thread) still get exclusive access to it.
 *
 * Owner (mem__owner_enter in internal.h): store seq odd; [compiler barrier]; load
 * `frozen`; ...section...; store seq even.
 * Snapshot: claim `frozen` (0 -> CLAIMED, so two snapshots never own one cache);
 * heavy barrier; frozen = HELD; wait until the owner's seq is even (or has changed
 * since). It now owns the cache until it thaws (stores frozen = 0).
 *
 * Why it is correct: this is Dekker's pattern with the owner's fence moved to the
 * snapshot side. membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) makes every running
 * thread of the process execute a full barrier, so after it returns either the owner
 * saw the claim (and leaves), or its odd seq is visible to the snapshot (which waits
 * for it).
 *
 * An owner that sees the claim does not wait for the barrier (up to milliseconds on
 * a VM whose other vCPU is not running): it enters again with a sequentially
 * consistent read-modify-write of seq and a sequentially consistent load of `frozen`
 * (mem__owner_enter_claimed), against the snapshot's sequentially consistent store of
 * HELD and load of seq. Either it sees HELD (and leaves to wait for the thaw), or the
 * snapshot sees its odd seq (and waits for the section). So an owner waits only while
 * a snapshot holds its cache, never for the barrier. The quiescence wait's rule "seq
 * even or changed" still holds when the odd value it read was an owner's attempt
 * that saw the claim: the owner's read-modify-write that follows comes after that
 * read in the sequentially consistent order, so after the store of HELD, and its
 * load of `frozen` sees HELD; it leaves without touching the cache.
 *
 * Where membarrier is unavailable (old kernels, seccomp filters, or
 * MEMKIT_MEMBARRIER=0 in the environment) the owner marks itself with a
 * sequentially consistent read-modify-write instead, against the snapshot's
 * sequentially consistent store and loads: slower for the owner, equally correct.
 * The mode is chosen once, before any thread runs an owner section.
 *
 * A retired state (its thread has exited and runs no section; no thread adopted it
 * yet) has no owner to wait for: freezing one of its caches needs no heavy barrier,
 * which matters because every release handed back to an exited thread freezes its
 * cache (remote.c). An adopting thread clears `retired` and then waits until none of
 * its caches is frozen before it runs a section (mem__thaw_for_adoption): Dekker
 * again, between the freezer's claim of `frozen` and load of `retired` and the
 * adopter's store of `retired` and load of `frozen`, all sequentially consistent, so
 * either the freezer sees the state adopted (and takes the barrier) or the adopter
 * sees the cache frozen (and waits for the thaw).
 *
 * A frozen owner leaves its section, spins briefly (holds are short, and waking from
 * sleep costs more than most of them), then sleeps on the flag (futex) until the
 * snapshot thaws the cache, and enters again. No lock is held while frozen, so
 * freezing every cache of a pool at once holds no lock per cache.
 *
 * Snapshots pace themselves so that even a loop of them cannot starve the owners:
 * after holding a pool's caches for d while an owner waited, the pool's next hold
 * begins no sooner than MEM__SNAPSHOT_OWNER_SHARE * d later. Owners that never wait
 * cost a snapshot nothing.
 */
#include "internal.h"

#if MEM_THREAD_SAFE /* the single-threaded build freezes nothing: single_thread.c */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* After a hold of d that kept an owner waiting, owners get this many d to themselves:
 * a snapshot loop takes at most 1/(1 + 39) = 2.5 % of an owner's time. */
#define MEM__SNAPSHOT_OWNER_SHARE 39
/* ... and at least this long: time for an owner asleep on the flag to wake up and
 * enter before the snapshot can freeze the cache again. */
#define MEM__SNAPSHOT_MIN_GAP_NS 100000u

bool mem__owner_fence_needed = true;
static bool membarrier_ready = false;
static pthread_once_t setup_once = PTHREAD_ONCE_INIT;

static int membarrier(int command) { return (int)syscall(__NR_membarrier, command, 0, 0); }

/* Sleeps while *flag == value (or returns at once; callers loop). */
static void futex_wait(uint32_t* flag, uint32_t value) {
    if (syscall(__NR_futex, flag, FUTEX_WAIT_PRIVATE, value, NULL, NULL, 0) != 0 && errno != EAGAIN &&
        errno != EINTR) {
        sched_yield(); /* no futex (a seccomp filter): poll */
    }
}

static void futex_wake_all(uint32_t* flag) { (void)syscall(__NR_futex, flag, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0); }

static void setup(void) {
    const char* setting = getenv("MEMKIT_MEMBARRIER");
    bool allowed = setting == NULL || strcmp(setting, "0") != 0;
    membarrier_ready = allowed && membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0;
    /* Published before any owner section runs: every thread reaches its first
     * section through mem__thread_state_create, which runs this once first. */
    mem__atomic_store_relaxed(&mem__owner_fence_needed, !membarrier_ready);
}

void mem__freeze_setup(void) { pthread_once(&setup_once, setup); }

const char* mem__snapshot_barrier_name(void) {
    mem__freeze_setup();
    return membarrier_ready ? "membarrier" : "atomic fallback (no membarrier)";
}

/* Sleeps `ns` nanoseconds, signals or not. */
static void sleep_ns(uint64_t ns) {
    struct timespec pause = {.tv_sec = (time_t)(ns / 1000000000u), .tv_nsec = (long)(ns % 1000000000u)};
    while (nanosleep(&pause, &pause) != 0) {
    }
}

#ifdef MEM_TEST_BARRIER_DELAY_US
/* Test builds only (//memkit:memkit_slow_barrier): a heavy barrier that takes as long
 * as membarrier does at worst on a VM, so that tests can tell whether owners wait for
 * it. */
static void barrier_delay(void) { sleep_ns((uint64_t)MEM_TEST_BARRIER_DELAY_US * 1000u); }
#else
static void barrier_delay(void) {}
#endif

/* After claiming `frozen`: with membarrier, the owners' half of the fence. Without it
 * the owners use read-modify-writes and the sequentially consistent accesses of both
 * sides suffice. Once registered, membarrier does not fail; if it ever did, owners
 * that skip their fence would no longer be safe to snapshot, so the process stops
 * rather than read a cache an owner is changing. */
static void heavy_barrier(void) {
    if (membarrier_ready && membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0) {
        abort();
    }
    barrier_delay();
}

/* Short spins, then yields: the thread we wait for may need our CPU. */
static void backoff(unsigned* round) {
    if (++*round < 64) {
        mem__cpu_relax();
    } else {
        sched_yield();
    }
}

void mem__wait_quiescent(mem__thread_state* ts) {
    /* Acquire: the owner's release store of the even value makes its section's
     * accesses happen before ours. */
    uint64_t seq = mem__atomic_load_seq_cst(&ts->seq);
    unsigned round = 0;
    while ((seq & 1u) != 0 && mem__atomic_load_seq_cst(&ts->seq) == seq) {
        backoff(&round);
    }
}

/* Claims the cache for this snapshot: waits for another that has it (a thread
 * collecting for an exited owner while a snapshot runs) to finish. */
static void raise_flag(mem__cache* cache) {
    unsigned round = 0;
    uint32_t expected = 0;
    /* Seq-cst: the store half of Dekker's pattern (see above). */
    while (!mem__atomic_cas_weak_seq_cst(&cache->frozen, &expected, MEM__FROZEN_CLAIMED)) {
        expected = 0;
        backoff(&round);
    }
}

/* A claimed cache, after the barrier: held. Seq-cst: the store half of Dekker's
 * pattern against an owner that entered with the claim seen (see above). */
static void hold(mem__cache* cache) { mem__atomic_store_seq_cst(&cache->frozen, MEM__FROZEN_HELD); }

void mem__freeze(mem__cache* cache) {
    mem__freeze_setup();
    raise_flag(cache);
    mem__thread_state* ts = cache->state;
    /* Seq-cst: the load half of Dekker's pattern against an adopter (see above). */
    if (ts != NULL && mem__atomic_load_seq_cst(&ts->retired) != 0) {
        hold(cache);
        return; /* nobody runs a section of it, and an adopter waits for our thaw */
    }
    heavy_barrier();
    hold(cache);
    if (ts != NULL) {
        mem__wait_quiescent(ts);
    }
}

void mem__thaw_for_adoption(mem__thread_state* ts) {
    /* Seq-cst: the store half of Dekker's pattern against a freezer (see above). */
    mem__atomic_store_seq_cst(&ts->retired, 0u);
    for (unsigned i = 0; i < MEM_THREAD_CACHE_POOLS; i++) {
        mem__cache* cache = &ts->caches[i];
        unsigned round = 0;
        /* Until thawed, a claim too: its freezer may still be deciding by `retired`. */
        while (mem__atomic_load_seq_cst(&cache->frozen) != 0) {
            mem__owner_wait(cache);
            backoff(&round); /* a claim lets mem__owner_wait return at once */
        }
    }
}

bool mem__thaw(mem__cache* cache) {
    /* Seq-cst, both: against the owner's store of owner_waiting and load of `frozen`
     * (Dekker again), so that either we see it waiting and wake it, or it sees the
     * cache thawed and does not sleep. The store also releases our accesses to the
     * owner's acquire load of `frozen`. */
    mem__atomic_store_seq_cst(&cache->frozen, 0u);
    bool waited = mem__atomic_load_seq_cst(&cache->owner_waiting) != 0;
    if (waited) {
        futex_wake_all(&cache->frozen);
    }
    return waited;
}

void mem__freeze_all(struct mem__pool_state* st) {
    mem__freeze_setup();
    for (mem__cache* cache = st->caches; cache != NULL; cache = cache->next_in_pool) {
        raise_flag(cache);
    }
    heavy_barrier();
    for (mem__cache* cache = st->caches; cache != NULL; cache = cache->next_in_pool) {
        hold(cache);
    }
    for (mem__cache* cache = st->caches; cache != NULL; cache = cache->next_in_pool) {
        mem__wait_quiescent(cache->state);
    }
}

bool mem__thaw_all(struct mem__pool_state* st) {
    bool waited = false;
    for (mem__cache* cache = st->caches; cache != NULL; cache = cache->next_in_pool) {
        waited |= mem__thaw(cache);
    }
    return waited;
}

/* Snapshot mutex held, no other lock: sleeps while the pool's owners are owed time. */
static void pace(struct mem__pool_state* st) {
    uint64_t now = mem__now_ns();
    if (now < st->snapshot_resume_ns) {
        sleep_ns(st->snapshot_resume_ns - now);
    }
}

/* Snapshot mutex held, the caches just frozen: owners wait from now on (not during
 * the heavy barrier before, which they enter beside). */
static void held_from_now(struct mem__pool_state* st) { st->snapshot_held_since_ns = mem__now_ns(); }

static void paced(struct mem__pool_state* st, bool owner_waited) {
    if (owner_waited) {
        uint64_t now = mem__now_ns();
        uint64_t owed = (now - st->snapshot_held_since_ns) * MEM__SNAPSHOT_OWNER_SHARE;
        st->snapshot_resume_ns = now + (owed > MEM__SNAPSHOT_MIN_GAP_NS ? owed : MEM__SNAPSHOT_MIN_GAP_NS);
    }
}

void mem__snapshot_freeze(struct mem__pool_state* st, mem__cache* cache) {
    pace(st);
    mem__freeze(cache);
    held_from_now(st);
}

void mem__snapshot_thaw(struct mem__pool_state* st, mem__cache* cache) { paced(st, mem__thaw(cache)); }

void mem__snapshot_freeze_all(struct mem__pool_state* st) {
    pace(st);
    mem__pool_lock(st);
    mem__freeze_all(st);
    held_from_now(st);
}

void mem__snapshot_thaw_all(struct mem__pool_state* st) {
    bool waited = mem__thaw_all(st) || mem__atomic_load_relaxed(&st->lock_waiters) != 0;
    mem__pool_unlock(st);
    paced(st, waited);
}

void mem__sections_fence(void) {
    mem__freeze_setup();
    heavy_barrier();
}

bool mem__owner_enter_claimed(mem__thread_state* ts, mem__cache* cache, mem__section* section) {
    /* Relaxed: only a hint; the loads below decide. */
    if (mem__atomic_load_relaxed(&cache->frozen) != MEM__FROZEN_CLAIMED) {
        return false;
    }
    /* Seq-cst, both: against the snapshot's store of HELD and load of seq (see above). */
    *section = mem__atomic_fetch_add_seq_cst(&ts->seq, (uint64_t)1) + 1;
    if (mem__atomic_load_seq_cst(&cache->frozen) != MEM__FROZEN_HELD) {
        return true; /* still claimed (the snapshot will wait for us), or thawed */
    }
    /* Release: out of the section again, so the snapshot goes on. */
    mem__atomic_store_release(&ts->seq, *section + 1);
    return false;
}

void mem__owner_wait(mem__cache* cache) {
    /* Seq-cst: see mem__thaw. It also tells the snapshot that it kept us waiting. */
    mem__atomic_store_seq_cst(&cache->owner_waiting, 1u);
    mem__spin spin = {0};
    bool spinning = true;
    while (mem__atomic_load_seq_cst(&cache->frozen) == MEM__FROZEN_HELD) {
        if (spinning) {
            spinning = mem__spin_more(&spin);
        } else {
            futex_wait(&cache->frozen, MEM__FROZEN_HELD);
        }
    }
    mem__atomic_store_relaxed(&cache->owner_waiting, 0u);
}

void mem__owner_wait_counted(mem__cache* cache) {
    uint64_t start = mem__now_ns();
    mem__owner_wait(cache);
    uint64_t waited = mem__now_ns() - start;
    /* Relaxed, all: counters for mem_pool_stats, which order nothing. The pool lives
     * (the caller uses it); a pool destroyed meanwhile set `pool` to NULL first. */
    struct mem__pool_state* st = mem__atomic_load_relaxed(&cache->pool);
    if (st == NULL) {
        return;
    }
    mem__atomic_fetch_add_relaxed(&st->snapshot_waits, (uint64_t)1);
    uint64_t longest = mem__atomic_load_relaxed(&st->snapshot_wait_max_ns);
    while (waited > longest && !mem__atomic_cas_weak_relaxed(&st->snapshot_wait_max_ns, &longest, waited)) {
    }
}

#endif
