/*
 * arena.c - MemoryArena: bump allocation in chained chunks with no per-allocation
 * header; reset wipes what was used, destroy wipes and frees everything. Headers
 * live in a type-stable object heap so a destroyed arena is recognised. An arena is
 * used by one thread at a time.
 *
 * The current chunk's free space is the arena's window (its first 16 bytes), from
 * which the public header's inline mem_arena_alloc takes blocks; the window's start is
 * the current chunk's `used`. A window is open while the arena is live and closed
 * (empty) otherwise, so the inline path sends every call on an arena that is not live
 * here to be answered.
 *
 * In tracking builds a chunk's free space is marked inaccessible and each allocation
 * opens exactly its bytes, so writing past a block (into free space or alignment
 * padding) or reading after a reset is reported; the window stays empty there so that
 * every allocation comes here to open its bytes.
 */
#include "internal.h"

/* Objects are laid out 16 bytes apart in their chunks. */
mem__object_kind mem__arena_kind = {.size = (sizeof(MemoryArena) + 63) & ~(size_t)63, .heap = MEM__HEAP_ARENAS,
                                    .mutex = MEM__MUTEX_INITIALIZER};

/* The object heap's layout contract (objects.c). */
_Static_assert(offsetof(MemoryArena, link) == 16, "arena link at byte 16");
_Static_assert(offsetof(MemoryArena, owner) == 30, "arena owner at bytes 30..31");
_Static_assert(offsetof(MemoryArena, window) == 0, "the public header's window comes first");
_Static_assert(offsetof(mem__arena_chunk, data) % 16 == 0, "chunk data 16-byte aligned");

/* A chunk's data starts on a cache line: where the system allocator happens to put
 * it (16-byte aligned) would decide how fast its wipe runs. glibc's memset zeroes
 * 2 KiB and more with `rep stosb`, which on an Intel Ice Lake core ran 1.5x slower
 * from an address 16 or 48 bytes past a cache line: the same request cycle took
 * 1.02-1.53x the time in two copies of the library in one process, one copy's chunk
 * 48 bytes past a line, the other's on one (performance-analysis.md). */
#define CHUNK_DATA_ALIGNMENT 64u

/* A chunk of `capacity` bytes (at most 2 * MEM_MAX_ALLOCATION + 4096: no overflow). */
static mem__arena_chunk* chunk_new(size_t capacity) {
    /* The system allocator's blocks are 16-byte aligned: the data moves up by at most
     * CHUNK_DATA_ALIGNMENT - 16 bytes to reach a line. */
    size_t bytes = sizeof(mem__arena_chunk) + capacity + (CHUNK_DATA_ALIGNMENT - 16);
    void* block = mem__sys_alloc(bytes);
    if (block == NULL) {
        mem__out_of_memory(bytes);
        return NULL;
    }
    uintptr_t data = ((uintptr_t)block + sizeof(mem__arena_chunk) + CHUNK_DATA_ALIGNMENT - 1) &
                     ~(uintptr_t)(CHUNK_DATA_ALIGNMENT - 1);
    mem__arena_chunk* chunk = (mem__arena_chunk*)(data - offsetof(mem__arena_chunk, data));
    chunk->block = block;
    chunk->next = NULL;
    chunk->capacity = capacity;
    chunk->used = 0;
    mem__track_forbid(chunk->data, capacity);
    return chunk;
}

/* Wipes what was handed out (written lately, as a rule: a request's bytes) and marks
 * it inaccessible again. */
static void chunk_wipe(mem__arena_chunk* chunk) {
    mem__track_allow(chunk->data, chunk->used);
    mem__wipe_recent(chunk->data, chunk->used);
    mem__track_forbid(chunk->data, chunk->used);
    chunk->used = 0;
}

static void chunk_free(mem__arena_chunk* chunk) {
    chunk_wipe(chunk);
    mem__track_allow(chunk->data, chunk->capacity);
    mem__sys_free(chunk->block);
}

