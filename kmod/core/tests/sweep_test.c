// SPDX-License-Identifier: GPL-2.0
/*
 * The parallel sweep (sweep.c), after a parallel mark: exactly the
 * unreachable objects are freed (against a sequential reference search),
 * emptied spans and dead large objects go back to the page heap, full
 * spans that free objects become partial and are reused zeroed, counters
 * stay exact (gch_heap_check()), with 1, 2, 4 and 8 workers, and without
 * the span snapshot (sequential fallback).  The lazy sweep (sweep
 * generations): the same result in batches, with allocation, lookups and
 * frees between them seeing unswept spans right, allocation sweeping
 * spans of its class before use and never handing out a live object or
 * one object twice, gch_heap_check() at every step, and no mark before
 * the sweep is finished.  A KUnit suite in gcheap.ko and a hosted test
 * (ASan/UBSan, and TSan).
 *
 * The heap, its objects, random graphs and the reference search are the
 * collector tests' fixture (graph_fixture.h), on the fake embedder
 * (fake_backing.h), which gives each span a zeroed buffer.
 */
#include <kunit/test.h>

#include "graph_fixture.h"

static void st_case_exit(struct kunit *test)
{
#ifndef __KERNEL__
	gch_hosted_fail_alloc_after = 0;
#endif
	gf_case_exit(test);
}

/* A fresh heap with its sweep state (any previous one of the case gone). */
static struct gf_fixture *st_new(struct kunit *test, u32 cap, u64 seed)
{
	struct gf_fixture *f = gf_new(test, cap, seed);

	f->sw = gch_sweep_create(&f->fh.h, GF_MAX_WORKERS);
	KUNIT_ASSERT_NOT_NULL(test, f->sw);
	return f;
}

/* Is an object allocated that starts at @off? */
static bool st_allocated(struct gf_fixture *f, u64 off)
{
	struct gch_objinfo info;

	return !gch_heap_lookup(&f->fh.h, off, &info) && info.base == off;
}

static void st_check(struct kunit *test, struct gf_fixture *f)
{
	const char *why = NULL;
	u64 spans = f->fh.h.nlarge;
	unsigned int c;

	KUNIT_ASSERT_EQ_MSG(test, gch_heap_check(&f->fh.h, &why), 0, "%s", why);
	for (c = 0; c < GCH_NR_SPANCLASSES; c++)
		spans += f->fh.h.central[c].nspans;
	KUNIT_EXPECT_EQ(test, (u64)(atomic_read(&f->fh.populates) -
				    atomic_read(&f->fh.releases)), spans);
}

/* No mark bit set anywhere. */
static void st_expect_marks_clear(struct kunit *test, struct gf_fixture *f)
{
	KUNIT_EXPECT_EQ(test, gf_marks(f, false), 0U);
}

/* Reference search from arena offsets @roots into f->ref[]; marks clear. */
static u32 st_reference(struct gf_fixture *f, const u64 *roots, u32 nroots)
{
	struct gch_root root = { .kind = GCH_ROOT_OFFSETS, .words = roots,
				 .n = nroots };

	return gf_reference(f, &root, 1);
}

static void st_sweep_fn(void *arg, unsigned int i)
{
	gch_sweep_work(arg, i);
}

/* A mark with @nworkers, roots given as arena offsets. */
static void st_mark(struct kunit *test, struct gf_fixture *f,
		    const u64 *roots, u32 nroots, unsigned int nworkers)
{
	struct gch_root root = { .kind = GCH_ROOT_OFFSETS, .words = roots,
				 .n = nroots };

	gf_mark(test, f, &root, 1, nworkers, NULL);
}

/* A collection with @nworkers, roots given as arena offsets. */
static void st_collect(struct kunit *test, struct gf_fixture *f,
		       const u64 *roots, u32 nroots, unsigned int nworkers,
		       struct gch_sweep_stats *st)
{
	st_mark(test, f, roots, nroots, nworkers);
	KUNIT_ASSERT_EQ(test, gch_sweep_begin(f->sw, nworkers), 0);
	KUNIT_ASSERT_EQ(test, gch_run_workers(nworkers, st_sweep_fn, f->sw), 0);
	gch_sweep_end(f->sw, st);
}

/*
 * A random heap of GF_GRAPH_OBJS objects, @nroots random roots (interior
 * pointers) and one large object nothing reaches; the reference marks
 * the survivors.  Return: how many survive, some but not all.
 */
static u32 st_random_graph(struct kunit *test, struct gf_fixture *f,
			   u64 *roots, u32 nroots)
{
	u32 i, nref;

	gf_random_heap(test, f, GF_GRAPH_OBJS);
	for (i = 0; i < nroots; i++)
		roots[i] = f->objs[gf_below(f, f->nobjs)] + 1;
	/* at least one large object dies */
	gf_alloc_large(test, f, 3 * GCH_MAX_SMALL_SIZE, false);
	nref = st_reference(f, roots, nroots);
	KUNIT_EXPECT_GT(test, nref, 0U);
	KUNIT_EXPECT_LT(test, nref, f->nobjs);
	return nref;
}

/* After a collection: exactly the reference's objects are allocated. */
static void st_expect_survivors(struct kunit *test, struct gf_fixture *f,
				unsigned int nworkers)
{
	u32 i, wrong = 0;

	for (i = 0; i < f->nobjs; i++)
		if (st_allocated(f, f->objs[i]) != !!f->ref[i])
			wrong++;
	KUNIT_EXPECT_EQ_MSG(test, wrong, 0U, "%u workers", nworkers);
}

