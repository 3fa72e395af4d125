/*
 * test_support.h - shared test fixtures: a counting / failing system allocator
 * installed through mem_set_allocator, a log sink that records messages, and forked
 * children that must finish.
 */
#ifndef MEMKIT_TESTS_TEST_SUPPORT_H
#define MEMKIT_TESTS_TEST_SUPPORT_H

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "memkit.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MEMKIT_TEST_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define MEMKIT_TEST_ASAN 1
#endif
#ifdef MEMKIT_TEST_ASAN
#include <sanitizer/asan_interface.h>
#endif
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define MEMKIT_TEST_TSAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define MEMKIT_TEST_TSAN 1
#endif
#include <valgrind/memcheck.h>

namespace memkit_test {

/* Builds that track memory for AddressSanitizer or valgrind hand a released block out
 * again only after the page's never-used and older free blocks (so a stale pointer
 * lands on inaccessible memory): tests of immediate reuse hold only elsewhere. */
#if defined(MEMKIT_TEST_ASAN) || (defined(MEM_VALGRIND) && MEM_VALGRIND)
constexpr bool kReuseIsDelayed = true;
#else
constexpr bool kReuseIsDelayed = false;
#endif

/* Copies `n` bytes the library has released (and may have marked inaccessible for
 * AddressSanitizer or valgrind) so a test can check what they hold; the marks are
 * restored afterwards. */
inline void PeekReleased(const void* at, void* out, size_t n) {
#ifdef MEMKIT_TEST_ASAN
    const char* bytes = static_cast<const char*>(at);
    std::vector<bool> poisoned(n);
    for (size_t i = 0; i < n; i++) poisoned[i] = __asan_address_is_poisoned(bytes + i);
    ASAN_UNPOISON_MEMORY_REGION(at, n);
#endif
    std::vector<char> vbits(n);
    int saved = VALGRIND_GET_VBITS(at, vbits.data(), n);
    (void)VALGRIND_MAKE_MEM_DEFINED(at, n);
    memcpy(out, at, n);
    if (saved == 1) (void)VALGRIND_SET_VBITS(at, vbits.data(), n);
#ifdef MEMKIT_TEST_ASAN
    for (size_t i = 0; i < n; i++)
        if (poisoned[i]) ASAN_POISON_MEMORY_REGION(bytes + i, 1);
#endif
}

/* Writes `n` bytes into memory the library has released (a test planting the damage
 * a buggy caller would do), with the marks restored afterwards. */
inline void PokeReleased(void* at, const void* from, size_t n) {
#ifdef MEMKIT_TEST_ASAN
    std::vector<bool> poisoned(n);
    for (size_t i = 0; i < n; i++) poisoned[i] = __asan_address_is_poisoned(static_cast<char*>(at) + i);
    ASAN_UNPOISON_MEMORY_REGION(at, n);
#endif
    std::vector<char> vbits(n);
    int saved = VALGRIND_GET_VBITS(at, vbits.data(), n);
    (void)VALGRIND_MAKE_MEM_DEFINED(at, n);
    memcpy(at, from, n);
    if (saved == 1) (void)VALGRIND_SET_VBITS(at, vbits.data(), n);
#ifdef MEMKIT_TEST_ASAN
    for (size_t i = 0; i < n; i++)
        if (poisoned[i]) ASAN_POISON_MEMORY_REGION(static_cast<char*>(at) + i, 1);
#endif
}

/* A field of a destroyed handle (or any released object), read as PeekReleased does. */
template <typename T>
T ReadDestroyed(const T* field) {
    T value;
    PeekReleased(field, &value, sizeof value);
    return value;
}

/* Counts system allocations and frees; fails the fail_at-th allocation (1-based,
 * 0 = never) or every fail_every-th. Wraps malloc, so it may replace the default at
 * any time. */
struct CountingAllocator {
    std::atomic<long> allocations{0};
    std::atomic<long> frees{0};
    std::atomic<long> calls{0};
    std::atomic<long> failures{0};
    long fail_at = 0;
    long fail_every = 0;

