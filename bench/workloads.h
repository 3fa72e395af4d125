// workloads.h - shared pieces of the benchmarks: the fixed, seeded size sequence
// of the per-request workload, and helpers that keep the optimiser honest.
#ifndef MEMKIT_BENCH_WORKLOADS_H
#define MEMKIT_BENCH_WORKLOADS_H

#include <cstddef>
#include <cstdint>

namespace bench {

constexpr int kRequestAllocations = 32;

// 32 sizes in 16..512 bytes from a fixed seed (the same for every allocator).
inline const size_t* RequestSizes() {
    static size_t sizes[kRequestAllocations];
    static bool ready = false;
    if (!ready) {
        uint64_t x = 0x9E3779B97F4A7C15ull;
        for (int i = 0; i < kRequestAllocations; i++) {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            sizes[i] = 16 + (x * 0x2545F4914F6CDD1Dull) % 497;
        }
        ready = true;
    }
    return sizes;
}

inline size_t RequestBytes() {
    size_t total = 0;
    for (int i = 0; i < kRequestAllocations; i++) total += RequestSizes()[i];
    return total;
}

}  // namespace bench

#endif
