// RCU-protected copy-on-write: readers never see a torn, mixed or wiped buffer, and
// the versions they see never go backwards; publish's error paths.
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include "memkit.h"
#include "test_support.h"

namespace {

constexpr size_t kPayload = 1024;

struct Version {
    uint64_t number;
    uint64_t checksum;
    unsigned char bytes[kPayload];
};

Version Make(uint64_t number) {
    Version v;
    v.number = number;
    memset(v.bytes, static_cast<int>(number % 251), kPayload);
    v.checksum = 0;
    for (unsigned char b : v.bytes) v.checksum = v.checksum * 31 + b;
    v.checksum ^= number;
    return v;
}

bool Intact(const Version* v) {
    Version expected = Make(v->number);
    return v->checksum == expected.checksum && memcmp(v->bytes, expected.bytes, kPayload) == 0;
}

}  // namespace

TEST(Rcu, ReadersSeeWholeVersionsInOrder) {
    MemoryPool pool;
    ASSERT_TRUE(mem_pool_init(&pool, 16));
    MemoryPointer* config = mem_pointer_create("config", sizeof(Version));
    Version first = Make(1);
    ASSERT_TRUE(mem_pointer_publish(config, &first, sizeof first, &pool));
    const uint64_t versions = MEM_THREAD_SAFE ? 10000 : 2000;
    std::atomic<bool> done{false};
    std::atomic<long> bad{0}, backwards{0}, reads{0};
    auto reader = [&] {
        uint64_t last = 0;
        while (!done.load(std::memory_order_acquire)) {
            size_t size = 0;
            const Version* v = static_cast<const Version*>(mem_pointer_read_lock(config, &size));
            if (v == nullptr || size != sizeof(Version) || !Intact(v)) bad++;
            else if (v->number < last) backwards++;
            else last = v->number;
            mem_pointer_read_unlock(config);
            reads++;
        }
    };
    std::vector<std::thread> readers;
    if (MEM_THREAD_SAFE)
        for (int r = 0; r < 6; r++) readers.emplace_back(reader);
    for (uint64_t n = 2; n <= versions; n++) {
        Version v = Make(n);
        ASSERT_TRUE(mem_pointer_publish(config, &v, sizeof v, &pool));
    }
    done = true;
    for (auto& t : readers) t.join();
    if (!MEM_THREAD_SAFE) reader();
    EXPECT_EQ(0, bad.load());
    EXPECT_EQ(0, backwards.load());
    size_t size = 0;
    const Version* last = static_cast<const Version*>(mem_pointer_read_lock(config, &size));
    ASSERT_NE(nullptr, last);
    EXPECT_EQ(versions, last->number);
    mem_pointer_read_unlock(config);
    EXPECT_TRUE(mem_pointer_destroy(config, &pool));
    mem_rcu_barrier();
    MemPoolStats s;
    ASSERT_TRUE(mem_pool_stats(&pool, &s));
    EXPECT_EQ(0u, s.live_containers);  // every replaced version was released
    EXPECT_TRUE(mem_pool_validate(&pool));
    mem_pool_destroy(&pool);
}

TEST(Rcu, PublishedPointersRejectInPlaceWritesAndShareSafely) {
    MemoryPool pool;
    ASSERT_TRUE(mem_pool_init(&pool, 16));
    MemoryPointer* p = mem_pointer_create("routes", 8);
    ASSERT_TRUE(mem_pointer_publish(p, "v1-data", 8, &pool));
    EXPECT_EQ(nullptr, mem_pointer_write(p, &pool));
    EXPECT_EQ(MEM_ERR_PUBLISHED, mem_last_error());
    MemoryPointer* snapshot = mem_pointer_share(p, "snapshot");
    ASSERT_NE(nullptr, snapshot);
    ASSERT_TRUE(mem_pointer_publish(p, "v2-data", 8, &pool));
    mem_rcu_barrier();
    EXPECT_STREQ("v1-data", static_cast<const char*>(mem_pointer_data(snapshot)));  // kept alive by its share
    EXPECT_STREQ("v2-data", static_cast<const char*>(mem_pointer_data(p)));
    EXPECT_TRUE(mem_pointer_destroy(snapshot, &pool));
    EXPECT_TRUE(mem_pointer_destroy(p, &pool));
    mem_pool_destroy(&pool);  // waits for the deferred release
}

TEST(Rcu, ErrorsAreDefined) {
    MemoryPool pool, other;
    ASSERT_TRUE(mem_pool_init(&pool, 4));
    ASSERT_TRUE(mem_pool_init(&other, 4));
    MemoryPointer* p = mem_pointer_create("p", 4);
    EXPECT_EQ(nullptr, mem_pointer_read_lock(p, nullptr));
    EXPECT_EQ(MEM_ERR_NOT_ALLOCATED, mem_last_error());
    EXPECT_EQ(nullptr, mem_pointer_read_lock(nullptr, nullptr));
    EXPECT_EQ(MEM_ERR_NULL_ARGUMENT, mem_last_error());
    EXPECT_FALSE(mem_pointer_publish(p, nullptr, 4, &pool));
    EXPECT_EQ(MEM_ERR_NULL_ARGUMENT, mem_last_error());
    EXPECT_FALSE(mem_pointer_publish(p, "abc", 0, &pool));
    EXPECT_EQ(MEM_ERR_ZERO_SIZE, mem_last_error());
    EXPECT_FALSE(mem_pointer_publish(p, "abc", SIZE_MAX, &pool));
    EXPECT_EQ(MEM_ERR_SIZE_OVERFLOW, mem_last_error());
    EXPECT_FALSE(mem_pointer_publish(p, "abc", 4, nullptr));
    EXPECT_EQ(MEM_ERR_NULL_ARGUMENT, mem_last_error());
    ASSERT_TRUE(mem_pointer_publish(p, "abc", 4, &pool));
    EXPECT_FALSE(mem_pointer_publish(p, "xyz", 4, &other));
    EXPECT_EQ(MEM_ERR_WRONG_POOL, mem_last_error());
    EXPECT_TRUE(mem_pointer_destroy(p, &pool));
    EXPECT_FALSE(mem_pointer_publish(p, "abc", 4, &pool));
    EXPECT_EQ(MEM_ERR_INVALID_POINTER, mem_last_error());
    mem_pool_destroy(&other);
    mem_pool_destroy(&pool);
}
