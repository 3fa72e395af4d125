// RCU-protected copy-on-write: readers never see a torn, mixed or wiped buffer, and
// the versions they see never go backwards; publish's error paths.
#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
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

// Regression: an unlock without a matching lock left liburcu's read-side section
// counter below zero (SIGSEGV in urcu_bp_read_unlock on a thread that had never
// locked). It is now refused with MEM_ERR_NOT_IN_READ_SECTION, and a later lock and
// unlock still work.
TEST(Rcu, UnlockWithoutALockIsRefused) {
    MemoryPool pool;
    ASSERT_TRUE(mem_pool_init(&pool, 4));
    MemoryPointer* p = mem_pointer_create("p", 4);
    ASSERT_TRUE(mem_pointer_publish(p, "abc", 4, &pool));
    memkit_test::LogCapture log;
    std::thread([&] {  // a thread that never entered a section
        mem_clear_error();
        mem_pointer_read_unlock(p);
        EXPECT_EQ(MEM_ERR_NOT_IN_READ_SECTION, mem_last_error());
    }).join();
    EXPECT_TRUE(log.Contains("mem_pointer_read_unlock without a matching mem_pointer_read_lock"));
    size_t size = 0;
    ASSERT_NE(nullptr, mem_pointer_read_lock(p, &size));
    ASSERT_NE(nullptr, mem_pointer_read_lock(p, nullptr));  // sections nest
    mem_pointer_read_unlock(p);
    mem_pointer_read_unlock(p);
    mem_clear_error();
    mem_pointer_read_unlock(p);  // one more than taken
    EXPECT_EQ(MEM_ERR_NOT_IN_READ_SECTION, mem_last_error());
    mem_rcu_barrier();  // would refuse (MEM_ERR_IN_READ_SECTION) if a section were still open
    EXPECT_EQ(MEM_ERR_NOT_IN_READ_SECTION, mem_last_error());
    EXPECT_STREQ("abc", static_cast<const char*>(mem_pointer_read_lock(p, nullptr)));
    mem_pointer_read_unlock(p);
    EXPECT_TRUE(mem_pointer_destroy(p, &pool));
    mem_pool_destroy(&pool);
}

// A reader that sits in a read-side section of `pointer` on a thread of its own until
// Leave() or 5 s. Leave() is false when the reader had to give up (or never got in);
// a test that stops early (a failed ASSERT) lets it go on the way out.
class ParkedReader {
public:
    explicit ParkedReader(const MemoryPointer* pointer)
        : thread_([this, pointer] {
              const void* data = mem_pointer_read_lock(pointer, nullptr);
              std::unique_lock<std::mutex> lock(mutex_);
              started_ = true;
              inside_ = data != nullptr;
              changed_.notify_all();
              timed_out_ = !changed_.wait_for(lock, std::chrono::seconds(5), [this] { return leave_; });
              lock.unlock();
              if (data != nullptr) mem_pointer_read_unlock(pointer);
          }) {
        std::unique_lock<std::mutex> lock(mutex_);
        changed_.wait(lock, [this] { return started_; });
    }
    ~ParkedReader() {
        if (thread_.joinable()) Leave();
    }
    bool Leave() {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            leave_ = true;
        }
        changed_.notify_all();
        thread_.join();
        return inside_ && !timed_out_;
    }

private:
    std::mutex mutex_;
    std::condition_variable changed_;
    bool started_ = false, inside_ = false, leave_ = false, timed_out_ = false;
    std::thread thread_;  // last: it starts once the members above are ready
};

// A published pointer at "v2" whose replaced version was released by liburcu's
// worker (so the worker runs). Not in the single-threaded build: no grace periods.
class RcuPublished : public ::testing::Test {
protected:
    void SetUp() override {
        if (!MEM_THREAD_SAFE) GTEST_SKIP() << "single-threaded build: releases run at once, nothing waits";
        ASSERT_TRUE(mem_pool_init(&pool, 4));
        p = mem_pointer_create("config", 4);
        ASSERT_TRUE(mem_pointer_publish(p, "v1", 3, &pool));
        ASSERT_TRUE(mem_pointer_publish(p, "v2", 3, &pool));
        mem_rcu_barrier();
    }
    void TearDown() override {
        if (p == nullptr) return;  // skipped
        EXPECT_STREQ("v2", static_cast<const char*>(mem_pointer_read_lock(p, nullptr)));
        mem_pointer_read_unlock(p);
        mem_rcu_barrier();  // works (in the forking tests: the parent is unaffected)
        EXPECT_TRUE(mem_pointer_destroy(p, &pool));
        mem_pool_destroy(&pool);
    }
    MemoryPool pool;
    MemoryPointer* p = nullptr;
};