/* Bytes handed out from the current chunk. */
static size_t current_used(const MemoryArena* arena) {
    return (size_t)(arena->window.next - arena->current->data);
}

/* Records in the current chunk what the window handed out, before the window moves
 * or closes (a chunk's `used` is exact only for chunks other than the current one). */
static void close_current(MemoryArena* arena) { arena->current->used = current_used(arena); }

/* Makes `chunk` (a fresh or rewound one: nothing handed out) the current chunk. */
static void move_to(MemoryArena* arena, mem__arena_chunk* chunk) {
    close_current(arena);
    arena->current = chunk;
    arena->window.next = chunk->data;
    mem__arena_open(arena);
}

MemoryArena* mem__arena_new(size_t first_chunk_size) {
    MemoryArena* arena = mem__object_alloc(&mem__arena_kind);
    if (arena == NULL) {
        return NULL;
    }
    arena->first = chunk_new(first_chunk_size);
    if (arena->first == NULL) {
        arena->magic = MEM__ARENA_MAGIC_DEAD;
        mem__object_free(&mem__arena_kind, arena);
        return NULL;
    }
    arena->current = arena->first;
    arena->window.next = arena->first->data;
    mem__arena_open(arena);
    arena->flags = 0;
    arena->total_capacity = first_chunk_size;
    arena->request_owner = NULL;
    arena->next_owned = NULL;
    arena->magic = MEM__ARENA_MAGIC;
    return arena;
}

MemoryArena* mem__arena_check(const MemoryArena* arena) {
    if (arena == NULL) {
        return mem__fail_null(MEM_ERR_NULL_ARGUMENT);
    }
    if (arena->magic == MEM__ARENA_MAGIC_IDLE) {
        mem__log(MEM_LOG_WARNING, "request arena %p used after its release", (const void*)arena);
        return mem__fail_null(MEM_ERR_ARENA_STATE);
    }
    if (arena->magic != MEM__ARENA_MAGIC) {
        mem__log(MEM_LOG_WARNING, "%p is not a live MemoryArena", (const void*)arena);
        return mem__fail_null(MEM_ERR_INVALID_ARENA);
    }
    return (MemoryArena*)arena;
}

MemoryArena* mem_arena_create(size_t size) {
    if (size == 0) {
        return mem__fail_null(MEM_ERR_ZERO_SIZE);
    }
    if (size > MEM_MAX_ALLOCATION) {
        return mem__fail_null(MEM_ERR_SIZE_OVERFLOW);
    }
    return mem__arena_new(size);
}

/* Every chunk's data starts 16-byte aligned and every block's size is rounded up to
 * 16, so `used` stays a multiple of 16: an allocation at MEM_ARENA_ALIGNMENT (16 in
 * the default build) needs no padding computed from the address, which keeps the
 * chain from one allocation's `used` to the next short (load, add, store). */
#define MEM__ARENA_STEP 16u
_Static_assert(MEM_ARENA_ALIGNMENT % MEM__ARENA_STEP == 0, "arena alignment is a multiple of the step");

/* Padding before a block aligned to `alignment` at `at`: zero unless the alignment
 * exceeds the step (a constant for mem_arena_alloc). */
static size_t padding(const unsigned char* at, size_t alignment) {
    if (alignment <= MEM__ARENA_STEP) {
        return 0;
    }
    return (size_t)(mem__align_up((uintptr_t)at, alignment) - (uintptr_t)at);
}

/* `size` rounded up to the step (size is bounded by MEM_MAX_ALLOCATION: no overflow). */
static size_t rounded(size_t size) { return mem__align_up(size, MEM__ARENA_STEP); }

/* Hands out `size` bytes at the window's start after `pad` bytes of padding,
 * `needed` in all. */
