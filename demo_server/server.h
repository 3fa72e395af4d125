/*
 * server.h - the demo echo server's shared types: options, per-loop workers and
 * their counters, and the connection handling entry points.
 */
#ifndef MEMKIT_DEMO_SERVER_H
#define MEMKIT_DEMO_SERVER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

/* A connection reads into one buffer of READ_BUFFER_SIZE bytes, each read after the
 * last, until less than READ_MIN_SPACE is left; then it takes a new buffer. Each
 * read's echo holds a reference to the buffer, which is freed (memkit: wiped) once
 * the reader has moved on and the last of those writes is done. */
#define READ_BUFFER_SIZE 65536
#define READ_MIN_SPACE 16384
/* Backpressure: stop reading from a client whose unsent echo passes HIGH bytes,
 * resume when it drains below LOW. */
#define PENDING_HIGH (1024 * 1024)
#define PENDING_LOW (256 * 1024)

typedef struct ServerOptions {
    const char* host;
    int port;
    unsigned threads;
    unsigned max_connections;
    double stats_interval; /* seconds, 0 = off */
} ServerOptions;

typedef struct Counters {
    atomic_ullong accepted;
    atomic_ullong refused;
    atomic_ullong closed;
    atomic_llong active;
    atomic_ullong bytes_in;
    atomic_ullong bytes_out;
    atomic_ullong reads; /* reads echoed (a client's message may take several) */
    atomic_ullong lines;
    atomic_ullong backpressure_pauses;
    atomic_ullong resets; /* clients that reset or vanished while we wrote to them */
    atomic_ullong errors;
} Counters;

typedef struct Worker {
    uv_loop_t loop;
    uv_tcp_t listener;
    uv_async_t stop;
    uv_thread_t thread;
    int listen_fd;
    unsigned index;
    struct Server* server;
} Worker;

typedef struct Server {
    ServerOptions options;
    Worker* workers;
    Counters counters;
} Server;

/* Accepts on `listener` (uv_connection_cb) and runs the connection until it ends. */
void connection_accept(uv_stream_t* listener, int status);

/* Closes every connection of a worker's loop (shutdown). */
void connections_close_all(uv_loop_t* loop);

#endif
