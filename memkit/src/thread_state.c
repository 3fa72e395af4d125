/*
 * thread_state.c - each thread's private state (its pool caches and request arenas):
 * created on first use, returned to the pools and freed when the thread exits
 * (pthread key destructor; the main thread's at process exit). With
 * MEM_THREAD_SAFE=0 there is one static state and nothing to return.
 */
#include "internal.h"

#if MEM_THREAD_SAFE

static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static pthread_key_t state_key;
static bool key_ready = false;
static mem__mutex threads_mutex = MEM__MUTEX_INITIALIZER;
MEM__TLS struct mem__thread_state* mem__current_state = NULL;

void mem__threads_lock(void) { mem__mutex_lock(&threads_mutex); }

void mem__threads_unlock(void) { mem__mutex_unlock(&threads_mutex); }

static void release_at_thread_exit(void* state) {
    mem__thread_state_release(state);
    mem__current_state = NULL;
}

static void create_key(void) { key_ready = pthread_key_create(&state_key, release_at_thread_exit) == 0; }

struct mem__thread_state* mem__thread_state_create(void) {
    pthread_once(&key_once, create_key);
    struct mem__thread_state* ts = mem__sys_alloc(sizeof *ts);
    if (ts == NULL) {
        mem__out_of_memory(sizeof *ts);
        return NULL;
    }
    memset(ts, 0, sizeof *ts);
    if (!key_ready || pthread_setspecific(state_key, ts) != 0) {
        mem__sys_free(ts);
        mem__set_error(MEM_ERR_OUT_OF_MEMORY);
        return NULL;
    }
    mem__current_state = ts;
    return ts;
}

void mem__thread_state_release(struct mem__thread_state* ts) {
    MemoryContainer* evicted = NULL;
    mem__threads_lock();
    for (unsigned i = 0; i < MEM_THREAD_CACHE_POOLS; i++) {
        struct mem__thread_cache* cache = &ts->caches[i];
        struct mem__pool_state* st = mem__atomic_load_relaxed(&cache->pool);
        if (st == NULL) {
            continue;
        }
        mem__pool_lock(st);
        mem__spin_lock(&cache->lock);
        mem__cache_flush_locked(cache, &evicted);
        st->detached_cache_hits += cache->hits;
        st->detached_cache_misses += cache->misses;
        st->detached_cache_reuses += cache->reuses;
        cache->hits = cache->misses = cache->reuses = 0;
        struct mem__thread_cache** link = &st->caches;
        while (*link != cache) {
            link = &(*link)->next_in_pool;
        }
        *link = cache->next_in_pool;
        mem__atomic_store_relaxed(&cache->pool, NULL);
        mem__spin_unlock(&cache->lock);
        mem__pool_unlock(st);
    }
    mem__threads_unlock();
    mem__free_orphan_chain(evicted);
    mem__request_arenas_release_all(ts);
    mem__slab_release_locals(ts->slab_locals);
    mem__sys_free(ts);
}

/* The main thread never runs key destructors: return its state at process exit. */
__attribute__((destructor)) static void release_main_thread_state(void) {
    struct mem__thread_state* ts = mem__current_state;
    if (ts != NULL) {
        if (key_ready) {
            pthread_setspecific(state_key, NULL);
        }
        release_at_thread_exit(ts);
    }
}

#else /* !MEM_THREAD_SAFE */

static struct mem__thread_state only_state;

struct mem__thread_state* mem__thread_state(void) { return &only_state; }

void mem__threads_lock(void) {}

void mem__threads_unlock(void) {}

void mem__thread_state_release(struct mem__thread_state* ts) { mem__request_arenas_release_all(ts); }

__attribute__((destructor)) static void release_process_state(void) { mem__thread_state_release(&only_state); }

#endif
