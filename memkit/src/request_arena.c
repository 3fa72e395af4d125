/*
 * request_arena.c - per-request arenas: each thread keeps released arenas with their
 * chunks (up to MEM_REQUEST_ARENA_KEEP_BYTES) so a steady-state request allocates
 * nothing from the system and takes no lock. An arena belongs to the thread that
 * acquired it; releasing it elsewhere is refused.
 */
#include "internal.h"

MemoryArena* mem_request_arena_acquire(void) {
    struct mem__thread_state* ts = mem__thread_state();
    if (ts == NULL) {
        return NULL;
    }
    MemoryArena* arena = ts->spare_arenas;
    if (arena != NULL) {
        ts->spare_arenas = arena->link;
        ts->kept_arena_bytes -= arena->total_capacity;
    } else {
        arena = mem__arena_new(MEM_REQUEST_ARENA_SIZE);
        if (arena == NULL) {
            return NULL;
        }
        arena->flags = MEM__ARENA_REQUEST;
        arena->owner = ts;
        arena->next_owned = ts->owned_arenas;
        ts->owned_arenas = arena;
    }
    arena->link = NULL;
    arena->flags |= MEM__ARENA_ACQUIRED;
    return arena;
}

bool mem_request_arena_release(MemoryArena* arena) {
    if (mem__arena_check(arena) == NULL) {
        return false;
    }
    if (!(arena->flags & MEM__ARENA_REQUEST)) {
        return mem__fail(MEM_ERR_INVALID_ARENA);
    }
    struct mem__thread_state* ts = mem__thread_state();
    if (arena->owner != ts) {
        mem__log(MEM_LOG_WARNING, "request arena %p released on a thread that did not acquire it", (void*)arena);
        return mem__fail(MEM_ERR_WRONG_THREAD);
    }
    if (!(arena->flags & MEM__ARENA_ACQUIRED)) {
        mem__log(MEM_LOG_WARNING, "request arena %p released twice", (void*)arena);
        return mem__fail(MEM_ERR_ARENA_STATE);
    }
    size_t room = MEM_REQUEST_ARENA_KEEP_BYTES > ts->kept_arena_bytes
                      ? MEM_REQUEST_ARENA_KEEP_BYTES - ts->kept_arena_bytes
                      : 0;
    mem__arena_rewind(arena, room);
    ts->kept_arena_bytes += arena->total_capacity;
    arena->flags &= ~MEM__ARENA_ACQUIRED;
    arena->link = ts->spare_arenas;
    ts->spare_arenas = arena;
    return true;
}

void mem__request_arenas_release_all(struct mem__thread_state* ts) {
    MemoryArena* arena = ts->owned_arenas;
    while (arena != NULL) {
        MemoryArena* next = arena->next_owned;
        mem__arena_free(arena);
        arena = next;
    }
    ts->owned_arenas = NULL;
    ts->spare_arenas = NULL;
    ts->kept_arena_bytes = 0;
}
