/*
 * loadgen.c - a libuv load generator for the demo echo server: N connections, each
 * keeping up to --pipeline messages of random sizes in flight; every echoed byte is
 * checked against the deterministic pattern it was sent with. Reports messages/s,
 * MB/s and round-trip latency percentiles; exits non-zero on any mismatch, error
 * or missing echo.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "stress/histogram.h"

typedef struct Options {
    const char* host;
    int port;
    unsigned connections;
    double duration;   /* seconds; used when messages == 0 */
    uint64_t messages; /* per connection */
    size_t min_size, max_size;
    unsigned pipeline;
    uint64_t seed;
} Options;

typedef struct InFlight {
    size_t size;
    uint64_t sent_ns;
} InFlight;

typedef struct Client {
    uv_tcp_t tcp;
    uv_connect_t connect;
    unsigned id;
    uint64_t rng;
    uint64_t sent, received; /* messages */
    size_t received_bytes;   /* of the message at the head of the ring */
    InFlight* ring;          /* pipeline entries, head = oldest */
    unsigned head, count;
    bool done, closed;
} Client;

typedef struct SendRequest {
    uv_write_t request;
    char data[];
} SendRequest;

static Options opt;
static uv_loop_t* loop;
static Client* clients;
static Histogram latency;
static uint64_t mismatches, errors, total_messages, total_bytes, deadline_ns;
static char read_buffer[65536];

static const char usage[] =
    "usage: loadgen [options]\n"
    "  --host ADDR         server address (default 127.0.0.1)\n"
    "  --port N            server port (default 7000)\n"
    "  --connections N     concurrent connections (default 10)\n"
    "  --duration S        send for S seconds (default 5), or\n"
    "  --messages N        send exactly N messages per connection\n"
    "  --size MIN-MAX      message sizes in bytes (default 64-4096)\n"
    "  --pipeline N        messages in flight per connection (default 1)\n"
    "  --seed N            random seed (default 1)\n";

/* Byte `offset` of message `message` on connection `id` is
 * (offset * 7 + message * 13 + id * 29 + seed) mod 256. As 7 is invertible mod 256
 * (7 * 183 = 1 mod 256), that is 7 * (offset + shift) mod 256 for one shift per
 * message: every message is a slice of one table, so sending is a memcpy and checking
 * a memcmp, and the load generator spends its CPU on the network, not on bytes. */
static unsigned char* pattern_table; /* pattern_table[j] = j * 7 mod 256, max_size + 256 bytes */

static bool pattern_init(void) {
    pattern_table = malloc(opt.max_size + 256);
    if (pattern_table == NULL) {
        return false;
    }
    for (size_t j = 0; j < opt.max_size + 256; j++) {
        pattern_table[j] = (unsigned char)(j * 7);
    }
    return true;
}

static const unsigned char* message_bytes(unsigned id, uint64_t message) {
    unsigned base = (unsigned)((message * 13 + id * 29 + opt.seed) & 255);
    return pattern_table + ((base * 183u) & 255u);
}

static uint64_t next_random(Client* c) {
    c->rng ^= c->rng >> 12;
    c->rng ^= c->rng << 25;
    c->rng ^= c->rng >> 27;
    return c->rng * UINT64_C(0x2545F4914F6CDD1D);
}

static void on_closed(uv_handle_t* handle) { ((Client*)handle)->closed = true; }

static void finish(Client* c) {
    if (!uv_is_closing((uv_handle_t*)&c->tcp)) {
        uv_close((uv_handle_t*)&c->tcp, on_closed);
    }
}

static void fail(Client* c, const char* why, int status) {
    if (!c->done) {
        fprintf(stderr, "loadgen: connection %u: %s%s%s\n", c->id, why, status ? ": " : "",
                status ? uv_strerror(status) : "");
    }
    errors++;
    c->done = true;
    finish(c);
}

static void on_sent(uv_write_t* request, int status) {
    Client* c = request->handle->data;
    free(request);
    if (status != 0) {
        fail(c, "write failed", status);
    }
}

static bool sending_allowed(Client* c) {
    return opt.messages ? c->sent < opt.messages : uv_hrtime() < deadline_ns;
}

static void send_more(Client* c) {
    while (!c->done && c->count < opt.pipeline && sending_allowed(c)) {
        size_t size = opt.min_size + next_random(c) % (opt.max_size - opt.min_size + 1);
        SendRequest* r = malloc(sizeof *r + size);
        if (r == NULL) {
            fail(c, "out of memory", 0);
            return;
        }
        memcpy(r->data, message_bytes(c->id, c->sent), size);
        InFlight* slot = &c->ring[(c->head + c->count) % opt.pipeline];
        slot->size = size;
        slot->sent_ns = uv_hrtime();
        c->count++;
        c->sent++;
        uv_buf_t buf = uv_buf_init(r->data, (unsigned)size);
        int status = uv_write(&r->request, (uv_stream_t*)&c->tcp, &buf, 1, on_sent);
        if (status != 0) {
            free(r);
            fail(c, "write", status);
            return;
        }
    }
    if (c->count == 0 && !sending_allowed(c)) {
        c->done = true;
        finish(c);
    }
}

static void on_alloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf) {
    (void)handle;
    (void)suggested;
    *buf = uv_buf_init(read_buffer, sizeof read_buffer);
}

