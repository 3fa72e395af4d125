// The bad-input catalogue of docs/security.md, one test per row: for each misuse
// the returned value, the error code, that nothing leaked (no system allocation
// left behind) and that the pool still validates.
#include <gtest/gtest.h>

#include <cstring>
#include <thread>

#include "memkit.h"
#include "test_support.h"

class Catalogue : public testing::Test {
  protected:
    void SetUp() override {
        log_ = new memkit_test::LogCapture;  // misuse is logged; keep the output clean
        // Warm-up: this thread's state and a full handle quarantine exist already, so
        // the only allocations a row makes are its own.
        MemoryPool warm;
        ASSERT_TRUE(mem_pool_init(&warm, 4));
        for (int i = 0; i < 2 * MEM_HANDLE_QUARANTINE + 64; i++) {
            MemoryPointer* p = mem_pointer_create("warm", 8);
            ASSERT_TRUE(mem_pointer_allocate(p, 8, &warm));
            ASSERT_TRUE(mem_pointer_destroy(p, &warm));
        }
        MemoryArena* r = mem_request_arena_acquire();
        mem_request_arena_release(r);
        // liburcu's callback thread gets its own state on its first deferred release.
        MemoryPointer* published = mem_pointer_create("warm", 8);
        ASSERT_TRUE(mem_pointer_publish(published, "warm", 5, &warm));
        ASSERT_TRUE(mem_pointer_publish(published, "warm", 5, &warm));
        ASSERT_TRUE(mem_pointer_destroy(published, &warm));
        mem_rcu_barrier();
        mem_pool_destroy(&warm);
        ASSERT_TRUE(mem_pool_init(&pool, 8));
        counting.Install();
        baseline = counting.Outstanding();
    }
    void TearDown() override {
        mem_rcu_barrier();  // releases deferred by RCU publication have run
        EXPECT_TRUE(mem_pool_validate(&pool)) << "the pool no longer validates";
        MemPoolStats s;
        ASSERT_TRUE(mem_pool_stats(&pool, &s));
        EXPECT_EQ(0u, s.live_containers) << "a live container was left behind";
        mem_pool_trim(&pool);
        EXPECT_EQ(baseline, counting.Outstanding()) << "system allocations leaked";
        memkit_test::CountingAllocator::Uninstall();
        mem_pool_destroy(&pool);
        delete log_;
    }
    MemoryPointer* Allocated(size_t size) {
        MemoryPointer* p = mem_pointer_create("p", size);
        EXPECT_TRUE(mem_pointer_allocate(p, size, &pool));
        return p;
    }
    void ExpectError(MemError e) { EXPECT_EQ(e, mem_last_error()) << mem_error_name(mem_last_error()); }

    MemoryPool pool;
    memkit_test::CountingAllocator counting;
    long baseline = 0;
    memkit_test::LogCapture* log_ = nullptr;
};

