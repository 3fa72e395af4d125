/*
 * request_arena.c - per-request arenas: each thread keeps released arenas with their
 * chunks (up to MEM_REQUEST_ARENA_KEEP_BYTES) so a steady-state request allocates
 * nothing from the system and takes no lock. An arena belongs to the thread that
 * acquired it; releasing it elsewhere is refused. A released arena has its own magic
 * until it is acquired again, so every call on it is refused (MEM_ERR_ARENA_STATE)
 * at no cost to the allocation fast path.
 */
#include "internal.h"

MemoryArena* mem_request_arena_acquire(void) {
    mem__thread_state* ts = mem__this_thread();
    if (ts == NULL) {
        return mem__fail_null(MEM_ERR_OUT_OF_MEMORY);
    }
    MemoryArena* arena = ts->spare_arenas;
    if (arena != NULL) {
        ts->spare_arenas = (MemoryArena*)(uintptr_t)arena->link;
        ts->kept_arena_bytes -= arena->total_capacity;
        mem__arena_open(arena); /* closed since its release; a new arena is open */
    } else {
        arena = mem__arena_new(MEM_REQUEST_ARENA_SIZE);
        if (arena == NULL) {
            return NULL;
        }
        arena->flags = MEM__ARENA_REQUEST;
        arena->request_owner = ts;
        arena->next_owned = ts->owned_arenas;
        ts->owned_arenas = arena;
    }
    arena->link = 0;
    arena->magic = MEM__ARENA_MAGIC;
    return arena;
}

/* mem_request_arena_release's answer to anything but a live arena. */
__attribute__((noinline)) static bool release_refused(const MemoryArena* arena) {
    if (arena != NULL && arena->magic == MEM__ARENA_MAGIC_IDLE) {
        mem__log(MEM_LOG_WARNING, "request arena %p released twice", (const void*)arena);
        return mem__fail(MEM_ERR_ARENA_STATE);
    }
    (void)mem__arena_check(arena); /* sets the error */
    return false;
}

bool mem_request_arena_release(MemoryArena* arena) {
    if (mem__unlikely(arena == NULL || arena->magic != MEM__ARENA_MAGIC)) {
        return release_refused(arena);
    }
    if (!(arena->flags & MEM__ARENA_REQUEST)) {
        return mem__fail(MEM_ERR_INVALID_ARENA);
    }
    mem__thread_state* ts = mem__this_thread_peek();
    if (arena->request_owner != ts) {
        mem__log(MEM_LOG_WARNING, "request arena %p released on a thread that did not acquire it", (void*)arena);
        return mem__fail(MEM_ERR_WRONG_THREAD);
    }
    size_t room = MEM_REQUEST_ARENA_KEEP_BYTES > ts->kept_arena_bytes
                      ? MEM_REQUEST_ARENA_KEEP_BYTES - ts->kept_arena_bytes
                      : 0;
    mem__arena_rewind(arena, room);
    ts->kept_arena_bytes += arena->total_capacity;
    arena->magic = MEM__ARENA_MAGIC_IDLE;
    arena->link = (uint64_t)(uintptr_t)ts->spare_arenas;
    ts->spare_arenas = arena;
    return true;
}

void mem__request_arenas_release_all(mem__thread_state* ts) {
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
