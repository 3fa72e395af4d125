// The snapshot protocol in both of its modes: with membarrier (the default where the
// kernel has it) and with the atomic fallback that processes without membarrier use
// (old kernels, seccomp filters; MEMKIT_MEMBARRIER=0 forces it). Owner threads share,
// write and destroy their containers and hand some to each other while another thread
// validates, counts and trims in a loop; every snapshot must count exactly what the
// owners hold. The fallback runs in a child process, the only way to start a process
// in that mode; ThreadSanitizer checks both modes' orderings.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "memkit.h"
#include "test_support.h"

namespace {

constexpr int kOwners = 3;
constexpr int kLive = 200;  // containers each owner holds between its steps
constexpr int kRounds = 20000;
constexpr long kOverlap = 16;  // snapshots the owners wait for before they stop

// Prints why it failed and returns false; the traffic runs in a child process too,
// where GoogleTest assertions would not reach the parent.
bool Fail(const char* what) {
    std::fprintf(stderr, "snapshot_barrier_test: %s (%s)\n", what, mem_error_name(mem_last_error()));
    return false;
}

// Owners keep kLive containers each, replacing one per round (a write on a share
// forces a copy); every 64th round one is handed to the next owner, which destroys it.
// They go on past kRounds until kOverlap snapshots ran (a snapshotter the scheduler
// left waiting would otherwise find the traffic over). The snapshotter sees between kOwners * kLive and kOwners * (kLive + 2) live
// containers, and validate finds nothing wrong. True when everything held.
bool RunTrafficWithSnapshots() {
    // Valgrind runs one thread at a time, so every snapshot keeps the owners waiting
    // and spaces the next one out by 39 times its length (freeze.c): there, a tenth of
    // the rounds and three snapshots, all memcheck's findings need.
    const int rounds = RUNNING_ON_VALGRIND ? kRounds / 10 : kRounds;
    const long overlap = RUNNING_ON_VALGRIND ? 3 : kOverlap;
    MemoryPool pool;
    if (!mem_pool_init(&pool, 64)) return Fail("init");
    std::atomic<int> running{kOwners};
    std::atomic<long> snapshots{0};
    std::atomic<bool> ok{true};
    std::atomic<MemoryPointer*> mailbox[kOwners] = {};
    std::vector<std::thread> owners;
    for (int t = 0; t < kOwners; t++) {
        owners.emplace_back([&, t] {
            std::vector<MemoryPointer*> mine;
            for (int i = 0; i < kLive && ok; i++) {
                MemoryPointer* p = mem_pointer_create("owned", 64);
                if (p == nullptr || !mem_pointer_allocate(p, 64 + static_cast<size_t>(i % 7) * 100, &pool))
                    ok = Fail("allocate");
                mine.push_back(p);
            }
            for (int round = 0; (round < rounds || snapshots < overlap) && ok; round++) {
                size_t at = static_cast<size_t>(round) % mine.size();
                MemoryPointer* copy = mem_pointer_share(mine[at], "copy");
                unsigned char* data = copy != nullptr ? static_cast<unsigned char*>(mem_pointer_write(copy, &pool)) : nullptr;
                if (data == nullptr) {
                    ok = Fail("share + write");
                    break;
                }
                data[0] = static_cast<unsigned char>(round);
                if (!mem_pointer_destroy(mine[at], &pool)) ok = Fail("destroy");
                mine[at] = copy;
                MemoryPointer* received = mailbox[t].exchange(nullptr);
                if (received != nullptr && !mem_pointer_destroy(received, &pool)) ok = Fail("destroy received");
                if (round % 64 == 0) {
                    MemoryPointer* gift = mem_pointer_create("gift", 32);
                    if (gift == nullptr || !mem_pointer_allocate(gift, 32, &pool)) ok = Fail("gift");
                    MemoryPointer* previous = mailbox[(t + 1) % kOwners].exchange(gift);
                    if (previous != nullptr && !mem_pointer_destroy(previous, &pool)) ok = Fail("destroy gift");
                }
            }
            for (MemoryPointer* p : mine) mem_pointer_destroy(p, &pool);
            running--;
        });
    }
    while (running > 0 && ok) {
        MemPoolStats s;
        if (!mem_pool_validate(&pool)) ok = Fail("validate during traffic");
        if (!mem_pool_stats(&pool, &s)) ok = Fail("stats");
        // Between their first kLive and their last destroys, owners hold kLive each and
        // at most two gifts are in flight per owner; before and after, fewer.
        if (s.live_containers > static_cast<size_t>(kOwners * (kLive + 2))) ok = Fail("too many live containers");
        if (snapshots++ % 8 == 7) mem_pool_trim(&pool);
    }
    for (std::thread& t : owners) t.join();
    for (auto& box : mailbox) {
        MemoryPointer* left = box.exchange(nullptr);
        if (left != nullptr) mem_pointer_destroy(left, &pool);
    }
    MemPoolStats s;
    if (!mem_pool_stats(&pool, &s) || s.live_containers != 0) ok = Fail("containers left");
    if (!mem_pool_validate(&pool)) ok = Fail("validate at the end");
    if (snapshots < overlap) ok = Fail("too few snapshots overlapped the traffic");
    mem_pool_dump_to(&pool, stderr, true);  // names the barrier in use
    mem_pool_destroy(&pool);
    return ok;
}

// An owner thread that creates, allocates (64 bytes in `pool`) and destroys handles
// without pause until Stop() (or destruction), counting its operations; ok() turns
// false at its first failure, which also ends it.
class BusyOwner {
  public:
    explicit BusyOwner(MemoryPool* pool) : thread_([this, pool] { Run(pool); }) {}
    ~BusyOwner() { Stop(); }
    void Stop() {
        stop_ = true;
        if (thread_.joinable()) thread_.join();
    }
    long operations() const { return operations_; }
    bool ok() const { return ok_; }

