// SPDX-License-Identifier: GPL-2.0
/*
 * The page heap (pageheap.c): splitting and coalescing, best fit, growth
 * at the top and its lowering, exhaustion, the span table, reserved pages
 * at the arena's start (never handed out, never merged into), and random
 * operation sequences checked step by step against a model that only
 * knows which span owns each page.  gch_pageheap_check() verifies the
 * structural invariants after every step.  A KUnit suite in gcheap.ko and
 * a hosted test (ASan/UBSan), like every core test.
 */
#include <kunit/test.h>

#include "../heap.h"

#ifdef __KERNEL__
#define PH_RANDOM_OPS	2000
#else
#define PH_RANDOM_OPS	20000
#endif

/* The case's page heap, destroyed by the suite's exit even on failure. */
struct ph_fixture {
	struct gch_pageheap ph;
	bool live;
};

static int ph_case_init(struct kunit *test)
{
	test->priv = kunit_kzalloc(test, sizeof(struct ph_fixture), GFP_KERNEL);
	return test->priv ? 0 : -ENOMEM;
}

static void ph_case_exit(struct kunit *test)
{
	struct ph_fixture *f = test->priv;

#ifndef __KERNEL__
	gch_hosted_fail_alloc_after = 0;
#endif
	if (f && f->live)
		gch_pageheap_destroy(&f->ph);
}

static struct gch_pageheap *ph_new_reserved(struct kunit *test, u32 npages,
					     u32 reserved)
{
	struct ph_fixture *f = test->priv;

	KUNIT_ASSERT_EQ(test, gch_pageheap_init(&f->ph, npages, reserved), 0);
	f->live = true;
	return &f->ph;
}

/* Most cases test the page heap alone: no reserved pages. */
static struct gch_pageheap *ph_new(struct kunit *test, u32 npages)
{
	return ph_new_reserved(test, npages, 0);
}

static void ph_check(struct kunit *test, const struct gch_pageheap *ph)
{
	const char *why = NULL;

	KUNIT_ASSERT_EQ_MSG(test, gch_pageheap_check(ph, &why), 0, "%s", why);
}

static struct gch_span *ph_alloc(struct kunit *test, struct gch_pageheap *ph,
				 u32 npages, u32 want_start)
{
	struct gch_span *s = gch_pageheap_alloc(ph, npages);

	KUNIT_ASSERT_NOT_NULL_MSG(test, s, "alloc of %u pages", npages);
	KUNIT_EXPECT_EQ(test, s->npages, npages);
	KUNIT_EXPECT_EQ_MSG(test, s->start, want_start, "alloc of %u pages",
			    npages);
	ph_check(test, ph);
	return s;
}

/* Is [start, start + npages) a free run, recorded as such? */
static void ph_expect_run(struct kunit *test, const struct gch_pageheap *ph,
			  u32 start, u32 npages)
{
	struct gch_span *r = ph->map[start / GCH_PH_MAP_CHUNK]
				    [start % GCH_PH_MAP_CHUNK];
	u32 p;

	KUNIT_ASSERT_NOT_NULL(test, r);
	KUNIT_EXPECT_TRUE(test, r->freerun);
	KUNIT_EXPECT_EQ(test, r->start, start);
	KUNIT_EXPECT_EQ(test, r->npages, npages);
	for (p = start; p < start + npages; p++)
		KUNIT_EXPECT_NULL(test, gch_pageheap_lookup(ph, p));
}

static void pageheap_init_errors(struct kunit *test)
{
	struct ph_fixture *f = test->priv;

	KUNIT_EXPECT_EQ(test, gch_pageheap_init(&f->ph, 0, 0), -EINVAL);
	gch_pageheap_destroy(&f->ph);	/* harmless after a failed init */
	/* reserving every page leaves nothing to hand out */
	KUNIT_EXPECT_EQ(test, gch_pageheap_init(&f->ph, 1, 1), -EINVAL);
	gch_pageheap_destroy(&f->ph);
	KUNIT_EXPECT_EQ(test, gch_pageheap_init(&f->ph, 4, 5), -EINVAL);
	gch_pageheap_destroy(&f->ph);
	ph_new(test, 1);
	KUNIT_EXPECT_EQ(test, f->ph.map_chunks, 1U);
	KUNIT_EXPECT_EQ(test, f->ph.metadata_bytes, (u64)sizeof(void *));
	ph_check(test, &f->ph);
	gch_pageheap_destroy(&f->ph);
	f->live = false;
	ph_new(test, 3 * GCH_PH_MAP_CHUNK + 1);
	KUNIT_EXPECT_EQ(test, f->ph.map_chunks, 4U);
}

