// The seed README's snippets, compiled unchanged (seed_snippets.c, seed_config.c,
// examples/quickstart.c) and run.
#include <gtest/gtest.h>

#include "memkit.h"
#include "seed_snippets.h"
#include "test_support.h"

TEST(SeedSnippets, ArenaSnippetRuns) { EXPECT_EQ(0, seed_arena_snippet()); }

TEST(SeedSnippets, DebugSnippetValidatesAndDumps) {
    testing::internal::CaptureStdout();
    EXPECT_EQ(0, seed_debug_snippet());
    std::string dump = testing::internal::GetCapturedStdout();
    EXPECT_NE(std::string::npos, dump.find("1 live"));
    EXPECT_NE(std::string::npos, dump.find("live   refs 1 size 64"));
}

TEST(SeedSnippets, OomHandlerSnippetIsCalledOnFailure) {
    memkit_test::CountingAllocator counting;
    counting.fail_every = 1;  // every system allocation fails
    seed_install_oom_handler();
    int before = seed_oom_handler_calls;
    counting.Install();
    MemoryPool pool;
    EXPECT_FALSE(mem_pool_init(&pool, 16));
    memkit_test::CountingAllocator::Uninstall();
    mem_set_oom_handler(nullptr);
    EXPECT_EQ(MEM_ERR_OUT_OF_MEMORY, mem_last_error());
    EXPECT_EQ(before + 1, seed_oom_handler_calls);
}

#if MEM_THREAD_SAFE
TEST(SeedSnippets, ConfigurationMacrosAreOverridable) { EXPECT_EQ(1, seed_config_values_ok()); }
#endif