static void* bump(MemoryArena* arena, size_t pad, size_t needed, size_t size) {
    unsigned char* result = arena->window.next + pad;
    arena->window.next += needed;
    if (MEM__TRACKING) {
        arena->window.end = arena->window.next;
    }
    mem__track_allow_undefined(result, size);
    return result;
}

/* Room for `needed` bytes in the current chunk. */
static bool room_for(const MemoryArena* arena, size_t needed) {
    const mem__arena_chunk* chunk = arena->current;
    return needed <= (size_t)(chunk->data + chunk->capacity - arena->window.next);
}

/* The current chunk is full: move on to a kept chunk that fits, or chain a new one.
 * Also answers bad arguments, which the fast path only screens. */
__attribute__((noinline)) static void* arena_alloc_slow(MemoryArena* arena, size_t size, size_t alignment) {
    if (mem__arena_check(arena) == NULL) {
        return NULL;
    }
    if (size == 0) {
        return mem__fail_null(MEM_ERR_ZERO_SIZE);
    }
    if (size > MEM_MAX_ALLOCATION) {
        return mem__fail_null(MEM_ERR_SIZE_OVERFLOW);
    }
    /* Valid arguments reach here only when the current chunk is full. Chunks kept by
     * an earlier rewind come next in the chain. */
    while (arena->current->next != NULL) {
        move_to(arena, arena->current->next);
        size_t pad = padding(arena->window.next, alignment);
        size_t needed = pad + rounded(size);
        if (room_for(arena, needed)) {
            return bump(arena, pad, needed, size);
        }
    }
    mem__arena_chunk* last = arena->current;
    size_t capacity = size + alignment; /* cannot overflow: both are bounded */
    if (capacity < 2 * last->capacity && last->capacity <= MEM_MAX_ALLOCATION) {
        capacity = 2 * last->capacity;
    }
    mem__arena_chunk* fresh = chunk_new(capacity);
    if (fresh == NULL) {
        return NULL;
    }
    last->next = fresh;
    arena->total_capacity += capacity;
    move_to(arena, fresh);
    size_t pad = padding(arena->window.next, alignment);
    return bump(arena, pad, pad + rounded(size), size);
}

/* The fast path: a live arena (a released request arena has another magic), 0 < size
 * <= MEM_MAX_ALLOCATION (one unsigned compare) and room in the current chunk (not the
 * window, which tracking builds keep empty). Everything else goes to arena_alloc_slow. */
static inline void* arena_alloc(MemoryArena* arena, size_t size, size_t alignment) {
    if (mem__likely(arena != NULL && arena->magic == MEM__ARENA_MAGIC && size - 1 < MEM_MAX_ALLOCATION)) {
        size_t pad = padding(arena->window.next, alignment);
        size_t needed = pad + rounded(size);
        if (mem__likely(room_for(arena, needed))) {
            return bump(arena, pad, needed, size);
        }
    }
    return arena_alloc_slow(arena, size, alignment);
}

_Static_assert(_Alignof(max_align_t) <= MEM_ARENA_ALIGNMENT, "arena blocks are suitable for any type");

void*(mem_arena_alloc)(MemoryArena* arena, size_t size) { return arena_alloc(arena, size, MEM_ARENA_ALIGNMENT); }

void* mem_arena_alloc_aligned(MemoryArena* arena, size_t size, size_t alignment) {
    if (!mem__is_power_of_two(alignment) || alignment > 4096) {
        return mem__fail_null(MEM_ERR_BAD_ALIGNMENT);
    }
    return arena_alloc(arena, size, alignment < MEM_ARENA_ALIGNMENT ? MEM_ARENA_ALIGNMENT : alignment);
}

void* mem_arena_calloc(MemoryArena* arena, size_t count, size_t size) {
    size_t bytes;
    if (mem__mul_overflows(count, size, &bytes)) {
        return mem__fail_null(MEM_ERR_SIZE_OVERFLOW);
    }
    void* block = mem_arena_alloc(arena, bytes);
    if (block != NULL) {
        memset(block, 0, bytes);
    }
    return block;
}