// Waiting for deferred releases inside a read-side section would wait for the caller
// itself: refused, and the pool is left as it was.
TEST_F(RcuPublished, WaitingInsideAReadSectionIsRefused) {
    memkit_test::LogCapture log;
    ASSERT_NE(nullptr, mem_pointer_read_lock(p, nullptr));
    mem_clear_error();
    mem_rcu_barrier();
    EXPECT_EQ(MEM_ERR_IN_READ_SECTION, mem_last_error());
    mem_clear_error();
    mem_pool_destroy(&pool);
    EXPECT_EQ(MEM_ERR_IN_READ_SECTION, mem_last_error());
    EXPECT_TRUE(mem_pool_validate(&pool)) << "the pool was destroyed anyway";
    mem_pointer_read_unlock(p);
    EXPECT_TRUE(log.Contains("inside a read-side section would never end"));
}

// The same, for tests that fork.
class RcuFork : public RcuPublished {
protected:
    void SetUp() override {
#ifdef MEMKIT_TEST_TSAN
        GTEST_SKIP() << "ThreadSanitizer stops a child of a threaded process that starts a thread (liburcu's worker)";
#endif
        RcuPublished::SetUp();
    }
};

// Regression: liburcu-bp leaves fork to its user, and nothing called its fork
// functions. A forked child inherited the call_rcu worker's queue without the worker,
// so its first wait for deferred releases (mem_rcu_barrier here; mem_pool_destroy of a
// pool that published) never ended, and the reader slot of a thread that sat in a
// read-side section at the fork would have held every grace period of the child.
TEST_F(RcuFork, AForkedChildPublishesAndWaitsForReleases) {
    ParkedReader reader(p);  // inside a read-side section across every fork below
    memkit_test::ExpectForkedChildrenSucceed(3, [&] {
        bool ok = mem_pointer_publish(p, "v3", 3, &pool);  // v2 released after a grace period
        mem_rcu_barrier();
        const char* data = static_cast<const char*>(mem_pointer_read_lock(p, nullptr));
        ok = ok && data != nullptr && strcmp(data, "v3") == 0;
        mem_pointer_read_unlock(p);
        ok = ok && mem_pointer_destroy(p, &pool);
        mem_pool_destroy(&pool);  // waits for the release of v3
        return ok;
    });
    EXPECT_TRUE(reader.Leave()) << "the reader was not inside its section across the forks";
}

// A thread that forks inside its own read-side section cannot pause liburcu's worker
// (it may be waiting for that section), so its child has no worker: waiting for
// releases there is refused, not endless.
TEST_F(RcuFork, AChildForkedInsideAReadSectionRefusesToWait) {
    ASSERT_NE(nullptr, mem_pointer_read_lock(p, nullptr));
    memkit_test::LogCapture log;
    memkit_test::ExpectForkedChildrenSucceed(1, [&] {
        mem_pointer_read_unlock(p);
        bool ok = mem_pointer_publish(p, "v3", 3, &pool);  // v2's release is queued, never run
        mem_clear_error();
        mem_rcu_barrier();
        ok = ok && mem_last_error() == MEM_ERR_IN_READ_SECTION;
        mem_clear_error();
        mem_pool_destroy(&pool);
        ok = ok && mem_last_error() == MEM_ERR_IN_READ_SECTION && mem_pool_validate(&pool);
        return ok && log.Contains("forked inside a read-side section");
    });
    mem_pointer_read_unlock(p);
}

// Regression (issue 11): releases deferred by publish ran on liburcu's call_rcu thread,
// which got per-pool caches that were never used again, so every replaced version
// stranded there and the publisher kept making new containers.
TEST(Rcu, DeferredReleasesComeBackToThePublisher) {
    MemoryPool pool;
    ASSERT_TRUE(mem_pool_init(&pool, 16));
    MemoryPointer* config = mem_pointer_create("config", 0);
    std::vector<unsigned char> version(200 * 1024);  // a container a thread would cache
    for (int n = 1; n <= 100; n++) {
        memset(version.data(), n, version.size());
        ASSERT_TRUE(mem_pointer_publish(config, version.data(), version.size(), &pool));
        mem_rcu_barrier();  // the replaced version is released
    }
    MemPoolStats s;
    ASSERT_TRUE(mem_pool_stats(&pool, &s));
    EXPECT_EQ(1u, s.live_containers);
    EXPECT_LE(s.live_containers + s.orphaned_containers, 4u) << "replaced versions were not reused";
    EXPECT_TRUE(mem_pointer_destroy(config, &pool));
    mem_pool_destroy(&pool);
}

