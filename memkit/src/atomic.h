/*
 * atomic.h - atomics that carry their memory order in their names, and the locks.
 * With MEM_THREAD_SAFE=0 every atomic is a plain access and every lock compiles to
 * nothing, so the single-threaded build has no atomic instruction at all.
 *
 * Shared fields are plain C types read and written only through these macros (the
 * public structs must stay plain C for C++ and C consumers alike).
 */
#ifndef MEMKIT_SRC_ATOMIC_H
#define MEMKIT_SRC_ATOMIC_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "memkit/config.h"

/* Declares a field of the library's own structs that threads read and write at the
 * same time: every access goes through the mem__atomic_* operations below (or hands
 * its address to one, such as a futex), never a plain load or store;
 * tests/layers.py checks that for every such field whose name no other field has.
 * The type itself stays plain, as for the public structs: clang's __atomic builtins
 * refuse _Atomic objects. */
#define mem__atomic(type) type

/* CLOCK_MONOTONIC in nanoseconds. */
static inline uint64_t mem__now_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

#if MEM_THREAD_SAFE
#include <pthread.h>

/* A variable each thread has its own of. */
#define mem__thread_local _Thread_local

#define mem__atomic_load_relaxed(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define mem__atomic_load_acquire(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define mem__atomic_load_seq_cst(p) __atomic_load_n((p), __ATOMIC_SEQ_CST)
#define mem__atomic_store_relaxed(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define mem__atomic_store_release(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define mem__atomic_store_seq_cst(p, v) __atomic_store_n((p), (v), __ATOMIC_SEQ_CST)
#define mem__atomic_fetch_add_relaxed(p, v) __atomic_fetch_add((p), (v), __ATOMIC_RELAXED)
#define mem__atomic_fetch_sub_relaxed(p, v) __atomic_fetch_sub((p), (v), __ATOMIC_RELAXED)
#define mem__atomic_fetch_sub_acq_rel(p, v) __atomic_fetch_sub((p), (v), __ATOMIC_ACQ_REL)
#define mem__atomic_fetch_add_seq_cst(p, v) __atomic_fetch_add((p), (v), __ATOMIC_SEQ_CST)
#define mem__atomic_fetch_sub_seq_cst(p, v) __atomic_fetch_sub((p), (v), __ATOMIC_SEQ_CST)
#define mem__atomic_fetch_or_seq_cst(p, v) __atomic_fetch_or((p), (v), __ATOMIC_SEQ_CST)
#define mem__atomic_fetch_and_seq_cst(p, v) __atomic_fetch_and((p), (v), __ATOMIC_SEQ_CST)
#define mem__atomic_exchange_acquire(p, v) __atomic_exchange_n((p), (v), __ATOMIC_ACQUIRE)
#define mem__atomic_exchange_seq_cst(p, v) __atomic_exchange_n((p), (v), __ATOMIC_SEQ_CST)
/* Weak CAS: *expected is updated on failure; callers loop. */
#define mem__atomic_cas_weak_relaxed(p, expected, desired) \
    __atomic_compare_exchange_n((p), (expected), (desired), true, __ATOMIC_RELAXED, __ATOMIC_RELAXED)
#define mem__atomic_cas_weak_release(p, expected, desired) \
    __atomic_compare_exchange_n((p), (expected), (desired), true, __ATOMIC_RELEASE, __ATOMIC_RELAXED)
#define mem__atomic_cas_weak_acq_rel(p, expected, desired) \
    __atomic_compare_exchange_n((p), (expected), (desired), true, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)
#define mem__atomic_cas_weak_seq_cst(p, expected, desired) \
    __atomic_compare_exchange_n((p), (expected), (desired), true, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)
/* Orders the compiler only; the asymmetric protocol's other side supplies the fence. */
#define mem__compiler_barrier() __atomic_signal_fence(__ATOMIC_SEQ_CST)

typedef pthread_mutex_t mem__mutex;
#define MEM__MUTEX_INITIALIZER PTHREAD_MUTEX_INITIALIZER
static inline bool mem__mutex_init(mem__mutex* m) { return pthread_mutex_init(m, NULL) == 0; }
static inline void mem__mutex_destroy(mem__mutex* m) { pthread_mutex_destroy(m); }
static inline void mem__mutex_lock(mem__mutex* m) { pthread_mutex_lock(m); }
static inline bool mem__mutex_trylock(mem__mutex* m) { return pthread_mutex_trylock(m) == 0; }
static inline void mem__mutex_unlock(mem__mutex* m) { pthread_mutex_unlock(m); }

