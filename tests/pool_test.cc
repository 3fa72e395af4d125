// MemoryPool: life cycle, registry growth / shrink / swap-with-last, orphan reuse
// and budget, trim, stats, validate (including that it catches corruption), dump.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "memkit.h"
#include "test_support.h"

namespace {

MemPoolStats Stats(MemoryPool* pool) {
    MemPoolStats s;
    EXPECT_TRUE(mem_pool_stats(pool, &s));
    return s;
}

MemoryPointer* Allocated(MemoryPool* pool, size_t size, const char* name = "p") {
    MemoryPointer* p = mem_pointer_create(name, size);
    EXPECT_NE(nullptr, p);
    EXPECT_TRUE(mem_pointer_allocate(p, size, pool));
    return p;
}

}  // namespace

TEST(Pool, InitRejectsBadArguments) {
    EXPECT_FALSE(mem_pool_init(nullptr, 16));
    EXPECT_EQ(MEM_ERR_NULL_ARGUMENT, mem_last_error());
    MemoryPool pool;
    EXPECT_FALSE(mem_pool_init(&pool, SIZE_MAX));
    EXPECT_EQ(MEM_ERR_SIZE_OVERFLOW, mem_last_error());
    // A failed init leaves the pool invalid, not half-built.
    EXPECT_FALSE(mem_pool_validate(&pool));
    EXPECT_EQ(MEM_ERR_INVALID_POOL, mem_last_error());
}

TEST(Pool, ZeroCapacityMeansTheDefault) {
    MemoryPool pool;
    ASSERT_TRUE(mem_pool_init(&pool, 0));
    EXPECT_EQ(static_cast<size_t>(MEM_POOL_DEFAULT_CAPACITY), Stats(&pool).registry_capacity);
    mem_pool_destroy(&pool);
}

TEST(Pool, DestroyTwiceIsRefused) {
    MemoryPool pool;
    ASSERT_TRUE(mem_pool_init(&pool, 4));
    mem_pool_destroy(&pool);
    mem_clear_error();
    mem_pool_destroy(&pool);
    EXPECT_EQ(MEM_ERR_INVALID_POOL, mem_last_error());
    mem_pool_destroy(nullptr);
    EXPECT_EQ(MEM_ERR_NULL_ARGUMENT, mem_last_error());
}

TEST(Pool, OperationsOnADestroyedPoolAreRefused) {
    MemoryPool pool;
    ASSERT_TRUE(mem_pool_init(&pool, 4));
    mem_pool_destroy(&pool);
    MemPoolStats s;
    EXPECT_FALSE(mem_pool_stats(&pool, &s));
    EXPECT_EQ(MEM_ERR_INVALID_POOL, mem_last_error());
    EXPECT_FALSE(mem_pool_validate(&pool));
    EXPECT_EQ(MEM_ERR_INVALID_POOL, mem_last_error());
    EXPECT_FALSE(mem_pool_dump_to(&pool, stdout, true));
    EXPECT_EQ(0u, mem_pool_trim(&pool));
    EXPECT_FALSE(mem_pool_set_orphan_budget(&pool, 0));
    MemoryPointer* p = mem_pointer_create("late", 8);
    EXPECT_FALSE(mem_pointer_allocate(p, 8, &pool));
    EXPECT_EQ(MEM_ERR_INVALID_POOL, mem_last_error());
    EXPECT_TRUE(mem_pointer_destroy(p, nullptr));
}

TEST(Pool, StatsRejectsNullArguments) {
    MemoryPool pool;
    ASSERT_TRUE(mem_pool_init(&pool, 4));
    EXPECT_FALSE(mem_pool_stats(&pool, nullptr));
    EXPECT_EQ(MEM_ERR_NULL_ARGUMENT, mem_last_error());
    MemPoolStats s;
    EXPECT_FALSE(mem_pool_stats(nullptr, &s));
    EXPECT_EQ(MEM_ERR_NULL_ARGUMENT, mem_last_error());
    EXPECT_FALSE(mem_pool_dump_to(&pool, nullptr, false));
    EXPECT_EQ(MEM_ERR_NULL_ARGUMENT, mem_last_error());
    mem_pool_destroy(&pool);
}

