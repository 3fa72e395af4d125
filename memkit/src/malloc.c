/*
 * malloc.c - mem_malloc & co.: blocks without handles. A block is a container in the
 * state MEM__STATE_BLOCK whose data the caller gets; it comes from the calling
 * thread's cache like any container (inline, no lock) and goes back through
 * mem__container_release (wiped; to the owner's remote list from another thread).
 *
 * Sizes round up to 16 bytes, so every block lands in a class whose payloads are
 * 16-byte aligned (32 from 32 bytes up: page.c). A block's `size` is what free wipes
 * and what mem_usable_size reports: the class capacity, or in tracked builds the size
 * asked for (the bytes past it are forbidden there, so they stay zero).
 *
 * A block aligned beyond its class comes from a larger block: the 32 bytes before
 * the aligned address are a header of their own (magic MEM__CONTAINER_MAGIC_ALIGNED)
 * whose `size` is the distance back to the container's data.
 */
#include "hot.h"

#include <errno.h>

#define BLOCK_GRANULE 16u /* alignof(max_align_t) on every supported target */
_Static_assert(_Alignof(max_align_t) <= BLOCK_GRANULE, "blocks are aligned for any type");

/* ---- size classes of small blocks: tables instead of mem__size_class's arithmetic
 * on the hot path. The macros are mem__size_class and mem__class_capacity (types.h)
 * as constant expressions for sizes up to 1 KiB; debug builds check every lookup. */
#define TABLE_GRANULES 64u /* blocks up to 1 KiB */
#define MSB_BELOW_1024(t) \
    ((t) >= 512 ? 9u : (t) >= 256 ? 8u : (t) >= 128 ? 7u : (t) >= 64 ? 6u : (t) >= 32 ? 5u : 4u)
#define CLASS_OF(s) \
    ((s) <= 16 ? 0u : 4u * (MSB_BELOW_1024((s)-1) - 4u) + ((((s)-1) >> (MSB_BELOW_1024((s)-1) - 2u)) & 3u) + 1u)
#define CAPACITY_OF(cls) ((5u + ((cls) + 3u) % 4u) << (((cls) + 3u) / 4u + 1u)) /* 16 for class 0 too */
#define ROW(i) /* classes and capacities of 16 * (8i .. 8i+7) bytes */                             \
    CELL(16u * (8u * (i))), CELL(16u * (8u * (i) + 1u)), CELL(16u * (8u * (i) + 2u)),               \
        CELL(16u * (8u * (i) + 3u)), CELL(16u * (8u * (i) + 4u)), CELL(16u * (8u * (i) + 5u)),      \
        CELL(16u * (8u * (i) + 6u)), CELL(16u * (8u * (i) + 7u))
#define CELL(s) CLASS_OF(s)
static const uint8_t granule_class[TABLE_GRANULES + 1] = {ROW(0), ROW(1), ROW(2), ROW(3), ROW(4),
                                                          ROW(5), ROW(6), ROW(7), CELL(1024u)};
#undef CELL
#define CELL(s) CAPACITY_OF(CLASS_OF(s))
static const uint16_t granule_capacity[TABLE_GRANULES + 1] = {ROW(0), ROW(1), ROW(2), ROW(3), ROW(4),
                                                              ROW(5), ROW(6), ROW(7), CELL(1024u)};
#undef CELL

/* ---- finding a block's container */

static MemoryContainer* header_before(const void* block) {
    return (MemoryContainer*)((uintptr_t)block - MEM__CONTAINER_HEADER);
}

/* The container of `block`, its page and its offset into the data, or NULL when
 * `block` is not a live block. */
