/*
 * histogram.h - a log-bucket latency histogram (four buckets per power of two of
 * nanoseconds): constant-time record, mergeable, percentiles within 19%.
 */
#ifndef MEMKIT_STRESS_HISTOGRAM_H
#define MEMKIT_STRESS_HISTOGRAM_H

#include <stdint.h>

#define HISTOGRAM_BUCKETS 256

typedef struct Histogram {
    uint64_t count;
    uint64_t buckets[HISTOGRAM_BUCKETS];
} Histogram;

void histogram_record(Histogram* h, uint64_t nanoseconds);
void histogram_merge(Histogram* into, const Histogram* from);
/* The upper bound of the bucket holding the q-quantile (0 < q <= 1); 0 if empty. */
uint64_t histogram_quantile(const Histogram* h, double q);

#endif
