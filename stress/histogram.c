/*
 * histogram.c - log-bucket latency histogram. Bucket of v: 4 * floor(log2 v) plus
 * the two bits below the leading one.
 */
#include "histogram.h"

static unsigned bucket_of(uint64_t v) {
    if (v < 4) {
        return (unsigned)v;
    }
    unsigned msb = 63u - (unsigned)__builtin_clzll(v);
    return 4u * (msb - 1u) + (unsigned)((v >> (msb - 2u)) & 3u);
}

static uint64_t bucket_upper_bound(unsigned b) {
    if (b < 4) {
        return b;
    }
    unsigned msb = b / 4 + 1;
    uint64_t low = ((uint64_t)(4 + b % 4)) << (msb - 2);
    return low + (UINT64_C(1) << (msb - 2)) - 1;
}

void histogram_record(Histogram* h, uint64_t nanoseconds) {
    unsigned b = bucket_of(nanoseconds);
    h->buckets[b < HISTOGRAM_BUCKETS ? b : HISTOGRAM_BUCKETS - 1]++;
    h->count++;
}

void histogram_merge(Histogram* into, const Histogram* from) {
    into->count += from->count;
    for (unsigned b = 0; b < HISTOGRAM_BUCKETS; b++) {
        into->buckets[b] += from->buckets[b];
    }
}

uint64_t histogram_quantile(const Histogram* h, double q) {
    if (h->count == 0) {
        return 0;
    }
    uint64_t rank = (uint64_t)(q * (double)h->count);
    if (rank == 0) {
        rank = 1;
    }
    uint64_t seen = 0;
    for (unsigned b = 0; b < HISTOGRAM_BUCKETS; b++) {
        seen += h->buckets[b];
        if (seen >= rank) {
            return bucket_upper_bound(b);
        }
    }
    return bucket_upper_bound(HISTOGRAM_BUCKETS - 1);
}
