/*
 * options.c - parsing and validation of the stress harness's options.
 */
#define _DEFAULT_SOURCE 1 /* strsep */

#include "options.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char* const stress_op_names[OP_KINDS] = {"share", "write", "destroy", "read", "arena"};

static const char usage[] =
    "usage: stress [options]\n"
    "Hammers libmemkit from many threads and checks every invariant; exit 0 only if all held.\n"
    "  --mode M           mixed (default): shares, COW writes, destroys, RCU reads, arenas on a\n"
    "                     shared slot table; pipeline: half the workers make payloads, the\n"
    "                     others check and destroy them; exchange: workers swap handles\n"
    "                     through a shared slot array; owner: each worker on its own objects\n"
    "  --snapshots        run validate, stats and trim in a loop on another thread\n"
    "  --threads N        worker threads (1-256, default 4; pipeline needs 2)\n"
    "  --seconds S        run for S seconds (default 10); ignored with --ops\n"
    "  --ops N            run exactly N operations in total (reproducible with --threads 1)\n"
    "  --seed N           random seed (default 1)\n"
    "  --mix A:B:C:D:E    weights of share:write:destroy:read:arena (default 30:20:20:25:5)\n"
    "  --sizes MIN-MAX    payload sizes in bytes (default 64-4096; MIN >= 64)\n"
    "  --slots N          pointer slots (1-100000, default 64): shared by the workers, or\n"
    "                     in owner mode each worker's own\n"
    "  --fail-every N     fail every N-th system allocation (N >= 2; default off)\n"
    "  --json             print the report as JSON\n"
    "  --help             this text\n";

static int bad(const char* option, const char* value, const char* why) {
    fprintf(stderr, "stress: bad value '%s' for %s: %s\n%s", value, option, why, usage);
    return 2;
}

static bool parse_u64(const char* text, uint64_t* out) {
    if (text == NULL || *text == '\0' || *text == '-') {
        return false;
    }
    char* end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno != 0 || *end != '\0') {
        return false;
    }
    *out = v;
    return true;
}

static bool parse_range(const char* text, size_t* lo, size_t* hi) {
    char buffer[64];
    if (text == NULL || strlen(text) >= sizeof buffer) {
        return false;
    }
    strcpy(buffer, text);
    char* dash = strchr(buffer, '-');
    if (dash == NULL) {
        return false;
    }
    *dash = '\0';
    uint64_t a, b;
    if (!parse_u64(buffer, &a) || !parse_u64(dash + 1, &b)) {
        return false;
    }
    *lo = (size_t)a;
    *hi = (size_t)b;
    return true;
}

static bool parse_mix(const char* text, unsigned mix[OP_KINDS]) {
    char buffer[128];
    if (text == NULL || strlen(text) >= sizeof buffer) {
        return false;
    }
    strcpy(buffer, text);
    char* rest = buffer;
    unsigned total = 0;
    for (int k = 0; k < OP_KINDS; k++) {
        char* part = strsep(&rest, ":");
        uint64_t v;
        if (part == NULL || !parse_u64(part, &v) || v > 1000) {
            return false;
        }
        mix[k] = (unsigned)v;
        total += mix[k];
    }
    return rest == NULL && total > 0;
}

int stress_parse_options(int argc, char** argv, StressOptions* o) {
    *o = (StressOptions){.threads = 4, .seconds = 10, .seed = 1, .mix = {30, 20, 20, 25, 5},
                         .min_size = 64, .max_size = 4096, .slots = 64};
    for (int i = 1; i < argc; i++) {
        const char* opt = argv[i];
        const char* val = i + 1 < argc ? argv[i + 1] : NULL;
        uint64_t v;
        if (strcmp(opt, "--help") == 0 || strcmp(opt, "-h") == 0) {
            fputs(usage, stdout);
            return 1;
        } else if (strcmp(opt, "--json") == 0) {
            o->json = true;
            continue;
        } else if (strcmp(opt, "--snapshots") == 0) {
            o->snapshots = true;
            continue;
        } else if (val == NULL) {
            fprintf(stderr, "stress: unknown option or missing value: %s\n%s", opt, usage);
            return 2;
        } else if (strcmp(opt, "--mode") == 0) {
            static const char* const modes[] = {"mixed", "pipeline", "exchange", "owner"};
            unsigned m = 0;
            while (m < 4 && strcmp(val, modes[m]) != 0) m++;
            if (m == 4) return bad(opt, val, "one of mixed, pipeline, exchange, owner");
            o->mode = (StressMode)m;
        } else if (strcmp(opt, "--threads") == 0) {
            if (!parse_u64(val, &v) || v < 1 || v > 256) return bad(opt, val, "a whole number from 1 to 256");
            o->threads = (unsigned)v;
        } else if (strcmp(opt, "--seconds") == 0) {
            char* end;
            double s = strtod(val, &end);
            if (*end != '\0' || !(s > 0 && s <= 86400)) return bad(opt, val, "seconds, more than 0, at most 86400");
            o->seconds = s;
        } else if (strcmp(opt, "--ops") == 0) {
            if (!parse_u64(val, &v) || v < 1) return bad(opt, val, "a whole number of operations, at least 1");
            o->ops = v;
        } else if (strcmp(opt, "--seed") == 0) {
            if (!parse_u64(val, &v)) return bad(opt, val, "a whole number");
            o->seed = v;
        } else if (strcmp(opt, "--mix") == 0) {
            if (!parse_mix(val, o->mix)) return bad(opt, val, "five weights 0-1000 like 30:20:20:25:5, not all 0");
        } else if (strcmp(opt, "--sizes") == 0) {
            if (!parse_range(val, &o->min_size, &o->max_size) || o->min_size < 64 || o->max_size < o->min_size ||
                o->max_size > (64u << 20))
                return bad(opt, val, "MIN-MAX with 64 <= MIN <= MAX <= 67108864");
        } else if (strcmp(opt, "--slots") == 0) {
            if (!parse_u64(val, &v) || v < 1 || v > 100000) return bad(opt, val, "a whole number from 1 to 100000");
            o->slots = (unsigned)v;
        } else if (strcmp(opt, "--fail-every") == 0) {
            if (!parse_u64(val, &v) || v < 2) return bad(opt, val, "a whole number, at least 2");
            o->fail_every = v;
        } else {
            fprintf(stderr, "stress: unknown option: %s\n%s", opt, usage);
            return 2;
        }
        i++;
    }
    if (o->mode == MODE_PIPELINE && o->threads < 2) {
        return bad("--threads", "1", "the pipeline mode needs a producer and a consumer (2 or more)");
    }
    return 0;
}
