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
#include "memkit/malloc.h"
#include "memkit/rcu.h"
#include "memkit/version.h"

#endif /* MEMKIT_H */
