/*
 * thread_state.c - each thread's private state: its caches (one per pool), object
 * heaps and request arenas. A state is made on a thread's first use of the library
 * and never freed: when its thread exits it gives back what it can (empty pages,
 * request arenas, destroyed handles), is marked abandoned and waits to be adopted by
 * the next thread that starts. Containers and handles it owns keep pointing at it,
 * so a reference dropped on another thread later always has somewhere to go (while
 * it waits for adoption, the dropping thread collects for it: remote.c), and the
 * number of states stays at the most threads that ran at once.
 *
 * The single-threaded build (MEM_THREAD_SAFE=0) has one state, made on first use and
 * retired at process exit (single_thread.c).
 */
#include "hot.h"

#define TABLE_CHUNK 256u
static mem__thread_state** state_table[(MEM__MAX_STATES + TABLE_CHUNK) / TABLE_CHUNK]; /* atomic */
static mem__mutex states_mutex = MEM__MUTEX_INITIALIZER;
static uint32_t state_count; /* atomic: indices 1..state_count are taken */
static mem__thread_state* abandoned; /* states waiting for a thread, under states_mutex */

static mem__thread_state** table_slot(uint16_t index) {
    mem__thread_state** chunk = mem__atomic_load_acquire(&state_table[index / TABLE_CHUNK]);
    return chunk != NULL ? &chunk[index % TABLE_CHUNK] : NULL;
}

mem__thread_state* mem__state_lookup(uint16_t index) {
    if (index == 0 || index > mem__atomic_load_acquire(&state_count)) {
        return NULL;
    }
    mem__thread_state** slot = table_slot(index);
    return slot != NULL ? mem__atomic_load_acquire(slot) : NULL;
}

void mem__states_for_each(void (*visit)(mem__thread_state* ts, void* context), void* context) {
    uint32_t count = mem__atomic_load_acquire(&state_count);
    for (uint32_t index = 1; index <= count; index++) {
        mem__thread_state* ts = mem__state_lookup((uint16_t)index);
        if (ts != NULL) {
            visit(ts, context);
        }
    }
}

static void wait_for_state(mem__thread_state* ts, void* context) {
    (void)context;
    mem__wait_quiescent(ts);
}

void mem__wait_for_sections(void) {
    mem__sections_fence();
    mem__states_for_each(wait_for_state, NULL);
}

/* A fresh state with the next index; states_mutex held. NULL when out of memory or
 * indices (the caller reports). */
static mem__thread_state* make_state_locked(void) {
    uint32_t index = state_count + 1;
    if (index > MEM__MAX_STATES) {
        return NULL;
    }
    unsigned chunk = index / TABLE_CHUNK;
    if (state_table[chunk] == NULL) {
        mem__thread_state** fresh = mem__sys_alloc(TABLE_CHUNK * sizeof *fresh);
        if (fresh == NULL) {
            return NULL;
        }
        memset(fresh, 0, TABLE_CHUNK * sizeof *fresh);
        mem__atomic_store_release(&state_table[chunk], fresh);
    }
    mem__thread_state* ts = mem__sys_alloc(sizeof *ts);
    if (ts == NULL) {
        return NULL;
    }
    memset(ts, 0, sizeof *ts);
    ts->index = (uint16_t)index;
    ts->last_cache = &ts->caches[0];
    for (unsigned i = 0; i < MEM_THREAD_CACHE_POOLS; i++) {
        ts->caches[i].state = ts;
    }
    mem__atomic_store_release(table_slot((uint16_t)index), ts);
    mem__atomic_store_release(&state_count, index);
    return ts;
}

