// compare.cc - libmemkit against its peers, all in this one process: every case of a
// workload runs once per round, the rounds interleave the contenders (their order
// rotates from round to round), and the JSON written holds every round's time so the
// report can take medians and ratios. Resident-memory workloads run once per
// contender, each in a fresh child process (this program, with --memory).
//
// Usage: compare [--rounds N] [--quick] [--filter TEXT] [--no-memory] [--no-peers] [--json FILE]
// (--no-peers: without jemalloc, mimalloc and tcmalloc, for sanitizer builds)
//        compare --memory WORKLOAD --contender NAME [--quick]   (one memory run)
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "bench/cases.h"

namespace {

struct Options {
    int rounds = 9;
    double scale = 1.0;
    bool quick = false;
    bool memory = true;
    bool peers = true;
    std::string filter;
    std::string json = "bench-results.json";
    std::string memory_workload;
    std::string memory_contender;
};

[[noreturn]] void Usage(const char* message) {
    std::fprintf(stderr,
                 "compare: %s\nusage: compare [--rounds N] [--quick] [--filter TEXT] [--no-memory] [--no-peers] [--json FILE]\n"
                 "       compare --memory WORKLOAD --contender NAME [--quick]\n",
                 message);
    std::exit(2);
}

Options Parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; i++) {
        std::string arg = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) Usage(("missing value for " + arg).c_str());
            return argv[++i];
        };
        if (arg == "--rounds") {
            o.rounds = std::atoi(value().c_str());
            if (o.rounds < 1 || o.rounds > 1000) Usage("--rounds must be 1-1000");
        } else if (arg == "--quick") {
            o.quick = true;
            o.scale = 0.02;
            o.rounds = 1;
        } else if (arg == "--filter") {
            o.filter = value();
        } else if (arg == "--no-memory") {
            o.memory = false;
        } else if (arg == "--no-peers") {
            o.peers = false;
        } else if (arg == "--json") {
            o.json = value();
        } else if (arg == "--memory") {
            o.memory_workload = value();
        } else if (arg == "--contender") {
            o.memory_contender = value();
        } else {
            Usage(("unknown option " + arg).c_str());
        }
    }
    return o;
}

std::string Quoted(const std::string& text) {
    std::string out = "\"";
    for (char c : text) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}

std::string FirstLine(const char* path) {
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    return line;
}

// The first CPU's model name with its family and model numbers: a VM's model name
// ("AMD EPYC") can hide which generation ran, and the figures differ between them.
std::string CpuModel() {
    std::ifstream in("/proc/cpuinfo");
    std::string line, name = "unknown", family, model;
    auto value = [&line] { return line.substr(line.find(':') + 2); };
    while (std::getline(in, line) && !line.empty()) {
        if (line.rfind("model name", 0) == 0) name = value();
        if (line.rfind("cpu family", 0) == 0) family = value();
        if (line.rfind("model\t", 0) == 0) model = value();
    }
    return family.empty() || model.empty() ? name : name + ", family " + family + " model " + model;
}

// A child's one memory run: "name value" lines on stdout.
int RunMemoryChild(const Options& o, const std::vector<bench::MallocApi>& peers) {
    std::vector<std::pair<std::string, double>> figures;
    if (!bench::RunMemoryWorkload(o.memory_workload, o.memory_contender, peers, o.scale, &figures)) {
        Usage("no such memory workload or contender");
    }
    for (const auto& figure : figures) std::printf("%s %.3f\n", figure.first.c_str(), figure.second);
    return 0;
}

std::string MemoryRun(const std::string& workload, const std::string& contender, bool quick, bool peers) {
    std::string command = "/proc/" + std::to_string(getpid()) + "/exe --memory '" + workload + "' --contender '" +
                          contender + "'" + (quick ? " --quick" : "") + (peers ? "" : " --no-peers");
    FILE* child = popen(command.c_str(), "r");
    if (child == nullptr) return "{}";
    std::string figures;
    char name[64];
    double value;
    while (std::fscanf(child, "%63s %lf", name, &value) == 2) {
        figures += (figures.empty() ? "" : ", ") + Quoted(name) + ": " + std::to_string(value);
    }
    pclose(child);
    return "{" + figures + "}";
}

}  // namespace

