/*
 * pipeline.c - producer/consumer, as an accept thread hands requests to workers: even
 * workers make payloads (one in four passes on a share of it, dropping its own
 * handle, so owner-counted references travel too) and put them on a shared queue;
 * odd workers take them, check them and destroy them. Everything a producer makes is
 * released on another thread, so this mode shows whether released containers and
 * handles find their way back to their owners: the library's system memory must stay
 * bounded (see stress.c), and nothing may be left at the end.
 */
#include <stdlib.h>

#include "harness.h"
#include "payload.h"

#define QUEUE_CAPACITY 1024

static const char* const kinds[] = {"produce", "consume", "wait"};

typedef struct Item {
    MemoryPointer* ptr;
    uint32_t producer;
    uint64_t version;
    size_t size;
} Item;

static struct {
    pthread_mutex_t lock;
    Item items[QUEUE_CAPACITY];
    size_t head;
    size_t count;
} queue = {.lock = PTHREAD_MUTEX_INITIALIZER};

static uint64_t* produced; /* per producer: versions made so far */

static bool push(Item item) {
    pthread_mutex_lock(&queue.lock);
    bool room = queue.count < QUEUE_CAPACITY;
    if (room) {
        queue.items[(queue.head + queue.count++) % QUEUE_CAPACITY] = item;
    }
    pthread_mutex_unlock(&queue.lock);
    return room;
}

static bool pop(Item* item) {
    pthread_mutex_lock(&queue.lock);
    bool got = queue.count > 0;
    if (got) {
        *item = queue.items[queue.head];
        queue.head = (queue.head + 1) % QUEUE_CAPACITY;
        queue.count--;
    }
    pthread_mutex_unlock(&queue.lock);
    return got;
}

static void consume(Worker* w, Item item) {
    check_payload(mem_pointer_data(item.ptr), item.size, item.producer, item.version, INV_HANDOFF);
    if (!mem_pointer_destroy(item.ptr, &pool)) {
        call_failed(w);
    }
}

static unsigned pipeline_op(Worker* w) {
    if (w->index % 2 == 1) {
        Item item;
        if (!pop(&item)) {
            return 2; /* the queue was empty */
        }
        consume(w, item);
        return 1;
    }
    uint64_t version = ++produced[w->index];
    Item item = {NULL, w->index, version, 0};
    item.ptr = make_payload(w, "request", w->index, version, &item.size);
    if (item.ptr == NULL) {
        return 0;
    }
    if (next_random(w) % 4 == 0) {
        MemoryPointer* share = mem_pointer_share(item.ptr, "request share");
        if (share == NULL) {
            call_failed(w);
        } else {
            mem_pointer_destroy(item.ptr, &pool);
            item.ptr = share;
        }
    }
    if (!push(item)) {
        consume(w, item); /* the queue is full: the producer disposes of it itself */
    }
    return 0;
}

static bool pipeline_setup(Worker* workers) {
    (void)workers;
    produced = calloc(opt.threads, sizeof *produced);
    return produced != NULL;
}

static void pipeline_teardown(Worker* workers) {
    Item item;
    while (pop(&item)) {
        consume(&workers[0], item);
    }
    free(produced);
}

/* The queue's worth of payloads, in flight and cached, plus the pages and handles every
 * thread keeps: independent of how long the run is. */
static size_t pipeline_bound(void) {
    return live_objects_bound(QUEUE_CAPACITY);
}

const Mode mode_pipeline = {
    .name = "pipeline",
    .kinds = 3,
    .kind_names = kinds,
    .setup = pipeline_setup,
    .op = pipeline_op,
    .teardown = pipeline_teardown,
    .memory_bound = pipeline_bound,
};