TEST(Pool, RegistryGrowsByDoublingAndShrinksWithHysteresis) {
    MemoryPool pool;
    ASSERT_TRUE(mem_pool_init(&pool, 4));
    ASSERT_TRUE(mem_pool_set_orphan_budget(&pool, 0));  // releases free at once
    std::vector<MemoryPointer*> ptrs;
    // Each pointer keeps its container live, so each needs its own registry slot.
    // Containers larger than a thread cache takes go straight back to the pool.
    for (int i = 0; i < 33; i++) ptrs.push_back(Allocated(&pool, 320 * 1024));
    EXPECT_EQ(64u, Stats(&pool).registry_capacity);
    EXPECT_EQ(33u, Stats(&pool).live_containers);
    while (ptrs.size() > 16) {
        EXPECT_TRUE(mem_pointer_destroy(ptrs.back(), &pool));
        ptrs.pop_back();
    }
    EXPECT_EQ(64u, Stats(&pool).registry_capacity);  // 16 of 64: not below a quarter
    EXPECT_TRUE(mem_pointer_destroy(ptrs.back(), &pool));
    ptrs.pop_back();
    EXPECT_EQ(32u, Stats(&pool).registry_capacity);  // 15 < 16: halves
    for (MemoryPointer* p : ptrs) EXPECT_TRUE(mem_pointer_destroy(p, &pool));
    EXPECT_EQ(4u, Stats(&pool).registry_capacity);  // never below the initial capacity
    EXPECT_TRUE(mem_pool_validate(&pool));
    mem_pool_destroy(&pool);
}

TEST(Pool, SwapWithLastStaysConsistentThroughRandomRemovals) {
    MemoryPool pool;
    ASSERT_TRUE(mem_pool_init(&pool, 16));
    ASSERT_TRUE(mem_pool_set_orphan_budget(&pool, 0));
    std::mt19937 rng(12345);
    std::vector<MemoryPointer*> live;
    int removals = 0;
    while (removals < 10000) {
        // Sizes past what thread caches take go straight to the pool.
        for (int i = 0; i < 64; i++) live.push_back(Allocated(&pool, 320 * 1024));
        for (int i = 0; i < 50; i++) {
            size_t victim = std::uniform_int_distribution<size_t>(0, live.size() - 1)(rng);
            ASSERT_TRUE(mem_pointer_destroy(live[victim], &pool));
            live[victim] = live.back();
            live.pop_back();
            removals++;
        }
        ASSERT_TRUE(mem_pool_validate(&pool)) << "after " << removals << " removals";
        ASSERT_EQ(live.size(), Stats(&pool).live_containers);
        if (live.size() > 300) {
            for (MemoryPointer* p : live) ASSERT_TRUE(mem_pointer_destroy(p, &pool));
            live.clear();
            ASSERT_TRUE(mem_pool_validate(&pool));
        }
    }
    for (MemoryPointer* p : live) EXPECT_TRUE(mem_pointer_destroy(p, &pool));
    EXPECT_EQ(0u, Stats(&pool).live_containers);
    mem_pool_destroy(&pool);
}

TEST(Pool, OrphansAreReusedBestFitAndReadZero) {
    MemoryPool pool;
    ASSERT_TRUE(mem_pool_init(&pool, 8));
    MemoryPointer* p = Allocated(&pool, 1000);
    MemoryContainer* first = p->container;
    memset(mem_pointer_write(p, &pool), 0xAB, 1000);
    ASSERT_TRUE(mem_pointer_destroy(p, &pool));
    EXPECT_EQ(1u, Stats(&pool).orphaned_containers);
    // A smaller request of a nearby class reuses the wiped orphan.
    MemoryPointer* q = Allocated(&pool, 900);
    EXPECT_EQ(first, q->container);
    const unsigned char* bytes = static_cast<const unsigned char*>(mem_pointer_data(q));
    for (size_t i = 0; i < 1000; i++) ASSERT_EQ(0, bytes[i]) << "byte " << i;
    EXPECT_EQ(900u, mem_pointer_size(q));
    // A much smaller request does not take a block more than twice its size.
    ASSERT_TRUE(mem_pointer_destroy(q, &pool));
    MemoryPointer* small = Allocated(&pool, 100);
    EXPECT_NE(first, small->container);
    MemPoolStats s = Stats(&pool);
    EXPECT_EQ(1u, s.orphaned_containers);
    EXPECT_EQ(1u, s.live_containers);
    ASSERT_TRUE(mem_pointer_destroy(small, &pool));
    EXPECT_TRUE(mem_pool_validate(&pool));
    mem_pool_destroy(&pool);
}

