/*
 * report.c - who holds what: the names of the handles that refer to each live
 * container (for detailed dumps), and the leak reports a server operator needs: a pool
 * destroyed with live containers, and a process that ends with live handles, each
 * container listed with its handles' names (like talloc_report_full).
 *
 * Handles are found by walking every handle ever made (objects.c); fields are read
 * atomically and a handle counts only if its magic is still the same after its name
 * was copied, so a walk racing with other threads' handles reads nothing torn.
 */
#include "hot.h"

#include <inttypes.h>
#include <stdlib.h>

/* Lines of a leak report before it only counts. */
#define MAX_REPORTED 64

typedef struct mem__named_ref {
    const MemoryContainer* container;
    char name[MEM_POINTER_NAME_MAX];
} named_ref;

static void copy_name(char* to, const char* from) {
    for (size_t i = 0; i < MEM_POINTER_NAME_MAX; i++) {
        to[i] = mem__atomic_load_relaxed(&from[i]);
    }
    to[MEM_POINTER_NAME_MAX - 1] = '\0';
}

static void collect_handle(void* object, void* context) {
    mem__handle_index* index = context;
    const MemoryPointer* handle = object;
    if (mem__handle_magic(handle) != MEM__POINTER_MAGIC) {
        return;
    }
    const MemoryContainer* c = mem__atomic_load_acquire(&handle->container);
    uint64_t generation = mem__atomic_load_relaxed(&handle->generation);
    if (index->generation != 0 && (c == NULL || generation != index->generation)) {
        return;
    }
    named_ref ref = {.container = c};
    copy_name(ref.name, handle->name);
    if (mem__handle_magic(handle) != MEM__POINTER_MAGIC || mem__atomic_load_relaxed(&handle->generation) != generation) {
        return; /* destroyed (and maybe reused) while we read it */
    }
    if (index->count == index->capacity) {
        size_t capacity = index->capacity ? index->capacity * 2 : 64;
        named_ref* grown = mem__sys_realloc(index->refs, capacity * sizeof *grown);
        if (grown == NULL) {
            index->incomplete = true; /* the report goes on without the names */
            mem__out_of_memory_absorbed(capacity * sizeof *grown);
            return;
        }
        index->refs = grown;
        index->capacity = capacity;
    }
    index->refs[index->count++] = ref;
}

static int by_container(const void* a, const void* b) {
    uintptr_t x = (uintptr_t)((const named_ref*)a)->container, y = (uintptr_t)((const named_ref*)b)->container;
    return x < y ? -1 : x > y;
}

void mem__handle_index_build(mem__handle_index* index, uint64_t generation) {
    *index = (mem__handle_index){.generation = generation};
    mem__objects_for_each(&mem__handle_kind, collect_handle, index);
    if (index->count > 1) {
        qsort(index->refs, index->count, sizeof *index->refs, by_container);
    }
}

void mem__handle_index_free(mem__handle_index* index) {
    mem__sys_free(index->refs);
    *index = (mem__handle_index){0};
}

/* The index range of `c`'s handles. */
static const named_ref* first_ref(const mem__handle_index* index, const MemoryContainer* c, size_t* count) {
    *count = 0;
    if (index->refs == NULL) {
        return NULL; /* memory ran out before the first name was collected */
    }
    size_t low = 0, high = index->count;
    while (low < high) {
        size_t mid = low + (high - low) / 2;
        if ((uintptr_t)index->refs[mid].container < (uintptr_t)c) {
            low = mid + 1;
        } else {
            high = mid;
        }
    }
    size_t end = low;
    while (end < index->count && index->refs[end].container == c) {
        end++;
    }
    *count = end - low;
    return index->refs + low;
}

/* Writes `c`'s handle names, comma-separated, into `text`. */
static void format_names(const mem__handle_index* index, const MemoryContainer* c, char* text, size_t size) {
    size_t count;
    const named_ref* ref = first_ref(index, c, &count);
    size_t used = 0;
    text[0] = '\0';
    for (size_t i = 0; i < count && used < size; i++) {
        int n = snprintf(text + used, size - used, "%s\"%s\"", i ? ", " : "", ref[i].name);
        used += n > 0 ? (size_t)n : 0;
    }
    if (count == 0 && size > 0) {
        const char* why = mem__atomic_load_relaxed(&c->state) == MEM__STATE_BLOCK ? "(no handle: a mem_malloc block)"
                          : index->incomplete                                      ? "(names unavailable)"
                                                                                   : "(no handle: held by a release in flight)";
        snprintf(text, size, "%s", why);
    }
}

void mem__handle_index_print(const mem__handle_index* index, const MemoryContainer* c, FILE* out) {
    char names[256];
    format_names(index, c, names, sizeof names);
    fprintf(out, " held by %s", names);
}

size_t mem__report_live(struct mem__pool_state* st, MemLogLevel level, const char* why) {
    size_t live = 0, bytes = 0;
    for (size_t i = 0; i < st->count; i++) {
        const mem__page* page = st->registry[i];
        for (uint32_t b = 0; b < page->carved; b++) {
            const MemoryContainer* c = mem__page_block(page, b);
            if (mem__state_is_live(c->state)) {
                live++;
                bytes += c->size;
            }
        }
    }
    if (live == 0) {
        return 0;
    }
    mem__log(level, "pool %s: %zu live container(s), %zu bytes", why, live, bytes);
    mem__handle_index index;
    mem__handle_index_build(&index, st->generation);
    size_t reported = 0;
    for (size_t i = 0; i < st->count && reported < MAX_REPORTED; i++) {
        const mem__page* page = st->registry[i];
        for (uint32_t b = 0; b < page->carved && reported < MAX_REPORTED; b++) {
            const MemoryContainer* c = mem__page_block(page, b);
            if (!mem__state_is_live(c->state)) {
                continue;
            }
            char names[256];
            format_names(&index, c, names, sizeof names);
            mem__log(level, "  container %016" PRIx64 ", %zu bytes, held by %s", mem__container_id(c), c->size, names);
            reported++;
        }
    }
    if (live > reported) {
        mem__log(level, "  ... and %zu more", live - reported);
    }
    mem__handle_index_free(&index);
    return live;
}

/* At process exit: every handle still live is a leak (its container may belong to a
 * pool that was never destroyed, or to none any more). */
__attribute__((destructor)) static void report_live_handles_at_exit(void) {
    mem__handle_index index;
    mem__handle_index_build(&index, 0);
    if (index.count != 0) {
        mem__log(MEM_LOG_WARNING, "process ends with %zu live pointer handle(s)%s", index.count,
                 index.incomplete ? " (list incomplete)" : "");
        for (size_t i = 0; i < index.count && i < MAX_REPORTED; i++) {
            mem__log(MEM_LOG_WARNING, "  \"%s\" -> %s", index.refs[i].name,
                     index.refs[i].container != NULL ? "a container" : "nothing (never allocated)");
        }
        if (index.count > MAX_REPORTED) {
            mem__log(MEM_LOG_WARNING, "  ... and %zu more", index.count - MAX_REPORTED);
        }
    }
    mem__handle_index_free(&index);
}
