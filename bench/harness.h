// harness.h - what every benchmark case is made of. A case is one contender running
// one workload: given a number of operations it runs them and returns the wall time
// they took. bench/compare.cc runs every case of a group (the same workload for all
// contenders) one after the other, round after round, so that the machine's drift
// (frequency, other load, neighbours on the host) hits every contender alike; the
// report takes each case's median over the rounds.
#ifndef MEMKIT_BENCH_HARNESS_H
#define MEMKIT_BENCH_HARNESS_H

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace bench {

struct Case {
    std::string group;      // the workload, e.g. "lifecycle/64"
    std::string contender;  // "memkit", "glibc", "GLib rc box", ...
    uint64_t ops;           // operations per run (the report divides by it)
    std::function<uint64_t(uint64_t ops)> run;  // runs `ops` operations, returns wall ns
};

uint64_t NowNs();

// Resident set of this process, and its peak (VmHWM), in bytes.
uint64_t ResidentBytes();
uint64_t PeakResidentBytes();

// xorshift64*: the seeded random sizes and slots of the workloads.
struct Random {
    uint64_t state;
    explicit Random(uint64_t seed) : state(seed * 0x9E3779B97F4A7C15ull + 1) {}
    uint64_t Next() {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        return state * 0x2545F4914F6CDD1Dull;
    }
    size_t Between(size_t low, size_t high) { return low + static_cast<size_t>(Next() % (high - low + 1)); }
};

// Starts `threads` threads running body(index) together and returns the wall time
// from their common start to the last one's end (thread start-up excluded).
uint64_t TimeThreads(int threads, const std::function<void(int index)>& body);

// Keeps the optimiser from dropping a computation or a store.
template <typename T>
inline void Keep(T const& value) {
    asm volatile("" : : "r,m"(value) : "memory");
}
inline void Clobber() { asm volatile("" : : : "memory"); }

}  // namespace bench

#endif
