/*
 * server.c - the demo echo server: options, one libuv event loop per thread sharing
 * the listening port (SO_REUSEPORT), signals (SIGINT/SIGTERM stop, SIGUSR1 prints
 * statistics; SIGPIPE ignored), periodic statistics, and the final report with the
 * allocator's own check. Exit status 0 only if everything was released cleanly.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "buffers.h"
#include "server.h"

static const char usage[] =
    "usage: demo_server [options]\n"
    "A libuv TCP echo server whose buffers come from libmemkit.\n"
    "  --host ADDR             IPv4 address to listen on (default 127.0.0.1)\n"
    "  --port N                port (default 7000; 0 picks a free one and prints it)\n"
    "  --threads N             event loops, one per thread, sharing the port (default 1)\n"
    "  --max-connections N     refuse (close) connections beyond N at once (default 10000, 0 = no limit)\n"
    "  --stats-interval S      print statistics every S seconds (default 0 = only on SIGUSR1 and at exit)\n"
    "Signals: SIGINT/SIGTERM stop gracefully, SIGUSR1 prints statistics.\n";

static Server server;
static uv_loop_t* main_loop;

static int parse_options(int argc, char** argv, ServerOptions* o) {
    *o = (ServerOptions){.host = "127.0.0.1", .port = 7000, .threads = 1, .max_connections = 10000};
    for (int i = 1; i < argc; i++) {
        const char* opt = argv[i];
        if (strcmp(opt, "--help") == 0) {
            fputs(usage, stdout);
            return 1;
        }
        const char* val = i + 1 < argc ? argv[++i] : NULL;
        char* end = NULL;
        long n = val != NULL ? strtol(val, &end, 10) : 0;
        bool numeric = val != NULL && *val != '\0' && *end == '\0';
        if (val == NULL) {
            fprintf(stderr, "demo_server: %s needs a value\n%s", opt, usage);
            return 2;
        } else if (strcmp(opt, "--host") == 0) {
            struct in_addr a;
            if (inet_pton(AF_INET, val, &a) != 1) {
                fprintf(stderr, "demo_server: --host %s is not an IPv4 address\n", val);
                return 2;
            }
            o->host = val;
        } else if (strcmp(opt, "--port") == 0 && numeric && n >= 0 && n <= 65535) {
            o->port = (int)n;
        } else if (strcmp(opt, "--threads") == 0 && numeric && n >= 1 && n <= 64) {
            o->threads = (unsigned)n;
        } else if (strcmp(opt, "--max-connections") == 0 && numeric && n >= 0 && n <= 1000000) {
            o->max_connections = (unsigned)n;
        } else if (strcmp(opt, "--stats-interval") == 0) {
            double s = strtod(val, &end);
            if (*end != '\0' || s < 0 || s > 86400) {
                fprintf(stderr, "demo_server: bad --stats-interval %s\n", val);
                return 2;
            }
            o->stats_interval = s;
        } else {
            fprintf(stderr, "demo_server: bad option or value: %s %s\n%s", opt, val, usage);
            return 2;
        }
    }
    return 0;
}

/* A listening socket on host:port with SO_REUSEPORT, so every loop can have one. */
static int open_listener(const char* host, int* port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)*port)};
    inet_pton(AF_INET, host, &addr.sin_addr);
    socklen_t length = sizeof addr;
    if (bind(fd, (struct sockaddr*)&addr, sizeof addr) != 0 || getsockname(fd, (struct sockaddr*)&addr, &length) != 0) {
        close(fd);
        return -1;
    }
    *port = ntohs(addr.sin_port);
    return fd;
}

static uint64_t started_ns; /* uv_hrtime() at start */

/* One statistics block, stamped with the wall-clock time (UTC) and the uptime. */
static void print_stats(const char* when) {
    Counters* k = &server.counters;
    char stamp[32] = "?";
    time_t now = time(NULL);
    struct tm utc;
    if (gmtime_r(&now, &utc) != NULL) {
        strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &utc);
    }
    printf("stats(%s) at %s uptime=%.1fs: buffers=%s connections accepted=%llu refused=%llu active=%lld "
           "closed=%llu bytes_in=%llu bytes_out=%llu reads=%llu lines=%llu backpressure_pauses=%llu resets=%llu "
           "errors=%llu\n",
           when, stamp, (double)(uv_hrtime() - started_ns) / 1e9, buffers_name(), (unsigned long long)atomic_load(&k->accepted),
           (unsigned long long)atomic_load(&k->refused), (long long)atomic_load(&k->active),
           (unsigned long long)atomic_load(&k->closed), (unsigned long long)atomic_load(&k->bytes_in),
           (unsigned long long)atomic_load(&k->bytes_out), (unsigned long long)atomic_load(&k->reads),
           (unsigned long long)atomic_load(&k->lines), (unsigned long long)atomic_load(&k->backpressure_pauses),
           (unsigned long long)atomic_load(&k->resets), (unsigned long long)atomic_load(&k->errors));
    buffers_report(stdout);
    printf("live_buffers=%zu\n", buffers_live());
    fflush(stdout);
}

