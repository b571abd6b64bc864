/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Layout of the per-CPU caches in the control area.
 *
 * Each CPU owns one block of the control area; in it each span class has
 * a struct gch_cache (a count and an array of slots).  The layout is a
 * pure function of the size-class table, computed by the same code in the
 * module and in libgcheap: the library uses it to find a cache, and the
 * module uses its own copy and never trusts offsets or counts read back
 * from user memory.
 */
#ifndef _GCHEAP_CORE_CACHE_H
#define _GCHEAP_CORE_CACHE_H

#include "port.h"
#include "sizeclass.h"

/*
 * Bytes of objects a cache holds at most, and its slot bounds: a refill
 * system call serves about 32 KiB of allocation at every size class up
 * to 4 KiB (2048 slots of 16 bytes), as a Go mcache owns a whole span.
 */
#define GCH_CACHE_BYTES		32768U
#define GCH_CACHE_MIN_SLOTS	8U
#define GCH_CACHE_MAX_SLOTS	2048U

/**
 * struct gch_cache_layout - where each span class's cache lies in a block
 * @offset:   byte offset of the span class's struct gch_cache in a CPU's
 *            block (0 with @capacity 0 for span classes without a cache).
 * @capacity: slots of the cache.
 * @stride:   bytes of a CPU's block, a multiple of GCH_PAGE_SIZE.
 */
struct gch_cache_layout {
	u32 offset[GCH_NR_SPANCLASSES];
	u16 capacity[GCH_NR_SPANCLASSES];
	u32 stride;
};

void gch_cache_layout_init(struct gch_cache_layout *l,
			   const struct gch_sizeclass_table *t);

#endif /* _GCHEAP_CORE_CACHE_H */