TEST_F(Catalogue, NullForEveryPointerArgument) {
    MemoryPointer* p = Allocated(16);
    MemoryArena* a = mem_arena_create(64);
    MemPoolStats s;
    EXPECT_FALSE(mem_pool_init(nullptr, 1)); ExpectError(MEM_ERR_NULL_ARGUMENT);
    mem_pool_destroy(nullptr); ExpectError(MEM_ERR_NULL_ARGUMENT);
    EXPECT_EQ(0u, mem_pool_trim(nullptr)); ExpectError(MEM_ERR_NULL_ARGUMENT);
    EXPECT_FALSE(mem_pool_set_orphan_budget(nullptr, 1)); ExpectError(MEM_ERR_NULL_ARGUMENT);
    EXPECT_FALSE(mem_pool_stats(nullptr, &s)); ExpectError(MEM_ERR_NULL_ARGUMENT);
    EXPECT_FALSE(mem_pool_stats(&pool, nullptr)); ExpectError(MEM_ERR_NULL_ARGUMENT);
    EXPECT_FALSE(mem_pool_validate(nullptr)); ExpectError(MEM_ERR_NULL_ARGUMENT);
    mem_pool_dump(nullptr, true); ExpectError(MEM_ERR_NULL_ARGUMENT);
    EXPECT_FALSE(mem_pool_dump_to(nullptr, stdout, true)); ExpectError(MEM_ERR_NULL_ARGUMENT);
    EXPECT_FALSE(mem_pool_dump_to(&pool, nullptr, true)); ExpectError(MEM_ERR_NULL_ARGUMENT);
    EXPECT_EQ(nullptr, mem_pointer_create(nullptr, 1)); ExpectError(MEM_ERR_NULL_ARGUMENT);
    EXPECT_FALSE(mem_pointer_allocate(nullptr, 1, &pool)); ExpectError(MEM_ERR_NULL_ARGUMENT);
    MemoryPointer* empty = mem_pointer_create("empty", 0);
    EXPECT_FALSE(mem_pointer_allocate(empty, 1, nullptr)); ExpectError(MEM_ERR_NULL_ARGUMENT);
    EXPECT_FALSE(mem_pointer_destroy(nullptr, &pool)); ExpectError(MEM_ERR_NULL_ARGUMENT);
    EXPECT_FALSE(mem_pointer_destroy(p, nullptr)); ExpectError(MEM_ERR_NULL_ARGUMENT);
    EXPECT_EQ(nullptr, mem_pointer_share(nullptr, "s")); ExpectError(MEM_ERR_NULL_ARGUMENT);
    EXPECT_EQ(nullptr, mem_pointer_share(p, nullptr)); ExpectError(MEM_ERR_NULL_ARGUMENT);
    EXPECT_EQ(nullptr, mem_pointer_write(nullptr, &pool)); ExpectError(MEM_ERR_NULL_ARGUMENT);
    EXPECT_EQ(nullptr, mem_pointer_write(p, nullptr)); ExpectError(MEM_ERR_NULL_ARGUMENT);
    EXPECT_EQ(nullptr, mem_pointer_data(nullptr)); ExpectError(MEM_ERR_NULL_ARGUMENT);
    EXPECT_EQ(0u, mem_pointer_size(nullptr)); ExpectError(MEM_ERR_NULL_ARGUMENT);
    EXPECT_EQ(0u, mem_pointer_refcount(nullptr)); ExpectError(MEM_ERR_NULL_ARGUMENT);
    EXPECT_EQ(0u, mem_pointer_id(nullptr)); ExpectError(MEM_ERR_NULL_ARGUMENT);
    EXPECT_EQ(nullptr, mem_pointer_read_lock(nullptr, nullptr)); ExpectError(MEM_ERR_NULL_ARGUMENT);
    EXPECT_FALSE(mem_pointer_publish(nullptr, "x", 1, &pool)); ExpectError(MEM_ERR_NULL_ARGUMENT);
    EXPECT_FALSE(mem_pointer_publish(empty, nullptr, 1, &pool)); ExpectError(MEM_ERR_NULL_ARGUMENT);
    EXPECT_FALSE(mem_pointer_publish(empty, "x", 1, nullptr)); ExpectError(MEM_ERR_NULL_ARGUMENT);
    EXPECT_EQ(nullptr, mem_arena_alloc(nullptr, 1)); ExpectError(MEM_ERR_NULL_ARGUMENT);
    EXPECT_EQ(nullptr, mem_arena_alloc_aligned(nullptr, 1, 8)); ExpectError(MEM_ERR_NULL_ARGUMENT);
    EXPECT_EQ(nullptr, mem_arena_calloc(nullptr, 1, 1)); ExpectError(MEM_ERR_NULL_ARGUMENT);
    EXPECT_EQ(nullptr, mem_arena_strdup(nullptr, "x")); ExpectError(MEM_ERR_NULL_ARGUMENT);
    EXPECT_EQ(nullptr, mem_arena_strdup(a, nullptr)); ExpectError(MEM_ERR_NULL_ARGUMENT);
    EXPECT_FALSE(mem_arena_reset(nullptr)); ExpectError(MEM_ERR_NULL_ARGUMENT);
    EXPECT_FALSE(mem_arena_destroy(nullptr)); ExpectError(MEM_ERR_NULL_ARGUMENT);
    EXPECT_EQ(0u, mem_arena_used(nullptr)); ExpectError(MEM_ERR_NULL_ARGUMENT);
    EXPECT_EQ(0u, mem_arena_capacity(nullptr)); ExpectError(MEM_ERR_NULL_ARGUMENT);
    EXPECT_FALSE(mem_request_arena_release(nullptr)); ExpectError(MEM_ERR_NULL_ARGUMENT);
    MemAllocator incomplete{};
    EXPECT_FALSE(mem_set_allocator(&incomplete)); ExpectError(MEM_ERR_NULL_ARGUMENT);
    EXPECT_TRUE(mem_pointer_destroy(empty, &pool));
    EXPECT_TRUE(mem_arena_destroy(a));
    EXPECT_TRUE(mem_pointer_destroy(p, &pool));
}