static void on_worker_handle_closed(uv_handle_t* handle) { (void)handle; }

static void on_stop(uv_async_t* async) {
    Worker* w = async->data;
    uv_close((uv_handle_t*)&w->listener, on_worker_handle_closed);
    uv_close((uv_handle_t*)&w->stop, on_worker_handle_closed);
    connections_close_all(&w->loop);
}

static void worker_main(void* arg) {
    Worker* w = arg;
    uv_run(&w->loop, UV_RUN_DEFAULT);
}

static bool start_worker(Worker* w) {
    if (uv_loop_init(&w->loop) != 0 || uv_tcp_init(&w->loop, &w->listener) != 0 ||
        uv_tcp_open(&w->listener, w->listen_fd) != 0 || uv_async_init(&w->loop, &w->stop, on_stop) != 0) {
        return false;
    }
    w->listener.data = w;
    w->stop.data = w;
    if (uv_listen((uv_stream_t*)&w->listener, 511, connection_accept) != 0) {
        return false;
    }
    return uv_thread_create(&w->thread, worker_main, w) == 0;
}

static uv_signal_t sigint, sigterm, sigusr1;
static uv_timer_t stats_timer;

static void stop_everything(void) {
    for (unsigned i = 0; i < server.options.threads; i++) {
        uv_async_send(&server.workers[i].stop);
    }
    uv_close((uv_handle_t*)&sigint, NULL);
    uv_close((uv_handle_t*)&sigterm, NULL);
    uv_close((uv_handle_t*)&sigusr1, NULL);
    if (uv_is_active((uv_handle_t*)&stats_timer)) {
        uv_timer_stop(&stats_timer);
    }
    uv_close((uv_handle_t*)&stats_timer, NULL);
}

static void on_signal(uv_signal_t* handle, int signum) {
    (void)handle;
    if (signum == SIGUSR1) {
        print_stats("SIGUSR1");
    } else {
        printf("demo_server: %s, stopping\n", signum == SIGINT ? "SIGINT" : "SIGTERM");
        stop_everything();
    }
}

static void on_stats_timer(uv_timer_t* timer) {
    (void)timer;
    print_stats("interval");
}

int main(int argc, char** argv) {
    int parsed = parse_options(argc, argv, &server.options);
    if (parsed != 0) {
        return parsed == 1 ? 0 : 2;
    }
    started_ns = uv_hrtime();
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!buffers_init()) {
        fprintf(stderr, "demo_server: cannot initialise buffers\n");
        return 1;
    }
    ServerOptions* o = &server.options;
    server.workers = calloc(o->threads, sizeof *server.workers);
    if (server.workers == NULL) {
        return 1;
    }
    int port = o->port;
    for (unsigned i = 0; i < o->threads; i++) {
        server.workers[i].index = i;
        server.workers[i].server = &server;
        server.workers[i].listen_fd = open_listener(o->host, &port);
        if (server.workers[i].listen_fd < 0) {
            fprintf(stderr, "demo_server: cannot listen on %s:%d: %s\n", o->host, port, strerror(errno));
            return 1;
        }
    }
    main_loop = uv_default_loop();
    uv_signal_init(main_loop, &sigint);
    uv_signal_init(main_loop, &sigterm);
    uv_signal_init(main_loop, &sigusr1);
    uv_timer_init(main_loop, &stats_timer);
    uv_signal_start(&sigint, on_signal, SIGINT);
    uv_signal_start(&sigterm, on_signal, SIGTERM);
    uv_signal_start(&sigusr1, on_signal, SIGUSR1);
    if (o->stats_interval > 0) {
        uint64_t ms = (uint64_t)(o->stats_interval * 1000);
        uv_timer_start(&stats_timer, on_stats_timer, ms, ms);
    }
    for (unsigned i = 0; i < o->threads; i++) {
        if (!start_worker(&server.workers[i])) {
            fprintf(stderr, "demo_server: cannot start event loop %u\n", i);
            return 1;
        }
    }
    printf("listening on %s:%d (%u thread%s, buffers from %s)\n", o->host, port, o->threads,
           o->threads == 1 ? "" : "s", buffers_name());
    uv_run(main_loop, UV_RUN_DEFAULT);
    for (unsigned i = 0; i < o->threads; i++) {
        uv_thread_join(&server.workers[i].thread);
        uv_loop_close(&server.workers[i].loop);
    }
    uv_loop_close(main_loop);
    print_stats("final");
    bool clean = buffers_finish(stdout);
    free(server.workers);
    printf("demo_server: exit %s\n", clean ? "clean" : "NOT clean");
    return clean ? 0 : 1;
}
