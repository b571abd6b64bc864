// SPDX-License-Identifier: GPL-2.0
/*
 * The parallel mark (mark.c) against a reference: a sequential breadth-
 * first search over the same fake memory.  Random graphs, cycles and
 * interior pointers, pointer-free objects holding pointers, large objects,
 * a deep list, roots that point nowhere useful, split root ranges,
 * callback roots, overflow of the work buffers; 1, 2, 4 and 8 workers.  A
 * KUnit suite in gcheap.ko and a hosted test (ASan/UBSan, and TSan).
 *
 * The heap, random graphs and the reference are the collector tests'
 * fixture (graph_fixture.h), on a faked embedder (fake_backing.h): each
 * span gets a zeroed buffer of its own (ops->map returns it).  Worker
 * threads come from gch_run_workers() (kthreads, or pthreads); they never
 * call KUnit macros, which belong to the test's own thread.
 */
#include <kunit/test.h>

#include "graph_fixture.h"

#ifdef __KERNEL__
#define MT_DEEP_LIST		5000
#define MT_WIDE			64
#define MT_FANOUT		1500
#define MT_FAN_LIST		3
#else
#define MT_DEEP_LIST		1000000
#define MT_WIDE			2000
#define MT_FANOUT		6000
#define MT_FAN_LIST		10
#endif

#define MT_SEED			0x9e3779b97f4a7c15ULL	/* every case's */

/* Free @off and forget it. */
static void mt_free(struct kunit *test, struct gf_fixture *f, u64 off)
{
	u32 i;

	KUNIT_ASSERT_EQ(test, gch_heap_free(&f->fh.h, off), 0);
	for (i = 0; i < f->nobjs; i++) {
		if (f->objs[i] == off) {
			f->objs[i] = f->objs[--f->nobjs];
			return;
		}
	}
	KUNIT_FAIL(test, "freed an object never allocated");
}

/* Store a pointer (user address) to @target + @inner in word @w of @obj. */
static void mt_link(struct gf_fixture *f, u64 obj, u32 w, u64 target,
		    u64 inner)
{
	gf_word(f, obj)[w] = GF_BASE + target + inner;
}

/*
 * The marks equal the reference and no mark bit is set without an alloc
 * bit; then clear them for the next run.
 */
static void mt_expect_ref(struct kunit *test, struct gf_fixture *f,
			  u32 nref, const struct gch_mark_stats *st,
			  unsigned int nworkers)
{
	u32 i, wrong = 0;
	struct gch_span *s;
	unsigned int c, k;
	u64 bytes = 0;

	for (i = 0; i < f->nobjs; i++) {
		if (gf_marked(f, f->objs[i]) != f->ref[i])
			wrong++;
		if (f->ref[i])
			bytes += gf_size(f, f->objs[i]);
	}
	KUNIT_EXPECT_EQ_MSG(test, wrong, 0U, "%u workers", nworkers);
	KUNIT_EXPECT_EQ_MSG(test, st->objects_marked, (u64)nref,
			    "%u workers", nworkers);
	KUNIT_EXPECT_EQ_MSG(test, st->bytes_marked, bytes,
			    "%u workers", nworkers);
	for (c = 0; c < GCH_NR_SPANCLASSES; c++)
		list_for_each_entry(s, &f->fh.h.central[c].partial, link)
			for (k = 0; k < (unsigned int)BITS_TO_LONGS(s->nobjs); k++)
				KUNIT_EXPECT_EQ(test, s->markbits[k] &
						~s->allocbits[k], 0UL);
	gf_clear_marks(f);
}