/* Spans are cut from the top in order; the top is where the next goes. */
static void pageheap_bump_growth(struct kunit *test)
{
	struct gch_pageheap *ph = ph_new(test, 64);
	struct gch_span *a, *b, *c;
	u32 p;

	a = ph_alloc(test, ph, 1, 0);
	b = ph_alloc(test, ph, 2, 1);
	c = ph_alloc(test, ph, 3, 3);
	KUNIT_EXPECT_EQ(test, ph->used, 6U);
	KUNIT_EXPECT_EQ(test, ph->free_pages, 0U);
	/* a fresh span is in use though its state is not set yet */
	KUNIT_EXPECT_EQ(test, a->state, (u8)GCH_SPAN_FREE);
	KUNIT_EXPECT_FALSE(test, a->freerun);
	KUNIT_EXPECT_TRUE(test, list_empty(&a->link));
	KUNIT_EXPECT_NULL(test, a->allocbits);
	KUNIT_EXPECT_PTR_EQ(test, gch_pageheap_lookup(ph, 0), a);
	KUNIT_EXPECT_PTR_EQ(test, gch_pageheap_lookup(ph, 1), b);
	KUNIT_EXPECT_PTR_EQ(test, gch_pageheap_lookup(ph, 2), b);
	for (p = 3; p < 6; p++)
		KUNIT_EXPECT_PTR_EQ(test, gch_pageheap_lookup(ph, p), c);
	for (p = 6; p < 70; p++)
		KUNIT_EXPECT_NULL(test, gch_pageheap_lookup(ph, p));
	KUNIT_EXPECT_NULL(test, gch_pageheap_lookup(ph, U32_MAX));
	/* freeing the span at the top lowers the top */
	gch_pageheap_free(ph, c);
	ph_check(test, ph);
	KUNIT_EXPECT_EQ(test, ph->used, 3U);
	KUNIT_EXPECT_EQ(test, ph->free_pages, 0U);
	c = ph_alloc(test, ph, 4, 3);
}

/* The arena ends: no span past it, and a full arena says NULL. */
static void pageheap_exhaustion(struct kunit *test)
{
	struct gch_pageheap *ph = ph_new(test, 10);
	struct gch_span *a, *b;

	KUNIT_EXPECT_NULL(test, gch_pageheap_alloc(ph, 0));
	KUNIT_EXPECT_NULL(test, gch_pageheap_alloc(ph, 11));
	KUNIT_EXPECT_NULL(test, gch_pageheap_alloc(ph, U32_MAX));
	a = ph_alloc(test, ph, 4, 0);
	KUNIT_EXPECT_NULL(test, gch_pageheap_alloc(ph, 7));
	b = ph_alloc(test, ph, 6, 4);
	KUNIT_EXPECT_NULL(test, gch_pageheap_alloc(ph, 1));
	KUNIT_EXPECT_EQ(test, ph->used, 10U);
	ph_check(test, ph);
	gch_pageheap_free(ph, a);
	KUNIT_EXPECT_EQ(test, ph->free_pages, 4U);
	KUNIT_EXPECT_NULL(test, gch_pageheap_alloc(ph, 5));
	a = ph_alloc(test, ph, 4, 0);
	gch_pageheap_free(ph, a);
	gch_pageheap_free(ph, b);
	ph_check(test, ph);
	KUNIT_EXPECT_EQ(test, ph->used, 0U);
	KUNIT_EXPECT_EQ(test, ph->free_pages, 0U);
	ph_alloc(test, ph, 10, 0);
}

/*
 * Five spans of two pages, then a guard so the top never moves: free
 * them in orders that merge to the right, to the left, and both ways.
 */
static void ph_five(struct kunit *test, struct gch_pageheap *ph,
		    struct gch_span **s)
{
	int i;