TEST_F(Catalogue, SizeZero) {
    MemoryPointer* p = mem_pointer_create("p", 0);  // a size hint of 0 means "unknown": valid
    ASSERT_NE(nullptr, p);
    EXPECT_FALSE(mem_pointer_allocate(p, 0, &pool)); ExpectError(MEM_ERR_ZERO_SIZE);
    EXPECT_FALSE(mem_pointer_publish(p, "x", 0, &pool)); ExpectError(MEM_ERR_ZERO_SIZE);
    EXPECT_EQ(nullptr, mem_arena_create(0)); ExpectError(MEM_ERR_ZERO_SIZE);
    MemoryArena* a = mem_arena_create(64);
    EXPECT_EQ(nullptr, mem_arena_alloc(a, 0)); ExpectError(MEM_ERR_ZERO_SIZE);
    EXPECT_EQ(nullptr, mem_arena_alloc_aligned(a, 0, 16)); ExpectError(MEM_ERR_ZERO_SIZE);
    EXPECT_EQ(nullptr, mem_arena_calloc(a, 0, 8)); ExpectError(MEM_ERR_ZERO_SIZE);
    EXPECT_EQ(nullptr, mem_arena_calloc(a, 8, 0)); ExpectError(MEM_ERR_ZERO_SIZE);
    EXPECT_EQ(0u, mem_arena_used(a));
    EXPECT_TRUE(mem_arena_destroy(a));
    EXPECT_TRUE(mem_pointer_destroy(p, &pool));
}

TEST_F(Catalogue, SizeMaxAndOverflowingSizes) {
    MemoryPool other;
    EXPECT_FALSE(mem_pool_init(&other, SIZE_MAX)); ExpectError(MEM_ERR_SIZE_OVERFLOW);
    EXPECT_FALSE(mem_pool_init(&other, SIZE_MAX / sizeof(void*) + 1)); ExpectError(MEM_ERR_SIZE_OVERFLOW);
    EXPECT_EQ(nullptr, mem_pointer_create("p", SIZE_MAX)); ExpectError(MEM_ERR_SIZE_OVERFLOW);
    MemoryPointer* p = mem_pointer_create("p", 0);
    for (size_t size : {SIZE_MAX, SIZE_MAX - 31, MEM_MAX_ALLOCATION + 1}) {
        EXPECT_FALSE(mem_pointer_allocate(p, size, &pool)); ExpectError(MEM_ERR_SIZE_OVERFLOW);
        EXPECT_FALSE(mem_pointer_publish(p, "x", size, &pool)); ExpectError(MEM_ERR_SIZE_OVERFLOW);
        EXPECT_EQ(nullptr, mem_arena_create(size)); ExpectError(MEM_ERR_SIZE_OVERFLOW);
    }
    MemoryArena* a = mem_arena_create(64);
    EXPECT_EQ(nullptr, mem_arena_alloc(a, SIZE_MAX)); ExpectError(MEM_ERR_SIZE_OVERFLOW);
    // Rounding up for alignment must not wrap around.
    EXPECT_EQ(nullptr, mem_arena_alloc_aligned(a, SIZE_MAX - 8, 4096)); ExpectError(MEM_ERR_SIZE_OVERFLOW);
    EXPECT_EQ(nullptr, mem_arena_alloc(a, SIZE_MAX - MEM_ALIGNMENT + 1)); ExpectError(MEM_ERR_SIZE_OVERFLOW);
    // The multiplication of calloc overflows.
    EXPECT_EQ(nullptr, mem_arena_calloc(a, SIZE_MAX / 2 + 1, 2)); ExpectError(MEM_ERR_SIZE_OVERFLOW);
    EXPECT_EQ(nullptr, mem_arena_calloc(a, (size_t)1 << 32, (size_t)1 << 32)); ExpectError(MEM_ERR_SIZE_OVERFLOW);
    // Valid but larger than memory: a clean out-of-memory, not a crash.
    EXPECT_FALSE(mem_pointer_allocate(p, MEM_MAX_ALLOCATION, &pool)); ExpectError(MEM_ERR_OUT_OF_MEMORY);
    EXPECT_EQ(0u, mem_arena_used(a));
    EXPECT_TRUE(mem_arena_destroy(a));
    EXPECT_TRUE(mem_pointer_destroy(p, &pool));
}