static void mark_random_graphs(struct kunit *test)
{
	struct gf_fixture *f = gf_new(test, GF_GRAPH_OBJS + 64, MT_SEED);
	struct gch_mark_stats st;
	struct gch_root roots[2];
	u64 words[32], offs[4];
	unsigned int w, i;
	u32 nref;

	gf_random_heap(test, f, GF_GRAPH_OBJS);
	for (i = 0; i < ARRAY_SIZE(words); i++)
		words[i] = GF_BASE + f->objs[gf_below(f, f->nobjs)] + 8;
	for (i = 0; i < ARRAY_SIZE(offs); i++)
		offs[i] = f->objs[gf_below(f, f->nobjs)];
	roots[0] = (struct gch_root){ .kind = GCH_ROOT_WORDS,
				      .words = words, .n = ARRAY_SIZE(words) };
	roots[1] = (struct gch_root){ .kind = GCH_ROOT_OFFSETS,
				      .words = offs, .n = ARRAY_SIZE(offs) };
	nref = gf_reference(f, roots, 2);
	kunit_info(test, "%u of %u objects reachable", nref, f->nobjs);
	KUNIT_EXPECT_GT(test, nref, 0U);
	KUNIT_EXPECT_LT(test, nref, f->nobjs);
	for (w = 0; w < ARRAY_SIZE(gf_workers); w++) {
		gf_mark(test, f, roots, 2, gf_workers[w], &st);
		mt_expect_ref(test, f, nref, &st, gf_workers[w]);
		KUNIT_EXPECT_EQ(test, st.root_items, 2ULL);
		KUNIT_EXPECT_EQ(test, st.overflows, 0ULL);
		KUNIT_EXPECT_EQ(test, st.rescans, 0ULL);
		KUNIT_EXPECT_GT(test, st.bytes_scanned, 0ULL);
	}
}

/*
 * A ring of objects linked by interior pointers (reachable, from a root
 * into the middle of one), and a second ring no root reaches.
 */
static void mark_cycles_interior(struct kunit *test)
{
	struct gf_fixture *f = gf_new(test, 256, MT_SEED);
	struct gch_mark_stats st;
	struct gch_root root;
	u64 a[50], b[50], word;
	unsigned int i, w;
	u32 nref;

	for (i = 0; i < 50; i++) {
		a[i] = gf_alloc(test, f, 1 + i % 10, false);
		b[i] = gf_alloc(test, f, 1 + i % 10, false);
	}
	for (i = 0; i < 50; i++) {
		/* the last byte of the next object, the first of the other */
		mt_link(f, a[i], 0, a[(i + 1) % 50],
			gf_size(f, a[(i + 1) % 50]) - 1);
		mt_link(f, b[i], 1, b[(i + 1) % 50], 0);
	}
	word = GF_BASE + a[17] + 5;
	root = (struct gch_root){ .kind = GCH_ROOT_WORDS, .words = &word,
				  .n = 1 };
	nref = gf_reference(f, &root, 1);
	KUNIT_EXPECT_EQ(test, nref, 50U);
	for (w = 0; w < ARRAY_SIZE(gf_workers); w++) {
		gf_mark(test, f, &root, 1, gf_workers[w], &st);
		for (i = 0; i < 50; i++) {
			KUNIT_EXPECT_TRUE(test, gf_marked(f, a[i]));
			KUNIT_EXPECT_FALSE(test, gf_marked(f, b[i]));
		}
		mt_expect_ref(test, f, nref, &st, gf_workers[w]);
		KUNIT_EXPECT_EQ(test, st.objects_scanned, 50ULL);
	}
}

/*
 * Pointer-free objects are marked but their pointer-like contents retain
 * nothing; a large scanned object retains what its last word points to
 * (past the first piece of GCH_MARK_OBLET bytes); a large noscan one
 * retains nothing.
 */
