// SPDX-License-Identifier: GPL-2.0
/*
 * The heap (heap.c): small objects of every class, large objects, lookup
 * of interior offsets, bad frees, lazy zeroing, span release, exhaustion,
 * the arena's first page never handed out,
 * failures of populate and of the core's own allocations, counters, and
 * random sequences checked against a model.  A KUnit suite in gcheap.ko
 * and a hosted test (ASan/UBSan), like every core test.
 *
 * The embedder is faked by ops that give each span a zeroed buffer of its
 * own (gch_zalloc(), so the hosted failure injection reaches it too) and
 * count their calls; tests read and write objects through it.
 */
#include <kunit/test.h>

#include "../bitmap.h"
#include "../heap.h"

#ifdef __KERNEL__
#define HT_RANDOM_OPS		3000
#define HT_INTERIOR_STEP	61	/* bytes between probes, big objects */
#define HT_TAIL_STEP		7	/* bytes between probes, span tails */
#else
#define HT_RANDOM_OPS		60000
#define HT_INTERIOR_STEP	1
#define HT_TAIL_STEP		1
#endif

/*
 * GCH_SPANCLASS() of the uapi header, spelt without "| !!noscan", which
 * sparse reports as dubious.
 */
#define HT_SPANCLASS(sc, noscan)	(((sc) << 1) | ((noscan) ? 1 : 0))

/*
 * The arena's first pages are never handed out (GCH_HEAP_RESERVED_PAGES):
 * an arena of n pages holds n - HF_RESERVED pages of spans, from HF_FIRST
 * on, and the top of an empty heap is HF_RESERVED.
 */
#define HF_RESERVED	GCH_HEAP_RESERVED_PAGES
#define HF_FIRST	((u64)HF_RESERVED << GCH_PAGE_SHIFT)

struct heap_fixture {
	struct gch_heap_core h;
	struct gch_sizeclass_table classes;
	struct kunit *test;
	bool live;
	u32 populates;
	u32 releases;
	u32 zeroes;
	u32 fail_populate;	/* > 0: the populate that counts it to 0 fails */
	bool dirty_populate;	/* populate with old data, as a reused page */
	void *buf[2];		/* test memory from gch_zalloc, freed at exit */
};

static struct heap_fixture *hf(struct gch_heap_core *h)
{
	return container_of(h, struct heap_fixture, h);
}

static u64 hf_span_base(const struct gch_span *s)
{
	return (u64)s->start << GCH_PAGE_SHIFT;
}

static u64 hf_span_end(const struct gch_span *s)
{
	return (u64)(s->start + s->npages) << GCH_PAGE_SHIFT;
}

static int hf_populate(struct gch_heap_core *h, struct gch_span *s)
{
	struct heap_fixture *f = hf(h);

	if (f->fail_populate && --f->fail_populate == 0)
		return -ENOMEM;
	/* complete when populated, but not yet published to a mark */
	KUNIT_EXPECT_EQ(f->test, s->state, GCH_SPAN_FREE);
	KUNIT_EXPECT_NULL(f->test, s->mapped);
	KUNIT_EXPECT_NOT_NULL(f->test, s->allocbits);
	KUNIT_EXPECT_GT(f->test, s->elemsize, 0U);
	KUNIT_EXPECT_NULL(f->test, s->backing);
	s->backing = gch_zalloc((size_t)s->npages << GCH_PAGE_SHIFT);
	if (!s->backing)
		return -ENOMEM;
	if (f->dirty_populate) {
		/* like gcheap.ko reusing idle pages: old data, to be zeroed */
		memset(s->backing, 0xcc, (size_t)s->npages << GCH_PAGE_SHIFT);
		s->needzero = 1;
	}
	f->populates++;
	return 0;
}

static void hf_release(struct gch_heap_core *h, struct gch_span *s)
{
	struct heap_fixture *f = hf(h);

	KUNIT_EXPECT_NOT_NULL(f->test, s->backing);
	gch_kvfree(s->backing);
	s->backing = NULL;
	f->releases++;
}

static void hf_zero(struct gch_heap_core *h, struct gch_span *s, u64 off,
		    u64 len)
{
	struct heap_fixture *f = hf(h);

	/* no assertion here: aborting would leave the heap half-changed */
	KUNIT_EXPECT_GE(f->test, off, hf_span_base(s));
	KUNIT_EXPECT_LE(f->test, off + len, hf_span_end(s));
	if (off < hf_span_base(s) || off + len > hf_span_end(s))
		return;
	memset((u8 *)s->backing + (off - hf_span_base(s)), 0, len);
	f->zeroes++;
}

static const struct gch_heap_ops hf_ops = {
	.populate = hf_populate,
	.release = hf_release,
	.zero = hf_zero,
};

static int hf_case_init(struct kunit *test)
{
	struct heap_fixture *f;

	f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);
	if (!f)
		return -ENOMEM;
	f->test = test;
	test->priv = f;
	return gch_sizeclass_init(&f->classes);
}

static void hf_case_exit(struct kunit *test)
{
	struct heap_fixture *f = test->priv;

#ifndef __KERNEL__
	gch_hosted_fail_alloc_after = 0;
#endif
	if (!f)
		return;
	if (f->live)
		gch_heap_destroy(&f->h);
	gch_kvfree(f->buf[0]);
	gch_kvfree(f->buf[1]);
}

static struct heap_fixture *hf_new(struct kunit *test, u32 npages)
{
	struct heap_fixture *f = test->priv;

	KUNIT_ASSERT_EQ(test, gch_heap_init(&f->h, &f->classes, npages,
					    &hf_ops), 0);
	f->live = true;
	return f;
}

static void *hf_buf(struct kunit *test, int i, size_t size)
{
	struct heap_fixture *f = test->priv;

	f->buf[i] = gch_zalloc(size);
	KUNIT_ASSERT_NOT_NULL(test, f->buf[i]);
	return f->buf[i];
}

/* Invariants, counters recomputed, and every in-use span populated. */
static void hf_check(struct kunit *test, struct heap_fixture *f)
{
	const char *why = NULL;
	u64 spans = f->h.nlarge;
	unsigned int i;

	KUNIT_ASSERT_EQ_MSG(test, gch_heap_check(&f->h, &why), 0, "%s", why);
	for (i = 0; i < GCH_NR_SPANCLASSES; i++)
		spans += f->h.central[i].nspans;
	KUNIT_ASSERT_EQ(test, (u64)(f->populates - f->releases), spans);
}

/* The object's bytes, through the fake backing. */
static u8 *hf_ptr(struct heap_fixture *f, u64 off)
{
	struct gch_span *s = gch_heap_span_of(&f->h, off);

	return s ? (u8 *)s->backing + (off - hf_span_base(s)) : NULL;
}

static unsigned int hf_nclasses(struct heap_fixture *f)
{
	return f->classes.nr_classes;
}

/* Allocate exactly @n objects of @spanclass. */
static void hf_alloc_n(struct kunit *test, struct heap_fixture *f,
		       unsigned int spanclass, u64 *offs, unsigned int n)
{
	int got;

	got = gch_heap_alloc_small(&f->h, spanclass, offs, n);
	KUNIT_ASSERT_EQ_MSG(test, got, (int)n, "spanclass %u", spanclass);
}

/* An allocated small object as it must look through every interface. */
static void hf_expect_object(struct kunit *test, struct heap_fixture *f,
			     u64 off, unsigned int spanclass)
{
	unsigned int sc = spanclass >> 1;
	struct gch_objinfo info;
	struct gch_span *s;

	KUNIT_ASSERT_EQ_MSG(test, gch_heap_lookup(&f->h, off, &info), 0,
			    "off %llu", (unsigned long long)off);
	KUNIT_EXPECT_EQ(test, info.base, off);
	KUNIT_EXPECT_EQ(test, info.size, (u64)f->classes.size[sc]);
	KUNIT_EXPECT_EQ(test, info.sizeclass, sc);
	KUNIT_EXPECT_EQ(test, info.noscan, (bool)(spanclass & 1));
	KUNIT_EXPECT_EQ(test, off % GCH_MIN_ALIGN, 0ULL);
	s = gch_heap_span_of(&f->h, off);
	KUNIT_ASSERT_PTR_EQ(test, info.span, s);
	KUNIT_EXPECT_EQ(test, s->spanclass, (u8)spanclass);
	KUNIT_EXPECT_EQ(test, s->state, (u8)GCH_SPAN_SMALL);
	KUNIT_EXPECT_GE(test, off, hf_span_base(s));
	KUNIT_EXPECT_LE(test, off + info.size, hf_span_end(s));
	KUNIT_EXPECT_EQ(test, hf_span_base(s) + (u64)info.index * info.size,
			off);
	KUNIT_EXPECT_TRUE(test, gch_bitmap_test(s->allocbits, info.index));
}

