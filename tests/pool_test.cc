// MemoryPool: life cycle, registry growth / shrink / swap-with-last, orphan reuse
// and budget, trim, stats, validate (including that it catches corruption), dump.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <random>
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
    if (memkit_test::kReuseIsDelayed) GTEST_SKIP() << "reuse is delayed in builds that track memory";
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
    // Exactly a size class, and more than a thread cache keeps: released ones go to
    // the pool, whose budget counts the bytes of their pages.
    const size_t big = 5u << 20;
    const size_t page = big + 4096;
    ASSERT_TRUE(mem_pool_set_orphan_budget(&pool, 2 * page + page / 2));
    std::vector<MemoryPointer*> ptrs;
    for (int i = 0; i < 4; i++) ptrs.push_back(Allocated(&pool, big));
    for (MemoryPointer* p : ptrs) ASSERT_TRUE(mem_pointer_destroy(p, &pool));
    MemPoolStats s = Stats(&pool);
    EXPECT_EQ(2u, s.orphaned_containers);
    EXPECT_EQ(2 * big, s.orphaned_bytes);
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
    const size_t peak = s.peak_bytes;  // the pool's pages: one, here
    EXPECT_GE(peak, 32u);
    EXPECT_EQ(2u, s.reuse_misses);
    ASSERT_TRUE(mem_pointer_destroy(a, &pool));
    s = Stats(&pool);
    EXPECT_EQ(1u, s.live_containers);
    EXPECT_EQ(1u, s.orphaned_containers);
    EXPECT_EQ(16u, s.orphaned_bytes);
    MemoryPointer* c = Allocated(&pool, 10);
    s = Stats(&pool);
    if (!memkit_test::kReuseIsDelayed) {
        EXPECT_EQ(released, c->container);
        EXPECT_EQ(2u, s.reuse_misses);
        EXPECT_EQ(0u, s.orphaned_containers);
    }
    EXPECT_EQ(peak, s.peak_bytes);
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
    const unsigned char damage = 0x5A, zero = 0;
    memkit_test::PokeReleased(&c->data[40], &damage, 1);  // a write after release
    EXPECT_FALSE(mem_pool_validate(&pool));
    EXPECT_EQ(MEM_ERR_CORRUPTED, mem_last_error());
    EXPECT_TRUE(log.Contains("orphan is wiped"));
    memkit_test::PokeReleased(&c->data[40], &zero, 1);
    uint32_t saved = c->magic;
    c->magic = 0;
    EXPECT_FALSE(mem_pool_validate(&pool));
    EXPECT_TRUE(log.Contains("container magic intact"));
    c->magic = saved;
    EXPECT_TRUE(mem_pool_validate(&pool));
    mem_pool_destroy(&pool);
}

