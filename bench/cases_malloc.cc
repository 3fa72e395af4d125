// cases_malloc.cc - mem_malloc against the general-purpose allocators on their own
// turf: a malloc/free pair of N bytes on T threads at once (malloc/N/T). Each peer
// runs twice, plain and with a memset of the block before free, since mem_free
// always wipes; the goal (issue 15) is within 1.3x of mimalloc + memset and faster
// than glibc + memset.
#include <cstring>

#include "bench/cases.h"
#include "memkit.h"

namespace bench {

namespace {

void MemkitPairs(size_t size, uint64_t ops) {
    for (uint64_t i = 0; i < ops; i++) {
        void* p = mem_malloc(size);
        Keep(p);
        mem_free(p);
    }
}

void PeerPairs(const MallocApi& api, size_t size, bool wipe, uint64_t ops) {
    for (uint64_t i = 0; i < ops; i++) {
        void* p = api.malloc(size);
        Keep(p);
        if (wipe) {
            std::memset(p, 0, size);
            Clobber();
        }
        api.free(p);
    }
}

}  // namespace

void AddMallocCases(std::vector<Case>* cases, const std::vector<MallocApi>& peers, double scale) {
    std::vector<std::pair<size_t, int>> shapes;
    for (size_t size : {size_t{16}, size_t{64}, size_t{256}, size_t{1024}, size_t{16384}}) shapes.push_back({size, 1});
    if (MEM_THREAD_SAFE) {
        for (int threads : {2, 4})
            for (size_t size : {size_t{64}, size_t{1024}}) shapes.push_back({size, threads});
    }
    for (auto [size, threads] : shapes) {
        std::string group = "malloc/" + std::to_string(size) + "/" + std::to_string(threads);
        uint64_t ops = Scaled(size <= 1024 ? 4000000 : 1000000, scale);
        auto per_thread = [threads = threads](uint64_t n) { return n / static_cast<uint64_t>(threads); };
        cases->push_back({group, "libmemkit", ops, [size = size, threads = threads, per_thread](uint64_t n) {
                              return TimeThreads(threads, [&](int) { MemkitPairs(size, per_thread(n)); });
                          }});
        for (const MallocApi& api : peers) {
            for (bool wipe : {false, true}) {
                cases->push_back({group, api.name + (wipe ? " + memset" : ""), ops,
                                  [api, size = size, threads = threads, per_thread, wipe](uint64_t n) {
                                      return TimeThreads(threads,
                                                         [&](int) { PeerPairs(api, size, wipe, per_thread(n)); });
                                  }});
            }
        }
    }
}

}  // namespace bench