    std::mutex mutex;
    std::map<void*, size_t> live;  // blocks this allocator handed out, by size

    static void* Alloc(void* context, size_t size) {
        auto* self = static_cast<CountingAllocator*>(context);
        if (self->ShouldFail()) return nullptr;
        void* block = std::malloc(size);
        if (block != nullptr) {
            self->allocations++;
            std::lock_guard<std::mutex> lock(self->mutex);
            self->live[block] = size;
        }
        return block;
    }
    static void* Realloc(void* context, void* block, size_t size) {
        auto* self = static_cast<CountingAllocator*>(context);
        if (self->ShouldFail()) return nullptr;
        void* resized = std::realloc(block, size);
        if (resized != nullptr) {
            if (block == nullptr) self->allocations++;
            std::lock_guard<std::mutex> lock(self->mutex);
            self->live.erase(block);
            self->live[resized] = size;
        }
        return resized;
    }
    static void Free(void* context, void* block) {
        auto* self = static_cast<CountingAllocator*>(context);
        if (block != nullptr) {
            self->frees++;
            std::lock_guard<std::mutex> lock(self->mutex);
            self->live.erase(block);
        }
        std::free(block);
    }
    /* Live blocks this allocator handed out whose size is exactly `size`. */
    size_t LiveBlocksOfSize(size_t size) {
        std::lock_guard<std::mutex> lock(mutex);
        size_t n = 0;
        for (auto& entry : live) n += entry.second == size;
        return n;
    }
    bool ShouldFail() {
        long n = ++calls;
        bool fail = (fail_at != 0 && n == fail_at) || (fail_every != 0 && n % fail_every == 0);
        if (fail) failures++;
        return fail;
    }
    long Outstanding() const { return allocations.load() - frees.load(); }
    void Install() {
        MemAllocator a = {Alloc, Realloc, Free, this};
        mem_set_allocator(&a);
    }
    static void Uninstall() { mem_set_allocator(nullptr); }
};

/* Forks `rounds` children one after another while the caller's threads keep working;
 * each child runs `child` and exits with its answer. Under valgrind it leaves through
 * exec: the busy threads' memory is reachable only from their stacks, which the child
 * does not have, so valgrind's leak check of the child would report it. A child that
 * hangs is stopped by its alarm. Stops at the first child that fails (the caller's
 * threads still get joined). */
inline void ExpectForkedChildrenSucceed(int rounds, const std::function<bool()>& child) {
    for (int round = 0; round < rounds; round++) {
        pid_t pid = fork();
        ASSERT_NE(-1, pid);
        if (pid == 0) {
            alarm(10);
            bool ok = child();
            if (RUNNING_ON_VALGRIND) {
                execl("/bin/sh", "sh", "-c", ok ? "exit 0" : "exit 1", static_cast<char*>(nullptr));
            }
            _exit(ok ? 0 : 1);
        }
        int status = 0;
        bool waited = waitpid(pid, &status, 0) == pid;
        bool passed = waited && WIFEXITED(status) && WEXITSTATUS(status) == 0;
        EXPECT_TRUE(passed) << "round " << round
                            << (waited && WIFSIGNALED(status) ? ": the child hung (stopped by its alarm)" : "");
        if (!passed) return;
    }
}

/* Records every log line while installed. */
struct LogCapture {
    std::mutex mutex;
    std::vector<std::pair<MemLogLevel, std::string>> lines;

    static void Sink(MemLogLevel level, const char* message, void* context) {
        auto* self = static_cast<LogCapture*>(context);
        std::lock_guard<std::mutex> lock(self->mutex);
        self->lines.emplace_back(level, message);
    }
    LogCapture() { mem_set_log_sink(Sink, this); }
    ~LogCapture() { mem_reset_log_sink(); }
    bool Contains(const std::string& text) {
        std::lock_guard<std::mutex> lock(mutex);
        for (auto& line : lines)
            if (line.second.find(text) != std::string::npos) return true;
        return false;
    }
};

}  // namespace memkit_test

#endif
