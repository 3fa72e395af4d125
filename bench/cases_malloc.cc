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

// `ops` malloc/free pairs of `size` bytes through `api`, with a memset before each free
// when `wipe` (mem_free wipes by itself).
void Pairs(const MallocApi& api, size_t size, bool wipe, uint64_t ops) {
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
    for (int threads : {1, 2, 4}) {
        if (threads > 1 && !MEM_THREAD_SAFE) break;
        for (size_t size : {size_t{16}, size_t{64}, size_t{256}, size_t{1024}, size_t{16384}})
            shapes.push_back({size, threads});
    }
    // libmemkit through the same kind of entry points as the peers, and only plain.
    std::vector<std::pair<MallocApi, bool>> contenders = {{{"libmemkit", mem_malloc, mem_free}, false}};
    for (const MallocApi& api : peers) {
        contenders.push_back({api, false});
        contenders.push_back({{api.name + " + memset", api.malloc, api.free}, true});
    }
    for (auto [size, threads] : shapes) {
        std::string group = "malloc/" + std::to_string(size) + "/" + std::to_string(threads);
        uint64_t ops = Scaled(size <= 1024 ? 4000000 : 1000000, scale);
        for (const auto& [api, wipe] : contenders) {
            cases->push_back({group, api.name, ops, [api = api, wipe = wipe, size = size, threads = threads](uint64_t n) {
                                  return TimeThreads(threads, [&](int) {
                                      Pairs(api, size, wipe, n / static_cast<uint64_t>(threads));
                                  });
                              }});
        }
    }
}

}  // namespace bench
