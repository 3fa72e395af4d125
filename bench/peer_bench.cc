// peer_bench.cc - the workloads as a server would write them against the process's
// malloc. Built four times: with glibc's malloc, and linked against jemalloc,
// mimalloc and tcmalloc, which then are the process's malloc (bench/BUILD.bazel).
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include "bench/churn.h"
#include "bench/spsc_queue.h"
#include "bench/workloads.h"

// 1. Per-request cycle: 32 mallocs of the fixed sizes, touch each, free (LIFO/FIFO),
//    optionally wiping each block before free (the same work libmemkit does).
template <bool kLifo, bool kWipe>
static void BM_Request(benchmark::State& state) {
    const size_t* sizes = bench::RequestSizes();
    void* blocks[bench::kRequestAllocations];
    for (auto _ : state) {
        for (int i = 0; i < bench::kRequestAllocations; i++) {
            blocks[i] = std::malloc(sizes[i]);
            static_cast<char*>(blocks[i])[0] = static_cast<char>(i);
            benchmark::DoNotOptimize(blocks[i]);
        }
        for (int k = 0; k < bench::kRequestAllocations; k++) {
            int i = kLifo ? bench::kRequestAllocations - 1 - k : k;
            if (kWipe) {
                std::memset(blocks[i], 0, sizes[i]);
                benchmark::ClobberMemory();
            }
            std::free(blocks[i]);
        }
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK_TEMPLATE(BM_Request, true, false)->Name("request/malloc_lifo");
BENCHMARK_TEMPLATE(BM_Request, false, false)->Name("request/malloc_fifo");
BENCHMARK_TEMPLATE(BM_Request, true, true)->Name("request/malloc_wipe_lifo");
BENCHMARK_TEMPLATE(BM_Request, false, true)->Name("request/malloc_wipe_fifo");

// 2. Pointer lifecycle equivalent: malloc + memset + memset-before-free + free.
static void BM_Lifecycle(benchmark::State& state) {
    size_t size = static_cast<size_t>(state.range(0));
    for (auto _ : state) {
        char* p = static_cast<char*>(std::malloc(size));
        std::memset(p, 0x5A, size);
        benchmark::DoNotOptimize(p);
        std::memset(p, 0, size);
        benchmark::ClobberMemory();
        std::free(p);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Lifecycle)->Name("lifecycle/malloc")->Arg(64)->Arg(1024)->Arg(16384);
// 5. The same on 1, 2 and 4 threads.
BENCHMARK(BM_Lifecycle)->Name("threads/malloc")->Arg(1024)->Threads(1)->Threads(2)->Threads(4)->UseRealTime();

// 4. Copy-on-write equivalent: copy a 4 KB block into a new one.
static void BM_CowCopy(benchmark::State& state) {
    std::vector<char> source(4096, 'x');
    for (auto _ : state) {
        char* copy = static_cast<char*>(std::malloc(4096));
        std::memcpy(copy, source.data(), 4096);
        benchmark::DoNotOptimize(copy);
        std::free(copy);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CowCopy)->Name("cow/malloc_memcpy");

// 6. Producer / consumer: one thread mallocs, another frees.
static void BM_ProducerConsumer(benchmark::State& state) {
    bench::SpscQueue queue;
    std::atomic<bool> stop{false};
    std::thread consumer([&] { queue.Drain(stop, [](void* p) { std::free(p); }); });
    for (auto _ : state) {
        void* p = std::malloc(256);
        static_cast<char*>(p)[0] = 1;
        while (!queue.Push(p)) {
        }
    }
    stop.store(true, std::memory_order_release);
    consumer.join();
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ProducerConsumer)->Name("producer_consumer/malloc")->UseRealTime();

// 7. Resident memory after a churn of mixed sizes.
static void BM_Churn(benchmark::State& state) {
    for (auto _ : state) {
        bench::ChurnResult r = bench::RunChurn([](size_t size) { return std::malloc(size); },
                                               [](void* p) { return static_cast<char*>(p); },
                                               [](void* p) { std::free(p); });
        bench::ReportChurn(state, r);
    }
}
BENCHMARK(BM_Churn)->Name("memory/churn_malloc")->Iterations(1);

BENCHMARK_MAIN();
