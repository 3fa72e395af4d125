// MemoryPointer: every function's success and error paths, copy-on-write,
// destroyed-handle detection, deterministic ids within a process.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "memkit.h"
#include "test_support.h"

class PointerTest : public testing::Test {
  protected:
    void SetUp() override { ASSERT_TRUE(mem_pool_init(&pool, 8)); }
    void TearDown() override {
        EXPECT_TRUE(mem_pool_validate(&pool));
        MemPoolStats s;
        ASSERT_TRUE(mem_pool_stats(&pool, &s));
        EXPECT_EQ(0u, s.live_containers) << "a test leaked a container";
        mem_pool_destroy(&pool);
    }
    MemoryPointer* Allocated(size_t size, const char* name = "p") {
        MemoryPointer* p = mem_pointer_create(name, size);
        EXPECT_NE(nullptr, p);
        EXPECT_TRUE(mem_pointer_allocate(p, size, &pool));
        return p;
    }
    MemoryPool pool;
};

TEST_F(PointerTest, CreateKeepsATruncatedNameAndRejectsBadArguments) {
    MemoryPointer* p = mem_pointer_create("request_buffer", 128);
    ASSERT_NE(nullptr, p);
    EXPECT_STREQ("request_buffer", p->name);
    EXPECT_EQ(nullptr, p->container);
    EXPECT_TRUE(mem_pointer_destroy(p, &pool));
    std::string long_name(100, 'x');
    MemoryPointer* q = mem_pointer_create(long_name.c_str(), 0);
    ASSERT_NE(nullptr, q);
    EXPECT_EQ(static_cast<size_t>(MEM_POINTER_NAME_MAX - 1), strlen(q->name));
    EXPECT_TRUE(mem_pointer_destroy(q, nullptr));
    EXPECT_EQ(nullptr, mem_pointer_create(nullptr, 8));
    EXPECT_EQ(MEM_ERR_NULL_ARGUMENT, mem_last_error());
    EXPECT_EQ(nullptr, mem_pointer_create("huge", SIZE_MAX));
    EXPECT_EQ(MEM_ERR_SIZE_OVERFLOW, mem_last_error());
}

TEST_F(PointerTest, AllocateGivesAnAlignedContainerOfTheSize) {
    MemoryPointer* p = Allocated(1024);
    ASSERT_NE(nullptr, p->container);
    EXPECT_EQ(1024u, p->container->size);
    EXPECT_EQ(1024u, mem_pointer_size(p));
    EXPECT_EQ(1u, mem_pointer_refcount(p));
    EXPECT_EQ(0u, reinterpret_cast<uintptr_t>(p->container->data) % MEM_ALIGNMENT);
    EXPECT_EQ(p->container->data, mem_pointer_data(p));
    EXPECT_NE(0u, mem_pointer_id(p));
    EXPECT_TRUE(mem_pointer_destroy(p, &pool));
}

TEST_F(PointerTest, AllocateRejectsEachBadArgument) {
    MemoryPointer* p = mem_pointer_create("p", 8);
    EXPECT_FALSE(mem_pointer_allocate(nullptr, 8, &pool));
    EXPECT_EQ(MEM_ERR_NULL_ARGUMENT, mem_last_error());
    EXPECT_FALSE(mem_pointer_allocate(p, 8, nullptr));
    EXPECT_EQ(MEM_ERR_NULL_ARGUMENT, mem_last_error());
    EXPECT_FALSE(mem_pointer_allocate(p, 0, &pool));
    EXPECT_EQ(MEM_ERR_ZERO_SIZE, mem_last_error());
    EXPECT_FALSE(mem_pointer_allocate(p, SIZE_MAX, &pool));
    EXPECT_EQ(MEM_ERR_SIZE_OVERFLOW, mem_last_error());
    EXPECT_FALSE(mem_pointer_allocate(p, MEM_MAX_ALLOCATION + 1, &pool));
    EXPECT_EQ(MEM_ERR_SIZE_OVERFLOW, mem_last_error());
    MemoryPool never_initialized;
    memset(&never_initialized, 0, sizeof never_initialized);
    EXPECT_FALSE(mem_pointer_allocate(p, 8, &never_initialized));
    EXPECT_EQ(MEM_ERR_INVALID_POOL, mem_last_error());
    ASSERT_TRUE(mem_pointer_allocate(p, 8, &pool));
    EXPECT_FALSE(mem_pointer_allocate(p, 8, &pool));
    EXPECT_EQ(MEM_ERR_ALREADY_ALLOCATED, mem_last_error());
    EXPECT_EQ(8u, mem_pointer_size(p));  // unchanged by the refused call
    EXPECT_TRUE(mem_pointer_destroy(p, &pool));
}