static void mark_noscan_and_large(struct kunit *test)
{
	struct gf_fixture *f = gf_new(test, 64, MT_SEED);
	u64 ns, ns_target, big, big_target, big_ns, big_ns_target, words[3];
	u64 big_size = 3 * GCH_MARK_OBLET + 4096;
	struct gch_mark_stats st;
	struct gch_root root;
	unsigned int w;

	ns = gf_alloc(test, f, 4, true);
	ns_target = gf_alloc(test, f, 4, false);
	mt_link(f, ns, 0, ns_target, 0);
	big = gf_alloc_large(test, f, big_size, false);
	big_target = gf_alloc(test, f, 2, true);
	gf_word(f, big)[big_size / 8 - 1] = GF_BASE + big_target + 3;
	big_ns = gf_alloc_large(test, f, 40000, true);
	big_ns_target = gf_alloc(test, f, 2, false);
	mt_link(f, big_ns, 100, big_ns_target, 0);
	words[0] = GF_BASE + ns + 1;
	words[1] = GF_BASE + big + GCH_MARK_OBLET + 77;	/* interior */
	words[2] = GF_BASE + big_ns + 39999;
	root = (struct gch_root){ .kind = GCH_ROOT_WORDS, .words = words,
				  .n = 3 };
	KUNIT_EXPECT_EQ(test, gf_reference(f, &root, 1), 4U);
	for (w = 0; w < ARRAY_SIZE(gf_workers); w++) {
		gf_mark(test, f, &root, 1, gf_workers[w], &st);
		KUNIT_EXPECT_TRUE(test, gf_marked(f, ns));
		KUNIT_EXPECT_FALSE(test, gf_marked(f, ns_target));
		KUNIT_EXPECT_TRUE(test, gf_marked(f, big));
		KUNIT_EXPECT_TRUE(test, gf_marked(f, big_target));
		KUNIT_EXPECT_TRUE(test, gf_marked(f, big_ns));
		KUNIT_EXPECT_FALSE(test, gf_marked(f, big_ns_target));
		/* only the big scanned object, in pieces: 4 of them */
		KUNIT_EXPECT_EQ(test, st.objects_scanned, 4ULL);
		KUNIT_EXPECT_EQ(test, st.bytes_scanned, gf_size(f, big));
		mt_expect_ref(test, f, 4, &st, gf_workers[w]);
	}
}

/*
 * Roots into free slots, a span's tail, free runs, the untouched top, the
 * arena's reserved first page (its own address above all) and outside the
 * arena mark nothing.
 */
static void mark_ignored_roots(struct kunit *test)
{
	struct gf_fixture *f = gf_new(test, 64, MT_SEED);
	u64 arena = (u64)GF_ARENA_PAGES << GCH_PAGE_SHIFT;
	u64 x[3], tailobj, la, lb, words[20];
	const struct gch_sizeclass_table *t = &f->classes;
	struct gch_mark_stats st;
	struct gch_span *s;
	struct gch_root root;
	unsigned int sc, n = 0, w;

	/* a class whose spans have a tail past their last object */
	for (sc = 1; sc < t->nr_classes; sc++)
		if ((u64)t->nobjs[sc] * t->size[sc] <
		    (u64)t->npages[sc] << GCH_PAGE_SHIFT)
			break;
	KUNIT_ASSERT_LT(test, sc, t->nr_classes);
	tailobj = gf_alloc(test, f, sc, false);
	/*
	 * The heap's first object is past the reserved page: a copy of the
	 * arena's address (a program's statistics) does not keep it alive.
	 */
	KUNIT_EXPECT_EQ(test, tailobj,
			(u64)GCH_HEAP_RESERVED_PAGES << GCH_PAGE_SHIFT);
	words[n++] = GF_BASE;
	words[n++] = GF_BASE + ((u64)GCH_HEAP_RESERVED_PAGES << GCH_PAGE_SHIFT) -
		     8;
	s = gch_heap_span_of(&f->fh.h, tailobj);
	KUNIT_ASSERT_NOT_NULL(test, s);
	words[n++] = GF_BASE + ((u64)s->start << GCH_PAGE_SHIFT) +
		     (u64)s->nobjs * s->elemsize;
	words[n++] = GF_BASE + ((u64)(s->start + s->npages) << GCH_PAGE_SHIFT) -
		     8;
	/* the second of three objects is freed: a free slot */
	x[0] = gf_alloc(test, f, 3, false);
	x[1] = gf_alloc(test, f, 3, false);
	x[2] = gf_alloc(test, f, 3, false);
	mt_free(test, f, x[1]);
	words[n++] = GF_BASE + x[1];
	words[n++] = GF_BASE + x[1] + 47;
	/* a large object freed below another: a free run */
	la = gf_alloc_large(test, f, 5 * GCH_PAGE_SIZE, false);
	lb = gf_alloc_large(test, f, 5 * GCH_PAGE_SIZE, false);
	mt_free(test, f, la);
	KUNIT_EXPECT_TRUE(test, f->fh.h.pages.used > lb >> GCH_PAGE_SHIFT);
	words[n++] = GF_BASE + la;
	words[n++] = GF_BASE + la + 2 * GCH_PAGE_SIZE + 8;
	words[n++] = GF_BASE + la + 5 * GCH_PAGE_SIZE - 8;
	/* the untouched top, the arena's end, outside it */
	words[n++] = GF_BASE + ((u64)f->fh.h.pages.used << GCH_PAGE_SHIFT);
	words[n++] = GF_BASE + arena - 8;
	words[n++] = GF_BASE + arena;
	words[n++] = GF_BASE - 8;
	words[n++] = 0;
	words[n++] = ~0ULL;
	words[n++] = x[0];		/* an offset, not an address */
	root = (struct gch_root){ .kind = GCH_ROOT_WORDS, .words = words,
				  .n = n };
	KUNIT_EXPECT_EQ(test, gf_reference(f, &root, 1), 0U);
	for (w = 0; w < ARRAY_SIZE(gf_workers); w++) {
		gf_mark(test, f, &root, 1, gf_workers[w], &st);
		KUNIT_EXPECT_EQ(test, st.objects_marked, 0ULL);
		KUNIT_EXPECT_EQ(test, st.root_words, (u64)n);
		mt_expect_ref(test, f, 0, &st, gf_workers[w]);
	}
}

