/*
 * page.c - pages: one system allocation carved into equal blocks of one size class
 * (a large container's page holds one block), and the process-wide page table that
 * turns a container's 32-bit page id back into its page.
 *
 * Page ids are allocated under a process-wide mutex (page creation and release are
 * rare); lookups are lock-free: an id is published before any block of its page is
 * handed out, and every reader reached the block through a handoff that orders it
 * after that. The functions that change a page run with the page's cache held
 * (owner section, freeze or pool mutex) or on a page nobody else can reach yet.
 */
#include "hot.h"

#define TABLE_CHUNK_BITS MEM__PAGE_TABLE_CHUNK_BITS
#define TABLE_CHUNK (1u << TABLE_CHUNK_BITS)
#define TABLE_CHUNKS MEM__PAGE_TABLE_CHUNKS /* 16M pages */

mem__page** mem__page_table[MEM__PAGE_TABLE_CHUNKS]; /* atomic chunk pointers */
static mem__mutex table_mutex = MEM__MUTEX_INITIALIZER;
static uint32_t next_id = 1; /* id 0 is never used */
static uint32_t free_ids_head;  /* released ids, chained through their table entries */

/* Released ids point at the next released id, tagged in bit 0 so no page matches. */
static mem__page* encode_free_id(uint32_t next) { return (mem__page*)(((uintptr_t)next << 1) | 1u); }
static uint32_t decode_free_id(const mem__page* entry) { return (uint32_t)((uintptr_t)entry >> 1); }

static mem__page** table_entry(uint32_t id) {
    mem__page** chunk = mem__atomic_load_acquire(&mem__page_table[id >> TABLE_CHUNK_BITS]);
    return &chunk[id & (TABLE_CHUNK - 1)];
}

mem__page* mem__page_lookup(uint32_t id) { return mem__atomic_load_relaxed(table_entry(id)); }

void mem__page_table_lock(void) { mem__mutex_lock(&table_mutex); }
void mem__page_table_unlock(void) { mem__mutex_unlock(&table_mutex); }

/* A free id bound to `page`, or 0 when the table cannot grow. */
static uint32_t assign_id(mem__page* page) {
    mem__mutex_lock(&table_mutex);
    uint32_t id = free_ids_head;
    if (id != 0) {
        free_ids_head = decode_free_id(*table_entry(id));
    } else if (next_id < TABLE_CHUNK * TABLE_CHUNKS) {
        id = next_id;
        unsigned chunk = id >> TABLE_CHUNK_BITS;
        if (mem__page_table[chunk] == NULL) {
            mem__page** fresh = mem__sys_alloc(TABLE_CHUNK * sizeof *fresh);
            if (fresh == NULL) {
                mem__mutex_unlock(&table_mutex);
                return 0;
            }
            memset(fresh, 0, TABLE_CHUNK * sizeof *fresh);
            mem__atomic_store_release(&mem__page_table[chunk], fresh);
        }
        next_id++;
    }
    if (id != 0) {
        mem__atomic_store_relaxed(table_entry(id), page);
    }
    mem__mutex_unlock(&table_mutex);
    return id;
}

static void release_id(uint32_t id) {
    mem__mutex_lock(&table_mutex);
    mem__atomic_store_relaxed(table_entry(id), encode_free_id(free_ids_head));
    free_ids_head = id;
    mem__mutex_unlock(&table_mutex);
}

/* Where payloads start. The first block's data begins on a cache line, and blocks of
 * 32 bytes or more are 32 bytes apart at least, so every payload of those sizes is
 * 32-byte aligned: the caller's vector stores and the wipe's never straddle two cache
 * lines (with 8-byte alignment half of a 1 KiB memset's 32-byte stores did, and a
 * lifecycle at 1 KiB took 34 ns instead of 20: bench/compare --filter lifecycle). */
#define FIRST_DATA_ALIGNMENT (MEM_ALIGNMENT > 64 ? MEM_ALIGNMENT : 64)
#define WIDE_STRIDE_ALIGNMENT (MEM_ALIGNMENT > 32 ? MEM_ALIGNMENT : 32)

size_t mem__block_stride(unsigned size_class) {
    size_t capacity = mem__class_capacity(size_class);
    size_t alignment = capacity >= 32 ? WIDE_STRIDE_ALIGNMENT : MEM_ALIGNMENT;
    return mem__align_up(MEM__CONTAINER_HEADER + capacity + MEM__REDZONE, alignment);
}

/* Bytes from the start of a page's allocation to its first block, at most: the page
 * header starts on a cache line (types.h), up to a line's width into the allocation
 * (whatever the system allocator's alignment), then come the header and the first
 * block's header, its data on a line of its own. */