TEST_F(PointerTest, AllocationBeyondMemoryFailsCleanly) {
    MemoryPointer* p = mem_pointer_create("p", 0);
    memkit_test::CountingAllocator counting;
    counting.fail_every = 1;
    counting.Install();
    EXPECT_FALSE(mem_pointer_allocate(p, 4096, &pool));
    memkit_test::CountingAllocator::Uninstall();
    EXPECT_EQ(MEM_ERR_OUT_OF_MEMORY, mem_last_error());
    EXPECT_EQ(nullptr, p->container);
    EXPECT_TRUE(mem_pointer_destroy(p, &pool));
}

TEST_F(PointerTest, DoubleDestroyAndUseAfterDestroyAreDetected) {
    memkit_test::LogCapture log;
    MemoryPointer* p = Allocated(32, "victim");
    ASSERT_TRUE(mem_pointer_destroy(p, &pool));
    EXPECT_FALSE(mem_pointer_destroy(p, &pool));
    EXPECT_EQ(MEM_ERR_INVALID_POINTER, mem_last_error());
    EXPECT_TRUE(log.Contains("\"victim\") used after destroy"));
    EXPECT_EQ(nullptr, mem_pointer_data(p));
    EXPECT_EQ(MEM_ERR_INVALID_POINTER, mem_last_error());
    EXPECT_EQ(0u, mem_pointer_size(p));
    EXPECT_EQ(0u, mem_pointer_refcount(p));
    EXPECT_EQ(0u, mem_pointer_id(p));
    EXPECT_EQ(nullptr, mem_pointer_write(p, &pool));
    EXPECT_EQ(nullptr, mem_pointer_share(p, "late"));
    EXPECT_FALSE(mem_pointer_allocate(p, 8, &pool));
    EXPECT_EQ(MEM_ERR_INVALID_POINTER, mem_last_error());
    MemoryPointer not_a_handle;
    memset(&not_a_handle, 0, sizeof not_a_handle);
    EXPECT_FALSE(mem_pointer_destroy(&not_a_handle, &pool));
    EXPECT_EQ(MEM_ERR_INVALID_POINTER, mem_last_error());
    EXPECT_FALSE(mem_pointer_destroy(nullptr, &pool));
    EXPECT_EQ(MEM_ERR_NULL_ARGUMENT, mem_last_error());
}

TEST_F(PointerTest, APointerFromAnotherPoolIsRefused) {
    MemoryPool other;
    ASSERT_TRUE(mem_pool_init(&other, 4));
    MemoryPointer* p = Allocated(64);
    EXPECT_FALSE(mem_pointer_destroy(p, &other));
    EXPECT_EQ(MEM_ERR_WRONG_POOL, mem_last_error());
    EXPECT_EQ(nullptr, mem_pointer_write(p, &other));
    EXPECT_EQ(MEM_ERR_WRONG_POOL, mem_last_error());
    EXPECT_FALSE(mem_pointer_destroy(p, nullptr));
    EXPECT_EQ(MEM_ERR_NULL_ARGUMENT, mem_last_error());
    EXPECT_EQ(1u, mem_pointer_refcount(p));  // nothing happened
    EXPECT_TRUE(mem_pointer_destroy(p, &pool));
    EXPECT_TRUE(mem_pool_validate(&other));
    mem_pool_destroy(&other);
}

TEST_F(PointerTest, ShareAddsAHandleToTheSameContainer) {
    MemoryPointer* a = Allocated(256, "a");
    MemoryPointer* b = mem_pointer_share(a, "b");
    ASSERT_NE(nullptr, b);
    EXPECT_STREQ("b", b->name);
    EXPECT_EQ(a->container, b->container);
    EXPECT_EQ(2u, mem_pointer_refcount(a));
    EXPECT_TRUE(mem_pointer_destroy(a, &pool));
    EXPECT_EQ(1u, mem_pointer_refcount(b));
    MemPoolStats s;
    ASSERT_TRUE(mem_pool_stats(&pool, &s));
    EXPECT_EQ(1u, s.live_containers);
    EXPECT_TRUE(mem_pointer_destroy(b, &pool));
}

