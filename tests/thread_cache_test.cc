// Per-thread caches: steady-state allocate/destroy takes no pool mutex; cached
// orphans stay accounted for; cross-thread release; caches return at thread exit;
// a pool destroyed while idle threads hold caches for it.
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "memkit.h"
#include "test_support.h"

namespace {

MemPoolStats Stats(MemoryPool* pool) {
    MemPoolStats s;
    EXPECT_TRUE(mem_pool_stats(pool, &s));
    return s;
}

size_t MixedSize(uint64_t i) {
    static const size_t sizes[] = {16, 24, 100, 512, 1000, 4096, 9000, 64, 2048, 30000};
    return sizes[i % 10];
}

bool AllocateAndDestroy(MemoryPool* pool, size_t size) {
    MemoryPointer* p = mem_pointer_create("hot", size);
    if (p == nullptr || !mem_pointer_allocate(p, size, pool)) return false;
    static_cast<unsigned char*>(mem_pointer_write(p, pool))[size - 1] = 1;
    return mem_pointer_destroy(p, pool);
}

}  // namespace

TEST(ThreadCache, SteadyStateTakesNoPoolMutex) {
    if (!MEM_THREAD_SAFE) GTEST_SKIP() << "no caches in the single-threaded build";
    MemoryPool pool;
    ASSERT_TRUE(mem_pool_init(&pool, 16));
    for (uint64_t i = 0; i < 1000; i++) ASSERT_TRUE(AllocateAndDestroy(&pool, MixedSize(i)));  // warm-up
    MemPoolStats before = Stats(&pool);
    for (uint64_t i = 0; i < 1000000; i++) {
        if (!AllocateAndDestroy(&pool, MixedSize(i * 7 + 3))) FAIL() << "pair " << i;
    }
    MemPoolStats after = Stats(&pool);
    // Only the stats snapshot itself takes the mutex (once per mem_pool_stats).
    EXPECT_LE(after.lock_acquisitions - before.lock_acquisitions, 5u);
    EXPECT_EQ(after.cache_misses, before.cache_misses);
    EXPECT_GE(after.cache_hits - before.cache_hits, 2000000u);
    EXPECT_EQ(0u, after.live_containers);
    EXPECT_TRUE(mem_pool_validate(&pool));
    mem_pool_destroy(&pool);
}

TEST(ThreadCache, CachedOrphansStayInTheRegistry) {
    if (!MEM_THREAD_SAFE) GTEST_SKIP() << "no caches in the single-threaded build";
    MemoryPool pool;
    ASSERT_TRUE(mem_pool_init(&pool, 16));
    std::vector<MemoryPointer*> ptrs;
    for (int i = 0; i < 10; i++) {
        MemoryPointer* p = mem_pointer_create("c", 100);
        ASSERT_TRUE(mem_pointer_allocate(p, 100, &pool));
        ptrs.push_back(p);
    }
    for (MemoryPointer* p : ptrs) ASSERT_TRUE(mem_pointer_destroy(p, &pool));
    MemPoolStats s = Stats(&pool);
    EXPECT_EQ(10u, s.cached_containers);
    EXPECT_EQ(10u, s.orphaned_containers);
    EXPECT_EQ(0u, s.live_containers);
    EXPECT_TRUE(mem_pool_validate(&pool));
    char buffer[8192] = {0};
    FILE* out = fmemopen(buffer, sizeof buffer - 1, "w");
    ASSERT_TRUE(mem_pool_dump_to(&pool, out, true));
    fclose(out);
    std::string dump(buffer);
    size_t cached_lines = 0;
    for (size_t at = dump.find("cached "); at != std::string::npos; at = dump.find("cached ", at + 1)) cached_lines++;
    EXPECT_EQ(10u, cached_lines);
    mem_pool_destroy(&pool);
}