// Each field validate checks, damaged one at a time, is reported by name, and the
// pool validates again once the field is restored.
TEST(Pool, ValidateReportsEachDamagedField) {
    memkit_test::LogCapture log;
    MemoryPool pool;
    ASSERT_TRUE(mem_pool_init(&pool, 8));
    MemoryPointer* live = Allocated(&pool, 64);
    MemoryPointer* released = Allocated(&pool, 64);
    MemoryContainer* c = live->container;
    MemoryContainer* orphan = released->container;
    ASSERT_TRUE(mem_pointer_destroy(released, &pool));
    ASSERT_TRUE(mem_pool_validate(&pool));
    auto expect_reported = [&](const char* invariant) {
        EXPECT_FALSE(mem_pool_validate(&pool)) << invariant;
        EXPECT_EQ(MEM_ERR_CORRUPTED, mem_last_error()) << invariant;
        EXPECT_TRUE(log.Contains(invariant)) << invariant;
    };
    const size_t size = c->size;
    c->size = 1u << 30;
    expect_reported("live size within capacity");
    c->size = size;
    const uint32_t refcount = c->refcount;
    c->refcount = UINT32_MAX;
    expect_reported("live refcount within range");
    c->refcount = refcount;
    const uint8_t state = c->state, free_state = memkit_test::ReadDestroyed(&orphan->state);
    c->state = free_state;  // a live block marked free: the page's counts disagree
    expect_reported("free list length matches the free blocks");
    EXPECT_TRUE(log.Contains("page's used count matches its live blocks"));
    c->state = state;
    const uint32_t one = 1, zero = 0;
    memkit_test::PokeReleased(&orphan->refcount, &one, sizeof one);
    expect_reported("orphan has no references");
    memkit_test::PokeReleased(&orphan->refcount, &zero, sizeof zero);
    const uint64_t link = memkit_test::ReadDestroyed(&orphan->serial);
    const uint64_t outside = reinterpret_cast<uintptr_t>(&pool);  // a free-list link out of the page
    memkit_test::PokeReleased(&orphan->serial, &outside, sizeof outside);
    expect_reported("free list holds the page's free blocks");
    memkit_test::PokeReleased(&orphan->serial, &link, sizeof link);
    EXPECT_TRUE(mem_pool_validate(&pool));
    ASSERT_TRUE(mem_pointer_destroy(live, &pool));
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
    memkit_test::LogCapture log;
    MemoryPointer* warm = mem_pointer_create("warm-up", 0);  // the thread's state exists
    ASSERT_TRUE(mem_pointer_destroy(warm, nullptr));
    memkit_test::CountingAllocator counting;
    counting.Install();
    MemoryPool pool;
    ASSERT_TRUE(mem_pool_init(&pool, 8));
    MemoryPointer* leaked = Allocated(&pool, 20000, "leaked buffer");
    EXPECT_GT(counting.Outstanding(), 2);  // the pool, its registry and a page at least
    mem_pool_destroy(&pool);
    EXPECT_EQ(0, counting.Outstanding()) << "destroy left system memory behind";
    EXPECT_TRUE(log.Contains("destroyed with live containers: 1 live container(s), 20000 bytes"));
    EXPECT_TRUE(log.Contains("held by \"leaked buffer\""));
    // The handle still exists; its use reports the dead pool, and it can be destroyed.
    EXPECT_EQ(nullptr, mem_pointer_data(leaked));
    EXPECT_EQ(MEM_ERR_INVALID_POOL, mem_last_error());
    EXPECT_TRUE(mem_pointer_destroy(leaked, &pool));
    memkit_test::CountingAllocator::Uninstall();
}