TEST_F(Catalogue, AlignmentNotAPowerOfTwo) {
    MemoryArena* a = mem_arena_create(64);
    for (size_t alignment : {size_t{0}, size_t{3}, size_t{24}, size_t{100}, size_t{8192}, SIZE_MAX}) {
        EXPECT_EQ(nullptr, mem_arena_alloc_aligned(a, 8, alignment)) << alignment;
        ExpectError(MEM_ERR_BAD_ALIGNMENT);
    }
    EXPECT_EQ(0u, mem_arena_used(a));
    EXPECT_TRUE(mem_arena_destroy(a));
}

TEST_F(Catalogue, DestroyingTwice) {
    MemoryPointer* p = Allocated(32);
    EXPECT_TRUE(mem_pointer_destroy(p, &pool));
    EXPECT_FALSE(mem_pointer_destroy(p, &pool)); ExpectError(MEM_ERR_INVALID_POINTER);
    MemoryArena* a = mem_arena_create(64);
    EXPECT_TRUE(mem_arena_destroy(a));
    EXPECT_FALSE(mem_arena_destroy(a)); ExpectError(MEM_ERR_INVALID_ARENA);
    MemoryPool other;
    ASSERT_TRUE(mem_pool_init(&other, 4));
    mem_pool_destroy(&other);
    mem_pool_destroy(&other); ExpectError(MEM_ERR_INVALID_POOL);
}

TEST_F(Catalogue, UsingAfterDestroy) {
    MemoryPointer* p = Allocated(32);
    ASSERT_TRUE(mem_pointer_destroy(p, &pool));
    EXPECT_EQ(nullptr, mem_pointer_data(p)); ExpectError(MEM_ERR_INVALID_POINTER);
    EXPECT_EQ(0u, mem_pointer_size(p)); ExpectError(MEM_ERR_INVALID_POINTER);
    EXPECT_EQ(nullptr, mem_pointer_share(p, "s")); ExpectError(MEM_ERR_INVALID_POINTER);
    EXPECT_EQ(nullptr, mem_pointer_write(p, &pool)); ExpectError(MEM_ERR_INVALID_POINTER);
    EXPECT_FALSE(mem_pointer_allocate(p, 8, &pool)); ExpectError(MEM_ERR_INVALID_POINTER);
    EXPECT_FALSE(mem_pointer_publish(p, "x", 1, &pool)); ExpectError(MEM_ERR_INVALID_POINTER);
    EXPECT_EQ(nullptr, mem_pointer_read_lock(p, nullptr)); ExpectError(MEM_ERR_INVALID_POINTER);
    MemoryArena* a = mem_arena_create(64);
    ASSERT_TRUE(mem_arena_destroy(a));
    EXPECT_EQ(nullptr, mem_arena_alloc(a, 8)); ExpectError(MEM_ERR_INVALID_ARENA);
    EXPECT_EQ(nullptr, mem_arena_strdup(a, "x")); ExpectError(MEM_ERR_INVALID_ARENA);
    EXPECT_FALSE(mem_arena_reset(a)); ExpectError(MEM_ERR_INVALID_ARENA);
    EXPECT_EQ(0u, mem_arena_used(a)); ExpectError(MEM_ERR_INVALID_ARENA);
    // A handle whose pool was destroyed: its container went with the pool.
    MemoryPool other;
    ASSERT_TRUE(mem_pool_init(&other, 4));
    MemoryPointer* orphaned = mem_pointer_create("o", 8);
    ASSERT_TRUE(mem_pointer_allocate(orphaned, 8, &other));
    mem_pool_destroy(&other);
    EXPECT_EQ(nullptr, mem_pointer_data(orphaned)); ExpectError(MEM_ERR_INVALID_POOL);
    EXPECT_EQ(nullptr, mem_pointer_share(orphaned, "s")); ExpectError(MEM_ERR_INVALID_POOL);
    EXPECT_EQ(nullptr, mem_pointer_read_lock(orphaned, nullptr)); ExpectError(MEM_ERR_INVALID_POOL);
    EXPECT_TRUE(mem_pointer_destroy(orphaned, &other));  // its slot is not lost
}

TEST_F(Catalogue, PointerWithAnotherPool) {
    MemoryPool other;
    ASSERT_TRUE(mem_pool_init(&other, 4));
    MemoryPointer* p = Allocated(32);
    EXPECT_FALSE(mem_pointer_destroy(p, &other)); ExpectError(MEM_ERR_WRONG_POOL);
    EXPECT_EQ(nullptr, mem_pointer_write(p, &other)); ExpectError(MEM_ERR_WRONG_POOL);
    EXPECT_FALSE(mem_pointer_publish(p, "x", 1, &other)); ExpectError(MEM_ERR_WRONG_POOL);
    EXPECT_EQ(1u, mem_pointer_refcount(p));
    EXPECT_TRUE(mem_pool_validate(&other));
    mem_pool_destroy(&other);
    EXPECT_TRUE(mem_pointer_destroy(p, &pool));
}