static void sweep_random_heaps(struct kunit *test)
{
	u64 objects, inuse, mapped, roots[24], offs[8];
	struct gch_sweep_stats st, st2;
	const struct gch_sweep_stats *ws;
	struct gf_fixture *f;
	unsigned int w, i, released;
	u32 nref;
	int n, k;

	for (w = 0; w < ARRAY_SIZE(gf_workers); w++) {
		f = st_new(test, GF_GRAPH_OBJS + 64, 0x1234567ULL + w);
		nref = st_random_graph(test, f, roots, ARRAY_SIZE(roots));
		objects = f->fh.h.objects;
		inuse = f->fh.h.inuse_bytes;
		mapped = f->fh.h.mapped_pages;
		released = atomic_read(&f->fh.releases);
		st_collect(test, f, roots, ARRAY_SIZE(roots), gf_workers[w],
			   &st);
		st_check(test, f);
		st_expect_marks_clear(test, f);
		st_expect_survivors(test, f, gf_workers[w]);
		KUNIT_EXPECT_EQ(test, f->fh.h.objects, (u64)nref);
		KUNIT_EXPECT_EQ(test, st.objects_freed, objects - nref);
		KUNIT_EXPECT_EQ(test, st.bytes_freed, inuse - f->fh.h.inuse_bytes);
		KUNIT_EXPECT_EQ(test, st.pages_released,
				mapped - f->fh.h.mapped_pages);
		KUNIT_EXPECT_EQ(test, st.spans_released,
				(u64)(atomic_read(&f->fh.releases) - released));
		KUNIT_EXPECT_GT(test, st.spans_released, 0ULL);
		KUNIT_EXPECT_GE(test, st.spans_swept, st.spans_released);
		KUNIT_EXPECT_GT(test, st.large_freed, 0ULL);
		/* per-worker stats add up */
		for (i = 0, k = 0; i < gf_workers[w]; i++) {
			ws = gch_sweep_worker_stats(f->sw, i);
			k += ws->objects_freed;
		}
		KUNIT_EXPECT_EQ(test, (u64)k, st.objects_freed);

		/* freed objects come back zeroed */
		for (i = 1; i < 13; i++) {
			n = gch_heap_alloc_small(&f->fh.h, GCH_SPANCLASS(i, false),
						 offs, ARRAY_SIZE(offs));
			KUNIT_ASSERT_GT(test, n, 0);
			for (k = 0; k < n; k++)
				KUNIT_EXPECT_EQ(test, gf_word(f, offs[k])[0],
						0ULL);
		}
		st_check(test, f);

		/* a second collection frees just the new, unrooted ones */
		objects = f->fh.h.objects;
		st_collect(test, f, roots, ARRAY_SIZE(roots), gf_workers[w],
			   &st2);
		st_check(test, f);
		KUNIT_EXPECT_EQ(test, f->fh.h.objects, (u64)nref);
		KUNIT_EXPECT_EQ(test, st2.objects_freed, objects - nref);
		st_expect_survivors(test, f, gf_workers[w]);
	}
}

/*
 * Nothing is reachable: every span goes back, the page heap is empty.  The
 * one root is the arena's own address (offset 0), which a program keeps
 * copies of: no object is there (the first page is reserved), so the
 * heap's first object dies with the rest.
 */
static void sweep_everything_dead(struct kunit *test)
{
	static const u64 arena_start[1] = { 0 };
	struct gf_fixture *f;
	struct gch_sweep_stats st;
	unsigned int w;

	for (w = 0; w < ARRAY_SIZE(gf_workers); w++) {
		f = st_new(test, GF_GRAPH_OBJS / 4 + 64, 77 + w);
		gf_random_heap(test, f, GF_GRAPH_OBJS / 4);
		st_collect(test, f, arena_start, 1, gf_workers[w], &st);
		st_check(test, f);
		KUNIT_EXPECT_EQ(test, st.objects_freed, (u64)f->nobjs);
		KUNIT_EXPECT_EQ(test, f->fh.h.objects, 0ULL);
		KUNIT_EXPECT_EQ(test, f->fh.h.inuse_bytes, 0ULL);
		KUNIT_EXPECT_EQ(test, f->fh.h.mapped_pages, 0ULL);
		KUNIT_EXPECT_EQ(test, f->fh.h.pages.used,
				GCH_HEAP_RESERVED_PAGES);
		KUNIT_EXPECT_EQ(test, st.spans_released,
				(u64)atomic_read(&f->fh.populates));
		KUNIT_EXPECT_EQ(test, atomic_read(&f->fh.releases),
				atomic_read(&f->fh.populates));
	}
}

/*
 * One class, three full spans: in the first every other object survives
 * (full -> partial, reused from its first free slot, zeroed), in the
 * second none (released), in the third all (stays full).
 */
