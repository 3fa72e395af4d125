// Error codes: every code has a distinct message and name; out-of-range values are
// answered, not crashed on; the last error is per thread.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <thread>

#include "memkit.h"

TEST(Errors, EveryCodeHasADistinctMessageAndName) {
    std::set<std::string> messages, names;
    for (int e = 0; e < MEM_ERROR_COUNT; e++) {
        messages.insert(mem_strerror(static_cast<MemError>(e)));
        names.insert(mem_error_name(static_cast<MemError>(e)));
    }
    EXPECT_EQ(static_cast<size_t>(MEM_ERROR_COUNT), messages.size());
    EXPECT_EQ(static_cast<size_t>(MEM_ERROR_COUNT), names.size());
    EXPECT_STREQ("MEM_ERR_ZERO_SIZE", mem_error_name(MEM_ERR_ZERO_SIZE));
    EXPECT_STREQ("no error", mem_strerror(MEM_OK));
}

TEST(Errors, OutOfRangeValuesAreAnswered) {
    EXPECT_STREQ("unknown error", mem_strerror(static_cast<MemError>(-1)));
    EXPECT_STREQ("unknown error", mem_strerror(MEM_ERROR_COUNT));
    EXPECT_STREQ("MEM_ERR_UNKNOWN", mem_error_name(static_cast<MemError>(1000)));
}

TEST(Errors, LastErrorIsPerThreadAndClears) {
    EXPECT_EQ(nullptr, mem_pointer_create(nullptr, 1));
    EXPECT_EQ(MEM_ERR_NULL_ARGUMENT, mem_last_error());
    MemError other = MEM_ERR_CORRUPTED;
    std::thread([&] { other = mem_last_error(); }).join();
    EXPECT_EQ(MEM_THREAD_SAFE ? MEM_OK : MEM_ERR_NULL_ARGUMENT, other);
    mem_clear_error();
    EXPECT_EQ(MEM_OK, mem_last_error());
}

TEST(Errors, AllocatorHooksRejectMissingFunctions) {
    MemAllocator incomplete = {nullptr, nullptr, nullptr, nullptr};
    EXPECT_FALSE(mem_set_allocator(&incomplete));
    EXPECT_EQ(MEM_ERR_NULL_ARGUMENT, mem_last_error());
    EXPECT_TRUE(mem_set_allocator(nullptr));
}

namespace {

int sink_depth = 0, deepest_sink = 0, sink_lines = 0;

// Calls the library from inside the sink, which its contract forbids, with a call
// that is refused and logged again.
void SinkThatCallsTheLibrary(MemLogLevel, const char*, void*) {
    sink_lines++;
    deepest_sink = std::max(deepest_sink, ++sink_depth);
    mem_free(reinterpret_cast<void*>(8));  // not a block: refused, with a warning
    sink_depth--;
}

}  // namespace

// Regression: a log sink that called the library with a call that logs recursed until
// the stack ran out (SIGSEGV). What is logged while the sink runs on that thread is
// dropped.
TEST(Errors, ALogSinkIsNotCalledFromInsideItself) {
    mem_set_log_sink(SinkThatCallsTheLibrary, nullptr);
    mem_free(reinterpret_cast<void*>(8));
    MemError error = mem_last_error();
    mem_reset_log_sink();
    EXPECT_EQ(MEM_ERR_INVALID_POINTER, error);
    EXPECT_EQ(1, sink_lines);
    EXPECT_EQ(1, deepest_sink) << "the sink was called from inside itself";
}
