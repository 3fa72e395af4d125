/*
 * track.h - makes memory the library holds but a caller may not touch visible to
 * AddressSanitizer (built with -fsanitize=address) and valgrind (built with
 * -DMEM_VALGRIND=1): free blocks, the slack past a container's size, uncarved page
 * space, arena free space and destroyed handles are marked inaccessible, and marked
 * usable again when handed out. In every other build these are empty macros, so the
 * default build's hot path carries nothing.
 *
 * Tracking builds also change two policies so that misuse lands on marked memory:
 * a redzone follows every container and arena allocation, and a freed block is
 * handed out again only after the page's other free and never-used blocks.
 */
#ifndef MEMKIT_SRC_TRACK_H
#define MEMKIT_SRC_TRACK_H

#include <stddef.h>

#if defined(__SANITIZE_ADDRESS__)
#define MEM__TRACK_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MEM__TRACK_ASAN 1
#endif
#endif

#if defined(MEM_VALGRIND) && MEM_VALGRIND
#define MEM__TRACK_VALGRIND 1
#include <valgrind/memcheck.h>
#endif

#if defined(MEM__TRACK_ASAN)
#include <sanitizer/asan_interface.h>
#endif

#if !defined(MEM__TRACK_VALGRIND) && defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#define MEM__VALGRIND_HEADER 1
#endif
#endif

#if defined(MEM__TRACK_ASAN) || defined(MEM__TRACK_VALGRIND)
#define MEM__TRACKING 1
#define MEM__REDZONE 32 /* bytes after each container and arena allocation */
#else
#define MEM__TRACKING 0
#define MEM__REDZONE 0
#endif

/* No access at all: free blocks, slack, redzones, uncarved space, dead handles. */
static inline void mem__track_forbid(const void* at, size_t n) {
#if defined(MEM__TRACK_ASAN)
    ASAN_POISON_MEMORY_REGION(at, n);
#endif
#if defined(MEM__TRACK_VALGRIND)
    (void)VALGRIND_MAKE_MEM_NOACCESS(at, n);
#endif
    (void)at;
    (void)n;
}

/* Accessible, contents unspecified (a fresh block the caller will fill). */
static inline void mem__track_allow_undefined(const void* at, size_t n) {
#if defined(MEM__TRACK_ASAN)
    ASAN_UNPOISON_MEMORY_REGION(at, n);
#endif
#if defined(MEM__TRACK_VALGRIND)
    (void)VALGRIND_MAKE_MEM_UNDEFINED(at, n);
#endif
    (void)at;
    (void)n;
}

/* Accessible and defined (wiped bytes the library promises read zero). */
static inline void mem__track_allow(const void* at, size_t n) {
#if defined(MEM__TRACK_ASAN)
    ASAN_UNPOISON_MEMORY_REGION(at, n);
#endif
#if defined(MEM__TRACK_VALGRIND)
    (void)VALGRIND_MAKE_MEM_DEFINED(at, n);
#endif
    (void)at;
    (void)n;
}

/* Bytes the library must read although a caller may never have written them (a
 * MemoryPool struct about to be initialised: is it initialised already?): told to
 * valgrind as defined, in every build where its header exists (a no-op when not
 * running under valgrind). */
static inline void mem__track_may_read_uninitialised(const void* at, size_t n) {
#if defined(MEM__TRACK_VALGRIND) || defined(MEM__VALGRIND_HEADER)
    (void)VALGRIND_MAKE_MEM_DEFINED(at, n);
#endif
    (void)at;
    (void)n;
}

/* valgrind's leak checker: a handle or container handed to a caller is a heap block
 * of its own (reported when the caller loses it), and stops being one when released.
 * Created as defined ("zeroed"): its bytes are the library's header fields and a
 * payload that reads zero. Released, valgrind makes the block inaccessible: the
 * caller gives back what the library keeps accessible for itself. */
static inline void mem__track_block_created(const void* at, size_t n) {
#if defined(MEM__TRACK_VALGRIND)
    VALGRIND_MALLOCLIKE_BLOCK(at, n, 0, 1);
#endif
    (void)at;
    (void)n;
}

static inline void mem__track_block_released(const void* at) {
#if defined(MEM__TRACK_VALGRIND)
    VALGRIND_FREELIKE_BLOCK(at, 0);
#endif
    (void)at;
}

#endif /* MEMKIT_SRC_TRACK_H */
