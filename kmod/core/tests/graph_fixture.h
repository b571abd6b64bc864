/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The object-graph fixture of the collector tests (mark_test.c,
 * sweep_test.c): a heap on the fake backing (fake_backing.h) with its mark
 * state, the objects allocated on it, random graphs from a deterministic
 * source (the same graphs in both builds), and the reference the parallel
 * mark is checked against: a sequential breadth-first search over the
 * same memory, from the same roots.
 *
 * A suite using it has .init = gf_case_init and calls gf_case_exit() from
 * its .exit.  The helpers that take the test assert with it: call them
 * from the test's own thread, never from a mark or sweep worker.
 */
#ifndef _GCHEAP_CORE_TESTS_GRAPH_FIXTURE_H
#define _GCHEAP_CORE_TESTS_GRAPH_FIXTURE_H

#include <kunit/test.h>

#include "../bitmap.h"
#include "../mark.h"
#include "fake_backing.h"

/* random graphs: small enough for KUnit at boot, large in the hosted build */
#ifdef __KERNEL__
#define GF_GRAPH_OBJS		400
#else
#define GF_GRAPH_OBJS		20000
#endif

#define GF_BASE			0x7f1200000000ULL	/* user address of offset 0 */
#define GF_ARENA_PAGES		65536			/* 512 MiB of arena */
#define GF_MAX_WORKERS		8

static const unsigned int gf_workers[] = { 1, 2, 4, 8 };

/**
 * struct gf_fixture - a test case's heap and the objects on it
 * @fh:      the heap, on the fake backing.
 * @classes: its size classes.
 * @live:    @fh.h is initialised: gf_teardown() destroys it.
 * @m:       the mark state, for up to GF_MAX_WORKERS workers.
 * @sw:      the sweep state; a suite that sweeps makes it after gf_new(),
 *           gf_teardown() destroys it.
 * @objs:    the allocated objects' offsets.
 * @nobjs:   entries in @objs.
 * @cap:     room in @objs, @ref and @queue.
 * @ref:     per @objs entry, whether the reference found it reachable.
 * @queue:   the reference search's queue.
 * @rng:     the state of gf_rand().
 */
struct gf_fixture {
	struct fake_heap fh;
	struct gch_sizeclass_table classes;
	bool live;
	struct gch_mark *m;
	struct gch_sweep *sw;
	u64 *objs;
	u32 nobjs;
	u32 cap;
	u8 *ref;
	u64 *queue;
	u64 rng;
};

static int gf_case_init(struct kunit *test)
{
	struct gf_fixture *f;

	f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);
	if (!f)
		return -ENOMEM;
	test->priv = f;
	return gch_sizeclass_init(&f->classes);
}

/* Destroy the case's heap, if any, so that gf_new() can make another. */
static void gf_teardown(struct gf_fixture *f)
{
	gch_mark_destroy(f->m);
	gch_sweep_destroy(f->sw);
	f->m = NULL;
	f->sw = NULL;
	if (f->live)
		gch_heap_destroy(&f->fh.h);
	f->live = false;
	gch_kvfree(f->objs);
	gch_kvfree(f->ref);
	gch_kvfree(f->queue);
	f->objs = NULL;
	f->ref = NULL;
	f->queue = NULL;
	f->nobjs = 0;
}

static void gf_case_exit(struct kunit *test)
{
	struct gf_fixture *f = test->priv;

	if (f)
		gf_teardown(f);
}

/* A fresh heap for up to @cap objects, random source @seed. */
static struct gf_fixture *gf_new(struct kunit *test, u32 cap, u64 seed)
{
	struct gf_fixture *f = test->priv;

