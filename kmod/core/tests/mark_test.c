// SPDX-License-Identifier: GPL-2.0
/*
 * The parallel mark (mark.c) against a reference: a sequential breadth-
 * first search over the same fake memory.  Random graphs, cycles and
 * interior pointers, pointer-free objects holding pointers, large objects,
 * a deep list, roots that point nowhere useful, split root ranges,
 * callback roots, overflow of the work buffers; 1, 2, 4 and 8 workers.  A
 * KUnit suite in gcheap.ko and a hosted test (ASan/UBSan, and TSan).
 *
 * The embedder is faked (fake_backing.h): each span gets a zeroed buffer
 * of its own (ops->map returns it).  Worker threads come from
 * gch_run_workers() (kthreads, or pthreads); they never call KUnit
 * macros, which belong to the test's own thread.
 */
#include <kunit/test.h>

#include "../bitmap.h"
#include "../mark.h"
#include "fake_backing.h"

#ifdef __KERNEL__
#define MT_GRAPH_OBJS		400
#define MT_DEEP_LIST		5000
#define MT_WIDE			64
#define MT_FANOUT		1500
#define MT_FAN_LIST		3
#else
#define MT_GRAPH_OBJS		20000
#define MT_DEEP_LIST		1000000
#define MT_WIDE			2000
#define MT_FANOUT		6000
#define MT_FAN_LIST		10
#endif

#define MT_BASE			0x7f1200000000ULL	/* user address of offset 0 */
#define MT_ARENA_PAGES		65536			/* 512 MiB of arena */
#define MT_MAX_WORKERS		8

struct mt_fixture {
	struct fake_heap fh;
	struct gch_sizeclass_table classes;
	struct kunit *test;
	bool live;
	struct gch_mark *m;
	u64 *objs;		/* every allocated object's offset */
	u32 nobjs;
	u32 cap;
	u8 *ref;		/* reference result, per objs[] entry */
	u64 *queue;		/* for the reference search */
	u64 rng;
};

static int mt_case_init(struct kunit *test)
{
	struct mt_fixture *f;

	f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);
	if (!f)
		return -ENOMEM;
	f->test = test;
	f->rng = 0x9e3779b97f4a7c15ULL;
	test->priv = f;
	return gch_sizeclass_init(&f->classes);
}

static void mt_case_exit(struct kunit *test)
{
	struct mt_fixture *f = test->priv;

	if (!f)
		return;
	gch_mark_destroy(f->m);
	if (f->live)
		gch_heap_destroy(&f->fh.h);
	gch_kvfree(f->objs);
	gch_kvfree(f->ref);
	gch_kvfree(f->queue);
}

static struct mt_fixture *mt_new(struct kunit *test, u32 cap)
{
	struct mt_fixture *f = test->priv;

