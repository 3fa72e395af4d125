// churn.h - the memory workload: a seeded churn of mixed sizes (64 B .. 64 KiB)
// keeping about 20,000 blocks live, then everything freed; reports resident memory
// before and after (what the allocator kept).
#ifndef MEMKIT_BENCH_CHURN_H
#define MEMKIT_BENCH_CHURN_H

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

namespace bench {

struct ChurnResult {
    long rss_before_kb;
    long rss_peak_live_kb;
    long rss_after_kb;
};

inline long ResidentKb() {
    long pages = 0, resident = 0;
    FILE* f = std::fopen("/proc/self/statm", "r");
    if (f != nullptr) {
        if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
        std::fclose(f);
    }
    return resident * 4;
}

// alloc(size) returns an allocator-specific handle, data(handle) its bytes,
// release(handle) gives it back.
template <typename Alloc, typename Data, typename Free>
ChurnResult RunChurn(Alloc alloc, Data data, Free release) {
    ChurnResult r{};
    r.rss_before_kb = ResidentKb();
    constexpr size_t kLive = 20000;
    std::vector<void*> live(kLive, nullptr);
    uint64_t x = 12345;
    for (size_t step = 0; step < 400000; step++) {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        uint64_t r64 = x * 0x2545F4914F6CDD1Dull;
        size_t slot = r64 % kLive;
        if (live[slot] != nullptr) release(live[slot]);
        size_t size = 64u << ((r64 >> 32) % 11);  // 64 B .. 64 KiB, then up to 2x
        size += (r64 >> 40) % size;
        live[slot] = alloc(size);
        std::memset(data(live[slot]), 1, size);
    }
    r.rss_peak_live_kb = ResidentKb();
    for (size_t i = 0; i < kLive; i++)
        if (live[i] != nullptr) release(live[i]);
    r.rss_after_kb = ResidentKb();
    return r;
}

template <typename State>
void ReportChurn(State& state, const ChurnResult& r) {
    state.counters["rss_live_kb"] = static_cast<double>(r.rss_peak_live_kb - r.rss_before_kb);
    state.counters["rss_after_free_kb"] = static_cast<double>(r.rss_after_kb - r.rss_before_kb);
}

}  // namespace bench

#endif