	for (i = 0; i < 5; i++)
		s[i] = ph_alloc(test, ph, 2, 2 * i);
	s[5] = ph_alloc(test, ph, 1, 10);
}

static void pageheap_coalesce(struct kunit *test)
{
	struct gch_pageheap *ph = ph_new(test, 32);
	struct gch_span *s[6];

	/* right: free 1, then 0 merges with it */
	ph_five(test, ph, s);
	gch_pageheap_free(ph, s[1]);
	ph_check(test, ph);
	ph_expect_run(test, ph, 2, 2);
	gch_pageheap_free(ph, s[0]);
	ph_check(test, ph);
	ph_expect_run(test, ph, 0, 4);
	KUNIT_EXPECT_EQ(test, ph->free_pages, 4U);
	/* left: free 3, then 4 merges with it */
	gch_pageheap_free(ph, s[3]);
	gch_pageheap_free(ph, s[4]);
	ph_check(test, ph);
	ph_expect_run(test, ph, 6, 4);
	/* both: 2 joins [0,4) and [6,10) */
	gch_pageheap_free(ph, s[2]);
	ph_check(test, ph);
	ph_expect_run(test, ph, 0, 10);
	KUNIT_EXPECT_EQ(test, ph->free_pages, 10U);
	KUNIT_EXPECT_TRUE(test, list_is_singular(&ph->free_small[10]));
	/* the guard goes: everything is the top again */
	gch_pageheap_free(ph, s[5]);
	ph_check(test, ph);
	KUNIT_EXPECT_EQ(test, ph->used, 0U);
	KUNIT_EXPECT_EQ(test, ph->free_pages, 0U);
	KUNIT_EXPECT_TRUE(test, list_empty(&ph->free_small[10]));
}

/*
 * While deferral is on (a concurrent mark reads span structs), a struct
 * the page heap is done with is kept, zeroed (state GCH_SPAN_FREE) and
 * still counted, and freed when deferral ends.  ASan reports a struct
 * freed early (a use after free here) or never (a leak).
 */
static void pageheap_defer_free(struct kunit *test)
{
	struct gch_pageheap *ph = ph_new(test, 32);
	struct gch_span *s[6], *seen;
	u64 meta;

	ph_five(test, ph, s);
	meta = ph->metadata_bytes;
	gch_pageheap_defer(ph, true);
	/* 1, then 0 (its struct stays as the run), then the top: 5 go */
	gch_pageheap_free(ph, s[1]);
	seen = s[1];
	gch_pageheap_free(ph, s[0]);
	ph_check(test, ph);
	ph_expect_run(test, ph, 0, 4);
	/* s[1] merged into s[0]'s run: kept, and readable */
	KUNIT_EXPECT_FALSE(test, list_empty(&ph->graveyard));
	KUNIT_EXPECT_EQ(test, seen->state, GCH_SPAN_FREE);
	KUNIT_EXPECT_EQ(test, ph->metadata_bytes, meta);
	gch_pageheap_free(ph, s[2]);
	gch_pageheap_free(ph, s[3]);
	gch_pageheap_free(ph, s[4]);
	gch_pageheap_free(ph, s[5]);
	ph_check(test, ph);
	KUNIT_EXPECT_EQ(test, ph->used, 0U);
	KUNIT_EXPECT_EQ(test, ph->metadata_bytes, meta);
	gch_pageheap_defer(ph, false);
	KUNIT_EXPECT_TRUE(test, list_empty(&ph->graveyard));
	KUNIT_EXPECT_EQ(test, ph->metadata_bytes,
			meta - 6 * sizeof(struct gch_span));
	ph_check(test, ph);
}

