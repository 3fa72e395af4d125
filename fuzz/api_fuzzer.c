/*
 * api_fuzzer.c - libFuzzer target: reads its input as a sequence of libmemkit API
 * operations over two pools, sixteen pointer slots and four arenas, with sizes drawn
 * from the input (0, huge and overflowing ones included) and system-allocation
 * failures injected through mem_set_allocator. A shadow model says what every live
 * handle must read back (copy-on-write included), what each arena allocation holds,
 * and which error each call must report; any difference, a failed validation or a
 * leak at the end aborts. Built thread-safe and with MEM_THREAD_SAFE=0 (fuzz/run.sh).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_support.h"
#include "memkit.h"

#define POOLS 2
#define SLOTS 16
#define ARENAS 4
#define ARENA_BLOCKS 32
#define STALE 8

static uint64_t oom_calls;
static void on_oom(size_t requested) {
    (void)requested;
    oom_calls++;
}

/* A call failed: fine only as OOM while failures are injected, else as `expected`. */
static void failed_as(MemError expected) {
    MemError e = mem_last_error();
    if (e == MEM_ERR_OUT_OF_MEMORY) {
        CHECK(fail_every != 0 || expected == MEM_ERR_OUT_OF_MEMORY);
    } else {
        CHECK(e == expected);
    }
}

/* ---- the shadow model ----------------------------------------------------------------- */

typedef struct Content {
    unsigned char* bytes;
    size_t size;
    int refs;
} Content;

typedef struct Slot {
    MemoryPointer* ptr; /* NULL: empty slot */
    Content* content;   /* NULL: not allocated */
    int pool;
    bool published;
} Slot;

typedef struct ArenaModel {
    MemoryArena* arena;
    unsigned char* blocks[ARENA_BLOCKS];
    size_t sizes[ARENA_BLOCKS];
    uint8_t fill[ARENA_BLOCKS];
    int count;
} ArenaModel;

static MemoryPool pools[POOLS];
static bool pool_alive[POOLS];
static Slot slots[SLOTS];
static ArenaModel arenas[ARENAS];
/* Recently destroyed handles, for double-destroy checks; only used while their slot
 * memory is certainly still quarantined (fewer than QUARANTINE_SAFE destroys ago). */
#define QUARANTINE_SAFE (MEM_HANDLE_QUARANTINE / 2)
static MemoryPointer* stale[STALE];
static uint64_t stale_when[STALE];
static int stale_count;
static uint64_t destroys;
static bool published_any; /* only then are releases deferred, worth a barrier */

static void wait_for_deferred_releases(void) {
    if (published_any) {
        mem_rcu_barrier();
    }
}

static Content* content_new(size_t size, uint8_t fill) {
    Content* c = malloc(sizeof *c);
    c->bytes = malloc(size);
    memset(c->bytes, fill, size);
    c->size = size;
    c->refs = 1;
    return c;
}

static void content_drop(Content* c) {
    if (c != NULL && --c->refs == 0) {
        free(c->bytes);
        free(c);
    }
}

static void check_content(const Slot* s) {
    CHECK(mem_pointer_size(s->ptr) == s->content->size);
    const unsigned char* data = mem_pointer_data(s->ptr);
    CHECK(data != NULL && memcmp(data, s->content->bytes, s->content->size) == 0);
}

static void remember_stale(MemoryPointer* p) {
    int at = stale_count < STALE ? stale_count++ : (int)(destroys % STALE);
    stale[at] = p;
    stale_when[at] = destroys++;
}

static void forget_stale(void) { stale_count = 0; } /* their memory may be reused later */

/* ---- operations ------------------------------------------------------------------- */

static void op_pool_init(Input* in) {
    int p = take8(in) % POOLS;
    if (pool_alive[p]) {
        return;
    }
    if (mem_pool_init(&pools[p], take8(in) % 64)) {
        pool_alive[p] = true;
    } else {
        failed_as(MEM_ERR_OUT_OF_MEMORY);
    }
}

/* Destroys slot i's handle; also the handle of a destroyed pool, whose container
 * went with the pool (pointer.h). */
static void destroy_slot(int i) {
    Slot* s = &slots[i];
    CHECK(mem_pointer_destroy(s->ptr, s->content ? &pools[s->pool] : NULL));
    remember_stale(s->ptr);
    content_drop(s->content);
    *s = (Slot){0};
}