static inline MemoryContainer* block_container(const void* block, mem__page** page, size_t* offset) {
    size_t into = 0; /* how far `block` lies into its block's data */
    if (mem__unlikely((uintptr_t)block % BLOCK_GRANULE != 0)) {
        return NULL; /* every block is 16-byte aligned: no header to read before this */
    }
    MemoryContainer* c = header_before(block);
    if (mem__unlikely(c->magic == MEM__CONTAINER_MAGIC_ALIGNED)) {
        into = c->size;
        if (into % 32 != 0 || into > (uintptr_t)block) {
            return NULL; /* an aligned block is a multiple of 32 bytes into its block */
        }
        c = header_before((const unsigned char*)block - into);
    }
    /* Relaxed: the block's holder is the caller; the state changes only when it is freed. */
    if (mem__unlikely(c->magic != MEM__CONTAINER_MAGIC || mem__atomic_load_relaxed(&c->state) != MEM__STATE_BLOCK)) {
        return NULL;
    }
    /* The page the header names (mem__cache_revive) once the page table agrees: one
     * load from the block, so what mem_free does next need not wait for the table's
     * two (the comparison runs beside it). */
    *page = (mem__page*)(uintptr_t)c->serial;
    *offset = into;
    return mem__likely(mem__page_confirms(*page, c) && (into == 0 || into < c->size)) ? c : NULL;
}

static mem__noinline MemoryContainer* refuse_block(const void* block, const char* call) {
    mem__set_error(MEM_ERR_INVALID_POINTER);
    mem__log(MEM_LOG_WARNING, "%s(%p) refused: not a live block (freed already, or not from mem_malloc)", call,
             block);
    return NULL;
}

/* ---- allocation */

static void* fail_errno(MemError error, int code) {
    mem__set_error(error);
    errno = code;
    return NULL;
}

/* block_new's out-of-line rest, after block_taking_last found not even a last block
 * to take: a block of class `cls` holding `held` bytes the general way. */
static mem__noinline void* block_obtain(struct mem__pool_state* st, unsigned cls, size_t held) {
    bool local;
    MemoryContainer* c = mem__container_obtain_general(st, cls, held, MEM__BIRTH_BLOCK, &local);
    if (mem__unlikely(c == NULL)) {
        errno = ENOMEM; /* the error code is set, the OOM handler called */
        return NULL;
    }
    return c->data;
}

/* block_obtain's common case, taken before it with nothing called but in tail
 * position (so no stack frame): the thread's queued page of class `cls` has one block
 * left, whose taking moves the page among the full ones. Under random replacement of
 * blocks of one size class every allocation lands here (a page gets one block back
 * at a time). */
static mem__noinline void* block_taking_last(struct mem__pool_state* st, unsigned cls, size_t held) {
    MemoryContainer* c = mem__container_take_inline(st, cls, held, MEM__BIRTH_BLOCK, true);
    return mem__likely(c != NULL) ? c->data : block_obtain(st, cls, held);
}

/* A block of `size` bytes from `st`, in a class of at least `min_class_size`. The
 * common case is inline and calls nothing, so it needs no stack frame. */
static mem__always_inline void* block_new(struct mem__pool_state* st, size_t size, size_t min_class_size) {
    if (mem__unlikely(size > MEM_MAX_ALLOCATION)) {
        return fail_errno(MEM_ERR_SIZE_OVERFLOW, ENOMEM);
    }
    size_t rounded = (size + (BLOCK_GRANULE - 1)) & ~(size_t)(BLOCK_GRANULE - 1);
    if (rounded < min_class_size) {
        rounded = min_class_size;
    }
    unsigned cls;
    size_t capacity;
    if (mem__likely(rounded <= TABLE_GRANULES * BLOCK_GRANULE)) {
        cls = granule_class[rounded / BLOCK_GRANULE];
        capacity = granule_capacity[rounded / BLOCK_GRANULE];
        mem__assert(cls == mem__size_class(rounded) && capacity == mem__class_capacity(cls));
    } else {
        cls = mem__size_class(rounded);
        capacity = mem__class_capacity(cls);
    }
    size_t held = MEM__TRACKING ? (size != 0 ? size : 1) : capacity;
    MemoryContainer* c = mem__container_take_inline(st, cls, held, MEM__BIRTH_BLOCK, false);
    return mem__likely(c != NULL) ? c->data : block_taking_last(st, cls, held);
}

