/*
 * monitor.c - the monitor thread and the operator's signals. During a run the monitor
 * validates the pool five times a second (with --snapshots: validate, stats and trim
 * back to back, as fast as they go), prints a status line a second on a terminal and
 * a progress line every five seconds otherwise. SIGINT and SIGTERM end the run early
 * (the report and verdict still print); SIGUSR1 prints a snapshot of the pool and the
 * run so far.
 */
#define _DEFAULT_SOURCE 1

#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <unistd.h>

#include "harness.h"

/* Lock-free atomics: safe to store from a signal handler, and read by every thread. */
static atomic_int stop_signal;
static atomic_int snapshot_requested;

static void on_stop(int signal_number) { atomic_store(&stop_signal, signal_number); }

static void on_snapshot(int signal_number) {
    (void)signal_number;
    atomic_store(&snapshot_requested, 1);
}

void monitor_install_signals(void) {
    struct sigaction action = {0};
    sigemptyset(&action.sa_mask);
    action.sa_handler = on_stop;
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);
    action.sa_handler = on_snapshot;
    sigaction(SIGUSR1, &action, NULL);
}

bool monitor_stopped_by_signal(void) { return atomic_load(&stop_signal) != 0; }

static void print_status(FILE* out, const char* prefix, const char* suffix, double elapsed, double rate) {
    MemPoolStats s;
    if (!mem_pool_stats(&pool, &s)) {
        return;
    }
    uint64_t all = s.cache_hits + s.cache_misses;
    fprintf(out, "%s%6.1fs  %10.0f ops/s  live %7zu  orphans %7zu  cache hit %5.1f%%  pages %zu KiB%s", prefix,
            elapsed, rate, s.live_containers, s.orphaned_containers,
            all ? 100.0 * (double)s.cache_hits / (double)all : 0.0, s.peak_bytes / 1024, suffix);
    fflush(out);
}

static void* monitor_main(void* arg) {
    (void)arg;
    bool tty = isatty(STDOUT_FILENO) && !opt.json;
    uint64_t start = now_ns(), last_status = start, last_progress = start, last_validate = start, status_ops = 0;
    uint64_t snapshots = 0;
    while (!atomic_load(&stop_flag)) {
        if (monitor_stopped_by_signal()) {
            atomic_store(&stop_flag, true); /* the workers finish their operation and stop */
            break;
        }
        uint64_t now = now_ns();
        if (opt.snapshots) {
            bool valid = mem_pool_validate(&pool);
            MemPoolStats s;
            valid = mem_pool_stats(&pool, &s) && valid;
            mem_pool_trim(&pool);
            snapshots++;
            if (!valid) {
                violated(INV_VALIDATE);
            }
        } else {
            usleep(20000);
            if (now - last_validate >= 200000000u) {
                if (!mem_pool_validate(&pool)) {
                    violated(INV_VALIDATE);
                }
                last_validate = now;
            }
        }
        double elapsed = (double)(now - start) / 1e9;
        uint64_t ops = atomic_load(&total_ops);
        if (atomic_exchange(&snapshot_requested, 0) != 0) {
            print_status(stderr, "snapshot: ", "\n", elapsed, elapsed > 0 ? (double)ops / elapsed : 0);
        }
        if (tty && now - last_status >= 1000000000u) {
            print_status(stdout, "\r", "   ", elapsed, (double)(ops - status_ops) * 1e9 / (double)(now - last_status));
            last_status = now;
            status_ops = ops;
        } else if (!tty && !opt.json && now - last_progress >= 5000000000u) {
            print_status(stdout, "progress: ", "\n", elapsed, (double)ops / elapsed);
            last_progress = now;
        }
    }
    if (tty) {
        printf("\n");
    }
    return (void*)(uintptr_t)snapshots;
}

bool monitor_start(pthread_t* thread) { return pthread_create(thread, NULL, monitor_main, NULL) == 0; }
