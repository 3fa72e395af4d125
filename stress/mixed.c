/*
 * mixed.c - the default mode: workers hammer a shared table of pointer slots. share
 * takes a share of a slot and keeps it a while (some go to another worker to check
 * and destroy: cross-thread release); write is a copy-on-write write that must carry
 * the current version; destroy replaces a slot's pointer; read is an RCU read of a
 * published pointer (one read in eight publishes instead); arena is a request-arena
 * burst with a nested request arena. Single-threaded seeded runs are reproducible.
 */
#define _DEFAULT_SOURCE 1

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "payload.h"

#define HELD_PER_THREAD 16     /* shares a worker keeps before checking and dropping them */
#define CONFIG_SLOT UINT32_MAX /* the slot id of the RCU-published payload */

static const char* const kinds[] = {"share", "write", "destroy", "read", "arena"};

typedef struct Slot {
    pthread_mutex_t lock;
    MemoryPointer* ptr; /* NULL after a failed re-create */
    uint64_t version;
    size_t size;
} Slot;

typedef struct Held {
    MemoryPointer* ptr;
    uint32_t slot;
    uint64_t version;
    size_t size;
} Held;

typedef struct MixedWorker {
    Held held[HELD_PER_THREAD];
    unsigned held_count;
    uint64_t last_config_version;
} MixedWorker;

/* Shares handed from one worker to another for checking and destroying. */
static struct {
    pthread_mutex_t lock;
    Held* items;
    size_t count;
    size_t capacity;
} handoff = {.lock = PTHREAD_MUTEX_INITIALIZER};

static Slot* slots;
static MixedWorker* states;
static MemoryPointer* config;
static pthread_mutex_t publish_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t config_version;
static unsigned mix_total;

/* Creates and fills a fresh pointer for `slot` (slot locked). */
static void refill_slot(Worker* w, uint32_t index) {
    Slot* s = &slots[index];
    size_t size;
    MemoryPointer* p = make_payload(w, "slot", index, s->version + 1, &size);
    if (p != NULL) {
        s->ptr = p;
        s->size = size;
        s->version++;
    }
}

/* Checks a held share still shows what it showed when taken, then destroys it. */
static void drop_held(Worker* w, Held h) {
    check_payload(mem_pointer_data(h.ptr), h.size, h.slot, h.version, INV_ISOLATION);
    if (!mem_pointer_destroy(h.ptr, &pool)) {
        call_failed(w);
    }
}

static void pass_to_another_thread(Held h) {
    pthread_mutex_lock(&handoff.lock);
    if (handoff.count == handoff.capacity) {
        size_t capacity = handoff.capacity ? handoff.capacity * 2 : 64;
        Held* grown = realloc(handoff.items, capacity * sizeof *grown);
        if (grown == NULL) {
            pthread_mutex_unlock(&handoff.lock);
            fprintf(stderr, "stress: out of memory for the handoff queue\n");
            exit(3);
        }
        handoff.items = grown;
        handoff.capacity = capacity;
    }
    handoff.items[handoff.count++] = h;
    pthread_mutex_unlock(&handoff.lock);
}

static bool take_from_another_thread(Held* out) {
    pthread_mutex_lock(&handoff.lock);
    bool got = handoff.count > 0;
    if (got) {
        *out = handoff.items[--handoff.count];
    }
    pthread_mutex_unlock(&handoff.lock);
    return got;
}

/* Picks a random slot and locks it. */
static Slot* lock_random_slot(Worker* w, uint32_t* index) {
    *index = (uint32_t)(next_random(w) % opt.slots);
    Slot* s = &slots[*index];
    pthread_mutex_lock(&s->lock);
    return s;
}

