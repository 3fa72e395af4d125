/*
 * memkit/config.h - compile-time configuration, export and attribute macros.
 *
 * Every macro here may be overridden on the compiler command line (-DNAME=value)
 * when building the library; a consumer must see the same values the library was
 * built with (Bazel's `defines` on //memkit and //memkit:memkit_nothreads do that).
 */
#ifndef MEMKIT_CONFIG_H
#define MEMKIT_CONFIG_H

/* Registry slots a pool starts with when mem_pool_init is given 0. */
#ifndef MEM_POOL_DEFAULT_CAPACITY
#define MEM_POOL_DEFAULT_CAPACITY 32
#endif

/* Alignment of container data and of arena allocations: a power of two, 8..4096. */
#ifndef MEM_ALIGNMENT
#define MEM_ALIGNMENT 8
#endif

/* 1: atomic refcounts, a mutex per pool, per-thread caches and RCU. 0: none of it. */
#ifndef MEM_THREAD_SAFE
#define MEM_THREAD_SAFE 1
#endif

/* DEBUG_MEMORY_MANAGER is left undefined unless asked for (the seed tests it with
 * #ifdef). Defined as 1 it turns on internal assertions and debug-level logging. */

/* Page bytes of orphans a pool's stock keeps for reuse before it frees pages instead.
 * Per pool; change it at run time with mem_pool_set_orphan_budget. */
#ifndef MEM_POOL_ORPHAN_BUDGET
#define MEM_POOL_ORPHAN_BUDGET (64u * 1024u * 1024u)
#endif

/* Bytes kept in a handle's inline name buffer, terminating NUL included. */
#ifndef MEM_POINTER_NAME_MAX
#define MEM_POINTER_NAME_MAX 32
#endif

/* Destroyed pointer handles each thread keeps out of circulation before their memory
 * is reused; double destroy and use after destroy are detected at least this long. */
#ifndef MEM_HANDLE_QUARANTINE
#define MEM_HANDLE_QUARANTINE 256
#endif

/* Empty small pages each thread cache keeps for its pool; more go back to the pool's
 * stock (see mem_pool_set_orphan_budget). A library build setting. */
#ifndef MEM_THREAD_CACHE_EMPTY_PAGES
#define MEM_THREAD_CACHE_EMPTY_PAGES 2
#endif

/* Bytes of released large containers each thread cache keeps; more go back to the
 * pool's stock. A library build setting. */
#ifndef MEM_THREAD_CACHE_LARGE_BYTES
#define MEM_THREAD_CACHE_LARGE_BYTES (4u * 1024u * 1024u)
#endif

/* Chunk bytes of released request arenas each thread keeps for its next requests;
 * the rest go back to the system (see mem_request_arena_release). A library build
 * setting. */
#ifndef MEM_REQUEST_ARENA_KEEP_BYTES
#define MEM_REQUEST_ARENA_KEEP_BYTES (1024u * 1024u)
#endif

/* Largest container or arena allocation accepted, in bytes (128 TiB). */
#define MEM_MAX_ALLOCATION ((size_t)1 << 47)

#if (MEM_ALIGNMENT < 8) || (MEM_ALIGNMENT > 4096) || (MEM_ALIGNMENT & (MEM_ALIGNMENT - 1))
#error "MEM_ALIGNMENT must be a power of two between 8 and 4096"
#endif

#if defined(MEMKIT_BAZEL_THREADS_0) && defined(MEMKIT_BAZEL_THREADS_1)
#error "this target depends on both //memkit and //memkit:memkit_nothreads: pick one variant"
#endif

#if defined(_WIN32)
#error "libmemkit targets POSIX systems"
#endif

#if defined(MEMKIT_BUILDING) && defined(__GNUC__)
#define MEM_API __attribute__((visibility("default")))
#else
#define MEM_API
#endif

#ifdef __cplusplus
#define MEM_ALIGNAS(n) alignas(n)
#else
#define MEM_ALIGNAS(n) _Alignas(n)
#endif

/* The variant guard. The layout macros above (MEM_ALIGNMENT, MEM_POINTER_NAME_MAX)
 * and MEM_THREAD_SAFE must be the same for the library and every file that includes
 * its headers. The library defines one symbol named after its variant, e.g.
 * mem_variant_threads1_align8_name32, and every file that includes memkit.h refers
 * to the one its own settings name, so a mismatch fails at link time ("undefined
 * reference to mem_variant_threads0_align8_name32") instead of misreading structs.
 * The macros must be plain decimal numbers for this (-DMEM_ALIGNMENT=64). */
#define MEM__VARIANT_NAME(threads, alignment, name_max) \
    mem_variant_threads##threads##_align##alignment##_name##name_max
#define MEM__VARIANT_EXPAND(threads, alignment, name_max) MEM__VARIANT_NAME(threads, alignment, name_max)
#define MEM_VARIANT_SYMBOL MEM__VARIANT_EXPAND(MEM_THREAD_SAFE, MEM_ALIGNMENT, MEM_POINTER_NAME_MAX)
#define MEM__STRINGIFY(x) #x
#define MEM__STRINGIFY_EXPANDED(x) MEM__STRINGIFY(x)
#define MEM_VARIANT_SYMBOL_NAME MEM__STRINGIFY_EXPANDED(MEM_VARIANT_SYMBOL)

#if defined(__GNUC__)
#define MEM_ATTR_NODISCARD __attribute__((warn_unused_result))
#define MEM_ATTR_MALLOC __attribute__((malloc))
#define MEM_ATTR_ALLOC_SIZE(n) __attribute__((alloc_size(n)))
#define MEM_ATTR_ALLOC_SIZE2(n, m) __attribute__((alloc_size(n, m)))
#define MEM_ATTR_FORMAT(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define MEM_ATTR_NODISCARD
#define MEM_ATTR_MALLOC
#define MEM_ATTR_ALLOC_SIZE(n)
#define MEM_ATTR_ALLOC_SIZE2(n, m)
#define MEM_ATTR_FORMAT(fmt, args)
#endif

#ifdef __cplusplus
extern "C" {
#endif
/* Defined by the library for its own variant (see MEM_VARIANT_SYMBOL). */
MEM_API extern const int MEM_VARIANT_SYMBOL;
#if !defined(MEMKIT_BUILDING) && !defined(MEMKIT_NO_VARIANT_GUARD) && defined(__GNUC__)
/* Kept in every object file (`used`), so the reference reaches the linker. A program
 * that loads the library with dlopen defines MEMKIT_NO_VARIANT_GUARD and looks the
 * symbol up instead (dlsym(lib, MEM_VARIANT_SYMBOL_NAME)). */
static inline __attribute__((used)) const int* mem__variant_guard(void) { return &MEM_VARIANT_SYMBOL; }
#endif
#ifdef __cplusplus
}
#endif

#endif /* MEMKIT_CONFIG_H */