/* Claim the 16-byte granules of [off, off + size) in @map: no overlap. */
static void hf_claim(struct kunit *test, unsigned long *map, u64 off,
		     u64 size)
{
	u64 g;

	for (g = off / GCH_MIN_ALIGN; g < (off + size) / GCH_MIN_ALIGN; g++) {
		KUNIT_ASSERT_FALSE_MSG(test, gch_bitmap_test(map, g),
				       "objects overlap at %llu",
				       (unsigned long long)g * GCH_MIN_ALIGN);
		gch_bitmap_set(map, g);
	}
}

static void heap_init_errors(struct kunit *test)
{
	struct heap_fixture *f = test->priv;
	struct gch_heap_ops no_zero = hf_ops;
	struct gch_sizeclass_table *bad;

	no_zero.zero = NULL;
	KUNIT_EXPECT_EQ(test, gch_heap_init(&f->h, &f->classes, 0, &hf_ops),
			-EINVAL);
	gch_heap_destroy(&f->h);	/* harmless after a failed init */
	/* an arena of only the reserved page has nothing to hand out */
	KUNIT_EXPECT_EQ(test, gch_heap_init(&f->h, &f->classes, HF_RESERVED,
					    &hf_ops), -EINVAL);
	gch_heap_destroy(&f->h);
	KUNIT_EXPECT_EQ(test, gch_heap_init(&f->h, &f->classes, 8, NULL),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, gch_heap_init(&f->h, &f->classes, 8, &no_zero),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, gch_heap_init(&f->h, NULL, 8, &hf_ops), -EINVAL);
	bad = kunit_kzalloc(test, sizeof(*bad), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, bad);
	KUNIT_EXPECT_EQ(test, gch_heap_init(&f->h, bad, 8, &hf_ops), -EINVAL);
	*bad = f->classes;
	bad->nobjs[3]++;		/* more objects than the span holds */
	KUNIT_EXPECT_EQ(test, gch_heap_init(&f->h, bad, 8, &hf_ops), -EINVAL);
	gch_heap_destroy(&f->h);
	hf_new(test, 8);
	KUNIT_EXPECT_EQ(test, f->h.metadata_bytes, (u64)sizeof(void *));
	hf_check(test, f);
}