/* Free runs merge into the top when they reach it, from either side. */
static void pageheap_top_lowering(struct kunit *test)
{
	struct gch_pageheap *ph = ph_new(test, 32);
	struct gch_span *s[6];

	ph_five(test, ph, s);
	gch_pageheap_free(ph, s[3]);
	gch_pageheap_free(ph, s[4]);
	KUNIT_EXPECT_EQ(test, ph->used, 11U);
	gch_pageheap_free(ph, s[5]);	/* [6, 11) reaches the top */
	ph_check(test, ph);
	KUNIT_EXPECT_EQ(test, ph->used, 6U);
	KUNIT_EXPECT_EQ(test, ph->free_pages, 0U);
	gch_pageheap_free(ph, s[1]);
	gch_pageheap_free(ph, s[2]);	/* [2, 6) reaches it too */
	ph_check(test, ph);
	KUNIT_EXPECT_EQ(test, ph->used, 2U);
	gch_pageheap_free(ph, s[0]);
	ph_check(test, ph);
	KUNIT_EXPECT_EQ(test, ph->used, 0U);
}

/* A longer run is split at its low end, the rest stays a free run. */
static void pageheap_split(struct kunit *test)
{
	struct gch_pageheap *ph = ph_new(test, 32);
	struct gch_span *x, *a, *b, *c;

	x = ph_alloc(test, ph, 10, 0);
	ph_alloc(test, ph, 1, 10);	/* guard */
	gch_pageheap_free(ph, x);
	ph_expect_run(test, ph, 0, 10);
	a = ph_alloc(test, ph, 3, 0);
	ph_expect_run(test, ph, 3, 7);
	KUNIT_EXPECT_EQ(test, ph->free_pages, 7U);
	b = ph_alloc(test, ph, 2, 3);
	ph_expect_run(test, ph, 5, 5);
	c = ph_alloc(test, ph, 5, 5);	/* exact fit takes the run's struct */
	KUNIT_EXPECT_EQ(test, ph->free_pages, 0U);
	KUNIT_EXPECT_EQ(test, ph->used, 11U);
	KUNIT_EXPECT_FALSE(test, c->freerun);
	KUNIT_EXPECT_TRUE(test, list_empty(&c->link));
	/* and it all merges back */
	gch_pageheap_free(ph, b);
	gch_pageheap_free(ph, a);
	gch_pageheap_free(ph, c);
	ph_check(test, ph);
	ph_expect_run(test, ph, 0, 10);
}

/*
 * Best fit: the smallest run that holds the request, from the exact-length
 * lists and from the list of long runs (lowest address on a tie), before
 * the top.
 */
static void pageheap_best_fit(struct kunit *test)
{
	static const u32 runs[] = { 5, 3, 8, 200, 150, 300, 150 };
	struct gch_pageheap *ph = ph_new(test, 2048);
	struct gch_span *s[ARRAY_SIZE(runs)], *x;
	u32 start[ARRAY_SIZE(runs)], top, i, p = 0;

	for (i = 0; i < ARRAY_SIZE(runs); i++) {
		start[i] = p;
		s[i] = ph_alloc(test, ph, runs[i], p);
		ph_alloc(test, ph, 1, p + runs[i]);	/* guard */
		p += runs[i] + 1;
	}
	top = p;
	for (i = 0; i < ARRAY_SIZE(runs); i++)
		gch_pageheap_free(ph, s[i]);
	ph_check(test, ph);
	KUNIT_EXPECT_EQ(test, ph->free_pages, 816U);
	ph_alloc(test, ph, 3, start[1]);	/* exact */
	ph_alloc(test, ph, 4, start[0]);	/* 5 -> 1 left */
	ph_alloc(test, ph, 1, start[0] + 4);	/* the 1 left */
	ph_alloc(test, ph, 6, start[2]);	/* 8 -> 2 left */
	ph_alloc(test, ph, 2, start[2] + 6);
	ph_alloc(test, ph, 140, start[4]);	/* first of the two 150s */
	ph_alloc(test, ph, 140, start[6]);	/* then the second */
	ph_alloc(test, ph, 130, start[3]);	/* 200 beats 300 */
	ph_alloc(test, ph, 70, start[3] + 130);	/* exact small run */
	/* two runs of 10 now: either will do, then the other */
	x = gch_pageheap_alloc(ph, 10);
	KUNIT_ASSERT_NOT_NULL(test, x);
	KUNIT_EXPECT_TRUE(test, x->start == start[4] + 140 ||
			  x->start == start[6] + 140);
	ph_alloc(test, ph, 10, x->start == start[4] + 140 ?
		 start[6] + 140 : start[4] + 140);
	ph_alloc(test, ph, 301, top);		/* nothing fits: the top */
	ph_alloc(test, ph, 300, start[5]);
	KUNIT_EXPECT_EQ(test, ph->free_pages, 0U);
	KUNIT_EXPECT_EQ(test, ph->used, top + 301);
}