static void sweep_span_lists(struct kunit *test)
{
	struct gf_fixture *f = st_new(test, 3 * 512 + 8, 5);
	unsigned int sc = 3, per = f->classes.nobjs[sc], i, nroots = 0;
	struct gch_central *c = &f->fh.h.central[GCH_SPANCLASS(sc, false)];
	struct gch_span *s0, *s1, *s2, *s;
	struct gch_sweep_stats st;
	u64 *roots, off;

	KUNIT_ASSERT_LE(test, 3 * per, 3U * 512);
	roots = kunit_kzalloc(test, 3 * per * sizeof(u64), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, roots);
	for (i = 0; i < 3 * per; i++) {
		off = gf_alloc(test, f, sc, false);
		gf_word(f, off)[0] = 0xdeadbeef;	/* not a pointer */
	}
	s0 = gch_heap_span_of(&f->fh.h, f->objs[0]);
	s1 = gch_heap_span_of(&f->fh.h, f->objs[per]);
	s2 = gch_heap_span_of(&f->fh.h, f->objs[2 * per]);
	KUNIT_ASSERT_TRUE(test, s0 != s1 && s1 != s2 && s0 != s2);
	for (i = 1; i < per; i += 2)
		roots[nroots++] = f->objs[i];
	for (i = 2 * per; i < 3 * per; i++)
		roots[nroots++] = f->objs[i];
	KUNIT_EXPECT_TRUE(test, list_empty(&c->partial));
	st_collect(test, f, roots, nroots, 2, &st);
	st_check(test, f);
	KUNIT_EXPECT_EQ(test, st.objects_freed, (u64)(per - per / 2 + per));
	KUNIT_EXPECT_EQ(test, st.spans_released, 1ULL);
	KUNIT_EXPECT_EQ(test, st.pages_released,
			(u64)f->classes.npages[sc]);
	KUNIT_EXPECT_EQ(test, c->nspans, 2U);
	KUNIT_EXPECT_TRUE(test, list_is_singular(&c->partial));
	KUNIT_EXPECT_PTR_EQ(test, list_first_entry(&c->partial,
						   struct gch_span, link), s0);
	KUNIT_EXPECT_PTR_EQ(test, list_first_entry(&c->full,
						   struct gch_span, link), s2);
	KUNIT_EXPECT_EQ(test, s0->nalloc, per / 2);
	KUNIT_EXPECT_EQ(test, s0->freeindex, 0);
	KUNIT_EXPECT_EQ(test, s0->needzero, 1);
	KUNIT_EXPECT_EQ(test, s2->needzero, 0);
	/* the next object is s0's first, zeroed */
	KUNIT_ASSERT_EQ(test, gch_heap_alloc_small(&f->fh.h,
						   GCH_SPANCLASS(sc, false),
						   &off, 1), 1);
	KUNIT_EXPECT_EQ(test, off, f->objs[0]);
	KUNIT_EXPECT_EQ(test, gf_word(f, off)[0], 0ULL);
	s = gch_heap_span_of(&f->fh.h, off);
	KUNIT_EXPECT_PTR_EQ(test, s, s0);
	st_check(test, f);
}

/* Large objects: the marked stay, the others' spans go back. */
static void sweep_large_objects(struct kunit *test)
{
	struct gf_fixture *f = st_new(test, 16, 9);
	struct gch_sweep_stats st;
	u64 l[6], roots[3], nlarge_freed;
	unsigned int i;

	for (i = 0; i < 6; i++)
		l[i] = gf_alloc_large(test, f, (i + 5) * GCH_PAGE_SIZE, i % 2);
	roots[0] = l[0] + 12345;
	roots[1] = l[3];
	roots[2] = l[4] + 6 * GCH_PAGE_SIZE;	/* last page of 9 */
	nlarge_freed = f->fh.h.large_nfree;
	st_collect(test, f, roots, 3, 4, &st);
	st_check(test, f);
	KUNIT_EXPECT_EQ(test, st.objects_freed, 3ULL);
	KUNIT_EXPECT_EQ(test, st.large_freed, 3ULL);
	KUNIT_EXPECT_EQ(test, st.spans_released, 3ULL);
	KUNIT_EXPECT_EQ(test, st.pages_released, 6ULL + 7 + 10);
	KUNIT_EXPECT_EQ(test, st.bytes_freed, (6ULL + 7 + 10) * GCH_PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, f->fh.h.nlarge, 3ULL);
	KUNIT_EXPECT_EQ(test, f->fh.h.large_nfree - nlarge_freed, 3ULL);
	KUNIT_EXPECT_TRUE(test, st_allocated(f, l[0]));
	KUNIT_EXPECT_FALSE(test, st_allocated(f, l[1]));
	KUNIT_EXPECT_FALSE(test, st_allocated(f, l[2]));
	KUNIT_EXPECT_TRUE(test, st_allocated(f, l[3]));
	KUNIT_EXPECT_TRUE(test, st_allocated(f, l[4]));
	KUNIT_EXPECT_FALSE(test, st_allocated(f, l[5]));
	st_expect_marks_clear(test, f);
}

/*
 * Without memory for the snapshot the sweep still happens, in
 * gch_sweep_end(), and gives the same heap.
 */
static void sweep_without_snapshot(struct kunit *test)
{
#ifdef __KERNEL__
	kunit_skip(test, "failure injection is hosted only");
#else
	struct gch_sweep_stats st;
	struct gf_fixture *f;
	u64 roots[16], objects;
	unsigned int i;
	u32 nref;

	f = st_new(test, GF_GRAPH_OBJS / 4 + 64, 4242);
	gf_random_heap(test, f, GF_GRAPH_OBJS / 4);
	for (i = 0; i < ARRAY_SIZE(roots); i++)
		roots[i] = f->objs[gf_below(f, f->nobjs)];
	nref = st_reference(f, roots, ARRAY_SIZE(roots));
	objects = f->fh.h.objects;
	st_mark(test, f, roots, ARRAY_SIZE(roots), 4);
	/* the snapshot is the sweep's first allocation */
	gch_hosted_fail_alloc_after = 1;
	KUNIT_ASSERT_EQ(test, gch_sweep_begin(f->sw, 4), 0);
	gch_hosted_fail_alloc_after = 0;
	KUNIT_ASSERT_EQ(test, gch_run_workers(4, st_sweep_fn, f->sw), 0);
	gch_sweep_end(f->sw, &st);
	st_check(test, f);
	st_expect_marks_clear(test, f);
	st_expect_survivors(test, f, 4);
	KUNIT_EXPECT_EQ(test, st.objects_freed, objects - nref);
	/* worker 0 did it all, in gch_sweep_end() */
	KUNIT_EXPECT_EQ(test, gch_sweep_worker_stats(f->sw, 0)->objects_freed,
			st.objects_freed);
#endif
}