mem__thread_state* mem__thread_state_acquire(void) {
    mem__mutex_lock(&states_mutex);
    mem__thread_state* ts = abandoned;
    if (ts != NULL) {
        abandoned = ts->next_abandoned;
        ts->next_abandoned = NULL;
    } else {
        ts = make_state_locked();
    }
    mem__mutex_unlock(&states_mutex);
    if (ts == NULL) {
        mem__out_of_memory_absorbed(sizeof *ts);
    } else {
        /* A freeze of its caches that relied on nobody owning it ends first. */
        mem__thaw_for_adoption(ts);
        /* Seq-cst: pairs with the load in mem__remote_push; a thread that pushes after
         * this sees the state owned again and leaves the list to us. */
        mem__atomic_store_seq_cst(&ts->abandoned, 0u);
    }
    return ts;
}

void mem__thread_states_lock(void) { mem__mutex_lock(&states_mutex); }
void mem__thread_states_unlock(void) { mem__mutex_unlock(&states_mutex); }

/* Its thread runs no more sections of `ts`: from here its caches freeze without the
 * heavy barrier until a thread adopts it (freeze.c). */
static void abandon_state(mem__thread_state* ts) {
    /* Seq-cst: a freezer that reads it sees every section this thread ran. */
    mem__atomic_store_seq_cst(&ts->retired, 1u);
    mem__mutex_lock(&states_mutex);
    ts->next_abandoned = abandoned;
    abandoned = ts;
    mem__mutex_unlock(&states_mutex);
}

/* Gives back what `ts` keeps that others could use: its caches' pending remote
 * releases are collected, empty pages and released large containers go to their
 * pools. The state's thread is the caller (or it has none any more). */
static void return_cache_surplus(mem__thread_state* ts) {
    for (unsigned i = 0; i < MEM_THREAD_CACHE_POOLS; i++) {
        mem__cache* cache = &ts->caches[i];
        struct mem__pool_state* st = mem__atomic_load_acquire(&cache->pool);
        if (st == NULL) {
            continue;
        }
        mem__section section = mem__owner_enter(ts, cache);
        mem__remote_collect(cache);
        mem__page* surplus = mem__cache_surplus(cache, true);
        mem__owner_leave(ts, section);
        mem__stock_return(st, surplus);
    }
}

void mem__thread_state_retire(mem__thread_state* ts) {
    return_cache_surplus(ts);
    /* Seq-cst: pairs with the load in mem__remote_push. From here on a thread that
     * hands something back to this state collects it itself; what arrived before is
     * collected just below. */
    mem__atomic_store_seq_cst(&ts->abandoned, 1u);
    return_cache_surplus(ts);
    mem__request_arenas_release_all(ts);
    mem__object_heaps_retire(ts);
    abandon_state(ts);
    mem__current_state = NULL;
}

mem__thread_local mem__thread_state* mem__current_state = NULL;

/* A thread's exit through its key's destructor (the single-threaded build has one
 * state, in single_thread.c). */
#if MEM_THREAD_SAFE
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static pthread_key_t state_key;
static bool key_ready = false;

static void release_at_thread_exit(void* state) { mem__thread_state_retire(state); }

static void create_key(void) { key_ready = pthread_key_create(&state_key, release_at_thread_exit) == 0; }

mem__thread_state* mem__thread_state_create(void) {
    pthread_once(&key_once, create_key);
    mem__freeze_setup();
    mem__thread_state* ts = mem__thread_state_acquire();
    if (ts == NULL) {
        return NULL;
    }
    if (!key_ready || pthread_setspecific(state_key, ts) != 0) {
        /* Without a destructor the state could not be given back at thread exit. */
        abandon_state(ts);
        mem__out_of_memory_absorbed(sizeof(void*));
        return NULL;
    }
    mem__current_state = ts;
    return ts;
}

/* The main thread never runs key destructors: retire its state at process exit. */
__attribute__((destructor)) static void release_main_thread_state(void) {
    mem__thread_state* ts = mem__current_state;
    if (ts != NULL) {
        if (key_ready) {
            pthread_setspecific(state_key, NULL);
        }
        mem__thread_state_retire(ts);
    }
}

#endif