/* Spans across span-table chunks; every page of every span found. */
static void pageheap_lookup_every_page(struct kunit *test)
{
	static const u32 sizes[] = { 511, 2, 1, 600, 3, 520, 7 };
	struct gch_pageheap *ph = ph_new(test, 2000);
	struct gch_span *s[ARRAY_SIZE(sizes)];
	u32 i, p, q = 0;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		s[i] = ph_alloc(test, ph, sizes[i], q);
		q += sizes[i];
	}
	gch_pageheap_free(ph, s[3]);	/* a free run over a chunk edge */
	ph_check(test, ph);
	for (i = 0, q = 0; i < ARRAY_SIZE(sizes); q += sizes[i++])
		for (p = q; p < q + sizes[i]; p++)
			KUNIT_ASSERT_PTR_EQ(test, gch_pageheap_lookup(ph, p),
					    i == 3 ? NULL : s[i]);
	for (p = q; p < 2100; p++)
		KUNIT_ASSERT_NULL(test, gch_pageheap_lookup(ph, p));
}

/*
 * Reserved pages at the arena's start: never handed out, never looked up,
 * never merged with a free run, and the top comes down to them, not below.
 */
static void pageheap_reserved_pages(struct kunit *test)
{
	struct gch_pageheap *ph = ph_new_reserved(test, 16, 1);
	struct gch_span *a, *b, *c, *all;
	const char *why = NULL;

	KUNIT_EXPECT_EQ(test, ph->used, 1U);
	KUNIT_EXPECT_EQ(test, ph->free_pages, 0U);
	KUNIT_EXPECT_TRUE(test, gch_pageheap_empty(ph));
	ph_check(test, ph);
	/* the whole arena is one page more than can be had */
	KUNIT_EXPECT_NULL(test, gch_pageheap_alloc(ph, 16));
	a = ph_alloc(test, ph, 2, 1);
	KUNIT_EXPECT_FALSE(test, gch_pageheap_empty(ph));
	b = ph_alloc(test, ph, 3, 3);
	c = ph_alloc(test, ph, 1, 6);		/* guard */
	KUNIT_EXPECT_NULL(test, gch_pageheap_lookup(ph, 0));
	KUNIT_EXPECT_PTR_EQ(test, gch_pageheap_lookup(ph, 1), a);
	/* a free run at the reserved page stays there, merged only rightwards */
	gch_pageheap_free(ph, a);
	ph_check(test, ph);
	ph_expect_run(test, ph, 1, 2);
	KUNIT_EXPECT_NULL(test, ph->map[0][0]);
	gch_pageheap_free(ph, b);
	ph_check(test, ph);
	ph_expect_run(test, ph, 1, 5);
	KUNIT_EXPECT_EQ(test, ph->free_pages, 5U);
	a = ph_alloc(test, ph, 5, 1);		/* exact fit, not page 0 */
	/* everything freed: the top is down at the reserved page */
	gch_pageheap_free(ph, c);
	gch_pageheap_free(ph, a);
	ph_check(test, ph);
	KUNIT_EXPECT_EQ(test, ph->used, 1U);
	KUNIT_EXPECT_EQ(test, ph->free_pages, 0U);
	KUNIT_EXPECT_TRUE(test, gch_pageheap_empty(ph));
	/* a full arena: every page but the reserved one */
	all = ph_alloc(test, ph, 15, 1);
	KUNIT_EXPECT_NULL(test, gch_pageheap_alloc(ph, 1));
	KUNIT_EXPECT_EQ(test, ph->used, 16U);
	KUNIT_EXPECT_NULL(test, gch_pageheap_lookup(ph, 0));
	/* the check knows the reserved page: an entry there is corruption */
	ph->map[0][0] = all;
	KUNIT_EXPECT_EQ(test, gch_pageheap_check(ph, &why), -EUCLEAN);
	KUNIT_EXPECT_TRUE_MSG(test, why &&
			      !strcmp(why, "entry in a reserved page"),
			      "%s", why ? why : "(none)");
	ph->map[0][0] = NULL;
	ph_check(test, ph);
	gch_pageheap_free(ph, all);
	KUNIT_EXPECT_TRUE(test, gch_pageheap_empty(ph));
}