TEST(ThreadCache, FullCachesSpillBatchesToThePool) {
    if (!MEM_THREAD_SAFE) GTEST_SKIP() << "no caches in the single-threaded build";
    MemoryPool pool;
    ASSERT_TRUE(mem_pool_init(&pool, 16));
    std::vector<MemoryPointer*> ptrs;
    for (int i = 0; i < 200; i++) {
        MemoryPointer* p = mem_pointer_create("c", 64);
        ASSERT_TRUE(mem_pointer_allocate(p, 64, &pool));
        ptrs.push_back(p);
    }
    for (MemoryPointer* p : ptrs) ASSERT_TRUE(mem_pointer_destroy(p, &pool));
    MemPoolStats s = Stats(&pool);
    EXPECT_EQ(200u, s.orphaned_containers);
    EXPECT_LE(s.cached_containers, 64u);  // bounded per size class
    EXPECT_GT(s.cache_exchanges, 0u);
    EXPECT_TRUE(mem_pool_validate(&pool));
    // Another thread reuses the spilled orphans through a batch refill.
    std::thread([&] {
        MemoryPointer* p = mem_pointer_create("other", 64);
        EXPECT_TRUE(mem_pointer_allocate(p, 64, &pool));
        EXPECT_TRUE(mem_pointer_destroy(p, &pool));
    }).join();
    EXPECT_EQ(200u, Stats(&pool).orphaned_containers);  // reused, not newly made
    EXPECT_TRUE(mem_pool_validate(&pool));
    mem_pool_destroy(&pool);
}

TEST(ThreadCache, CrossThreadReleaseAndExitReturnCaches) {
    if (!MEM_THREAD_SAFE) GTEST_SKIP() << "single-threaded build";
    MemoryPool pool;
    ASSERT_TRUE(mem_pool_init(&pool, 16));
    std::vector<MemoryPointer*> made;
    std::thread producer([&] {
        for (int i = 0; i < 500; i++) {
            MemoryPointer* p = mem_pointer_create("made", 200);
            EXPECT_TRUE(mem_pointer_allocate(p, 200, &pool));
            memset(mem_pointer_write(p, &pool), 0x77, 200);
            made.push_back(p);
        }
    });
    producer.join();
    std::thread consumer([&] {
        for (MemoryPointer* p : made) EXPECT_TRUE(mem_pointer_destroy(p, &pool));
        EXPECT_GT(Stats(&pool).cached_containers, 0u);  // held by this thread's cache
    });
    consumer.join();
    MemPoolStats s = Stats(&pool);
    EXPECT_EQ(0u, s.cached_containers);  // both threads exited: caches returned
    EXPECT_EQ(500u, s.orphaned_containers);
    EXPECT_EQ(0u, s.live_containers);
    EXPECT_TRUE(mem_pool_validate(&pool));
    mem_pool_destroy(&pool);
}

TEST(ThreadCache, PoolDestroyWhileIdleThreadsHoldCaches) {
    if (!MEM_THREAD_SAFE) GTEST_SKIP() << "single-threaded build";
    auto* pool = new MemoryPool;
    ASSERT_TRUE(mem_pool_init(pool, 16));
    std::mutex mutex;
    std::condition_variable cv;
    int ready = 0;
    bool destroyed = false;
    std::vector<std::thread> idle;
    for (int t = 0; t < 4; t++) {
        idle.emplace_back([&] {
            for (int i = 0; i < 50; i++) EXPECT_TRUE(AllocateAndDestroy(pool, MixedSize(i)));
            std::unique_lock<std::mutex> lock(mutex);
            ready++;
            cv.notify_all();
            cv.wait(lock, [&] { return destroyed; });
            // The thread now exits: its cache of the destroyed pool must be forgotten.
        });
    }
    {
        std::unique_lock<std::mutex> lock(mutex);
        cv.wait(lock, [&] { return ready == 4; });
    }
    EXPECT_GT(Stats(pool).cached_containers, 0u);
    mem_pool_destroy(pool);
    // Reuse the memory for another pool: stale caches must not match it.
    ASSERT_TRUE(mem_pool_init(pool, 16));
    {
        std::lock_guard<std::mutex> lock(mutex);
        destroyed = true;
    }
    cv.notify_all();
    for (auto& t : idle) t.join();
    MemPoolStats s = Stats(pool);
    EXPECT_EQ(0u, s.orphaned_containers);
    EXPECT_EQ(0u, s.live_containers);
    EXPECT_TRUE(mem_pool_validate(pool));
    mem_pool_destroy(pool);
    delete pool;
}