static void op_pool_destroy(Input* in) {
    int p = take8(in) % POOLS;
    bool leave_handles = take8(in) & 1;
    if (!pool_alive[p]) {
        mem_pool_destroy(&pools[p]);
        CHECK(mem_last_error() == MEM_ERR_INVALID_POOL);
        return;
    }
    for (int i = 0; i < SLOTS; i++) {
        if (slots[i].ptr && slots[i].content && slots[i].pool == p && !leave_handles) {
            destroy_slot(i);
        }
    }
    mem_pool_destroy(&pools[p]);
    pool_alive[p] = false;
    for (int i = 0; i < SLOTS; i++) {
        if (slots[i].ptr && slots[i].content && slots[i].pool == p) {
            CHECK(mem_pointer_data(slots[i].ptr) == NULL && mem_last_error() == MEM_ERR_INVALID_POOL);
            CHECK(mem_pointer_share(slots[i].ptr, "x") == NULL && mem_last_error() == MEM_ERR_INVALID_POOL);
            destroy_slot(i); /* the handle is freed; its container went with the pool */
        }
    }
}

static int free_slot(void) {
    for (int i = 0; i < SLOTS; i++) {
        if (slots[i].ptr == NULL) {
            return i;
        }
    }
    return -1;
}

static void op_create(Input* in) {
    int i = free_slot();
    size_t hint = take_size(in);
    if (i < 0) {
        return;
    }
    char name[40];
    uint8_t length_byte = take8(in);
    size_t n = length_byte % sizeof name;
    for (size_t k = 0; k < n; k++) {
        name[k] = (char)('a' + take8(in) % 26);
    }
    name[n == sizeof name ? n - 1 : n] = '\0';
    MemoryPointer* p;
    if (length_byte >= 200) {
        /* The name by length, from an allocation of exactly its bytes, unterminated:
         * AddressSanitizer reports a read past them. */
        char* counted = malloc(n > 0 ? n : 1);
        CHECK(counted != NULL);
        memcpy(counted, name, n);
        p = mem_pointer_create_n(counted, n, hint);
        free(counted);
    } else {
        p = mem_pointer_create(name, hint);
    }
    if (hint > MEM_MAX_ALLOCATION) {
        CHECK(p == NULL && mem_last_error() == MEM_ERR_SIZE_OVERFLOW);
        return;
    }
    if (p == NULL) {
        failed_as(MEM_ERR_OUT_OF_MEMORY);
        return;
    }
    CHECK(strncmp(p->name, name, MEM_POINTER_NAME_MAX - 1) == 0);
    slots[i] = (Slot){.ptr = p};
}

static void op_allocate(Input* in) {
    Slot* s = &slots[take8(in) % SLOTS];
    int p = take8(in) % POOLS;
    size_t size = take_size(in);
    if (s->ptr == NULL) {
        return;
    }
    bool ok = mem_pointer_allocate(s->ptr, size, &pools[p]);
    if (!pool_alive[p]) {
        CHECK(!ok && mem_last_error() == MEM_ERR_INVALID_POOL);
    } else if (size == 0) {
        CHECK(!ok && mem_last_error() == MEM_ERR_ZERO_SIZE);
    } else if (size > MEM_MAX_ALLOCATION) {
        CHECK(!ok && mem_last_error() == MEM_ERR_SIZE_OVERFLOW);
    } else if (s->content != NULL) {
        CHECK(!ok && mem_last_error() == MEM_ERR_ALREADY_ALLOCATED);
    } else if (!ok) {
        failed_as(MEM_ERR_OUT_OF_MEMORY);
    } else {
        uint8_t fill = take8(in);
        unsigned char* data = mem_pointer_write(s->ptr, &pools[p]); /* unshared: in place */
        CHECK(data == s->ptr->container->data);
        memset(data, fill, size);
        s->content = content_new(size, fill);
        s->pool = p;
    }
}

static void op_share(Input* in) {
    Slot* src = &slots[take8(in) % SLOTS];
    int i = free_slot();
    if (src->ptr == NULL || i < 0) {
        return;
    }
    MemoryPointer* p = mem_pointer_share(src->ptr, "share");
    if (src->content == NULL) {
        CHECK(p == NULL && mem_last_error() == MEM_ERR_NOT_ALLOCATED);
    } else if (p == NULL) {
        failed_as(MEM_ERR_OUT_OF_MEMORY);
    } else {
        src->content->refs++;
        slots[i] = (Slot){.ptr = p, .content = src->content, .pool = src->pool, .published = false};
        CHECK(p->container == src->ptr->container);
    }
}