/*
 * Reserved pages cost no span-table chunk: with a chunk's worth and more
 * reserved, the first span starts after them and only its chunk is made.
 */
static void pageheap_reserved_chunk(struct kunit *test)
{
	u32 reserved = GCH_PH_MAP_CHUNK + 10;
	struct gch_pageheap *ph = ph_new_reserved(test, 3 * GCH_PH_MAP_CHUNK,
						  reserved);
	struct gch_span *s;
	u32 p;

	s = ph_alloc(test, ph, 4, reserved);
	KUNIT_EXPECT_NULL(test, ph->map[0]);
	KUNIT_EXPECT_NOT_NULL(test, ph->map[1]);
	KUNIT_EXPECT_EQ(test, ph->metadata_bytes,
			(u64)3 * sizeof(void *) +
			GCH_PH_MAP_CHUNK * sizeof(void *) + sizeof(*s));
	for (p = 0; p < reserved; p++)
		KUNIT_ASSERT_NULL(test, gch_pageheap_lookup(ph, p));
	gch_pageheap_free(ph, s);
	ph_check(test, ph);
	KUNIT_EXPECT_EQ(test, ph->used, reserved);
}

/* A page heap without memory: failures change nothing (hosted only). */
static void pageheap_alloc_failure(struct kunit *test)
{
#ifdef __KERNEL__
	kunit_skip(test, "allocation failure injection is hosted only");
#else
	struct gch_pageheap *ph = ph_new(test, 4 * GCH_PH_MAP_CHUNK);
	struct gch_span *s, *g;
	u64 meta;
	int n;

	/* a span over two new chunks: struct, chunk, chunk */
	for (n = 1; n <= 3; n++) {
		meta = ph->metadata_bytes;
		gch_hosted_fail_alloc_after = n;
		KUNIT_EXPECT_NULL(test, gch_pageheap_alloc(ph, 600));
		KUNIT_EXPECT_EQ(test, gch_hosted_fail_alloc_after, 0);
		KUNIT_EXPECT_EQ(test, ph->used, 0U);
		/* chunks made before the failure stay, and are accounted */
		KUNIT_EXPECT_GE(test, ph->metadata_bytes, meta);
		ph_check(test, ph);
	}
	gch_hosted_fail_alloc_after = 4;
	s = ph_alloc(test, ph, 600, 0);
	/* the struct and the second chunk: the first was kept */
	KUNIT_EXPECT_EQ(test, gch_hosted_fail_alloc_after, 2);
	gch_hosted_fail_alloc_after = 0;
	g = ph_alloc(test, ph, 1, 600);
	/* splitting a run needs a struct */
	gch_pageheap_free(ph, s);
	gch_hosted_fail_alloc_after = 1;
	KUNIT_EXPECT_NULL(test, gch_pageheap_alloc(ph, 10));
	ph_check(test, ph);
	ph_expect_run(test, ph, 0, 600);
	/* an exact fit and a free need none */
	KUNIT_EXPECT_EQ(test, gch_hosted_fail_alloc_after, 0);
	gch_hosted_fail_alloc_after = 1;
	s = ph_alloc(test, ph, 600, 0);
	gch_pageheap_free(ph, g);
	gch_pageheap_free(ph, s);
	KUNIT_EXPECT_EQ(test, gch_hosted_fail_alloc_after, 1);
	gch_hosted_fail_alloc_after = 0;
	ph_check(test, ph);
	/* init itself */
	gch_pageheap_destroy(ph);
	gch_hosted_fail_alloc_after = 1;
	KUNIT_EXPECT_EQ(test, gch_pageheap_init(ph, 10, 0), -ENOMEM);
	gch_pageheap_destroy(ph);
	ph_new(test, 10);
#endif
}

/*
 * The random test's model: which live span owns each page (0: none,
 * PH_RESERVED: a reserved page, which no span ever owns).
 */
#define PH_RESERVED	0xffff