static void heap_bad_arguments(struct kunit *test)
{
	struct heap_fixture *f = hf_new(test, 8);
	unsigned int nr = hf_nclasses(f);
	u64 off[2];

	KUNIT_EXPECT_EQ(test, gch_heap_alloc_small(&f->h, 0, off, 1), -EINVAL);
	KUNIT_EXPECT_EQ(test, gch_heap_alloc_small(&f->h, 1, off, 1), -EINVAL);
	KUNIT_EXPECT_EQ(test, gch_heap_alloc_small(&f->h, HT_SPANCLASS(nr, 0),
						   off, 1), -EINVAL);
	KUNIT_EXPECT_EQ(test, gch_heap_alloc_small(&f->h, HT_SPANCLASS(nr, 1),
						   off, 1), -EINVAL);
	KUNIT_EXPECT_EQ(test, gch_heap_alloc_small(&f->h, ~0U, off, 1),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, gch_heap_alloc_small(&f->h, 2, off, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, gch_heap_alloc_small(&f->h, 2, NULL, 1), -EINVAL);
	KUNIT_EXPECT_EQ(test, gch_heap_alloc_large(&f->h, 0, false, off),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, gch_heap_alloc_large(&f->h, GCH_MAX_SMALL_SIZE,
						   false, off), -EINVAL);
	KUNIT_EXPECT_EQ(test, gch_heap_alloc_large(&f->h,
						   GCH_MAX_LARGE_SIZE + 1,
						   false, off), -EINVAL);
	/* sizes whose rounding to pages would overflow */
	KUNIT_EXPECT_EQ(test, gch_heap_alloc_large(&f->h, U64_MAX, true, off),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, gch_heap_alloc_large(&f->h,
						   U64_MAX - GCH_PAGE_SIZE + 2,
						   true, off), -EINVAL);
	KUNIT_EXPECT_EQ(test, gch_heap_alloc_large(&f->h, 1ULL << 32, true,
						   off), -EINVAL);
	/* possible sizes, but not in the 8 pages less the reserved one */
	KUNIT_EXPECT_EQ(test, gch_heap_alloc_large(&f->h, GCH_MAX_LARGE_SIZE,
						   false, off), -ENOMEM);
	KUNIT_EXPECT_EQ(test, gch_heap_alloc_large(&f->h, 8 * GCH_PAGE_SIZE,
						   false, off), -ENOMEM);
	KUNIT_EXPECT_EQ(test, gch_heap_alloc_large(&f->h,
						   7 * GCH_PAGE_SIZE + 1,
						   false, off), -ENOMEM);
	KUNIT_EXPECT_EQ(test, f->populates, 0U);
	KUNIT_EXPECT_EQ(test, gch_heap_alloc_large(&f->h, 7 * GCH_PAGE_SIZE,
						   false, off), 0);
	KUNIT_EXPECT_EQ(test, off[0], HF_FIRST);
	KUNIT_EXPECT_EQ(test, f->populates, 1U);
	hf_check(test, f);
}

/* One class: two spans' worth plus one, checked, then all freed. */
static void hf_one_class(struct kunit *test, struct heap_fixture *f,
			 unsigned int spanclass, u64 *offs,
			 unsigned long *granules)
{
	unsigned int sc = spanclass >> 1, n = 2 * f->classes.nobjs[sc] + 1;
	const struct gch_central *c = &f->h.central[spanclass];
	unsigned int i;

	hf_alloc_n(test, f, spanclass, offs, n);
	KUNIT_EXPECT_EQ(test, c->nspans, 3U);
	KUNIT_EXPECT_EQ(test, c->nmalloc, (u64)n);
	KUNIT_EXPECT_EQ(test, f->h.objects, (u64)n);
	KUNIT_EXPECT_EQ(test, f->h.inuse_bytes, (u64)n * f->classes.size[sc]);
	KUNIT_EXPECT_EQ(test, f->h.mapped_pages, 3ULL * f->classes.npages[sc]);
	for (i = 0; i < n; i++) {
		hf_expect_object(test, f, offs[i], spanclass);
		hf_claim(test, granules, offs[i], f->classes.size[sc]);
		/* handed out in address order within a span */
		if (i % f->classes.nobjs[sc])
			KUNIT_EXPECT_EQ(test, offs[i],
					offs[i - 1] + f->classes.size[sc]);
	}
	hf_check(test, f);
	/* free every other one, then the rest: spans go as they empty */
	for (i = 0; i < n; i += 2)
		KUNIT_ASSERT_EQ(test, gch_heap_free(&f->h, offs[i]), 0);
	hf_check(test, f);
	for (i = 1; i < n; i += 2)
		KUNIT_ASSERT_EQ(test, gch_heap_free(&f->h, offs[i]), 0);
	KUNIT_EXPECT_EQ(test, c->nspans, 0U);
	KUNIT_EXPECT_EQ(test, c->nfree, (u64)n);
	KUNIT_EXPECT_TRUE(test, list_empty(&c->partial) && list_empty(&c->full));
	KUNIT_EXPECT_EQ(test, f->h.objects, 0ULL);
	KUNIT_EXPECT_EQ(test, f->h.inuse_bytes, 0ULL);
	KUNIT_EXPECT_EQ(test, f->h.mapped_pages, 0ULL);
	KUNIT_EXPECT_EQ(test, f->h.pages.used, HF_RESERVED);
	KUNIT_EXPECT_EQ(test, f->populates, f->releases);
	hf_check(test, f);
	gch_bitmap_zero(granules, 64 * GCH_PAGE_SIZE / GCH_MIN_ALIGN);
}

/* Every class, scan and noscan: unique, aligned objects inside spans. */
static void heap_every_class(struct kunit *test)
{
	struct heap_fixture *f = hf_new(test, 64);
	unsigned long *granules;
	unsigned int sc;
	u64 *offs;

	offs = hf_buf(test, 0, 2048 * sizeof(*offs));
	granules = hf_buf(test, 1, gch_bitmap_bytes(64 * GCH_PAGE_SIZE /
						    GCH_MIN_ALIGN));
	for (sc = 1; sc < hf_nclasses(f); sc++) {
		KUNIT_ASSERT_LE(test, 2U * f->classes.nobjs[sc] + 1, 2048U);
		hf_one_class(test, f, HT_SPANCLASS(sc, 0), offs, granules);
		hf_one_class(test, f, HT_SPANCLASS(sc, 1), offs, granules);
	}
}

/*
 * gch_span_index() multiplies instead of dividing: it must agree with the
 * division for every class, at both ends of every object and just past
 * the last one (the span's tail).  floor(rel * divmul / 2^32) grows with
 * rel, so the ends of each object cover everything between them.
 */
static void heap_span_index_exact(struct kunit *test)
{
	struct heap_fixture *f = test->priv;
	struct gch_span s = { .state = GCH_SPAN_SMALL };
	unsigned int sc;
	u32 k, size, end;

	for (sc = 1; sc < f->classes.nr_classes; sc++) {
		size = f->classes.size[sc];
		s.elemsize = size;
		s.divmul = gch_span_divmul(size);
		for (k = 0; k < f->classes.nobjs[sc]; k++) {
			KUNIT_ASSERT_EQ(test, gch_span_index(&s, k * size), k);
			KUNIT_ASSERT_EQ(test, gch_span_index(&s, k * size + size - 1),
					k);
		}
		/* the tail, if the objects do not fill the span */
		end = (u32)f->classes.npages[sc] << GCH_PAGE_SHIFT;
		if (k * size < end) {
			KUNIT_ASSERT_GE(test, gch_span_index(&s, k * size), k);
			KUNIT_ASSERT_GE(test, gch_span_index(&s, end - 1), k);
		}
	}
}

/* Every byte of an object (every HT_INTERIOR_STEP-th in the kernel). */
static void hf_expect_interior(struct kunit *test, struct heap_fixture *f,
			       u64 off, u64 size)
{
	u64 b, step = size <= 1024 ? 1 : HT_INTERIOR_STEP;
	struct gch_objinfo info;

	for (b = 0; b < size; b += step) {
		KUNIT_ASSERT_EQ(test, gch_heap_lookup(&f->h, off + b, &info), 0);
		KUNIT_ASSERT_EQ_MSG(test, info.base, off, "byte %llu of %llu",
				    (unsigned long long)b,
				    (unsigned long long)size);
		KUNIT_ASSERT_EQ(test, info.size, size);
	}
	KUNIT_ASSERT_EQ(test, gch_heap_lookup(&f->h, off + size - 1, &info), 0);
	KUNIT_ASSERT_EQ(test, info.base, off);
}

/* Interior offsets find their object; free slots find nothing. */
static void heap_lookup_interior(struct kunit *test)
{
	struct heap_fixture *f = hf_new(test, 32);
	unsigned int sc, spanclass, n;
	u32 size;
	u64 off[3];

	for (sc = 1; sc < hf_nclasses(f); sc++) {
		spanclass = HT_SPANCLASS(sc, sc & 1);
		size = f->classes.size[sc];
		n = min_t(unsigned int, 3, f->classes.nobjs[sc]);
		hf_alloc_n(test, f, spanclass, off, n);
		hf_expect_interior(test, f, off[0], size);
		if (n < 3) {
			while (n)
				KUNIT_ASSERT_EQ(test,
						gch_heap_free(&f->h, off[--n]),
						0);
			continue;
		}
		hf_expect_interior(test, f, off[1], size);
		/* past the third: a free slot, the tail, or the top */
		KUNIT_EXPECT_EQ(test, gch_heap_lookup(&f->h, off[2] + size, NULL),
				-ENOENT);
		/* a freed object's bytes are nobody's */
		KUNIT_ASSERT_EQ(test, gch_heap_free(&f->h, off[1]), 0);
		KUNIT_EXPECT_EQ(test, gch_heap_lookup(&f->h, off[1], NULL),
				-ENOENT);
		KUNIT_EXPECT_EQ(test, gch_heap_lookup(&f->h, off[1] + size - 1,
						      NULL), -ENOENT);
		hf_expect_interior(test, f, off[2], size);
		KUNIT_ASSERT_EQ(test, gch_heap_free(&f->h, off[0]), 0);
		KUNIT_ASSERT_EQ(test, gch_heap_free(&f->h, off[2]), 0);
		hf_check(test, f);
	}
	KUNIT_EXPECT_EQ(test, f->h.pages.used, HF_RESERVED);
}

/* Offsets past a span's last object, the top, outside the arena. */
static void heap_lookup_outside_objects(struct kunit *test)
{
	struct heap_fixture *f = hf_new(test, 64);
	u64 tail, end, b, *offs, arena = 64ULL * GCH_PAGE_SIZE;
	unsigned int sc, n, tails = 0;

	offs = hf_buf(test, 0, 1024 * sizeof(*offs));

	KUNIT_EXPECT_EQ(test, gch_heap_lookup(&f->h, 0, NULL), -ENOENT);
	KUNIT_EXPECT_EQ(test, gch_heap_lookup(&f->h, arena - 1, NULL), -ENOENT);
	KUNIT_EXPECT_EQ(test, gch_heap_lookup(&f->h, arena, NULL), -EINVAL);
	KUNIT_EXPECT_EQ(test, gch_heap_lookup(&f->h, U64_MAX, NULL), -EINVAL);
	KUNIT_EXPECT_NULL(test, gch_heap_span_of(&f->h, 0));
	KUNIT_EXPECT_NULL(test, gch_heap_span_of(&f->h, arena));
	for (sc = 1; sc < hf_nclasses(f); sc++) {
		n = f->classes.nobjs[sc];
		KUNIT_ASSERT_LE(test, n, 1024U);
		hf_alloc_n(test, f, HT_SPANCLASS(sc, 0), offs, n);
		tail = offs[0] + (u64)n * f->classes.size[sc];
		end = offs[0] + ((u64)f->classes.npages[sc] << GCH_PAGE_SHIFT);
		KUNIT_EXPECT_PTR_EQ(test, gch_heap_span_of(&f->h, end - 1),
				    gch_heap_span_of(&f->h, offs[0]));
		tails += tail < end;
		for (b = tail; b < end; b += HT_TAIL_STEP) {
			KUNIT_ASSERT_EQ(test, gch_heap_lookup(&f->h, b, NULL),
					-ENOENT);
			KUNIT_ASSERT_EQ(test, gch_heap_free(&f->h, b), -EINVAL);
		}
		if (tail < end)
			KUNIT_ASSERT_EQ(test, gch_heap_lookup(&f->h, end - 1,
							      NULL), -ENOENT);
		/* the top, past the span */
		KUNIT_EXPECT_EQ(test, gch_heap_lookup(&f->h, end, NULL), -ENOENT);
		KUNIT_EXPECT_NULL(test, gch_heap_span_of(&f->h, end));
		while (n)
			KUNIT_ASSERT_EQ(test, gch_heap_free(&f->h, offs[--n]), 0);
		hf_check(test, f);
	}
	KUNIT_EXPECT_GT(test, tails, 0U);	/* some class has a tail */
}

/* Frees of anything but an allocated object's start change nothing. */
static void heap_free_errors(struct kunit *test)
{
	struct heap_fixture *f = hf_new(test, 32);
	unsigned int spanclass = HT_SPANCLASS(3, 0);	/* 48 bytes */
	u64 off[3], big, objects, nfree;

	KUNIT_ASSERT_EQ(test, f->classes.size[3], 48U);
	hf_alloc_n(test, f, spanclass, off, 3);
	KUNIT_ASSERT_EQ(test, gch_heap_alloc_large(&f->h, 100000, false, &big),
			0);
	objects = f->h.objects;
	nfree = f->h.central[spanclass].nfree;
	KUNIT_EXPECT_EQ(test, gch_heap_free(&f->h, off[1] + 1), -EINVAL);
	KUNIT_EXPECT_EQ(test, gch_heap_free(&f->h, off[1] + 16), -EINVAL);
	KUNIT_EXPECT_EQ(test, gch_heap_free(&f->h, off[1] + 47), -EINVAL);
	KUNIT_EXPECT_EQ(test, gch_heap_free(&f->h, off[2] + 48), -EINVAL);
	KUNIT_EXPECT_EQ(test, gch_heap_free(&f->h, big + 16), -EINVAL);
	KUNIT_EXPECT_EQ(test, gch_heap_free(&f->h, big + GCH_PAGE_SIZE),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, gch_heap_free(&f->h, 31ULL * GCH_PAGE_SIZE),
			-EINVAL);		/* the top */
	KUNIT_EXPECT_EQ(test, gch_heap_free(&f->h, 32ULL * GCH_PAGE_SIZE),
			-EINVAL);		/* outside */
	KUNIT_EXPECT_EQ(test, gch_heap_free(&f->h, U64_MAX), -EINVAL);
	KUNIT_EXPECT_EQ(test, f->h.objects, objects);
	KUNIT_EXPECT_EQ(test, f->h.central[spanclass].nfree, nfree);
	hf_check(test, f);
	/* double frees: the span still in use, then released */
	KUNIT_EXPECT_EQ(test, gch_heap_free(&f->h, off[1]), 0);
	KUNIT_EXPECT_EQ(test, gch_heap_free(&f->h, off[1]), -EINVAL);
	KUNIT_EXPECT_EQ(test, gch_heap_free(&f->h, off[0]), 0);
	KUNIT_EXPECT_EQ(test, gch_heap_free(&f->h, off[2]), 0);
	KUNIT_EXPECT_EQ(test, gch_heap_free(&f->h, off[2]), -EINVAL);
	KUNIT_EXPECT_EQ(test, gch_heap_free(&f->h, off[0]), -EINVAL);
	KUNIT_EXPECT_EQ(test, gch_heap_free(&f->h, big), 0);
	KUNIT_EXPECT_EQ(test, gch_heap_free(&f->h, big), -EINVAL);
	KUNIT_EXPECT_EQ(test, f->h.objects, 0ULL);
	KUNIT_EXPECT_EQ(test, f->h.central[spanclass].nfree, 3ULL);
	KUNIT_EXPECT_EQ(test, f->h.large_nfree, 1ULL);
	hf_check(test, f);
}

static bool hf_all_zero(const u8 *p, u64 len)
{
	u64 i;

	for (i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

/* Freed objects hold garbage; they are zeroed before being handed out. */
static void hf_needzero_class(struct kunit *test, struct heap_fixture *f,
			      unsigned int sc)
{
	unsigned int spanclass = HT_SPANCLASS(sc, 0);
	u32 size = f->classes.size[sc], zeroes = f->zeroes;
	u64 off[3], again;

	hf_alloc_n(test, f, spanclass, off, 3);
	KUNIT_EXPECT_EQ(test, f->zeroes, zeroes);	/* fresh: zero already */
	memset(hf_ptr(f, off[0]), 0xa5, size);
	memset(hf_ptr(f, off[2]), 0x5a, size);
	KUNIT_ASSERT_EQ(test, gch_heap_free(&f->h, off[0]), 0);
	KUNIT_EXPECT_TRUE(test, gch_heap_span_of(&f->h, off[1])->needzero);
	hf_alloc_n(test, f, spanclass, &again, 1);
	KUNIT_EXPECT_EQ(test, again, off[0]);	/* the lowest free slot */
	KUNIT_EXPECT_TRUE(test, hf_all_zero(hf_ptr(f, again), size));
	KUNIT_EXPECT_EQ(test, f->zeroes, zeroes + 1);
	/* zeroing touched that object only */
	KUNIT_EXPECT_EQ(test, hf_ptr(f, off[2])[0], 0x5a);
	KUNIT_EXPECT_EQ(test, hf_ptr(f, off[2])[size - 1], 0x5a);
	KUNIT_ASSERT_EQ(test, gch_heap_free(&f->h, off[0]), 0);
	KUNIT_ASSERT_EQ(test, gch_heap_free(&f->h, off[1]), 0);
	KUNIT_ASSERT_EQ(test, gch_heap_free(&f->h, off[2]), 0);
}

static void heap_needzero(struct kunit *test)
{
	struct heap_fixture *f = hf_new(test, 32);
	unsigned int sc, last = hf_nclasses(f) - 1;
	u32 size = f->classes.size[last], populates;
	u64 off;

	for (sc = 1; sc < last; sc += 7)
		if (f->classes.nobjs[sc] >= 3)
			hf_needzero_class(test, f, sc);
	hf_check(test, f);
	/* a one-object span is released when freed: reuse is a new span */
	KUNIT_ASSERT_EQ(test, f->classes.nobjs[last], 1);
	hf_alloc_n(test, f, HT_SPANCLASS(last, 1), &off, 1);
	memset(hf_ptr(f, off), 0xff, size);
	KUNIT_ASSERT_EQ(test, gch_heap_free(&f->h, off), 0);
	populates = f->populates;
	hf_alloc_n(test, f, HT_SPANCLASS(last, 1), &off, 1);
	KUNIT_EXPECT_EQ(test, f->populates, populates + 1);
	KUNIT_EXPECT_FALSE(test, gch_heap_span_of(&f->h, off)->needzero);
	KUNIT_EXPECT_TRUE(test, hf_all_zero(hf_ptr(f, off), size));
	/* and so is a large object */
	KUNIT_ASSERT_EQ(test, gch_heap_alloc_large(&f->h, 50000, false, &off),
			0);
	KUNIT_EXPECT_TRUE(test, hf_all_zero(hf_ptr(f, off), 50000));
	memset(hf_ptr(f, off), 0xff, 50000);
	KUNIT_ASSERT_EQ(test, gch_heap_free(&f->h, off), 0);
	KUNIT_ASSERT_EQ(test, gch_heap_alloc_large(&f->h, 50000, false, &off),
			0);
	KUNIT_EXPECT_TRUE(test, hf_all_zero(hf_ptr(f, off), 50000));
	hf_check(test, f);
}

/*
 * A refill with room for a whole fresh span takes all of it at once: every
 * object in address order, the span full, nothing zeroed (it is zero).
 */
static void heap_whole_span(struct kunit *test)
{
	struct heap_fixture *f = hf_new(test, 64);
	unsigned int sc, spanclass, i, n;
	u32 zeroes = f->zeroes;
	struct gch_span *s;
	u64 *offs;

	offs = hf_buf(test, 0, 2 * GCH_PAGE_SIZE / GCH_MIN_ALIGN * sizeof(u64));
	for (sc = 1; sc < hf_nclasses(f); sc += 5) {
		spanclass = HT_SPANCLASS(sc, sc & 1);
		n = f->classes.nobjs[sc];
		hf_alloc_n(test, f, spanclass, offs, n);
		s = gch_heap_span_of(&f->h, offs[0]);
		KUNIT_ASSERT_NOT_NULL(test, s);
		KUNIT_EXPECT_EQ(test, offs[0], hf_span_base(s));
		for (i = 0; i < n; i++) {
			KUNIT_ASSERT_EQ(test, offs[i], hf_span_base(s) +
					(u64)i * f->classes.size[sc]);
			hf_expect_object(test, f, offs[i], spanclass);
		}
		KUNIT_EXPECT_EQ(test, s->nalloc, s->nobjs);
		KUNIT_EXPECT_TRUE(test, list_empty(&f->h.central[spanclass].partial));
		hf_check(test, f);
		for (i = 0; i < n; i++)
			KUNIT_ASSERT_EQ(test, gch_heap_free(&f->h, offs[i]), 0);
	}
	KUNIT_EXPECT_EQ(test, f->zeroes, zeroes);
	hf_check(test, f);
}

/*
 * gch_heap_alloc_objs(unzeroed): objects that may hold old data come
 * tagged GCH_OBJ_UNZEROED and are left as they are; zero ones untagged.
 * Without it (gch_heap_alloc_small()) every object comes zeroed.
 */
static void heap_unzeroed_tags(struct kunit *test)
{
	struct heap_fixture *f = hf_new(test, 64);
	unsigned int sc = 3, spanclass = HT_SPANCLASS(sc, 0);
	u32 size = f->classes.size[sc], zeroes = f->zeroes;
	u64 off[3], again, big;

	KUNIT_ASSERT_GE(test, f->classes.nobjs[sc], 3);
	KUNIT_ASSERT_EQ(test, gch_heap_alloc_objs(&f->h, spanclass, off, 3,
						  true), 3);
	KUNIT_EXPECT_EQ(test, off[0] & GCH_OBJ_UNZEROED, 0ULL);	/* fresh */
	memset(hf_ptr(f, off[0]), 0xa5, size);
	KUNIT_ASSERT_EQ(test, gch_heap_free(&f->h, off[0]), 0);
	KUNIT_ASSERT_EQ(test, gch_heap_alloc_objs(&f->h, spanclass, &again, 1,
						  true), 1);
	KUNIT_EXPECT_EQ(test, again, off[0] | GCH_OBJ_UNZEROED);
	KUNIT_EXPECT_EQ(test, hf_ptr(f, off[0])[size - 1], 0xa5);
	KUNIT_EXPECT_EQ(test, f->zeroes, zeroes);
	hf_expect_object(test, f, off[0], spanclass);
	KUNIT_ASSERT_EQ(test, gch_heap_free(&f->h, off[0]), 0);
	hf_alloc_n(test, f, spanclass, &again, 1);
	KUNIT_EXPECT_EQ(test, again, off[0]);
	KUNIT_EXPECT_TRUE(test, hf_all_zero(hf_ptr(f, again), size));
	KUNIT_EXPECT_EQ(test, f->zeroes, zeroes + 1);

	/* memory the embedder says holds old data: a whole span, tagged */
	f->dirty_populate = true;
	sc = 5;
	spanclass = HT_SPANCLASS(sc, 1);
	KUNIT_ASSERT_EQ(test, gch_heap_alloc_objs(&f->h, spanclass, off, 2,
						  true), 2);
	KUNIT_EXPECT_EQ(test, off[0] & GCH_OBJ_UNZEROED, GCH_OBJ_UNZEROED);
	KUNIT_EXPECT_EQ(test, off[1] & GCH_OBJ_UNZEROED, GCH_OBJ_UNZEROED);
	KUNIT_EXPECT_EQ(test, hf_ptr(f, off[0] & ~GCH_OBJ_UNZEROED)[0], 0xcc);
	/* untagged, the same span's objects are zeroed one by one */
	hf_alloc_n(test, f, spanclass, &again, 1);
	KUNIT_EXPECT_EQ(test, again & GCH_OBJ_UNZEROED, 0ULL);
	KUNIT_EXPECT_TRUE(test, hf_all_zero(hf_ptr(f, again),
					    f->classes.size[sc]));
	/* and a large object over such memory is zeroed whole */
	KUNIT_ASSERT_EQ(test, gch_heap_alloc_large(&f->h, 50000, false, &big),
			0);
	KUNIT_EXPECT_TRUE(test, hf_all_zero(hf_ptr(f, big), 50000));
	KUNIT_EXPECT_FALSE(test, gch_heap_span_of(&f->h, big)->needzero);
	hf_check(test, f);
}

/* Spans are populated when made and released as soon as they empty. */
static void heap_span_release(struct kunit *test)
{
	struct heap_fixture *f = hf_new(test, 32);
	unsigned int sc = 10, spanclass = HT_SPANCLASS(sc, 0);
	u32 nobjs = f->classes.nobjs[sc];
	u64 off[2], base, meta_span, *offs;
	unsigned int i;

	offs = hf_buf(test, 0, (nobjs + 1) * sizeof(*offs));
	base = f->h.metadata_bytes;
	meta_span = sizeof(struct gch_span) + 2 * gch_bitmap_bytes(nobjs);
	hf_alloc_n(test, f, spanclass, off, 1);
	KUNIT_EXPECT_EQ(test, f->populates, 1U);
	KUNIT_EXPECT_EQ(test, f->h.mapped_pages, (u64)f->classes.npages[sc]);
	/* the first span also brought the span table's first chunk */
	base += GCH_PH_MAP_CHUNK * sizeof(void *);
	KUNIT_EXPECT_EQ(test, f->h.metadata_bytes, base + meta_span);
	KUNIT_ASSERT_EQ(test, gch_heap_free(&f->h, off[0]), 0);
	KUNIT_EXPECT_EQ(test, f->releases, 1U);
	KUNIT_EXPECT_EQ(test, f->h.mapped_pages, 0ULL);
	KUNIT_EXPECT_EQ(test, f->h.metadata_bytes, base);
	KUNIT_EXPECT_EQ(test, f->h.central[spanclass].nspans, 0U);
	/* a full span and one more object: two spans */
	hf_alloc_n(test, f, spanclass, offs, nobjs + 1);
	KUNIT_EXPECT_EQ(test, f->populates, 3U);
	KUNIT_EXPECT_EQ(test, f->h.metadata_bytes, base + 2 * meta_span);
	KUNIT_EXPECT_TRUE(test, list_is_singular(&f->h.central[spanclass].full));
	KUNIT_ASSERT_EQ(test, gch_heap_free(&f->h, offs[nobjs]), 0);
	KUNIT_EXPECT_EQ(test, f->releases, 2U);
	/* full to partial; the freed slot is used again, no new span */
	KUNIT_ASSERT_EQ(test, gch_heap_free(&f->h, offs[3]), 0);
	KUNIT_EXPECT_TRUE(test, list_empty(&f->h.central[spanclass].full));
	hf_alloc_n(test, f, spanclass, off, 1);
	KUNIT_EXPECT_EQ(test, off[0], offs[3]);
	KUNIT_EXPECT_EQ(test, f->populates, 3U);
	hf_check(test, f);
	for (i = 0; i < nobjs; i++)
		KUNIT_ASSERT_EQ(test, gch_heap_free(&f->h, offs[i]), 0);
	KUNIT_EXPECT_EQ(test, f->releases, 3U);
	KUNIT_EXPECT_EQ(test, f->h.central[spanclass].nmalloc,
			(u64)nobjs + 3);
	KUNIT_EXPECT_EQ(test, f->h.central[spanclass].nfree, (u64)nobjs + 3);
	hf_check(test, f);
}

static void hf_expect_large(struct kunit *test, struct heap_fixture *f,
			    u64 off, u64 size, bool noscan)
{
	u64 span = round_up(size, (u64)GCH_PAGE_SIZE);
	struct gch_objinfo info;

	KUNIT_EXPECT_EQ(test, off % GCH_PAGE_SIZE, 0ULL);
	KUNIT_ASSERT_EQ(test, gch_heap_lookup(&f->h, off, &info), 0);
	KUNIT_EXPECT_EQ(test, info.base, off);
	KUNIT_EXPECT_EQ(test, info.size, span);
	KUNIT_EXPECT_EQ(test, info.sizeclass, 0U);
	KUNIT_EXPECT_EQ(test, info.noscan, noscan);
	KUNIT_EXPECT_EQ(test, info.index, 0U);
	KUNIT_EXPECT_EQ(test, info.span->state, (u8)GCH_SPAN_LARGE);
	KUNIT_EXPECT_EQ(test, info.span->npages, (u32)(span / GCH_PAGE_SIZE));
	KUNIT_ASSERT_EQ(test, gch_heap_lookup(&f->h, off + span / 2, &info), 0);
	KUNIT_EXPECT_EQ(test, info.base, off);
	KUNIT_ASSERT_EQ(test, gch_heap_lookup(&f->h, off + span - 1, &info), 0);
	KUNIT_EXPECT_EQ(test, info.base, off);
	KUNIT_EXPECT_EQ(test, hf_ptr(f, off)[0], 0);
	KUNIT_EXPECT_EQ(test, hf_ptr(f, off)[size - 1], 0);
}

static void heap_large_objects(struct kunit *test)
{
	static const u64 sizes[] = {
		GCH_MAX_SMALL_SIZE + 1, 40000, 65536, 65537,
		5 * GCH_PAGE_SIZE + 1, 1 << 20,
	};
	struct heap_fixture *f = hf_new(test, 256);
	u64 off[ARRAY_SIZE(sizes)], inuse = 0, big;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		KUNIT_ASSERT_EQ(test, gch_heap_alloc_large(&f->h, sizes[i],
							   i & 1, &off[i]), 0);
		hf_expect_large(test, f, off[i], sizes[i], i & 1);
		inuse += round_up(sizes[i], (u64)GCH_PAGE_SIZE);
		KUNIT_EXPECT_EQ(test, f->h.inuse_bytes, inuse);
		KUNIT_EXPECT_EQ(test, f->h.nlarge, (u64)i + 1);
		KUNIT_EXPECT_EQ(test, f->h.objects, (u64)i + 1);
	}
	KUNIT_EXPECT_EQ(test, f->h.mapped_pages, inuse / GCH_PAGE_SIZE);
	hf_check(test, f);
	/* the first two (5 + 5 pages) coalesce into room for 10 pages */
	KUNIT_ASSERT_EQ(test, off[1], off[0] + 5 * GCH_PAGE_SIZE);
	KUNIT_ASSERT_EQ(test, gch_heap_free(&f->h, off[1]), 0);
	KUNIT_ASSERT_EQ(test, gch_heap_free(&f->h, off[0]), 0);
	KUNIT_EXPECT_EQ(test, f->h.pages.free_pages, 10U);
	KUNIT_ASSERT_EQ(test, gch_heap_alloc_large(&f->h, 10 * GCH_PAGE_SIZE,
						   false, &big), 0);
	KUNIT_EXPECT_EQ(test, big, off[0]);
	KUNIT_EXPECT_EQ(test, f->h.pages.free_pages, 0U);
	KUNIT_ASSERT_EQ(test, gch_heap_free(&f->h, big), 0);
	for (i = 2; i < ARRAY_SIZE(sizes); i++)
		KUNIT_ASSERT_EQ(test, gch_heap_free(&f->h, off[i]), 0);
	KUNIT_EXPECT_EQ(test, f->h.pages.used, HF_RESERVED);
	KUNIT_EXPECT_EQ(test, f->h.large_nmalloc, (u64)ARRAY_SIZE(sizes) + 1);
	KUNIT_EXPECT_EQ(test, f->h.large_nfree, (u64)ARRAY_SIZE(sizes) + 1);
	KUNIT_EXPECT_EQ(test, f->h.inuse_bytes, 0ULL);
	/* one object the size of the arena but its reserved page */
	KUNIT_EXPECT_EQ(test, gch_heap_alloc_large(&f->h, 256 * GCH_PAGE_SIZE,
						   true, &big), -ENOMEM);
	KUNIT_ASSERT_EQ(test, gch_heap_alloc_large(&f->h,
						   (256 - HF_RESERVED) *
						   GCH_PAGE_SIZE, true, &big),
			0);
	KUNIT_EXPECT_EQ(test, big, HF_FIRST);
	KUNIT_EXPECT_EQ(test, f->h.mapped_pages, 256ULL - HF_RESERVED);
	hf_check(test, f);
}

/* A full arena says -ENOMEM, partly full hands out what it has. */
static void heap_exhaustion(struct kunit *test)
{
	/* 24 pages to hand out */
	struct heap_fixture *f = hf_new(test, HF_RESERVED + 24);
	unsigned int sc, spanclass, nobjs, total = 0;
	u64 *offs, big;
	int got;

	/* a class of one-page spans */
	for (sc = 1; f->classes.npages[sc] != 1 || f->classes.size[sc] < 512;)
		sc++;
	spanclass = HT_SPANCLASS(sc, 1);
	nobjs = f->classes.nobjs[sc];
	offs = hf_buf(test, 0, 25 * nobjs * sizeof(*offs));
	hf_alloc_n(test, f, spanclass, offs, 20 * nobjs + 1);
	total = 20 * nobjs + 1;
	/* 3 pages and a partial span left: ask for more than that */
	got = gch_heap_alloc_small(&f->h, spanclass, offs + total, 5 * nobjs);
	KUNIT_EXPECT_EQ(test, got, (int)(4 * nobjs - 1));
	total += got;
	KUNIT_EXPECT_EQ(test, gch_heap_alloc_small(&f->h, spanclass,
						   offs + total, 1), -ENOMEM);
	KUNIT_EXPECT_EQ(test, gch_heap_alloc_small(&f->h, HT_SPANCLASS(1, 0),
						   &big, 1), -ENOMEM);
	KUNIT_EXPECT_EQ(test, gch_heap_alloc_large(&f->h, 40000, false, &big),
			-ENOMEM);
	KUNIT_EXPECT_EQ(test, f->h.mapped_pages, 24ULL);
	hf_check(test, f);
	/* one object back: its slot, and nothing more */
	KUNIT_ASSERT_EQ(test, gch_heap_free(&f->h, offs[7]), 0);
	hf_alloc_n(test, f, spanclass, &big, 1);
	KUNIT_EXPECT_EQ(test, big, offs[7]);
	/* a whole page back: room for another class */
	while (total > 23 * nobjs)
		KUNIT_ASSERT_EQ(test, gch_heap_free(&f->h, offs[--total]), 0);
	KUNIT_EXPECT_EQ(test, f->h.mapped_pages, 23ULL);
	KUNIT_EXPECT_EQ(test, gch_heap_alloc_large(&f->h, 40000, false, &big),
			-ENOMEM);
	hf_alloc_n(test, f, HT_SPANCLASS(1, 0), &big, 1);
	KUNIT_EXPECT_EQ(test, big, HF_FIRST + 23ULL * GCH_PAGE_SIZE);
	KUNIT_ASSERT_EQ(test, gch_heap_free(&f->h, big), 0);
	while (total)
		KUNIT_ASSERT_EQ(test, gch_heap_free(&f->h, offs[--total]), 0);
	hf_check(test, f);
	KUNIT_EXPECT_EQ(test, gch_heap_alloc_large(&f->h, 25 * GCH_PAGE_SIZE,
						   false, &big), -ENOMEM);
	KUNIT_ASSERT_EQ(test, gch_heap_alloc_large(&f->h, 24 * GCH_PAGE_SIZE,
						   false, &big), 0);
	KUNIT_EXPECT_EQ(test, big, HF_FIRST);
	KUNIT_EXPECT_EQ(test, f->populates - f->releases, 1U);
}

/*
 * The arena's first page is never handed out, so that no object starts at
 * the arena's own address: the first object of every class, tagged or
 * not, and the first large object start past it; no offset in it finds an
 * object or frees one; a full arena is full without it, and it is never
 * populated (not in @mapped_pages).  gch_heap_check() knows about it.
 */
static void heap_first_page_reserved(struct kunit *test)
{
	struct heap_fixture *f = hf_new(test, 64);
	unsigned int sc, spanclass, nobjs, i;
	const char *why = NULL;
	u64 off, b, *offs;
	int got;

	/* at least the page that holds offset 0 */
	KUNIT_ASSERT_GE(test, HF_RESERVED, 1U);
	KUNIT_EXPECT_EQ(test, f->h.pages.reserved, HF_RESERVED);
	KUNIT_EXPECT_EQ(test, f->h.pages.used, HF_RESERVED);
	KUNIT_EXPECT_TRUE(test, gch_pageheap_empty(&f->h.pages));
	offs = hf_buf(test, 0, 2048 * sizeof(*offs));
	for (spanclass = 2; spanclass < 2 * hf_nclasses(f); spanclass++) {
		sc = spanclass >> 1;
		KUNIT_ASSERT_LE(test, f->classes.nobjs[sc], 2048U);
		hf_alloc_n(test, f, spanclass, &off, 1);
		KUNIT_EXPECT_EQ_MSG(test, off, HF_FIRST, "spanclass %u",
				    spanclass);
		KUNIT_ASSERT_EQ(test, gch_heap_free(&f->h, off), 0);
		/* a whole span at once, tagged (the refill's path) */
		nobjs = f->classes.nobjs[sc];
		got = gch_heap_alloc_objs(&f->h, spanclass, offs, nobjs, true);
		KUNIT_ASSERT_EQ(test, got, (int)nobjs);
		KUNIT_EXPECT_EQ_MSG(test, offs[0], HF_FIRST, "spanclass %u",
				    spanclass);
		for (i = 0; i < nobjs; i++)
			KUNIT_ASSERT_EQ(test, gch_heap_free(&f->h, offs[i]), 0);
	}
	KUNIT_ASSERT_EQ(test, gch_heap_alloc_large(&f->h, 40000, false, &off),
			0);
	KUNIT_EXPECT_EQ(test, off, HF_FIRST);
	KUNIT_EXPECT_EQ(test, f->h.mapped_pages, 5ULL);
	hf_check(test, f);
	/* the reserved page: no object, no span, nothing to free */
	for (b = 0; b < HF_FIRST; b += HT_TAIL_STEP) {
		KUNIT_ASSERT_EQ(test, gch_heap_lookup(&f->h, b, NULL), -ENOENT);
		KUNIT_ASSERT_NULL(test, gch_heap_span_of(&f->h, b));
		KUNIT_ASSERT_EQ(test, gch_heap_free(&f->h, b), -EINVAL);
	}
	KUNIT_ASSERT_EQ(test, gch_heap_free(&f->h, off), 0);
	/* fill the arena with one-page spans: every page but the reserved */
	for (sc = 1; f->classes.npages[sc] != 1 || f->classes.size[sc] < 512;)
		sc++;
	spanclass = HT_SPANCLASS(sc, 0);
	nobjs = f->classes.nobjs[sc];
	KUNIT_ASSERT_LE(test, 64 * nobjs, 2048U);
	got = gch_heap_alloc_small(&f->h, spanclass, offs, 64 * nobjs);
	KUNIT_EXPECT_EQ(test, got, (int)(64 - HF_RESERVED) * (int)nobjs);
	KUNIT_EXPECT_EQ(test, gch_heap_alloc_small(&f->h, spanclass, &off, 1),
			-ENOMEM);
	for (i = 0; i < (unsigned int)got; i++)
		KUNIT_ASSERT_GE(test, offs[i], HF_FIRST);
	KUNIT_EXPECT_EQ(test, f->h.mapped_pages, 64ULL - HF_RESERVED);
	KUNIT_EXPECT_EQ(test, f->populates - f->releases, 64U - HF_RESERVED);
	hf_check(test, f);
	/* a page heap without the reservation is a corrupt heap */
	f->h.pages.reserved = 0;
	KUNIT_EXPECT_EQ(test, gch_heap_check(&f->h, &why), -EUCLEAN);
	KUNIT_EXPECT_TRUE_MSG(test, why &&
			      !strcmp(why, "arena's first pages not reserved"),
			      "%s", why ? why : "(none)");
	f->h.pages.reserved = HF_RESERVED;
	hf_check(test, f);
}

/* The embedder cannot back a span: nothing is left behind. */
static void heap_populate_failure(struct kunit *test)
{
	struct heap_fixture *f = hf_new(test, 16);
	unsigned int sc = 5, spanclass = HT_SPANCLASS(sc, 0);
	u32 nobjs = f->classes.nobjs[sc];
	u64 *offs, meta;
	int got;

	offs = hf_buf(test, 0, 2 * nobjs * sizeof(*offs));
	f->fail_populate = 1;
	KUNIT_EXPECT_EQ(test, gch_heap_alloc_small(&f->h, spanclass, offs, 1),
			-ENOMEM);
	KUNIT_EXPECT_EQ(test, f->h.pages.used, HF_RESERVED);
	KUNIT_EXPECT_EQ(test, f->h.central[spanclass].nspans, 0U);
	KUNIT_EXPECT_EQ(test, f->h.central[spanclass].nmalloc, 0ULL);
	KUNIT_EXPECT_EQ(test, f->releases, 0U);
	hf_check(test, f);
	meta = f->h.metadata_bytes;
	f->fail_populate = 1;
	KUNIT_EXPECT_EQ(test, gch_heap_alloc_large(&f->h, 50000, false, offs),
			-ENOMEM);
	KUNIT_EXPECT_EQ(test, f->h.metadata_bytes, meta);
	KUNIT_EXPECT_EQ(test, f->h.nlarge, 0ULL);
	hf_check(test, f);
	/* failing on the second span of a batch: the first one's objects */
	f->fail_populate = 2;
	got = gch_heap_alloc_small(&f->h, spanclass, offs, nobjs + 5);
	KUNIT_EXPECT_EQ(test, got, (int)nobjs);
	KUNIT_EXPECT_EQ(test, f->h.central[spanclass].nspans, 1U);
	KUNIT_EXPECT_EQ(test, f->h.objects, (u64)nobjs);
	hf_check(test, f);
	hf_alloc_n(test, f, spanclass, offs + nobjs, 5);
	KUNIT_EXPECT_EQ(test, f->populates, 2U);
	hf_check(test, f);
}

#ifndef __KERNEL__
/*
 * Every allocation of the core failing in turn (hosted only): each
 * operation either succeeds or says -ENOMEM, and the heap stays sound.
 */
static void hf_injected_ops(struct kunit *test, struct heap_fixture *f,
			    u64 *offs)
{
	static const unsigned int classes[] = { 1, 9, 9, 30, 9, 1 };
	u64 objects, big;
	unsigned int i;
	int got;

	for (i = 0; i < ARRAY_SIZE(classes); i++) {
		objects = f->h.objects;
		got = gch_heap_alloc_small(&f->h, HT_SPANCLASS(classes[i], i & 1),
					   offs, f->classes.nobjs[classes[i]]);
		KUNIT_ASSERT_TRUE_MSG(test, got > 0 || got == -ENOMEM,
				      "got %d", got);
		KUNIT_EXPECT_EQ(test, f->h.objects,
				objects + (got > 0 ? got : 0));
		if (got > 1)
			KUNIT_ASSERT_EQ(test, gch_heap_free(&f->h, offs[1]), 0);
		hf_check(test, f);
		got = gch_heap_alloc_large(&f->h, 70000, i & 1, &big);
		KUNIT_ASSERT_TRUE(test, got == 0 || got == -ENOMEM);
		if (!got && i % 2)
			KUNIT_ASSERT_EQ(test, gch_heap_free(&f->h, big), 0);
		hf_check(test, f);
	}
}
#endif

static void heap_alloc_failure_injection(struct kunit *test)
{
#ifdef __KERNEL__
	kunit_skip(test, "allocation failure injection is hosted only");
#else
	struct heap_fixture *f = test->priv;
	u64 *offs = hf_buf(test, 0, 1024 * sizeof(*offs));
	int n, left;

	for (n = 1; n < 1000; n++) {
		/* heap init: the span table's top level */
		gch_hosted_fail_alloc_after = n;
		if (gch_heap_init(&f->h, &f->classes, 1200, &hf_ops)) {
			KUNIT_ASSERT_EQ(test, gch_hosted_fail_alloc_after, 0);
			gch_heap_destroy(&f->h);
			continue;
		}
		f->live = true;
		hf_injected_ops(test, f, offs);
		left = gch_hosted_fail_alloc_after;
		gch_hosted_fail_alloc_after = 0;
		gch_heap_destroy(&f->h);
		f->live = false;
		KUNIT_ASSERT_EQ(test, f->populates, f->releases);
		if (left)	/* no allocation failed: all were tried */
			break;
	}
	KUNIT_EXPECT_GT(test, n, 10);
	KUNIT_EXPECT_LT(test, n, 1000);
#endif
}

/* destroy() gives every span back to the embedder. */
static void heap_destroy_releases(struct kunit *test)
{
	struct heap_fixture *f = hf_new(test, 512);
	unsigned int sc;
	u64 off[4];

	for (sc = 1; sc < hf_nclasses(f); sc += 3)
		hf_alloc_n(test, f, HT_SPANCLASS(sc, sc & 1), off, 1);
	KUNIT_ASSERT_EQ(test, gch_heap_alloc_large(&f->h, 90000, false, off),
			0);
	hf_check(test, f);
	KUNIT_EXPECT_GT(test, f->populates, 20U);
	gch_heap_destroy(&f->h);
	f->live = false;
	KUNIT_EXPECT_EQ(test, f->releases, f->populates);
	KUNIT_EXPECT_EQ(test, f->h.metadata_bytes, 0ULL);
	KUNIT_EXPECT_EQ(test, f->h.mapped_pages, 0ULL);
	KUNIT_EXPECT_EQ(test, f->h.objects, 0ULL);
}

/*
 * The random test's model: the live objects, and which of them owns each
 * 16-byte granule of the arena (index + 1; 0 for none).
 */
struct ht_obj {
	u64 off;
	u64 size;
	u32 spanclass;		/* 0 or 1: large */
	u32 tag;
};

struct ht_model {
	struct ht_obj *obj;
	u32 nobj, maxobj;
	u32 *owner;
	u64 arena;
	u64 nmalloc[GCH_NR_SPANCLASSES];
	u64 nfree[GCH_NR_SPANCLASSES];
	u64 inuse, large_nmalloc, large_nfree;
	u64 seed;
	u64 offs[16];
};

static u64 ht_rand(u64 *state)
{
	u64 x = *state;		/* xorshift64*, never seeded with 0 */

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dULL;
}

static u32 ht_below(u64 *state, u32 n)
{
	return (ht_rand(state) >> 32) % n;
}

static void ht_set_owner(struct ht_model *m, const struct ht_obj *o, u32 v)
{
	u64 g;

	for (g = o->off / GCH_MIN_ALIGN; g < (o->off + o->size) / GCH_MIN_ALIGN;
	     g++)
		m->owner[g] = v;
}

/* A new object: zero, not overlapping, now marked with its tag. */
static void ht_add(struct kunit *test, struct heap_fixture *f,
		   struct ht_model *m, u64 off, u64 size, u32 spanclass)
{
	struct ht_obj *o = &m->obj[m->nobj];
	u8 *p = hf_ptr(f, off);
	u64 g;

	KUNIT_ASSERT_LT(test, m->nobj, m->maxobj);
	KUNIT_ASSERT_GE(test, off, HF_FIRST);	/* never the reserved page */
	KUNIT_ASSERT_NOT_NULL(test, p);
	for (g = off / GCH_MIN_ALIGN; g < (off + size) / GCH_MIN_ALIGN; g++)
		KUNIT_ASSERT_EQ_MSG(test, m->owner[g], 0U, "overlap at %llu",
				    (unsigned long long)g * GCH_MIN_ALIGN);
	KUNIT_ASSERT_TRUE(test, hf_all_zero(p, min_t(u64, size, 256)));
	KUNIT_ASSERT_TRUE(test, hf_all_zero(p + size - 16, 16));
	o->off = off;
	o->size = size;
	o->spanclass = spanclass;
	o->tag = (u32)ht_rand(&m->seed) | 1;
	memcpy(p, &o->tag, sizeof(o->tag));
	memcpy(p + size - sizeof(o->tag), &o->tag, sizeof(o->tag));
	m->inuse += size;
	ht_set_owner(m, o, ++m->nobj);
}

static void ht_remove(struct kunit *test, struct heap_fixture *f,
		      struct ht_model *m, u32 i)
{
	struct ht_obj *o = &m->obj[i];
	u8 *p = hf_ptr(f, o->off);
	u32 tag;

	/* nobody wrote into it meanwhile (a neighbour's zeroing, say) */
	memcpy(&tag, p, sizeof(tag));
	KUNIT_ASSERT_EQ(test, tag, o->tag);
	memcpy(&tag, p + o->size - sizeof(tag), sizeof(tag));
	KUNIT_ASSERT_EQ(test, tag, o->tag);
	KUNIT_ASSERT_EQ(test, gch_heap_free(&f->h, o->off), 0);
	if (o->spanclass > 1)
		m->nfree[o->spanclass]++;
	else
		m->large_nfree++;
	m->inuse -= o->size;
	ht_set_owner(m, o, 0);
	if (i != --m->nobj) {
		*o = m->obj[m->nobj];
		ht_set_owner(m, o, i + 1);
	}
}

/* -ENOMEM is right only if no span of @npages pages can be had. */
static void ht_expect_full(struct kunit *test, struct heap_fixture *f,
			   u32 npages)
{
	const struct gch_pageheap *ph = &f->h.pages;
	const struct gch_span *r;
	u32 n;

	KUNIT_EXPECT_LT(test, ph->npages - ph->used, npages);
	for (n = npages; n < GCH_PH_SMALL_RUNS; n++)
		KUNIT_EXPECT_TRUE(test, list_empty(&ph->free_small[n]));
	list_for_each_entry(r, &ph->free_large, link)
		KUNIT_EXPECT_LT(test, r->npages, npages);
}

static void ht_alloc_small(struct kunit *test, struct heap_fixture *f,
			   struct ht_model *m)
{
	/* small classes more often, as in real programs */
	u32 nr = hf_nclasses(f) - 1, sc = 1 + ht_below(&m->seed, nr);
	unsigned int spanclass, max, i;
	int got;

	if (ht_below(&m->seed, 2))
		sc = 1 + ht_below(&m->seed, min_t(u32, nr, 12));
	spanclass = HT_SPANCLASS(sc, ht_below(&m->seed, 2));
	max = 1 + ht_below(&m->seed, ARRAY_SIZE(m->offs));
	max = min_t(unsigned int, max, m->maxobj - m->nobj);
	if (!max)
		return;
	got = gch_heap_alloc_small(&f->h, spanclass, m->offs, max);
	if (got == -ENOMEM) {
		KUNIT_EXPECT_TRUE(test, list_empty(&f->h.central[spanclass].partial));
		ht_expect_full(test, f, f->classes.npages[sc]);
		return;
	}
	KUNIT_ASSERT_GT(test, got, 0);
	KUNIT_ASSERT_LE(test, got, (int)max);
	for (i = 0; i < (unsigned int)got; i++)
		ht_add(test, f, m, m->offs[i], f->classes.size[sc], spanclass);
	m->nmalloc[spanclass] += got;
}

static void ht_alloc_large(struct kunit *test, struct heap_fixture *f,
			   struct ht_model *m)
{
	u64 size = GCH_MAX_SMALL_SIZE + 1 + ht_below(&m->seed, 200000), off;
	bool noscan = ht_below(&m->seed, 2);
	int err;

	if (m->nobj == m->maxobj)
		return;
	err = gch_heap_alloc_large(&f->h, size, noscan, &off);
	if (err == -ENOMEM) {
		ht_expect_full(test, f, DIV_ROUND_UP(size, GCH_PAGE_SIZE));
		return;
	}
	KUNIT_ASSERT_EQ(test, err, 0);
	ht_add(test, f, m, off, round_up(size, (u64)GCH_PAGE_SIZE), noscan);
	m->large_nmalloc++;
}

/* Any offset: the model says what lookup and free must answer. */
static void ht_probe(struct kunit *test, struct heap_fixture *f,
		     struct ht_model *m)
{
	u64 off = ht_rand(&m->seed) % (m->arena + 64);
	struct gch_objinfo info;
	const struct ht_obj *o;
	u32 own;
	int err;

	if (m->nobj && ht_below(&m->seed, 2)) {
		/* inside a live object, usually not at its start */
		o = &m->obj[ht_below(&m->seed, m->nobj)];
		off = o->off + ht_rand(&m->seed) % o->size;
	}
	err = gch_heap_lookup(&f->h, off, &info);
	if (off >= m->arena) {
		KUNIT_ASSERT_EQ(test, err, -EINVAL);
		KUNIT_ASSERT_EQ(test, gch_heap_free(&f->h, off), -EINVAL);
		return;
	}
	own = m->owner[off / GCH_MIN_ALIGN];
	if (!own) {
		KUNIT_ASSERT_EQ(test, err, -ENOENT);
		KUNIT_ASSERT_EQ(test, gch_heap_free(&f->h, off), -EINVAL);
		return;
	}
	o = &m->obj[own - 1];
	KUNIT_ASSERT_EQ(test, err, 0);
	KUNIT_ASSERT_EQ(test, info.base, o->off);
	KUNIT_ASSERT_EQ(test, info.size, o->size);
	KUNIT_ASSERT_EQ(test, info.noscan, (bool)(o->spanclass & 1));
	KUNIT_ASSERT_EQ(test, info.sizeclass, o->spanclass >> 1);
	if (off != o->off)
		KUNIT_ASSERT_EQ(test, gch_heap_free(&f->h, off), -EINVAL);
}

static void ht_verify(struct kunit *test, struct heap_fixture *f,
		      struct ht_model *m, bool full)
{
	const struct gch_heap_core *h = &f->h;
	u64 large = 0;
	unsigned int i;

	KUNIT_ASSERT_EQ(test, h->objects, (u64)m->nobj);
	KUNIT_ASSERT_EQ(test, h->inuse_bytes, m->inuse);
	KUNIT_ASSERT_EQ(test, h->large_nmalloc, m->large_nmalloc);
	KUNIT_ASSERT_EQ(test, h->large_nfree, m->large_nfree);
	for (i = 2; i < GCH_NR_SPANCLASSES; i++) {
		KUNIT_ASSERT_EQ(test, h->central[i].nmalloc, m->nmalloc[i]);
		KUNIT_ASSERT_EQ(test, h->central[i].nfree, m->nfree[i]);
	}
	if (!full)
		return;
	hf_check(test, f);
	for (i = 0; i < m->nobj; i++) {
		struct gch_objinfo info;

		KUNIT_ASSERT_EQ(test, gch_heap_lookup(h, m->obj[i].off, &info),
				0);
		KUNIT_ASSERT_EQ(test, info.base, m->obj[i].off);
		large += m->obj[i].spanclass <= 1;
	}
	KUNIT_ASSERT_EQ(test, h->nlarge, large);
}

static void heap_random_vs_model(struct kunit *test)
{
	struct heap_fixture *f = hf_new(test, 160);
	struct ht_model *m;
	u32 step, r;

	m = kunit_kzalloc(test, sizeof(*m), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, m);
	m->arena = 160ULL * GCH_PAGE_SIZE;
	m->maxobj = 6000;
	m->seed = 0x13198a2e03707344ULL;
	m->obj = hf_buf(test, 0, m->maxobj * sizeof(*m->obj));
	m->owner = hf_buf(test, 1, m->arena / GCH_MIN_ALIGN *
			  sizeof(*m->owner));
	for (step = 0; step < HT_RANDOM_OPS; step++) {
		/* phases of growth and of shrinking, to fill the arena */
		bool grow = (step / 700) % 2 == 0;

		r = ht_below(&m->seed, 100);
		if (r < (grow ? 45 : 25))
			ht_alloc_small(test, f, m);
		else if (r < (grow ? 50 : 28))
			ht_alloc_large(test, f, m);
		else if (r < 90 && m->nobj)
			ht_remove(test, f, m, ht_below(&m->seed, m->nobj));
		else
			ht_probe(test, f, m);
		ht_verify(test, f, m, step % 97 == 0);
	}
	while (m->nobj)
		ht_remove(test, f, m, m->nobj - 1);
	ht_verify(test, f, m, true);
	KUNIT_EXPECT_EQ(test, f->h.pages.used, HF_RESERVED);
	KUNIT_EXPECT_EQ(test, f->populates, f->releases);
}

static struct kunit_case heap_cases[] = {
	KUNIT_CASE(heap_init_errors),
	KUNIT_CASE(heap_bad_arguments),
	KUNIT_CASE(heap_every_class),
	KUNIT_CASE(heap_span_index_exact),
	KUNIT_CASE(heap_lookup_interior),
	KUNIT_CASE(heap_lookup_outside_objects),
	KUNIT_CASE(heap_free_errors),
	KUNIT_CASE(heap_needzero),
	KUNIT_CASE(heap_whole_span),
	KUNIT_CASE(heap_unzeroed_tags),
	KUNIT_CASE(heap_span_release),
	KUNIT_CASE(heap_large_objects),
	KUNIT_CASE(heap_exhaustion),
	KUNIT_CASE(heap_first_page_reserved),
	KUNIT_CASE(heap_populate_failure),
	KUNIT_CASE(heap_alloc_failure_injection),
	KUNIT_CASE(heap_destroy_releases),
	KUNIT_CASE(heap_random_vs_model),
	{}
};

static struct kunit_suite heap_suite = {
	.name = "gcheap_heap",
	.init = hf_case_init,
	.exit = hf_case_exit,
	.test_cases = heap_cases,
};

kunit_test_suite(heap_suite);