/* A spinning thread's pause: lets the other hardware thread run and saves power. */
static inline void mem__cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* How long a waiter spins before it sleeps. The library holds its locks (and a
 * snapshot a frozen cache) for at most a few hundred microseconds, while waking a
 * sleeper can take milliseconds on a virtual machine whose idle CPU the host has
 * descheduled; and glibc's mutex is not fair, so a thread that sleeps at once can be
 * overtaken again and again by one that relocks. */
#define MEM__SPIN_NS 1000000u

/* A bounded spin: true while the waiter should keep spinning, false once it has
 * spun for MEM__SPIN_NS (then it sleeps). Start from {0}. */
typedef struct mem__spin {
    unsigned round;
    uint64_t until;
} mem__spin;

static inline bool mem__spin_more(mem__spin* spin) {
    mem__cpu_relax();
    if ((++spin->round & 63u) != 0) {
        return true; /* the clock every 64 rounds (about 1.5 us) */
    }
    uint64_t now = mem__now_ns();
    if (spin->until == 0) {
        spin->until = now + MEM__SPIN_NS;
    }
    return now < spin->until;
}

static inline void mem__mutex_lock_spinning(mem__mutex* m) {
    mem__spin spin = {0};
    while (!mem__mutex_trylock(m)) {
        if (!mem__spin_more(&spin)) {
            mem__mutex_lock(m);
            return;
        }
    }
}

#else /* !MEM_THREAD_SAFE */

#define mem__thread_local /* one thread: an ordinary static */

#define mem__atomic_load_relaxed(p) (*(p))
#define mem__atomic_load_acquire(p) (*(p))
#define mem__atomic_load_seq_cst(p) (*(p))
#define mem__atomic_store_relaxed(p, v) ((void)(*(p) = (v)))
#define mem__atomic_store_release(p, v) ((void)(*(p) = (v)))
#define mem__atomic_store_seq_cst(p, v) ((void)(*(p) = (v)))
#define mem__atomic_fetch_add_relaxed(p, v) __extension__({ __typeof__(*(p)) old_ = *(p); *(p) = old_ + (v); old_; })
#define mem__atomic_fetch_sub_acq_rel(p, v) __extension__({ __typeof__(*(p)) old_ = *(p); *(p) = old_ - (v); old_; })
#define mem__atomic_fetch_sub_relaxed(p, v) mem__atomic_fetch_sub_acq_rel((p), (v))
#define mem__atomic_fetch_add_seq_cst(p, v) mem__atomic_fetch_add_relaxed((p), (v))
#define mem__atomic_fetch_sub_seq_cst(p, v) mem__atomic_fetch_sub_acq_rel((p), (v))
#define mem__atomic_fetch_or_seq_cst(p, v) __extension__({ __typeof__(*(p)) old_ = *(p); *(p) = old_ | (v); old_; })
#define mem__atomic_fetch_and_seq_cst(p, v) __extension__({ __typeof__(*(p)) old_ = *(p); *(p) = old_ & (v); old_; })
#define mem__atomic_exchange_acquire(p, v) __extension__({ __typeof__(*(p)) old_ = *(p); *(p) = (v); old_; })
#define mem__atomic_exchange_seq_cst(p, v) mem__atomic_exchange_acquire((p), (v))
#define mem__atomic_cas_weak_release(p, expected, desired) \
    __extension__({ bool same_ = *(p) == *(expected); if (same_) *(p) = (desired); else *(expected) = *(p); same_; })
#define mem__atomic_cas_weak_relaxed(p, expected, desired) mem__atomic_cas_weak_release((p), (expected), (desired))
#define mem__atomic_cas_weak_acq_rel(p, expected, desired) mem__atomic_cas_weak_release((p), (expected), (desired))
#define mem__atomic_cas_weak_seq_cst(p, expected, desired) mem__atomic_cas_weak_release((p), (expected), (desired))
#define mem__compiler_barrier() ((void)0)

typedef int mem__mutex;
#define MEM__MUTEX_INITIALIZER 0
static inline bool mem__mutex_init(mem__mutex* m) {
    *m = 0;
    return true;
}
static inline void mem__mutex_destroy(mem__mutex* m) { (void)m; }
static inline void mem__mutex_lock(mem__mutex* m) { (void)m; }
static inline bool mem__mutex_trylock(mem__mutex* m) {
    (void)m;
    return true;
}
static inline void mem__mutex_lock_spinning(mem__mutex* m) { (void)m; }
static inline void mem__mutex_unlock(mem__mutex* m) { (void)m; }

#endif

#endif /* MEMKIT_SRC_ATOMIC_H */