TEST_F(PointerTest, ShareRejectsBadArguments) {
    MemoryPointer* empty = mem_pointer_create("empty", 0);
    EXPECT_EQ(nullptr, mem_pointer_share(empty, "x"));
    EXPECT_EQ(MEM_ERR_NOT_ALLOCATED, mem_last_error());
    MemoryPointer* a = Allocated(8);
    EXPECT_EQ(nullptr, mem_pointer_share(a, nullptr));
    EXPECT_EQ(MEM_ERR_NULL_ARGUMENT, mem_last_error());
    EXPECT_EQ(nullptr, mem_pointer_share(nullptr, "x"));
    EXPECT_EQ(MEM_ERR_NULL_ARGUMENT, mem_last_error());
    // The refcount refuses to pass its maximum instead of wrapping.
    uint32_t saved = a->container->refcount;
    a->container->refcount = UINT32_MAX / 2;
    EXPECT_EQ(nullptr, mem_pointer_share(a, "one too many"));
    EXPECT_EQ(MEM_ERR_REFCOUNT_OVERFLOW, mem_last_error());
    EXPECT_EQ(UINT32_MAX / 2, a->container->refcount);
    a->container->refcount = saved;
    EXPECT_TRUE(mem_pointer_destroy(a, &pool));
    EXPECT_TRUE(mem_pointer_destroy(empty, &pool));
}

TEST_F(PointerTest, WriteOnASharedContainerCopiesFirst) {
    MemoryPointer* a = Allocated(64, "a");
    char* data = static_cast<char*>(mem_pointer_write(a, &pool));
    strcpy(data, "original");
    MemoryPointer* b = mem_pointer_share(a, "b");
    MemoryContainer* shared = a->container;
    char* writable = static_cast<char*>(mem_pointer_write(b, &pool));
    ASSERT_NE(nullptr, writable);
    EXPECT_NE(shared, b->container);              // b got its own copy
    EXPECT_STREQ("original", writable);           // with the old bytes
    strcpy(writable, "changed");
    EXPECT_STREQ("original", static_cast<const char*>(mem_pointer_data(a)));  // a unaffected
    EXPECT_EQ(1u, mem_pointer_refcount(a));
    EXPECT_EQ(1u, mem_pointer_refcount(b));
    EXPECT_EQ(64u, mem_pointer_size(b));
    EXPECT_TRUE(mem_pointer_destroy(a, &pool));
    EXPECT_TRUE(mem_pointer_destroy(b, &pool));
}

TEST_F(PointerTest, WriteOnAnUnsharedContainerCopiesNothing) {
    MemoryPointer* a = Allocated(4096);
    MemoryContainer* before = a->container;
    MemPoolStats s0, s1;
    ASSERT_TRUE(mem_pool_stats(&pool, &s0));
    void* data = mem_pointer_write(a, &pool);
    ASSERT_TRUE(mem_pool_stats(&pool, &s1));
    EXPECT_EQ(before->data, data);
    EXPECT_EQ(before, a->container);
    EXPECT_EQ(s0.reuse_hits + s0.reuse_misses + s0.cache_hits, s1.reuse_hits + s1.reuse_misses + s1.cache_hits);
    EXPECT_TRUE(mem_pointer_destroy(a, &pool));
}

