// cases_refcount.cc - the refcounted buffer a server passes around: make a 256-byte
// buffer, write it, take 4 more references, drop all 5 (the last drop frees it).
//   libmemkit:       mem_pointer_create + allocate, 4 x mem_pointer_share (a handle
//                    each), 5 x mem_pointer_destroy (the last wipes).
//   GLib rc box:     g_atomic_rc_box_alloc, 4 x g_atomic_rc_box_acquire, 5 x release.
//   GBytes:          g_bytes_new_take over g_malloc, 4 x g_bytes_ref, 5 x g_bytes_unref.
//   atomic + glibc:  malloc of a header with a C11 atomic count, 4 increments,
//                    5 decrements, free at zero: the hand-rolled floor.
#include <glib.h>

#include <atomic>
#include <cstdlib>
#include <cstring>

#include "bench/cases.h"
#include "bench/memkit_pool.h"

namespace bench {

namespace {

constexpr size_t kBuffer = 256;
constexpr int kShares = 4;

struct Counted {
    std::atomic<uint32_t> count;
    unsigned char data[kBuffer];
};

template <typename Body>
uint64_t Timed(uint64_t ops, Body body) {
    uint64_t start = NowNs();
    for (uint64_t i = 0; i < ops; i++) body();
    return NowNs() - start;
}

}  // namespace

void AddRefcountCases(std::vector<Case>* cases, const std::vector<MallocApi>&, double scale) {
    const std::string group = "refcount/256";
    uint64_t ops = Scaled(2000000, scale);
    cases->push_back({group, "libmemkit", ops, [](uint64_t n) {
                          return Timed(n, [] {
                              MemoryPointer* p = MakePointer(kBuffer);
                              std::memset(p->container->data, 1, kBuffer);
                              MemoryPointer* shares[kShares];
                              for (MemoryPointer*& s : shares) s = mem_pointer_share(p, "share");
                              Keep(shares);
                              for (MemoryPointer* s : shares) DropPointer(s);
                              DropPointer(p);
                          });
                      }});
    cases->push_back({group, "GLib rc box", ops, [](uint64_t n) {
                          return Timed(n, [] {
                              void* box = g_atomic_rc_box_alloc(kBuffer);
                              std::memset(box, 1, kBuffer);
                              void* refs[kShares];
                              for (void*& r : refs) r = g_atomic_rc_box_acquire(box);
                              Keep(refs);
                              for (void* r : refs) g_atomic_rc_box_release(r);
                              g_atomic_rc_box_release(box);
                          });
                      }});
    cases->push_back({group, "GBytes", ops, [](uint64_t n) {
                          return Timed(n, [] {
                              void* data = g_malloc(kBuffer);
                              std::memset(data, 1, kBuffer);
                              GBytes* bytes = g_bytes_new_take(data, kBuffer);
                              GBytes* refs[kShares];
                              for (GBytes*& r : refs) r = g_bytes_ref(bytes);
                              Keep(refs);
                              for (GBytes* r : refs) g_bytes_unref(r);
                              g_bytes_unref(bytes);
                          });
                      }});
    cases->push_back({group, "atomic + glibc", ops, [](uint64_t n) {
                          return Timed(n, [] {
                              Counted* c = static_cast<Counted*>(std::malloc(sizeof(Counted)));
                              c->count.store(1, std::memory_order_relaxed);
                              std::memset(c->data, 1, kBuffer);
                              for (int i = 0; i < kShares; i++) c->count.fetch_add(1, std::memory_order_relaxed);
                              Keep(c);
                              for (int i = 0; i <= kShares; i++) {
                                  if (c->count.fetch_sub(1, std::memory_order_acq_rel) == 1) std::free(c);
                              }
                          });
                      }});
}

}  // namespace bench
