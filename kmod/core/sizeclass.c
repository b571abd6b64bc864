// SPDX-License-Identifier: GPL-2.0
/*
 * Building the size-class table.
 *
 * The construction follows the Go runtime's allocator of 2011 (see
 * Documentation/design.rst): walk sizes upward with an alignment step that
 * grows with the size, give each size the smallest span whose unusable tail
 * is at most 1/8 of the span, and fold a size into the previous class when
 * both would use the same span length and fit the same number of objects
 * (the larger size then wastes less).  Our minimum alignment is 16 bytes, so
 * every object is 16-byte aligned.
 */
#include "sizeclass.h"

/* Alignment step for sizes from @size on; changes only at powers of two. */
static u32 gch_sizeclass_step(u32 size, u32 step)
{
	if (size & (size - 1))
		return step;
	if (size >= 2048)
		return 256;
	if (size >= 128)
		return size / 8;
	return GCH_MIN_ALIGN;
}

/* Smallest span (in heap pages) wasting at most 1/8 of itself for @size. */
static u32 gch_sizeclass_span_pages(u32 size)
{
	u32 bytes = GCH_PAGE_SIZE;

	while (bytes % size > bytes / 8)
		bytes += GCH_PAGE_SIZE;
	return bytes >> GCH_PAGE_SHIFT;
}

static void gch_sizeclass_fill_lookup(struct gch_sizeclass_table *t)
{
	u32 c = 1, i, size;

	for (i = 0; i < GCH_SIZECLASS_FINE_LEN; i++) {
		size = i << GCH_SIZECLASS_FINE_SHIFT;
		while (t->size[c] < size)
			c++;
		t->fine[i] = c;
	}
	for (i = 0; i < GCH_SIZECLASS_COARSE_LEN; i++) {
		size = GCH_SIZECLASS_FINE_MAX + (i << GCH_SIZECLASS_COARSE_SHIFT);
		while (t->size[c] < size)
			c++;
		t->coarse[i] = c;
	}
}

/**
 * gch_sizeclass_init() - compute the size classes and lookup tables
 * @t: the table to fill; any previous contents are overwritten.
 *
 * Return: 0, or -E2BIG if the classes do not fit GCH_MAX_SIZE_CLASSES
 * (a build-time constant mismatch; never expected at run time).
 */
int gch_sizeclass_init(struct gch_sizeclass_table *t)
{
	u32 step = GCH_MIN_ALIGN, size, npages, nobjs, n = 1;

	BUILD_BUG_ON(GCH_MAX_SIZE_CLASSES > 255);	/* lookup entries are u8 */
	BUILD_BUG_ON(GCH_MAX_SMALL_SIZE % 256);

	memset(t, 0, sizeof(*t));
	for (size = GCH_MIN_ALIGN; size <= GCH_MAX_SMALL_SIZE; size += step) {
		step = gch_sizeclass_step(size, step);
		npages = gch_sizeclass_span_pages(size);
		nobjs = (npages << GCH_PAGE_SHIFT) / size;
		if (n > 1 && npages == t->npages[n - 1] &&
		    nobjs == t->nobjs[n - 1]) {
			t->size[n - 1] = size;
			continue;
		}
		if (n == GCH_MAX_SIZE_CLASSES)
			return -E2BIG;
		t->size[n] = size;
		t->npages[n] = npages;
		t->nobjs[n] = nobjs;
		n++;
	}
	t->nr_classes = n;
	gch_sizeclass_fill_lookup(t);
	return 0;
}
