/*
 * connection.c - one client connection: reads into pool buffers, one read after
 * another in each buffer, does the per-message work in a request arena, echoes each
 * read with a write that holds a reference to the buffer (no copy), applies
 * backpressure, and handles EOF (half-close), errors and resets.
 * Runs entirely on its worker's event-loop thread.
 */
#include <stdlib.h>
#include <string.h>

#include "buffers.h"
#include "server.h"

typedef struct Connection {
    uv_tcp_t handle; /* first: the handle's address is the connection's */
    Server* server;
    DemoBuffer* reading; /* the buffer reads go into (the reader's reference) */
    size_t read_offset;  /* its bytes before this are read (and echoed or being echoed) */
    size_t pending;      /* bytes queued for writing and not yet confirmed */
    bool paused;         /* reading stopped by backpressure */
    bool eof;            /* client half-closed: finish the writes, then shut down */
    bool closing;
} Connection;

typedef struct EchoWrite {
    uv_write_t request;
    DemoBuffer* buffer; /* the writer's reference, released in on_write */
    size_t length;
} EchoWrite;

static void add(atomic_ullong* counter, uint64_t n) { atomic_fetch_add_explicit(counter, n, memory_order_relaxed); }

static void on_close(uv_handle_t* handle) {
    Connection* c = (Connection*)handle;
    if (c->reading != NULL) {
        buffer_release(c->reading);
    }
    atomic_fetch_sub_explicit(&c->server->counters.active, 1, memory_order_relaxed);
    add(&c->server->counters.closed, 1);
    object_free(c);
}

static void close_connection(Connection* c) {
    if (!c->closing) {
        c->closing = true;
        uv_close((uv_handle_t*)&c->handle, on_close);
    }
}

static void on_shutdown(uv_shutdown_t* request, int status) {
    (void)status;
    close_connection((Connection*)request->handle);
    object_free(request);
}

/* The client sent EOF and every echo is written: shut our side down, then close. */
static void finish_after_eof(Connection* c) {
    uv_shutdown_t* request = object_alloc(sizeof *request);
    if (request == NULL || uv_shutdown(request, (uv_stream_t*)&c->handle, on_shutdown) != 0) {
        object_free(request);
        close_connection(c);
    }
}

static void on_alloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf) {
    (void)suggested;
    Connection* c = (Connection*)handle;
    if (c->reading != NULL && READ_BUFFER_SIZE - c->read_offset < READ_MIN_SPACE) {
        buffer_release(c->reading); /* the writes of its bytes keep it until they are done */
        c->reading = NULL;
    }
    if (c->reading == NULL) {
        c->reading = buffer_new(READ_BUFFER_SIZE);
        c->read_offset = 0;
    }
    *buf = c->reading != NULL
               ? uv_buf_init(buffer_data(c->reading) + c->read_offset, (unsigned)(READ_BUFFER_SIZE - c->read_offset))
               : uv_buf_init(NULL, 0);
}

/* The per-message work: index the message's line starts in scratch memory. */
static uint64_t count_lines(const char* data, size_t length) {
    DemoScratch* scratch = scratch_begin();
    if (scratch == NULL) {
        return 0;
    }
    size_t lines = 0;
    for (const char* p = data; (p = memchr(p, '\n', (size_t)(data + length - p))) != NULL; p++) {
        lines++;
    }
    uint32_t* starts = scratch_alloc(scratch, (lines + 1) * sizeof *starts);
    if (starts != NULL) {
        size_t n = 1;
        starts[0] = 0;
        for (size_t i = 0; i < length && n <= lines; i++) {
            if (data[i] == '\n') {
                starts[n++] = (uint32_t)(i + 1);
            }
        }
    }
    scratch_end(scratch);
    return lines;
}

static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);

static void pause_or_resume(Connection* c) {
    if (!c->paused && c->pending > PENDING_HIGH) {
        c->paused = true;
        uv_read_stop((uv_stream_t*)&c->handle);
        add(&c->server->counters.backpressure_pauses, 1);
    } else if (c->paused && c->pending < PENDING_LOW && !c->eof) {
        c->paused = false;
        uv_read_start((uv_stream_t*)&c->handle, on_alloc, on_read);
    }
}