static void sweep_bad_arguments(struct kunit *test)
{
	struct gf_fixture *f = st_new(test, 4, 1);
	struct gch_sweep_stats st;

	KUNIT_EXPECT_NULL(test, gch_sweep_create(NULL, 1));
	KUNIT_EXPECT_NULL(test, gch_sweep_create(&f->fh.h, 0));
	KUNIT_EXPECT_NULL(test, gch_sweep_create(&f->fh.h,
						 GCH_MARK_MAX_WORKERS + 1));
	KUNIT_EXPECT_EQ(test, gch_sweep_begin(f->sw, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, gch_sweep_begin(f->sw, GF_MAX_WORKERS + 1),
			-EINVAL);
	KUNIT_EXPECT_NULL(test, gch_sweep_worker_stats(f->sw, GF_MAX_WORKERS));
	/* an empty heap sweeps to nothing */
	KUNIT_EXPECT_EQ(test, gch_sweep_begin(f->sw, 1), 0);
	gch_sweep_work(f->sw, 0);
	gch_sweep_end(f->sw, &st);
	KUNIT_EXPECT_EQ(test, st.spans_swept, 0ULL);
	st_check(test, f);
}

/* --- lazy sweep --------------------------------------------------------- */

#define ST_SENTINEL		0xa110c00000000000ULL

/* Spans of the heap not swept yet, counted on the lists. */
static u64 st_unswept_spans(struct gf_fixture *f)
{
	struct gch_heap_core *h = &f->fh.h;
	struct gch_span *s;
	unsigned int c;
	u64 n = 0;

	for (c = 0; c < GCH_NR_SPANCLASSES; c++) {
		list_for_each_entry(s, &h->central[c].unswept_partial, link)
			n += gch_span_unswept(h, s);
		list_for_each_entry(s, &h->central[c].unswept_full, link)
			n += gch_span_unswept(h, s);
	}
	list_for_each_entry(s, &h->large_unswept, link)
		n += gch_span_unswept(h, s);
	return n;
}

/* Allocate up to @want objects of a random class; note them in @mine. */
static void st_lazy_alloc(struct kunit *test, struct gf_fixture *f,
			  u64 *mine, u32 *nmine, u32 cap, unsigned int want)
{
	unsigned int sc, k;
	u64 offs[16];
	int n;

	sc = 1 + (gf_below(f, 4) ? gf_below(f, 12) :
		  gf_below(f, f->classes.nr_classes - 1));
	want = min_t(unsigned int, want, ARRAY_SIZE(offs));
	want = min_t(unsigned int, want, cap - *nmine);
	if (!want)
		return;
	n = gch_heap_alloc_small(&f->fh.h, GCH_SPANCLASS(sc, gf_below(f, 2)),
				 offs, want);
	KUNIT_ASSERT_GT(test, n, 0);
	for (k = 0; k < (unsigned int)n; k++) {
		/* zeroed, then ours: a second hand-out would overwrite it */
		KUNIT_EXPECT_EQ(test, gf_word(f, offs[k])[0], 0ULL);
		KUNIT_EXPECT_TRUE(test, st_allocated(f, offs[k]));
		KUNIT_EXPECT_FALSE(test, gch_span_unswept(&f->fh.h,
				gch_heap_span_of(&f->fh.h, offs[k])));
		gf_word(f, offs[k])[0] = ST_SENTINEL + *nmine;
		mine[(*nmine)++] = offs[k];
	}
}

/*
 * During a lazy sweep: the reference's objects are allocated, and of the
 * others only those handed out again (@mine, each holding its sentinel).
 */
static void st_expect_lazy_survivors(struct kunit *test, struct gf_fixture *f,
				     const u64 *mine, u32 nmine)
{
	u32 i, wrong = 0;
	u64 k;

	for (i = 0; i < f->nobjs; i++) {
		if (st_allocated(f, f->objs[i]) == !!f->ref[i])
			continue;
		k = gf_word(f, f->objs[i])[0] - ST_SENTINEL;
		if (f->ref[i] || k >= nmine || mine[k] != f->objs[i])
			wrong++;
	}
	KUNIT_EXPECT_EQ(test, wrong, 0U);
}

/*
 * Random graphs, swept lazily in batches of @batch spans with allocation
 * between batches: the result is the reference's, every object handed out
 * during the sweep was free (live objects keep their first word, objects
 * handed out keep the sentinel written into them), counters hold at every
 * step and add up at the end.
 */
static void st_lazy_random(struct kunit *test, u64 seed, unsigned int nworkers,
			   u64 batch)
{
	u64 objects, inuse, mapped, roots[24], *sig, *mine, spans;
	u32 nref, i, nmine = 0, cap = GF_GRAPH_OBJS / 2, batches = 0;
	struct gch_sweep_stats st;
	unsigned int released;
	struct gf_fixture *f;
	int populates;
	bool done;

	f = st_new(test, GF_GRAPH_OBJS + 64, seed);
	sig = kunit_kzalloc(test, f->cap * sizeof(*sig), GFP_KERNEL);
	mine = kunit_kzalloc(test, cap * sizeof(*mine), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, sig);
	KUNIT_ASSERT_NOT_NULL(test, mine);
	nref = st_random_graph(test, f, roots, ARRAY_SIZE(roots));
	for (i = 0; i < f->nobjs; i++)
		if (f->ref[i])
			sig[i] = gf_word(f, f->objs[i])[0];
	objects = f->fh.h.objects;
	inuse = f->fh.h.inuse_bytes;
	mapped = f->fh.h.mapped_pages;
	released = atomic_read(&f->fh.releases);
	populates = atomic_read(&f->fh.populates);

	st_mark(test, f, roots, ARRAY_SIZE(roots), nworkers);
	KUNIT_ASSERT_EQ(test, gch_sweep_start_lazy(f->sw), 0);
	spans = f->fh.h.unswept;
	KUNIT_EXPECT_EQ(test, st_unswept_spans(f), spans);
	KUNIT_EXPECT_GT(test, spans, 0ULL);
	/* nothing swept yet, but queries already see the mark's verdict */
	st_check(test, f);
	KUNIT_EXPECT_EQ(test, f->fh.h.objects, objects);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->fh.releases), (int)released);
	st_expect_lazy_survivors(test, f, mine, nmine);
	KUNIT_EXPECT_EQ(test, gch_mark_begin(f->m, GF_BASE, NULL, 0, 1),
			-EBUSY);

	do {
		done = gch_sweep_some(f->sw, batch);
		batches++;
		st_check(test, f);
		KUNIT_EXPECT_EQ(test, st_unswept_spans(f), f->fh.h.unswept);
		if (!(batches % 4))
			st_expect_lazy_survivors(test, f, mine, nmine);
		st_lazy_alloc(test, f, mine, &nmine, cap, 1 + gf_below(f, 16));
		st_check(test, f);
	} while (!done && batches <= spans);
	KUNIT_EXPECT_TRUE(test, done);
	/* it took batches, with allocation in between */
	if (spans > batch)
		KUNIT_EXPECT_GT(test, batches, 1U);
	KUNIT_EXPECT_EQ(test, f->fh.h.unswept, 0ULL);
	gch_sweep_finish(f->sw, &st);
	st_check(test, f);
	st_expect_marks_clear(test, f);
	st_expect_lazy_survivors(test, f, mine, nmine);

	/* the counters describe the live heap plus what we allocated */
	KUNIT_EXPECT_EQ(test, f->fh.h.objects, (u64)nref + nmine);
	KUNIT_EXPECT_EQ(test, st.objects_freed, objects - nref);
	KUNIT_EXPECT_EQ(test, st.spans_swept, spans);
	KUNIT_EXPECT_GT(test, st.spans_released, 0ULL);
	KUNIT_EXPECT_GT(test, st.large_freed, 0ULL);
	KUNIT_EXPECT_EQ(test, st.spans_released,
			(u64)(atomic_read(&f->fh.releases) - released));
	for (i = 0; i < nmine; i++)
		inuse += gf_size(f, mine[i]);
	KUNIT_EXPECT_EQ(test, st.bytes_freed, inuse - f->fh.h.inuse_bytes);
	/* pages: released ones gone, new spans' added */
	KUNIT_EXPECT_GE(test, st.pages_released + f->fh.h.mapped_pages, mapped);
	if (atomic_read(&f->fh.populates) == populates)
		KUNIT_EXPECT_EQ(test, st.pages_released + f->fh.h.mapped_pages,
				mapped);

	/* nothing live was handed out, nothing handed out twice */
	for (i = 0; i < f->nobjs; i++)
		if (f->ref[i])
			KUNIT_EXPECT_EQ(test, gf_word(f, f->objs[i])[0], sig[i]);
	for (i = 0; i < nmine; i++) {
		KUNIT_EXPECT_TRUE(test, st_allocated(f, mine[i]));
		KUNIT_EXPECT_EQ(test, gf_word(f, mine[i])[0],
				ST_SENTINEL + i);
	}

	/* the next collection, lazy again: our objects are unrooted */
	objects = f->fh.h.objects;
	st_mark(test, f, roots, ARRAY_SIZE(roots), nworkers);
	KUNIT_ASSERT_EQ(test, gch_sweep_start_lazy(f->sw), 0);
	for (i = 0; i < nmine; i++)
		KUNIT_EXPECT_FALSE(test, st_allocated(f, mine[i]));
	gch_sweep_finish(f->sw, &st);
	st_check(test, f);
	KUNIT_EXPECT_EQ(test, st.objects_freed, objects - nref);
	KUNIT_EXPECT_EQ(test, f->fh.h.objects, (u64)nref);
	st_expect_survivors(test, f, nworkers);
	/* and an eager one after it still works */
	st_collect(test, f, roots, ARRAY_SIZE(roots), nworkers, &st);
	st_check(test, f);
	KUNIT_EXPECT_EQ(test, st.objects_freed, 0ULL);
	st_expect_survivors(test, f, nworkers);
}

