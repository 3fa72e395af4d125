// cases_request.cc - the per-request cycle: 32 allocations of 16-512 bytes (the same
// seeded sizes for everyone), touch each, then give everything back at once.
//   libmemkit:        mem_request_arena_acquire, 32 x mem_arena_alloc, release (which
//                     wipes every used byte).
//   APR pool:         one pool per thread, 32 x apr_palloc, apr_pool_clear; "+ wipe"
//                     memsets each block before the clear.
//   talloc pool:      talloc_pool(NULL, 16 KiB) per request (as Samba's stackframes),
//                     32 x talloc_size, talloc_free; "+ wipe" as above.
//   malloc peers:     32 x malloc, 32 x free (last in, first out); "+ wipe" memsets
//                     each block before its free.
//   bump + wipe:      the floor: bump allocation inline from one buffer, one memset of
//                     the used bytes at the end; "in 2 KiB pieces" wipes as libmemkit's
//                     release does (memset calls of at most 2 KiB, which glibc serves
//                     with its vector loop instead of `rep stosb`); "no wipe" is the
//                     allocations alone, and libmemkit's "acquire + release alone"
//                     a request that allocates nothing: what the wipe and the request
//                     arena's own calls cost.
#include <apr_pools.h>
#include <talloc.h>

#include <cstdlib>
#include <cstring>

#include "bench/cases.h"
#include "memkit.h"

namespace bench {

namespace {

constexpr int kAllocations = 32;

const size_t* RequestSizes() {
    static size_t sizes[kAllocations];
    static bool ready = [] {
        Random random(2026);
        for (size_t& size : sizes) size = random.Between(16, 512);
        return true;
    }();
    (void)ready;
    return sizes;
}

template <typename Body>
uint64_t Timed(uint64_t ops, Body body) {
    uint64_t start = NowNs();
    for (uint64_t i = 0; i < ops; i++) body();
    return NowNs() - start;
}

template <bool kWipe>
void MallocRequest(const MallocApi& api) {
    const size_t* sizes = RequestSizes();
    void* blocks[kAllocations];
    for (int i = 0; i < kAllocations; i++) {
        blocks[i] = api.malloc(sizes[i]);
        static_cast<char*>(blocks[i])[0] = static_cast<char>(i);
        Keep(blocks[i]);
    }
    for (int i = kAllocations - 1; i >= 0; i--) {
        if (kWipe) {
            std::memset(blocks[i], 0, sizes[i]);
            Clobber();
        }
        api.free(blocks[i]);
    }
}

template <bool kWipe>
void AprRequest(apr_pool_t* pool) {
    const size_t* sizes = RequestSizes();
    void* blocks[kAllocations];
    for (int i = 0; i < kAllocations; i++) {
        blocks[i] = apr_palloc(pool, sizes[i]);
        static_cast<char*>(blocks[i])[0] = static_cast<char>(i);
        Keep(blocks[i]);
    }
    if (kWipe) {
        for (int i = 0; i < kAllocations; i++) std::memset(blocks[i], 0, sizes[i]);
        Clobber();
    }
    apr_pool_clear(pool);
}

template <bool kWipe>
void TallocRequest() {
    const size_t* sizes = RequestSizes();
    void* request = talloc_pool(nullptr, 16384);
    void* blocks[kAllocations];
    for (int i = 0; i < kAllocations; i++) {
        blocks[i] = talloc_size(request, sizes[i]);
        static_cast<char*>(blocks[i])[0] = static_cast<char>(i);
        Keep(blocks[i]);
    }
    if (kWipe) {
        for (int i = 0; i < kAllocations; i++) std::memset(blocks[i], 0, sizes[i]);
        Clobber();
    }
    talloc_free(request);
}

// How the floor gives its used bytes back: one memset, memsets of at most 2 KiB, or no
// wipe at all (what the wipe costs, against the other two).
enum class FloorWipe { kOneMemset, kPieces, kNone };

// The floor: bump allocation inline from one buffer, then its used bytes wiped.
template <FloorWipe kWipe>
uint64_t BumpFloor(uint64_t ops) {
    const size_t* sizes = RequestSizes();
    alignas(64) static char buffer[64 * 1024];
    return Timed(ops, [sizes] {
        size_t used = 0;
        for (int i = 0; i < kAllocations; i++) {
            char* p = buffer + used;
            used += (sizes[i] + 15) & ~size_t{15};
            p[0] = static_cast<char>(i);
            Keep(p);
        }
        if (kWipe == FloorWipe::kPieces) {
            volatile size_t piece_size = 2048;  // a constant would become `rep stosq`
            size_t piece = piece_size;
            size_t at = 0;
            for (; used - at > piece; at += piece) std::memset(buffer + at, 0, piece);
            std::memset(buffer + at, 0, used - at);
        } else if (kWipe == FloorWipe::kOneMemset) {
            std::memset(buffer, 0, used);
        }
        Clobber();
    });
}

apr_pool_t* AprPool() {
    static apr_pool_t* pool = [] {
        apr_pool_t* p = nullptr;
        if (apr_initialize() != APR_SUCCESS || apr_pool_create(&p, nullptr) != APR_SUCCESS) std::abort();
        return p;
    }();
    return pool;
}

}  // namespace

void AddRequestCases(std::vector<Case>* cases, const std::vector<MallocApi>& peers, double scale) {
    const std::string group = "request";
    uint64_t ops = Scaled(500000, scale);
    cases->push_back({group, "libmemkit", ops, [](uint64_t n) {
                          const size_t* sizes = RequestSizes();
                          return Timed(n, [sizes] {
                              MemoryArena* arena = mem_request_arena_acquire();
                              for (int i = 0; i < kAllocations; i++) {
                                  char* p = static_cast<char*>(mem_arena_alloc(arena, sizes[i]));
                                  p[0] = static_cast<char>(i);
                                  Keep(p);
                              }
                              mem_request_arena_release(arena);
                          });
                      }});
    cases->push_back({group, "libmemkit acquire + release alone", ops, [](uint64_t n) {
                          return Timed(n, [] {
                              MemoryArena* arena = mem_request_arena_acquire();
                              Keep(arena);
                              mem_request_arena_release(arena);
                          });
                      }});
    cases->push_back({group, "bump + wipe (floor)", ops, BumpFloor<FloorWipe::kOneMemset>});
    cases->push_back({group, "bump + wipe in 2 KiB pieces", ops, BumpFloor<FloorWipe::kPieces>});
    cases->push_back({group, "bump, no wipe", ops, BumpFloor<FloorWipe::kNone>});
    cases->push_back({group, "APR pool", ops, [](uint64_t n) { return Timed(n, [] { AprRequest<false>(AprPool()); }); }});
    cases->push_back(
        {group, "APR pool + wipe", ops, [](uint64_t n) { return Timed(n, [] { AprRequest<true>(AprPool()); }); }});
    cases->push_back({group, "talloc pool", ops, [](uint64_t n) { return Timed(n, [] { TallocRequest<false>(); }); }});
    cases->push_back(
        {group, "talloc pool + wipe", ops, [](uint64_t n) { return Timed(n, [] { TallocRequest<true>(); }); }});
    for (const MallocApi& api : peers) {
        cases->push_back({group, api.name, ops, [api](uint64_t n) { return Timed(n, [&] { MallocRequest<false>(api); }); }});
        cases->push_back(
            {group, api.name + " + wipe", ops, [api](uint64_t n) { return Timed(n, [&] { MallocRequest<true>(api); }); }});
    }
}

}  // namespace bench
