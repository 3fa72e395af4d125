// spsc_queue.h - a bounded single-producer single-consumer ring, and a channel of
// object batches over two of them, for the producer/consumer workloads.
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

// Objects handed from one producer to one consumer in batches of kBatchSize, as
// xmalloc-test does: one handoff per batch, so what is measured is the allocators'
// cross-thread frees rather than a cache line bouncing per object. At most
// kBatches batches exist (kBatches * kBatchSize objects in flight); the consumer gives
// each emptied batch back to the producer.
class BatchChannel {
  public:
    static constexpr size_t kBatchSize = 64;
    static constexpr size_t kBatches = 16;
    struct Batch {
        void* items[kBatchSize];
    };

    BatchChannel() {
        for (Batch& batch : batches_) empty_.PushWaiting(&batch);
    }
    // Producer side: an empty batch to fill, then the filled batch.
    Batch* TakeEmpty() { return static_cast<Batch*>(empty_.PopWaiting()); }
    void SendFull(Batch* batch) { full_.PushWaiting(batch); }
    // Consumer side: a full batch, then the emptied batch back.
    Batch* TakeFull() { return static_cast<Batch*>(full_.PopWaiting()); }
    void ReturnEmpty(Batch* batch) { empty_.PushWaiting(batch); }

  private:
    Batch batches_[kBatches];
    SpscQueue full_;
    SpscQueue empty_;
};

}  // namespace bench

#endif
