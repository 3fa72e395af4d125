// cases.h - the workloads, one file each, and the cases they add: every contender
// on the same workload forms a group (bench/compare.cc interleaves a group's cases).
#ifndef MEMKIT_BENCH_CASES_H
#define MEMKIT_BENCH_CASES_H

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "bench/harness.h"
#include "bench/peers.h"

namespace bench {

// Operations per run, scaled down for smoke runs (never below 1).
inline uint64_t Scaled(uint64_t ops, double scale) {
    uint64_t n = static_cast<uint64_t>(static_cast<double>(ops) * scale);
    return n > 0 ? n : 1;
}

void AddPointerCases(std::vector<Case>* cases, const std::vector<MallocApi>& peers, double scale);
void AddRefcountCases(std::vector<Case>* cases, const std::vector<MallocApi>& peers, double scale);
void AddRequestCases(std::vector<Case>* cases, const std::vector<MallocApi>& peers, double scale);
void AddServerCases(std::vector<Case>* cases, const std::vector<MallocApi>& peers, double scale);
void AddMallocCases(std::vector<Case>* cases, const std::vector<MallocApi>& peers, double scale);

// Resident-memory workloads, each run once in a process of its own (memory.cc): their
// names, their contenders, and one run of `workload` for `contender`, which adds its
// named figures to *out (false when the contender does not run that workload).
std::vector<std::string> MemoryWorkloads();
std::vector<std::string> MemoryContenders(const std::string& workload, const std::vector<MallocApi>& peers);
bool RunMemoryWorkload(const std::string& workload, const std::string& contender,
                       const std::vector<MallocApi>& peers, double scale, std::vector<std::pair<std::string, double>>* out);

}  // namespace bench

#endif