/* block_new for every caller but mem_malloc, which inlines it: one copy of the fast
 * path for the rest. */
static mem__noinline void* block_new_at(struct mem__pool_state* st, size_t size, size_t min_class_size) {
    return block_new(st, size, min_class_size);
}

static struct mem__pool_state* pool_for_blocks(MemoryPool* pool) {
    struct mem__pool_state* st = mem__pool_state_of(pool);
    if (mem__unlikely(st == NULL)) {
        errno = EINVAL;
    }
    return st;
}

void* mem_pool_malloc(MemoryPool* pool, size_t size) {
    struct mem__pool_state* st = pool_for_blocks(pool);
    return st != NULL ? block_new_at(st, size, 0) : NULL;
}

/* `count` * `size` bytes from `st` (NULL: its error is set already). */
static void* calloc_from(struct mem__pool_state* st, size_t count, size_t size) {
    size_t total;
    if (__builtin_mul_overflow(count, size, &total)) {
        return fail_errno(MEM_ERR_SIZE_OVERFLOW, ENOMEM);
    }
    return st != NULL ? block_new_at(st, total, 0) : NULL; /* blocks read zero when handed out */
}

void* mem_pool_calloc(MemoryPool* pool, size_t count, size_t size) {
    return calloc_from(pool_for_blocks(pool), count, size);
}

static void* aligned_new(struct mem__pool_state* st, size_t alignment, size_t size) {
    if (alignment == 0 || (alignment & (alignment - 1)) != 0) {
        return fail_errno(MEM_ERR_BAD_ALIGNMENT, EINVAL);
    }
    /* Payloads of 32 bytes and more are 32-byte aligned, MEM_ALIGNMENT-aligned always. */
    size_t natural = MEM_ALIGNMENT > 32 ? MEM_ALIGNMENT : 32;
    if (alignment <= BLOCK_GRANULE) {
        return block_new_at(st, size, 0);
    }
    if (alignment <= natural) {
        return block_new_at(st, size, 32);
    }
    size_t padded;
    if (__builtin_add_overflow(size, alignment, &padded)) {
        return fail_errno(MEM_ERR_SIZE_OVERFLOW, ENOMEM);
    }
    unsigned char* data = block_new_at(st, padded, 32);
    if (data == NULL) {
        return NULL;
    }
    unsigned char* block = (unsigned char*)mem__align_up((uintptr_t)data, alignment);
    if (block != data) { /* at least 32 bytes further: both are 32-byte aligned */
        MemoryContainer* pad = header_before(block);
        memset(pad, 0, MEM__CONTAINER_HEADER);
        pad->size = (size_t)(block - data);
        pad->magic = MEM__CONTAINER_MAGIC_ALIGNED;
    }
    return block;
}

void* mem_pool_aligned_alloc(MemoryPool* pool, size_t alignment, size_t size) {
    struct mem__pool_state* st = pool_for_blocks(pool);
    return st != NULL ? aligned_new(st, alignment, size) : NULL;
}

/* ---- release and size */

void mem_free(void* block) {
    if (block == NULL) {
        return;
    }
    size_t offset;
    mem__page* page;
    MemoryContainer* c = block_container(block, &page, &offset);
    if (mem__unlikely(c == NULL)) {
        refuse_block(block, "mem_free");
        return;
    }
    /* Inline (hot.h), the page from the header again (checked above); errno stays:
     * nothing on its paths sets it (mem__sys_free keeps it). */
    mem__container_release_in(NULL, c);
}

size_t mem_usable_size(const void* block) {
    if (block == NULL) {
        return 0;
    }
    size_t offset;
    mem__page* page;
    const MemoryContainer* c = block_container(block, &page, &offset);
    if (c == NULL) {
        refuse_block(block, "mem_usable_size");
        return 0;
    }
    return c->size - offset;
}