TEST_F(Catalogue, RequestArenaReleasedTwiceOrOnAnotherThread) {
    MemoryArena* r = mem_request_arena_acquire();
    ASSERT_TRUE(mem_request_arena_release(r));
    EXPECT_FALSE(mem_request_arena_release(r)); ExpectError(MEM_ERR_ARENA_STATE);
    MemoryArena* held = mem_request_arena_acquire();
    if (MEM_THREAD_SAFE) {
        MemError seen = MEM_OK;
        bool released = true;
        std::thread([&] {
            released = mem_request_arena_release(held);
            seen = mem_last_error();
        }).join();
        EXPECT_FALSE(released);
        EXPECT_EQ(MEM_ERR_WRONG_THREAD, seen);
    }
    EXPECT_TRUE(mem_request_arena_release(held));
}

TEST_F(Catalogue, ValidatingOrDumpingADestroyedPool) {
    MemoryPool other;
    ASSERT_TRUE(mem_pool_init(&other, 4));
    mem_pool_destroy(&other);
    EXPECT_FALSE(mem_pool_validate(&other)); ExpectError(MEM_ERR_INVALID_POOL);
    mem_clear_error();
    mem_pool_dump(&other, true); ExpectError(MEM_ERR_INVALID_POOL);
    EXPECT_FALSE(mem_pool_dump_to(&other, stdout, false)); ExpectError(MEM_ERR_INVALID_POOL);
    MemPoolStats s;
    EXPECT_FALSE(mem_pool_stats(&other, &s)); ExpectError(MEM_ERR_INVALID_POOL);
    MemoryPool never;
    std::memset(&never, 0xA5, sizeof never);  // garbage, never initialised
    EXPECT_FALSE(mem_pool_validate(&never)); ExpectError(MEM_ERR_INVALID_POOL);
}

// Regression: a dump into a stream that could not take it (a full disk, a stream
// opened for reading) returned true, and the lines were lost without a word.
TEST_F(Catalogue, DumpingIntoAStreamThatFails) {
    FILE* full = std::fopen("/dev/full", "w");  // every write: ENOSPC
    ASSERT_NE(nullptr, full);
    EXPECT_FALSE(mem_pool_dump_to(&pool, full, false)); ExpectError(MEM_ERR_OUTPUT);
    EXPECT_FALSE(mem_pool_dump_to(&pool, full, true)); ExpectError(MEM_ERR_OUTPUT);
    std::fclose(full);
    FILE* read_only = std::fopen("/proc/self/stat", "r");
    ASSERT_NE(nullptr, read_only);
    EXPECT_FALSE(mem_pool_dump_to(&pool, read_only, true)); ExpectError(MEM_ERR_OUTPUT);
    std::fclose(read_only);
    FILE* fine = std::tmpfile();
    ASSERT_NE(nullptr, fine);
    EXPECT_TRUE(mem_pool_dump_to(&pool, fine, true));
    std::fclose(fine);
}

TEST_F(Catalogue, PublishingOnANonShareablePointer) {
    // A published pointer's buffer is read by RCU readers: writing it in place is
    // refused; so is publishing through a destroyed handle or into another pool.
    MemoryPointer* p = mem_pointer_create("config", 8);
    ASSERT_TRUE(mem_pointer_publish(p, "v1", 3, &pool));
    EXPECT_EQ(nullptr, mem_pointer_write(p, &pool)); ExpectError(MEM_ERR_PUBLISHED);
    MemoryPool other;
    ASSERT_TRUE(mem_pool_init(&other, 4));
    EXPECT_FALSE(mem_pointer_publish(p, "v2", 3, &other)); ExpectError(MEM_ERR_WRONG_POOL);
    mem_pool_destroy(&other);
    EXPECT_STREQ("v1", static_cast<const char*>(mem_pointer_data(p)));
    EXPECT_TRUE(mem_pointer_destroy(p, &pool));
    EXPECT_FALSE(mem_pointer_publish(p, "v3", 3, &pool)); ExpectError(MEM_ERR_INVALID_POINTER);
}
