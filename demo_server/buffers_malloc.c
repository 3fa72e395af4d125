/*
 * buffers_malloc.c - the same demo server on plain malloc/free, for comparison.
 */
#include <stdatomic.h>
#include <stdlib.h>

#include "buffers.h"

/* A read buffer and its references (the reader's and one per write of its bytes).
 * A plain count: a connection's reads and writes all run on its loop's thread. */
struct DemoBuffer {
    unsigned references;
    _Alignas(16) char data[];
};

/* Scratch: a linked list of malloc'd blocks freed at the end of the message. */
typedef struct ScratchBlock {
    struct ScratchBlock* next;
    _Alignas(16) char data[];
} ScratchBlock;

struct DemoScratch {
    ScratchBlock* blocks;
};

static atomic_long live_blocks;

bool buffers_init(void) { return true; }

const char* buffers_name(void) { return "malloc"; }

void* object_alloc(size_t size) { return malloc(size); }

void object_free(void* object) { free(object); }

DemoBuffer* buffer_new(size_t size) {
    DemoBuffer* b = malloc(sizeof(DemoBuffer) + size);
    if (b != NULL) {
        b->references = 1;
        atomic_fetch_add_explicit(&live_blocks, 1, memory_order_relaxed);
    }
    return b;
}

char* buffer_data(DemoBuffer* buffer) { return buffer->data; }

DemoBuffer* buffer_share(DemoBuffer* buffer) {
    buffer->references++;
    return buffer;
}

void buffer_release(DemoBuffer* buffer) {
    if (--buffer->references == 0) {
        free(buffer);
        atomic_fetch_sub_explicit(&live_blocks, 1, memory_order_relaxed);
    }
}

DemoScratch* scratch_begin(void) { return calloc(1, sizeof(DemoScratch)); }

void* scratch_alloc(DemoScratch* scratch, size_t size) {
    ScratchBlock* block = malloc(sizeof(ScratchBlock) + size);
    if (block == NULL) {
        return NULL;
    }
    block->next = scratch->blocks;
    scratch->blocks = block;
    return block->data;
}

void scratch_end(DemoScratch* scratch) {
    while (scratch->blocks != NULL) {
        ScratchBlock* next = scratch->blocks->next;
        free(scratch->blocks);
        scratch->blocks = next;
    }
    free(scratch);
}

size_t buffers_live(void) { return (size_t)atomic_load(&live_blocks); }

void buffers_report(FILE* out) { fprintf(out, "malloc: live_blocks=%ld\n", atomic_load(&live_blocks)); }

bool buffers_finish(FILE* report) {
    long live = atomic_load(&live_blocks);
    fprintf(report, "final: live_blocks=%ld\n", live);
    return live == 0;
}