TEST(ThreadCache, TrimEmptiesEveryThreadsCache) {
    if (!MEM_THREAD_SAFE) GTEST_SKIP() << "single-threaded build";
    MemoryPool pool;
    ASSERT_TRUE(mem_pool_init(&pool, 16));
    std::mutex mutex;
    std::condition_variable cv;
    bool filled = false, trimmed = false;
    std::thread holder([&] {
        for (int i = 0; i < 20; i++) EXPECT_TRUE(AllocateAndDestroy(&pool, MixedSize(i)));
        std::unique_lock<std::mutex> lock(mutex);
        filled = true;
        cv.notify_all();
        cv.wait(lock, [&] { return trimmed; });
    });
    {
        std::unique_lock<std::mutex> lock(mutex);
        cv.wait(lock, [&] { return filled; });
    }
    EXPECT_GT(Stats(&pool).cached_containers, 0u);
    EXPECT_GT(mem_pool_trim(&pool), 0u);
    MemPoolStats s = Stats(&pool);
    EXPECT_EQ(0u, s.cached_containers);
    EXPECT_EQ(0u, s.orphaned_containers);
    EXPECT_TRUE(mem_pool_validate(&pool));
    {
        std::lock_guard<std::mutex> lock(mutex);
        trimmed = true;
    }
    cv.notify_all();
    holder.join();
    mem_pool_destroy(&pool);
}

TEST(ThreadCache, ThreadChurnLeaksNothing) {
    if (!MEM_THREAD_SAFE) GTEST_SKIP() << "single-threaded build";
    MemoryPool pool;
    ASSERT_TRUE(mem_pool_init(&pool, 16));
    memkit_test::CountingAllocator counting;
    counting.Install();
    auto churn = [&](int threads) {
        for (int t = 0; t < threads; t++) {
            std::thread([&, t] {
                EXPECT_TRUE(AllocateAndDestroy(&pool, MixedSize(t)));
                MemoryArena* arena = mem_request_arena_acquire();
                ASSERT_NE(nullptr, arena);
                EXPECT_NE(nullptr, mem_arena_alloc(arena, 100 + t));
                EXPECT_TRUE(mem_request_arena_release(arena));
            }).join();
        }
    };
    churn(500);  // the shared structures reach their steady size
    long steady = counting.Outstanding();
    churn(500);
    memkit_test::CountingAllocator::Uninstall();
    EXPECT_EQ(steady, counting.Outstanding()) << "thread exit leaked system memory";
    MemPoolStats s = Stats(&pool);
    EXPECT_EQ(0u, s.cached_containers);
    EXPECT_EQ(0u, s.live_containers);
    EXPECT_TRUE(mem_pool_validate(&pool));
    mem_pool_destroy(&pool);
}

TEST(ThreadCache, ManyPoolsAlternatingAndMoreThanTheCacheSlots) {
    if (!MEM_THREAD_SAFE) GTEST_SKIP() << "no caches in the single-threaded build";
    constexpr int kPools = 10;  // more than MEM_THREAD_CACHE_POOLS (8): the rest use the locked path
    MemoryPool pools[kPools];
    for (auto& p : pools) ASSERT_TRUE(mem_pool_init(&p, 4));
    for (int round = 0; round < 3; round++) {
        for (auto& p : pools) {  // alternating pools: the cache hint misses every time
            EXPECT_TRUE(AllocateAndDestroy(&p, 100));
            EXPECT_TRUE(AllocateAndDestroy(&p, 100));
        }
    }
    for (auto& p : pools) {
        MemPoolStats s = Stats(&p);
        EXPECT_EQ(0u, s.live_containers);
        EXPECT_EQ(1u, s.orphaned_containers);  // reused, cached or not
        EXPECT_EQ(5u, s.reuse_hits);
        EXPECT_TRUE(mem_pool_validate(&p));
        mem_pool_destroy(&p);
    }
}