static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
    Client* c = stream->data;
    if (nread < 0) {
        fail(c, c->count ? "connection ended with echoes missing" : "connection ended", nread == UV_EOF ? 0 : (int)nread);
        return;
    }
    for (ssize_t i = 0; i < nread;) {
        if (c->count == 0) {
            fail(c, "received bytes that were never sent", 0);
            mismatches++;
            return;
        }
        InFlight* head = &c->ring[c->head];
        uint64_t message = c->received;
        size_t take = head->size - c->received_bytes;
        if ((size_t)(nread - i) < take) {
            take = (size_t)(nread - i);
        }
        if (memcmp(buf->base + i, message_bytes(c->id, message) + c->received_bytes, take) != 0) {
            mismatches++;
            fail(c, "echoed byte differs from the byte sent", 0);
            return;
        }
        c->received_bytes += take;
        i += (ssize_t)take;
        if (c->received_bytes == head->size) {
            histogram_record(&latency, uv_hrtime() - head->sent_ns);
            total_messages++;
            total_bytes += head->size;
            c->received++;
            c->received_bytes = 0;
            c->head = (c->head + 1) % opt.pipeline;
            c->count--;
        }
    }
    send_more(c);
}

static void on_connect(uv_connect_t* request, int status) {
    Client* c = request->handle->data;
    if (status != 0) {
        fail(c, "connect", status);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    uv_read_start((uv_stream_t*)&c->tcp, on_alloc, on_read);
    send_more(c);
}

static int parse(int argc, char** argv) {
    opt = (Options){.host = "127.0.0.1", .port = 7000, .connections = 10, .duration = 5, .min_size = 64,
                    .max_size = 4096, .pipeline = 1, .seed = 1};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0) {
            fputs(usage, stdout);
            return 1;
        }
        const char* name = argv[i];
        const char* val = i + 1 < argc ? argv[++i] : NULL;
        char* end = NULL;
        unsigned long long n = val ? strtoull(val, &end, 10) : 0;
        bool numeric = val && *val && *val != '-' && *end == '\0';
        if (strcmp(name, "--host") == 0 && val) {
            opt.host = val;
        } else if (strcmp(name, "--port") == 0 && numeric && n > 0 && n <= 65535) {
            opt.port = (int)n;
        } else if (strcmp(name, "--connections") == 0 && numeric && n >= 1 && n <= 100000) {
            opt.connections = (unsigned)n;
        } else if (strcmp(name, "--duration") == 0 && val && (opt.duration = strtod(val, &end)) > 0 && !*end) {
            opt.messages = 0;
        } else if (strcmp(name, "--messages") == 0 && numeric && n >= 1) {
            opt.messages = n;
        } else if (strcmp(name, "--pipeline") == 0 && numeric && n >= 1 && n <= 1024) {
            opt.pipeline = (unsigned)n;
        } else if (strcmp(name, "--seed") == 0 && numeric) {
            opt.seed = n;
        } else if (strcmp(name, "--size") == 0 && val &&
                   sscanf(val, "%zu-%zu", &opt.min_size, &opt.max_size) == 2 && opt.min_size >= 1 &&
                   opt.max_size >= opt.min_size && opt.max_size <= (64u << 20)) {
        } else {
            fprintf(stderr, "loadgen: bad option or value: %s %s\n%s", name, val ? val : "", usage);
            return 2;
        }
    }
    return 0;
}

int main(int argc, char** argv) {
    int parsed = parse(argc, argv);
    if (parsed) {
        return parsed == 1 ? 0 : 2;
    }
    struct sockaddr_in addr;
    if (uv_ip4_addr(opt.host, opt.port, &addr) != 0) {
        fprintf(stderr, "loadgen: bad address %s\n", opt.host);
        return 2;
    }
    if (!pattern_init()) {
        fprintf(stderr, "loadgen: out of memory\n");
        return 2;
    }
    loop = uv_default_loop();
    clients = calloc(opt.connections, sizeof *clients);
    if (clients == NULL) {
        return 3;
    }
    uint64_t start = uv_hrtime();
    deadline_ns = start + (uint64_t)(opt.duration * 1e9);
    for (unsigned i = 0; i < opt.connections; i++) {
        Client* c = &clients[i];
        c->id = i;
        c->rng = (opt.seed + 1) * UINT64_C(0x9E3779B97F4A7C15) + i * UINT64_C(0xBF58476D1CE4E5B9);
        c->ring = calloc(opt.pipeline, sizeof *c->ring);
        uv_tcp_init(loop, &c->tcp);
        c->tcp.data = c;
        if (c->ring == NULL || uv_tcp_connect(&c->connect, &c->tcp, (struct sockaddr*)&addr, on_connect) != 0) {
            fail(c, "cannot start connect", 0);
        }
    }
    uv_run(loop, UV_RUN_DEFAULT);
    double seconds = (double)(uv_hrtime() - start) / 1e9;
    uint64_t expected = opt.messages * opt.connections;
    bool complete = opt.messages == 0 || total_messages == expected;
    printf("loadgen: %u connections, pipeline %u, sizes %zu-%zu: %llu messages, %.1f MB echoed in %.2f s\n",
           opt.connections, opt.pipeline, opt.min_size, opt.max_size, (unsigned long long)total_messages,
           (double)total_bytes / 1e6, seconds);
    printf("loadgen: %.0f messages/s, %.1f MB/s, round trip p50 %.1f us, p99 %.1f us, p99.9 %.1f us\n",
           (double)total_messages / seconds, (double)total_bytes / 1e6 / seconds,
           (double)histogram_quantile(&latency, 0.5) / 1e3, (double)histogram_quantile(&latency, 0.99) / 1e3,
           (double)histogram_quantile(&latency, 0.999) / 1e3);
    printf("loadgen: %llu mismatches, %llu errors%s\n", (unsigned long long)mismatches, (unsigned long long)errors,
           complete ? "" : ", messages missing");
    for (unsigned i = 0; i < opt.connections; i++) {
        free(clients[i].ring);
    }
    free(clients);
    free(pattern_table);
    uv_loop_close(loop);
    return mismatches == 0 && errors == 0 && complete ? 0 : 1;
}
