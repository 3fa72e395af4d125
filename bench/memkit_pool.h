// memkit_pool.h - the one libmemkit pool every case shares, as a server's would be.
#ifndef MEMKIT_BENCH_MEMKIT_POOL_H
#define MEMKIT_BENCH_MEMKIT_POOL_H

#include <cstdlib>

#include "memkit.h"

namespace bench {

inline MemoryPool* BenchPool() {
    static MemoryPool pool;
    static bool ready = mem_pool_init(&pool, 1024);
    if (!ready) std::abort();
    return &pool;
}

// A handle with a container of `size` bytes: the allocation of the handle workloads.
inline MemoryPointer* MakePointer(size_t size) {
    MemoryPointer* p = mem_pointer_create("bench", size);
    if (p == nullptr || !mem_pointer_allocate(p, size, BenchPool())) std::abort();
    return p;
}

inline void DropPointer(MemoryPointer* p) {
    if (!mem_pointer_destroy(p, BenchPool())) std::abort();
}

}  // namespace bench

#endif
