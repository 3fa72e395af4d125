// memory.cc - resident memory, each workload run once per contender in a process of
// its own (the process's resident set is what is measured):
//   per_object/64    1,000,000 live 64-byte objects: resident bytes per object
//                    (libmemkit: a handle and its container each).
//   xmalloc_growth   the producer/consumer workload (2 threads) over 5.9 million
//                    objects: how much the resident set grew (MiB), at its peak and
//                    once the run is over.
//   churn            a seeded churn of mixed sizes (64 B-128 KiB, 20,000 live, 400,000
//                    replacements): resident KiB added while the working set is live,
//                    and after everything was freed.
#include <glib.h>

#include <cstring>

#include "bench/cases.h"
#include "bench/memkit_pool.h"
#include "bench/server_workloads.h"

namespace bench {

namespace {

constexpr double kMiB = 1024.0 * 1024.0;

// What the resident set grew by from `before` to `after` (negative if it shrank).
double Growth(uint64_t before, uint64_t after) { return static_cast<double>(after) - static_cast<double>(before); }

bool FindObjectApi(const std::string& contender, const std::vector<MallocApi>& peers, ObjectApi* found) {
    for (const ObjectApi& api : ObjectApis(peers, false)) {
        if (api.name == contender) {
            *found = api;
            return true;
        }
    }
    return false;
}

void PerObject(const ObjectApi& api, uint64_t count, std::vector<std::pair<std::string, double>>* out) {
    std::vector<void*> objects(count);
    uint64_t before = ResidentBytes();
    for (void*& object : objects) {
        object = api.alloc(64);
        std::memset(api.data(object), 1, 64);
    }
    uint64_t after = ResidentBytes();
    out->push_back({"bytes_per_object", Growth(before, after) / static_cast<double>(count)});
    for (void* object : objects) api.release(object);
}

void Churn(const ObjectApi& api, double scale, std::vector<std::pair<std::string, double>>* out) {
    constexpr size_t kLive = 20000;
    std::vector<void*> live(kLive, nullptr);
    Random random(12345);
    uint64_t before = ResidentBytes();
    uint64_t steps = Scaled(400000, scale);
    for (uint64_t step = 0; step < steps; step++) {
        uint64_t r = random.Next();
        size_t slot = r % kLive;
        if (live[slot] != nullptr) api.release(live[slot]);
        size_t size = size_t{64} << ((r >> 32) % 11);  // 64 B .. 64 KiB, then up to 2x
        size += (r >> 40) % size;
        live[slot] = api.alloc(size);
        std::memset(api.data(live[slot]), 1, size);
    }
    uint64_t with_live = ResidentBytes();
    for (void* object : live) {
        if (object != nullptr) api.release(object);
    }
    uint64_t after = ResidentBytes();
    out->push_back({"live_kib", Growth(before, with_live) / 1024.0});
    out->push_back({"after_free_kib", Growth(before, after) / 1024.0});
}

}  // namespace

std::vector<std::string> MemoryWorkloads() { return {"per_object/64", "xmalloc_growth", "churn"}; }

std::vector<std::string> MemoryContenders(const std::string& workload, const std::vector<MallocApi>& peers) {
    std::vector<std::string> names;
    for (const ObjectApi& api : ObjectApis(peers, workload == "xmalloc_growth")) names.push_back(api.name);
    if (workload == "per_object/64") names.push_back("GLib rc box");
    return names;
}

bool RunMemoryWorkload(const std::string& workload, const std::string& contender, const std::vector<MallocApi>& peers,
                       double scale, std::vector<std::pair<std::string, double>>* out) {
    uint64_t count = Scaled(1000000, scale);
    if (workload == "per_object/64" && contender == "GLib rc box") {
        std::vector<void*> boxes(count);
        uint64_t before = ResidentBytes();
        for (void*& box : boxes) {
            box = g_atomic_rc_box_alloc(64);
            std::memset(box, 1, 64);
        }
        out->push_back({"bytes_per_object", Growth(before, ResidentBytes()) / static_cast<double>(count)});
        for (void* box : boxes) g_atomic_rc_box_release(box);
        return true;
    }
    ObjectApi api;
    if (!FindObjectApi(contender, peers, &api)) return false;
    if (workload == "per_object/64") {
        PerObject(api, count, out);
    } else if (workload == "xmalloc_growth") {
        if (contender == "libmemkit") BenchPool();  // the pool exists before the baseline
        uint64_t before = ResidentBytes();
        RunXmalloc(api, 2, Scaled(5900000, scale));
        out->push_back({"peak_growth_mib", Growth(before, PeakResidentBytes()) / kMiB});
        out->push_back({"growth_mib", Growth(before, ResidentBytes()) / kMiB});
    } else if (workload == "churn") {
        if (contender == "libmemkit") BenchPool();
        Churn(api, scale, out);
    } else {
        return false;
    }
    return true;
}

}  // namespace bench