char* mem_arena_strdup(MemoryArena* arena, const char* text) {
    if (text == NULL) {
        return mem__fail_null(MEM_ERR_NULL_ARGUMENT);
    }
    size_t length = strlen(text) + 1;
    char* copy = mem_arena_alloc(arena, length);
    if (copy != NULL) {
        memcpy(copy, text, length);
    }
    return copy;
}

/* mem__arena_rewind's rare case, an arena that grew past its first chunk: wipes the
 * later chunks, keeps them while the total stays within `keep_bytes`, frees the rest.
 * Returns the bytes kept, the first chunk's included. Out of line, so that the common
 * case saves no registers for it. */
static mem__noinline size_t rewind_later_chunks(mem__arena_chunk* first, size_t keep_bytes) {
    size_t kept = first->capacity;
    mem__arena_chunk** link = &first->next;
    while (*link != NULL) {
        mem__arena_chunk* chunk = *link;
        if (kept + chunk->capacity <= keep_bytes) {
            chunk_wipe(chunk);
            kept += chunk->capacity;
            link = &chunk->next;
        } else {
            *link = chunk->next;
            chunk_free(chunk);
        }
    }
    return kept;
}

void mem__arena_rewind(MemoryArena* arena, size_t keep_bytes) {
    close_current(arena);
    mem__arena_chunk* first = arena->first;
    chunk_wipe(first);
    /* One chunk (a request's common case): it is the current one and all the capacity. */
    if (mem__unlikely(first->next != NULL)) {
        arena->total_capacity = rewind_later_chunks(first, keep_bytes);
        arena->current = first;
    }
    /* Closed, at the first chunk's start: two 8-byte stores, not the 16-byte vector
     * store the compiler would merge them into, whose register load would be an SSE
     * instruction right after the wipe's memset (mem__wipe_recent says why that waits). */
    arena->window.next = first->data;
    mem__compiler_barrier();
    arena->window.end = first->data;
}

void mem__arena_free(MemoryArena* arena) {
    close_current(arena);
    arena->window.next = arena->window.end = NULL;
    mem__arena_chunk* chunk = arena->first;
    while (chunk != NULL) {
        mem__arena_chunk* next = chunk->next;
        chunk_free(chunk);
        chunk = next;
    }
    arena->magic = MEM__ARENA_MAGIC_DEAD;
    arena->first = arena->current = NULL;
    mem__object_free(&mem__arena_kind, arena);
}

/* A plain arena (not a request arena) for reset and destroy, or NULL. */
static MemoryArena* plain_arena(MemoryArena* arena) {
    if (mem__arena_check(arena) == NULL) {
        return NULL;
    }
    if (arena->flags & MEM__ARENA_REQUEST) {
        return mem__fail_null(MEM_ERR_ARENA_STATE);
    }
    return arena;
}

bool mem_arena_reset(MemoryArena* arena) {
    if (plain_arena(arena) == NULL) {
        return false;
    }
    mem__arena_rewind(arena, 0);
    mem__arena_open(arena);
    return true;
}

bool mem_arena_destroy(MemoryArena* arena) {
    if (plain_arena(arena) == NULL) {
        return false;
    }
    mem__arena_free(arena);
    return true;
}

size_t mem_arena_used(const MemoryArena* arena) {
    if (mem__arena_check(arena) == NULL) {
        return 0;
    }
    size_t used = 0;
    for (const mem__arena_chunk* chunk = arena->first; chunk != NULL; chunk = chunk->next) {
        used += chunk == arena->current ? current_used(arena) : chunk->used;
    }
    return used;
}

size_t mem_arena_capacity(const MemoryArena* arena) {
    return mem__arena_check(arena) != NULL ? arena->total_capacity : 0;
}
