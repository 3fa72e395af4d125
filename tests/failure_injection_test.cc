// Allocation-failure injection: a realistic workload re-run with its 1st, 2nd, ...
// n-th system allocation failing, until a run completes. Every run: no crash, no
// leak, the OOM handler called once per failure, a clean error code at each failing
// call, and the pool validates.
#include <gtest/gtest.h>

#include <pthread.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "memkit.h"
#include "test_support.h"

namespace {

int oom_calls = 0;
void CountOom(size_t) { oom_calls++; }

struct Outcome {
    int failed_calls = 0;      // calls that returned false / NULL
    int wrong_error_codes = 0; // of those, ones whose error was not OUT_OF_MEMORY
    bool validated = true;
};

void Failed(Outcome* o) {
    o->failed_calls++;
    if (mem_last_error() != MEM_ERR_OUT_OF_MEMORY) o->wrong_error_codes++;
}

Outcome RunWorkload() {
    Outcome o;
    MemoryPool pool;
    if (!mem_pool_init(&pool, 4)) {
        Failed(&o);
        return o;
    }
    std::vector<MemoryPointer*> ptrs;
    for (size_t i = 0; i < 24; i++) {
        size_t size = 16 + i * 200;
        MemoryPointer* p = mem_pointer_create("worker", size);
        if (p == nullptr) {
            Failed(&o);
            continue;
        }
        if (!mem_pointer_allocate(p, size, &pool)) {
            Failed(&o);
            mem_pointer_destroy(p, &pool);
            continue;
        }
        memset(p->container->data, static_cast<int>(i), size);
        ptrs.push_back(p);
    }
    size_t owners = ptrs.size();
    for (size_t i = 0; i < owners; i += 3) {
        MemoryPointer* s = mem_pointer_share(ptrs[i], "reader");
        if (s == nullptr) {
            Failed(&o);
            continue;
        }
        ptrs.push_back(s);
        unsigned char* w = static_cast<unsigned char*>(mem_pointer_write(s, &pool));
        if (w == nullptr) {
            Failed(&o);
        } else {
            w[0] = 0xFF;
            if (ptrs[i]->container->data[0] == 0xFF) o.validated = false;  // COW broken
        }
    }
    for (size_t i = 0; i < ptrs.size(); i += 2) {
        mem_pointer_destroy(ptrs[i], &pool);
        ptrs[i] = nullptr;
    }
    MemoryArena* arena = mem_arena_create(128);
    if (arena == nullptr) {
        Failed(&o);
    } else {
        for (int i = 0; i < 8; i++)
            if (mem_arena_alloc(arena, 100) == nullptr) Failed(&o);
        if (mem_arena_strdup(arena, "request line") == nullptr) Failed(&o);
        mem_arena_destroy(arena);
    }
    o.validated = o.validated && mem_pool_validate(&pool);
    mem_pool_trim(&pool);
    for (MemoryPointer* p : ptrs)
        if (p != nullptr) mem_pointer_destroy(p, &pool);
    o.validated = o.validated && mem_pool_validate(&pool);
    MemPoolStats stats;
    o.validated = o.validated && mem_pool_stats(&pool, &stats) && stats.live_containers == 0;
    mem_pool_destroy(&pool);
    return o;
}

}  // namespace

TEST(FailureInjection, EveryFailurePointIsHandledCleanly) {
    memkit_test::LogCapture quiet;
    mem_set_oom_handler(CountOom);
    // Warm-up: the thread's state and the handle slab reach their steady size.
    for (int i = 0; i < 12; i++) ASSERT_EQ(0, RunWorkload().failed_calls);
    int runs = 0;
    for (long n = 1;; n++) {
        memkit_test::CountingAllocator counting;
        counting.fail_at = n;
        oom_calls = 0;
        counting.Install();
        Outcome o = RunWorkload();
        memkit_test::CountingAllocator::Uninstall();
        runs++;
        SCOPED_TRACE("failing system allocation #" + std::to_string(n));
        EXPECT_TRUE(o.validated);
        EXPECT_EQ(0, o.wrong_error_codes);
        EXPECT_EQ(counting.failures.load(), oom_calls);
        EXPECT_EQ(0, counting.Outstanding()) << "leaked system allocations";
        if (counting.failures == 0) {
            EXPECT_EQ(0, o.failed_calls);
            break;  // n is past the workload's last allocation: it completed
        }
        ASSERT_LT(n, 10000) << "the workload never completes";
    }
    mem_set_oom_handler(nullptr);
    EXPECT_GT(runs, 20);  // the workload makes many system allocations
}