static void op_write(Input* in) {
    Slot* s = &slots[take8(in) % SLOTS];
    int p = take8(in) % POOLS;
    size_t offset = take16(in);
    uint8_t value = take8(in);
    if (s->ptr == NULL) {
        return;
    }
    unsigned char* data = mem_pointer_write(s->ptr, &pools[p]);
    if (!pool_alive[p]) {
        CHECK(data == NULL && mem_last_error() == MEM_ERR_INVALID_POOL);
    } else if (s->content == NULL) {
        CHECK(data == NULL && mem_last_error() == MEM_ERR_NOT_ALLOCATED);
    } else if (s->pool != p) {
        CHECK(data == NULL && mem_last_error() == MEM_ERR_WRONG_POOL);
    } else if (s->published) {
        CHECK(data == NULL && mem_last_error() == MEM_ERR_PUBLISHED);
    } else if (data == NULL) {
        failed_as(MEM_ERR_OUT_OF_MEMORY);
        CHECK(s->content->refs > 1); /* only a copy can need memory */
    } else {
        if (s->content->refs > 1) { /* copy-on-write in the model too */
            Content* copy = content_new(s->content->size, 0);
            memcpy(copy->bytes, s->content->bytes, copy->size);
            content_drop(s->content);
            s->content = copy;
        }
        CHECK(memcmp(data, s->content->bytes, s->content->size) == 0);
        offset %= s->content->size;
        data[offset] = value;
        s->content->bytes[offset] = value;
    }
}

static void op_destroy(Input* in) {
    int i = take8(in) % SLOTS;
    int pick = stale_count > 0 ? take8(in) % stale_count : 0;
    if (take8(in) % 4 == 0 && stale_count > 0 && destroys - stale_when[pick] < QUARANTINE_SAFE) {
        MemoryPointer* old = stale[pick];
        CHECK(!mem_pointer_destroy(old, &pools[0]) && mem_last_error() == MEM_ERR_INVALID_POINTER);
        CHECK(mem_pointer_data(old) == NULL && mem_last_error() == MEM_ERR_INVALID_POINTER);
        return;
    }
    Slot* s = &slots[i];
    if (s->ptr == NULL) {
        return;
    }
    int other = (s->pool + 1) % POOLS;
    if (s->content != NULL && pool_alive[other] && take8(in) % 4 == 0) {
        CHECK(!mem_pointer_destroy(s->ptr, &pools[other]) && mem_last_error() == MEM_ERR_WRONG_POOL);
        return;
    }
    destroy_slot(i);
}

static void op_publish(Input* in) {
    Slot* s = &slots[take8(in) % SLOTS];
    int p = take8(in) % POOLS;
    size_t size = take_size(in);
    if (s->ptr == NULL || (size > 65536 && size <= MEM_MAX_ALLOCATION)) {
        return;
    }
    size_t buffer_size = size <= 65536 ? size : 1; /* oversized: refused before copying */
    unsigned char* bytes = malloc(buffer_size ? buffer_size : 1);
    uint8_t fill = take8(in);
    memset(bytes, fill, buffer_size);
    bool ok = mem_pointer_publish(s->ptr, bytes, size, &pools[p]);
    free(bytes);
    if (!pool_alive[p]) {
        CHECK(!ok && mem_last_error() == MEM_ERR_INVALID_POOL);
    } else if (s->content != NULL && s->pool != p) {
        CHECK(!ok && mem_last_error() == MEM_ERR_WRONG_POOL);
    } else if (size == 0) {
        CHECK(!ok && mem_last_error() == MEM_ERR_ZERO_SIZE);
    } else if (size > MEM_MAX_ALLOCATION) {
        CHECK(!ok && mem_last_error() == MEM_ERR_SIZE_OVERFLOW);
    } else if (!ok) {
        failed_as(MEM_ERR_OUT_OF_MEMORY);
    } else {
        content_drop(s->content);
        s->content = content_new(size, fill);
        s->pool = p;
        s->published = true;
        published_any = true;
    }
}

/* An unlock with no section to leave is refused and leaves the thread's sections as
 * they were. */
static void unlock_too_many(const MemoryPointer* ptr) {
    mem_clear_error();
    mem_pointer_read_unlock(ptr);
    CHECK(mem_last_error() == MEM_ERR_NOT_IN_READ_SECTION);
}

