/*
 * harness.h - what the stress harness's parts share: the options, the pool, the
 * invariants and their counters, the workers, and the modes. A mode (one file each)
 * says what one worker operation is; stress.c runs the workers, monitor.c watches and
 * reports progress, report.c prints the verdict.
 */
#ifndef MEMKIT_STRESS_HARNESS_H
#define MEMKIT_STRESS_HARNESS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "histogram.h"
#include "memkit.h"
#include "options.h"

enum invariant {
    INV_TORN_READ,     /* an RCU reader saw a torn or mixed buffer */
    INV_ISOLATION,     /* a write was visible through a handle that must not see it */
    INV_LOST_WRITE,    /* a handle that must see a write did not */
    INV_WIPED_LIVE,    /* a live handle read wiped memory */
    INV_VERSION_ORDER, /* an RCU reader saw versions go backwards */
    INV_ARENA_INTACT,  /* request-arena allocations kept their bytes */
    INV_HANDOFF,       /* a payload handed to another thread arrived intact */
    INV_BOUNDED,       /* the library's system memory stayed within the mode's bound */
    INV_ERROR_CODES,   /* every failed call reported MEM_ERR_OUT_OF_MEMORY */
    INV_FAILURES_SEEN, /* every injected failure reached the OOM handler */
    INV_REFCOUNTS,     /* each slot's refcount is exactly 1 once shares are gone */
    INV_NO_LEAK,       /* no live container or byte at the end */
    INV_VALIDATE,      /* mem_pool_validate passed, during the run and at the end */
    INVARIANTS
};
extern const char* const invariant_names[INVARIANTS];

#define MAX_KINDS 8 /* operation kinds of any mode */

typedef struct Worker {
    pthread_t thread;
    unsigned index;
    uint64_t rng;
    uint64_t ops_target;
    uint64_t ops[MAX_KINDS];
    uint64_t max_ns[MAX_KINDS];
    uint64_t failed_calls;
    Histogram latency[MAX_KINDS];
    void* mode_state; /* the mode's per-worker data */
    unsigned char* scratch;
} Worker;

/* One way of loading the library. Every function is optional but `op`. */
typedef struct Mode {
    const char* name;
    unsigned kinds;
    const char* const* kind_names;
    /* Before the workers start (single-threaded); false: setup failed. */
    bool (*setup)(Worker* workers);
    /* One operation of worker `w`; returns the kind it was. */
    unsigned (*op)(Worker* w);
    /* On the worker's thread after its last operation. */
    void (*worker_done)(Worker* w);
    /* After every worker stopped: check what is left, then destroy everything. */
    void (*teardown)(Worker* workers);
    /* A digest of the final state, for reproducibility checks. */
    uint64_t (*fingerprint)(void);
    /* Most system memory the library may hold at once in this mode (modes whose live
     * data is bounded: memory that grows with the run is a leak). */
    size_t (*memory_bound)(void);
} Mode;

extern const Mode mode_mixed, mode_pipeline, mode_exchange, mode_owner;

extern StressOptions opt;
extern MemoryPool pool;
extern atomic_ullong violations[INVARIANTS];
extern atomic_ullong injected_failures, oom_handler_calls, allocator_calls, total_ops;
extern atomic_bool stop_flag;

uint64_t next_random(Worker* w);
size_t random_size(Worker* w);
uint64_t now_ns(void);
void violated(enum invariant which);
/* A library call failed: with injected failures that is expected, but only as OOM. */
void call_failed(Worker* w);
/* Checks `size` bytes of `data` hold version `version` of `slot`; a difference counts
 * against `if_changed` (a wiped buffer against "no wiped memory"). */
void check_payload(const void* data, size_t size, uint32_t slot, uint64_t version, enum invariant if_changed);
/* A fresh pointer of a random size holding version `version` of `slot` (NULL after a
 * failed call, counted). */
MemoryPointer* make_payload(Worker* w, const char* name, uint32_t slot, uint64_t version, size_t* size);

/* The most system memory the library held at once during the run (stress.c). */
size_t library_peak_bytes(void);
/* A memory bound for a mode whose live data is at most `objects` payloads plus a few
 * dozen per worker in flight: 64 MiB of slack, then 16 times each object's largest
 * footprint (page and cache granularity). */
size_t live_objects_bound(size_t objects);

/* monitor.c: the monitor thread (validation during the run, progress, snapshots),
 * and the signals an operator sends. */
void monitor_install_signals(void);
bool monitor_start(pthread_t* thread);
bool monitor_stopped_by_signal(void);

/* report.c */
void report(const Mode* mode, Worker* workers, double elapsed, uint64_t fingerprint, const MemPoolStats* s,
            uint64_t snapshots);
bool all_invariants_held(void);

#endif
