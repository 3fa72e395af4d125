// Run under LD_PRELOAD=libmemkit_malloc.so by tests/preload_test.sh: proves that
// malloc, C++'s new/delete (through libstdc++), posix_memalign and realloc reach
// libmemkit's default pool (its statistics move), that blocks freed on other threads
// are accepted, and that a fork while other threads allocate leaves a child that
// can allocate. Not linked with libmemkit: it finds the preloaded one with dlsym.
#include <dlfcn.h>
#include <malloc.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "memkit.h"

namespace {

MemoryPool* (*default_pool)();
bool (*pool_stats)(MemoryPool*, MemPoolStats*);
bool (*pool_validate)(MemoryPool*);

size_t Live() {
    MemPoolStats stats;
    if (!pool_stats(default_pool(), &stats)) std::abort();
    return stats.live_containers;
}

int Fail(const char* what) {
    std::printf("preload probe: FAILED: %s\n", what);
    return 1;
}

struct alignas(64) Line {
    char bytes[64];
};

}  // namespace

int main() {
    default_pool = reinterpret_cast<MemoryPool* (*)()>(dlsym(RTLD_DEFAULT, "mem_default_pool"));
    pool_stats = reinterpret_cast<bool (*)(MemoryPool*, MemPoolStats*)>(dlsym(RTLD_DEFAULT, "mem_pool_stats"));
    pool_validate = reinterpret_cast<bool (*)(MemoryPool*)>(dlsym(RTLD_DEFAULT, "mem_pool_validate"));
    if (!default_pool || !pool_stats || !pool_validate) return Fail("libmemkit_malloc.so is not preloaded");

    size_t before = Live();
    std::vector<std::unique_ptr<std::string>> strings;
    for (int i = 0; i < 1000; i++) strings.emplace_back(new std::string(100 + i % 50, 'x'));
    auto* line = new Line;
    if (reinterpret_cast<uintptr_t>(line) % 64 != 0) return Fail("aligned new");
    void* aligned = nullptr;
    if (posix_memalign(&aligned, 4096, 100) != 0 || reinterpret_cast<uintptr_t>(aligned) % 4096 != 0)
        return Fail("posix_memalign");
    char* grown = static_cast<char*>(std::malloc(10));
    std::strcpy(grown, "realloc");
    grown = static_cast<char*>(std::realloc(grown, 100000));
    if (std::strcmp(grown, "realloc") != 0 || malloc_usable_size(grown) < 100000) return Fail("realloc");
    if (Live() < before + 1000 + 3) return Fail("new and malloc did not reach the default pool");
    strings.clear();
    delete line;
    std::free(aligned);
    std::free(grown);
    if (Live() > before + 10) return Fail("delete and free did not give the blocks back");

    // Threads hand blocks to each other; one of them forks meanwhile.
    std::atomic<bool> stop{false};
    std::atomic<void*> slot{nullptr};
    std::vector<std::thread> threads;
    for (int t = 0; t < 3; t++) {
        threads.emplace_back([&, t] {
            for (unsigned i = 0; !stop.load(); i++) {
                void* mine = std::malloc(16 + (i * 7 + static_cast<unsigned>(t)) % 3000);
                std::memset(mine, t, 16);
                std::free(slot.exchange(mine));  // frees what another thread made
            }
        });
    }
    for (int round = 0; round < 20; round++) {
        pid_t child = fork();
        if (child == 0) {
            std::vector<std::string> in_child(2000, std::string(64, 'c'));
            void* big = std::malloc(1 << 20);
            _exit(big != nullptr && pool_validate(default_pool()) ? 0 : 1);
        }
        int status = 0;
        if (child < 0 || waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
            return Fail("a child forked while threads allocate");
    }
    stop = true;
    for (auto& t : threads) t.join();
    std::free(slot.exchange(nullptr));
    if (!pool_validate(default_pool())) return Fail("the default pool does not validate");
    std::printf("preload probe: ok\n");
    return 0;
}