static void op_read(Input* in) {
    unsigned choice = take8(in);
    Slot* s = &slots[choice % SLOTS];
    bool unbalanced = (choice / SLOTS) % 2 != 0; /* a bit the slot number leaves unused */
    if (s->ptr == NULL) {
        return;
    }
    size_t size = 0;
    const unsigned char* data = mem_pointer_read_lock(s->ptr, &size);
    if (s->content == NULL) {
        CHECK(data == NULL && mem_last_error() == MEM_ERR_NOT_ALLOCATED);
        if (unbalanced) {
            unlock_too_many(s->ptr); /* the failed lock entered no section */
        }
        return;
    }
    CHECK(data != NULL && size == s->content->size && memcmp(data, s->content->bytes, size) == 0);
    mem_pointer_read_unlock(s->ptr);
    if (unbalanced) {
        unlock_too_many(s->ptr);
    }
}

static void op_arena_create(Input* in) {
    ArenaModel* a = &arenas[take8(in) % ARENAS];
    size_t size = take_size(in);
    if (a->arena != NULL) {
        return;
    }
    a->arena = mem_arena_create(size);
    if (size == 0) {
        CHECK(a->arena == NULL && mem_last_error() == MEM_ERR_ZERO_SIZE);
    } else if (size > MEM_MAX_ALLOCATION) {
        CHECK(a->arena == NULL && mem_last_error() == MEM_ERR_SIZE_OVERFLOW);
    } else if (a->arena == NULL) {
        failed_as(MEM_ERR_OUT_OF_MEMORY);
    }
    a->count = 0;
}

static void op_arena_alloc(Input* in) {
    ArenaModel* a = &arenas[take8(in) % ARENAS];
    int kind = take8(in) % 3;
    size_t size = take_size(in);
    size_t alignment = (size_t)1 << (take8(in) % 14);
    if (take8(in) % 16 == 0) {
        alignment += 1; /* not a power of two (or 0 -> 1) */
    }
    if (a->arena == NULL) {
        return;
    }
    unsigned char* block;
    size_t count = 1, bytes = size;
    if (kind == 0) {
        block = mem_arena_alloc(a->arena, size);
    } else if (kind == 1) {
        block = mem_arena_alloc_aligned(a->arena, size, alignment);
    } else {
        count = 1 + take8(in) % 8;
        block = mem_arena_calloc(a->arena, count, size);
        bytes = __builtin_mul_overflow(count, size, &bytes) ? SIZE_MAX : bytes;
    }
    bool bad_alignment = kind == 1 && (!alignment || (alignment & (alignment - 1)) || alignment > 4096);
    if (bad_alignment) {
        CHECK(block == NULL && mem_last_error() == MEM_ERR_BAD_ALIGNMENT);
    } else if (bytes == 0) {
        CHECK(block == NULL && mem_last_error() == MEM_ERR_ZERO_SIZE);
    } else if (bytes > MEM_MAX_ALLOCATION) {
        CHECK(block == NULL && mem_last_error() == MEM_ERR_SIZE_OVERFLOW);
    } else if (block == NULL) {
        failed_as(MEM_ERR_OUT_OF_MEMORY);
    } else {
        CHECK((uintptr_t)block % (kind == 1 && alignment > MEM_ALIGNMENT ? alignment : MEM_ALIGNMENT) == 0);
        for (size_t k = 0; kind == 2 && k < bytes; k++) {
            CHECK(block[k] == 0);
        }
        if (a->count < ARENA_BLOCKS) {
            uint8_t fill = take8(in);
            memset(block, fill, bytes);
            a->blocks[a->count] = block;
            a->sizes[a->count] = bytes;
            a->fill[a->count++] = fill;
        }
    }
}

static void check_arena(const ArenaModel* a) {
    for (int b = 0; b < a->count; b++) {
        for (size_t k = 0; k < a->sizes[b]; k += 1 + a->sizes[b] / 64) {
            CHECK(a->blocks[b][k] == a->fill[b]);
        }
    }
}

static void op_arena_reset_or_destroy(Input* in) {
    ArenaModel* a = &arenas[take8(in) % ARENAS];
    bool destroy = take8(in) & 1;
    if (a->arena == NULL) {
        return;
    }
    check_arena(a);
    if (destroy) {
        CHECK(mem_arena_destroy(a->arena));
        CHECK(!mem_arena_destroy(a->arena) && mem_last_error() == MEM_ERR_INVALID_ARENA);
        a->arena = NULL;
    } else {
        CHECK(mem_arena_reset(a->arena));
        CHECK(mem_arena_used(a->arena) == 0);
    }
    a->count = 0;
}

