// SPDX-License-Identifier: GPL-2.0
/*
 * Per-CPU cache layout invariants (KUnit in the module, hosted under
 * ASan/UBSan): caches never overlap and stay inside a CPU's block,
 * capacities respect their bounds, and the layout is deterministic (the
 * library and the module compute it apart).
 */
#include <kunit/test.h>

#include "../cache.h"

struct layout_fixture {
	struct gch_sizeclass_table t;
	struct gch_cache_layout l;
};

static struct layout_fixture *new_layout(struct kunit *test)
{
	struct layout_fixture *f;

	f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, f);
	KUNIT_ASSERT_EQ(test, gch_sizeclass_init(&f->t), 0);
	gch_cache_layout_init(&f->l, &f->t);
	return f;
}

static void cache_layout_no_overlap(struct kunit *test)
{
	struct layout_fixture *f = new_layout(test);
	u32 sc, end, prev_end = 0;

	for (sc = GCH_SPANCLASS(1, 0); sc < 2 * f->t.nr_classes; sc++) {
		KUNIT_ASSERT_GE_MSG(test, f->l.offset[sc], prev_end,
				    "span class %u overlaps its neighbour", sc);
		KUNIT_EXPECT_EQ(test, f->l.offset[sc] % 64, 0U);
		end = f->l.offset[sc] + sizeof(struct gch_cache) +
		      f->l.capacity[sc] * sizeof(__u64);
		KUNIT_ASSERT_LE(test, end, f->l.stride);
		prev_end = end;
	}
	KUNIT_EXPECT_EQ(test, f->l.stride % GCH_PAGE_SIZE, 0U);
	KUNIT_EXPECT_GT(test, f->l.stride, 0U);
}

static void cache_layout_capacity_bounds(struct kunit *test)
{
	struct layout_fixture *f = new_layout(test);
	u32 sc;

	/* span classes of class 0 (large objects) and beyond have no cache */
	KUNIT_EXPECT_EQ(test, f->l.capacity[0], 0);
	KUNIT_EXPECT_EQ(test, f->l.capacity[1], 0);
	for (sc = 2 * f->t.nr_classes; sc < GCH_NR_SPANCLASSES; sc++)
		KUNIT_EXPECT_EQ(test, f->l.capacity[sc], 0);
	for (sc = GCH_SPANCLASS(1, 0); sc < 2 * f->t.nr_classes; sc++) {
		KUNIT_EXPECT_GE(test, f->l.capacity[sc], GCH_CACHE_MIN_SLOTS);
		KUNIT_EXPECT_LE(test, f->l.capacity[sc], GCH_CACHE_MAX_SLOTS);
		/* scan and noscan classes of one size are alike */
		KUNIT_EXPECT_EQ(test, f->l.capacity[sc], f->l.capacity[sc ^ 1]);
	}
	/* small objects get the most slots */
	KUNIT_EXPECT_EQ(test, f->l.capacity[GCH_SPANCLASS(1, 0)],
			GCH_CACHE_MAX_SLOTS);
}

static void cache_layout_deterministic(struct kunit *test)
{
	struct layout_fixture *a = new_layout(test);
	struct layout_fixture *b = new_layout(test);

	KUNIT_EXPECT_EQ(test, memcmp(&a->l, &b->l, sizeof(a->l)), 0);
}

static struct kunit_case cache_layout_cases[] = {
	KUNIT_CASE(cache_layout_no_overlap),
	KUNIT_CASE(cache_layout_capacity_bounds),
	KUNIT_CASE(cache_layout_deterministic),
	{}
};

static struct kunit_suite cache_layout_suite = {
	.name = "gcheap_cache_layout",
	.test_cases = cache_layout_cases,
};

kunit_test_suite(cache_layout_suite);