TEST(Pool, TrimFreesEveryOrphan) {
    MemoryPool pool;
    ASSERT_TRUE(mem_pool_init(&pool, 8));
    MemoryPointer* keep = Allocated(&pool, 64);
    // Each size more than twice the last: no request reuses the previous orphan.
    for (int i = 0; i < 10; i++) ASSERT_TRUE(mem_pointer_destroy(Allocated(&pool, 96u << i), &pool));
    EXPECT_EQ(10u, Stats(&pool).orphaned_containers);
    EXPECT_GT(mem_pool_trim(&pool), 10u * 64);
    MemPoolStats s = Stats(&pool);
    EXPECT_EQ(0u, s.orphaned_containers);
    EXPECT_EQ(0u, s.orphaned_bytes);
    EXPECT_EQ(1u, s.live_containers);
    EXPECT_EQ(10u, s.orphans_freed);
    EXPECT_EQ(0u, mem_pool_trim(&pool));
    EXPECT_TRUE(mem_pool_validate(&pool));
    ASSERT_TRUE(mem_pointer_destroy(keep, &pool));
    mem_pool_destroy(&pool);
}

TEST(Pool, OrphanBudgetBoundsKeptBytes) {
    MemoryPool pool;
    ASSERT_TRUE(mem_pool_init(&pool, 8));
    const size_t big = 320 * 1024;  // exactly a size class, too large for thread caches
    ASSERT_TRUE(mem_pool_set_orphan_budget(&pool, 2 * big + big / 2));
    std::vector<MemoryPointer*> ptrs;
    for (int i = 0; i < 4; i++) ptrs.push_back(Allocated(&pool, big));
    for (MemoryPointer* p : ptrs) ASSERT_TRUE(mem_pointer_destroy(p, &pool));
    MemPoolStats s = Stats(&pool);
    EXPECT_EQ(2u, s.orphaned_containers);
    EXPECT_LE(s.orphaned_bytes, s.orphan_budget);
    EXPECT_EQ(2u, s.orphans_freed);
    // Lowering the budget frees what no longer fits, now.
    ASSERT_TRUE(mem_pool_set_orphan_budget(&pool, 0));
    EXPECT_EQ(0u, Stats(&pool).orphaned_containers);
    EXPECT_TRUE(mem_pool_validate(&pool));
    mem_pool_destroy(&pool);
}

TEST(Pool, StatsCountLiveOrphanedAndPeak) {
    MemoryPool pool;
    ASSERT_TRUE(mem_pool_init(&pool, 8));
    MemoryPointer* a = Allocated(&pool, 16);
    MemoryPointer* b = Allocated(&pool, 16);
    MemoryContainer* released = a->container;
    MemPoolStats s = Stats(&pool);
    EXPECT_EQ(2u, s.live_containers);
    EXPECT_EQ(32u, s.live_bytes);
    EXPECT_EQ(32u, s.peak_bytes);
    EXPECT_EQ(2u, s.reuse_misses);
    ASSERT_TRUE(mem_pointer_destroy(a, &pool));
    s = Stats(&pool);
    EXPECT_EQ(1u, s.live_containers);
    EXPECT_EQ(1u, s.orphaned_containers);
    EXPECT_EQ(16u, s.orphaned_bytes);
    MemoryPointer* c = Allocated(&pool, 10);
    EXPECT_EQ(released, c->container);
    s = Stats(&pool);
    EXPECT_EQ(2u, s.reuse_misses);
    EXPECT_EQ(0u, s.orphaned_containers);
    EXPECT_EQ(32u, s.peak_bytes);
    ASSERT_TRUE(mem_pointer_destroy(b, &pool));
    ASSERT_TRUE(mem_pointer_destroy(c, &pool));
    mem_pool_destroy(&pool);
}

TEST(Pool, ValidateReportsATamperedOrphan) {
    memkit_test::LogCapture log;
    MemoryPool pool;
    ASSERT_TRUE(mem_pool_init(&pool, 8));
    MemoryPointer* p = Allocated(&pool, 64);
    MemoryContainer* c = p->container;
    ASSERT_TRUE(mem_pointer_destroy(p, &pool));
    ASSERT_TRUE(mem_pool_validate(&pool));
    c->data[40] = 0x5A;  // a write after release: the orphan is no longer wiped
    EXPECT_FALSE(mem_pool_validate(&pool));
    EXPECT_EQ(MEM_ERR_CORRUPTED, mem_last_error());
    EXPECT_TRUE(log.Contains("orphan is wiped"));
    c->data[40] = 0;
    uint32_t saved = c->magic;
    c->magic = 0;
    EXPECT_FALSE(mem_pool_validate(&pool));
    EXPECT_TRUE(log.Contains("container magic intact"));
    c->magic = saved;
    EXPECT_TRUE(mem_pool_validate(&pool));
    mem_pool_destroy(&pool);
}

