/*
 * memkit/version.h - the library's version: the one place it is written. The Makefile
 * (soname, memkit.pc) reads it from here, and tests/install_test.sh checks that the
 * installed library, its soname and memkit.pc agree with it.
 */
#ifndef MEMKIT_VERSION_H
#define MEMKIT_VERSION_H

#include "memkit/config.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MEMKIT_VERSION_MAJOR 0
#define MEMKIT_VERSION_MINOR 1
#define MEMKIT_VERSION_PATCH 0
#define MEMKIT_VERSION_STRING "0.1.0"
/* The version as one number, MAJOR * 10000 + MINOR * 100 + PATCH, for comparisons. */
#define MEMKIT_VERSION (MEMKIT_VERSION_MAJOR * 10000 + MEMKIT_VERSION_MINOR * 100 + MEMKIT_VERSION_PATCH)

/* The version of the library actually loaded (MEMKIT_VERSION's encoding), which may
 * differ from the headers a program was compiled with when the shared library was
 * replaced. Never fails; any thread. */
MEM_API int mem_version(void);

/* The same as a static string, e.g. "0.1.0". Never fails; any thread. */
MEM_API const char* mem_version_string(void);

#ifdef __cplusplus
}
#endif

#endif /* MEMKIT_VERSION_H */
