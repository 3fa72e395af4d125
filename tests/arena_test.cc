// MemoryArena: bump allocation, alignment, chaining, calloc overflow, strdup,
// reset wiping, destroy, and each error path.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>

#include "memkit.h"
#include "test_support.h"

TEST(Arena, CreateRejectsBadSizes) {
    EXPECT_EQ(nullptr, mem_arena_create(0));
    EXPECT_EQ(MEM_ERR_ZERO_SIZE, mem_last_error());
    EXPECT_EQ(nullptr, mem_arena_create(SIZE_MAX));
    EXPECT_EQ(MEM_ERR_SIZE_OVERFLOW, mem_last_error());
}

TEST(Arena, AllocationsAreAlignedAndBumped) {
    MemoryArena* arena = mem_arena_create(4096);
    ASSERT_NE(nullptr, arena);
    char* a = static_cast<char*>(mem_arena_alloc(arena, 3));
    char* b = static_cast<char*>(mem_arena_alloc(arena, 5));
    ASSERT_NE(nullptr, a);
    ASSERT_NE(nullptr, b);
    EXPECT_EQ(0u, reinterpret_cast<uintptr_t>(a) % alignof(max_align_t));  // suitable for any type
    EXPECT_EQ(0u, reinterpret_cast<uintptr_t>(b) % MEM_ARENA_ALIGNMENT);
    EXPECT_EQ(a + MEM_ARENA_ALIGNMENT, b);  // no per-allocation header
    EXPECT_EQ(MEM_ARENA_ALIGNMENT + 16u, mem_arena_used(arena));  // sizes rounded up to 16
    EXPECT_EQ(4096u, mem_arena_capacity(arena));
    EXPECT_TRUE(mem_arena_destroy(arena));
}

// The header's inline mem_arena_alloc and the library's function hand out blocks from
// the same window: neither skips nor repeats bytes, and what the inline path cannot
// serve (a full chunk, a dead arena) the library answers.
TEST(Arena, InlineAndLibraryAllocationsShareOneWindow) {
    MemoryArena* arena = mem_arena_create(256);
    ASSERT_NE(nullptr, arena);
    char* a = static_cast<char*>(mem_arena_alloc(arena, 20));  // inline (where built so)
    char* b = static_cast<char*>((mem_arena_alloc)(arena, 1));  // the library's function
    char* c = static_cast<char*>(mem_arena_alloc(arena, 16));
    ASSERT_NE(nullptr, a);
    EXPECT_EQ(a + 32, b);
    EXPECT_EQ(b + 16, c);
    EXPECT_EQ(64u, mem_arena_used(arena));
    char* d = static_cast<char*>(mem_arena_alloc(arena, 192));  // fills the chunk exactly
    EXPECT_EQ(c + 16, d);
    EXPECT_EQ(256u, mem_arena_used(arena));
    char* e = static_cast<char*>(mem_arena_alloc(arena, 16));  // no room: a new chunk
    char* f = static_cast<char*>(mem_arena_alloc(arena, 16));
    ASSERT_NE(nullptr, e);
    EXPECT_EQ(e + 16, f);
    EXPECT_EQ(256u + 512u, mem_arena_capacity(arena));
    EXPECT_EQ(288u, mem_arena_used(arena));
    ASSERT_TRUE(mem_arena_reset(arena));
    EXPECT_EQ(0u, mem_arena_used(arena));
    EXPECT_EQ(a, mem_arena_alloc(arena, 16));  // the first chunk's start again
    const MemoryArenaWindow* window = reinterpret_cast<const MemoryArenaWindow*>(arena);
    ASSERT_TRUE(mem_arena_destroy(arena));
    EXPECT_EQ(window->next, window->end);  // closed: every call goes to the library
    EXPECT_EQ(nullptr, mem_arena_alloc(arena, 16));
    EXPECT_EQ(MEM_ERR_INVALID_ARENA, mem_last_error());
}

TEST(Arena, AlignedAllocationsHonourTheAlignment) {
    MemoryArena* arena = mem_arena_create(256);
    for (size_t alignment : {1u, 2u, 16u, 64u, 256u, 4096u}) {
        void* p = mem_arena_alloc_aligned(arena, 24, alignment);
        ASSERT_NE(nullptr, p) << alignment;
        EXPECT_EQ(0u, reinterpret_cast<uintptr_t>(p) % alignment);
        EXPECT_EQ(0u, reinterpret_cast<uintptr_t>(p) % MEM_ARENA_ALIGNMENT);
    }
    EXPECT_EQ(nullptr, mem_arena_alloc_aligned(arena, 8, 3));
    EXPECT_EQ(MEM_ERR_BAD_ALIGNMENT, mem_last_error());
    EXPECT_EQ(nullptr, mem_arena_alloc_aligned(arena, 8, 0));
    EXPECT_EQ(MEM_ERR_BAD_ALIGNMENT, mem_last_error());
    EXPECT_EQ(nullptr, mem_arena_alloc_aligned(arena, 8, 8192));
    EXPECT_EQ(MEM_ERR_BAD_ALIGNMENT, mem_last_error());
    EXPECT_TRUE(mem_arena_destroy(arena));
}