  private:
    void Run(MemoryPool* pool) {
        while (!stop_ && ok_) {
            MemoryPointer* p = mem_pointer_create("owned", 64);
            if (p == nullptr || !mem_pointer_allocate(p, 64, pool) || !mem_pointer_destroy(p, pool))
                ok_ = Fail("owner's allocate or destroy");
            operations_++;
        }
    }
    std::atomic<bool> stop_{false};
    std::atomic<bool> ok_{true};
    std::atomic<long> operations_{0};
    std::thread thread_;  // last: starts once the fields above are set
};

TEST(SnapshotBarrier, TrafficWithTheProcessDefault) {
    if (!MEM_THREAD_SAFE) GTEST_SKIP() << "single-threaded build: nothing to freeze";
    EXPECT_TRUE(RunTrafficWithSnapshots());
}

// An owner that finds its cache held by a snapshot waits, and the pool counts it:
// mem_pool_stats reports how often owners waited and the longest wait (the figure
// behind "no owner operation waits longer than 1 ms", docs/stress.md). An owner
// allocating and destroying without pause meets a validation in a loop within a
// moment; the test gives it 20 s.
TEST(SnapshotBarrier, OwnersKeptWaitingAreCounted) {
    if (!MEM_THREAD_SAFE) GTEST_SKIP() << "single-threaded build: nothing to freeze";
    MemoryPool pool;
    ASSERT_TRUE(mem_pool_init(&pool, 0));
    MemPoolStats s;
    ASSERT_TRUE(mem_pool_stats(&pool, &s));
    EXPECT_EQ(0u, s.snapshot_waits);
    EXPECT_EQ(0u, s.snapshot_wait_max_ns);
    BusyOwner owner(&pool);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    do {
        ASSERT_TRUE(mem_pool_validate(&pool));
        ASSERT_TRUE(mem_pool_stats(&pool, &s));
    } while (s.snapshot_waits == 0 && owner.ok() && std::chrono::steady_clock::now() < deadline);
    owner.Stop();
    EXPECT_TRUE(owner.ok()) << "an owner's allocation or destroy failed";
    EXPECT_GT(s.snapshot_waits, 0u) << "no owner waited for a snapshot in 20 s";
    EXPECT_GT(s.snapshot_wait_max_ns, 0u);
    EXPECT_LT(s.snapshot_wait_max_ns, UINT64_C(20000000000)) << "a wait longer than the test";
    mem_pool_destroy(&pool);
}

#ifdef SLOW_BARRIER_US
// What an owner thread, allocating and destroying in a fresh pool, got done during
// one mem_pool_stats call on that pool (the pool's first snapshot, so no pacing
// delays it). *ok turns false if the owner's operations or the snapshot failed.
long OwnerOperationsDuringOneSnapshot(bool* ok) {
    MemoryPool pool;
    if (!mem_pool_init(&pool, 0)) return *ok = Fail("init");
    BusyOwner owner(&pool);
    while (owner.operations() == 0 && owner.ok()) std::this_thread::yield();  // the owner has its cache
    long before = owner.operations();
    MemPoolStats s;
    bool snapshot_ok = mem_pool_stats(&pool, &s) || Fail("stats");
    long during = owner.operations() - before;
    owner.Stop();
    *ok = owner.ok() && snapshot_ok && (mem_pool_validate(&pool) || Fail("validate"));
    mem_pool_destroy(&pool);
    return during;
}

// Built against //memkit:memkit_slow_barrier, whose heavy barrier takes
// SLOW_BARRIER_US (as membarrier can on a VM whose other vCPU is not running). An
// owner that meets a snapshot's claim during the barrier enters with a fence and the
// snapshot waits for it: the owner goes on working through the barrier and waits only
// for the short hold that follows. Before, every owner that arrived during a barrier
// waited it out. The test counts what the owner got done during each of 20 snapshots
// (each at least one barrier long): the median must be many operations, where the old
// protocol let through only the few before the claim. It counts work rather than
// timing waits, so a loaded machine (tests side by side, valgrind) slows both threads
// alike instead of failing the test.
TEST(SnapshotBarrier, OwnersWorkThroughTheHeavyBarrier) {
    if (!MEM_THREAD_SAFE) GTEST_SKIP() << "single-threaded build: nothing to freeze";
    constexpr int kSnapshots = 20;
    constexpr long kEnough = 50;  // operations in the median snapshot
    std::vector<long> during;
    std::string counts;
    for (int i = 0; i < kSnapshots; i++) {
        bool ok = true;
        during.push_back(OwnerOperationsDuringOneSnapshot(&ok));
        ASSERT_TRUE(ok);
        counts += " " + std::to_string(during.back());
    }
    std::sort(during.begin(), during.end());
    std::printf("owner operations during each snapshot (median %ld):%s\n", during[kSnapshots / 2], counts.c_str());
    EXPECT_GE(during[kSnapshots / 2], kEnough) << "operations during each snapshot:" << counts;
}
#endif

TEST(SnapshotBarrier, TrafficWithTheAtomicFallback) {
    if (!MEM_THREAD_SAFE) GTEST_SKIP() << "single-threaded build: nothing to freeze";
    GTEST_FLAG_SET(death_test_style, "threadsafe");  // a fresh process, started with the setting
    setenv("MEMKIT_MEMBARRIER", "0", 1);
    EXPECT_EXIT(std::exit(RunTrafficWithSnapshots() ? 0 : 1), ::testing::ExitedWithCode(0),
                "snapshot barrier: atomic fallback \\(no membarrier\\)");
    unsetenv("MEMKIT_MEMBARRIER");
}

}  // namespace
