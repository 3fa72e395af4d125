// The library built with each supported MEM_ALIGNMENT (tests/BUILD.bazel makes one
// test per value): container data, copies made by copy-on-write, published versions
// and arena allocations are all MEM_ALIGNMENT-aligned, at every size class, and the
// pool validates. Regression (issue 12): with -DMEM_ALIGNMENT=64, 48 of 64 containers
// came back misaligned.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
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

// A system allocator that breaks the contract of mem_set_allocator (memory aligned for
// any standard type): every block it returns is 8 bytes past a 16-byte boundary. A
// page puts its header on a cache line, up to 63 bytes into its allocation; the
// blocks must still be aligned and end inside it (AddressSanitizer reports a write
// past it), and the pool must validate.
class OffByEightAllocator {
  public:
    static void* Alloc(void*, size_t size) {
        // 16-byte aligned, so the block handed out, 8 bytes in, is 8 past a boundary.
        unsigned char* raw = static_cast<unsigned char*>(std::aligned_alloc(16, (size + 8 + 15) / 16 * 16));
        if (raw == nullptr) return nullptr;
        std::lock_guard<std::mutex> lock(mutex_);
        blocks_[raw + 8] = Block{raw, size};
        return raw + 8;
    }
    static void* Realloc(void* context, void* block, size_t size) {
        if (block == nullptr) return Alloc(context, size);
        size_t old_size;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            auto it = blocks_.find(block);
            if (it == blocks_.end()) return std::realloc(block, size);  // from before the test
            old_size = it->second.size;
        }
        void* fresh = Alloc(context, size);
        if (fresh == nullptr) return nullptr;
        std::memcpy(fresh, block, old_size < size ? old_size : size);
        Free(context, block);
        return fresh;
    }
    static void Free(void*, void* block) {
        if (block == nullptr) return;
        std::unique_lock<std::mutex> lock(mutex_);
        auto it = blocks_.find(block);
        if (it == blocks_.end()) {
            lock.unlock();
            std::free(block);  // allocated before the test installed this allocator
            return;
        }
        void* raw = it->second.raw;
        blocks_.erase(it);
        lock.unlock();
        std::free(raw);
    }
  private:
    struct Block {
        unsigned char* raw;
        size_t size;
    };
    static std::mutex mutex_;
    static std::map<void*, Block> blocks_;
};
std::mutex OffByEightAllocator::mutex_;
std::map<void*, OffByEightAllocator::Block> OffByEightAllocator::blocks_;

TEST(Alignment, PagesFitAllocationsAlignedToLessThanALine) {
    MemAllocator allocator = {OffByEightAllocator::Alloc, OffByEightAllocator::Realloc, OffByEightAllocator::Free,
                              nullptr};
    ASSERT_TRUE(mem_set_allocator(&allocator));
    MemoryPool pool;
    ASSERT_TRUE(mem_pool_init(&pool, 16));
    std::vector<void*> blocks;
    for (size_t size = 1; size <= (size_t{1} << 20); size = size * 5 / 4 + 1) {
        for (int copy = 0; copy < 3; copy++) {
            unsigned char* p = static_cast<unsigned char*>(mem_pool_malloc(&pool, size));
            ASSERT_NE(nullptr, p) << size;
            EXPECT_TRUE(Aligned(p)) << size;
            std::memset(p, 0xC3, mem_usable_size(p));  // every usable byte, up to the page's end
            blocks.push_back(p);
        }
    }
    EXPECT_TRUE(mem_pool_validate(&pool));
    for (void* p : blocks) mem_free(p);
    mem_pool_destroy(&pool);
    EXPECT_TRUE(mem_set_allocator(nullptr));
}

}  // namespace
