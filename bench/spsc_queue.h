// spsc_queue.h - a bounded single-producer single-consumer ring for the
// producer/consumer benchmarks.
#ifndef MEMKIT_BENCH_SPSC_QUEUE_H
#define MEMKIT_BENCH_SPSC_QUEUE_H

#include <atomic>
#include <cstddef>

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

    // Consumer loop: hands every item to `consume` until `stop` is set and the ring
    // is empty.
    template <typename Consume>
    void Drain(const std::atomic<bool>& stop, Consume consume) {
        void* item;
        for (;;) {
            if (Pop(&item)) {
                consume(item);
            } else if (stop.load(std::memory_order_acquire)) {
                while (Pop(&item)) consume(item);
                return;
            }
        }
    }

  private:
    static constexpr size_t kCapacity = 1024;
    void* items_[kCapacity];
    alignas(64) std::atomic<size_t> head_{0};
    alignas(64) std::atomic<size_t> tail_{0};
};

}  // namespace bench

#endif
