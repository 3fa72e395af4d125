// The leak report a process prints at exit: every pointer handle still live, by name,
// with what it holds; a long list is cut after 64 names with a count of the rest.
// Each case runs in a child process (a GoogleTest death test) so that its exit, and
// nothing else of this binary, produces the report.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "memkit.h"

namespace {

class LeakReport : public ::testing::Test {
protected:
    void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

TEST_F(LeakReport, ProcessExitNamesEveryLiveHandle) {
    EXPECT_EXIT(
        {
            static MemoryPool pool;
            if (!mem_pool_init(&pool, 4)) std::abort();
            MemoryPointer* held = mem_pointer_create("session buffer", 64);
            if (held == nullptr || !mem_pointer_allocate(held, 64, &pool)) std::abort();
            if (mem_pointer_create("never allocated", 0) == nullptr) std::abort();
            std::exit(0);  // the pool and both handles are left behind
        },
        ::testing::ExitedWithCode(0),
        // Listed in container order: the unallocated handle (NULL) first.
        "process ends with 2 live pointer handle\\(s\\).*"
        "\"never allocated\" -> nothing \\(never allocated\\).*"
        "\"session buffer\" -> a container");
}

TEST_F(LeakReport, ALongListIsCutWithACount) {
    EXPECT_EXIT(
        {
            for (int i = 0; i < 100; i++) {
                if (mem_pointer_create(("leak " + std::to_string(i)).c_str(), 0) == nullptr) std::abort();
            }
            std::exit(0);
        },
        ::testing::ExitedWithCode(0), "process ends with 100 live pointer handle\\(s\\).*\\.\\.\\. and 36 more");
}

// Warnings and errors to stderr; debug builds' tracing left out.
void WarningsToStderr(MemLogLevel level, const char* message, void*) {
    if (level >= MEM_LOG_WARNING) std::fprintf(stderr, "%s\n", message);
}

TEST_F(LeakReport, ACleanProcessPrintsNothing) {
    EXPECT_EXIT(
        {
            mem_set_log_sink(WarningsToStderr, nullptr);
            MemoryPool pool;
            if (!mem_pool_init(&pool, 4)) std::abort();
            MemoryPointer* p = mem_pointer_create("tidy", 64);
            if (p == nullptr || !mem_pointer_allocate(p, 64, &pool) || !mem_pointer_destroy(p, &pool)) std::abort();
            mem_pool_destroy(&pool);
            std::fputs("clean exit\n", stderr);
            std::exit(0);
        },
        ::testing::ExitedWithCode(0), "^clean exit\n$");
}

}  // namespace
