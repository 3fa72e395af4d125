/*
 * owner.c - each worker on its own objects only: it replaces, shares and writes the
 * pointers of a private table, so every operation is an owner operation of the
 * per-thread layer, with no lock of the harness's in the way. With --snapshots this
 * is the mode that shows what validate, stats and trim running in a loop cost the
 * owners (the worst wait of any operation, and the throughput).
 */
#include <stdlib.h>

#include "harness.h"
#include "payload.h"

static const char* const kinds[] = {"replace", "share", "write"};

typedef struct Owned {
    MemoryPointer* ptr;
    uint64_t version;
    size_t size;
} Owned;

static Owned* tables; /* opt.slots per worker: the pointers each worker keeps */

static void replace(Worker* w, Owned* o, uint32_t slot) {
    if (o->ptr != NULL) {
        check_payload(mem_pointer_data(o->ptr), o->size, slot, o->version, INV_LOST_WRITE);
        if (!mem_pointer_destroy(o->ptr, &pool)) {
            call_failed(w);
        }
    }
    o->ptr = make_payload(w, "owned", slot, ++o->version, &o->size);
}

static unsigned owner_op(Worker* w) {
    uint32_t slot = (uint32_t)(next_random(w) % opt.slots);
    Owned* o = &tables[(size_t)w->index * opt.slots + slot];
    unsigned kind = (unsigned)(next_random(w) % 3);
    if (o->ptr == NULL || kind == 0) {
        replace(w, o, slot);
        return 0;
    }
    if (kind == 1) {
        MemoryPointer* share = mem_pointer_share(o->ptr, "owned share");
        if (share == NULL) {
            call_failed(w);
            return 1;
        }
        check_payload(mem_pointer_data(share), o->size, slot, o->version, INV_LOST_WRITE);
        if (!mem_pointer_destroy(share, &pool)) {
            call_failed(w);
        }
        return 1;
    }
    void* data = mem_pointer_write(o->ptr, &pool);
    if (data == NULL) {
        call_failed(w);
        return 2;
    }
    check_payload(data, o->size, slot, o->version, INV_LOST_WRITE);
    payload_fill(data, o->size, slot, w->index, ++o->version);
    return 2;
}

static bool owner_setup(Worker* workers) {
    (void)workers;
    tables = calloc((size_t)opt.threads * opt.slots, sizeof *tables);
    return tables != NULL;
}

static void owner_worker_done(Worker* w) {
    for (uint32_t slot = 0; slot < opt.slots; slot++) {
        Owned* o = &tables[(size_t)w->index * opt.slots + slot];
        if (o->ptr != NULL) {
            check_payload(mem_pointer_data(o->ptr), o->size, slot, o->version, INV_LOST_WRITE);
            if (mem_pointer_refcount(o->ptr) != 1) {
                violated(INV_REFCOUNTS);
            }
            mem_pointer_destroy(o->ptr, &pool);
            o->ptr = NULL;
        }
    }
}

static void owner_teardown(Worker* workers) {
    (void)workers;
    free(tables);
}

const Mode mode_owner = {
    .name = "owner",
    .kinds = 3,
    .kind_names = kinds,
    .setup = owner_setup,
    .op = owner_op,
    .worker_done = owner_worker_done,
    .teardown = owner_teardown,
};
