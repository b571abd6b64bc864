// SPDX-License-Identifier: GPL-2.0
/*
 * Computing the per-CPU cache layout from the size classes.
 *
 * A cache holds about GCH_CACHE_BYTES of objects, between
 * GCH_CACHE_MIN_SLOTS and GCH_CACHE_MAX_SLOTS of them: small objects get
 * many slots so that a refill system call serves many allocations (the
 * refill is the only system call of steady allocation, and costs as much
 * as hundreds of pops), large ones few so that a CPU's idle cache does
 * not hold much memory.  A block is about 140 KiB of slots per CPU that
 * allocates, touched only for the classes the program uses.
 */
#include <linux/gcheap.h>

#include "cache.h"

/**
 * gch_cache_layout_init() - lay out one CPU's block of caches
 * @l: the layout to fill.
 * @t: an initialised size-class table.
 */
void gch_cache_layout_init(struct gch_cache_layout *l,
			   const struct gch_sizeclass_table *t)
{
	u32 off = 0, sc, cap;

	memset(l, 0, sizeof(*l));
	for (sc = GCH_SPANCLASS(1, 0); sc < 2 * t->nr_classes; sc++) {
		cap = GCH_CACHE_BYTES / t->size[sc >> 1];
		if (cap < GCH_CACHE_MIN_SLOTS)
			cap = GCH_CACHE_MIN_SLOTS;
		if (cap > GCH_CACHE_MAX_SLOTS)
			cap = GCH_CACHE_MAX_SLOTS;
		l->offset[sc] = off;
		l->capacity[sc] = cap;
		/* each cache starts on its own cache line */
		off += sizeof(struct gch_cache) + cap * sizeof(__u64);
		off = (off + 63) & ~63U;
	}
	l->stride = (off + GCH_PAGE_SIZE - 1) & ~(GCH_PAGE_SIZE - 1);
}