namespace {

// Regression (issue 12): when the thread-specific key cannot be set (no key left in
// the process), the library reported OUT_OF_MEMORY without calling the OOM handler.
// Now every call still works through the pool's own cache, the handler hears of
// each failed attempt, and successful calls leave the error alone. In a child process:
// the keys are exhausted for good.
bool WorksWithoutThreadKeys() {
    static int handler_calls = 0;
    mem_set_oom_handler([](size_t) { handler_calls++; });
    pthread_key_t key;
    int keys = 0;
    while (pthread_key_create(&key, nullptr) == 0) keys++;
    if (keys == 0) return false;
    MemoryPool pool;
    if (!mem_pool_init(&pool, 8)) return false;
    mem_clear_error();
    for (int i = 0; i < 100; i++) {
        MemoryPointer* p = mem_pointer_create("keyless", 64);
        if (p == nullptr || !mem_pointer_allocate(p, 64, &pool)) return false;
        MemoryPointer* s = mem_pointer_share(p, "share");
        if (s == nullptr || mem_pointer_write(s, &pool) == nullptr) return false;
        if (!mem_pointer_destroy(p, &pool) || !mem_pointer_destroy(s, &pool)) return false;
    }
    bool ok = mem_last_error() == MEM_OK && handler_calls > 0 && mem_pool_validate(&pool);
    mem_pool_destroy(&pool);
    std::fprintf(stderr, "handler calls: %d\n", handler_calls);
    return ok;
}

TEST(FailureInjection, NoThreadKeyLeftFallsBackOnThePool) {
    if (!MEM_THREAD_SAFE) GTEST_SKIP() << "single-threaded build: no thread keys";
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    EXPECT_EXIT(std::exit(WorksWithoutThreadKeys() ? 0 : 1), ::testing::ExitedWithCode(0), "handler calls: [1-9]");
}

}  // namespace

namespace {

// Regression (found by fuzzing the nothreads build): the leak report's list of names
// could not grow, and that failed system allocation never reached the OOM handler.
TEST(FailureInjection, LeakReportWithoutMemoryForNamesTellsTheHandler) {
    memkit_test::LogCapture log;
    MemoryPool pool;
    ASSERT_TRUE(mem_pool_init(&pool, 8));
    std::vector<MemoryPointer*> leaked;
    for (int i = 0; i < 10; i++) {
        MemoryPointer* p = mem_pointer_create("leaked", 64);
        ASSERT_TRUE(mem_pointer_allocate(p, 64, &pool));
        leaked.push_back(p);
    }
    oom_calls = 0;
    mem_set_oom_handler(CountOom);
    memkit_test::CountingAllocator counting;
    counting.fail_at = 1;  // the report's first allocation: its list of names
    counting.Install();
    mem_pool_destroy(&pool);
    memkit_test::CountingAllocator::Uninstall();
    mem_set_oom_handler(nullptr);
    EXPECT_EQ(counting.failures.load(), oom_calls);
    EXPECT_EQ(1, oom_calls);
    EXPECT_TRUE(log.Contains("names unavailable"));
    for (MemoryPointer* p : leaked) EXPECT_TRUE(mem_pointer_destroy(p, &pool));
}

}  // namespace

namespace {

MemoryPool reentered_pool;
int handler_depth = 0, deepest_handler = 0, handler_calls = 0;

// Trims and validates the pool to find memory: calls the library, which the
// handler's contract forbids, but an easy mistake to make.
void HandlerThatCallsTheLibrary(size_t) {
    handler_calls++;
    deepest_handler = std::max(deepest_handler, ++handler_depth);
    (void)mem_pool_trim(&reentered_pool);      // frees the orphans' pages: holes in the registry
    (void)mem_pool_validate(&reentered_pool);  // closes the holes, which reallocates: fails too
    handler_depth--;
}

// Regression: with every system allocation failing, such a handler recursed until the
// stack ran out (SIGSEGV): the validation's own failed reallocation called the
// handler again, and so on. A failure inside the handler no longer calls it.
TEST(FailureInjection, AHandlerThatCallsTheLibraryIsNotCalledFromInsideItself) {
    ASSERT_TRUE(mem_pool_init(&reentered_pool, 8));
    MemoryPointer* kept = mem_pointer_create("kept", 64);
    ASSERT_TRUE(mem_pointer_allocate(kept, 64, &reentered_pool));
    std::vector<MemoryPointer*> orphans(64);  // in pages of their own, for the handler's trim
    for (MemoryPointer*& orphan : orphans) {
        orphan = mem_pointer_create("orphan", 100000);
        ASSERT_TRUE(mem_pointer_allocate(orphan, 100000, &reentered_pool));
    }
    for (MemoryPointer* orphan : orphans) ASSERT_TRUE(mem_pointer_destroy(orphan, &reentered_pool));
    MemoryPointer* big = mem_pointer_create("big", 0);
    ASSERT_NE(nullptr, big);
    memkit_test::LogCapture quiet;
    mem_set_oom_handler(HandlerThatCallsTheLibrary);
    memkit_test::CountingAllocator counting;
    counting.fail_every = 1;
    counting.Install();
    bool allocated = mem_pointer_allocate(big, 300000, &reentered_pool);  // a new page: fails
    memkit_test::CountingAllocator::Uninstall();
    mem_set_oom_handler(nullptr);
    EXPECT_FALSE(allocated);
    EXPECT_EQ(MEM_ERR_OUT_OF_MEMORY, mem_last_error());
    EXPECT_GE(handler_calls, 1);
    EXPECT_EQ(1, deepest_handler) << "the handler was called from inside itself";
    EXPECT_TRUE(mem_pointer_destroy(big, &reentered_pool));
    EXPECT_TRUE(mem_pointer_destroy(kept, &reentered_pool));
    EXPECT_TRUE(mem_pool_validate(&reentered_pool));
    mem_pool_destroy(&reentered_pool);
}

}  // namespace
