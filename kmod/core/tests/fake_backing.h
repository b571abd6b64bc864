/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The fake embedder of the collector tests (mark_test.c, sweep_test.c):
 * each span is backed by a zeroed buffer from gch_zalloc(), which is also
 * its "mapping", and populates and releases are counted.  Release may run
 * in several sweep workers at once: it touches only its span and an
 * atomic counter.
 */
#ifndef _GCHEAP_CORE_TESTS_FAKE_BACKING_H
#define _GCHEAP_CORE_TESTS_FAKE_BACKING_H

#include "../heap.h"

/**
 * struct fake_heap - a core heap with counted fake backing
 * @h:         the heap; initialise it with &fake_backing_ops.
 * @populates: spans populated.
 * @releases:  spans released.
 */
struct fake_heap {
	struct gch_heap_core h;
	atomic_t populates;
	atomic_t releases;
};

static int fake_populate(struct gch_heap_core *h, struct gch_span *s)
{
	struct fake_heap *fh = container_of(h, struct fake_heap, h);

	s->backing = gch_zalloc((size_t)s->npages << GCH_PAGE_SHIFT);
	if (!s->backing)
		return -ENOMEM;
	atomic_inc(&fh->populates);
	return 0;
}

static void fake_release(struct gch_heap_core *h, struct gch_span *s)
{
	struct fake_heap *fh = container_of(h, struct fake_heap, h);

	gch_kvfree(s->backing);
	s->backing = NULL;
	atomic_inc(&fh->releases);
}

static void fake_zero(struct gch_heap_core *h, struct gch_span *s, u64 off,
		      u64 len)
{
	(void)h;
	memset((u8 *)s->backing + (off - ((u64)s->start << GCH_PAGE_SHIFT)), 0,
	       len);
}

static void *fake_map(struct gch_heap_core *h, struct gch_span *s)
{
	(void)h;
	return s->backing;
}

static const struct gch_heap_ops fake_backing_ops = {
	.populate = fake_populate,
	.release = fake_release,
	.zero = fake_zero,
	.map = fake_map,
};

#endif /* _GCHEAP_CORE_TESTS_FAKE_BACKING_H */