// Regression: mem_pool_destroy of a pool that had ever published waited for every
// release deferred in the process (liburcu's rcu_barrier), even when all of its own
// had run: at least 10 ms each time (liburcu's worker sleeps before each batch), and
// as long as any thread sat in a read-side section of any pool. It waits now only while
// releases of its own are pending, and then it still waits for them; mem_rcu_barrier
// only while any release is pending.
TEST(Rcu, DestroyingAPoolWaitsOnlyForItsOwnPendingReleases) {
    if (!MEM_THREAD_SAFE) GTEST_SKIP() << "no grace periods in the single-threaded build";
    MemoryPool other;
    ASSERT_TRUE(mem_pool_init(&other, 4));
    MemoryPointer* held = mem_pointer_create("held", 8);
    ASSERT_TRUE(mem_pointer_publish(held, "other", 6, &other));
    MemoryPool pool;
    ASSERT_TRUE(mem_pool_init(&pool, 4));
    MemoryPointer* p = mem_pointer_create("config", 8);
    ASSERT_TRUE(mem_pointer_publish(p, "v1", 3, &pool));
    ASSERT_TRUE(mem_pointer_publish(p, "v2", 3, &pool));
    ASSERT_TRUE(mem_pointer_destroy(p, &pool));
    mem_rcu_barrier();  // every release of `pool` has run
    {
        ParkedReader reader(held);  // inside a section of another pool's pointer
        mem_clear_error();
        mem_pool_destroy(&pool);
        EXPECT_EQ(MEM_OK, mem_last_error());
        EXPECT_FALSE(mem_pool_validate(&pool)) << "the pool was not destroyed";
        EXPECT_TRUE(reader.Leave()) << "mem_pool_destroy waited for a reader of another pool";
    }
    {
        ParkedReader reader(held);  // nothing pending anywhere: the barrier does not wait either
        mem_clear_error();
        mem_rcu_barrier();
        EXPECT_EQ(MEM_OK, mem_last_error());
        EXPECT_TRUE(reader.Leave()) << "mem_rcu_barrier waited with no release pending";
    }
    // A release still pending: the destroy waits for it, so for the reader's section.
    ASSERT_TRUE(mem_pool_init(&pool, 4));
    p = mem_pointer_create("config", 8);
    ASSERT_TRUE(mem_pointer_publish(p, "v1", 3, &pool));
    ParkedReader reader(held);
    ASSERT_TRUE(mem_pointer_publish(p, "v2", 3, &pool));  // v1's release waits for the reader
    ASSERT_TRUE(mem_pointer_destroy(p, &pool));
    std::atomic<bool> destroyed{false};
    std::thread destroyer([&] {
        mem_pool_destroy(&pool);
        destroyed = true;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_FALSE(destroyed) << "mem_pool_destroy did not wait for the pool's pending releases";
    EXPECT_TRUE(reader.Leave());
    destroyer.join();
    EXPECT_TRUE(destroyed);
    EXPECT_TRUE(mem_pointer_destroy(held, &other));
    mem_pool_destroy(&other);
}

// mem_pool_destroy against liburcu's worker running the pool's last releases: the
// destroy skips the barrier only once the count is 0, which each callback writes as
// its last touch of the pool. Destroys land before, during and after the worker's
// batches (a sleep of 0-12.6 ms against its 10 ms sleep): AddressSanitizer reports a
// callback that touches the pool after a destroy it let through, ThreadSanitizer one
// not ordered before the destroy. A callback's own work is about a microsecond, so a
// count dropped a little early is caught only by luck; one never counted fails the
// test above.
TEST(Rcu, DestroyingAPoolRacesItsLastReleases) {
    if (!MEM_THREAD_SAFE) GTEST_SKIP() << "no grace periods in the single-threaded build";
    for (int round = 0; round < 120; round++) {
        MemoryPool pool;
        ASSERT_TRUE(mem_pool_init(&pool, 4));
        MemoryPointer* p = mem_pointer_create("config", 8);
        for (int version = 0; version <= round % 3; version++) {
            ASSERT_TRUE(mem_pointer_publish(p, "version", 8, &pool));
        }
        ASSERT_TRUE(mem_pointer_destroy(p, &pool));
        std::this_thread::sleep_for(std::chrono::microseconds(round % 13 * 1000 + round % 7 * 100));
        mem_clear_error();
        mem_pool_destroy(&pool);
        ASSERT_EQ(MEM_OK, mem_last_error()) << "round " << round;
        ASSERT_FALSE(mem_pool_validate(&pool));
    }
}

// Regression (issue 12): when the record that defers a release could not be allocated,
// publish fell back to waiting for a grace period, which never ends inside the
// caller's own read-side section: it hung. It must never wait on its caller.
TEST(Rcu, PublishInsideAReadSectionNeverWaitsOnItself) {
    if (!MEM_THREAD_SAFE) GTEST_SKIP() << "no grace periods in the single-threaded build";
    MemoryPool pool;
    ASSERT_TRUE(mem_pool_init(&pool, 16));
    MemoryPointer* p = mem_pointer_create("config", 8);
    ASSERT_TRUE(mem_pointer_publish(p, "v1-data", 8, &pool));
    MemoryPointer* spare = mem_pointer_create("spare", 8);  // a container of the size is cached
    ASSERT_TRUE(mem_pointer_allocate(spare, 8, &pool));
    ASSERT_TRUE(mem_pointer_destroy(spare, &pool));
    std::atomic<bool> finished{false};
    std::thread watchdog([&] {
        for (int i = 0; i < 5000 && !finished; i++) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        if (!finished) {
            fprintf(stderr, "publish inside a read-side section hung\n");
            _exit(1);
        }
    });
    ASSERT_NE(nullptr, mem_pointer_read_lock(p, nullptr));
    memkit_test::CountingAllocator counting;
    counting.fail_every = 1;  // the deferral record cannot be allocated
    counting.Install();
    bool published = mem_pointer_publish(p, "v2-data", 8, &pool);
    MemError error = mem_last_error();
    memkit_test::CountingAllocator::Uninstall();
    mem_pointer_read_unlock(p);
    finished = true;
    watchdog.join();
    if (!published) EXPECT_EQ(MEM_ERR_OUT_OF_MEMORY, error);
    EXPECT_STREQ(published ? "v2-data" : "v1-data", static_cast<const char*>(mem_pointer_data(p)));
    EXPECT_TRUE(mem_pointer_destroy(p, &pool));
    mem_pool_destroy(&pool);
}

// Regression (issue 12): the first publish set the pointer's pool and flags with plain
// stores while shares on other threads read them, so a share racing it could take its
// reference outside a read-side section (ThreadSanitizer reports the race).
TEST(Rcu, SharesRacingTheFirstPublishAreSafe) {
    if (!MEM_THREAD_SAFE) GTEST_SKIP() << "single-threaded build";
    MemoryPool pool;
    ASSERT_TRUE(mem_pool_init(&pool, 16));
    for (int round = 0; round < 50; round++) {
        MemoryPointer* p = mem_pointer_create("config", 8);
        ASSERT_TRUE(mem_pointer_allocate(p, 8, &pool));  // allocated before its first publish
        memcpy(mem_pointer_write(p, &pool), "v0-data", 8);
        std::atomic<bool> go{false};
        std::vector<std::thread> sharers;
        std::atomic<int> snapshots{0};
        for (int t = 0; t < 2; t++) {
            sharers.emplace_back([&] {
                while (!go) {
                }
                for (int i = 0; i < 2000; i++) {
                    MemoryPointer* s = mem_pointer_share(p, "snapshot");
                    ASSERT_NE(nullptr, s);
                    const char* data = static_cast<const char*>(mem_pointer_data(s));
                    EXPECT_TRUE(data != nullptr && data[0] == 'v');
                    EXPECT_TRUE(mem_pointer_destroy(s, &pool));
                    snapshots++;
                }
            });
        }
        go = true;
        ASSERT_TRUE(mem_pointer_publish(p, "v1-data", 8, &pool));
        ASSERT_TRUE(mem_pointer_publish(p, "v2-data", 8, &pool));
        for (auto& t : sharers) t.join();
        EXPECT_TRUE(mem_pointer_destroy(p, &pool));
    }
    mem_rcu_barrier();
    MemPoolStats s;
    ASSERT_TRUE(mem_pool_stats(&pool, &s));
    EXPECT_EQ(0u, s.live_containers);
    mem_pool_destroy(&pool);
}
