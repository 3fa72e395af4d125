/*
 * test_support.h - shared test fixtures: a counting / failing system allocator
 * installed through mem_set_allocator, and a log sink that records messages.
 */
#ifndef MEMKIT_TESTS_TEST_SUPPORT_H
#define MEMKIT_TESTS_TEST_SUPPORT_H

#include <atomic>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "memkit.h"

namespace memkit_test {

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
