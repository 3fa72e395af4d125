/*
 * ids.c - deterministic ids (FNV-1a 64) of containers, computed when asked for from
 * their serial (the pool's seed plus a sequence number) and size. Pure functions;
 * thread-safe.
 */
#include "internal.h"

uint64_t mem__fnv1a64(uint64_t hash, const void* bytes, size_t length) {
    const unsigned char* p = bytes;
    for (size_t i = 0; i < length; i++) {
        hash ^= p[i];
        hash *= UINT64_C(0x100000001b3);
    }
    return hash;
}

uint64_t mem__container_id(const MemoryContainer* c) {
    uint64_t inputs[2] = {c->serial, (uint64_t)c->size};
    return mem__fnv1a64(MEM__FNV_OFFSET_BASIS, inputs, sizeof inputs);
}