TEST_F(PointerTest, WriteRejectsBadArguments) {
    MemoryPointer* empty = mem_pointer_create("empty", 0);
    EXPECT_EQ(nullptr, mem_pointer_write(empty, &pool));
    EXPECT_EQ(MEM_ERR_NOT_ALLOCATED, mem_last_error());
    EXPECT_EQ(nullptr, mem_pointer_write(empty, nullptr));
    EXPECT_EQ(MEM_ERR_NULL_ARGUMENT, mem_last_error());
    EXPECT_EQ(nullptr, mem_pointer_write(nullptr, &pool));
    EXPECT_EQ(MEM_ERR_NULL_ARGUMENT, mem_last_error());
    // A large container: its copy needs a page of its own from the system.
    MemoryPointer* a = Allocated(100 * 1024);
    MemoryPointer* b = mem_pointer_share(a, "b");
    mem_pool_trim(&pool);  // no spare to copy into
    memkit_test::CountingAllocator counting;
    counting.fail_every = 1;
    counting.Install();
    MemoryContainer* shared = b->container;
    void* copy = mem_pointer_write(b, &pool);
    memkit_test::CountingAllocator::Uninstall();
    EXPECT_EQ(nullptr, copy);
    EXPECT_EQ(MEM_ERR_OUT_OF_MEMORY, mem_last_error());
    EXPECT_EQ(shared, b->container);  // unchanged
    EXPECT_EQ(2u, mem_pointer_refcount(a));
    EXPECT_TRUE(mem_pointer_destroy(a, &pool));
    EXPECT_TRUE(mem_pointer_destroy(b, &pool));
    EXPECT_TRUE(mem_pointer_destroy(empty, &pool));
}

TEST_F(PointerTest, AccessorsRejectUnallocatedPointers) {
    MemoryPointer* empty = mem_pointer_create("empty", 0);
    EXPECT_EQ(nullptr, mem_pointer_data(empty));
    EXPECT_EQ(MEM_ERR_NOT_ALLOCATED, mem_last_error());
    EXPECT_EQ(0u, mem_pointer_size(empty));
    EXPECT_EQ(0u, mem_pointer_refcount(empty));
    EXPECT_EQ(0u, mem_pointer_id(empty));
    EXPECT_EQ(nullptr, mem_pointer_data(nullptr));
    EXPECT_EQ(MEM_ERR_NULL_ARGUMENT, mem_last_error());
    EXPECT_TRUE(mem_pointer_destroy(empty, &pool));
}

TEST_F(PointerTest, ReleasedBytesAreWipedBeforeReuse) {
    MemoryPointer* a = Allocated(512);
    memset(mem_pointer_write(a, &pool), 0xEE, 512);
    MemoryContainer* c = a->container;
    ASSERT_TRUE(mem_pointer_destroy(a, &pool));
    unsigned char released[512];
    memkit_test::PeekReleased(c->data, released, sizeof released);
    for (size_t i = 0; i < 512; i++) ASSERT_EQ(0, released[i]) << "byte " << i;
    // The block comes back (at once, or after the page's other blocks in builds that
    // track memory for sanitizers) reading zero.
    std::vector<MemoryPointer*> others;
    MemoryPointer* b = Allocated(512);
    while (b->container != c && others.size() < 100000) {
        others.push_back(b);
        b = Allocated(512);
    }
    ASSERT_EQ(c, b->container);
    for (size_t i = 0; i < 512; i++) ASSERT_EQ(0, b->container->data[i]) << "byte " << i;
    EXPECT_TRUE(mem_pointer_destroy(b, &pool));
    for (MemoryPointer* p : others) EXPECT_TRUE(mem_pointer_destroy(p, &pool));
}

// Every size a destroy wipes differently (short payloads with overlapping 16-byte
// stores, longer ones with memset) reads zero in full once released.
TEST_F(PointerTest, EveryPayloadSizeIsWipedInFull) {
    for (size_t size = 1; size <= 130; size++) {
        MemoryPointer* p = Allocated(size);
        memset(mem_pointer_write(p, &pool), 0xEE, size);
        const unsigned char* data = p->container->data;
        ASSERT_TRUE(mem_pointer_destroy(p, &pool));
        std::vector<unsigned char> released(size);
        memkit_test::PeekReleased(data, released.data(), size);
        for (size_t i = 0; i < size; i++) ASSERT_EQ(0, released[i]) << "size " << size << ", byte " << i;
    }
    EXPECT_TRUE(mem_pool_validate(&pool));  // checks every orphan's bytes
}

TEST_F(PointerTest, IdsAreDistinctAndNotAddresses) {
    MemoryPointer* a = Allocated(64);
    MemoryPointer* b = Allocated(64);
    EXPECT_NE(mem_pointer_id(a), mem_pointer_id(b));
    EXPECT_NE(reinterpret_cast<uint64_t>(a->container), mem_pointer_id(a));
    MemoryPointer* shared = mem_pointer_share(a, "s");
    EXPECT_EQ(mem_pointer_id(a), mem_pointer_id(shared));
    EXPECT_TRUE(mem_pointer_destroy(shared, &pool));
    EXPECT_TRUE(mem_pointer_destroy(a, &pool));
    EXPECT_TRUE(mem_pointer_destroy(b, &pool));
}