static void op_share(Worker* w) {
    MixedWorker* m = w->mode_state;
    uint32_t index;
    Slot* s = lock_random_slot(w, &index);
    if (s->ptr == NULL) {
        refill_slot(w, index);
        pthread_mutex_unlock(&s->lock);
        return;
    }
    MemoryPointer* share = mem_pointer_share(s->ptr, "share");
    Held h = {share, index, s->version, s->size};
    pthread_mutex_unlock(&s->lock);
    if (share == NULL) {
        call_failed(w);
        return;
    }
    check_payload(mem_pointer_data(share), h.size, index, h.version, INV_LOST_WRITE);
    if (m->held_count == HELD_PER_THREAD) {
        Held oldest = m->held[0];
        memmove(&m->held[0], &m->held[1], (HELD_PER_THREAD - 1) * sizeof(Held));
        m->held_count--;
        if (next_random(w) % 4 == 0) {
            pass_to_another_thread(oldest);
        } else {
            drop_held(w, oldest);
        }
    }
    m->held[m->held_count++] = h;
    Held foreign;
    if (next_random(w) % 4 == 0 && take_from_another_thread(&foreign)) {
        drop_held(w, foreign); /* cross-thread destroy */
    }
}

static void op_write(Worker* w) {
    uint32_t index;
    Slot* s = lock_random_slot(w, &index);
    if (s->ptr == NULL) {
        refill_slot(w, index);
    } else {
        void* data = mem_pointer_write(s->ptr, &pool);
        if (data == NULL) {
            call_failed(w);
        } else {
            /* The writable view (a copy when shared) must carry the current version. */
            check_payload(data, s->size, index, s->version, INV_LOST_WRITE);
            s->version++;
            payload_fill(data, s->size, index, w->index, s->version);
        }
    }
    pthread_mutex_unlock(&s->lock);
}

static void op_destroy(Worker* w) {
    uint32_t index;
    Slot* s = lock_random_slot(w, &index);
    if (s->ptr != NULL) {
        check_payload(mem_pointer_data(s->ptr), s->size, index, s->version, INV_LOST_WRITE);
        if (!mem_pointer_destroy(s->ptr, &pool)) {
            call_failed(w);
        }
        s->ptr = NULL;
    }
    refill_slot(w, index);
    pthread_mutex_unlock(&s->lock);
}

static void op_read(Worker* w) {
    MixedWorker* m = w->mode_state;
    if (next_random(w) % 8 == 0) { /* one in eight reads publishes a new version */
        size_t size = random_size(w);
        pthread_mutex_lock(&publish_lock);
        payload_fill(w->scratch, size, CONFIG_SLOT, w->index, config_version + 1);
        if (mem_pointer_publish(config, w->scratch, size, &pool)) {
            config_version++;
            if (opt.threads == 1) {
                /* Single-threaded runs are reproducible: the deferred release must
                 * happen at the same point of the sequence every time. */
                mem_rcu_barrier();
            }
        } else {
            call_failed(w);
        }
        pthread_mutex_unlock(&publish_lock);
        return;
    }
    size_t size = 0;
    const Payload* p = mem_pointer_read_lock(config, &size);
    if (p == NULL) {
        violated(INV_WIPED_LIVE);
        return;
    }
    switch (payload_check(p, size, CONFIG_SLOT)) {
    case PAYLOAD_OK:
        if (p->version < m->last_config_version) {
            violated(INV_VERSION_ORDER);
        }
        m->last_config_version = p->version;
        break;
    case PAYLOAD_WIPED:
        violated(INV_WIPED_LIVE);
        break;
    default:
        violated(INV_TORN_READ);
    }
    mem_pointer_read_unlock(config);
}

static bool arena_burst(Worker* w, MemoryArena* arena, unsigned count) {
    unsigned char* blocks[32];
    size_t sizes[32];
    for (unsigned i = 0; i < count; i++) {
        sizes[i] = 16 + next_random(w) % 497;
        blocks[i] = mem_arena_alloc(arena, sizes[i]);
        if (blocks[i] == NULL) {
            call_failed(w);
            return true;
        }
        memset(blocks[i], (int)(i + 1), sizes[i]);
    }
    for (unsigned i = 0; i < count; i++) {
        for (size_t b = 0; b < sizes[i]; b += 7) {
            if (blocks[i][b] != (unsigned char)(i + 1)) {
                return false;
            }
        }
    }
    return true;
}