/* A list far deeper than any recursion or fixed stack would take. */
static void mark_deep_list(struct kunit *test)
{
	struct gf_fixture *f = gf_new(test, MT_DEEP_LIST, MT_SEED);
	/* all but one idle throughout: they sleep, and must all wake to end */
	static const unsigned int workers[] = { 1, 4, GF_MAX_WORKERS };
	struct gch_mark_stats st;
	struct gch_root root;
	unsigned int w;
	u64 head;
	u32 i, got, missing;
	int n;

	while (f->nobjs < MT_DEEP_LIST) {
		n = gch_heap_alloc_small(&f->fh.h, GCH_SPANCLASS(1, false),
					 f->objs + f->nobjs,
					 MT_DEEP_LIST - f->nobjs);
		KUNIT_ASSERT_GT(test, n, 0);
		f->nobjs += n;
	}
	/* node i points to node i + 1, from its second word */
	for (i = 0; i + 1 < f->nobjs; i++)
		mt_link(f, f->objs[i], 1, f->objs[i + 1], 0);
	head = GF_BASE + f->objs[0];
	root = (struct gch_root){ .kind = GCH_ROOT_WORDS, .words = &head,
				  .n = 1 };
	for (w = 0; w < ARRAY_SIZE(workers); w++) {
		gf_mark(test, f, &root, 1, workers[w], &st);
		KUNIT_EXPECT_EQ(test, st.objects_marked, (u64)MT_DEEP_LIST);
		KUNIT_EXPECT_EQ(test, st.objects_scanned, (u64)MT_DEEP_LIST);
		KUNIT_EXPECT_EQ(test, st.overflows, 0ULL);
		missing = 0;
		for (i = 0; i < f->nobjs; i += 1 + i % 7)
			missing += !gf_marked(f, f->objs[i]);
		got = gf_marked(f, f->objs[f->nobjs - 1]);
		KUNIT_EXPECT_EQ(test, missing, 0U);
		KUNIT_EXPECT_EQ(test, got, 1U);
		gf_clear_marks(f);
	}
}

/*
 * Work distribution, deterministically: one callback root per worker,
 * each waiting inside the callback until every worker has entered one, so
 * each worker claims exactly one; each marks the head of its own wide
 * subtree, which it then scans itself (its own buffer is not shared until
 * it publishes it), so every worker scans objects.
 */
struct mt_wide {
	atomic_t entered;
	unsigned int nworkers;
	u64 heads[GF_MAX_WORKERS];
};

static void mt_wide_root(struct gch_mark_worker *w, void *arg)
{
	struct mt_wide *wide = arg;
	unsigned int i = atomic_inc_return(&wide->entered) - 1, round = 0;

	while (atomic_read(&wide->entered) < (int)wide->nworkers)
		gch_backoff(&round);
	gch_mark_words(w, &wide->heads[i], 1);
}