TEST(Arena, FullChunksChainLargerOnes) {
    MemoryArena* arena = mem_arena_create(64);
    char* first = static_cast<char*>(mem_arena_alloc(arena, 60));
    char* second = static_cast<char*>(mem_arena_alloc(arena, 60));  // does not fit: new chunk
    char* big = static_cast<char*>(mem_arena_alloc(arena, 10000));  // larger than doubling
    ASSERT_TRUE(first && second && big);
    memset(first, 1, 60);
    memset(second, 2, 60);
    memset(big, 3, 10000);
    EXPECT_EQ(1, first[59]);
    EXPECT_EQ(2, second[0]);
    EXPECT_GE(mem_arena_capacity(arena), 64u + 128u + 10000u);
    EXPECT_TRUE(mem_arena_destroy(arena));
}

// Each chunk's first block starts on a cache line, wherever the system allocator put
// the chunk: a wipe's speed (glibc's `rep stosb` above 2 KiB) depends on it.
TEST(Arena, EveryChunkStartsOnACacheLine) {
    MemoryArena* arena = mem_arena_create(64);
    ASSERT_NE(nullptr, arena);
    for (size_t size : {60, 60, 10000, 30000, 100000}) {  // each but the first in a new chunk
        uintptr_t block = reinterpret_cast<uintptr_t>(mem_arena_alloc(arena, size));
        ASSERT_NE(0u, block);
        EXPECT_EQ(0u, block % 64) << size;
        memset(reinterpret_cast<void*>(block), 1, size);
    }
    EXPECT_TRUE(mem_arena_destroy(arena));
    for (int i = 0; i < 8; i++) {  // request arenas, from the thread's spares or new
        MemoryArena* request = mem_request_arena_acquire();
        ASSERT_NE(nullptr, request);
        EXPECT_EQ(0u, reinterpret_cast<uintptr_t>(mem_arena_alloc(request, 16)) % 64);
        EXPECT_TRUE(mem_request_arena_release(request));
    }
}

TEST(Arena, CallocZeroesAndChecksOverflow) {
    MemoryArena* arena = mem_arena_create(128);
    unsigned char* dirty = static_cast<unsigned char*>(mem_arena_alloc(arena, 100));
    memset(dirty, 0xFF, 100);
    ASSERT_TRUE(mem_arena_reset(arena));
    int* zeros = static_cast<int*>(mem_arena_calloc(arena, 25, sizeof(int)));
    ASSERT_NE(nullptr, zeros);
    for (int i = 0; i < 25; i++) EXPECT_EQ(0, zeros[i]);
    EXPECT_EQ(nullptr, mem_arena_calloc(arena, SIZE_MAX / 2, 3));
    EXPECT_EQ(MEM_ERR_SIZE_OVERFLOW, mem_last_error());
    EXPECT_EQ(nullptr, mem_arena_calloc(arena, 0, 8));
    EXPECT_EQ(MEM_ERR_ZERO_SIZE, mem_last_error());
    EXPECT_TRUE(mem_arena_destroy(arena));
}

TEST(Arena, StrdupCopies) {
    MemoryArena* arena = mem_arena_create(32);
    char* copy = mem_arena_strdup(arena, "hello, arena");
    ASSERT_NE(nullptr, copy);
    EXPECT_STREQ("hello, arena", copy);
    EXPECT_EQ(nullptr, mem_arena_strdup(arena, nullptr));
    EXPECT_EQ(MEM_ERR_NULL_ARGUMENT, mem_last_error());
    EXPECT_EQ(nullptr, mem_arena_strdup(nullptr, "x"));
    EXPECT_EQ(MEM_ERR_NULL_ARGUMENT, mem_last_error());
    EXPECT_TRUE(mem_arena_destroy(arena));
}