static void sweep_lazy_random_heaps(struct kunit *test)
{
	static const u64 batches[] = { 1, 7, 64 };
	unsigned int w;

	for (w = 0; w < ARRAY_SIZE(gf_workers); w++)
		st_lazy_random(test, 0x5eed0000ULL + w, gf_workers[w],
			       batches[w % ARRAY_SIZE(batches)]);
}

/*
 * One class, three full spans (every other object live, none, all) and a
 * span of another class with dead objects.  During the lazy sweep an
 * allocation of the class sweeps the class's spans, takes the first free
 * object of the half-live one and no new span, and leaves the other class
 * unswept; once the class's spans are used up, a new span comes.
 */
static void sweep_lazy_alloc_sweeps_class(struct kunit *test)
{
	struct gf_fixture *f = st_new(test, 3 * 512 + 64, 15);
	unsigned int sc = 3, per = f->classes.nobjs[sc], i, nroots = 0;
	struct gch_central *c = &f->fh.h.central[GCH_SPANCLASS(sc, false)];
	struct gch_span *s0, *other;
	int populates, releases;
	u64 *roots, off, o2;

	roots = kunit_kzalloc(test, 3 * per * sizeof(u64), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, roots);
	for (i = 0; i < 3 * per; i++)
		gf_word(f, gf_alloc(test, f, sc, false))[0] = 0xdeadbeef;
	o2 = gf_alloc(test, f, 9, true);
	gf_alloc(test, f, 9, true);		/* dead */
	s0 = gch_heap_span_of(&f->fh.h, f->objs[0]);
	other = gch_heap_span_of(&f->fh.h, o2);
	for (i = 1; i < per; i += 2)
		roots[nroots++] = f->objs[i];
	for (i = 2 * per; i < 3 * per; i++)
		roots[nroots++] = f->objs[i];
	roots[nroots++] = o2;

	st_mark(test, f, roots, nroots, 2);
	KUNIT_ASSERT_EQ(test, gch_sweep_start_lazy(f->sw), 0);
	KUNIT_EXPECT_EQ(test, f->fh.h.unswept, 4ULL);
	KUNIT_EXPECT_TRUE(test, list_empty(&c->partial));
	KUNIT_EXPECT_TRUE(test, list_empty(&c->full));
	populates = atomic_read(&f->fh.populates);
	releases = atomic_read(&f->fh.releases);

	KUNIT_ASSERT_EQ(test, gch_heap_alloc_small(&f->fh.h,
						   GCH_SPANCLASS(sc, false),
						   &off, 1), 1);
	st_check(test, f);
	KUNIT_EXPECT_EQ(test, off, f->objs[0]);
	KUNIT_EXPECT_EQ(test, gf_word(f, off)[0], 0ULL);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->fh.populates), populates);
	KUNIT_EXPECT_FALSE(test, gch_span_unswept(&f->fh.h, s0));
	KUNIT_EXPECT_TRUE(test, gch_span_unswept(&f->fh.h, other));
	KUNIT_EXPECT_EQ(test, s0->nalloc, per / 2 + 1);
	/* it stopped at the first span with room: the rest may wait */
	KUNIT_EXPECT_GE(test, f->fh.h.unswept, 1ULL);
	KUNIT_EXPECT_LE(test, f->fh.h.unswept, 3ULL);

	/* the class's free objects: s0's, then new spans, never a live one */
	for (i = 0; i < per - per / 2 - 1; i++) {
		KUNIT_ASSERT_EQ(test, gch_heap_alloc_small(&f->fh.h,
				GCH_SPANCLASS(sc, false), &off, 1), 1);
		KUNIT_EXPECT_PTR_EQ(test, gch_heap_span_of(&f->fh.h, off), s0);
	}
	KUNIT_EXPECT_EQ(test, s0->nalloc, (unsigned int)s0->nobjs);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->fh.populates), populates);
	KUNIT_ASSERT_EQ(test, gch_heap_alloc_small(&f->fh.h,
						   GCH_SPANCLASS(sc, false),
						   &off, 1), 1);
	st_check(test, f);
	/* every span of the class swept: the dead one released */
	KUNIT_EXPECT_TRUE(test, list_empty(&c->unswept_partial));
	KUNIT_EXPECT_TRUE(test, list_empty(&c->unswept_full));
	KUNIT_EXPECT_EQ(test, atomic_read(&f->fh.populates), populates + 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->fh.releases), releases + 1);
	KUNIT_EXPECT_EQ(test, f->fh.h.unswept, 1ULL);
	KUNIT_EXPECT_TRUE(test, gch_span_unswept(&f->fh.h, other));
	for (i = 2 * per; i < 3 * per; i++)
		KUNIT_EXPECT_EQ(test, gf_word(f, f->objs[i])[0], 0xdeadbeefULL);

	KUNIT_EXPECT_FALSE(test, gch_sweep_some(f->sw, 0));
	KUNIT_EXPECT_TRUE(test, gch_sweep_some(f->sw, 1));
	st_check(test, f);
	KUNIT_EXPECT_EQ(test, other->nalloc, 1);
	KUNIT_EXPECT_EQ(test, f->fh.h.swept.spans_swept, 4ULL);
	KUNIT_EXPECT_EQ(test, f->fh.h.swept.objects_freed,
			(u64)(per - per / 2 + per + 1));
}

