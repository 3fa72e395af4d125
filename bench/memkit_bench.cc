// memkit_bench.cc - the workloads on libmemkit, and the reference loop of the
// per-request workload (inline bump allocation from one buffer, memset of the used
// bytes at the end: the practical floor).
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "bench/churn.h"
#include "bench/spsc_queue.h"
#include "bench/workloads.h"
#include "memkit.h"

namespace {

MemoryPool* SharedPool() {
    static MemoryPool pool;
    static bool ready = mem_pool_init(&pool, 1024);
    return ready ? &pool : nullptr;
}

}  // namespace

// 1. Per-request cycle on a request arena (wiping included: release wipes).
static void BM_RequestArena(benchmark::State& state) {
    const size_t* sizes = bench::RequestSizes();
    for (auto _ : state) {
        MemoryArena* arena = mem_request_arena_acquire();
        for (int i = 0; i < bench::kRequestAllocations; i++) {
            char* p = static_cast<char*>(mem_arena_alloc(arena, sizes[i]));
            p[0] = static_cast<char>(i);
            benchmark::DoNotOptimize(p);
        }
        mem_request_arena_release(arena);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RequestArena)->Name("request/memkit_arena");

// The floor: bump-allocate inline from one buffer, memset the used bytes at the end.
static void BM_RequestReference(benchmark::State& state) {
    const size_t* sizes = bench::RequestSizes();
    alignas(16) static char buffer[64 * 1024];
    for (auto _ : state) {
        size_t used = 0;
        for (int i = 0; i < bench::kRequestAllocations; i++) {
            char* p = buffer + used;
            used += (sizes[i] + 7) & ~size_t{7};
            p[0] = static_cast<char>(i);
            benchmark::DoNotOptimize(p);
        }
        std::memset(buffer, 0, used);
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RequestReference)->Name("request/reference_bump");

// 2. Pointer lifecycle: create + allocate + write every byte + destroy (wipes).
static void BM_Lifecycle(benchmark::State& state) {
    size_t size = static_cast<size_t>(state.range(0));
    MemoryPool* pool = SharedPool();
    for (auto _ : state) {
        MemoryPointer* p = mem_pointer_create("bench", size);
        if (!mem_pointer_allocate(p, size, pool)) state.SkipWithError("allocate failed");
        std::memset(p->container->data, 0x5A, size);
        unsigned char* data = p->container->data;
        benchmark::DoNotOptimize(data);
        mem_pointer_destroy(p, pool);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Lifecycle)->Name("lifecycle/memkit")->Arg(64)->Arg(1024)->Arg(16384);
#if MEM_THREAD_SAFE  // the multi-threaded workloads need the thread-safe build
// 5. The same on 1, 2 and 4 threads sharing one pool.
BENCHMARK(BM_Lifecycle)->Name("threads/memkit")->Arg(1024)->Threads(1)->Threads(2)->Threads(4)->UseRealTime();
#endif

// 3. Share + release of one container: uncontended, and with threads contending.
static void BM_ShareRelease(benchmark::State& state) {
    static MemoryPointer* root = nullptr;
    MemoryPool* pool = SharedPool();
    if (state.thread_index() == 0) {
        root = mem_pointer_create("root", 64);
        if (!mem_pointer_allocate(root, 64, pool)) state.SkipWithError("allocate failed");
    }
    for (auto _ : state) {
        MemoryPointer* s = mem_pointer_share(root, "s");
        benchmark::DoNotOptimize(s);
        mem_pointer_destroy(s, pool);
    }
    if (state.thread_index() == 0) mem_pointer_destroy(root, pool);
    state.SetItemsProcessed(state.iterations());
}
#if MEM_THREAD_SAFE
BENCHMARK(BM_ShareRelease)->Name("share_release/memkit")->Threads(1)->Threads(2)->UseRealTime();
#else
BENCHMARK(BM_ShareRelease)->Name("share_release/memkit")->Threads(1)->UseRealTime();
#endif

// 4. Copy-on-write of a shared 4 KB container.
static void BM_CowWrite(benchmark::State& state) {
    MemoryPool* pool = SharedPool();
    MemoryPointer* root = mem_pointer_create("root", 4096);
    if (!mem_pointer_allocate(root, 4096, pool)) state.SkipWithError("allocate failed");
    std::memset(root->container->data, 'x', 4096);
    for (auto _ : state) {
        MemoryPointer* s = mem_pointer_share(root, "s");
        void* copy = mem_pointer_write(s, pool);
        benchmark::DoNotOptimize(copy);
        mem_pointer_destroy(s, pool);
    }
    mem_pointer_destroy(root, pool);
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CowWrite)->Name("cow/memkit_write");

#if MEM_THREAD_SAFE
// 6. Producer / consumer: one thread allocates, another destroys.
static void BM_ProducerConsumer(benchmark::State& state) {
    MemoryPool* pool = SharedPool();
    bench::SpscQueue queue;
    std::atomic<bool> stop{false};
    std::thread consumer(
        [&] { queue.Drain(stop, [pool](void* p) { mem_pointer_destroy(static_cast<MemoryPointer*>(p), pool); }); });
    for (auto _ : state) {
        MemoryPointer* p = mem_pointer_create("made", 256);
        if (!mem_pointer_allocate(p, 256, pool)) state.SkipWithError("allocate failed");
        p->container->data[0] = 1;
        while (!queue.Push(p)) {
        }
    }
    stop.store(true, std::memory_order_release);
    consumer.join();
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ProducerConsumer)->Name("producer_consumer/memkit")->UseRealTime();
#endif

// 7. Memory: resident memory after the churn, and metadata per container.
static void BM_Churn(benchmark::State& state) {
    MemoryPool pool;
    if (!mem_pool_init(&pool, 1024)) state.SkipWithError("init failed");
    for (auto _ : state) {
        bench::ChurnResult r = bench::RunChurn(
            [&](size_t size) -> void* {
                MemoryPointer* p = mem_pointer_create("churn", size);
                if (!mem_pointer_allocate(p, size, &pool)) std::abort();
                return p;
            },
            [](void* p) { return reinterpret_cast<char*>(static_cast<MemoryPointer*>(p)->container->data); },
            [&](void* p) { mem_pointer_destroy(static_cast<MemoryPointer*>(p), &pool); });
        bench::ReportChurn(state, r);
    }
    mem_pool_destroy(&pool);
}
BENCHMARK(BM_Churn)->Name("memory/churn_memkit")->Iterations(1);

static void BM_Metadata(benchmark::State& state) {
    for (auto _ : state) {
        benchmark::DoNotOptimize(state.iterations());
    }
    state.counters["container_header_bytes"] = static_cast<double>(offsetof(MemoryContainer, data));
    state.counters["registry_slot_bytes"] = static_cast<double>(sizeof(MemoryContainer*));
    state.counters["handle_bytes"] = static_cast<double>(sizeof(MemoryPointer));
}
BENCHMARK(BM_Metadata)->Name("memory/metadata_memkit")->Iterations(1);

BENCHMARK_MAIN();
