// mem_malloc & co.: C's contracts (alignment, zero sizes, NULL, overflow, errno),
// blocks from the per-thread caches without handles, freed from any thread and
// reused by their owner, wiped when freed, counted and validated by the pool, and
// misuse refused.
#include <errno.h>
#include <stdint.h>

#include <algorithm>
#include <cstddef>
#include <set>
#include <condition_variable>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "test_support.h"

namespace {

MemPoolStats Stats(MemoryPool* pool) {
    MemPoolStats stats;
    EXPECT_TRUE(mem_pool_stats(pool, &stats));
    return stats;
}

bool Aligned(const void* p, size_t alignment) { return reinterpret_cast<uintptr_t>(p) % alignment == 0; }

class Malloc : public ::testing::Test {
  protected:
    void SetUp() override { ASSERT_TRUE(mem_pool_init(&pool_, 0)); }
    void TearDown() override {
        EXPECT_TRUE(mem_pool_validate(&pool_));
        mem_pool_destroy(&pool_);
    }
    MemoryPool pool_;
};

TEST_F(Malloc, EveryBlockIsAlignedForAnyTypeAndUsable) {
    std::vector<void*> blocks;
    for (size_t size : {0, 1, 7, 15, 16, 17, 20, 24, 28, 31, 32, 33, 40, 48, 100, 1000, 4096, 65536, 70000,
                        1 << 20}) {
        for (int i = 0; i < 5; i++) {
            unsigned char* p = static_cast<unsigned char*>(mem_pool_malloc(&pool_, size));
            ASSERT_NE(nullptr, p) << size;
            EXPECT_TRUE(Aligned(p, alignof(max_align_t))) << size << " at " << static_cast<void*>(p);
            EXPECT_GE(mem_usable_size(p), std::max<size_t>(size, 1));
            memset(p, 0xAB, mem_usable_size(p));
            blocks.push_back(p);
        }
    }
    std::set<void*> distinct(blocks.begin(), blocks.end());
    EXPECT_EQ(blocks.size(), distinct.size()) << "two live blocks share an address";
    EXPECT_EQ(blocks.size(), Stats(&pool_).live_containers);
    EXPECT_TRUE(mem_pool_validate(&pool_));
    for (void* p : blocks) mem_free(p);
    EXPECT_EQ(0u, Stats(&pool_).live_containers);
}

TEST_F(Malloc, FreedBlocksAreWipedAndComeBackZeroed) {
    std::vector<unsigned char*> blocks;
    for (int i = 0; i < 64; i++) {
        auto* p = static_cast<unsigned char*>(mem_pool_malloc(&pool_, 200));
        ASSERT_NE(nullptr, p);
        memset(p, 0x5A, mem_usable_size(p));
        blocks.push_back(p);
    }
    size_t usable = mem_usable_size(blocks[0]);
    for (unsigned char* p : blocks) {
        mem_free(p);
        std::vector<unsigned char> seen(usable);
        memkit_test::PeekReleased(p, seen.data(), usable);
        EXPECT_EQ(usable, static_cast<size_t>(std::count(seen.begin(), seen.end(), 0))) << "not wiped";
    }
    EXPECT_TRUE(mem_pool_validate(&pool_));  // checks every orphan's bytes
    for (int i = 0; i < 64; i++) {
        auto* p = static_cast<unsigned char*>(mem_pool_calloc(&pool_, 25, 8));
        ASSERT_NE(nullptr, p);
        for (size_t b = 0; b < 200; b++) ASSERT_EQ(0, p[b]) << "calloc byte " << b;
        blocks[i] = p;
    }
    for (unsigned char* p : blocks) mem_free(p);
}

TEST_F(Malloc, CContracts) {
    mem_free(nullptr);  // does nothing
    EXPECT_EQ(0u, mem_usable_size(nullptr));

    void* zero_a = mem_pool_malloc(&pool_, 0);
    void* zero_b = mem_pool_malloc(&pool_, 0);
    ASSERT_NE(nullptr, zero_a);
    EXPECT_NE(zero_a, zero_b) << "malloc(0) gives unique blocks";

    errno = 0;
    EXPECT_EQ(nullptr, mem_pool_calloc(&pool_, SIZE_MAX / 2, 3));
    EXPECT_EQ(ENOMEM, errno);
    EXPECT_EQ(MEM_ERR_SIZE_OVERFLOW, mem_last_error());
    errno = 0;
    EXPECT_EQ(nullptr, mem_pool_malloc(&pool_, SIZE_MAX - 8));
    EXPECT_EQ(ENOMEM, errno);
    errno = 0;
    EXPECT_EQ(nullptr, mem_pool_malloc(nullptr, 8));
    EXPECT_EQ(EINVAL, errno);
    EXPECT_EQ(MEM_ERR_NULL_ARGUMENT, mem_last_error());

    // realloc(NULL, n) is malloc; growth keeps the contents; failure keeps the block.
    auto* p = static_cast<unsigned char*>(mem_pool_realloc(&pool_, nullptr, 10));
    ASSERT_NE(nullptr, p);
    for (int i = 0; i < 10; i++) p[i] = static_cast<unsigned char>(i + 1);
    p = static_cast<unsigned char*>(mem_pool_realloc(&pool_, p, 5000));
    ASSERT_NE(nullptr, p);
    for (int i = 0; i < 10; i++) EXPECT_EQ(i + 1, p[i]);
    errno = 0;
    EXPECT_EQ(nullptr, mem_pool_realloc(&pool_, p, SIZE_MAX - 8));
    EXPECT_EQ(ENOMEM, errno);
    EXPECT_EQ(1, p[0]) << "a failed realloc leaves the block";
    p = static_cast<unsigned char*>(mem_pool_realloc(&pool_, p, 3));  // shrink: contents kept
    ASSERT_NE(nullptr, p);
    EXPECT_EQ(3, p[2]);
    void* minimal = mem_pool_realloc(&pool_, p, 0);  // frees p, gives a minimal block
    ASSERT_NE(nullptr, minimal);

    // A successful call leaves errno and the error code alone.
    errno = 1234;
    void* fine = mem_pool_malloc(&pool_, 64);
    EXPECT_EQ(1234, errno);
    EXPECT_EQ(MEM_ERR_SIZE_OVERFLOW, mem_last_error()) << "set by the failed realloc above";
    mem_free(fine);
    errno = 77;
    mem_free(minimal);
    EXPECT_EQ(77, errno) << "free leaves errno alone";
    mem_free(zero_a);
    mem_free(zero_b);
    EXPECT_EQ(0u, Stats(&pool_).live_containers);
}

TEST_F(Malloc, AlignedAllocAtEveryAlignment) {
    for (size_t alignment = 1; alignment <= (size_t{1} << 16); alignment <<= 1) {
        for (size_t size : {1, 24, 100, 5000}) {
            void* p = mem_pool_aligned_alloc(&pool_, alignment, size);
            ASSERT_NE(nullptr, p) << alignment << "/" << size;
            EXPECT_TRUE(Aligned(p, std::max(alignment, alignof(max_align_t)))) << alignment << "/" << size;
            EXPECT_GE(mem_usable_size(p), size);
            memset(p, 0x11, size);
            // realloc of an aligned block moves it to a plain block, contents kept.
            void* q = mem_pool_realloc(&pool_, p, size + 1);
            ASSERT_NE(nullptr, q);
            EXPECT_EQ(0x11, static_cast<unsigned char*>(q)[size - 1]);
            mem_free(q);
        }
    }
    errno = 0;
    EXPECT_EQ(nullptr, mem_pool_aligned_alloc(&pool_, 24, 8));
    EXPECT_EQ(EINVAL, errno);
    EXPECT_EQ(MEM_ERR_BAD_ALIGNMENT, mem_last_error());
    EXPECT_EQ(nullptr, mem_pool_aligned_alloc(&pool_, 0, 8));
    EXPECT_EQ(0u, Stats(&pool_).live_containers);
}

TEST_F(Malloc, MisuseIsRefusedAndNothingIsFreed) {
    memkit_test::LogCapture log;
    auto* p = static_cast<unsigned char*>(mem_pool_malloc(&pool_, 100));
    ASSERT_NE(nullptr, p);
    mem_free(p + 16);  // an interior pointer
    EXPECT_EQ(MEM_ERR_INVALID_POINTER, mem_last_error());
    // Regression: a pointer off the 16-byte grid had its "header" read through a
    // misaligned struct pointer (UBSan: member access within misaligned address).
    mem_free(p + 1);
    EXPECT_EQ(MEM_ERR_INVALID_POINTER, mem_last_error());
    EXPECT_EQ(0u, mem_usable_size(p + 8));
    EXPECT_TRUE(log.Contains("not a live block"));
    EXPECT_EQ(1u, Stats(&pool_).live_containers);

    MemoryPointer* handle = mem_pointer_create("container", 64);
    ASSERT_TRUE(mem_pointer_allocate(handle, 64, &pool_));
    mem_free(handle->container->data);  // a container's data is not a block
    EXPECT_EQ(MEM_ERR_INVALID_POINTER, mem_last_error());
    EXPECT_EQ(64u, mem_pointer_size(handle));
    EXPECT_EQ(0u, mem_usable_size(handle->container->data));
    EXPECT_TRUE(mem_pointer_destroy(handle, &pool_));

    mem_free(p);
    mem_free(p);  // a second free
    EXPECT_EQ(MEM_ERR_INVALID_POINTER, mem_last_error());
    errno = 0;
    EXPECT_EQ(nullptr, mem_pool_realloc(&pool_, p, 10));
    EXPECT_EQ(EINVAL, errno);
    EXPECT_EQ(0u, Stats(&pool_).live_containers);
    EXPECT_TRUE(mem_pool_validate(&pool_));
}

TEST_F(Malloc, DumpAndDestroyNameBlocks) {
    void* p = mem_pool_malloc(&pool_, 48);
    ASSERT_NE(nullptr, p);
    char* text = nullptr;
    size_t length = 0;
    FILE* out = open_memstream(&text, &length);
    ASSERT_TRUE(mem_pool_dump_to(&pool_, out, true));
    fclose(out);
    EXPECT_NE(nullptr, strstr(text, "block")) << text;
    EXPECT_NE(nullptr, strstr(text, "a mem_malloc block")) << text;
    free(text);
    memkit_test::LogCapture log;
    MemoryPool other;
    ASSERT_TRUE(mem_pool_init(&other, 0));
    ASSERT_NE(nullptr, mem_pool_malloc(&other, 10));
    mem_pool_destroy(&other);  // frees the block with its pool and says so
    EXPECT_TRUE(log.Contains("a mem_malloc block"));
    mem_free(p);
}

TEST_F(Malloc, OutOfMemoryAnswersEnomemAndTellsTheHandler) {
    static size_t oom_requests;
    oom_requests = 0;
    MemOomHandler previous = mem_set_oom_handler([](size_t) { oom_requests++; });
    memkit_test::CountingAllocator counting;
    counting.fail_every = 1;  // every system allocation fails
    counting.Install();
    errno = 0;
    EXPECT_EQ(nullptr, mem_pool_malloc(&pool_, 1 << 20));  // a page of its own: none to be had
    EXPECT_EQ(ENOMEM, errno);
    EXPECT_EQ(MEM_ERR_OUT_OF_MEMORY, mem_last_error());
    errno = 0;
    EXPECT_EQ(nullptr, mem_pool_aligned_alloc(&pool_, 4096, 1 << 20));
    EXPECT_EQ(ENOMEM, errno);
    EXPECT_EQ(nullptr, mem_pool_aligned_alloc(&pool_, size_t{1} << 62, SIZE_MAX - 100));  // size + alignment overflows
    EXPECT_EQ(MEM_ERR_SIZE_OVERFLOW, mem_last_error());
    EXPECT_EQ(nullptr, mem_pool_realloc(&pool_, nullptr, 1 << 20));
    memkit_test::CountingAllocator::Uninstall();
    mem_set_oom_handler(previous);
    EXPECT_GE(oom_requests, 3u);
    EXPECT_EQ(0u, Stats(&pool_).live_containers);
}

TEST_F(Malloc, BadPoolsAnswerEinval) {
    MemoryPool never_initialised;
    memset(&never_initialised, 0, sizeof never_initialised);
    errno = 0;
    EXPECT_EQ(nullptr, mem_pool_calloc(&never_initialised, 2, 8));
    EXPECT_EQ(EINVAL, errno);
    EXPECT_EQ(MEM_ERR_INVALID_POOL, mem_last_error());
    errno = 0;
    EXPECT_EQ(nullptr, mem_pool_aligned_alloc(nullptr, 64, 8));
    EXPECT_EQ(EINVAL, errno);
    errno = 0;
    EXPECT_EQ(nullptr, mem_pool_realloc(&never_initialised, nullptr, 8));
    EXPECT_EQ(EINVAL, errno);
    errno = 0;
    EXPECT_EQ(nullptr, mem_calloc(SIZE_MAX / 4, 8));  // the default pool's calloc checks too
    EXPECT_EQ(ENOMEM, errno);
}

TEST_F(Malloc, ForgedHeadersAreRefused) {
    memkit_test::LogCapture log;
    // 32 bytes that look like a live block's header (magic, state) but name no page,
    // then a real page's id with an address outside the page.
    alignas(64) unsigned char forged[128] = {0};
    MemoryContainer* header = reinterpret_cast<MemoryContainer*>(forged);
    void* real = mem_pool_malloc(&pool_, 48);
    ASSERT_NE(nullptr, real);
    const MemoryContainer* real_header = reinterpret_cast<const MemoryContainer*>(static_cast<char*>(real) - 32);
    memcpy(forged, real_header, 32);  // magic, state, size, page id of a live block
    header->page = 0;
    mem_free(forged + 32);
    EXPECT_EQ(MEM_ERR_INVALID_POINTER, mem_last_error());
    header->page = 0xFFFFFFF0u;  // beyond the page table
    EXPECT_EQ(0u, mem_usable_size(forged + 32));
    EXPECT_EQ(MEM_ERR_INVALID_POINTER, mem_last_error());
    // An aligned block's own header whose offset points past its block's end.
    void* aligned = mem_pool_aligned_alloc(&pool_, 256, 100);
    ASSERT_NE(nullptr, aligned);
    if (reinterpret_cast<MemoryContainer*>(static_cast<char*>(aligned) - 32)->magic != 0xC7) {
        MemoryContainer* pad = reinterpret_cast<MemoryContainer*>(static_cast<char*>(aligned) - 32);
        size_t offset = pad->size;
        pad->size = 0;  // now it leads to itself: a header that is no block's
        mem_free(aligned);
        EXPECT_EQ(MEM_ERR_INVALID_POINTER, mem_last_error());
        pad->size = offset;
    }
    mem_free(aligned);
    header->page = real_header->page;  // a real page, but not one of its blocks
    errno = 0;
    EXPECT_EQ(nullptr, mem_realloc(forged + 32, 10));
    EXPECT_EQ(EINVAL, errno);
    EXPECT_TRUE(log.Contains("not a live block"));
    EXPECT_EQ(1u, Stats(&pool_).live_containers);
    mem_free(real);
    EXPECT_EQ(0u, Stats(&pool_).live_containers);
}

TEST_F(Malloc, AHeaderNamingAnotherPageIsRefusedAndReported) {
    // A block's header keeps its page for mem_free, which checks it against the page
    // table: a live block whose header names another real page (another class's) is
    // refused, nothing is freed, and validate names the damage.
    memkit_test::LogCapture log;
    void* small = mem_pool_malloc(&pool_, 48);
    void* other = mem_pool_malloc(&pool_, 1000);
    ASSERT_NE(nullptr, small);
    ASSERT_NE(nullptr, other);
    MemoryContainer* header = reinterpret_cast<MemoryContainer*>(static_cast<char*>(small) - 32);
    const MemoryContainer* other_header = reinterpret_cast<const MemoryContainer*>(static_cast<char*>(other) - 32);
    uint64_t kept = header->serial;
    ASSERT_NE(kept, other_header->serial) << "two classes share a page";
    header->serial = other_header->serial;
    mem_free(small);
    EXPECT_EQ(MEM_ERR_INVALID_POINTER, mem_last_error());
    EXPECT_EQ(0u, mem_usable_size(small));
    EXPECT_EQ(2u, Stats(&pool_).live_containers);
    EXPECT_FALSE(mem_pool_validate(&pool_));
    EXPECT_TRUE(log.Contains("a malloc block names its page"));
    header->serial = kept;
    EXPECT_TRUE(mem_pool_validate(&pool_));
    mem_free(small);
    mem_free(other);
    EXPECT_EQ(0u, Stats(&pool_).live_containers);
}

TEST_F(Malloc, LargeBlocksAndSurplusPagesGoBack) {
    // Large blocks (a page each) freed by their owner, and enough small pages emptied
    // that the cache passes its limits and gives pages to the pool.
    std::vector<void*> blocks;
    for (int i = 0; i < 8; i++) blocks.push_back(mem_pool_malloc(&pool_, 100000 + i));
    for (int i = 0; i < 20000; i++) blocks.push_back(mem_pool_malloc(&pool_, 16 + (i % 4) * 1000));
    for (void* p : blocks) mem_free(p);
    MemPoolStats stats = Stats(&pool_);
    EXPECT_EQ(0u, stats.live_containers);
    EXPECT_GT(stats.cache_exchanges, 0u) << "the cache kept every empty page";
    EXPECT_GT(mem_pool_trim(&pool_), 0u);
}

TEST(MallocDefaultPool, ServesMallocAndRefusesDestroy) {
    MemoryPool* pool = mem_default_pool();
    ASSERT_NE(nullptr, pool);
    EXPECT_EQ(pool, mem_default_pool());
    size_t before = Stats(pool).live_containers;
    void* a = mem_malloc(100);
    void* b = mem_calloc(10, 10);
    void* c = mem_aligned_alloc(4096, 100);
    ASSERT_TRUE(a && b && c);
    EXPECT_TRUE(Aligned(c, 4096));
    a = mem_realloc(a, 300);
    ASSERT_NE(nullptr, a);
    EXPECT_EQ(before + 3, Stats(pool).live_containers);
    memkit_test::LogCapture log;
    mem_pool_destroy(pool);
    EXPECT_EQ(MEM_ERR_INVALID_POOL, mem_last_error());
    EXPECT_TRUE(mem_pool_validate(pool)) << "the default pool survives a destroy";
    // mem_realloc keeps a block in its own pool.
    MemoryPool own;
    ASSERT_TRUE(mem_pool_init(&own, 0));
    void* mine = mem_pool_malloc(&own, 10);
    mine = mem_realloc(mine, 20000);
    ASSERT_NE(nullptr, mine);
    EXPECT_EQ(1u, Stats(&own).live_containers);
    mem_free(mine);
    mem_pool_destroy(&own);
    mem_free(a);
    mem_free(b);
    mem_free(c);
    EXPECT_EQ(before, Stats(pool).live_containers);
}

TEST_F(Malloc, BlocksFreedOnAnotherThreadAreReusedByTheirOwner) {
    if (!MEM_THREAD_SAFE) GTEST_SKIP() << "single-threaded build";
    constexpr int kBatch = 200;
    std::vector<void*> made;
    for (int i = 0; i < kBatch; i++) made.push_back(mem_pool_malloc(&pool_, 200));
    std::thread([&] {
        for (void* p : made) mem_free(p);
    }).join();
    MemPoolStats before = Stats(&pool_);
    EXPECT_EQ(0u, before.live_containers);
    std::vector<void*> again;
    for (int i = 0; i < kBatch; i++) again.push_back(mem_pool_malloc(&pool_, 200));
    MemPoolStats after = Stats(&pool_);
    EXPECT_EQ(before.peak_bytes, after.peak_bytes) << "the pool took more memory";
    if (!memkit_test::kReuseIsDelayed) {
        EXPECT_EQ(before.reuse_hits + kBatch, after.reuse_hits) << "freed blocks were not reused";
        for (void* p : again) EXPECT_NE(made.end(), std::find(made.begin(), made.end(), p));
    }
    for (void* p : again) mem_free(p);
}

// Random replacement leaves each page one free block at a time, so allocations keep
// taking a page's last free block (which moves the page to the full ones) and frees
// keep giving a full page a block back (which queues it again). Validation checks that
// every queued page has a block to hand out and every full page none, and the counts.
TEST_F(Malloc, RandomReplacementKeepsThePageListsExact) {
    constexpr int kLive = 1000;
    const int kOps = RUNNING_ON_VALGRIND ? 20000 : 400000;
    std::vector<unsigned char*> live(kLive);
    std::mt19937 rng(88172645);
    std::uniform_int_distribution<size_t> size_of(16, 512);
    std::uniform_int_distribution<int> slot_of(0, kLive - 1);
    for (unsigned char*& p : live) {
        size_t size = size_of(rng);
        p = static_cast<unsigned char*>(mem_pool_malloc(&pool_, size));
        ASSERT_NE(nullptr, p);
        memset(p, 0x5A, size);
    }
    for (int op = 0; op < kOps; op++) {
        unsigned char*& slot = live[slot_of(rng)];
        mem_free(slot);
        size_t size = size_of(rng);
        slot = static_cast<unsigned char*>(mem_pool_malloc(&pool_, size));
        ASSERT_NE(nullptr, slot);
        ASSERT_EQ(0, slot[0]) << "a block handed out again was not wiped";
        memset(slot, 0x5A, size);
        if (op % (kOps / 4) == 0) ASSERT_TRUE(mem_pool_validate(&pool_)) << "after " << op << " replacements";
    }
    EXPECT_TRUE(mem_pool_validate(&pool_));
    EXPECT_EQ(static_cast<size_t>(kLive), Stats(&pool_).live_containers);
    for (unsigned char* p : live) mem_free(p);
}

// A full page that gets a block back queues behind the pages of its class already
// queued: the page being used up keeps handing out, and the freed block comes back
// once that page is used up. (Queued first, its one block would be handed straight
// out and the page would go back among the full ones: two page moves per block under
// random replacement in one class.)
TEST_F(Malloc, AFullPageThatGetsABlockBackQueuesBehindTheOthers) {
    constexpr size_t kSize = 128;
    std::vector<unsigned char*> first;  // the first page's blocks, in the order carved
    unsigned char* second = nullptr;    // the first block of the second page
    while (second == nullptr) {
        unsigned char* p = static_cast<unsigned char*>(mem_pool_malloc(&pool_, kSize));
        ASSERT_NE(nullptr, p);
        ASSERT_LT(first.size(), 100000u) << "no second page";
        if (first.size() >= 2 && p - first.back() != first[1] - first[0]) {
            second = p;
        } else {
            first.push_back(p);
        }
    }
    ASSERT_GE(first.size(), 8u);
    const ptrdiff_t stride = first[1] - first[0];
    unsigned char* freed = first[first.size() / 2];
    first.erase(first.begin() + static_cast<ptrdiff_t>(first.size() / 2));
    mem_free(freed);
    EXPECT_TRUE(mem_pool_validate(&pool_));

    std::vector<unsigned char*> rest = {second};
    rest.push_back(static_cast<unsigned char*>(mem_pool_malloc(&pool_, kSize)));
    EXPECT_EQ(second + stride, rest.back()) << "the second page did not go on handing out";
    EXPECT_TRUE(mem_pool_validate(&pool_));
    while (rest.back() != freed && rest.size() <= first.size() + 2) {
        rest.push_back(static_cast<unsigned char*>(mem_pool_malloc(&pool_, kSize)));
        ASSERT_NE(nullptr, rest.back());
    }
    EXPECT_EQ(freed, rest.back()) << "the freed block did not come back once the second page was used up";
    EXPECT_TRUE(mem_pool_validate(&pool_));
    for (unsigned char* p : first) mem_free(p);
    for (unsigned char* p : rest) mem_free(p);
}

TEST_F(Malloc, ProducerConsumerOverMillionsStaysBounded) {
    if (!MEM_THREAD_SAFE) GTEST_SKIP() << "single-threaded build";
    const int kObjects = RUNNING_ON_VALGRIND ? 100000 : 2000000;
    constexpr int kBatch = 64;
    std::mutex mutex;
    std::condition_variable ready;
    std::vector<std::vector<void*>> queue;
    bool done = false;
    std::thread consumer([&] {
        for (;;) {
            std::vector<void*> batch;
            {
                std::unique_lock<std::mutex> lock(mutex);
                ready.wait(lock, [&] { return done || !queue.empty(); });
                if (queue.empty()) return;
                batch = std::move(queue.back());
                queue.pop_back();
            }
            for (void* p : batch) {
                EXPECT_EQ(0x42, *static_cast<unsigned char*>(p));
                mem_free(p);
            }
        }
    });
    size_t peak = 0;
    for (int i = 0; i < kObjects; i += kBatch) {
        std::vector<void*> batch;
        for (int j = 0; j < kBatch; j++) {
            auto* p = static_cast<unsigned char*>(mem_pool_malloc(&pool_, 64 + (i + j) % 193));
            ASSERT_NE(nullptr, p);
            *p = 0x42;
            batch.push_back(p);
        }
        for (;;) {  // at most 64 batches in flight
            std::lock_guard<std::mutex> lock(mutex);
            if (queue.size() < 64) {
                queue.push_back(std::move(batch));
                break;
            }
        }
        ready.notify_one();
        if (i % (kBatch * 1024) == 0) peak = std::max(peak, Stats(&pool_).peak_bytes);
    }
    {
        std::lock_guard<std::mutex> lock(mutex);
        done = true;
    }
    ready.notify_one();
    consumer.join();
    MemPoolStats stats = Stats(&pool_);
    EXPECT_EQ(0u, stats.live_containers);
    // 64 batches of 64 blocks of at most 320 bytes in flight: a few MiB, not the
    // hundreds of MiB the objects add up to.
    EXPECT_LT(stats.peak_bytes, size_t{16} << 20) << "memory grew with the objects passed";
}

#if MEM_THREAD_SAFE
using memkit_test::ExpectForkedChildrenSucceed;

TEST(MallocFork, TheChildKeepsAllocatingWhileOtherThreadsHoldLocks) {
#ifdef MEMKIT_TEST_ASAN
    // gcc 12's AddressSanitizer runtime does not hold its own allocator's lock across
    // fork: a child forked while other threads allocate may hang inside it.
    GTEST_SKIP() << "AddressSanitizer's allocator is not fork-safe here";
#endif
    std::atomic<bool> stop{false};
    std::vector<std::thread> busy;
    for (int t = 0; t < 2; t++) {
        busy.emplace_back([&] {  // slow paths: new pages, stats (pool and snapshot locks)
            std::vector<void*> held;
            while (!stop.load()) {
                for (int i = 0; i < 100; i++) held.push_back(mem_malloc(70000 + i));
                MemPoolStats stats;
                EXPECT_TRUE(mem_pool_stats(mem_default_pool(), &stats));
                for (void* p : held) mem_free(p);
                held.clear();
                mem_pool_trim(mem_default_pool());
            }
        });
    }
    ExpectForkedChildrenSucceed(20, [] {
        for (int i = 0; i < 1000; i++) mem_free(mem_malloc(static_cast<size_t>(i) * 97 + 1));
        void* big = mem_malloc(1 << 20);
        mem_free(big);
        return big != nullptr && mem_pool_validate(mem_default_pool());
    });
    stop = true;
    for (auto& t : busy) t.join();
}

// Any pool, not only the default one: a child forked while other threads allocate in
// a pool and take snapshots of it (which hold its locks and freeze its caches) must be
// able to use the pool. A child that hangs is stopped by its alarm and fails the test.
TEST(PoolFork, TheChildUsesAPoolOtherThreadsWereSnapshottingAndAllocatingIn) {
#ifdef MEMKIT_TEST_ASAN
    GTEST_SKIP() << "AddressSanitizer's allocator is not fork-safe here";
#endif
    MemoryPool pool;
    ASSERT_TRUE(mem_pool_init(&pool, 0));
    std::atomic<bool> stop{false};
    std::thread allocating([&] {  // owner sections, new pages (pool mutex), remote-free traffic
        while (!stop.load()) {
            for (int i = 0; i < 50; i++) {
                MemoryPointer* p = mem_pointer_create("busy", 0);
                EXPECT_TRUE(mem_pointer_allocate(p, 70000 + static_cast<size_t>(i) * 64, &pool));
                EXPECT_TRUE(mem_pointer_destroy(p, &pool));
            }
            mem_pool_trim(&pool);
        }
    });
    std::thread snapshotting([&] {  // the snapshot mutex, frozen caches
        while (!stop.load()) {
            MemPoolStats stats;
            EXPECT_TRUE(mem_pool_validate(&pool));
            EXPECT_TRUE(mem_pool_stats(&pool, &stats));
        }
    });
    ExpectForkedChildrenSucceed(20, [&pool] {
        bool ok = true;
        for (int i = 0; i < 1000 && ok; i++) {
            MemoryPointer* p = mem_pointer_create("child", 0);
            ok = p != nullptr && mem_pointer_allocate(p, static_cast<size_t>(i) * 97 + 1, &pool) &&
                 mem_pointer_destroy(p, &pool);
        }
        MemPoolStats stats;
        return ok && mem_pool_stats(&pool, &stats) && mem_pool_validate(&pool);
    });
    stop = true;
    allocating.join();
    snapshotting.join();
    mem_pool_destroy(&pool);
}
#endif

}  // namespace