/*
 * Queries and frees on unswept spans: a dead object is not there (lookup
 * -ENOENT, free -EINVAL, whether it is the span's last or not), a live one
 * is, and freeing it sweeps its span first.  Large objects alike.
 */
static void sweep_lazy_lookup_free(struct kunit *test)
{
	struct gf_fixture *f = st_new(test, 64, 21);
	struct gch_objinfo info;
	u64 a[6], dead_span[2], l[3], roots[6], objects, inuse;
	struct gch_span *sa, *sd;
	unsigned int i;

	for (i = 0; i < 6; i++)
		a[i] = gf_alloc(test, f, 2, false);
	/* a span of its own class, all dead */
	dead_span[0] = gf_alloc(test, f, 5, true);
	dead_span[1] = gf_alloc(test, f, 5, true);
	for (i = 0; i < 3; i++)
		l[i] = gf_alloc_large(test, f, 2 * GCH_MAX_SMALL_SIZE, true);
	sa = gch_heap_span_of(&f->fh.h, a[0]);
	sd = gch_heap_span_of(&f->fh.h, dead_span[0]);
	roots[0] = a[0];
	roots[1] = a[2] + 5;	/* interior */
	roots[2] = a[4];
	roots[3] = l[0];
	roots[4] = l[1] + 100;
	st_mark(test, f, roots, 5, 1);
	KUNIT_ASSERT_EQ(test, gch_sweep_start_lazy(f->sw), 0);
	objects = f->fh.h.objects;
	inuse = f->fh.h.inuse_bytes;

	/* queries: nothing is swept by them */
	KUNIT_EXPECT_EQ(test, gch_heap_lookup(&f->fh.h, a[0] + 3, &info), 0);
	KUNIT_EXPECT_EQ(test, info.base, a[0]);
	KUNIT_EXPECT_EQ(test, gch_heap_lookup(&f->fh.h, a[1], &info), -ENOENT);
	KUNIT_EXPECT_EQ(test, gch_heap_lookup(&f->fh.h, a[5] + 1, NULL),
			-ENOENT);
	KUNIT_EXPECT_EQ(test, gch_heap_lookup(&f->fh.h, dead_span[1], NULL),
			-ENOENT);
	KUNIT_EXPECT_EQ(test, gch_heap_lookup(&f->fh.h, l[1] + 8, NULL), 0);
	KUNIT_EXPECT_EQ(test, gch_heap_lookup(&f->fh.h, l[2], NULL), -ENOENT);
	KUNIT_EXPECT_TRUE(test, gch_span_unswept(&f->fh.h, sa));
	KUNIT_EXPECT_EQ(test, f->fh.h.unswept, 5ULL);
	st_check(test, f);

	/* freeing a dead object: -EINVAL, its span swept on the way */
	KUNIT_EXPECT_EQ(test, gch_heap_free(&f->fh.h, a[1]), -EINVAL);
	KUNIT_EXPECT_FALSE(test, gch_span_unswept(&f->fh.h, sa));
	KUNIT_EXPECT_EQ(test, f->fh.h.unswept, 4ULL);
	KUNIT_EXPECT_EQ(test, sa->nalloc, 3);
	KUNIT_EXPECT_EQ(test, f->fh.h.objects, objects - 3);
	st_check(test, f);
	/* a live one: freed */
	KUNIT_EXPECT_EQ(test, gch_heap_free(&f->fh.h, a[2]), 0);
	KUNIT_EXPECT_EQ(test, gch_heap_free(&f->fh.h, a[2]), -EINVAL);
	KUNIT_EXPECT_EQ(test, sa->nalloc, 2);
	st_check(test, f);

	/* the dead span: free finds nothing and the span is gone */
	KUNIT_EXPECT_EQ(test, gch_heap_free(&f->fh.h, dead_span[0]), -EINVAL);
	KUNIT_EXPECT_NULL(test, gch_heap_span_of(&f->fh.h, dead_span[0]));
	KUNIT_EXPECT_EQ(test, gch_heap_free(&f->fh.h, dead_span[1]), -EINVAL);
	(void)sd;
	st_check(test, f);

	/* large: the dead one is not freed again, the live one is */
	KUNIT_EXPECT_EQ(test, gch_heap_free(&f->fh.h, l[2]), -EINVAL);
	KUNIT_EXPECT_EQ(test, f->fh.h.nlarge, 2ULL);
	KUNIT_EXPECT_EQ(test, gch_heap_free(&f->fh.h, l[1]), 0);
	KUNIT_EXPECT_EQ(test, f->fh.h.nlarge, 1ULL);
	st_check(test, f);
	KUNIT_EXPECT_EQ(test, f->fh.h.unswept, 1ULL);	/* l[0] */
	KUNIT_EXPECT_EQ(test, gch_heap_lookup(&f->fh.h, l[0], NULL), 0);

	gch_sweep_finish(f->sw, NULL);
	st_check(test, f);
	KUNIT_EXPECT_EQ(test, f->fh.h.objects, 3ULL);	/* a[0], a[4], l[0] */
	KUNIT_EXPECT_EQ(test, f->fh.h.swept.objects_freed, objects - 5);
	KUNIT_EXPECT_EQ(test, inuse - f->fh.h.inuse_bytes,
			f->fh.h.swept.bytes_freed + gf_size(f, a[0]) +
			2 * GCH_MAX_SMALL_SIZE);
	st_expect_marks_clear(test, f);
}

