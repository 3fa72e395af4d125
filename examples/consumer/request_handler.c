/*
 * request_handler.c - the toy handler: parsing into a request arena, routes in a
 * copy-on-write pool pointer.
 */
#define _DEFAULT_SOURCE 1

#include "request_handler.h"

#include <stdio.h>
#include <string.h>

typedef struct Request {
    char* method;
    char* path;
    char* query_name;
    char* query_value;
} Request;

bool server_start(Server* server) {
    if (!mem_pool_init(&server->pool, 16)) {
        return false;
    }
    server->routes = mem_pointer_create("routes", 1);
    if (server->routes == NULL || !mem_pointer_allocate(server->routes, 1, &server->pool)) {
        mem_pool_destroy(&server->pool);
        return false;
    }
    char* text = mem_pointer_write(server->routes, &server->pool);
    text[0] = '\0'; /* a new container's bytes are unspecified: start with "" */
    return true;
}

bool server_set_route(Server* server, const char* path, const char* body) {
    const char* old = mem_pointer_data(server->routes);
    size_t old_length = strnlen(old, mem_pointer_size(server->routes));
    size_t size = old_length + strlen(path) + strlen(body) + 3;
    MemoryPointer* next = mem_pointer_create("routes", size);
    if (next == NULL || !mem_pointer_allocate(next, size, &server->pool)) {
        mem_pointer_destroy(next, &server->pool);
        return false;
    }
    char* text = mem_pointer_write(next, &server->pool);
    snprintf(text, size, "%.*s%s=%s\n", (int)old_length, old, path, body);
    mem_pointer_destroy(server->routes, &server->pool);
    server->routes = next;
    return true;
}

/* Splits the request line into arena copies of its parts. */
static bool parse(MemoryArena* arena, const char* line, Request* request) {
    char* copy = mem_arena_strdup(arena, line);
    if (copy == NULL) {
        return false;
    }
    char* rest = copy;
    request->method = strsep(&rest, " ");
    char* target = strsep(&rest, " ");
    if (target == NULL || rest == NULL || strncmp(rest, "HTTP/", 5) != 0) {
        request->path = NULL;
        return true;
    }
    request->path = strsep(&target, "?");
    request->query_name = target != NULL ? strsep(&target, "=") : NULL;
    request->query_value = target;
    return true;
}

static const char* find_route(const char* routes, size_t size, const char* path, size_t* body_length) {
    size_t path_length = strlen(path);
    for (const char* line = routes; line < routes + size && *line != '\0';) {
        const char* end = memchr(line, '\n', (size_t)(routes + size - line));
        if (end == NULL) {
            break;
        }
        if ((size_t)(end - line) > path_length && strncmp(line, path, path_length) == 0 && line[path_length] == '=') {
            *body_length = (size_t)(end - line) - path_length - 1;
            return line + path_length + 1;
        }
        line = end + 1;
    }
    return NULL;
}

int server_handle(Server* server, const char* line, char* out, size_t out_size) {
    MemoryArena* arena = mem_request_arena_acquire();
    Request request = {0};
    if (arena == NULL || !parse(arena, line, &request)) {
        if (arena != NULL) {
            mem_request_arena_release(arena);
        }
        return -1;
    }
    int status;
    size_t body_length = 0;
    const char* body = NULL;
    if (request.path == NULL || strcmp(request.method, "GET") != 0) {
        status = 400;
    } else if ((body = find_route(mem_pointer_data(server->routes), mem_pointer_size(server->routes), request.path,
                                  &body_length)) != NULL) {
        status = 200;
    } else {
        status = 404;
    }
    if (status == 200) {
        snprintf(out, out_size, "200 %.*s%s%s", (int)body_length, body, request.query_name ? " for " : "",
                 request.query_value ? request.query_value : "");
    } else {
        snprintf(out, out_size, "%d", status);
    }
    mem_request_arena_release(arena);
    return status;
}

bool server_stop(Server* server) {
    mem_pointer_destroy(server->routes, &server->pool);
    bool valid = mem_pool_validate(&server->pool);
    mem_pool_destroy(&server->pool);
    return valid;
}