TEST(ThreadCache, SpillPastTheBudgetFreesOrphans) {
    if (!MEM_THREAD_SAFE) GTEST_SKIP() << "no caches in the single-threaded build";
    MemoryPool pool;
    ASSERT_TRUE(mem_pool_init(&pool, 16));
    ASSERT_TRUE(mem_pool_set_orphan_budget(&pool, 0));
    std::vector<MemoryPointer*> ptrs;
    for (int i = 0; i < 100; i++) {
        MemoryPointer* p = mem_pointer_create("c", 64);
        ASSERT_TRUE(mem_pointer_allocate(p, 64, &pool));
        ptrs.push_back(p);
    }
    for (MemoryPointer* p : ptrs) ASSERT_TRUE(mem_pointer_destroy(p, &pool));
    MemPoolStats s = Stats(&pool);
    EXPECT_EQ(s.cached_containers, s.orphaned_containers);  // nothing kept beyond the cache
    EXPECT_EQ(100u - s.cached_containers, s.orphans_freed);
    EXPECT_TRUE(mem_pool_validate(&pool));
    mem_pool_destroy(&pool);
}

TEST(ThreadCache, ThreadStateOutOfMemoryFallsBackToThePool) {
    if (!MEM_THREAD_SAFE) GTEST_SKIP() << "single-threaded build";
    MemoryPool pool;
    ASSERT_TRUE(mem_pool_init(&pool, 16));
    std::thread([&] {
        memkit_test::CountingAllocator counting;
        counting.fail_at = 1;  // the thread's state cannot be made
        counting.Install();
        MemoryPointer* p = mem_pointer_create("p", 64);  // the handle comes from the shared slab
        ASSERT_NE(nullptr, p);
        EXPECT_EQ(MEM_ERR_OUT_OF_MEMORY, mem_last_error());  // reported, though the call succeeded
        EXPECT_TRUE(mem_pointer_allocate(p, 64, &pool));
        EXPECT_TRUE(mem_pointer_destroy(p, &pool));
        memkit_test::CountingAllocator::Uninstall();
        EXPECT_EQ(1, counting.failures.load());
    }).join();
    EXPECT_TRUE(mem_pool_validate(&pool));
    mem_pool_destroy(&pool);
}

TEST(ThreadCache, ThreadExitFreesWhatPassesTheBudget) {
    if (!MEM_THREAD_SAFE) GTEST_SKIP() << "single-threaded build";
    MemoryPool pool;
    ASSERT_TRUE(mem_pool_init(&pool, 16));
    std::thread([&] {
        for (int i = 0; i < 10; i++) EXPECT_TRUE(AllocateAndDestroy(&pool, MixedSize(i)));
        EXPECT_GT(Stats(&pool).cached_containers, 0u);
        // Lowered while this thread's cache holds orphans: the cache is not touched now...
        EXPECT_TRUE(mem_pool_set_orphan_budget(&pool, 0));
    }).join();
    // ...but at thread exit the returned orphans pass the budget and are freed.
    MemPoolStats s = Stats(&pool);
    EXPECT_EQ(0u, s.orphaned_containers);
    EXPECT_EQ(0u, s.cached_containers);
    EXPECT_GT(s.orphans_freed, 0u);
    EXPECT_TRUE(mem_pool_validate(&pool));
    mem_pool_destroy(&pool);
}
