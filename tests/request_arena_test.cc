// Per-request arenas: steady state without system allocation, wiping on release,
// nested requests, the per-thread budget, and the misuse errors.
#include <gtest/gtest.h>

#include <cstring>
#include <thread>
#include <vector>

#include "memkit.h"
#include "test_support.h"

TEST(RequestArena, SteadyStateDoesNoSystemAllocation) {
    for (int i = 0; i < 3; i++) {  // warm-up: the thread's arena and its chunks exist
        MemoryArena* a = mem_request_arena_acquire();
        ASSERT_NE(nullptr, a);
        for (int k = 0; k < 32; k++) ASSERT_NE(nullptr, mem_arena_alloc(a, 16 + 16 * k));
        ASSERT_TRUE(mem_request_arena_release(a));
    }
    memkit_test::CountingAllocator counting;
    counting.Install();
    for (int request = 0; request < 10000; request++) {
        MemoryArena* a = mem_request_arena_acquire();
        ASSERT_NE(nullptr, a);
        for (int k = 0; k < 32; k++) {
            unsigned char* p = static_cast<unsigned char*>(mem_arena_alloc(a, 16 + 16 * k));
            ASSERT_NE(nullptr, p);
            p[0] = static_cast<unsigned char>(k);
        }
        ASSERT_TRUE(mem_request_arena_release(a));
    }
    memkit_test::CountingAllocator::Uninstall();
    EXPECT_EQ(0, counting.calls.load()) << "a steady-state request reached the system allocator";
}

TEST(RequestArena, ReleaseWipesWhatWasUsed) {
    MemoryArena* a = mem_request_arena_acquire();
    unsigned char* p = static_cast<unsigned char*>(mem_arena_alloc(a, 300));
    memset(p, 0xAA, 300);
    ASSERT_TRUE(mem_request_arena_release(a));
    // The chunk is kept for the next request; its bytes read zero.
    unsigned char wiped[300];
    memkit_test::PeekReleased(p, wiped, sizeof wiped);
    for (int i = 0; i < 300; i++) ASSERT_EQ(0, wiped[i]) << "byte " << i;
    MemoryArena* again = mem_request_arena_acquire();
    EXPECT_EQ(a, again);
    EXPECT_EQ(0u, mem_arena_used(again));
    EXPECT_TRUE(mem_request_arena_release(again));
}

// The release wipes a chunk's used bytes in 2 KiB pieces up to 32 KiB and in one go
// beyond: every size around those bounds reads zero afterwards.
TEST(RequestArena, ReleaseWipesEveryByteAtEverySize) {
    for (size_t size : {17u, 2047u, 2048u, 2049u, 4095u, 4096u, 4097u, 10000u, 32767u, 32768u, 32769u, 50000u}) {
        MemoryArena* a = mem_request_arena_acquire();
        ASSERT_NE(nullptr, a);
        void* first = mem_arena_alloc(a, 16);  // the block below starts past the chunk's start
        unsigned char* p = static_cast<unsigned char*>(mem_arena_alloc(a, size));
        ASSERT_NE(nullptr, first);
        ASSERT_NE(nullptr, p);
        memset(first, 0xAA, 16);
        memset(p, 0xAA, size);
        ASSERT_TRUE(mem_request_arena_release(a));  // every chunk is kept: far below the budget
        std::vector<unsigned char> wiped(size);
        memkit_test::PeekReleased(p, wiped.data(), size);
        for (size_t i = 0; i < size; i++) ASSERT_EQ(0, wiped[i]) << "size " << size << ", byte " << i;
        memkit_test::PeekReleased(first, wiped.data(), 16);
        for (size_t i = 0; i < 16; i++) ASSERT_EQ(0, wiped[i]) << "size " << size << ", first block byte " << i;
    }
}