static void mark_work_distribution(struct kunit *test)
{
	struct gf_fixture *f = gf_new(test, GF_MAX_WORKERS * (MT_WIDE + 1),
				      MT_SEED);
	static const unsigned int workers[] = { 4, 8 };
	struct gch_root roots[GF_MAX_WORKERS];
	const struct gch_mark_stats *ws;
	struct mt_wide wide = { };
	struct gch_mark_stats st;
	unsigned int w, i, j, n, busy;
	u64 fan, child;

	for (i = 0; i < GF_MAX_WORKERS; i++) {
		/* a fan-out object with MT_WIDE children, each a leaf */
		fan = i % 2 ? gf_alloc_large(test, f, MT_WIDE * 8 + 40000,
					     false) :
			      gf_alloc(test, f, 16, false);
		n = min_t(unsigned int, MT_WIDE, gf_size(f, fan) / 8);
		for (j = 0; j < n; j++) {
			child = gf_alloc(test, f, 2, j % 3 == 0);
			mt_link(f, fan, j, child, 0);
		}
		wide.heads[i] = GF_BASE + fan;
	}
	for (w = 0; w < ARRAY_SIZE(workers); w++) {
		n = workers[w];
		atomic_set(&wide.entered, 0);
		wide.nworkers = n;
		for (i = 0; i < n; i++)
			roots[i] = (struct gch_root){ .kind = GCH_ROOT_FUNC,
						      .fn = mt_wide_root,
						      .arg = &wide };
		gf_mark(test, f, roots, n, n, &st);
		KUNIT_EXPECT_EQ(test, st.root_items, (u64)n);
		busy = 0;
		for (i = 0; i < n; i++) {
			ws = gch_mark_worker_stats(f->m, i);
			KUNIT_EXPECT_EQ(test, ws->root_items, 1ULL);
			busy += ws->objects_scanned > 0;
		}
		KUNIT_EXPECT_EQ(test, busy, n);
		for (i = 0; i < n; i++)
			KUNIT_EXPECT_TRUE(test, gf_marked(f, wide.heads[i] -
							  GF_BASE));
		gf_clear_marks(f);
	}
}

/*
 * No buffer beyond the two per worker made with the mark state: a fan-out
 * wider than two buffers overflows a lone worker for sure (with more
 * workers it may or may not, as others drain meanwhile), and the rescan
 * still finds exactly the reachable objects.
 */
static void mark_overflow_rescan(struct kunit *test)
{
	struct gf_fixture *f = gf_new(test, 1 + MT_FANOUT + MT_FANOUT / 15 *
				      MT_FAN_LIST + 16, MT_SEED);
	struct gch_mark_stats st;
	struct gch_root root;
	unsigned int w, i, j;
	u64 fan, word, prev, o;
	u32 nref;

	/* a large array of pointers to small objects ... */
	fan = gf_alloc_large(test, f, MT_FANOUT * 8 + GCH_MAX_SMALL_SIZE,
			     false);
	for (i = 0; i < MT_FANOUT; i++) {
		o = gf_alloc(test, f, 2, false);
		mt_link(f, fan, i, o, 0);
		/* ... every 15th of which heads a short list */
		for (prev = o, j = 0; i % 15 == 0 && j < MT_FAN_LIST; j++) {
			o = gf_alloc(test, f, 1, false);
			mt_link(f, prev, 1, o, 8);
			prev = o;
		}
	}
	gf_random_objects(test, f, 16, 0);	/* unreachable */
	word = GF_BASE + fan + 100;
	root = (struct gch_root){ .kind = GCH_ROOT_WORDS, .words = &word,
				  .n = 1 };
	nref = gf_reference(f, &root, 1);
	KUNIT_EXPECT_EQ(test, nref, 1U + MT_FANOUT +
			DIV_ROUND_UP(MT_FANOUT, 15) * MT_FAN_LIST);
	gch_mark_limit_buffers(f->m, 2 * GF_MAX_WORKERS);
	for (w = 0; w < ARRAY_SIZE(gf_workers); w++) {
		gf_mark(test, f, &root, 1, gf_workers[w], &st);
		if (gf_workers[w] == 1) {
			KUNIT_EXPECT_GT(test, st.overflows, 0ULL);
			KUNIT_EXPECT_GE(test, st.rescans, 1ULL);
		}
		mt_expect_ref(test, f, nref, &st, gf_workers[w]);
	}
	gch_mark_limit_buffers(f->m, 0);
	gf_mark(test, f, &root, 1, 4, &st);
	KUNIT_EXPECT_EQ(test, st.overflows, 0ULL);
	KUNIT_EXPECT_EQ(test, st.rescans, 0ULL);
	mt_expect_ref(test, f, nref, &st, 4);
}

