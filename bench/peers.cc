// peers.cc - loading the peer allocators.
#include "bench/peers.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace bench {

namespace {

struct PeerLibrary {
    const char* name;
    std::vector<const char*> sonames;  // tried in order: Debian 12's first, then newer ones
    const char* malloc_symbol;
    const char* free_symbol;
};

// Each peer's own entry points: jemalloc's plain malloc/free resolved inside its
// handle (RTLD_LOCAL keeps them out of the process's symbol scope), mimalloc's and
// tcmalloc's prefixed ones.
const PeerLibrary kPeers[] = {
    {"jemalloc", {"libjemalloc.so.2"}, "malloc", "free"},
    {"mimalloc", {"libmimalloc.so.2", "libmimalloc.so.3"}, "mi_malloc", "mi_free"},
    {"tcmalloc", {"libtcmalloc_minimal.so.4", "libtcmalloc.so.4"}, "tc_malloc", "tc_free"},
};

void* OpenFirst(const std::vector<const char*>& sonames) {
    for (const char* soname : sonames) {
        void* handle = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
        if (handle != nullptr) return handle;
    }
    return nullptr;
}

constexpr const char* kTunable = "glibc.rtld.optional_static_tls=65536";

}  // namespace

std::vector<MallocApi> GlibcOnly() { return {{"glibc", std::malloc, std::free}}; }

std::vector<MallocApi> LoadPeers(std::vector<std::string>* missing) {
    std::vector<MallocApi> peers = GlibcOnly();
    for (const PeerLibrary& peer : kPeers) {
        void* handle = OpenFirst(peer.sonames);
        void* m = handle != nullptr ? dlsym(handle, peer.malloc_symbol) : nullptr;
        void* f = handle != nullptr ? dlsym(handle, peer.free_symbol) : nullptr;
        if (m == nullptr || f == nullptr) {
            missing->push_back(std::string(peer.name) + " (" + (handle == nullptr ? dlerror() : "no entry point") + ")");
            continue;
        }
        peers.push_back({peer.name, reinterpret_cast<void* (*)(size_t)>(m), reinterpret_cast<void (*)(void*)>(f)});
    }
    return peers;
}

void EnsureStaticTlsForPeers(char** argv) {
    const char* tunables = std::getenv("GLIBC_TUNABLES");
    if (tunables != nullptr && std::strstr(tunables, "optional_static_tls") != nullptr) return;
    std::string value = tunables != nullptr && *tunables != '\0' ? std::string(tunables) + ":" + kTunable : kTunable;
    setenv("GLIBC_TUNABLES", value.c_str(), 1);
    execv("/proc/self/exe", argv);
    std::perror("bench: re-executing with a larger static TLS surplus");  // then run without the peers that need it
}

}  // namespace bench
