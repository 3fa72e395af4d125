/*
 * memkit/memkit.h - the whole public API under the library's own directory, for
 * `#include <memkit/memkit.h>`; the same as `#include "memkit.h"` (the seed's form).
 */
#ifndef MEMKIT_MEMKIT_MEMKIT_H
#define MEMKIT_MEMKIT_MEMKIT_H

#include "../memkit.h"

#endif /* MEMKIT_MEMKIT_MEMKIT_H */