	KUNIT_ASSERT_EQ(test, gch_heap_init(&f->fh.h, &f->classes, MT_ARENA_PAGES,
					    &fake_backing_ops), 0);
	f->live = true;
	f->m = gch_mark_create(&f->fh.h, MT_MAX_WORKERS);
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

static u64 mt_rand(struct mt_fixture *f)
{
	/* xorshift64*: deterministic, the same in both builds */
	f->rng ^= f->rng >> 12;
	f->rng ^= f->rng << 25;
	f->rng ^= f->rng >> 27;
	return f->rng * 0x2545f4914f6cdd1dULL;
}

static u32 mt_below(struct mt_fixture *f, u32 n)
{
	return (u32)((mt_rand(f) >> 32) % n);
}

/* The object's memory, through the fake backing. */
static u64 *mt_word(struct mt_fixture *f, u64 off)
{
	struct gch_span *s = gch_heap_span_of(&f->fh.h, off);

	if (WARN_ON(!s))
		return NULL;
	return (u64 *)((u8 *)s->backing +
		       (off - ((u64)s->start << GCH_PAGE_SHIFT)));
}

static u64 mt_size(struct mt_fixture *f, u64 off)
{
	struct gch_objinfo info;

	if (gch_heap_lookup(&f->fh.h, off, &info))
		return 0;
	return info.size;
}

static u64 mt_alloc(struct kunit *test, struct mt_fixture *f, u32 sc,
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

static u64 mt_alloc_large(struct kunit *test, struct mt_fixture *f, u64 size,
			  bool noscan)
{
	u64 off;

	KUNIT_ASSERT_LT(test, f->nobjs, f->cap);
	KUNIT_ASSERT_EQ(test, gch_heap_alloc_large(&f->fh.h, size, noscan, &off),
			0);
	f->objs[f->nobjs++] = off;
	return off;
}

/* Free @off and forget it. */
static void mt_free(struct kunit *test, struct mt_fixture *f, u64 off)
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
static void mt_link(struct mt_fixture *f, u64 obj, u32 w, u64 target,
		    u64 inner)
{
	mt_word(f, obj)[w] = MT_BASE + target + inner;
}

static void mt_clear_marks(struct mt_fixture *f)
{
	struct gch_span *s;
	unsigned int c;

	for (c = 0; c < GCH_NR_SPANCLASSES; c++) {
		list_for_each_entry(s, &f->fh.h.central[c].partial, link)
			gch_bitmap_zero(s->markbits, s->nobjs);
		list_for_each_entry(s, &f->fh.h.central[c].full, link)
			gch_bitmap_zero(s->markbits, s->nobjs);
	}
	list_for_each_entry(s, &f->fh.h.large, link)
		gch_bitmap_zero(s->markbits, s->nobjs);
}

static bool mt_marked(struct mt_fixture *f, u64 off)
{
	struct gch_objinfo info;

	if (gch_heap_lookup(&f->fh.h, off, &info))
		return false;
	return gch_bitmap_test(info.span->markbits, info.index);
}

/* Reference: mark @off's object (sequential, plain bits) and queue it. */
static void mt_ref_mark(struct mt_fixture *f, u64 off, u32 *tail)
{
	struct gch_objinfo info;

	if (gch_heap_lookup(&f->fh.h, off, &info) ||
	    gch_bitmap_test(info.span->markbits, info.index))
		return;
	gch_bitmap_set(info.span->markbits, info.index);
	if (!WARN_ON(*tail >= f->cap))
		f->queue[(*tail)++] = info.base;
}

static void mt_ref_roots(struct mt_fixture *f, const struct gch_root *roots,
			 unsigned int nroots, u32 *tail)
{
	unsigned int r;
	size_t i;

	for (r = 0; r < nroots; r++)
		for (i = 0; i < roots[r].n; i++)
			mt_ref_mark(f, roots[r].words[i] -
				    (roots[r].kind == GCH_ROOT_WORDS ? MT_BASE : 0),
				    tail);
}

/*
 * The reachable set by breadth-first search, into f->ref[] (per f->objs[]
 * entry); mark bits are clear before and after.  Returns its size.
 */
static u32 mt_reference(struct mt_fixture *f, const struct gch_root *roots,
			unsigned int nroots, const u64 *extra, u32 nextra)
{
	struct gch_objinfo info;
	u32 head = 0, tail = 0, i, n = 0;
	u64 j, *p;

	mt_ref_roots(f, roots, nroots, &tail);
	for (i = 0; i < nextra; i++)
		mt_ref_mark(f, extra[i] - MT_BASE, &tail);
	while (head < tail) {
		if (gch_heap_lookup(&f->fh.h, f->queue[head++], &info) ||
		    info.noscan)
			continue;
		p = mt_word(f, info.base);
		for (j = 0; j < info.size / 8; j++)
			mt_ref_mark(f, p[j] - MT_BASE, &tail);
	}
	for (i = 0; i < f->nobjs; i++) {
		f->ref[i] = mt_marked(f, f->objs[i]);
		n += f->ref[i];
	}
	mt_clear_marks(f);
	return n;
}

static void mt_work_fn(void *arg, unsigned int i)
{
	gch_mark_work(arg, i);
}

/* Mark in parallel with @nworkers; returns the summed statistics. */
static void mt_mark(struct kunit *test, struct mt_fixture *f,
		    const struct gch_root *roots, unsigned int nroots,
		    unsigned int nworkers, struct gch_mark_stats *st)
{
	KUNIT_ASSERT_EQ(test, gch_mark_begin(f->m, MT_BASE, roots, nroots,
					     nworkers), 0);
	KUNIT_ASSERT_EQ(test, gch_run_workers(nworkers, mt_work_fn, f->m), 0);
	gch_mark_end(f->m, st);
}

/*
 * The marks equal the reference and no mark bit is set without an alloc
 * bit; then clear them for the next run.
 */
static void mt_expect_ref(struct kunit *test, struct mt_fixture *f,
			  u32 nref, const struct gch_mark_stats *st,
			  unsigned int nworkers)
{
	u32 i, wrong = 0;
	struct gch_span *s;
	unsigned int c, k;
	u64 bytes = 0;

	for (i = 0; i < f->nobjs; i++) {
		if (mt_marked(f, f->objs[i]) != f->ref[i])
			wrong++;
		if (f->ref[i])
			bytes += mt_size(f, f->objs[i]);
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
	mt_clear_marks(f);
}

/* Random objects of random classes, some noscan, some large. */
static void mt_random_objects(struct kunit *test, struct mt_fixture *f,
			      u32 n, u32 large_every)
{
	u32 i, sc;
	bool noscan;

	for (i = 0; i < n; i++) {
		noscan = mt_below(f, 5) == 0;
		if (large_every && mt_below(f, large_every) == 0) {
			mt_alloc_large(test, f, GCH_MAX_SMALL_SIZE + 16 +
				       mt_below(f, 300 << 10), noscan);
			continue;
		}
		/* mostly small classes, some up to the largest */
		sc = 1 + (mt_below(f, 4) ? mt_below(f, 12) :
			  mt_below(f, f->classes.nr_classes - 1));
		mt_alloc(test, f, sc, noscan);
	}
}

/* Each object gets up to @maxptr pointers (interior ones), and junk. */
static void mt_random_edges(struct mt_fixture *f, u32 maxptr)
{
	u64 off, size, t, *p;
	u32 i, k, nptr;

	for (i = 0; i < f->nobjs; i++) {
		off = f->objs[i];
		size = mt_size(f, off);
		p = mt_word(f, off);
		/* junk first: small integers, addresses outside the arena */
		p[mt_below(f, size / 8)] = mt_below(f, 1000);
		p[mt_below(f, size / 8)] = MT_BASE - 8 - mt_below(f, 4096);
		nptr = mt_below(f, maxptr + 1);
		if (size > GCH_MAX_SMALL_SIZE)
			nptr *= 4;
		for (k = 0; k < nptr; k++) {
			t = f->objs[mt_below(f, f->nobjs)];
			p[mt_below(f, size / 8)] = MT_BASE + t +
				mt_below(f, mt_size(f, t));
		}
	}
}

static const unsigned int mt_workers[] = { 1, 2, 4, 8 };

static void mark_random_graphs(struct kunit *test)
{
	struct mt_fixture *f = mt_new(test, MT_GRAPH_OBJS + 64);
	struct gch_mark_stats st;
	struct gch_root roots[2];
	u64 words[32], offs[4];
	unsigned int w, i;
	u32 nref;

	mt_random_objects(test, f, MT_GRAPH_OBJS, 200);
	mt_random_edges(f, 3);
	for (i = 0; i < ARRAY_SIZE(words); i++)
		words[i] = MT_BASE + f->objs[mt_below(f, f->nobjs)] + 8;
	for (i = 0; i < ARRAY_SIZE(offs); i++)
		offs[i] = f->objs[mt_below(f, f->nobjs)];
	roots[0] = (struct gch_root){ .kind = GCH_ROOT_WORDS,
				      .words = words, .n = ARRAY_SIZE(words) };
	roots[1] = (struct gch_root){ .kind = GCH_ROOT_OFFSETS,
				      .words = offs, .n = ARRAY_SIZE(offs) };
	nref = mt_reference(f, roots, 2, NULL, 0);
	kunit_info(test, "%u of %u objects reachable", nref, f->nobjs);
	KUNIT_EXPECT_GT(test, nref, 0U);
	KUNIT_EXPECT_LT(test, nref, f->nobjs);
	for (w = 0; w < ARRAY_SIZE(mt_workers); w++) {
		mt_mark(test, f, roots, 2, mt_workers[w], &st);
		mt_expect_ref(test, f, nref, &st, mt_workers[w]);
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
	struct mt_fixture *f = mt_new(test, 256);
	struct gch_mark_stats st;
	struct gch_root root;
	u64 a[50], b[50], word;
	unsigned int i, w;
	u32 nref;

	for (i = 0; i < 50; i++) {
		a[i] = mt_alloc(test, f, 1 + i % 10, false);
		b[i] = mt_alloc(test, f, 1 + i % 10, false);
	}
	for (i = 0; i < 50; i++) {
		/* the last byte of the next object, the first of the other */
		mt_link(f, a[i], 0, a[(i + 1) % 50],
			mt_size(f, a[(i + 1) % 50]) - 1);
		mt_link(f, b[i], 1, b[(i + 1) % 50], 0);
	}
	word = MT_BASE + a[17] + 5;
	root = (struct gch_root){ .kind = GCH_ROOT_WORDS, .words = &word,
				  .n = 1 };
	nref = mt_reference(f, &root, 1, NULL, 0);
	KUNIT_EXPECT_EQ(test, nref, 50U);
	for (w = 0; w < ARRAY_SIZE(mt_workers); w++) {
		mt_mark(test, f, &root, 1, mt_workers[w], &st);
		for (i = 0; i < 50; i++) {
			KUNIT_EXPECT_TRUE(test, mt_marked(f, a[i]));
			KUNIT_EXPECT_FALSE(test, mt_marked(f, b[i]));
		}
		mt_expect_ref(test, f, nref, &st, mt_workers[w]);
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
	struct mt_fixture *f = mt_new(test, 64);
	u64 ns, ns_target, big, big_target, big_ns, big_ns_target, words[3];
	u64 big_size = 3 * GCH_MARK_OBLET + 4096;
	struct gch_mark_stats st;
	struct gch_root root;
	unsigned int w;

	ns = mt_alloc(test, f, 4, true);
	ns_target = mt_alloc(test, f, 4, false);
	mt_link(f, ns, 0, ns_target, 0);
	big = mt_alloc_large(test, f, big_size, false);
	big_target = mt_alloc(test, f, 2, true);
	mt_word(f, big)[big_size / 8 - 1] = MT_BASE + big_target + 3;
	big_ns = mt_alloc_large(test, f, 40000, true);
	big_ns_target = mt_alloc(test, f, 2, false);
	mt_link(f, big_ns, 100, big_ns_target, 0);
	words[0] = MT_BASE + ns + 1;
	words[1] = MT_BASE + big + GCH_MARK_OBLET + 77;	/* interior */
	words[2] = MT_BASE + big_ns + 39999;
	root = (struct gch_root){ .kind = GCH_ROOT_WORDS, .words = words,
				  .n = 3 };
	KUNIT_EXPECT_EQ(test, mt_reference(f, &root, 1, NULL, 0), 4U);
	for (w = 0; w < ARRAY_SIZE(mt_workers); w++) {
		mt_mark(test, f, &root, 1, mt_workers[w], &st);
		KUNIT_EXPECT_TRUE(test, mt_marked(f, ns));
		KUNIT_EXPECT_FALSE(test, mt_marked(f, ns_target));
		KUNIT_EXPECT_TRUE(test, mt_marked(f, big));
		KUNIT_EXPECT_TRUE(test, mt_marked(f, big_target));
		KUNIT_EXPECT_TRUE(test, mt_marked(f, big_ns));
		KUNIT_EXPECT_FALSE(test, mt_marked(f, big_ns_target));
		/* only the big scanned object, in pieces: 4 of them */
		KUNIT_EXPECT_EQ(test, st.objects_scanned, 4ULL);
		KUNIT_EXPECT_EQ(test, st.bytes_scanned, mt_size(f, big));
		mt_expect_ref(test, f, 4, &st, mt_workers[w]);
	}
}

/*
 * Roots into free slots, a span's tail, free runs, the untouched top and
 * outside the arena mark nothing.
 */
static void mark_ignored_roots(struct kunit *test)
{
	struct mt_fixture *f = mt_new(test, 64);
	u64 arena = (u64)MT_ARENA_PAGES << GCH_PAGE_SHIFT;
	u64 x[3], tailobj, la, lb, words[16];
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
	tailobj = mt_alloc(test, f, sc, false);
	s = gch_heap_span_of(&f->fh.h, tailobj);
	KUNIT_ASSERT_NOT_NULL(test, s);
	words[n++] = MT_BASE + ((u64)s->start << GCH_PAGE_SHIFT) +
		     (u64)s->nobjs * s->elemsize;
	words[n++] = MT_BASE + ((u64)(s->start + s->npages) << GCH_PAGE_SHIFT) -
		     8;
	/* the second of three objects is freed: a free slot */
	x[0] = mt_alloc(test, f, 3, false);
	x[1] = mt_alloc(test, f, 3, false);
	x[2] = mt_alloc(test, f, 3, false);
	mt_free(test, f, x[1]);
	words[n++] = MT_BASE + x[1];
	words[n++] = MT_BASE + x[1] + 47;
	/* a large object freed below another: a free run */
	la = mt_alloc_large(test, f, 5 * GCH_PAGE_SIZE, false);
	lb = mt_alloc_large(test, f, 5 * GCH_PAGE_SIZE, false);
	mt_free(test, f, la);
	KUNIT_EXPECT_TRUE(test, f->fh.h.pages.used > lb >> GCH_PAGE_SHIFT);
	words[n++] = MT_BASE + la;
	words[n++] = MT_BASE + la + 2 * GCH_PAGE_SIZE + 8;
	words[n++] = MT_BASE + la + 5 * GCH_PAGE_SIZE - 8;
	/* the untouched top, the arena's end, outside it */
	words[n++] = MT_BASE + ((u64)f->fh.h.pages.used << GCH_PAGE_SHIFT);
	words[n++] = MT_BASE + arena - 8;
	words[n++] = MT_BASE + arena;
	words[n++] = MT_BASE - 8;
	words[n++] = 0;
	words[n++] = ~0ULL;
	words[n++] = x[0];		/* an offset, not an address */
	root = (struct gch_root){ .kind = GCH_ROOT_WORDS, .words = words,
				  .n = n };
	KUNIT_EXPECT_EQ(test, mt_reference(f, &root, 1, NULL, 0), 0U);
	for (w = 0; w < ARRAY_SIZE(mt_workers); w++) {
		mt_mark(test, f, &root, 1, mt_workers[w], &st);
		KUNIT_EXPECT_EQ(test, st.objects_marked, 0ULL);
		KUNIT_EXPECT_EQ(test, st.root_words, (u64)n);
		mt_expect_ref(test, f, 0, &st, mt_workers[w]);
	}
}

/* A list far deeper than any recursion or fixed stack would take. */
static void mark_deep_list(struct kunit *test)
{
	struct mt_fixture *f = mt_new(test, MT_DEEP_LIST);
	/* all but one idle throughout: they sleep, and must all wake to end */
	static const unsigned int workers[] = { 1, 4, MT_MAX_WORKERS };
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
	head = MT_BASE + f->objs[0];
	root = (struct gch_root){ .kind = GCH_ROOT_WORDS, .words = &head,
				  .n = 1 };
	for (w = 0; w < ARRAY_SIZE(workers); w++) {
		mt_mark(test, f, &root, 1, workers[w], &st);
		KUNIT_EXPECT_EQ(test, st.objects_marked, (u64)MT_DEEP_LIST);
		KUNIT_EXPECT_EQ(test, st.objects_scanned, (u64)MT_DEEP_LIST);
		KUNIT_EXPECT_EQ(test, st.overflows, 0ULL);
		missing = 0;
		for (i = 0; i < f->nobjs; i += 1 + i % 7)
			missing += !mt_marked(f, f->objs[i]);
		got = mt_marked(f, f->objs[f->nobjs - 1]);
		KUNIT_EXPECT_EQ(test, missing, 0U);
		KUNIT_EXPECT_EQ(test, got, 1U);
		mt_clear_marks(f);
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
	u64 heads[MT_MAX_WORKERS];
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
	struct mt_fixture *f = mt_new(test, MT_MAX_WORKERS * (MT_WIDE + 1));
	static const unsigned int workers[] = { 4, 8 };
	struct gch_root roots[MT_MAX_WORKERS];
	const struct gch_mark_stats *ws;
	struct mt_wide wide = { };
	struct gch_mark_stats st;
	unsigned int w, i, j, n, busy;
	u64 fan, child;

	for (i = 0; i < MT_MAX_WORKERS; i++) {
		/* a fan-out object with MT_WIDE children, each a leaf */
		fan = i % 2 ? mt_alloc_large(test, f, MT_WIDE * 8 + 40000,
					     false) :
			      mt_alloc(test, f, 16, false);
		n = min_t(unsigned int, MT_WIDE, mt_size(f, fan) / 8);
		for (j = 0; j < n; j++) {
			child = mt_alloc(test, f, 2, j % 3 == 0);
			mt_link(f, fan, j, child, 0);
		}
		wide.heads[i] = MT_BASE + fan;
	}
	for (w = 0; w < ARRAY_SIZE(workers); w++) {
		n = workers[w];
		atomic_set(&wide.entered, 0);
		wide.nworkers = n;
		for (i = 0; i < n; i++)
			roots[i] = (struct gch_root){ .kind = GCH_ROOT_FUNC,
						      .fn = mt_wide_root,
						      .arg = &wide };
		mt_mark(test, f, roots, n, n, &st);
		KUNIT_EXPECT_EQ(test, st.root_items, (u64)n);
		busy = 0;
		for (i = 0; i < n; i++) {
			ws = gch_mark_worker_stats(f->m, i);
			KUNIT_EXPECT_EQ(test, ws->root_items, 1ULL);
			busy += ws->objects_scanned > 0;
		}
		KUNIT_EXPECT_EQ(test, busy, n);
		for (i = 0; i < n; i++)
			KUNIT_EXPECT_TRUE(test, mt_marked(f, wide.heads[i] -
							  MT_BASE));
		mt_clear_marks(f);
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
	struct mt_fixture *f = mt_new(test, 1 + MT_FANOUT + MT_FANOUT / 15 *
				      MT_FAN_LIST + 16);
	struct gch_mark_stats st;
	struct gch_root root;
	unsigned int w, i, j;
	u64 fan, word, prev, o;
	u32 nref;

	/* a large array of pointers to small objects ... */
	fan = mt_alloc_large(test, f, MT_FANOUT * 8 + GCH_MAX_SMALL_SIZE,
			     false);
	for (i = 0; i < MT_FANOUT; i++) {
		o = mt_alloc(test, f, 2, false);
		mt_link(f, fan, i, o, 0);
		/* ... every 15th of which heads a short list */
		for (prev = o, j = 0; i % 15 == 0 && j < MT_FAN_LIST; j++) {
			o = mt_alloc(test, f, 1, false);
			mt_link(f, prev, 1, o, 8);
			prev = o;
		}
	}
	mt_random_objects(test, f, 16, 0);	/* unreachable */
	word = MT_BASE + fan + 100;
	root = (struct gch_root){ .kind = GCH_ROOT_WORDS, .words = &word,
				  .n = 1 };
	nref = mt_reference(f, &root, 1, NULL, 0);
	KUNIT_EXPECT_EQ(test, nref, 1U + MT_FANOUT +
			DIV_ROUND_UP(MT_FANOUT, 15) * MT_FAN_LIST);
	gch_mark_limit_buffers(f->m, 2 * MT_MAX_WORKERS);
	for (w = 0; w < ARRAY_SIZE(mt_workers); w++) {
		mt_mark(test, f, &root, 1, mt_workers[w], &st);
		if (mt_workers[w] == 1) {
			KUNIT_EXPECT_GT(test, st.overflows, 0ULL);
			KUNIT_EXPECT_GE(test, st.rescans, 1ULL);
		}
		mt_expect_ref(test, f, nref, &st, mt_workers[w]);
	}
	gch_mark_limit_buffers(f->m, 0);
	mt_mark(test, f, &root, 1, 4, &st);
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
	struct mt_fixture *f = mt_new(test, 64);
	u32 nwords = 2 * GCH_ROOT_CHUNK + 5;
	struct gch_mark_stats st;
	struct gch_root roots[3];
	u64 *words, offs[2];
	u64 o[6];
	unsigned int i, w;

	words = kunit_kzalloc(test, nwords * sizeof(u64), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, words);
	for (i = 0; i < ARRAY_SIZE(o); i++)
		o[i] = mt_alloc(test, f, 1 + i, i % 2);
	words[0] = MT_BASE + o[0];
	words[GCH_ROOT_CHUNK] = MT_BASE + o[1] + 1;
	words[nwords - 1] = MT_BASE + o[2];
	offs[0] = o[3];
	offs[1] = o[4] + 2;
	roots[0] = (struct gch_root){ .kind = GCH_ROOT_WORDS, .words = words,
				      .n = nwords };
	roots[1] = (struct gch_root){ .kind = GCH_ROOT_OFFSETS, .words = offs,
				      .n = 2 };
	roots[2] = (struct gch_root){ .kind = GCH_ROOT_WORDS, .words = NULL,
				      .n = 0 };
	for (w = 0; w < ARRAY_SIZE(mt_workers); w++) {
		mt_mark(test, f, roots, 3, mt_workers[w], &st);
		KUNIT_EXPECT_EQ(test, st.root_items, 4ULL);
		KUNIT_EXPECT_EQ(test, st.root_words, (u64)nwords + 2);
		KUNIT_EXPECT_EQ(test, st.objects_marked, 5ULL);
		for (i = 0; i < 5; i++)
			KUNIT_EXPECT_TRUE(test, mt_marked(f, o[i]));
		KUNIT_EXPECT_FALSE(test, mt_marked(f, o[5]));
		mt_clear_marks(f);
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
	struct mt_fixture *f = mt_new(test, 64);
	struct mt_unused u = { };
	struct gch_mark_stats st;
	struct gch_root root;
	u64 cached, tagged, old;
	unsigned int w;

	cached = mt_alloc(test, f, 4, false);
	tagged = mt_alloc(test, f, 4, false);
	old = mt_alloc(test, f, 4, false);
	/* stale pointers in both cached objects, as reused memory holds */
	mt_link(f, cached, 0, old, 0);
	mt_link(f, tagged, 1, old, 0);
	u.words[0] = MT_BASE + cached;
	u.words[1] = MT_BASE + tagged + 1;	/* GCH_OBJ_UNZEROED */
	root = (struct gch_root){ .kind = GCH_ROOT_FUNC, .fn = mt_unused_root,
				  .arg = &u };
	for (w = 0; w < ARRAY_SIZE(mt_workers); w++) {
		u.scan = false;
		mt_mark(test, f, &root, 1, mt_workers[w], &st);
		KUNIT_EXPECT_TRUE(test, mt_marked(f, cached));
		KUNIT_EXPECT_TRUE(test, mt_marked(f, tagged));
		KUNIT_EXPECT_FALSE(test, mt_marked(f, old));
		KUNIT_EXPECT_EQ(test, st.objects_marked, 2ULL);
		KUNIT_EXPECT_EQ(test, st.objects_scanned, 0ULL);
		mt_clear_marks(f);
		u.scan = true;
		mt_mark(test, f, &root, 1, mt_workers[w], &st);
		KUNIT_EXPECT_TRUE(test, mt_marked(f, old));
		mt_clear_marks(f);
	}
}

/*
 * gch_mark_keep_all() after a mark from too few roots: every allocated
 * object is marked (so a sweep would free none) and nothing else.
 */
static void mark_keep_all(struct kunit *test)
{
	struct mt_fixture *f = mt_new(test, 600);
	struct gch_mark_stats st;
	struct gch_root root;
	u64 words[1];
	u32 i, unmarked = 0;

	mt_random_objects(test, f, 500, 50);
	mt_random_edges(f, 1);
	words[0] = MT_BASE + f->objs[0];
	root = (struct gch_root){ .kind = GCH_ROOT_WORDS, .words = words,
				  .n = 1 };
	mt_mark(test, f, &root, 1, 2, &st);
	KUNIT_EXPECT_LT(test, st.objects_marked, (u64)f->nobjs);
	gch_mark_keep_all(f->m);
	for (i = 0; i < f->nobjs; i++)
		unmarked += !mt_marked(f, f->objs[i]);
	KUNIT_EXPECT_EQ(test, unmarked, 0U);
	for (i = 0; i < f->nobjs; i++)
		f->ref[i] = true;
	st.objects_marked = f->nobjs;
	st.bytes_marked = 0;
	for (i = 0; i < f->nobjs; i++)
		st.bytes_marked += mt_size(f, f->objs[i]);
	/* no mark bit without an alloc bit; clears the marks */
	mt_expect_ref(test, f, f->nobjs, &st, 2);
}

static void mark_bad_arguments(struct kunit *test)
{
	struct mt_fixture *f = mt_new(test, 4);
	struct gch_heap_ops nomap = fake_backing_ops;
	struct gch_root bad = { .kind = 7 };
	struct gch_root nofn = { .kind = GCH_ROOT_FUNC };

	KUNIT_EXPECT_NULL(test, gch_mark_create(&f->fh.h, 0));
	KUNIT_EXPECT_NULL(test, gch_mark_create(&f->fh.h,
						GCH_MARK_MAX_WORKERS + 1));
	KUNIT_EXPECT_NULL(test, gch_mark_create(NULL, 1));
	KUNIT_EXPECT_EQ(test, gch_mark_begin(f->m, MT_BASE, NULL, 0, 0),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, gch_mark_begin(f->m, MT_BASE, NULL, 0,
					     MT_MAX_WORKERS + 1), -EINVAL);
	KUNIT_EXPECT_EQ(test, gch_mark_begin(f->m, MT_BASE, NULL, 1, 1),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, gch_mark_begin(f->m, MT_BASE, &bad, 1, 1),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, gch_mark_begin(f->m, MT_BASE, &nofn, 1, 1),
			-EINVAL);
	KUNIT_EXPECT_NULL(test, gch_mark_worker_stats(f->m, MT_MAX_WORKERS));
	/* a heap without ops->map cannot be marked */
	nomap.map = NULL;
	f->fh.h.ops = &nomap;
	KUNIT_EXPECT_EQ(test, gch_mark_begin(f->m, MT_BASE, NULL, 0, 1),
			-EINVAL);
	f->fh.h.ops = &fake_backing_ops;
	/* an empty mark is fine */
	KUNIT_EXPECT_EQ(test, gch_mark_begin(f->m, MT_BASE, NULL, 0, 1), 0);
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
	.init = mt_case_init,
	.exit = mt_case_exit,
	.test_cases = mark_cases,
};

kunit_test_suite(mark_suite);
