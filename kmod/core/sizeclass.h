/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Size classes: small objects (up to GCH_MAX_SMALL_SIZE) are rounded up to
 * one of a few dozen sizes, each with its own span length, so a span holds
 * objects of one size and wastes at most 1/8 of itself at its tail.
 *
 * The table is computed, not shipped: gch_sizeclass_init() is deterministic,
 * so the module and libgcheap each build the same table from the same code
 * and check that they agree through GCH_SIZECLASS_VERSION and the class
 * count reported by GCH_IOC_VERSION.
 */
#ifndef _GCHEAP_CORE_SIZECLASS_H
#define _GCHEAP_CORE_SIZECLASS_H

#include "port.h"
#include <linux/gcheap.h>

/* Lookup granularity below and above GCH_SIZECLASS_FINE_MAX. */
#define GCH_SIZECLASS_FINE_MAX		1024U
#define GCH_SIZECLASS_FINE_SHIFT	4	/* 16-byte steps */
#define GCH_SIZECLASS_COARSE_SHIFT	7	/* 128-byte steps */

#define GCH_SIZECLASS_FINE_LEN \
	((GCH_SIZECLASS_FINE_MAX >> GCH_SIZECLASS_FINE_SHIFT) + 1)
#define GCH_SIZECLASS_COARSE_LEN \
	(((GCH_MAX_SMALL_SIZE - GCH_SIZECLASS_FINE_MAX) >> \
	  GCH_SIZECLASS_COARSE_SHIFT) + 1)

/**
 * struct gch_sizeclass_table - the size classes and their lookup tables
 * @nr_classes:   number of classes, class 0 (large objects) included.
 * @size:         object size of each class (0 for class 0).
 * @npages:       heap pages (GCH_PAGE_SIZE) in a span of each class.
 * @nobjs:        objects in a span of each class.
 * @fine:         class of sizes up to 1024, indexed by (size + 15) / 16.
 * @coarse:       class of sizes above 1024, by (size - 1024 + 127) / 128.
 */
struct gch_sizeclass_table {
	u32 nr_classes;
	u32 size[GCH_MAX_SIZE_CLASSES];
	u16 npages[GCH_MAX_SIZE_CLASSES];
	u16 nobjs[GCH_MAX_SIZE_CLASSES];
	u8 fine[GCH_SIZECLASS_FINE_LEN];
	u8 coarse[GCH_SIZECLASS_COARSE_LEN];
};

int gch_sizeclass_init(struct gch_sizeclass_table *t);

/**
 * gch_size_to_class() - the smallest size class that holds @size bytes
 * @t:    an initialised table.
 * @size: requested size; 0 is served like 1.
 *
 * Return: the class index, or 0 if @size is larger than GCH_MAX_SMALL_SIZE
 * (a large object, given a span of its own).
 */
static inline unsigned int
gch_size_to_class(const struct gch_sizeclass_table *t, size_t size)
{
	if (size <= GCH_SIZECLASS_FINE_MAX)
		return t->fine[(size + (1U << GCH_SIZECLASS_FINE_SHIFT) - 1) >>
			       GCH_SIZECLASS_FINE_SHIFT];
	if (size <= GCH_MAX_SMALL_SIZE)
		return t->coarse[(size - GCH_SIZECLASS_FINE_MAX +
				  (1U << GCH_SIZECLASS_COARSE_SHIFT) - 1) >>
				 GCH_SIZECLASS_COARSE_SHIFT];
	return 0;
}

#endif /* _GCHEAP_CORE_SIZECLASS_H */
