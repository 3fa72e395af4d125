/*
 * echo_buffers.c - the smallest server-shaped use of libmemkit from another module:
 * a pool of request buffers, one shared with a second owner and written copy-on-write,
 * a per-request arena, and the pool checked and emptied at the end. Prints one line.
 */
#include <stdio.h>
#include <string.h>

#include <memkit/memkit.h>

int main(void) {
    MemoryPool pool;
    if (!mem_pool_init(&pool, 0)) {
        fprintf(stderr, "pool: %s\n", mem_strerror(mem_last_error()));
        return 1;
    }
    MemoryPointer* request = mem_pointer_create("request", 64);
    if (request == NULL || !mem_pointer_allocate(request, 64, &pool)) {
        return 1;
    }
    strcpy(mem_pointer_write(request, &pool), "GET /");
    MemoryPointer* logged = mem_pointer_share(request, "access log");
    char* reply = logged != NULL ? mem_pointer_write(logged, &pool) : NULL; /* a copy: request keeps its bytes */
    if (reply == NULL) {
        return 1;
    }
    reply[0] = 'g';
    MemoryArena* scratch = mem_request_arena_acquire();
    char* line = scratch != NULL ? mem_arena_strdup(scratch, mem_pointer_data(request)) : NULL;
    bool ok = line != NULL && strcmp(line, "GET /") == 0 && strcmp(mem_pointer_data(logged), "gET /") == 0;
    ok = mem_request_arena_release(scratch) && ok;
    ok = mem_pointer_destroy(request, &pool) && mem_pointer_destroy(logged, &pool) && ok;
    MemPoolStats stats;
    ok = mem_pool_validate(&pool) && mem_pool_stats(&pool, &stats) && stats.live_containers == 0 && ok;
    mem_pool_destroy(&pool);
    printf("libmemkit %s as a dependency: %s\n", mem_version_string(), ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}