#define PAGE_HEADER_ALIGNMENT _Alignof(mem__page)
static size_t header_room(void) { return (PAGE_HEADER_ALIGNMENT - 1) + sizeof(mem__page) + FIRST_DATA_ALIGNMENT; }

size_t mem__page_bytes_for(unsigned size_class, bool single) {
    size_t stride = mem__block_stride(size_class);
    if (single || !mem__class_is_small(size_class)) {
        return header_room() + stride;
    }
    size_t bytes = MEM_PAGE_MIN_BYTES;
    while (bytes < header_room() + MEM__PAGE_MIN_BLOCKS * stride) {
        bytes *= 2;
    }
    return bytes;
}

unsigned mem__page_order(size_t bytes) {
    unsigned order = 0;
    while (((size_t)MEM_PAGE_MIN_BYTES << order) < bytes) {
        order++;
    }
    return order;
}

/* Lays the page out for `size_class`: stride, block count (one for a `single` page,
 * whatever room is left), first block; nothing carved. The block area is marked
 * inaccessible in tracking builds. */
static void format(mem__page* page, unsigned size_class, bool single) {
    unsigned char* start = (unsigned char*)page + sizeof(mem__page);
    unsigned char* blocks =
        (unsigned char*)mem__align_up((uintptr_t)start + MEM__CONTAINER_HEADER, FIRST_DATA_ALIGNMENT) -
        MEM__CONTAINER_HEADER;
    size_t stride = mem__block_stride(size_class);
    size_t room = page->bytes - (size_t)(blocks - (unsigned char*)page->raw);
    page->size_class = (uint8_t)size_class;
    page->stride = stride;
    page->capacity = mem__class_capacity(size_class);
    page->blocks = blocks;
    page->block_count = single ? 1u : (uint32_t)(room / stride);
    page->carved = 0;
    page->used = 0;
    page->free = page->free_tail = NULL;
    mem__track_forbid(blocks, room);
}

mem__page* mem__page_new(struct mem__pool_state* st, unsigned size_class, bool single) {
    size_t bytes = mem__page_bytes_for(size_class, single);
    void* raw = mem__sys_alloc(bytes);
    if (raw == NULL) {
        return NULL;
    }
    mem__page* page = (mem__page*)mem__align_up((uintptr_t)raw, PAGE_HEADER_ALIGNMENT);
    memset(page, 0, sizeof *page);
    page->raw = raw;
    page->bytes = bytes;
    page->pool = st;
    page->registry_index = UINT32_MAX;
    page->id = assign_id(page);
    if (page->id == 0) {
        mem__sys_free(raw);
        return NULL;
    }
    format(page, size_class, single || !mem__class_is_small(size_class));
    page->magic = MEM__PAGE_MAGIC;
    return page;
}

void mem__page_reformat(mem__page* page, unsigned size_class) {
    mem__assert(page->used == 0 && page->bytes == mem__page_bytes_for(size_class, false));
    format(page, size_class, false);
}

MemoryContainer* mem__page_block(const mem__page* page, uint32_t index) {
    return (MemoryContainer*)(page->blocks + (size_t)index * page->stride);
}

MemoryContainer* mem__page_carve(mem__page* page) {
    if (page->carved == page->block_count) {
        return NULL;
    }
    MemoryContainer* c = mem__page_block(page, page->carved++);
    mem__track_allow_undefined(c, MEM__CONTAINER_HEADER);
    c->page = page->id;
    c->magic = MEM__CONTAINER_MAGIC;
    /* A free block counts no reference (mem__cache_revive relies on it). */
    mem__atomic_store_relaxed(&c->refcount, 0u);
    mem__atomic_store_relaxed(&c->shared, 0u);
    /* The payload past any size starts zero, so a released block (wiped up to its
     * size) is zero throughout. */
    mem__track_allow_undefined(c->data, page->capacity);
    memset(c->data, 0, page->capacity);
    mem__track_forbid(c->data, page->capacity);
    return c;
}

void mem__page_free(mem__page* page) {
    /* Free blocks were wiped when released; what live blocks still hold (a pool
     * destroyed with containers in use) is wiped here. */
    for (uint32_t i = 0; i < page->carved; i++) {
        MemoryContainer* c = mem__page_block(page, i);
        if (mem__state_is_live(c->state)) {
            mem__track_allow(c->data, c->size);
            mem__wipe(c->data, c->size);
            mem__track_block_released(c);
        } else if (c->state == MEM__STATE_REMOTE) {
            mem__track_block_released(c); /* released elsewhere, never collected */
        }
    }
    release_id(page->id);
    void* raw = page->raw;
    mem__track_allow(raw, page->bytes);
    page->magic = 0;
    mem__sys_free(raw);
}