int main(int argc, char** argv) {
    Options o = Parse(argc, argv);
    if (o.peers) bench::EnsureStaticTlsForPeers(argv);
    std::vector<std::string> missing;
    std::vector<bench::MallocApi> peers = o.peers ? bench::LoadPeers(&missing) : bench::GlibcOnly();
    for (const std::string& m : missing) std::fprintf(stderr, "compare: peer left out: %s\n", m.c_str());
    if (!o.memory_workload.empty()) return RunMemoryChild(o, peers);

    std::vector<bench::Case> all;
    bench::AddPointerCases(&all, peers, o.scale);
    bench::AddRefcountCases(&all, peers, o.scale);
    bench::AddRequestCases(&all, peers, o.scale);
    bench::AddServerCases(&all, peers, o.scale);
    bench::AddMallocCases(&all, peers, o.scale);
    std::vector<std::string> groups;
    std::map<std::string, std::vector<bench::Case*>> by_group;
    for (bench::Case& c : all) {
        if (c.group.find(o.filter) == std::string::npos) continue;
        if (by_group[c.group].empty()) groups.push_back(c.group);
        by_group[c.group].push_back(&c);
    }
    std::string load = FirstLine("/proc/loadavg");
    std::fprintf(stderr, "compare: load average before: %s; %zu workloads, %d round(s)\n", load.c_str(), groups.size(),
                 o.rounds);
    std::map<bench::Case*, std::vector<uint64_t>> times;
    for (const std::string& group : groups) {  // a warm-up run of everything, not recorded
        for (bench::Case* c : by_group[group]) c->run(bench::Scaled(c->ops, 0.1));
    }
    for (int round = 0; round < o.rounds; round++) {
        for (const std::string& group : groups) {
            std::vector<bench::Case*>& cases = by_group[group];
            for (size_t k = 0; k < cases.size(); k++) {
                bench::Case* c = cases[(k + static_cast<size_t>(round)) % cases.size()];
                times[c].push_back(c->run(c->ops));
            }
        }
        std::fprintf(stderr, "compare: round %d of %d done\n", round + 1, o.rounds);
    }
    std::ostringstream json;
    json << "{\n  \"cpu\": " << Quoted(CpuModel()) << ",\n  \"cpus\": " << sysconf(_SC_NPROCESSORS_ONLN)
         << ",\n  \"kernel\": " << Quoted(FirstLine("/proc/sys/kernel/osrelease"))
         << ",\n  \"load_before\": " << Quoted(load) << ",\n  \"load_after\": " << Quoted(FirstLine("/proc/loadavg"))
         << ",\n  \"rounds\": " << o.rounds << ",\n  \"quick\": " << (o.quick ? "true" : "false")
         << ",\n  \"missing_peers\": [";
    for (size_t i = 0; i < missing.size(); i++) json << (i ? ", " : "") << Quoted(missing[i]);
    json << "],\n  \"cases\": [\n";
    bool first = true;
    for (const std::string& group : groups) {
        for (bench::Case* c : by_group[group]) {
            json << (first ? "" : ",\n") << "    {\"group\": " << Quoted(c->group) << ", \"contender\": "
                 << Quoted(c->contender) << ", \"ops\": " << c->ops << ", \"ns\": [";
            for (size_t i = 0; i < times[c].size(); i++) json << (i ? ", " : "") << times[c][i];
            json << "]}";
            first = false;
        }
    }
    json << "\n  ],\n  \"memory\": [\n";
    first = true;
    if (o.memory) {
        for (const std::string& workload : bench::MemoryWorkloads()) {
            if (workload.find(o.filter) == std::string::npos && !o.filter.empty()) continue;
            for (const std::string& contender : bench::MemoryContenders(workload, peers)) {
                json << (first ? "" : ",\n") << "    {\"workload\": " << Quoted(workload)
                     << ", \"contender\": " << Quoted(contender)
                     << ", \"figures\": " << MemoryRun(workload, contender, o.quick, o.peers) << "}";
                first = false;
            }
            std::fprintf(stderr, "compare: memory %s done\n", workload.c_str());
        }
    }
    json << "\n  ]\n}\n";
    std::ofstream out(o.json);
    out << json.str();
    if (!out) {
        std::fprintf(stderr, "compare: cannot write %s\n", o.json.c_str());
        return 1;
    }
    std::fprintf(stderr, "compare: wrote %s\n", o.json.c_str());
    return 0;
}
