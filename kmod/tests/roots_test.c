// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the root registry (GCH_IOC_ROOTS) and of how root ranges
 * are merged.  Included at the end of roots.c so that it can reach the
 * static functions.  Cutting ranges along a process's mappings needs a
 * process: the selftests cover it (gcheap_gc_test).
 */
#include <kunit/test.h>

static int roots_test_init(struct kunit *test)
{
	struct gch_heap *heap;

	heap = kunit_kzalloc(test, sizeof(*heap), GFP_KERNEL);
	if (!heap)
		return -ENOMEM;
	mutex_init(&heap->lock);
	test->priv = heap;
	return 0;
}

static void roots_test_exit(struct kunit *test)
{
	struct gch_heap *heap = test->priv;

	kvfree(heap->roots);
}

static int roots_op(struct gch_heap *heap, u32 op, u32 tag, u64 addr,
		    u64 len)
{
	struct gch_roots r = {
		.hdr.size = sizeof(r), .op = op, .tag = tag,
		.addr = addr, .len = len,
	};

	return gch_roots_ctl(heap, &r);
}

/* ADD rounds inward, REMOVE takes only the tag's ranges inside. */
static void roots_add_remove_clear(struct kunit *test)
{
	struct gch_heap *heap = test->priv;

	KUNIT_EXPECT_EQ(test, roots_op(heap, GCH_ROOTS_ADD, 1, 0x1003, 0x100),
			0);
	KUNIT_ASSERT_EQ(test, heap->nr_roots, 1U);
	KUNIT_EXPECT_EQ(test, heap->roots[0].start, 0x1008ULL);
	KUNIT_EXPECT_EQ(test, heap->roots[0].end, 0x1100ULL);
	KUNIT_EXPECT_EQ(test, roots_op(heap, GCH_ROOTS_ADD, 2, 0x1000, 0x100),
			0);
	KUNIT_EXPECT_EQ(test, roots_op(heap, GCH_ROOTS_ADD, 1, 0x9000, 0x10),
			0);
	/* a range with no whole word is accepted and holds nothing */
	KUNIT_EXPECT_EQ(test, roots_op(heap, GCH_ROOTS_ADD, 1, 0x5001, 6), 0);
	KUNIT_EXPECT_EQ(test, heap->nr_roots, 3U);

	/* only tag 1, only inside [0x1000, 0x2000) */
	KUNIT_EXPECT_EQ(test,
			roots_op(heap, GCH_ROOTS_REMOVE, 1, 0x1000, 0x1000), 0);
	KUNIT_ASSERT_EQ(test, heap->nr_roots, 2U);
	KUNIT_EXPECT_EQ(test, heap->roots[0].tag, 2U);
	KUNIT_EXPECT_EQ(test, heap->roots[1].start, 0x9000ULL);
	/* partly overlapping: not removed */
	KUNIT_EXPECT_EQ(test,
			roots_op(heap, GCH_ROOTS_REMOVE, 2, 0x1000, 0x80), 0);
	KUNIT_EXPECT_EQ(test, heap->nr_roots, 2U);

	KUNIT_EXPECT_EQ(test, roots_op(heap, GCH_ROOTS_CLEAR, 1, 0, 0), 0);
	KUNIT_ASSERT_EQ(test, heap->nr_roots, 1U);
	KUNIT_EXPECT_EQ(test, heap->roots[0].tag, 2U);
}

static void roots_bad_input(struct kunit *test)
{
	struct gch_heap *heap = test->priv;

	KUNIT_EXPECT_EQ(test, roots_op(heap, 0, 1, 0x1000, 8), -EINVAL);
	KUNIT_EXPECT_EQ(test, roots_op(heap, 4, 1, 0x1000, 8), -EINVAL);
	KUNIT_EXPECT_EQ(test, roots_op(heap, GCH_ROOTS_ADD, 1, 0x1000, 0),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, roots_op(heap, GCH_ROOTS_ADD, 1, ~0ULL - 8, 64),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, roots_op(heap, GCH_ROOTS_ADD, 1,
				       0xffff888000000000ULL, 4096), -EINVAL);
	KUNIT_EXPECT_EQ(test, roots_op(heap, GCH_ROOTS_REMOVE, 1, 0x1000, 0),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, heap->nr_roots, 0U);
}

static void roots_limit(struct kunit *test)
{
	struct gch_heap *heap = test->priv;
	unsigned int i;

	for (i = 0; i < GCH_ROOTS_MAX; i++)
		KUNIT_ASSERT_EQ(test, roots_op(heap, GCH_ROOTS_ADD, 1,
					       0x10000 + i * 64ULL, 64), 0);
	KUNIT_EXPECT_EQ(test, roots_op(heap, GCH_ROOTS_ADD, 1, 0x10, 64),
			-ENOSPC);
	KUNIT_EXPECT_EQ(test, roots_op(heap, GCH_ROOTS_CLEAR, 1, 0, 0), 0);
	KUNIT_EXPECT_EQ(test, roots_op(heap, GCH_ROOTS_ADD, 1, 0x10, 64), 0);
}

/* Overlapping and touching ranges merge; the order does not matter. */
static void roots_merge(struct kunit *test)
{
	struct gch_urange r[6];
	struct gch_rootset rs = { .ranges = r };

	gch_rs_add_range(&rs, 0x5000, 0x6000);
	gch_rs_add_range(&rs, 0x1000, 0x2000);
	gch_rs_add_range(&rs, 0x1800, 0x3000);	/* overlaps */
	gch_rs_add_range(&rs, 0x3000, 0x3100);	/* touches */
	gch_rs_add_range(&rs, 0x5100, 0x5200);	/* inside */
	gch_rs_add_range(&rs, 0x7004, 0x7006);	/* no whole word: dropped */
	KUNIT_ASSERT_EQ(test, rs.nranges, 5U);
	gch_rs_merge(&rs);
	KUNIT_ASSERT_EQ(test, rs.nranges, 2U);
	KUNIT_EXPECT_EQ(test, r[0].start, 0x1000UL);
	KUNIT_EXPECT_EQ(test, r[0].end, 0x3100UL);
	KUNIT_EXPECT_EQ(test, r[1].start, 0x5000UL);
	KUNIT_EXPECT_EQ(test, r[1].end, 0x6000UL);
}

static struct kunit_case roots_cases[] = {
	KUNIT_CASE(roots_add_remove_clear),
	KUNIT_CASE(roots_bad_input),
	KUNIT_CASE(roots_limit),
	KUNIT_CASE(roots_merge),
	{}
};

static struct kunit_suite roots_suite = {
	.name = "gcheap_roots",
	.init = roots_test_init,
	.exit = roots_test_exit,
	.test_cases = roots_cases,
};

kunit_test_suite(roots_suite);