static void on_write(uv_write_t* request, int status) {
    EchoWrite* w = (EchoWrite*)request;
    Connection* c = (Connection*)request->handle->data;
    c->pending -= w->length;
    buffer_release(w->buffer);
    if (status == 0) {
        add(&c->server->counters.bytes_out, w->length);
    }
    object_free(w);
    if (c->closing) {
        return;
    }
    if (status != 0) {
        bool client_gone = status == UV_ECONNRESET || status == UV_EPIPE;
        add(client_gone ? &c->server->counters.resets : &c->server->counters.errors, 1);
        close_connection(c);
    } else if (c->eof && c->pending == 0) {
        finish_after_eof(c);
    } else {
        pause_or_resume(c);
    }
}

static void echo(Connection* c, size_t length) {
    Counters* k = &c->server->counters;
    add(&k->bytes_in, length);
    add(&k->reads, 1);
    char* data = buffer_data(c->reading) + c->read_offset;
    c->read_offset += length;
    add(&k->lines, count_lines(data, length));
    EchoWrite* w = object_alloc(sizeof *w);
    DemoBuffer* writer = w != NULL ? buffer_share(c->reading) : NULL;
    if (writer == NULL) {
        object_free(w);
        add(&k->errors, 1);
        close_connection(c);
        return;
    }
    w->buffer = writer;
    w->length = length;
    uv_buf_t out = uv_buf_init(data, (unsigned)length);
    c->pending += length;
    if (uv_write(&w->request, (uv_stream_t*)&c->handle, &out, 1, on_write) != 0) {
        c->pending -= length;
        buffer_release(writer);
        object_free(w);
        add(&k->errors, 1);
        close_connection(c);
        return;
    }
    pause_or_resume(c);
}

static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
    (void)buf;
    Connection* c = stream->data;
    if (nread > 0) {
        echo(c, (size_t)nread);
    } else if (nread == UV_EOF) {
        c->eof = true;
        uv_read_stop(stream);
        if (c->pending == 0) {
            finish_after_eof(c);
        }
    } else if (nread < 0) {
        add(nread == UV_ECONNRESET ? &c->server->counters.resets : &c->server->counters.errors, 1);
        close_connection(c);
    } else if (c->reading == NULL) {
        add(&c->server->counters.errors, 1); /* on_alloc could not get a buffer */
        close_connection(c);
    }
}

static void on_refused_close(uv_handle_t* handle) { object_free(handle); }

void connection_accept(uv_stream_t* listener, int status) {
    Worker* worker = listener->data;
    Server* server = worker->server;
    if (status != 0) {
        add(&server->counters.errors, 1);
        return;
    }
    Connection* c = object_alloc(sizeof *c);
    if (c != NULL) {
        memset(c, 0, sizeof *c);
    }
    if (c == NULL || uv_tcp_init(listener->loop, &c->handle) != 0) {
        object_free(c);
        add(&server->counters.errors, 1);
        return;
    }
    c->server = server;
    c->handle.data = c;
    if (uv_accept(listener, (uv_stream_t*)&c->handle) != 0) {
        uv_close((uv_handle_t*)&c->handle, on_refused_close);
        return;
    }
    long long active = atomic_fetch_add_explicit(&server->counters.active, 1, memory_order_relaxed);
    if (server->options.max_connections != 0 && active >= (long long)server->options.max_connections) {
        atomic_fetch_sub_explicit(&server->counters.active, 1, memory_order_relaxed);
        add(&server->counters.refused, 1);
        uv_close((uv_handle_t*)&c->handle, on_refused_close); /* over the limit: closed at once */
        return;
    }
    add(&server->counters.accepted, 1);
    uv_tcp_nodelay(&c->handle, 1);
    if (uv_read_start((uv_stream_t*)&c->handle, on_alloc, on_read) != 0) {
        close_connection(c);
    }
}

static void close_if_connection(uv_handle_t* handle, void* arg) {
    (void)arg;
    if (handle->type == UV_TCP && handle->data != NULL && !uv_is_closing(handle)) {
        Connection* c = handle->data;
        if ((void*)c == (void*)handle) {
            close_connection(c);
        }
    }
}

void connections_close_all(uv_loop_t* loop) { uv_walk(loop, close_if_connection, NULL); }
