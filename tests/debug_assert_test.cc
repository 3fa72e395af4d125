// The debug build's assertions (DEBUG_MEMORY_MANAGER=1, `--config=debug`) stop the
// process at a broken invariant of the hot paths. Each test breaks one through the
// public structs' private fields, which nothing but a bug or a stray write changes,
// and expects the stop; other builds skip them (they answer such damage later, in
// mem_pool_validate). The bins' bitmap check has no test here: a test cannot reach
// the bins, and every release of a large container in the suite runs it.
#include <gtest/gtest.h>

#include "memkit.h"
#include "test_support.h"

namespace {

#if defined(DEBUG_MEMORY_MANAGER) && DEBUG_MEMORY_MANAGER
constexpr bool kDebugBuild = true;
#else
constexpr bool kDebugBuild = false;
#endif

MemoryPointer* Allocated(MemoryPool* pool, size_t size) {
    MemoryPointer* p = mem_pointer_create("checked", size);
    if (p == nullptr || !mem_pointer_allocate(p, size, pool)) std::abort();
    return p;
}

// A handle whose reference nobody counts any more: its destroy drops below zero.
void DropBelowZero() {
    MemoryPool pool;
    mem_pool_init(&pool, 8);
    MemoryPointer* p = Allocated(&pool, 64);
    p->container->refcount = 0;
    mem_pointer_destroy(p, &pool);
}

// An orphan with a byte its wipe should have cleared: the next allocation revives it.
void ReviveUnwiped() {
    MemoryPool pool;
    mem_pool_init(&pool, 8);
    MemoryPointer* p = Allocated(&pool, 64);
    unsigned char* data = p->container->data;
    mem_pointer_destroy(p, &pool);
    const unsigned char stray = 0x5A;
    memkit_test::PokeReleased(data + 40, &stray, 1);
    Allocated(&pool, 64);  // the same block: free lists hand out the last one released
}

// An orphan that claims a reference: taking it from its free list stops.
void TakeCountedOrphan() {
    MemoryPool pool;
    mem_pool_init(&pool, 8);
    MemoryPointer* p = Allocated(&pool, 64);
    MemoryContainer* c = p->container;
    mem_pointer_destroy(p, &pool);
    const uint32_t one = 1;
    memkit_test::PokeReleased(&c->refcount, &one, sizeof one);
    Allocated(&pool, 64);
}

class DebugAssertions : public ::testing::Test {
  protected:
    void SetUp() override {
        if (!kDebugBuild) GTEST_SKIP() << "assertions are compiled in the debug build only";
        GTEST_FLAG_SET(death_test_style, "threadsafe");
    }
};

TEST_F(DebugAssertions, AReferenceDroppedBelowZeroStops) { EXPECT_DEATH(DropBelowZero(), "dropped below zero"); }

TEST_F(DebugAssertions, ReviveOfABlockThatIsNotWipedStops) { EXPECT_DEATH(ReviveUnwiped(), "mem__reads_zero"); }

TEST_F(DebugAssertions, AFreeBlockThatCountsAReferenceStops) { EXPECT_DEATH(TakeCountedOrphan(), "refcount"); }

}  // namespace
