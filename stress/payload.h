/*
 * payload.h - self-checking payloads: every buffer the harness writes says which
 * slot and version it holds, who wrote it, its size and a checksum over all of it,
 * so a reader can tell an intact buffer from a torn, foreign or wiped one.
 */
#ifndef MEMKIT_STRESS_PAYLOAD_H
#define MEMKIT_STRESS_PAYLOAD_H

#include <stddef.h>
#include <stdint.h>

typedef struct Payload {
    uint64_t magic; /* PAYLOAD_MAGIC: zero here means the buffer was wiped */
    uint32_t slot;
    uint32_t writer;
    uint64_t version;
    uint64_t size;
    uint64_t checksum;
    unsigned char body[];
} Payload;

#define PAYLOAD_MAGIC UINT64_C(0x50415931f00dcafe)
#define PAYLOAD_HEADER sizeof(Payload)

typedef enum PayloadVerdict {
    PAYLOAD_OK,
    PAYLOAD_WIPED,   /* all-zero header: wiped memory seen through a live handle */
    PAYLOAD_TORN,    /* checksum does not match: torn or overwritten */
    PAYLOAD_FOREIGN  /* another slot's or size's data */
} PayloadVerdict;

/* Fills `size` bytes at `buffer` as version `version` of `slot` by `writer`. */
void payload_fill(void* buffer, size_t size, uint32_t slot, uint32_t writer, uint64_t version);

/* Checks `size` bytes at `buffer` hold an intact payload of `slot`. */
PayloadVerdict payload_check(const void* buffer, size_t size, uint32_t slot);

#endif
