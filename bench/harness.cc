// harness.cc - clocks, resident memory and the threads of a case.
#include "bench/harness.h"

#include <time.h>

#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>

namespace bench {

uint64_t NowNs() {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return static_cast<uint64_t>(now.tv_sec) * 1000000000u + static_cast<uint64_t>(now.tv_nsec);
}

static uint64_t StatusKb(const char* field) {
    FILE* f = std::fopen("/proc/self/status", "r");
    if (f == nullptr) return 0;
    char line[256];
    uint64_t kb = 0;
    size_t length = std::strlen(field);
    while (std::fgets(line, sizeof line, f) != nullptr) {
        if (std::strncmp(line, field, length) == 0) {
            kb = std::strtoull(line + length, nullptr, 10);
            break;
        }
    }
    std::fclose(f);
    return kb;
}

uint64_t ResidentBytes() { return StatusKb("VmRSS:") * 1024; }
uint64_t PeakResidentBytes() { return StatusKb("VmHWM:") * 1024; }

uint64_t TimeThreads(int threads, const std::function<void(int index)>& body) {
    std::mutex mutex;
    std::condition_variable go;
    int waiting = 0;
    bool started = false;
    std::atomic<int> running{threads};
    std::atomic<uint64_t> end{0};
    uint64_t start = 0;
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; t++) {
        pool.emplace_back([&, t] {
            {
                std::unique_lock<std::mutex> lock(mutex);
                waiting++;
                go.notify_all();
                go.wait(lock, [&] { return started; });
            }
            body(t);
            if (running.fetch_sub(1) == 1) end.store(NowNs());
        });
    }
    {
        std::unique_lock<std::mutex> lock(mutex);
        go.wait(lock, [&] { return waiting == threads; });
        start = NowNs();
        started = true;
    }
    go.notify_all();
    for (std::thread& thread : pool) thread.join();
    return end.load() - start;
}

}  // namespace bench