TEST(RequestArena, NestedRequestsGetDistinctArenas) {
    MemoryArena* outer = mem_request_arena_acquire();
    MemoryArena* inner = mem_request_arena_acquire();
    MemoryArena* innermost = mem_request_arena_acquire();
    ASSERT_TRUE(outer && inner && innermost);
    EXPECT_NE(outer, inner);
    EXPECT_NE(inner, innermost);
    EXPECT_NE(outer, innermost);
    char* a = mem_arena_strdup(outer, "outer");
    char* b = mem_arena_strdup(inner, "inner");
    EXPECT_STREQ("outer", a);
    EXPECT_STREQ("inner", b);
    EXPECT_TRUE(mem_request_arena_release(innermost));
    EXPECT_TRUE(mem_request_arena_release(inner));
    EXPECT_STREQ("outer", a);  // untouched by the inner releases
    EXPECT_TRUE(mem_request_arena_release(outer));
}

TEST(RequestArena, ChunksBeyondTheBudgetGoBackToTheSystem) {
    std::thread([] {  // a fresh thread: its budget is all unused
        memkit_test::CountingAllocator counting;
        counting.Install();
        MemoryArena* a = mem_request_arena_acquire();
        ASSERT_NE(nullptr, a);
        for (int i = 0; i < 24; i++) ASSERT_NE(nullptr, mem_arena_alloc(a, 256 * 1024));  // ~6 MiB
        EXPECT_GT(mem_arena_capacity(a), 4u * 1024 * 1024);
        long before_release = counting.Outstanding();
        ASSERT_TRUE(mem_request_arena_release(a));
        EXPECT_LT(counting.Outstanding(), before_release);  // chunks were freed
        EXPECT_LE(mem_arena_capacity(a), 1024u * 1024u);    // kept within the budget
        memkit_test::CountingAllocator::Uninstall();
    }).join();
}

// A request arena's window is open while it is acquired and closed once released, so
// the inline mem_arena_alloc cannot serve a released arena; builds that mark memory
// for AddressSanitizer or valgrind keep it closed, so each block is opened to them.
TEST(RequestArena, TheInlineWindowIsOpenOnlyWhileAcquired) {
#if defined(__SANITIZE_ADDRESS__) || (defined(MEM_VALGRIND) && MEM_VALGRIND)
    const bool tracking = true;
#else
    const bool tracking = false;
#endif
    MemoryArena* a = mem_request_arena_acquire();
    ASSERT_NE(nullptr, a);
    const MemoryArenaWindow* window = reinterpret_cast<const MemoryArenaWindow*>(a);
    EXPECT_EQ(tracking, window->next == window->end);
    ASSERT_NE(nullptr, mem_arena_alloc(a, 100));
    EXPECT_EQ(tracking, window->next == window->end);
    ASSERT_TRUE(mem_request_arena_release(a));
    EXPECT_EQ(window->next, window->end);
}

TEST(RequestArena, MisuseIsRefused) {
    memkit_test::LogCapture log;
    MemoryArena* a = mem_request_arena_acquire();
    ASSERT_TRUE(mem_request_arena_release(a));
    EXPECT_FALSE(mem_request_arena_release(a));
    EXPECT_EQ(MEM_ERR_ARENA_STATE, mem_last_error());
    EXPECT_TRUE(log.Contains("released twice"));
    MemoryArena* b = mem_request_arena_acquire();
    EXPECT_FALSE(mem_arena_destroy(b));
    EXPECT_EQ(MEM_ERR_ARENA_STATE, mem_last_error());
    EXPECT_FALSE(mem_arena_reset(b));
    EXPECT_EQ(MEM_ERR_ARENA_STATE, mem_last_error());
    if (MEM_THREAD_SAFE) {
        bool released = true;
        MemError error = MEM_OK;
        std::thread([&] {
            released = mem_request_arena_release(b);
            error = mem_last_error();
        }).join();
        EXPECT_FALSE(released);
        EXPECT_EQ(MEM_ERR_WRONG_THREAD, error);
    }
    EXPECT_TRUE(mem_request_arena_release(b));  // the owner still can
    MemoryArena* plain = mem_arena_create(64);
    EXPECT_FALSE(mem_request_arena_release(plain));
    EXPECT_EQ(MEM_ERR_INVALID_ARENA, mem_last_error());
    EXPECT_TRUE(mem_arena_destroy(plain));
    EXPECT_FALSE(mem_request_arena_release(plain));
    EXPECT_EQ(MEM_ERR_INVALID_ARENA, mem_last_error());
    EXPECT_FALSE(mem_request_arena_release(nullptr));
    EXPECT_EQ(MEM_ERR_NULL_ARGUMENT, mem_last_error());
}