/*
 * A large allocation during a lazy sweep first sweeps dead large objects,
 * so their pages make room before the heap grows.
 */
static void sweep_lazy_large_alloc(struct kunit *test)
{
	struct gf_fixture *f = st_new(test, 16, 33);
	u64 l[4], used, off;
	int releases;
	unsigned int i;

	for (i = 0; i < 4; i++)
		l[i] = gf_alloc_large(test, f, 5 * GCH_PAGE_SIZE, false);
	st_mark(test, f, &l[3], 1, 2);
	KUNIT_ASSERT_EQ(test, gch_sweep_start_lazy(f->sw), 0);
	used = f->fh.h.pages.used;
	releases = atomic_read(&f->fh.releases);
	KUNIT_ASSERT_EQ(test, gch_heap_alloc_large(&f->fh.h, 5 * GCH_PAGE_SIZE,
						   false, &off), 0);
	st_check(test, f);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->fh.releases), releases + 1);
	KUNIT_EXPECT_EQ(test, f->fh.h.pages.used, used);
	KUNIT_EXPECT_EQ(test, off, l[0]);	/* its pages again */
	KUNIT_EXPECT_EQ(test, f->fh.h.unswept, 3ULL);
	gch_sweep_finish(f->sw, NULL);
	st_check(test, f);
	KUNIT_EXPECT_EQ(test, f->fh.h.nlarge, 2ULL);
	KUNIT_EXPECT_EQ(test, f->fh.h.swept.large_freed, 3ULL);
}