static void op_request_arena(Input* in) {
    MemoryArena* r = mem_request_arena_acquire();
    if (r == NULL) {
        failed_as(MEM_ERR_OUT_OF_MEMORY);
        return;
    }
    int n = take8(in) % 8;
    for (int k = 0; k < n; k++) {
        size_t size = 1 + take8(in) * 8u;
        unsigned char* b = mem_arena_alloc(r, size);
        if (b == NULL) {
            failed_as(MEM_ERR_OUT_OF_MEMORY);
        } else {
            memset(b, 0xAB, size);
        }
    }
    CHECK(mem_request_arena_release(r));
    CHECK(!mem_request_arena_release(r) && mem_last_error() == MEM_ERR_ARENA_STATE);
}

static void op_pool_wide(Input* in) {
    int p = take8(in) % POOLS;
    int what = take8(in) % 4;
    if (!pool_alive[p]) {
        CHECK(!mem_pool_validate(&pools[p]) && mem_last_error() == MEM_ERR_INVALID_POOL);
        return;
    }
    if (what == 0) {
        mem_pool_trim(&pools[p]);
    } else if (what == 1) {
        CHECK(mem_pool_set_orphan_budget(&pools[p], take16(in) * 64u));
    }
    CHECK(mem_pool_validate(&pools[p]));
    MemPoolStats s;
    size_t live = 0; /* distinct contents of this pool's live handles = live containers */
    for (int i = 0; i < SLOTS; i++) {
        bool first = slots[i].ptr && slots[i].content && slots[i].pool == p;
        for (int j = 0; first && j < i; j++) {
            first = !(slots[j].content == slots[i].content);
        }
        live += first;
    }
    wait_for_deferred_releases();
    CHECK(mem_pool_stats(&pools[p], &s));
    CHECK(s.live_containers == live);
}

static void op_failures(Input* in) {
    uint8_t v = take8(in);
    fail_every = v < 128 ? 0 : 2 + v % 16;
    calls = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static bool once = false;
    if (!once) {
        mem_set_log_sink(NULL, NULL);
        mem_set_oom_handler(on_oom);
        MemAllocator a = {fuzz_alloc, fuzz_realloc, fuzz_free, NULL};
        mem_set_allocator(&a);
        once = true;
    }
    fail_every = 0;
    failures = oom_calls = 0;
    Input in = {data, size};
    while (in.size > 0) {
        switch (take8(&in) % 16) {
        case 0: op_pool_init(&in); break;
        case 1: op_pool_destroy(&in); break;
        case 2: case 3: op_create(&in); break;
        case 4: case 5: op_allocate(&in); break;
        case 6: op_share(&in); break;
        case 7: case 8: op_write(&in); break;
        case 9: op_destroy(&in); break;
        case 10: op_publish(&in); break;
        case 11: op_read(&in); break;
        case 12: op_arena_create(&in); op_arena_alloc(&in); break;
        case 13: op_arena_alloc(&in); op_arena_reset_or_destroy(&in); break;
        case 14: op_request_arena(&in); break;
        default: op_pool_wide(&in); op_failures(&in); break;
        }
        for (int i = 0; i < SLOTS; i++) {
            if (slots[i].ptr && slots[i].content && pool_alive[slots[i].pool]) {
                check_content(&slots[i]);
            }
        }
    }
    fail_every = 0; /* the end: clean up without failures, then look for leaks */
    for (int a = 0; a < ARENAS; a++) {
        if (arenas[a].arena) {
            check_arena(&arenas[a]);
            CHECK(mem_arena_destroy(arenas[a].arena));
            arenas[a].arena = NULL;
        }
    }
    for (int i = 0; i < SLOTS; i++) {
        if (slots[i].ptr) {
            destroy_slot(i);
        }
    }
    wait_for_deferred_releases();
    published_any = false;
    for (int p = 0; p < POOLS; p++) {
        if (pool_alive[p]) {
            MemPoolStats s;
            CHECK(mem_pool_validate(&pools[p]) && mem_pool_stats(&pools[p], &s) && s.live_containers == 0);
            mem_pool_destroy(&pools[p]);
            pool_alive[p] = false;
        }
    }
    CHECK(oom_calls == failures); /* every failed system allocation reached the OOM handler */
    forget_stale();
    return 0;
}
