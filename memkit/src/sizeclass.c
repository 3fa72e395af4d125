/*
 * sizeclass.c - size classes and deterministic ids. Pure functions; thread-safe.
 *
 * Class 0 holds 16 bytes. Above that, each power-of-two range is cut in four: class
 * 4g+k+1 (k = 0..3) holds (5+k) << (g+2) bytes, i.e. 20, 24, 28, 32, 40, 48, 56, 64,
 * 80, ... so a container's capacity is at most 25% above the size asked for, and a
 * class index fits in a byte.
 */
#include "internal.h"

unsigned mem__size_class(size_t size) {
    if (size <= 16) {
        return 0;
    }
    size_t t = size - 1;
    unsigned msb = 63u - (unsigned)__builtin_clzll((unsigned long long)t);
    unsigned shift = msb - 2;
    unsigned k = (unsigned)((t >> shift) & 3u);
    return 4u * (msb - 4u) + k + 1u;
}

size_t mem__class_capacity(unsigned size_class) {
    if (size_class == 0) {
        return 16;
    }
    unsigned c = size_class - 1;
    unsigned g = c / 4;
    unsigned k = c % 4;
    return (size_t)(5u + k) << (g + 2u);
}

uint64_t mem__fnv1a64(uint64_t hash, const void* bytes, size_t length) {
    const unsigned char* p = bytes;
    for (size_t i = 0; i < length; i++) {
        hash ^= p[i];
        hash *= UINT64_C(0x100000001b3);
    }
    return hash;
}

uint64_t mem__container_id(uint64_t pool_seed, uint64_t sequence, size_t size) {
    uint64_t inputs[3] = {pool_seed, sequence, (uint64_t)size};
    return mem__fnv1a64(MEM__FNV_OFFSET_BASIS, inputs, sizeof inputs);
}
