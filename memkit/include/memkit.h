/*
 * memkit.h - libmemkit, the whole public API.
 *
 * Reference-counted copy-on-write pointers over a tracked pool, bump-pointer arenas,
 * per-thread caches and per-request arenas, RCU-protected publication, and wiping of
 * every released byte. Include this header; the sub-headers it includes are its parts.
 */
#ifndef MEMKIT_H
#define MEMKIT_H

#include "memkit/config.h"
#include "memkit/error.h"
#include "memkit/system.h"
#include "memkit/pool.h"
#include "memkit/pointer.h"
#include "memkit/arena.h"
#include "memkit/rcu.h"

#define MEMKIT_VERSION_MAJOR 0
#define MEMKIT_VERSION_MINOR 1
#define MEMKIT_VERSION_PATCH 0
#define MEMKIT_VERSION_STRING "0.1.0"

#endif /* MEMKIT_H */