/*
 * A new small span during a lazy sweep, with no free run for it: spans of
 * any class are swept first until it has room (here a dead large object,
 * which no small-class sweep would reach), so the heap reuses the dead
 * pages instead of growing.
 */
static void sweep_lazy_reclaim_before_grow(struct kunit *test)
{
	struct gf_fixture *f = st_new(test, 16, 34);
	u64 l[3], used, off;
	unsigned int i;

	for (i = 0; i < 3; i++)
		l[i] = gf_alloc_large(test, f, 5 * GCH_PAGE_SIZE, false);
	st_mark(test, f, NULL, 0, 2);
	KUNIT_ASSERT_EQ(test, gch_sweep_start_lazy(f->sw), 0);
	used = f->fh.h.pages.used;
	KUNIT_ASSERT_EQ(test, f->fh.h.pages.free_pages, 0U);
	off = gf_alloc(test, f, 1, false);
	st_check(test, f);
	KUNIT_EXPECT_EQ(test, f->fh.h.pages.used, used);
	KUNIT_EXPECT_GE(test, off, l[0]);
	KUNIT_EXPECT_LT(test, off, l[0] + 5 * GCH_PAGE_SIZE);
	/* one dead object swept, the others left to the sweep */
	KUNIT_EXPECT_EQ(test, f->fh.h.unswept, 2ULL);
	gch_sweep_finish(f->sw, NULL);
	st_check(test, f);
	KUNIT_EXPECT_EQ(test, f->fh.h.nlarge, 0ULL);
}

/*
 * The calling order: no mark, eager sweep or second lazy start while a
 * lazy sweep has spans left; gch_sweep_end() after a refused begin
 * finishes the lazy sweep; an empty heap sweeps lazily to nothing.
 */
static void sweep_lazy_order(struct kunit *test)
{
	struct gf_fixture *f = st_new(test, 256, 45);
	struct gch_sweep_stats st;
	u64 roots[1];
	unsigned int i;

	KUNIT_EXPECT_EQ(test, gch_sweep_start_lazy(f->sw), 0);
	KUNIT_EXPECT_TRUE(test, gch_sweep_some(f->sw, 1));
	gch_sweep_finish(f->sw, &st);
	KUNIT_EXPECT_EQ(test, st.spans_swept, 0ULL);
	st_check(test, f);

	for (i = 0; i < 200; i++)
		gf_alloc(test, f, 1 + i % 20, i % 3 == 0);
	roots[0] = f->objs[7];
	st_mark(test, f, roots, 1, 2);
	KUNIT_ASSERT_EQ(test, gch_sweep_start_lazy(f->sw), 0);
	KUNIT_EXPECT_EQ(test, gch_sweep_start_lazy(f->sw), -EBUSY);
	KUNIT_EXPECT_EQ(test, gch_sweep_begin(f->sw, 2), -EBUSY);
	KUNIT_EXPECT_EQ(test, gch_mark_begin(f->m, GF_BASE, NULL, 0, 1),
			-EBUSY);
	KUNIT_EXPECT_FALSE(test, gch_sweep_some(f->sw, 3));
	KUNIT_EXPECT_EQ(test, f->fh.h.swept.spans_swept, 3ULL);
	st_check(test, f);
	/* the eager end after the refused begin: finishes the lazy sweep */
	gch_sweep_end(f->sw, &st);
	KUNIT_EXPECT_EQ(test, f->fh.h.unswept, 0ULL);
	KUNIT_EXPECT_EQ(test, st.objects_freed, 199ULL);
	KUNIT_EXPECT_EQ(test, f->fh.h.objects, 1ULL);
	st_check(test, f);
	st_expect_marks_clear(test, f);
	/* refused, then finished lazily: the end must not sweep again */
	st_mark(test, f, roots, 1, 2);
	KUNIT_ASSERT_EQ(test, gch_sweep_start_lazy(f->sw), 0);
	KUNIT_EXPECT_EQ(test, gch_sweep_begin(f->sw, 2), -EBUSY);
	gch_sweep_finish(f->sw, NULL);
	gch_sweep_end(f->sw, &st);
	KUNIT_EXPECT_EQ(test, st.objects_freed, 0ULL);
	KUNIT_EXPECT_EQ(test, f->fh.h.objects, 1ULL);
	KUNIT_EXPECT_TRUE(test, st_allocated(f, f->objs[7]));
	st_check(test, f);
	/* and marking works again */
	st_collect(test, f, roots, 1, 2, &st);
	KUNIT_EXPECT_EQ(test, st.objects_freed, 0ULL);
	KUNIT_EXPECT_EQ(test, f->fh.h.objects, 1ULL);
	st_check(test, f);
}

static struct kunit_case sweep_cases[] = {
	KUNIT_CASE(sweep_random_heaps),
	KUNIT_CASE(sweep_everything_dead),
	KUNIT_CASE(sweep_span_lists),
	KUNIT_CASE(sweep_large_objects),
	KUNIT_CASE(sweep_without_snapshot),
	KUNIT_CASE(sweep_bad_arguments),
	KUNIT_CASE(sweep_lazy_random_heaps),
	KUNIT_CASE(sweep_lazy_alloc_sweeps_class),
	KUNIT_CASE(sweep_lazy_lookup_free),
	KUNIT_CASE(sweep_lazy_large_alloc),
	KUNIT_CASE(sweep_lazy_reclaim_before_grow),
	KUNIT_CASE(sweep_lazy_order),
	{}
};

static struct kunit_suite sweep_suite = {
	.name = "gcheap_sweep",
	.init = gf_case_init,
	.exit = st_case_exit,
	.test_cases = sweep_cases,
};

kunit_test_suite(sweep_suite);
