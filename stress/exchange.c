/*
 * exchange.c - many threads swap handles through a shared slot array: each operation
 * makes a payload (or a share of one it received), swaps it into a random slot with
 * an atomic exchange, and checks and destroys what it took out. Handles, shares and
 * owner-counted references cross threads in every direction, as in a server whose
 * workers pass buffers around.
 */
#include <stdlib.h>

#include "harness.h"
#include "payload.h"

static const char* const kinds[] = {"swap", "check"};

typedef struct Exchanged {
    MemoryPointer* ptr;
    uint32_t maker;
    uint64_t version;
    size_t size;
} Exchanged;

static _Atomic(Exchanged*)* table;
static uint64_t* made; /* per worker: versions made so far */

static void check_and_destroy(Worker* w, Exchanged* e) {
    check_payload(mem_pointer_data(e->ptr), e->size, e->maker, e->version, INV_HANDOFF);
    if (!mem_pointer_destroy(e->ptr, &pool)) {
        call_failed(w);
    }
    free(e);
}

static unsigned exchange_op(Worker* w) {
    Exchanged* e = malloc(sizeof *e);
    if (e == NULL) {
        return 0;
    }
    e->maker = w->index;
    e->version = ++made[w->index];
    e->ptr = make_payload(w, "exchanged", e->maker, e->version, &e->size);
    if (e->ptr == NULL) {
        free(e);
        return 0;
    }
    Exchanged* taken = atomic_exchange(&table[next_random(w) % opt.slots], e);
    if (taken == NULL) {
        return 0;
    }
    if (next_random(w) % 2 == 0) {
        /* Pass a share of what came in back into the table, keep checking the rest. */
        Exchanged* again = malloc(sizeof *again);
        MemoryPointer* share = again != NULL ? mem_pointer_share(taken->ptr, "exchanged share") : NULL;
        if (share != NULL) {
            *again = *taken;
            again->ptr = share;
            Exchanged* out = atomic_exchange(&table[next_random(w) % opt.slots], again);
            if (out != NULL) {
                check_and_destroy(w, out);
            }
        } else {
            if (again != NULL) {
                call_failed(w);
            }
            free(again);
        }
    }
    check_and_destroy(w, taken);
    return 1;
}

static bool exchange_setup(Worker* workers) {
    (void)workers;
    table = calloc(opt.slots, sizeof *table);
    made = calloc(opt.threads, sizeof *made);
    return table != NULL && made != NULL;
}

static void exchange_teardown(Worker* workers) {
    for (unsigned i = 0; i < opt.slots; i++) {
        Exchanged* e = atomic_exchange(&table[i], NULL);
        if (e != NULL) {
            check_and_destroy(&workers[0], e);
        }
    }
    free(table);
    free(made);
}

/* The table's worth of payloads and their shares, plus what each thread keeps. */
static size_t exchange_bound(void) {
    return live_objects_bound(2u * opt.slots);
}

const Mode mode_exchange = {
    .name = "exchange",
    .kinds = 2,
    .kind_names = kinds,
    .setup = exchange_setup,
    .op = exchange_op,
    .teardown = exchange_teardown,
    .memory_bound = exchange_bound,
};