static void op_arena(Worker* w) {
    MemoryArena* request = mem_request_arena_acquire();
    if (request == NULL) {
        call_failed(w);
        return;
    }
    bool intact = arena_burst(w, request, 1 + (unsigned)(next_random(w) % 32));
    MemoryArena* nested = mem_request_arena_acquire();
    if (nested == NULL) {
        call_failed(w);
    } else {
        intact = arena_burst(w, nested, 4) && intact;
        if (nested == request || !mem_request_arena_release(nested)) {
            intact = false;
        }
    }
    if (!mem_request_arena_release(request) || !intact) {
        violated(INV_ARENA_INTACT);
    }
}

static void (*const operations[])(Worker*) = {op_share, op_write, op_destroy, op_read, op_arena};

static unsigned mixed_op(Worker* w) {
    unsigned r = (unsigned)(next_random(w) % mix_total);
    unsigned kind = OP_READ;
    for (unsigned k = 0; k < OP_KINDS; k++) {
        if (r < opt.mix[k]) {
            kind = k;
            break;
        }
        r -= opt.mix[k];
    }
    operations[kind](w);
    return kind;
}

static bool mixed_setup(Worker* workers) {
    for (unsigned k = 0; k < OP_KINDS; k++) {
        mix_total += opt.mix[k];
    }
    slots = calloc(opt.slots, sizeof *slots);
    states = calloc(opt.threads, sizeof *states);
    unsigned char* first_config = malloc(opt.max_size);
    if (slots == NULL || states == NULL || first_config == NULL ||
        (config = mem_pointer_create("config", opt.max_size)) == NULL) {
        return false;
    }
    for (unsigned t = 0; t < opt.threads; t++) {
        workers[t].mode_state = &states[t];
    }
    for (unsigned i = 0; i < opt.slots; i++) {
        pthread_mutex_init(&slots[i].lock, NULL);
        refill_slot(&workers[0], i);
    }
    payload_fill(first_config, opt.min_size, CONFIG_SLOT, 0, 0);
    bool published = mem_pointer_publish(config, first_config, opt.min_size, &pool);
    free(first_config);
    return published;
}

static void mixed_worker_done(Worker* w) {
    MixedWorker* m = w->mode_state;
    while (m->held_count > 0) {
        drop_held(w, m->held[--m->held_count]);
    }
}

static uint64_t mixed_fingerprint(void) {
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (unsigned i = 0; i < opt.slots; i++) {
        uint64_t parts[3] = {slots[i].version, slots[i].size, slots[i].ptr ? mem_pointer_id(slots[i].ptr) : 0};
        for (unsigned k = 0; k < 3; k++) {
            h = (h ^ parts[k]) * UINT64_C(0x100000001b3);
        }
    }
    return (h ^ config_version) * UINT64_C(0x100000001b3);
}

static void mixed_teardown(Worker* workers) {
    Held h;
    while (take_from_another_thread(&h)) {
        drop_held(&workers[0], h);
    }
    for (unsigned i = 0; i < opt.slots; i++) {
        if (slots[i].ptr != NULL && mem_pointer_refcount(slots[i].ptr) != 1) {
            violated(INV_REFCOUNTS);
        }
    }
    for (unsigned i = 0; i < opt.slots; i++) {
        if (slots[i].ptr != NULL) {
            mem_pointer_destroy(slots[i].ptr, &pool);
        }
        pthread_mutex_destroy(&slots[i].lock);
    }
    mem_pointer_destroy(config, &pool);
    free(slots);
    free(states);
    free(handoff.items);
}

const Mode mode_mixed = {
    .name = "mixed",
    .kinds = 5,
    .kind_names = kinds,
    .setup = mixed_setup,
    .op = mixed_op,
    .worker_done = mixed_worker_done,
    .teardown = mixed_teardown,
    .fingerprint = mixed_fingerprint,
};
