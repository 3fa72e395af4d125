// cases_server.cc - server traffic between threads, after mimalloc-bench's shapes:
//   larson/T    each of T threads keeps 1000 live objects of 64-256 bytes and
//               replaces random ones (free + allocate + write); every 10,000
//               operations it swaps its whole set with the one waiting in a shared
//               mailbox, so objects made on one thread are freed on another.
//   xmalloc/T   T/2 producers allocate 64-256 byte objects, write them and pass
//               them in batches of 64 to a consumer of their own, which reads and
//               frees them: everything is freed on a thread that did not make it.
//   replace/N   one thread keeps 1000 live objects of N bytes and replaces random
//               ones (larson's loop in one size class, nothing handed over): its
//               pages get blocks back one at a time.
// libmemkit runs them with handles (mem_pointer_create + allocate / destroy), the
// peers with malloc / free. Throughput: operations (larson) or objects (xmalloc)
// per second over all threads.
#include <cstring>
#include <memory>

#include "bench/cases.h"
#include "bench/memkit_pool.h"
#include "bench/server_workloads.h"
#include "bench/spsc_queue.h"

namespace bench {

ObjectApi MemkitObjects() {
    return {"libmemkit", [](size_t size) -> void* { return MakePointer(size); },
            [](void* object) { return static_cast<unsigned char*>(static_cast<MemoryPointer*>(object)->container->data); },
            [](void* object) { DropPointer(static_cast<MemoryPointer*>(object)); }};
}

std::vector<ObjectApi> ObjectApis(const std::vector<MallocApi>& peers, bool threaded) {
    std::vector<ObjectApi> apis;
    if (MEM_THREAD_SAFE || !threaded) apis.push_back(MemkitObjects());
    for (const MallocApi& api : peers) {
        apis.push_back({api.name, api.malloc, [](void* object) { return static_cast<unsigned char*>(object); }, api.free});
    }
    return apis;
}

namespace {

constexpr size_t kLarsonLive = 1000;
constexpr uint64_t kLarsonHandEvery = 10000;

std::vector<void*> LarsonSet(const ObjectApi& api, Random* random) {
    std::vector<void*> set(kLarsonLive);
    for (void*& object : set) {
        size_t size = random->Between(64, 256);
        object = api.alloc(size);
        api.data(object)[0] = 1;
    }
    return set;
}

void FreeSet(const ObjectApi& api, std::vector<void*>* set) {
    for (void* object : *set) api.release(object);
    set->clear();
}

}  // namespace

uint64_t RunLarson(const ObjectApi& api, int threads, uint64_t ops) {
    Random setup(1);
    std::unique_ptr<std::vector<void*>> waiting(new std::vector<void*>(LarsonSet(api, &setup)));
    std::atomic<std::vector<void*>*> mailbox{waiting.release()};
    uint64_t per_thread = ops / static_cast<uint64_t>(threads);
    uint64_t ns = TimeThreads(threads, [&](int index) {
        Random random(static_cast<uint64_t>(index) + 2);
        std::vector<void*>* set = new std::vector<void*>(LarsonSet(api, &random));
        for (uint64_t i = 0; i < per_thread; i++) {
            size_t slot = random.Next() % kLarsonLive;
            api.release((*set)[slot]);
            size_t size = random.Between(64, 256);
            void* object = api.alloc(size);
            std::memset(api.data(object), static_cast<int>(i), 8);
            (*set)[slot] = object;
            if (i % kLarsonHandEvery == kLarsonHandEvery - 1) set = mailbox.exchange(set);
        }
        FreeSet(api, set);
        delete set;
    });
    std::vector<void*>* last = mailbox.load();
    FreeSet(api, last);
    delete last;
    return ns;
}

uint64_t RunXmalloc(const ObjectApi& api, int threads, uint64_t objects) {
    int pairs = threads / 2;
    std::vector<std::unique_ptr<BatchChannel>> channels;
    for (int p = 0; p < pairs; p++) channels.emplace_back(new BatchChannel());
    constexpr uint64_t kBatch = BatchChannel::kBatchSize;
    uint64_t batches = objects / static_cast<uint64_t>(pairs) / kBatch;
    return TimeThreads(threads, [&](int index) {
        BatchChannel& channel = *channels[static_cast<size_t>(index / 2)];
        if (index % 2 == 0) {
            Random random(static_cast<uint64_t>(index) + 7);
            for (uint64_t b = 0; b < batches; b++) {
                BatchChannel::Batch* batch = channel.TakeEmpty();
                for (uint64_t i = 0; i < kBatch; i++) {
                    void* object = api.alloc(random.Between(64, 256));
                    std::memset(api.data(object), static_cast<int>(i), 16);
                    batch->items[i] = object;
                }
                channel.SendFull(batch);
            }
        } else {
            for (uint64_t b = 0; b < batches; b++) {
                BatchChannel::Batch* batch = channel.TakeFull();
                for (void* object : batch->items) {
                    Keep(api.data(object)[0]);
                    api.release(object);
                }
                channel.ReturnEmpty(batch);
            }
        }
    });
}

namespace {

uint64_t RunReplace(const ObjectApi& api, size_t size, uint64_t ops) {
    std::vector<void*> set(kLarsonLive);
    for (void*& object : set) {
        object = api.alloc(size);
        api.data(object)[0] = 1;
    }
    Random random(3);
    uint64_t start = NowNs();
    for (uint64_t i = 0; i < ops; i++) {
        void*& slot = set[random.Next() % kLarsonLive];
        api.release(slot);
        slot = api.alloc(size);
        std::memset(api.data(slot), static_cast<int>(i), 8);
    }
    uint64_t ns = NowNs() - start;
    FreeSet(api, &set);
    return ns;
}

}  // namespace

void AddServerCases(std::vector<Case>* cases, const std::vector<MallocApi>& peers, double scale) {
    for (const ObjectApi& api : ObjectApis(peers, false)) {
        cases->push_back({"replace/128", api.name, Scaled(4000000, scale),
                          [api](uint64_t n) { return RunReplace(api, 128, n); }});
    }
    for (int threads : {2, 4}) {
        for (const ObjectApi& api : ObjectApis(peers, true)) {
            cases->push_back({"larson/" + std::to_string(threads), api.name, Scaled(4000000, scale),
                              [api, threads](uint64_t n) { return RunLarson(api, threads, n); }});
            cases->push_back({"xmalloc/" + std::to_string(threads), api.name, Scaled(2000000, scale),
                              [api, threads](uint64_t n) { return RunXmalloc(api, threads, n); }});
        }
    }
}

}  // namespace bench
