// cases_pointer.cc - a pointer's life against malloc's, on one thread and several:
//   lifecycle/N      libmemkit: create + allocate N bytes + write them + destroy (which
//                    wipes). Peers: malloc + memset + memset before free + free.
//   threads/1024/T   the 1 KiB lifecycle on T threads at once (throughput).
//   share_release/T  mem_pointer_share + mem_pointer_destroy of the share, on one
//                    container, from T threads.
//   cow/4096         copy-on-write of a shared 4 KiB container (share, write, destroy)
//                    against malloc + memcpy + free.
#include <cstring>

#include "bench/cases.h"
#include "bench/memkit_pool.h"

namespace bench {

namespace {

uint64_t MemkitLifecycle(size_t size, uint64_t ops) {
    uint64_t start = NowNs();
    for (uint64_t i = 0; i < ops; i++) {
        MemoryPointer* p = MakePointer(size);
        std::memset(p->container->data, 0x5A, size);
        Keep(p->container->data);
        DropPointer(p);
    }
    return NowNs() - start;
}

void MallocLifecycleLoop(const MallocApi& api, size_t size, uint64_t ops) {
    for (uint64_t i = 0; i < ops; i++) {
        char* p = static_cast<char*>(api.malloc(size));
        std::memset(p, 0x5A, size);
        Keep(p);
        std::memset(p, 0, size);
        Clobber();
        api.free(p);
    }
}

// Share + release of one 64-byte container. `owner`: the timed thread made it, so its
// references are counted with plain stores (biased counting); else the container is
// another thread's and every share and release is an atomic read-modify-write.
uint64_t ShareRelease(int threads, uint64_t ops, bool owner) {
    MemoryPointer* root = owner ? nullptr : MakePointer(64);
    uint64_t ns = TimeThreads(threads, [&](int) {
        MemoryPointer* own = owner ? MakePointer(64) : root;
        // A local: the loop's bound stays in a register. Computed in the condition, it
        // was reloaded after each Keep's memory clobber and divided again: a 64-bit
        // `div` per share + release, about a fifth of the time measured.
        const uint64_t per_thread = ops / static_cast<uint64_t>(threads);
        for (uint64_t i = 0; i < per_thread; i++) {
            MemoryPointer* s = mem_pointer_share(own, "share");
            Keep(s);
            DropPointer(s);
        }
        if (owner) DropPointer(own);
    });
    if (!owner) DropPointer(root);
    return ns;
}

}  // namespace

void AddPointerCases(std::vector<Case>* cases, const std::vector<MallocApi>& peers, double scale) {
    for (size_t size : {size_t{64}, size_t{1024}, size_t{16384}}) {
        std::string group = "lifecycle/" + std::to_string(size);
        uint64_t ops = Scaled(size <= 1024 ? 4000000 : 400000, scale);
        cases->push_back({group, "libmemkit", ops, [size](uint64_t n) { return MemkitLifecycle(size, n); }});
        for (const MallocApi& api : peers) {
            cases->push_back({group, api.name, ops, [api, size](uint64_t n) {
                                  uint64_t start = NowNs();
                                  MallocLifecycleLoop(api, size, n);
                                  return NowNs() - start;
                              }});
        }
    }
    for (int threads : {1, 2, 4}) {
        std::string group = "threads/1024/" + std::to_string(threads);
        uint64_t ops = Scaled(4000000, scale);
        if (MEM_THREAD_SAFE) {  // the single-threaded build runs libmemkit on one thread only
            cases->push_back({group, "libmemkit", ops, [threads](uint64_t n) {
                                  return TimeThreads(threads, [&](int) {
                                      MemkitLifecycle(1024, n / static_cast<uint64_t>(threads));
                                  });
                              }});
        }
        for (const MallocApi& api : peers) {
            cases->push_back({group, api.name, ops, [api, threads](uint64_t n) {
                                  return TimeThreads(threads, [&](int) {
                                      MallocLifecycleLoop(api, 1024, n / static_cast<uint64_t>(threads));
                                  });
                              }});
        }
    }
    cases->push_back({"share_release/owner", "libmemkit", Scaled(10000000, scale),
                      [](uint64_t n) { return ShareRelease(1, n, true); }});
    for (int threads : {1, 2}) {
        if (threads > 1 && !MEM_THREAD_SAFE) continue;
        cases->push_back({"share_release/" + std::to_string(threads), "libmemkit", Scaled(10000000, scale),
                          [threads](uint64_t n) { return ShareRelease(threads, n, false); }});
    }
    std::string group = "cow/4096";
    uint64_t ops = Scaled(1000000, scale);
    cases->push_back({group, "libmemkit", ops, [](uint64_t n) {
                          MemoryPointer* root = MakePointer(4096);
                          std::memset(root->container->data, 'x', 4096);
                          uint64_t start = NowNs();
                          for (uint64_t i = 0; i < n; i++) {
                              MemoryPointer* s = mem_pointer_share(root, "share");
                              void* copy = mem_pointer_write(s, BenchPool());
                              Keep(copy);
                              DropPointer(s);
                          }
                          uint64_t ns = NowNs() - start;
                          DropPointer(root);
                          return ns;
                      }});
    for (const MallocApi& api : peers) {
        cases->push_back({group, api.name, ops, [api](uint64_t n) {
                              std::vector<char> source(4096, 'x');
                              uint64_t start = NowNs();
                              for (uint64_t i = 0; i < n; i++) {
                                  char* copy = static_cast<char*>(api.malloc(4096));
                                  std::memcpy(copy, source.data(), 4096);
                                  Keep(copy);
                                  api.free(copy);
                              }
                              return NowNs() - start;
                          }});
    }
}

}  // namespace bench
