// spsc_queue.h - a bounded single-producer single-consumer ring for the
// producer/consumer workloads.
#ifndef MEMKIT_BENCH_SPSC_QUEUE_H
#define MEMKIT_BENCH_SPSC_QUEUE_H

#include <atomic>
#include <cstddef>
#include <thread>

namespace bench {

class SpscQueue {
  public:
    bool Push(void* item) {
        size_t tail = tail_.load(std::memory_order_relaxed);
        if (tail - head_.load(std::memory_order_acquire) == kCapacity) return false;
        items_[tail % kCapacity] = item;
        tail_.store(tail + 1, std::memory_order_release);
        return true;
    }
    bool Pop(void** item) {
        size_t head = head_.load(std::memory_order_relaxed);
        if (head == tail_.load(std::memory_order_acquire)) return false;
        *item = items_[head % kCapacity];
        head_.store(head + 1, std::memory_order_release);
        return true;
    }
    // Blocking forms: the other side may need this thread's CPU (more threads than
    // cores), so a full or empty ring yields.
    void PushWaiting(void* item) {
        while (!Push(item)) std::this_thread::yield();
    }
    void* PopWaiting() {
        void* item;
        while (!Pop(&item)) std::this_thread::yield();
        return item;
    }

  private:
    static constexpr size_t kCapacity = 1024;
    void* items_[kCapacity];
    alignas(64) std::atomic<size_t> head_{0};
    alignas(64) std::atomic<size_t> tail_{0};
};

}  // namespace bench

#endif
