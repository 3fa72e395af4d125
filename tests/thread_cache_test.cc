// Per-thread caches: steady-state allocate/destroy takes no pool mutex; cached
// orphans stay accounted for; cross-thread release; caches return at thread exit;
// a pool destroyed while idle threads hold caches for it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <atomic>
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

int oom_calls_seen = 0;
void CountOom(size_t) { oom_calls_seen++; }

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

// Random replacement of handles whose containers share one size class: pages get
// blocks back one at a time, so allocations keep taking a queued page's last block
// (mem_pointer_allocate's allocate_taking_last) and full pages keep rejoining their
// queue at its tail. The page lists stay exact, every container comes back wiped,
// and after the warm-up nothing needs the pool.
TEST(ThreadCache, RandomReplacementInOneClassStaysInTheCache) {
    if (!MEM_THREAD_SAFE) GTEST_SKIP() << "no caches in the single-threaded build";
    MemoryPool pool;
    ASSERT_TRUE(mem_pool_init(&pool, 0));
    constexpr size_t kLive = 1000;
    constexpr size_t kSize = 128;
    const uint64_t kOps = RUNNING_ON_VALGRIND ? 20000 : 400000;
    std::vector<MemoryPointer*> live(kLive);
    for (MemoryPointer*& p : live) {
        p = mem_pointer_create("one class", kSize);
        ASSERT_TRUE(p != nullptr && mem_pointer_allocate(p, kSize, &pool));
        memset(p->container->data, 0x5A, kSize);
    }
    MemPoolStats before = Stats(&pool);
    uint64_t seed = 88172645463325252u;
    for (uint64_t op = 0; op < kOps; op++) {
        seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
        MemoryPointer*& slot = live[seed % kLive];
        ASSERT_TRUE(mem_pointer_destroy(slot, &pool));
        slot = mem_pointer_create("one class", kSize);
        ASSERT_TRUE(slot != nullptr && mem_pointer_allocate(slot, kSize, &pool));
        const unsigned char* data = static_cast<const unsigned char*>(slot->container->data);
        ASSERT_TRUE(data[0] == 0 && data[kSize - 1] == 0) << "a container handed out again was not wiped";
        memset(slot->container->data, 0x5A, kSize);
        if (op % (kOps / 4) == 0) ASSERT_TRUE(mem_pool_validate(&pool)) << "after " << op << " replacements";
    }
    MemPoolStats after = Stats(&pool);
    EXPECT_EQ(after.cache_misses, before.cache_misses) << "a replacement needed a page from the pool";
    EXPECT_EQ(kLive, after.live_containers);
    EXPECT_TRUE(mem_pool_validate(&pool));
    for (MemoryPointer* p : live) ASSERT_TRUE(mem_pointer_destroy(p, &pool));
    EXPECT_EQ(0u, Stats(&pool).live_containers);
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

TEST(ThreadCache, EmptyPagesBeyondTheCacheGoToThePool) {
    if (!MEM_THREAD_SAFE) GTEST_SKIP() << "no caches in the single-threaded build";
    MemoryPool pool;
    ASSERT_TRUE(mem_pool_init(&pool, 16));
    constexpr size_t kCount = 5000;  // several pages of 64-byte blocks
    std::vector<MemoryPointer*> ptrs;
    for (size_t i = 0; i < kCount; i++) {
        MemoryPointer* p = mem_pointer_create("c", 64);
        ASSERT_TRUE(mem_pointer_allocate(p, 64, &pool));
        ptrs.push_back(p);
    }
    for (MemoryPointer* p : ptrs) ASSERT_TRUE(mem_pointer_destroy(p, &pool));
    MemPoolStats s = Stats(&pool);
    EXPECT_EQ(kCount, s.orphaned_containers);
    EXPECT_LT(s.cached_containers, kCount);  // the cache keeps a bounded number of pages
    EXPECT_GT(s.cache_exchanges, 0u);
    EXPECT_TRUE(mem_pool_validate(&pool));
    // Another thread takes one of those pages from the pool and reuses a block of it.
    std::thread([&] {
        MemoryPointer* p = mem_pointer_create("other", 64);
        EXPECT_TRUE(mem_pointer_allocate(p, 64, &pool));
        EXPECT_TRUE(mem_pointer_destroy(p, &pool));
    }).join();
    MemPoolStats after = Stats(&pool);
    EXPECT_EQ(kCount, after.orphaned_containers);  // reused, not newly made
    EXPECT_EQ(s.reuse_misses, after.reuse_misses);
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
        // The producer has exited: the consumer hands each container back to the
        // producer's (abandoned) cache itself, which gives its empty pages to the pool.
        for (MemoryPointer* p : made) EXPECT_TRUE(mem_pointer_destroy(p, &pool));
        EXPECT_EQ(0u, Stats(&pool).cached_containers);
    });
    consumer.join();
    MemPoolStats s = Stats(&pool);
    EXPECT_EQ(0u, s.cached_containers);  // both threads exited: nothing left in caches
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
        if (!memkit_test::kReuseIsDelayed) {
            EXPECT_EQ(1u, s.orphaned_containers);  // reused, cached or not
            EXPECT_EQ(5u, s.reuse_hits);
        }
        EXPECT_TRUE(mem_pool_validate(&p));
        mem_pool_destroy(&p);
    }
}

