// Container ids stay distinct when thread caches run through many blocks of serials.
// Built against a library whose caches take 16 serials at a time (the default is 2^20),
// so the blocks run out within the test.
//
// Regression (issue 11): each cache took a block of serials and counted on past its
// end into the next cache's block, so two live containers of one size could share an
// id.
#include <gtest/gtest.h>

#include <set>
#include <thread>
#include <vector>

#include "memkit.h"

TEST(SerialBlocks, IdsStayDistinctAcrossCachesAndBlocks) {
    MemoryPool pool;
    ASSERT_TRUE(mem_pool_init(&pool, 16));
    std::vector<MemoryPointer*> live;
    auto allocate = [&](int count) {
        for (int i = 0; i < count; i++) {
            MemoryPointer* p = mem_pointer_create("p", 64);
            ASSERT_TRUE(mem_pointer_allocate(p, 64, &pool));
            live.push_back(p);
        }
    };
    allocate(1);  // this thread's cache takes the first block
    if (MEM_THREAD_SAFE) {
        std::thread([&] { allocate(1); }).join();  // another cache takes the next one
    }
    allocate(40);  // this thread runs through its block and beyond
    if (MEM_THREAD_SAFE) {
        std::thread([&] { allocate(40); }).join();
    }
    std::set<uint64_t> ids;
    for (MemoryPointer* p : live) EXPECT_TRUE(ids.insert(mem_pointer_id(p)).second) << "id repeated";
    EXPECT_EQ(live.size(), ids.size());
    for (MemoryPointer* p : live) EXPECT_TRUE(mem_pointer_destroy(p, &pool));
    mem_pool_destroy(&pool);
}
