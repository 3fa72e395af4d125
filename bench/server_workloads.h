// server_workloads.h - the cross-thread workloads (cases_server.cc), shared with the
// resident-memory runs (memory.cc): an object API that libmemkit's handles and every
// peer's malloc fit, and the two workloads over it.
#ifndef MEMKIT_BENCH_SERVER_WORKLOADS_H
#define MEMKIT_BENCH_SERVER_WORKLOADS_H

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "bench/peers.h"

namespace bench {

struct ObjectApi {
    std::string name;
    void* (*alloc)(size_t size);
    unsigned char* (*data)(void* object);
    void (*release)(void* object);
};

// libmemkit's handles first (for a workload on several threads, only in the
// thread-safe build), then every peer's malloc.
ObjectApi MemkitObjects();
std::vector<ObjectApi> ObjectApis(const std::vector<MallocApi>& peers, bool threaded);

// Wall nanoseconds for `ops` operations over `threads` threads.
uint64_t RunLarson(const ObjectApi& api, int threads, uint64_t ops);
// Wall nanoseconds for `objects` objects passed from producers to consumers
// (`threads` / 2 pairs).
uint64_t RunXmalloc(const ObjectApi& api, int threads, uint64_t objects);

}  // namespace bench

#endif
