// The library built with each supported MEM_ALIGNMENT (tests/BUILD.bazel makes one
// test per value): container data, copies made by copy-on-write, published versions
// and arena allocations are all MEM_ALIGNMENT-aligned, at every size class, and the
// pool validates. Regression (issue 12): with -DMEM_ALIGNMENT=64, 48 of 64 containers
// came back misaligned.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "memkit.h"

namespace {

bool Aligned(const void* p) { return reinterpret_cast<uintptr_t>(p) % MEM_ALIGNMENT == 0; }

TEST(Alignment, ContainersAtEverySize) {
    MemoryPool pool;
    ASSERT_TRUE(mem_pool_init(&pool, 16));
    std::vector<MemoryPointer*> held;
    for (size_t size = 1; size <= (size_t{1} << 20); size = size * 5 / 4 + 1) {
        for (int copy = 0; copy < 3; copy++) {  // several blocks of each class
            MemoryPointer* p = mem_pointer_create("aligned", size);
            ASSERT_TRUE(mem_pointer_allocate(p, size, &pool)) << size;
            EXPECT_TRUE(Aligned(mem_pointer_data(p))) << size << " at " << mem_pointer_data(p);
            MemoryPointer* s = mem_pointer_share(p, "share");
            ASSERT_NE(nullptr, s);
            void* copied = mem_pointer_write(s, &pool);  // shared: a copy
            ASSERT_NE(nullptr, copied);
            EXPECT_TRUE(Aligned(copied)) << size;
            static_cast<unsigned char*>(copied)[size - 1] = 1;
            held.push_back(p);
            held.push_back(s);
        }
    }
    EXPECT_TRUE(mem_pool_validate(&pool));
    for (MemoryPointer* p : held) ASSERT_TRUE(mem_pointer_destroy(p, &pool));
    EXPECT_TRUE(mem_pool_validate(&pool));
    mem_pool_destroy(&pool);
}

TEST(Alignment, PublishedVersions) {
    MemoryPool pool;
    ASSERT_TRUE(mem_pool_init(&pool, 4));
    MemoryPointer* p = mem_pointer_create("published", 100);
    const char text[] = "a version";
    for (int i = 0; i < 8; i++) {
        ASSERT_TRUE(mem_pointer_publish(p, text, sizeof text, &pool));
        size_t size = 0;
        const void* data = mem_pointer_read_lock(p, &size);
        EXPECT_TRUE(Aligned(data));
        mem_pointer_read_unlock(p);
    }
    ASSERT_TRUE(mem_pointer_destroy(p, &pool));
    mem_rcu_barrier();
    mem_pool_destroy(&pool);
}

TEST(Alignment, ArenaAllocations) {
    MemoryArena* arena = mem_arena_create(1000);
    ASSERT_NE(nullptr, arena);
    for (size_t size : {1, 3, 8, 17, 100, 999, 5000, 70000}) {
        void* a = mem_arena_alloc(arena, size);
        ASSERT_NE(nullptr, a);
        EXPECT_TRUE(Aligned(a)) << size;
        void* z = mem_arena_calloc(arena, 3, size);
        ASSERT_NE(nullptr, z);
        EXPECT_TRUE(Aligned(z)) << size;
    }
    EXPECT_TRUE(mem_arena_destroy(arena));
    MemoryArena* request = mem_request_arena_acquire();
    ASSERT_NE(nullptr, request);
    for (int i = 0; i < 100; i++) EXPECT_TRUE(Aligned(mem_arena_alloc(request, static_cast<size_t>(i) * 7 + 1)));
    EXPECT_TRUE(mem_request_arena_release(request));
}

}  // namespace
