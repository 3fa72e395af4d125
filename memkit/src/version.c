/*
 * version.c - the version of the library that is actually loaded (memkit/version.h).
 */
#include "internal.h"

int mem_version(void) { return MEMKIT_VERSION; }

const char* mem_version_string(void) { return MEMKIT_VERSION_STRING; }