/*
 * Root ranges longer than GCH_ROOT_CHUNK are split into items; offsets
 * roots (cached objects) mark by arena offset; an empty range is no item.
 */
static void mark_root_items(struct kunit *test)
{
	struct gf_fixture *f = gf_new(test, 64, MT_SEED);
	u32 nwords = 2 * GCH_ROOT_CHUNK + 5;
	struct gch_mark_stats st;
	struct gch_root roots[3];
	u64 *words, offs[2];
	u64 o[6];
	unsigned int i, w;

	words = kunit_kzalloc(test, nwords * sizeof(u64), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, words);
	for (i = 0; i < ARRAY_SIZE(o); i++)
		o[i] = gf_alloc(test, f, 1 + i, i % 2);
	words[0] = GF_BASE + o[0];
	words[GCH_ROOT_CHUNK] = GF_BASE + o[1] + 1;
	words[nwords - 1] = GF_BASE + o[2];
	offs[0] = o[3];
	offs[1] = o[4] + 2;
	roots[0] = (struct gch_root){ .kind = GCH_ROOT_WORDS, .words = words,
				      .n = nwords };
	roots[1] = (struct gch_root){ .kind = GCH_ROOT_OFFSETS, .words = offs,
				      .n = 2 };
	roots[2] = (struct gch_root){ .kind = GCH_ROOT_WORDS, .words = NULL,
				      .n = 0 };
	for (w = 0; w < ARRAY_SIZE(gf_workers); w++) {
		gf_mark(test, f, roots, 3, gf_workers[w], &st);
		KUNIT_EXPECT_EQ(test, st.root_items, 4ULL);
		KUNIT_EXPECT_EQ(test, st.root_words, (u64)nwords + 2);
		KUNIT_EXPECT_EQ(test, st.objects_marked, 5ULL);
		for (i = 0; i < 5; i++)
			KUNIT_EXPECT_TRUE(test, gf_marked(f, o[i]));
		KUNIT_EXPECT_FALSE(test, gf_marked(f, o[5]));
		gf_clear_marks(f);
	}
}

/*
 * gch_mark_unused(): objects sitting in caches are kept but not scanned,
 * so what their old contents point to is not kept by them; the same
 * object given to gch_mark_words() is scanned.
 */
struct mt_unused {
	u64 words[2];
	bool scan;
};

static void mt_unused_root(struct gch_mark_worker *w, void *arg)
{
	struct mt_unused *u = arg;

	if (u->scan)
		gch_mark_words(w, u->words, 2);
	else
		gch_mark_unused(w, u->words, 2);
}

static void mark_unused_objects(struct kunit *test)
{
	struct gf_fixture *f = gf_new(test, 64, MT_SEED);
	struct mt_unused u = { };
	struct gch_mark_stats st;
	struct gch_root root;
	u64 cached, tagged, old;
	unsigned int w;

	cached = gf_alloc(test, f, 4, false);
	tagged = gf_alloc(test, f, 4, false);
	old = gf_alloc(test, f, 4, false);
	/* stale pointers in both cached objects, as reused memory holds */
	mt_link(f, cached, 0, old, 0);
	mt_link(f, tagged, 1, old, 0);
	u.words[0] = GF_BASE + cached;
	u.words[1] = GF_BASE + tagged + 1;	/* GCH_OBJ_UNZEROED */
	root = (struct gch_root){ .kind = GCH_ROOT_FUNC, .fn = mt_unused_root,
				  .arg = &u };
	for (w = 0; w < ARRAY_SIZE(gf_workers); w++) {
		u.scan = false;
		gf_mark(test, f, &root, 1, gf_workers[w], &st);
		KUNIT_EXPECT_TRUE(test, gf_marked(f, cached));
		KUNIT_EXPECT_TRUE(test, gf_marked(f, tagged));
		KUNIT_EXPECT_FALSE(test, gf_marked(f, old));
		KUNIT_EXPECT_EQ(test, st.objects_marked, 2ULL);
		KUNIT_EXPECT_EQ(test, st.objects_scanned, 0ULL);
		gf_clear_marks(f);
		u.scan = true;
		gf_mark(test, f, &root, 1, gf_workers[w], &st);
		KUNIT_EXPECT_TRUE(test, gf_marked(f, old));
		gf_clear_marks(f);
	}
}

