/*
 * options.h - the stress harness's command line: parsed into StressOptions, with a
 * clear message and exit status 2 for any bad value.
 */
#ifndef MEMKIT_STRESS_OPTIONS_H
#define MEMKIT_STRESS_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { OP_SHARE, OP_WRITE, OP_DESTROY, OP_READ, OP_ARENA, OP_KINDS };

typedef enum StressMode { MODE_MIXED, MODE_PIPELINE, MODE_EXCHANGE, MODE_OWNER } StressMode;

typedef struct StressOptions {
    StressMode mode;
    bool snapshots;  /* validate, stats and trim in a loop on another thread */
    unsigned threads;
    double seconds;  /* run time when ops == 0 */
    uint64_t ops;    /* total operations (all threads), 0 = run for `seconds` */
    uint64_t seed;
    unsigned mix[OP_KINDS]; /* weights */
    size_t min_size;
    size_t max_size;
    unsigned slots;
    uint64_t fail_every; /* 0 = no injected failures */
    bool json;
} StressOptions;

extern const char* const stress_op_names[OP_KINDS];

/* Parses argv into *out. Returns 0 to run, 1 after printing --help, 2 on a bad
 * argument (message printed to stderr). */
int stress_parse_options(int argc, char** argv, StressOptions* out);

#endif