	gf_teardown(f);
	atomic_set(&f->fh.populates, 0);
	atomic_set(&f->fh.releases, 0);
	f->rng = seed;
	KUNIT_ASSERT_EQ(test, gch_heap_init(&f->fh.h, &f->classes, GF_ARENA_PAGES,
					    &fake_backing_ops), 0);
	f->live = true;
	f->m = gch_mark_create(&f->fh.h, GF_MAX_WORKERS);
	KUNIT_ASSERT_NOT_NULL(test, f->m);
	f->cap = cap;
	f->objs = gch_zalloc(cap * sizeof(f->objs[0]));
	f->ref = gch_zalloc(cap);
	f->queue = gch_zalloc(cap * sizeof(f->queue[0]));
	KUNIT_ASSERT_NOT_NULL(test, f->objs);
	KUNIT_ASSERT_NOT_NULL(test, f->ref);
	KUNIT_ASSERT_NOT_NULL(test, f->queue);
	return f;
}

static u64 gf_rand(struct gf_fixture *f)
{
	/* xorshift64*: deterministic, the same in both builds */
	f->rng ^= f->rng >> 12;
	f->rng ^= f->rng << 25;
	f->rng ^= f->rng >> 27;
	return f->rng * 0x2545f4914f6cdd1dULL;
}

static u32 gf_below(struct gf_fixture *f, u32 n)
{
	return (u32)((gf_rand(f) >> 32) % n);
}

/* The object's memory, through the fake backing. */
static u64 *gf_word(struct gf_fixture *f, u64 off)
{
	struct gch_span *s = gch_heap_span_of(&f->fh.h, off);

	if (WARN_ON(!s))
		return NULL;
	return (u64 *)((u8 *)s->backing +
		       (off - ((u64)s->start << GCH_PAGE_SHIFT)));
}

static u64 gf_size(struct gf_fixture *f, u64 off)
{
	struct gch_objinfo info;

	return gch_heap_lookup(&f->fh.h, off, &info) ? 0 : info.size;
}

static u64 gf_alloc(struct kunit *test, struct gf_fixture *f, u32 sc,
		    bool noscan)
{
	u64 off;

	KUNIT_ASSERT_LT(test, f->nobjs, f->cap);
	KUNIT_ASSERT_EQ(test, gch_heap_alloc_small(&f->fh.h,
						   GCH_SPANCLASS(sc, noscan),
						   &off, 1), 1);
	f->objs[f->nobjs++] = off;
	return off;
}

static u64 gf_alloc_large(struct kunit *test, struct gf_fixture *f, u64 size,
			  bool noscan)
{
	u64 off;

	KUNIT_ASSERT_LT(test, f->nobjs, f->cap);
	KUNIT_ASSERT_EQ(test, gch_heap_alloc_large(&f->fh.h, size, noscan, &off),
			0);
	f->objs[f->nobjs++] = off;
	return off;
}

/* Random objects of random classes, some noscan, some large. */
static void gf_random_objects(struct kunit *test, struct gf_fixture *f,
			      u32 n, u32 large_every)
{
	u32 i, sc;
	bool noscan;

	for (i = 0; i < n; i++) {
		noscan = gf_below(f, 5) == 0;
		if (large_every && gf_below(f, large_every) == 0) {
			gf_alloc_large(test, f, GCH_MAX_SMALL_SIZE + 16 +
				       gf_below(f, 300 << 10), noscan);
			continue;
		}
		/* mostly small classes, some up to the largest */
		sc = 1 + (gf_below(f, 4) ? gf_below(f, 12) :
			  gf_below(f, f->classes.nr_classes - 1));
		gf_alloc(test, f, sc, noscan);
	}
}

/* Each object gets up to @maxptr pointers (interior ones), and junk. */
static void gf_random_edges(struct gf_fixture *f, u32 maxptr)
{
	u64 off, size, t, *p;
	u32 i, k, nptr;

	for (i = 0; i < f->nobjs; i++) {
		off = f->objs[i];
		size = gf_size(f, off);
		p = gf_word(f, off);
		/* junk first: small integers, addresses outside the arena */
		p[gf_below(f, size / 8)] = gf_below(f, 1000);
		p[gf_below(f, size / 8)] = GF_BASE - 8 - gf_below(f, 4096);
		nptr = gf_below(f, maxptr + 1);
		if (size > GCH_MAX_SMALL_SIZE)
			nptr *= 4;
		for (k = 0; k < nptr; k++) {
			t = f->objs[gf_below(f, f->nobjs)];
			p[gf_below(f, size / 8)] = GF_BASE + t +
				gf_below(f, gf_size(f, t));
		}
	}
}