/*
 * gch_mark_keep_all() after a mark from too few roots: every allocated
 * object is marked (so a sweep would free none) and nothing else.
 */
static void mark_keep_all(struct kunit *test)
{
	struct gf_fixture *f = gf_new(test, 600, MT_SEED);
	struct gch_mark_stats st;
	struct gch_root root;
	u64 words[1];
	u32 i, unmarked = 0;

	gf_random_objects(test, f, 500, 50);
	gf_random_edges(f, 1);
	words[0] = GF_BASE + f->objs[0];
	root = (struct gch_root){ .kind = GCH_ROOT_WORDS, .words = words,
				  .n = 1 };
	gf_mark(test, f, &root, 1, 2, &st);
	KUNIT_EXPECT_LT(test, st.objects_marked, (u64)f->nobjs);
	gch_mark_keep_all(f->m);
	for (i = 0; i < f->nobjs; i++)
		unmarked += !gf_marked(f, f->objs[i]);
	KUNIT_EXPECT_EQ(test, unmarked, 0U);
	for (i = 0; i < f->nobjs; i++)
		f->ref[i] = true;
	st.objects_marked = f->nobjs;
	st.bytes_marked = 0;
	for (i = 0; i < f->nobjs; i++)
		st.bytes_marked += gf_size(f, f->objs[i]);
	/* no mark bit without an alloc bit; clears the marks */
	mt_expect_ref(test, f, f->nobjs, &st, 2);
}

static void mark_bad_arguments(struct kunit *test)
{
	struct gf_fixture *f = gf_new(test, 4, MT_SEED);
	struct gch_heap_ops nomap = fake_backing_ops;
	struct gch_root bad = { .kind = 7 };
	struct gch_root nofn = { .kind = GCH_ROOT_FUNC };

	KUNIT_EXPECT_NULL(test, gch_mark_create(&f->fh.h, 0));
	KUNIT_EXPECT_NULL(test, gch_mark_create(&f->fh.h,
						GCH_MARK_MAX_WORKERS + 1));
	KUNIT_EXPECT_NULL(test, gch_mark_create(NULL, 1));
	KUNIT_EXPECT_EQ(test, gch_mark_begin(f->m, GF_BASE, NULL, 0, 0),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, gch_mark_begin(f->m, GF_BASE, NULL, 0,
					     GF_MAX_WORKERS + 1), -EINVAL);
	KUNIT_EXPECT_EQ(test, gch_mark_begin(f->m, GF_BASE, NULL, 1, 1),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, gch_mark_begin(f->m, GF_BASE, &bad, 1, 1),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, gch_mark_begin(f->m, GF_BASE, &nofn, 1, 1),
			-EINVAL);
	KUNIT_EXPECT_NULL(test, gch_mark_worker_stats(f->m, GF_MAX_WORKERS));
	/* a heap without ops->map cannot be marked */
	nomap.map = NULL;
	f->fh.h.ops = &nomap;
	KUNIT_EXPECT_EQ(test, gch_mark_begin(f->m, GF_BASE, NULL, 0, 1),
			-EINVAL);
	f->fh.h.ops = &fake_backing_ops;
	/* an empty mark is fine */
	KUNIT_EXPECT_EQ(test, gch_mark_begin(f->m, GF_BASE, NULL, 0, 1), 0);
	gch_mark_work(f->m, 0);
	gch_mark_end(f->m, NULL);
}

static struct kunit_case mark_cases[] = {
	KUNIT_CASE(mark_random_graphs),
	KUNIT_CASE(mark_cycles_interior),
	KUNIT_CASE(mark_noscan_and_large),
	KUNIT_CASE(mark_ignored_roots),
	KUNIT_CASE(mark_deep_list),
	KUNIT_CASE(mark_work_distribution),
	KUNIT_CASE(mark_overflow_rescan),
	KUNIT_CASE(mark_root_items),
	KUNIT_CASE(mark_unused_objects),
	KUNIT_CASE(mark_keep_all),
	KUNIT_CASE(mark_bad_arguments),
	{}
};

static struct kunit_suite mark_suite = {
	.name = "gcheap_mark",
	.init = gf_case_init,
	.exit = gf_case_exit,
	.test_cases = mark_cases,
};

kunit_test_suite(mark_suite);