/* `block` resized, a new block from `st` when it must move (NULL: from the block's
 * own pool). */
static void* block_resize(struct mem__pool_state* st, void* block, size_t size) {
    size_t offset;
    mem__page* page;
    MemoryContainer* c = block_container(block, &page, &offset);
    if (c == NULL) {
        refuse_block(block, "mem_realloc");
        errno = EINVAL;
        return NULL;
    }
    if (st == NULL) {
        st = page->pool;
    }
    size_t usable = c->size - offset;
    /* In place when the block is big enough and not twice too big (tracked builds:
     * only the same size, so the tools see the new end). */
    bool fits = MEM__TRACKING ? size == usable : size <= usable && size >= usable / 2;
    if (fits && offset == 0) {
        return block;
    }
    void* fresh = block_new_at(st, size, 0);
    if (fresh == NULL) {
        return NULL;
    }
    memcpy(fresh, block, size < usable ? size : usable);
    mem_free(block);
    return fresh;
}

void* mem_pool_realloc(MemoryPool* pool, void* block, size_t size) {
    struct mem__pool_state* st = pool_for_blocks(pool);
    if (st == NULL) {
        return NULL;
    }
    return block == NULL ? block_new_at(st, size, 0) : block_resize(st, block, size);
}

/* ---- the default pool */

MemoryPool mem__default_pool;

MemoryPool* mem_default_pool(void) {
    /* Acquire: pairs with the release store of mem_pool_init; a pool seen set up is
     * set up completely. */
    if (mem__likely(mem__atomic_load_acquire(&mem__default_pool.state) != NULL)) {
        return &mem__default_pool;
    }
    /* Made under the fork guard, which fork's handlers take first (installed before
     * it is taken here, as pthread_atfork waits for a fork in progress, whose
     * handlers wait for the guard): a fork waits until the pool is made, so no child
     * is left with the guard held and the pool half made. */
    mem__fork_handlers_install();
    mem__rcu_fork_handlers_install();
    mem__mutex_lock(&mem__fork_guard);
    bool ready = mem__atomic_load_relaxed(&mem__default_pool.state) != NULL || mem_pool_init(&mem__default_pool, 0);
    mem__mutex_unlock(&mem__fork_guard);
    return ready ? &mem__default_pool : NULL; /* the error is set: out of memory */
}

/* The default pool's state, set up on first use (NULL, errno ENOMEM, when that
 * fails). */
static mem__noinline struct mem__pool_state* default_state_slow(void) {
    MemoryPool* pool = mem_default_pool();
    if (mem__unlikely(pool == NULL)) {
        errno = ENOMEM;
        return NULL;
    }
    return mem__atomic_load_relaxed(&pool->state);
}

static inline struct mem__pool_state* default_state(void) {
    /* Acquire, as in mem_default_pool. */
    struct mem__pool_state* st = mem__atomic_load_acquire(&mem__default_pool.state);
    return mem__likely(st != NULL) ? st : default_state_slow();
}

/* mem_malloc before the default pool is set up. */
static mem__noinline void* malloc_first(size_t size) {
    struct mem__pool_state* st = default_state_slow();
    return st != NULL ? block_new_at(st, size, 0) : NULL;
}

void* mem_malloc(size_t size) {
    /* Acquire, as in mem_default_pool. */
    struct mem__pool_state* st = mem__atomic_load_acquire(&mem__default_pool.state);
    return mem__likely(st != NULL) ? block_new(st, size, 0) : malloc_first(size);
}

void* mem_calloc(size_t count, size_t size) { return calloc_from(default_state(), count, size); }

void* mem_aligned_alloc(size_t alignment, size_t size) {
    struct mem__pool_state* st = default_state();
    return st != NULL ? aligned_new(st, alignment, size) : NULL;
}

void* mem_realloc(void* block, size_t size) {
    return block == NULL ? mem_malloc(size) : block_resize(NULL, block, size); /* stays in its pool */
}
