// peers.h - the general-purpose allocators libmemkit is measured against, all in
// this one process so that their runs interleave with libmemkit's: glibc's malloc
// (the process's own), and jemalloc, mimalloc and tcmalloc loaded with dlopen
// (RTLD_LOCAL, so none of them replaces the process's malloc) and called through
// their entry points.
#ifndef MEMKIT_BENCH_PEERS_H
#define MEMKIT_BENCH_PEERS_H

#include <cstddef>
#include <string>
#include <vector>

namespace bench {

struct MallocApi {
    std::string name;
    void* (*malloc)(size_t);
    void (*free)(void*);
};

// glibc first, then every peer that loads; a peer that does not load is left out
// and named in *missing.
std::vector<MallocApi> LoadPeers(std::vector<std::string>* missing);
// glibc alone (sanitizer builds, where the other allocators cannot run).
std::vector<MallocApi> GlibcOnly();

// jemalloc, mimalloc and tcmalloc use initial-exec TLS, which dlopen can place only
// in glibc's surplus static TLS: re-executes the program with a larger surplus
// (GLIBC_TUNABLES) unless it already has one. Call first thing in main.
void EnsureStaticTlsForPeers(char** argv);

}  // namespace bench

#endif