/* The random graph of both suites: @n objects, 1 in 200 large, 0-3 edges. */
static inline void gf_random_heap(struct kunit *test, struct gf_fixture *f, u32 n)
{
	gf_random_objects(test, f, n, 200);
	gf_random_edges(f, 3);
}

static bool gf_marked(struct gf_fixture *f, u64 off)
{
	struct gch_objinfo info;

	if (gch_heap_lookup(&f->fh.h, off, &info))
		return false;
	return gch_bitmap_test(info.span->markbits, info.index);
}

static unsigned int gf_list_marks(struct list_head *spans, bool clear)
{
	struct gch_span *s;
	unsigned int set = 0;

	list_for_each_entry(s, spans, link) {
		set += gch_bitmap_weight(s->markbits, s->nobjs);
		if (clear)
			gch_bitmap_zero(s->markbits, s->nobjs);
	}
	return set;
}

/* Mark bits set on the heap's spans; with @clear, cleared as well. */
static unsigned int gf_marks(struct gf_fixture *f, bool clear)
{
	unsigned int c, set = gf_list_marks(&f->fh.h.large, clear);

	for (c = 0; c < GCH_NR_SPANCLASSES; c++) {
		set += gf_list_marks(&f->fh.h.central[c].partial, clear);
		set += gf_list_marks(&f->fh.h.central[c].full, clear);
	}
	return set;
}

static void gf_clear_marks(struct gf_fixture *f)
{
	gf_marks(f, true);
}

/* Reference: mark @off's object (sequential, plain bits) and queue it. */
static void gf_ref_mark(struct gf_fixture *f, u64 off, u32 *tail)
{
	struct gch_objinfo info;

	if (gch_heap_lookup(&f->fh.h, off, &info) ||
	    gch_bitmap_test(info.span->markbits, info.index))
		return;
	gch_bitmap_set(info.span->markbits, info.index);
	if (!WARN_ON(*tail >= f->cap))
		f->queue[(*tail)++] = info.base;
}

/*
 * The reachable set from @roots (words and offsets; callback roots are
 * not followed) by breadth-first search, into f->ref[] (per f->objs[]
 * entry); mark bits are clear before and after.  Returns its size.
 */
static inline u32 gf_reference(struct gf_fixture *f, const struct gch_root *roots,
			unsigned int nroots)
{
	struct gch_objinfo info;
	u32 head = 0, tail = 0, i, n = 0;
	unsigned int r;
	u64 j, *p;

	for (r = 0; r < nroots; r++)
		for (j = 0; j < roots[r].n; j++)
			gf_ref_mark(f, roots[r].words[j] -
				    (roots[r].kind == GCH_ROOT_WORDS ? GF_BASE : 0),
				    &tail);
	while (head < tail) {
		if (gch_heap_lookup(&f->fh.h, f->queue[head++], &info) ||
		    info.noscan)
			continue;
		p = gf_word(f, info.base);
		for (j = 0; j < info.size / 8; j++)
			gf_ref_mark(f, p[j] - GF_BASE, &tail);
	}
	for (i = 0; i < f->nobjs; i++) {
		f->ref[i] = gf_marked(f, f->objs[i]);
		n += f->ref[i];
	}
	gf_clear_marks(f);
	return n;
}

static void gf_mark_fn(void *arg, unsigned int i)
{
	gch_mark_work(arg, i);
}

/* Mark in parallel with @nworkers; @st (if not NULL): the summed stats. */
static inline void gf_mark(struct kunit *test, struct gf_fixture *f,
		    const struct gch_root *roots, unsigned int nroots,
		    unsigned int nworkers, struct gch_mark_stats *st)
{
	KUNIT_ASSERT_EQ(test, gch_mark_begin(f->m, GF_BASE, roots, nroots,
					     nworkers), 0);
	KUNIT_ASSERT_EQ(test, gch_run_workers(nworkers, gf_mark_fn, f->m), 0);
	gch_mark_end(f->m, st);
}

#endif /* _GCHEAP_CORE_TESTS_GRAPH_FIXTURE_H */