TEST(Arena, ResetWipesAndKeepsOnlyTheFirstChunk) {
    MemoryArena* arena = mem_arena_create(256);
    unsigned char* p = static_cast<unsigned char*>(mem_arena_alloc(arena, 200));
    memset(p, 0xCD, 200);
    ASSERT_NE(nullptr, mem_arena_alloc(arena, 1000));  // chains a second chunk
    EXPECT_GT(mem_arena_capacity(arena), 256u);
    ASSERT_TRUE(mem_arena_reset(arena));
    EXPECT_EQ(0u, mem_arena_used(arena));
    EXPECT_EQ(256u, mem_arena_capacity(arena));
    unsigned char wiped[200];
    memkit_test::PeekReleased(p, wiped, sizeof wiped);
    for (int i = 0; i < 200; i++) ASSERT_EQ(0, wiped[i]) << "byte " << i;  // first chunk kept, wiped
    unsigned char* again = static_cast<unsigned char*>(mem_arena_alloc(arena, 200));
    EXPECT_EQ(p, again);
    EXPECT_TRUE(mem_arena_destroy(arena));
}

TEST(Arena, ErrorsOnBadArenas) {
    EXPECT_EQ(nullptr, mem_arena_alloc(nullptr, 8));
    EXPECT_EQ(MEM_ERR_NULL_ARGUMENT, mem_last_error());
    EXPECT_FALSE(mem_arena_reset(nullptr));
    EXPECT_FALSE(mem_arena_destroy(nullptr));
    EXPECT_EQ(0u, mem_arena_used(nullptr));
    EXPECT_EQ(0u, mem_arena_capacity(nullptr));
    MemoryArena* arena = mem_arena_create(64);
    EXPECT_EQ(nullptr, mem_arena_alloc(arena, 0));
    EXPECT_EQ(MEM_ERR_ZERO_SIZE, mem_last_error());
    EXPECT_EQ(nullptr, mem_arena_alloc(arena, SIZE_MAX));
    EXPECT_EQ(MEM_ERR_SIZE_OVERFLOW, mem_last_error());
    EXPECT_TRUE(mem_arena_destroy(arena));
    // Destroyed: detected, not acted on.
    EXPECT_FALSE(mem_arena_destroy(arena));
    EXPECT_EQ(MEM_ERR_INVALID_ARENA, mem_last_error());
    EXPECT_EQ(nullptr, mem_arena_alloc(arena, 8));
    EXPECT_EQ(MEM_ERR_INVALID_ARENA, mem_last_error());
    EXPECT_FALSE(mem_arena_reset(arena));
    EXPECT_EQ(MEM_ERR_INVALID_ARENA, mem_last_error());
}

// Something that never was an arena (here a handle): the library refuses it. The
// inline path reads the window of whatever it is given, so only calls that reach the
// library can tell; in DEBUG_MEMORY_MANAGER builds (--config=debug) every call does.
TEST(Arena, APointerThatNeverWasAnArenaIsRefused) {
    MemoryPool pool;
    ASSERT_TRUE(mem_pool_init(&pool, 4));
    MemoryPointer* p = mem_pointer_create("not an arena", 64);
    ASSERT_TRUE(mem_pointer_allocate(p, 64, &pool));
    MemoryContainer* container = p->container;
    MemoryArena* fake = reinterpret_cast<MemoryArena*>(p);
    EXPECT_EQ(nullptr, (mem_arena_alloc)(fake, 8));
    EXPECT_EQ(MEM_ERR_INVALID_ARENA, mem_last_error());
#ifdef DEBUG_MEMORY_MANAGER
    EXPECT_EQ(nullptr, mem_arena_alloc(fake, 8));
    EXPECT_EQ(MEM_ERR_INVALID_ARENA, mem_last_error());
#endif
    EXPECT_EQ(container, p->container);  // the handle is untouched
    EXPECT_EQ(&pool, p->pool);
    EXPECT_TRUE(mem_pointer_destroy(p, &pool));
    mem_pool_destroy(&pool);
}

TEST(Arena, ChunkAllocationFailureIsReported) {
    MemoryArena* arena = mem_arena_create(64);
    memkit_test::CountingAllocator counting;
    counting.fail_every = 1;
    counting.Install();
    EXPECT_NE(nullptr, mem_arena_alloc(arena, 32));  // fits: no system call
    EXPECT_EQ(nullptr, mem_arena_alloc(arena, 4096));
    memkit_test::CountingAllocator::Uninstall();
    EXPECT_EQ(MEM_ERR_OUT_OF_MEMORY, mem_last_error());
    EXPECT_NE(nullptr, mem_arena_alloc(arena, 4096));  // works again afterwards
    EXPECT_TRUE(mem_arena_destroy(arena));
}
