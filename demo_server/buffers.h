/*
 * buffers.h - where the demo server's memory comes from. Two implementations with
 * one interface: buffers_memkit.c (the default: read buffers are MemoryPointers from
 * a pool, per-message scratch is a request arena, writes hold a share) and
 * buffers_malloc.c (malloc/free with a reference count on each read buffer,
 * `--define demo_buffers=malloc`), so the two can be benchmarked side by side.
 * Everything here for one connection runs on that connection's event-loop thread.
 */
#ifndef MEMKIT_DEMO_BUFFERS_H
#define MEMKIT_DEMO_BUFFERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef struct DemoBuffer DemoBuffer;
typedef struct DemoScratch DemoScratch;

/* Process-wide set-up and the final check (true when nothing is left live and the
 * pool validates). buffers_name says which implementation this is. */
bool buffers_init(void);
bool buffers_finish(FILE* report);
const char* buffers_name(void);

/* A read buffer of `size` bytes holding one reference (the reader's), or NULL. */
DemoBuffer* buffer_new(size_t size);
char* buffer_data(DemoBuffer* buffer);
/* Another reference to the same bytes, for a write, or NULL (memkit: a share of the
 * pointer; malloc: the block's count goes up). No copy; the reader keeps its own. */
DemoBuffer* buffer_share(DemoBuffer* buffer);
/* Drops one reference; the last one frees the buffer (memkit: wiped, back to the
 * thread's cache). */
void buffer_release(DemoBuffer* buffer);

/* Per-message scratch memory: begin, allocate, end (everything freed / wiped). */
DemoScratch* scratch_begin(void);
void* scratch_alloc(DemoScratch* scratch, size_t size);
void scratch_end(DemoScratch* scratch);

/* The server's small objects (connections, write and shutdown requests): mem_malloc
 * for memkit, which also serves libuv's own allocations (uv_replace_allocator in
 * buffers_init); malloc for the twin. */
void* object_alloc(size_t size);
void object_free(void* object);

/* Prints the allocator's statistics (pool stats and cache hit rates for memkit). */
void buffers_report(FILE* out);
/* Live read/write buffers right now (containers for memkit, blocks for malloc). */
size_t buffers_live(void);

#endif
