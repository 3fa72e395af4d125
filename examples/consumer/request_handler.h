/*
 * request_handler.h - a toy HTTP-like request handler built on libmemkit. The route
 * table is long-lived data in a pool pointer (replaced copy-on-write); each request
 * is parsed into a per-request arena that is released when the response is built.
 */
#ifndef MEMKIT_CONSUMER_REQUEST_HANDLER_H
#define MEMKIT_CONSUMER_REQUEST_HANDLER_H

#include <stdbool.h>
#include <stddef.h>

#include "memkit.h"

typedef struct Server {
    MemoryPool pool;
    MemoryPointer* routes; /* "path=body\n" lines */
} Server;

/* Starts a server with no routes. False (with mem_last_error) on failure. */
bool server_start(Server* server);

/* Adds or replaces a route; existing readers of the table keep their snapshot. */
bool server_set_route(Server* server, const char* path, const char* body);

/* Handles one request line ("GET /path?name=value HTTP/1.1") and writes the response
 * into `out` (NUL-terminated, truncated to `out_size`). Returns the status code
 * (200, 404, 400) or -1 when memory runs out. */
int server_handle(Server* server, const char* request, char* out, size_t out_size);

/* Releases everything; false if the pool did not validate. */
bool server_stop(Server* server);

#endif
