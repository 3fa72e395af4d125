// Error codes: every code has a distinct message and name; out-of-range values are
// answered, not crashed on; the last error is per thread.
#include <gtest/gtest.h>

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