TEST(Pool, DumpPrintsSummaryAndContainers) {
    MemoryPool pool;
    ASSERT_TRUE(mem_pool_init(&pool, 8));
    MemoryPointer* p = Allocated(&pool, 48);
    MemoryPointer* q = Allocated(&pool, 48);
    ASSERT_TRUE(mem_pointer_destroy(q, &pool));
    char buffer[4096] = {0};
    FILE* out = fmemopen(buffer, sizeof buffer - 1, "w");
    ASSERT_TRUE(mem_pool_dump_to(&pool, out, true));
    fclose(out);
    std::string text(buffer);
    EXPECT_NE(std::string::npos, text.find("1 live (48 bytes), 1 orphaned (48 bytes"));
    EXPECT_NE(std::string::npos, text.find("live   refs 1 size 48 capacity 48"));
    EXPECT_NE(std::string::npos, text.find(MEM_THREAD_SAFE ? "cached" : "orphan"));
    ASSERT_TRUE(mem_pointer_destroy(p, &pool));
    mem_pool_destroy(&pool);
}

TEST(Pool, DestroyFreesLiveContainersAndInvalidatesTheirHandles) {
    memkit_test::CountingAllocator counting;
    counting.Install();
    MemoryPool pool;
    ASSERT_TRUE(mem_pool_init(&pool, 8));
    MemoryPointer* leaked = Allocated(&pool, 20000);
    const size_t block = offsetof(MemoryContainer, data) + 20480;  // its size class
    EXPECT_EQ(1u, counting.LiveBlocksOfSize(block));
    mem_pool_destroy(&pool);
    EXPECT_EQ(0u, counting.LiveBlocksOfSize(block));
    // The handle still exists; using it with the dead pool is a defined error.
    EXPECT_FALSE(mem_pointer_destroy(leaked, &pool));
    EXPECT_EQ(MEM_ERR_INVALID_POOL, mem_last_error());
    memkit_test::CountingAllocator::Uninstall();
}

TEST(Pool, LargeOrphansAreReusedThroughThePoolBins) {
    MemoryPool pool;
    ASSERT_TRUE(mem_pool_init(&pool, 8));
    MemoryPointer* p = Allocated(&pool, 320 * 1024);  // too large for thread caches
    MemoryContainer* c = p->container;
    ASSERT_TRUE(mem_pointer_destroy(p, &pool));
    MemoryPointer* q = Allocated(&pool, 300 * 1024);
    EXPECT_EQ(c, q->container);
    EXPECT_EQ(1u, Stats(&pool).reuse_hits);
    char buffer[4096] = {0};
    FILE* out = fmemopen(buffer, sizeof buffer - 1, "w");
    MemoryPointer* r = Allocated(&pool, 320 * 1024);
    ASSERT_TRUE(mem_pointer_destroy(r, &pool));  // an orphan in the pool's bins
    ASSERT_TRUE(mem_pool_dump_to(&pool, out, true));
    fclose(out);
    EXPECT_NE(std::string::npos, std::string(buffer).find(" orphan "));
    ASSERT_TRUE(mem_pointer_destroy(q, &pool));
    mem_pool_destroy(&pool);
}

TEST(Pool, ValidateReportsACorruptState) {
    memkit_test::LogCapture log;
    MemoryPool pool;
    ASSERT_TRUE(mem_pool_init(&pool, 8));
    MemoryPointer* p = Allocated(&pool, 64);
    uint8_t saved = p->container->state;
    p->container->state = 9;
    EXPECT_FALSE(mem_pool_validate(&pool));
    EXPECT_TRUE(log.Contains("container state is live, orphan or cached"));
    char buffer[1024] = {0};
    FILE* out = fmemopen(buffer, sizeof buffer - 1, "w");
    ASSERT_TRUE(mem_pool_dump_to(&pool, out, true));
    fclose(out);
    EXPECT_NE(std::string::npos, std::string(buffer).find("corrupt"));
    p->container->state = saved;
    EXPECT_TRUE(mem_pool_validate(&pool));
    ASSERT_TRUE(mem_pointer_destroy(p, &pool));
    mem_pool_destroy(&pool);
}