struct ph_model {
	u32 npages;
	u16 *owner;			/* npages entries */
	struct gch_span **span;		/* by id; slot 0 unused */
	u32 *ids;			/* live ids, for picking one */
	u32 nlive, maxlive;
	u64 seed;
};

static u64 ph_rand(u64 *state)
{
	u64 x = *state;		/* xorshift64*, never seeded with 0 */

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dULL;
}

static u32 ph_below(u64 *state, u32 n)
{
	return (ph_rand(state) >> 32) % n;
}

/* Top of the model: one past the last owned page. */
static u32 ph_model_top(const struct ph_model *m)
{
	u32 p = m->npages;

	while (p && !m->owner[p - 1])
		p--;
	return p;
}

/*
 * Where best fit must put @n pages: the start of a smallest hole (maximal
 * unowned stretch below the top) of at least @n pages -- *@len says its
 * length, as the page heap may pick any hole of that length -- else the
 * top, else nowhere (U32_MAX).
 */
static u32 ph_model_fit(const struct ph_model *m, u32 n, u32 *len)
{
	u32 top = ph_model_top(m), p = 0, q, best = U32_MAX;

	*len = 0;
	while (p < top) {
		if (m->owner[p]) {
			p++;
			continue;
		}
		for (q = p; !m->owner[q]; q++)
			;
		if (q - p >= n && (best == U32_MAX || q - p < *len)) {
			best = p;
			*len = q - p;
		}
		p = q;
	}
	if (best != U32_MAX)
		return best;
	*len = 0;
	return n <= m->npages - top ? top : U32_MAX;
}

static void ph_model_verify(struct kunit *test, const struct gch_pageheap *ph,
			    const struct ph_model *m, u32 step)
{
	u32 p, i, free_pages = 0, top = ph_model_top(m);
	struct gch_span *s;

	ph_check(test, ph);
	KUNIT_ASSERT_EQ_MSG(test, ph->used, top, "step %u", step);
	for (p = 0; p < m->npages; p++) {
		s = m->owner[p] && m->owner[p] != PH_RESERVED ?
		    m->span[m->owner[p]] : NULL;
		KUNIT_ASSERT_PTR_EQ(test, gch_pageheap_lookup(ph, p), s);
		free_pages += p < top && !m->owner[p];
	}
	KUNIT_ASSERT_EQ_MSG(test, ph->free_pages, free_pages, "step %u", step);
	for (i = 0; i < m->nlive; i++) {
		s = m->span[m->ids[i]];
		KUNIT_ASSERT_EQ(test, m->owner[s->start], (u16)m->ids[i]);
		KUNIT_ASSERT_EQ(test, m->owner[s->start + s->npages - 1],
				(u16)m->ids[i]);
	}
}

static void ph_model_alloc(struct kunit *test, struct gch_pageheap *ph,
			   struct ph_model *m, u32 n, u32 step)
{
	u32 want, len, id, p;
	struct gch_span *s;

	want = ph_model_fit(m, n, &len);
	s = gch_pageheap_alloc(ph, n);
	if (want == U32_MAX) {
		KUNIT_ASSERT_NULL_MSG(test, s, "step %u: %u pages", step, n);
		return;
	}
	KUNIT_ASSERT_NOT_NULL_MSG(test, s, "step %u: %u pages", step, n);
	KUNIT_ASSERT_EQ(test, s->npages, n);
	if (len) {
		/* some hole of the best length, cut at its start */
		u32 q;

		KUNIT_ASSERT_TRUE_MSG(test, !s->start || m->owner[s->start - 1],
				      "step %u: not at a hole's start", step);
		for (q = s->start; q < m->npages && !m->owner[q]; q++)
			;
		KUNIT_ASSERT_EQ_MSG(test, q - s->start, len,
				    "step %u: %u pages not best fit", step, n);
	} else {
		KUNIT_ASSERT_EQ_MSG(test, s->start, want, "step %u", step);
	}
	for (id = 1; m->span[id]; id++)
		;
	m->span[id] = s;
	m->ids[m->nlive++] = id;
	for (p = s->start; p < s->start + n; p++) {
		KUNIT_ASSERT_EQ(test, m->owner[p], 0);
		m->owner[p] = id;
	}
}