// The owner's shares and destroys find their container's cache through the thread's
// last-used cache when that is the container's pool's, else through the page: both
// ways, with the thread switching pools between every step, count and release exactly.
TEST(ThreadCache, OwnerSharesAndDestroysWhileSwitchingPools) {
    MemoryPool a, b;
    ASSERT_TRUE(mem_pool_init(&a, 4));
    ASSERT_TRUE(mem_pool_init(&b, 4));
    MemoryPointer* in_a = mem_pointer_create("in_a", 64);
    MemoryPointer* in_b = mem_pointer_create("in_b", 64);
    ASSERT_TRUE(mem_pointer_allocate(in_a, 64, &a));
    ASSERT_TRUE(mem_pointer_allocate(in_b, 64, &b));
    std::vector<MemoryPointer*> shares_a, shares_b;
    for (int i = 0; i < 20; i++) {
        // The thread last used a's cache, then b's, alternately, before each share.
        shares_a.push_back(mem_pointer_share(in_a, "share_a"));
        shares_b.push_back(mem_pointer_share(in_b, "share_b"));
        ASSERT_NE(nullptr, shares_a.back());
        ASSERT_NE(nullptr, shares_b.back());
        ASSERT_TRUE(AllocateAndDestroy(i % 2 == 0 ? &a : &b, 64));
    }
    EXPECT_EQ(21u, mem_pointer_refcount(in_a));
    EXPECT_EQ(21u, mem_pointer_refcount(in_b));
    for (int i = 0; i < 20; i++) {
        ASSERT_TRUE(mem_pointer_destroy(shares_a[i], &a));
        ASSERT_TRUE(AllocateAndDestroy(i % 3 == 0 ? &a : &b, 64));
        ASSERT_TRUE(mem_pointer_destroy(shares_b[i], &b));
    }
    EXPECT_EQ(1u, mem_pointer_refcount(in_a));
    EXPECT_EQ(1u, mem_pointer_refcount(in_b));
    // The last references: in_a's while the thread last used b's cache, then in_b's.
    // (Two crossed releases would cancel out in the counts checked below.)
    ASSERT_TRUE(AllocateAndDestroy(&b, 64));
    ASSERT_TRUE(mem_pointer_destroy(in_a, &a));
    ASSERT_TRUE(mem_pointer_destroy(in_b, &b));
    for (MemoryPool* pool : {&a, &b}) {
        MemPoolStats s = Stats(pool);
        EXPECT_EQ(0u, s.live_containers);
        if (!memkit_test::kReuseIsDelayed) {
            EXPECT_EQ(2u, s.orphaned_containers);  // in_X's block and the one the loops reuse
        }
        EXPECT_TRUE(mem_pool_validate(pool));
        mem_pool_destroy(pool);
    }
}

