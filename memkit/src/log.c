/*
 * log.c - the diagnostic log sink. Formatting happens on the stack; nothing here
 * allocates or changes library state (but a per-thread flag against a sink that logs
 * from inside itself). The sink is a process-wide setting (see
 * memkit/system.h); emitting is thread-safe.
 */
#include "internal.h"

#include <stdio.h>


static void stderr_sink(MemLogLevel level, const char* message, void* context) {
    (void)context;
    static const char* const labels[] = {"debug", "warning", "error"};
    fprintf(stderr, "memkit %s: %s\n", labels[level], message);
}

static MemLogSink log_sink = stderr_sink;
static void* log_context = NULL;

void mem_set_log_sink(MemLogSink sink, void* context) {
    log_sink = sink;
    log_context = context;
}

void mem_reset_log_sink(void) { mem_set_log_sink(stderr_sink, NULL); }

/* Set while the calling thread runs the sink. What is logged meanwhile (a sink that
 * calls the library against its contract) is dropped: a refused call inside the sink
 * would log again, and again, until the stack ran out. */
static mem__thread_local bool in_sink;

void mem__log(MemLogLevel level, const char* format, ...) {
    MemLogSink sink = log_sink;
    if (sink == NULL || (level == MEM_LOG_DEBUG && !MEM__DEBUG) || in_sink) {
        return;
    }
    char message[512];
    va_list args;
    va_start(args, format);
    vsnprintf(message, sizeof message, format, args);
    va_end(args);
    in_sink = true;
    sink(level, message, log_context);
    in_sink = false;
}