// Regression (issue 11): the handle slab kept its free-list link in a destroyed
// handle's first word, the public `container` field, so the seed's
// `p->container->data` after destroy read another handle as a container.
TEST_F(PointerTest, DestroyedHandlesReadNullPublicFields) {
    MemoryPointer* a = Allocated(64, "a");
    MemoryPointer* b = Allocated(64, "b");
    MemoryPointer* c = mem_pointer_create("never allocated", 0);
    ASSERT_TRUE(mem_pointer_destroy(a, &pool));
    ASSERT_TRUE(mem_pointer_destroy(b, &pool));
    ASSERT_TRUE(mem_pointer_destroy(c, &pool));
    for (MemoryPointer* dead : {a, b, c}) {
        EXPECT_EQ(nullptr, memkit_test::ReadDestroyed(&dead->container));
        EXPECT_EQ(nullptr, memkit_test::ReadDestroyed(&dead->pool));
    }
}

// Regression (issue 12): a handle kept working after its pool was destroyed and the
// same struct initialised again; and handles of a destroyed pool could not be
// destroyed at all, so their slots were lost for the life of the process.
TEST(PointerLifetime, AHandleDoesNotOutliveItsPool) {
    MemoryPool pool;
    ASSERT_TRUE(mem_pool_init(&pool, 4));
    MemoryPointer* stale = mem_pointer_create("stale", 64);
    ASSERT_TRUE(mem_pointer_allocate(stale, 64, &pool));
    MemoryPointer* shared = mem_pointer_share(stale, "stale share");
    ASSERT_NE(nullptr, shared);
    mem_pool_destroy(&pool);
    ASSERT_TRUE(mem_pool_init(&pool, 4));  // the same struct, set up again
    EXPECT_EQ(nullptr, mem_pointer_data(stale));
    EXPECT_EQ(MEM_ERR_INVALID_POOL, mem_last_error());
    EXPECT_EQ(0u, mem_pointer_size(stale));
    EXPECT_EQ(nullptr, mem_pointer_write(stale, &pool));
    EXPECT_EQ(MEM_ERR_INVALID_POOL, mem_last_error());
    EXPECT_EQ(nullptr, mem_pointer_share(stale, "late"));
    EXPECT_EQ(MEM_ERR_INVALID_POOL, mem_last_error());
    EXPECT_FALSE(mem_pointer_publish(stale, "x", 1, &pool));
    EXPECT_EQ(MEM_ERR_INVALID_POOL, mem_last_error());
    // Destroying them frees the handles and touches nothing of the new pool.
    EXPECT_TRUE(mem_pointer_destroy(stale, &pool));
    EXPECT_TRUE(mem_pointer_destroy(shared, nullptr));
    MemPoolStats s;
    ASSERT_TRUE(mem_pool_stats(&pool, &s));
    EXPECT_EQ(0u, s.live_containers + s.orphaned_containers);
    EXPECT_TRUE(mem_pool_validate(&pool));
    mem_pool_destroy(&pool);
}

TEST(PointerLifetime, HandlesOfADestroyedPoolCanBeDestroyed) {
    memkit_test::LogCapture quiet;  // each destroy reports its leaked containers
    memkit_test::CountingAllocator counting;
    counting.Install();
    long before = 0;
    for (int round = 0; round < 4; round++) {
        MemoryPool pool;
        ASSERT_TRUE(mem_pool_init(&pool, 4));
        std::vector<MemoryPointer*> handles;
        for (int i = 0; i < 2000; i++) {
            MemoryPointer* p = mem_pointer_create("orphaned handle", 16);
            ASSERT_TRUE(mem_pointer_allocate(p, 16, &pool));
            handles.push_back(p);
        }
        mem_pool_destroy(&pool);
        for (MemoryPointer* p : handles) EXPECT_TRUE(mem_pointer_destroy(p, nullptr));
        // The first rounds fill the thread's handle heap and quarantine; from then on
        // every handle is one destroyed before.
        if (round == 1) before = counting.Outstanding();
    }
    memkit_test::CountingAllocator::Uninstall();
    EXPECT_EQ(before, counting.Outstanding()) << "destroyed handles were not reused";
}
