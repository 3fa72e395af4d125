// 8 threads mixing allocate / share / write / destroy on private and shared
// pointers, with cross-thread destroys through a queue; at the end every count
// balances and the pool validates. Run under tsan and asan too.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <deque>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "memkit.h"
#include "test_support.h"

namespace {

// Handoff queue: pointers made on one thread, destroyed on another.
class Queue {
  public:
    void Push(MemoryPointer* p) {
        std::lock_guard<std::mutex> lock(mutex_);
        items_.push_back(p);
    }
    MemoryPointer* Pop() {
        std::lock_guard<std::mutex> lock(mutex_);
        if (items_.empty()) return nullptr;
        MemoryPointer* p = items_.front();
        items_.pop_front();
        return p;
    }

  private:
    std::mutex mutex_;
    std::deque<MemoryPointer*> items_;
};

}  // namespace

TEST(ThreadsMixed, EveryCountBalances) {
    if (!MEM_THREAD_SAFE) GTEST_SKIP() << "single-threaded build";
    MemoryPool pool;
    ASSERT_TRUE(mem_pool_init(&pool, 16));
    // Shared roots every thread shares from and copies on write from.
    std::vector<MemoryPointer*> roots;
    for (int r = 0; r < 4; r++) {
        MemoryPointer* root = mem_pointer_create("root", 256);
        ASSERT_TRUE(mem_pointer_allocate(root, 256, &pool));
        memset(mem_pointer_write(root, &pool), 'A' + r, 256);
        roots.push_back(root);
    }
    Queue handoff;
    std::atomic<long> errors{0}, cow_violations{0}, made{0}, destroyed{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; t++) {
        threads.emplace_back([&, t] {
            std::mt19937 rng(1000 + t);
            std::vector<MemoryPointer*> mine;
            for (int op = 0; op < 20000; op++) {
                int kind = static_cast<int>(rng() % 6);
                if (kind == 0 || mine.empty()) {  // allocate private
                    size_t size = 1 + rng() % 2000;
                    MemoryPointer* p = mem_pointer_create("private", size);
                    if (!mem_pointer_allocate(p, size, &pool)) { errors++; continue; }
                    memset(mem_pointer_write(p, &pool), t, size);
                    mine.push_back(p);
                    made++;
                } else if (kind == 1) {  // share a root, write through COW
                    int r = static_cast<int>(rng() % roots.size());
                    MemoryPointer* s = mem_pointer_share(roots[r], "share");
                    if (s == nullptr) { errors++; continue; }
                    made++;
                    unsigned char* w = static_cast<unsigned char*>(mem_pointer_write(s, &pool));
                    if (w == nullptr) { errors++; continue; }
                    w[0] = 'z';
                    if (static_cast<const unsigned char*>(mem_pointer_data(roots[r]))[0] != 'A' + r) cow_violations++;
                    mine.push_back(s);
                } else if (kind == 2) {  // hand one to another thread
                    handoff.Push(mine.back());
                    mine.pop_back();
                } else if (kind == 3) {  // destroy one handed over by someone else
                    MemoryPointer* p = handoff.Pop();
                    if (p != nullptr) {
                        if (!mem_pointer_destroy(p, &pool)) errors++;
                        destroyed++;
                    }
                } else {  // destroy a private one
                    size_t i = rng() % mine.size();
                    if (!mem_pointer_destroy(mine[i], &pool)) errors++;
                    destroyed++;
                    mine[i] = mine.back();
                    mine.pop_back();
                }
            }
            for (MemoryPointer* p : mine) {
                if (!mem_pointer_destroy(p, &pool)) errors++;
                destroyed++;
            }
        });
    }
    for (auto& t : threads) t.join();
    for (MemoryPointer* p = handoff.Pop(); p != nullptr; p = handoff.Pop()) {
        EXPECT_TRUE(mem_pointer_destroy(p, &pool));
        destroyed++;
    }
    EXPECT_EQ(0, errors.load());
    EXPECT_EQ(0, cow_violations.load());
    EXPECT_EQ(made.load(), destroyed.load());
    for (int r = 0; r < 4; r++) {
        EXPECT_EQ(1u, mem_pointer_refcount(roots[r]));
        const unsigned char* bytes = static_cast<const unsigned char*>(mem_pointer_data(roots[r]));
        for (int i = 0; i < 256; i++) ASSERT_EQ('A' + r, bytes[i]);
    }
    MemPoolStats s;
    ASSERT_TRUE(mem_pool_stats(&pool, &s));
    EXPECT_EQ(4u, s.live_containers);
    EXPECT_TRUE(mem_pool_validate(&pool));
    for (MemoryPointer* root : roots) EXPECT_TRUE(mem_pointer_destroy(root, &pool));
    ASSERT_TRUE(mem_pool_stats(&pool, &s));
    EXPECT_EQ(0u, s.live_containers);
    EXPECT_TRUE(mem_pool_validate(&pool));
    mem_pool_destroy(&pool);
}

TEST(ThreadsMixed, ValidateAndStatsRunSafelyDuringTraffic) {
    if (!MEM_THREAD_SAFE) GTEST_SKIP() << "single-threaded build";
    MemoryPool pool;
    ASSERT_TRUE(mem_pool_init(&pool, 16));
    std::atomic<bool> stop{false};
    std::atomic<int> working{0};
    std::vector<std::thread> workers;
    for (int t = 0; t < 3; t++) {
        workers.emplace_back([&, t] {
            // Unsigned: a long run passes 2^31 / 13 iterations (an int overflowed there
            // and asked for a huge size).
            for (uint64_t i = 0; !stop.load(); i++) {
                size_t size = 8 + static_cast<size_t>((i * 13 + static_cast<uint64_t>(t)) % 700);
                MemoryPointer* p = mem_pointer_create("w", size);
                if (p == nullptr || !mem_pointer_allocate(p, size, &pool)) {
                    ADD_FAILURE() << (p == nullptr ? "create: " : "allocate: ") << mem_error_name(mem_last_error());
                    stop = true;
                    break;
                }
                memset(mem_pointer_write(p, &pool), 1, size);
                EXPECT_TRUE(mem_pointer_destroy(p, &pool));
                if (i == 0) working++;
            }
        });
    }
    // The snapshots below must overlap the traffic: start them once every worker runs.
    while (working.load() < 3) std::this_thread::yield();
    // Snapshots pace themselves by how long owners waited. Three workers and this thread
    // share 2 cores, so a freeze often waits for a preempted worker and the snapshots
    // space out (under AddressSanitizer ~0.2 s each): 200 of them, or as many as 10 s
    // allow, at least 3. Under valgrind, which runs one thread at a time, every hold
    // keeps the workers waiting and the next begins 39 holds later (freeze.c), tens of
    // seconds: one validate and one count there.
    const int snapshots = RUNNING_ON_VALGRIND ? 1 : 200;
    const int at_least = RUNNING_ON_VALGRIND ? 1 : 3;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (int i = 0; i < snapshots && (i < at_least || std::chrono::steady_clock::now() < deadline); i++) {
        EXPECT_TRUE(mem_pool_validate(&pool));
        MemPoolStats s;
        EXPECT_TRUE(mem_pool_stats(&pool, &s));
        EXPECT_LE(s.live_containers, 3u);  // each worker holds at most one
    }
    stop = true;
    for (auto& w : workers) w.join();
    mem_pool_destroy(&pool);
}