static void ph_model_free(struct gch_pageheap *ph, struct ph_model *m, u32 i)
{
	u32 id = m->ids[i], p;
	struct gch_span *s = m->span[id];

	for (p = s->start; p < s->start + s->npages; p++)
		m->owner[p] = 0;
	m->span[id] = NULL;
	m->ids[i] = m->ids[--m->nlive];
	gch_pageheap_free(ph, s);
}

/* Lengths mostly short, sometimes long enough for the long-run list. */
static u32 ph_random_len(u64 *seed)
{
	u32 r = ph_below(seed, 100);

	if (r < 60)
		return 1 + ph_below(seed, 4);
	if (r < 90)
		return 1 + ph_below(seed, 40);
	return 100 + ph_below(seed, 200);
}

/*
 * Random allocations and frees against the model, in an arena of three
 * span-table chunks whose first @reserved pages are reserved.
 */
static void ph_random_vs_model(struct kunit *test, u32 reserved)
{
	struct gch_pageheap *ph = ph_new_reserved(test, 1500, reserved);
	struct ph_model *m;
	u32 step, p;

	m = kunit_kzalloc(test, sizeof(*m), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, m);
	m->npages = ph->npages;
	m->maxlive = 400;
	m->seed = 0x243f6a8885a308d3ULL;
	m->owner = kunit_kzalloc(test, m->npages * sizeof(*m->owner),
				 GFP_KERNEL);
	m->span = kunit_kzalloc(test, (m->maxlive + 2) * sizeof(*m->span),
				GFP_KERNEL);
	m->ids = kunit_kzalloc(test, m->maxlive * sizeof(*m->ids), GFP_KERNEL);
	KUNIT_ASSERT_TRUE(test, m->owner && m->span && m->ids);
	for (p = 0; p < reserved; p++)
		m->owner[p] = PH_RESERVED;
	ph_model_verify(test, ph, m, 0);

	for (step = 0; step < PH_RANDOM_OPS; step++) {
		/* drift between filling up and draining, to hit both ends */
		bool grow = (step / 500) % 2 == 0;
		u32 r = ph_below(&m->seed, 100);

		if (m->nlive && (m->nlive == m->maxlive ||
				 r < (grow ? 35 : 65)))
			ph_model_free(ph, m, ph_below(&m->seed, m->nlive));
		else
			ph_model_alloc(test, ph, m, ph_random_len(&m->seed),
				       step);
		ph_model_verify(test, ph, m, step);
	}
	while (m->nlive)
		ph_model_free(ph, m, 0);
	ph_model_verify(test, ph, m, step);
	KUNIT_EXPECT_EQ(test, ph->used, reserved);
	KUNIT_EXPECT_TRUE(test, gch_pageheap_empty(ph));
}

static void pageheap_random_vs_model(struct kunit *test)
{
	ph_random_vs_model(test, 0);
}

/* The same with the heap's reservation, which the random runs merge up to. */
static void pageheap_random_reserved(struct kunit *test)
{
	ph_random_vs_model(test, GCH_HEAP_RESERVED_PAGES);
}

static struct kunit_case pageheap_cases[] = {
	KUNIT_CASE(pageheap_init_errors),
	KUNIT_CASE(pageheap_bump_growth),
	KUNIT_CASE(pageheap_exhaustion),
	KUNIT_CASE(pageheap_coalesce),
	KUNIT_CASE(pageheap_defer_free),
	KUNIT_CASE(pageheap_top_lowering),
	KUNIT_CASE(pageheap_split),
	KUNIT_CASE(pageheap_best_fit),
	KUNIT_CASE(pageheap_lookup_every_page),
	KUNIT_CASE(pageheap_alloc_failure),
	KUNIT_CASE(pageheap_reserved_pages),
	KUNIT_CASE(pageheap_reserved_chunk),
	KUNIT_CASE(pageheap_random_vs_model),
	KUNIT_CASE(pageheap_random_reserved),
	{}
};

static struct kunit_suite pageheap_suite = {
	.name = "gcheap_pageheap",
	.init = ph_case_init,
	.exit = ph_case_exit,
	.test_cases = pageheap_cases,
};

kunit_test_suite(pageheap_suite);