// mem_pointer_share and mem_pointer_destroy run the owner's common case inline and
// hand every other case to their general path before changing anything: each such
// case here, on one container, with the counts checked after each step.
TEST(ThreadCache, OwnerFastPathsHandOverEveryOtherCase) {
    if (!MEM_THREAD_SAFE) GTEST_SKIP() << "shares between threads need the thread-safe build";
    MemoryPool pool;
    ASSERT_TRUE(mem_pool_init(&pool, 16));
    std::thread([&pool] {
        MemoryPointer* p = mem_pointer_create("p", 64);
        ASSERT_TRUE(mem_pointer_allocate(p, 64, &pool));
        // A new thread's handle heap holds nothing past its quarantine: the first
        // shares make their handles the general way. More handles than a thread
        // keeps: the last destroys spill the oldest to the shared heap.
        std::vector<MemoryPointer*> shares;
        for (int i = 0; i < 8192; i++) {
            shares.push_back(mem_pointer_share(p, "share"));
            ASSERT_NE(nullptr, shares.back());
        }
        EXPECT_EQ(8193u, mem_pointer_refcount(p));
        for (MemoryPointer* share : shares) ASSERT_TRUE(mem_pointer_destroy(share, &pool));
        EXPECT_EQ(1u, mem_pointer_refcount(p));
        // A reference another thread takes counts in the shared count.
        MemoryPointer* theirs = nullptr;
        std::thread([&theirs, p] { theirs = mem_pointer_share(p, "theirs"); }).join();
        ASSERT_NE(nullptr, theirs);
        MemoryPointer* mine = mem_pointer_share(p, "mine");
        ASSERT_NE(nullptr, mine);
        EXPECT_EQ(3u, mem_pointer_refcount(p));
        ASSERT_TRUE(mem_pointer_destroy(mine, &pool));
        // The owner's last reference of its own while another is out: the counts
        // merge and the container stays.
        ASSERT_TRUE(mem_pointer_destroy(p, &pool));
        EXPECT_EQ(1u, mem_pointer_refcount(theirs));
        EXPECT_EQ(1u, Stats(&pool).live_containers);
        // Merged, the owner's shares count in the shared count too: dropping the
        // other thread's handle leaves the container to the owner's new one.
        MemoryPointer* again = mem_pointer_share(theirs, "again");
        ASSERT_NE(nullptr, again);
        EXPECT_EQ(2u, mem_pointer_refcount(theirs));
        ASSERT_TRUE(mem_pointer_destroy(theirs, &pool));
        EXPECT_EQ(1u, mem_pointer_refcount(again));
        EXPECT_EQ(1u, Stats(&pool).live_containers);
        // The last reference.
        ASSERT_TRUE(mem_pointer_destroy(again, &pool));
        MemPoolStats s = Stats(&pool);
        EXPECT_EQ(0u, s.live_containers);
        EXPECT_TRUE(mem_pool_validate(&pool));
    }).join();
    mem_pool_destroy(&pool);
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
    // States of exited threads are adopted by new ones: keep enough threads alive
    // that the next one needs a state made for it.
    std::mutex mutex;
    std::condition_variable cv;
    bool release = false;
    int holding = 0;
    std::vector<std::thread> holders;
    for (int t = 0; t < 64; t++) {
        holders.emplace_back([&] {
            EXPECT_TRUE(AllocateAndDestroy(&pool, 64));
            std::unique_lock<std::mutex> lock(mutex);
            holding++;
            cv.notify_all();
            cv.wait(lock, [&] { return release; });
        });
    }
    {
        std::unique_lock<std::mutex> lock(mutex);
        cv.wait(lock, [&] { return holding == 64; });
    }
    int oom_calls_before = oom_calls_seen;
    MemOomHandler previous = mem_set_oom_handler(CountOom);
    std::thread([&] {
        memkit_test::CountingAllocator counting;
        counting.fail_at = 1;  // the thread's state cannot be made
        counting.Install();
        mem_clear_error();
        MemoryPointer* p = mem_pointer_create("p", 64);  // the handle comes from the shared heap
        ASSERT_NE(nullptr, p);
        EXPECT_EQ(MEM_OK, mem_last_error());  // the call succeeded: the error stays alone
        EXPECT_TRUE(mem_pointer_allocate(p, 64, &pool));  // through the pool's own cache
        EXPECT_TRUE(mem_pointer_destroy(p, &pool));
        memkit_test::CountingAllocator::Uninstall();
        EXPECT_EQ(1, counting.failures.load());
    }).join();
    mem_set_oom_handler(previous);
    EXPECT_EQ(oom_calls_before + 1, oom_calls_seen) << "the handler hears of the failure";
    {
        std::lock_guard<std::mutex> lock(mutex);
        release = true;
    }
    cv.notify_all();
    for (auto& t : holders) t.join();
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

// Regression (issue 11): a cache full by bytes spilled half of the released size
// class, which is nothing when that class is empty, so every later release of another
// class took the pool mutex.
TEST(ThreadCache, ACacheFullOfLargeOrphansDoesNotLockEveryRelease) {
    if (!MEM_THREAD_SAFE) GTEST_SKIP() << "no caches in the single-threaded build";
    MemoryPool pool;
    ASSERT_TRUE(mem_pool_init(&pool, 16));
    std::vector<MemoryPointer*> big;
    for (int i = 0; i < 16; i++) {  // 16 x 256 KiB: exactly the bytes a cache kept
        MemoryPointer* p = mem_pointer_create("big", 256 * 1024);
        ASSERT_TRUE(mem_pointer_allocate(p, 256 * 1024, &pool));
        big.push_back(p);
    }
    for (MemoryPointer* p : big) ASSERT_TRUE(mem_pointer_destroy(p, &pool));
    for (int i = 0; i < 10; i++) ASSERT_TRUE(AllocateAndDestroy(&pool, 64));  // warm-up
    MemPoolStats before = Stats(&pool);
    for (int i = 0; i < 1000; i++) ASSERT_TRUE(AllocateAndDestroy(&pool, 64));
    MemPoolStats after = Stats(&pool);
    EXPECT_LE(after.lock_acquisitions - before.lock_acquisitions, 5u);
    EXPECT_TRUE(mem_pool_validate(&pool));
    mem_pool_destroy(&pool);
}

// Objects made on one thread and destroyed on another go back to the thread that made
// them, which reuses them: no new container, no growth.
TEST(ThreadCache, CrossThreadReleasesReturnToTheOwner) {
    if (!MEM_THREAD_SAFE) GTEST_SKIP() << "single-threaded build";
    MemoryPool pool;
    ASSERT_TRUE(mem_pool_init(&pool, 16));
    constexpr int kBatch = 200;  // within one page of 200-byte blocks
    std::vector<MemoryPointer*> made;
    std::vector<MemoryContainer*> containers;
    for (int i = 0; i < kBatch; i++) {
        MemoryPointer* p = mem_pointer_create("made", 200);
        ASSERT_TRUE(mem_pointer_allocate(p, 200, &pool));
        made.push_back(p);
        containers.push_back(p->container);
    }
    std::thread([&] {
        for (MemoryPointer* p : made) EXPECT_TRUE(mem_pointer_destroy(p, &pool));
    }).join();
    MemPoolStats before = Stats(&pool);
    EXPECT_EQ(0u, before.live_containers);
    EXPECT_EQ(static_cast<size_t>(kBatch), before.orphaned_containers);
    std::vector<MemoryPointer*> again;
    for (int i = 0; i < kBatch; i++) {
        MemoryPointer* p = mem_pointer_create("again", 200);
        ASSERT_TRUE(mem_pointer_allocate(p, 200, &pool));
        again.push_back(p);
    }
    MemPoolStats after = Stats(&pool);
    EXPECT_EQ(before.peak_bytes, after.peak_bytes) << "the pool took more memory";
    EXPECT_EQ(static_cast<size_t>(kBatch), after.live_containers);
    if (!memkit_test::kReuseIsDelayed) {  // else the page's unused blocks come first
        EXPECT_EQ(before.reuse_misses, after.reuse_misses) << "a container was made instead of reused";
        EXPECT_EQ(before.reuse_hits + kBatch, after.reuse_hits);
        EXPECT_EQ(0u, after.orphaned_containers);
    }
    for (MemoryPointer* p : again) {
        if (!memkit_test::kReuseIsDelayed) {
            EXPECT_NE(containers.end(), std::find(containers.begin(), containers.end(), p->container));
        }
        EXPECT_TRUE(mem_pointer_destroy(p, &pool));
    }
    EXPECT_TRUE(mem_pool_validate(&pool));
    mem_pool_destroy(&pool);
}

// Regression: a handle destroyed on another thread hands its reference back to the
// owner's remote list; a pool destroyed before the owner collected it reported that
// container as a leak ("held by a release in flight") although nothing held it.
TEST(ThreadCache, PoolDestroyCountsReleasesInFlightAsReleased) {
    if (!MEM_THREAD_SAFE) GTEST_SKIP() << "single-threaded build";
    MemoryPool pool;
    ASSERT_TRUE(mem_pool_init(&pool, 16));
    MemoryPointer* released = mem_pointer_create("released elsewhere", 64);
    ASSERT_TRUE(mem_pointer_allocate(released, 64, &pool));
    MemoryPointer* kept = mem_pointer_create("still held", 64);
    ASSERT_TRUE(mem_pointer_allocate(kept, 64, &pool));
    MemoryPointer* kept_share = mem_pointer_share(kept, "share dropped elsewhere");
    ASSERT_NE(nullptr, kept_share);
    std::thread([&] {
        EXPECT_TRUE(mem_pointer_destroy(released, &pool));
        EXPECT_TRUE(mem_pointer_destroy(kept_share, &pool));
    }).join();
    memkit_test::LogCapture log;
    mem_pool_destroy(&pool);  // `kept` is a real leak; the other container is not
    EXPECT_TRUE(log.Contains("pool destroyed with live containers: 1 live container(s), 64 bytes"));
    EXPECT_TRUE(log.Contains("held by \"still held\""));
    EXPECT_FALSE(log.Contains("release in flight"));
    EXPECT_TRUE(mem_pointer_destroy(kept, &pool));  // its pool is gone: the handle still goes
}

// Regression (issue 11): handles destroyed on a thread that never creates any piled up
// in that thread's quarantine, so a producer/consumer pair grew without bound.
TEST(ThreadCache, ProducerConsumerMemoryStaysBounded) {
    if (!MEM_THREAD_SAFE) GTEST_SKIP() << "single-threaded build";
    MemoryPool pool;
    ASSERT_TRUE(mem_pool_init(&pool, 16));
    memkit_test::CountingAllocator counting;
    counting.Install();
    constexpr int kObjects = 400000;
    std::atomic<MemoryPointer*> ring[256] = {};
    std::atomic<bool> done{false};
    std::thread consumer([&] {
        for (unsigned at = 0;; at = (at + 1) % 256) {
            MemoryPointer* p;
            while ((p = ring[at].exchange(nullptr)) == nullptr) {
                if (done) return;
            }
            EXPECT_TRUE(mem_pointer_destroy(p, &pool));
        }
    });
    long after_warmup = 0;
    for (int i = 0; i < kObjects; i++) {
        MemoryPointer* p = mem_pointer_create("message", 128);
        ASSERT_TRUE(mem_pointer_allocate(p, 128, &pool));
        while (ring[i % 256].load() != nullptr) {
        }
        ring[i % 256] = p;
        if (i == kObjects / 4) after_warmup = counting.Outstanding();
    }
    while (true) {
        bool empty = true;
        for (auto& slot : ring) empty = empty && slot.load() == nullptr;
        if (empty) break;
    }
    done = true;
    consumer.join();
    long at_end = counting.Outstanding();
    memkit_test::CountingAllocator::Uninstall();
    // After the first quarter the library allocates (almost) nothing more.
    EXPECT_LE(at_end - after_warmup, 64) << "system blocks grew from " << after_warmup << " to " << at_end;
    MemPoolStats s = Stats(&pool);
    EXPECT_EQ(0u, s.live_containers);
    EXPECT_TRUE(mem_pool_validate(&pool));
    mem_pool_destroy(&pool);
}

// Threads start, hand objects to others and exit while another thread runs validate,
// stats and trim in a loop: every snapshot is exact (validate passes, counts never go
// negative or past what exists), nothing leaks, and what exited threads owned is
// released by the threads that end up holding it.
TEST(ThreadCache, ThreadsExitWhileSnapshotsRun) {
    if (!MEM_THREAD_SAFE) GTEST_SKIP() << "single-threaded build";
    MemoryPool pool;
    ASSERT_TRUE(mem_pool_init(&pool, 16));
    std::atomic<bool> stop{false};
    std::atomic<long> snapshots{0}, bad_snapshots{0};
    std::atomic<bool> snapshotting{false};
    std::thread snapshotter([&] {
        snapshotting = true;
        for (int round = 0; !stop; round++) {
            MemPoolStats s;
            bool ok = mem_pool_validate(&pool) && mem_pool_stats(&pool, &s) &&
                      s.live_containers <= 200 * 64 && s.orphaned_containers <= s.live_containers + 200 * 64;
            if (round % 4 == 3) mem_pool_trim(&pool);
            if (!ok) bad_snapshots++;
            snapshots++;
        }
    });
    while (!snapshotting) std::this_thread::yield();  // the snapshots overlap the traffic
    std::mutex mutex;
    std::vector<MemoryPointer*> handed;
    for (int t = 0; t < 200; t++) {
        std::thread([&, t] {
            std::vector<MemoryPointer*> mine;
            for (int i = 0; i < 64; i++) {
                size_t size = MixedSize(static_cast<uint64_t>(t * 64 + i));
                MemoryPointer* p = mem_pointer_create("exiting", size);
                ASSERT_TRUE(mem_pointer_allocate(p, size, &pool));
                MemoryPointer* s = mem_pointer_share(p, "share");  // counted by this thread
                ASSERT_NE(nullptr, s);
                ASSERT_TRUE(mem_pointer_destroy(p, &pool));
                mine.push_back(s);
            }
            std::lock_guard<std::mutex> lock(mutex);
            // Half goes to the next thread, the rest outlives this thread until the end.
            for (size_t i = 0; i < mine.size(); i++) handed.push_back(mine[i]);
        }).join();
        if (t % 2 == 1) {
            std::lock_guard<std::mutex> lock(mutex);
            for (size_t i = 0; i < handed.size() / 2; i++) EXPECT_TRUE(mem_pointer_destroy(handed[i], &pool));
            handed.erase(handed.begin(), handed.begin() + static_cast<long>(handed.size() / 2));
        }
    }
    for (MemoryPointer* p : handed) EXPECT_TRUE(mem_pointer_destroy(p, &pool));
    stop = true;
    snapshotter.join();
    EXPECT_GT(snapshots.load(), 0);
    EXPECT_EQ(0, bad_snapshots.load());
    MemPoolStats s = Stats(&pool);
    EXPECT_EQ(0u, s.live_containers);
    EXPECT_TRUE(mem_pool_validate(&pool));
    mem_pool_trim(&pool);  // (the snapshotter's last trim may have freed it all already)
    EXPECT_EQ(0u, Stats(&pool).orphaned_containers) << "an exited thread's pages were stranded";
    mem_pool_destroy(&pool);
}

// Releases handed back to exited threads race the adoption of their states: short-lived
// threads make objects and exit (each new one adopts an exited thread's state) while
// two other threads destroy those objects, each destroy collecting for the exited
// owner. A retired state's cache is frozen without the heavy barrier, so an adopting
// thread must wait for such a freeze before it runs a section of its own; if it did
// not, the adopter's and the collector's writes to the same cache would race
// (ThreadSanitizer) and the counts would drift (stats, validate).
TEST(ThreadCache, ReleasesToExitedThreadsRaceTheirAdoption) {
    if (!MEM_THREAD_SAFE) GTEST_SKIP() << "single-threaded build";
    MemoryPool pool;
    ASSERT_TRUE(mem_pool_init(&pool, 16));
    std::mutex mutex;
    std::vector<MemoryPointer*> queue;
    std::atomic<bool> done{false};
    std::atomic<long> destroyed{0};
    auto consume = [&] {
        for (;;) {
            MemoryPointer* p = nullptr;
            {
                std::lock_guard<std::mutex> lock(mutex);
                if (!queue.empty()) {
                    p = queue.back();
                    queue.pop_back();
                }
            }
            if (p != nullptr) {
                EXPECT_EQ(0x5A, mem_pointer_data(p) != nullptr ? *static_cast<const unsigned char*>(mem_pointer_data(p))
                                                                : 0);
                EXPECT_TRUE(mem_pointer_destroy(p, &pool));
                destroyed++;
            } else if (done) {
                return;
            } else {
                std::this_thread::yield();
            }
        }
    };
    std::thread consumers[] = {std::thread(consume), std::thread(consume)};
    const int kThreads = 300, kObjects = 32;
    for (int t = 0; t < kThreads; t++) {
        std::thread([&, t] {
            for (int i = 0; i < kObjects; i++) {
                size_t size = MixedSize(static_cast<uint64_t>(t * kObjects + i));
                MemoryPointer* p = mem_pointer_create("short-lived", size);
                ASSERT_TRUE(mem_pointer_allocate(p, size, &pool));
                *static_cast<unsigned char*>(mem_pointer_write(p, &pool)) = 0x5A;
                std::lock_guard<std::mutex> lock(mutex);
                queue.push_back(p);
            }
        }).join();
    }
    done = true;
    for (std::thread& c : consumers) c.join();
    EXPECT_EQ(kThreads * kObjects, destroyed.load());
    MemPoolStats s = Stats(&pool);
    EXPECT_EQ(0u, s.live_containers);
    EXPECT_TRUE(mem_pool_validate(&pool));
    mem_pool_trim(&pool);
    EXPECT_EQ(0u, Stats(&pool).orphaned_containers) << "an exited thread's pages were stranded";
    mem_pool_destroy(&pool);
}

// Snapshots of a pool with more live thread caches than ThreadSanitizer lets one
// thread hold locks (64): stats and validate freeze every cache at once, which must
// not take a lock per cache. The threads keep working meanwhile, their live
// containers are counted exactly, and each waits for the others so all caches exist
// together.
TEST(ThreadCache, SnapshotsOfManyLiveThreadCaches) {
    if (!MEM_THREAD_SAFE) GTEST_SKIP() << "single-threaded build";
    // Under valgrind, which runs one thread at a time, 96 churning threads take many
    // minutes; memcheck's findings need only a few (the 96 are for ThreadSanitizer).
    const int kThreads = RUNNING_ON_VALGRIND ? 8 : 96;
    MemoryPool pool;
    ASSERT_TRUE(mem_pool_init(&pool, 16));
    std::atomic<int> ready{0};
    std::atomic<bool> done{false};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; t++) {
        threads.emplace_back([&, t] {
            MemoryPointer* kept = mem_pointer_create("kept", 64);
            ASSERT_TRUE(mem_pointer_allocate(kept, 64, &pool));
            ready++;
            for (uint64_t i = 0; !done; i++) {  // churn while the snapshots run
                size_t size = MixedSize(static_cast<uint64_t>(t) * 1000 + i % 1000);
                MemoryPointer* p = mem_pointer_create("churn", size);
                ASSERT_TRUE(mem_pointer_allocate(p, size, &pool));
                ASSERT_TRUE(mem_pointer_destroy(p, &pool));
                // The owner's share and release, which a frozen cache sends the long way.
                MemoryPointer* share = mem_pointer_share(kept, "share");
                ASSERT_NE(nullptr, share);
                ASSERT_TRUE(mem_pointer_destroy(share, &pool));
                std::this_thread::yield();
            }
            ASSERT_TRUE(mem_pointer_destroy(kept, &pool));
        });
    }
    while (ready.load() < kThreads) std::this_thread::yield();
    // Five rounds of the three snapshots: each freeze of all caches waits for owners the
    // scheduler preempted and then leaves them 39 times as long (freeze.c), so with 96
    // threads on 2 cores a round takes a second or more under the sanitizers.
    for (int round = 0; round < 5; round++) {
        MemPoolStats s = Stats(&pool);
        EXPECT_GE(s.live_containers, static_cast<size_t>(kThreads));
        EXPECT_LE(s.live_containers, static_cast<size_t>(2 * kThreads));
        EXPECT_TRUE(mem_pool_validate(&pool));
        mem_pool_trim(&pool);
    }
    done = true;
    for (std::thread& t : threads) t.join();
    EXPECT_EQ(0u, Stats(&pool).live_containers);
    EXPECT_TRUE(mem_pool_validate(&pool));
    mem_pool_destroy(&pool);
}
