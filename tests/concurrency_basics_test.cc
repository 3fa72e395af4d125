// Concurrency basics: 8 threads share and release one container 100,000 times
// each; the refcount ends exact. Run under --config=tsan too.
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "memkit.h"

TEST(ConcurrencyBasics, SharedRefcountEndsExact) {
    if (!MEM_THREAD_SAFE) GTEST_SKIP() << "single-threaded build";
    MemoryPool pool;
    ASSERT_TRUE(mem_pool_init(&pool, 16));
    MemoryPointer* root = mem_pointer_create("root", 64);
    ASSERT_TRUE(mem_pointer_allocate(root, 64, &pool));
    std::vector<std::thread> threads;
    std::atomic<int> failures{0};
    for (int t = 0; t < 8; t++) {
        threads.emplace_back([&] {
            for (int i = 0; i < 100000; i++) {
                MemoryPointer* s = mem_pointer_share(root, "share");
                if (s == nullptr || !mem_pointer_destroy(s, &pool)) failures++;
            }
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(0, failures.load());
    EXPECT_EQ(1u, mem_pointer_refcount(root));
    EXPECT_TRUE(mem_pool_validate(&pool));
    EXPECT_TRUE(mem_pointer_destroy(root, &pool));
    MemPoolStats s;
    ASSERT_TRUE(mem_pool_stats(&pool, &s));
    EXPECT_EQ(0u, s.live_containers);
    mem_pool_destroy(&pool);
}

TEST(ConcurrencyBasics, ConcurrentAllocationsFromOnePool) {
    if (!MEM_THREAD_SAFE) GTEST_SKIP() << "single-threaded build";
    MemoryPool pool;
    ASSERT_TRUE(mem_pool_init(&pool, 4));
    std::vector<std::thread> threads;
    std::atomic<int> failures{0};
    for (int t = 0; t < 4; t++) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 20000; i++) {
                size_t size = 1 + static_cast<size_t>((i * 37 + t) % 3000);
                MemoryPointer* p = mem_pointer_create("mine", size);
                if (!mem_pointer_allocate(p, size, &pool)) failures++;
                unsigned char* d = static_cast<unsigned char*>(mem_pointer_write(p, &pool));
                if (d == nullptr) failures++;
                else memset(d, t + 1, size);
                if (!mem_pointer_destroy(p, &pool)) failures++;
            }
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(0, failures.load());
    EXPECT_TRUE(mem_pool_validate(&pool));
    mem_pool_destroy(&pool);
}