TEST(Pool, LargeOrphansAreReusedThroughThePoolBins) {
    MemoryPool pool;
    ASSERT_TRUE(mem_pool_init(&pool, 8));
    MemoryPointer* p = Allocated(&pool, 5u << 20);  // more than a thread cache keeps
    MemoryContainer* c = p->container;
    ASSERT_TRUE(mem_pointer_destroy(p, &pool));
    MemoryPointer* q = Allocated(&pool, 4500u << 10);  // a smaller size of a nearby class
    EXPECT_EQ(c, q->container);
    EXPECT_EQ(1u, Stats(&pool).reuse_hits);
    char buffer[4096] = {0};
    FILE* out = fmemopen(buffer, sizeof buffer - 1, "w");
    MemoryPointer* r = Allocated(&pool, 5u << 20);
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
    EXPECT_TRUE(log.Contains("container state is live, orphaned or remote"));
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

// Regression (issue 12): initialising a pool that is already initialised leaked its
// state and corrupted the registry; it is refused and the pool keeps working.
TEST(PoolMisuse, InitOfAnInitialisedPoolIsRefused) {
    MemoryPool pool;
    ASSERT_TRUE(mem_pool_init(&pool, 4));
    MemoryPointer* p = Allocated(&pool, 100);
    EXPECT_FALSE(mem_pool_init(&pool, 0));
    EXPECT_EQ(MEM_ERR_ALREADY_INITIALIZED, mem_last_error());
    EXPECT_EQ(100u, mem_pointer_size(p));
    EXPECT_TRUE(mem_pool_validate(&pool));
    EXPECT_GE(mem_pool_trim(&pool), 0u);
    ASSERT_TRUE(mem_pointer_destroy(p, &pool));
    mem_pool_destroy(&pool);
    // A destroyed pool may be initialised again.
    ASSERT_TRUE(mem_pool_init(&pool, 4));
    mem_pool_destroy(&pool);
}

// Regression (issue 12): with an orphan budget of 0 a released container was still
// kept in the thread cache, though pool.h says none is kept.
TEST(PoolBudget, ZeroKeepsNoOrphanAnywhere) {
    MemoryPool pool;
    ASSERT_TRUE(mem_pool_init(&pool, 4));
    ASSERT_TRUE(mem_pool_set_orphan_budget(&pool, 0));
    for (size_t size : {16, 64, 1000, 20000, 400000}) {
        MemoryPointer* p = Allocated(&pool, size);
        ASSERT_TRUE(mem_pointer_destroy(p, &pool));
        MemPoolStats s = Stats(&pool);
        EXPECT_EQ(0u, s.orphaned_containers) << size;
        EXPECT_EQ(0u, s.orphaned_bytes) << size;
        EXPECT_EQ(0u, s.cached_containers) << size;
    }
    EXPECT_TRUE(mem_pool_validate(&pool));
    mem_pool_destroy(&pool);
}

// Regression (issue 12): a container's first 8 bytes held the free-list link after
// release, so a stale data pointer read a heap address instead of zeros.
TEST(PoolWipe, ReleasedContainersReadAllZeros) {
    MemoryPool pool;
    ASSERT_TRUE(mem_pool_init(&pool, 4));
    std::vector<MemoryPointer*> ptrs;
    std::vector<MemoryContainer*> released;
    for (int i = 0; i < 4; i++) {  // four orphans at once: they sit in one free list
        MemoryPointer* p = Allocated(&pool, 64);
        memset(mem_pointer_write(p, &pool), 0xEE, 64);
        ptrs.push_back(p);
        released.push_back(p->container);
    }
    for (MemoryPointer* p : ptrs) ASSERT_TRUE(mem_pointer_destroy(p, &pool));
    for (MemoryContainer* c : released) {
        unsigned char bytes[64];
        memkit_test::PeekReleased(c->data, bytes, sizeof bytes);
        for (size_t i = 0; i < sizeof bytes; i++) ASSERT_EQ(0, bytes[i]) << "byte " << i;
    }
    mem_pool_destroy(&pool);
}

namespace {

// An OOM handler that finds out whether the pool's lock is held while it runs: another
// thread takes a snapshot of the pool, which needs that lock, and must finish quickly.
MemoryPool* oom_probe_pool;
std::atomic<int> oom_calls{0};
std::atomic<int> oom_calls_under_lock{0};
std::vector<std::thread> oom_probes;

void ProbingOomHandler(size_t requested) {
    (void)requested;
    oom_calls++;
    auto done = std::make_shared<std::atomic<bool>>(false);
    oom_probes.emplace_back([done] {
        MemPoolStats s;
        mem_pool_stats(oom_probe_pool, &s);
        *done = true;
    });
    for (int i = 0; i < 300 && !*done; i++) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (!*done) oom_calls_under_lock++;
}

}  // namespace

// Regression (issue 12): a registry resize that failed called the OOM handler with the
// pool mutex held (system.h says locks are released first), and the call that absorbed
// the failure still succeeded but left MEM_ERR_OUT_OF_MEMORY behind (error.h says a
// success leaves the error alone).
TEST(PoolOom, HandlerRunsWithoutLocksAndAbsorbedFailuresLeaveNoError) {
    if (!MEM_THREAD_SAFE) GTEST_SKIP() << "no locks in the single-threaded build";
    MemoryPool pool;
    oom_probe_pool = &pool;
    ASSERT_TRUE(mem_pool_init(&pool, 4));
    ASSERT_TRUE(mem_pool_set_orphan_budget(&pool, 0));
    std::vector<MemoryPointer*> ptrs;
    for (int i = 0; i < 33; i++) ptrs.push_back(Allocated(&pool, 320 * 1024));
    while (ptrs.size() > 16) {
        ASSERT_TRUE(mem_pointer_destroy(ptrs.back(), &pool));
        ptrs.pop_back();
    }
    MemOomHandler previous = mem_set_oom_handler(ProbingOomHandler);
    memkit_test::CountingAllocator counting;
    counting.fail_every = 1;  // the registry's shrink cannot get memory
    counting.Install();
    mem_clear_error();
    bool destroyed = mem_pointer_destroy(ptrs.back(), &pool);  // 15 of 64: the registry halves
    memkit_test::CountingAllocator::Uninstall();
    mem_set_oom_handler(previous);
    ptrs.pop_back();
    EXPECT_TRUE(destroyed);
    EXPECT_EQ(MEM_OK, mem_last_error());
    EXPECT_GE(counting.failures.load(), 1);
    EXPECT_EQ(counting.failures.load(), oom_calls.load()) << "every failed system allocation reaches the handler";
    EXPECT_EQ(0, oom_calls_under_lock.load()) << "the handler ran while the pool was locked";
    for (auto& t : oom_probes) t.join();
    oom_probes.clear();
    for (MemoryPointer* p : ptrs) ASSERT_TRUE(mem_pointer_destroy(p, &pool));
    EXPECT_TRUE(mem_pool_validate(&pool));
    mem_pool_destroy(&pool);
}
