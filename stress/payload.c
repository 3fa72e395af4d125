/*
 * payload.c - filling and checking self-describing payloads.
 */
#include "payload.h"

#include <string.h>

static uint64_t checksum(const Payload* p, size_t size) {
    uint64_t h = p->magic ^ ((uint64_t)p->slot << 32) ^ p->writer ^ (p->version * UINT64_C(0x9e3779b97f4a7c15)) ^ p->size;
    const unsigned char* body = p->body;
    size_t n = size - PAYLOAD_HEADER;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t word;
        memcpy(&word, body + i, 8);
        h = (h ^ word) * UINT64_C(0x100000001b3);
    }
    for (; i < n; i++) {
        h = (h ^ body[i]) * UINT64_C(0x100000001b3);
    }
    return h;
}

void payload_fill(void* buffer, size_t size, uint32_t slot, uint32_t writer, uint64_t version) {
    Payload* p = buffer;
    p->magic = PAYLOAD_MAGIC;
    p->slot = slot;
    p->writer = writer;
    p->version = version;
    p->size = size;
    memset(p->body, (int)((version * 131 + slot) % 251) + 1, size - PAYLOAD_HEADER);
    p->checksum = checksum(p, size);
}

PayloadVerdict payload_check(const void* buffer, size_t size, uint32_t slot) {
    const Payload* p = buffer;
    if (p->magic == 0 && p->version == 0 && p->checksum == 0) {
        return PAYLOAD_WIPED;
    }
    if (p->magic != PAYLOAD_MAGIC || p->size != size || p->checksum != checksum(p, size)) {
        return PAYLOAD_TORN;
    }
    return p->slot == slot ? PAYLOAD_OK : PAYLOAD_FOREIGN;
}