TEST(RequestArena, KeptChunksAreWalkedBeforeNewOnesAreMade) {
    std::thread([] {
        MemoryArena* a = mem_request_arena_acquire();
        ASSERT_NE(nullptr, a);
        for (int i = 0; i < 4; i++) ASSERT_NE(nullptr, mem_arena_alloc(a, 12000));  // chains chunks
        size_t capacity = mem_arena_capacity(a);
        ASSERT_TRUE(mem_request_arena_release(a));
        memkit_test::CountingAllocator counting;
        counting.Install();
        MemoryArena* again = mem_request_arena_acquire();
        EXPECT_EQ(a, again);
        EXPECT_EQ(capacity, mem_arena_capacity(again));  // within the per-thread budget: all kept
        for (int i = 0; i < 4; i++) EXPECT_NE(nullptr, mem_arena_alloc(again, 12000));
        memkit_test::CountingAllocator::Uninstall();
        EXPECT_EQ(0, counting.calls.load());  // the kept chunks served it
        EXPECT_TRUE(mem_request_arena_release(again));
    }).join();
}

// Regression (issue 12): a released request arena kept serving allocations (the fast
// path checked only the magic) and the next acquire handed it out again with the late
// bytes still in it.
TEST(RequestArena, AReleasedArenaRefusesEveryCallAndTheNextRequestStartsWiped) {
    MemoryArena* a = mem_request_arena_acquire();
    ASSERT_NE(nullptr, a);
    memset(mem_arena_alloc(a, 100), 0xCD, 100);
    ASSERT_TRUE(mem_request_arena_release(a));
    mem_clear_error();
    void* late = mem_arena_alloc(a, 100);
    if (late != nullptr) memset(late, 0xAB, 100);
    EXPECT_EQ(nullptr, late);
    EXPECT_EQ(MEM_ERR_ARENA_STATE, mem_last_error());
    EXPECT_EQ(nullptr, mem_arena_alloc_aligned(a, 100, 64));
    EXPECT_EQ(MEM_ERR_ARENA_STATE, mem_last_error());
    EXPECT_EQ(nullptr, mem_arena_calloc(a, 10, 10));
    EXPECT_EQ(MEM_ERR_ARENA_STATE, mem_last_error());
    EXPECT_EQ(nullptr, mem_arena_strdup(a, "late"));
    EXPECT_EQ(MEM_ERR_ARENA_STATE, mem_last_error());
    EXPECT_EQ(0u, mem_arena_used(a));
    EXPECT_EQ(MEM_ERR_ARENA_STATE, mem_last_error());
    EXPECT_EQ(0u, mem_arena_capacity(a));
    EXPECT_EQ(MEM_ERR_ARENA_STATE, mem_last_error());
    MemoryArena* next = mem_request_arena_acquire();  // the same arena, ready again
    ASSERT_NE(nullptr, next);
    EXPECT_EQ(0u, mem_arena_used(next));
    unsigned char* block = static_cast<unsigned char*>(mem_arena_alloc(next, 100));
    ASSERT_NE(nullptr, block);
    unsigned char bytes[100];
    memkit_test::PeekReleased(block, bytes, sizeof bytes);  // a fresh block: "unspecified" to valgrind
    for (int i = 0; i < 100; i++) ASSERT_EQ(0, bytes[i]) << "byte " << i;
    EXPECT_TRUE(mem_request_arena_release(next));
}
