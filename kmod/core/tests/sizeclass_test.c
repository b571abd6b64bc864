// SPDX-License-Identifier: GPL-2.0
/*
 * Size-class invariants.  The same file is a KUnit suite inside gcheap.ko
 * and a hosted test under ASan/UBSan (tools/testing/hosted provides the
 * subset of <kunit/test.h> it uses).  KUnit runs module suites before the
 * module's init function, so every case builds its own table.
 */
#include <kunit/test.h>

#include "../sizeclass.h"

static struct gch_sizeclass_table *new_table(struct kunit *test)
{
	struct gch_sizeclass_table *t;

	t = kunit_kzalloc(test, sizeof(*t), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, t);
	KUNIT_ASSERT_EQ(test, gch_sizeclass_init(t), 0);
	return t;
}

/* Every small size maps to the smallest class that holds it. */
static void sizeclass_smallest_fit(struct kunit *test)
{
	struct gch_sizeclass_table *t = new_table(test);
	size_t size;
	unsigned int c;

	for (size = 0; size <= GCH_MAX_SMALL_SIZE; size++) {
		c = gch_size_to_class(t, size);
		KUNIT_ASSERT_GE_MSG(test, c, 1U, "size %zu", size);
		KUNIT_ASSERT_LT_MSG(test, c, t->nr_classes, "size %zu", size);
		KUNIT_ASSERT_GE_MSG(test, (size_t)t->size[c], size,
				    "size %zu in class %u too small", size, c);
		if (c > 1)
			KUNIT_ASSERT_LT_MSG(test, (size_t)t->size[c - 1], size,
					    "size %zu fits class %u below %u",
					    size, c - 1, c);
	}
}

/* Sizes above the largest class are large objects (class 0). */
static void sizeclass_large_is_class0(struct kunit *test)
{
	struct gch_sizeclass_table *t = new_table(test);

	KUNIT_EXPECT_EQ(test, gch_size_to_class(t, GCH_MAX_SMALL_SIZE + 1), 0U);
	KUNIT_EXPECT_EQ(test, gch_size_to_class(t, 1 << 20), 0U);
	KUNIT_EXPECT_EQ(test, gch_size_to_class(t, (size_t)-1), 0U);
	KUNIT_EXPECT_EQ(test, t->size[t->nr_classes - 1], GCH_MAX_SMALL_SIZE);
}

/* A span's unusable tail is at most 1/8 of the span. */
static void sizeclass_waste_bound(struct kunit *test)
{
	struct gch_sizeclass_table *t = new_table(test);
	unsigned int c;
	u32 span, tail;

	for (c = 1; c < t->nr_classes; c++) {
		span = (u32)t->npages[c] << GCH_PAGE_SHIFT;
		KUNIT_ASSERT_GE(test, t->nobjs[c], 1);
		KUNIT_ASSERT_EQ(test, (u32)t->nobjs[c], span / t->size[c]);
		tail = span - t->nobjs[c] * t->size[c];
		KUNIT_EXPECT_LE_MSG(test, tail * 8, span,
				    "class %u (%u bytes): tail %u of %u",
				    c, t->size[c], tail, span);
	}
}

/* Classes grow strictly, stay aligned, and lookups never go backwards. */
static void sizeclass_monotone(struct kunit *test)
{
	struct gch_sizeclass_table *t = new_table(test);
	unsigned int c, prev = 0;
	size_t size;

	KUNIT_ASSERT_GT(test, t->nr_classes, 2U);
	KUNIT_ASSERT_LE(test, t->nr_classes, (u32)GCH_MAX_SIZE_CLASSES);
	KUNIT_EXPECT_EQ(test, t->size[0], 0U);
	KUNIT_EXPECT_EQ(test, t->size[1], GCH_MIN_ALIGN);
	for (c = 1; c < t->nr_classes; c++) {
		KUNIT_EXPECT_EQ(test, t->size[c] % GCH_MIN_ALIGN, 0U);
		KUNIT_EXPECT_GT(test, t->size[c], t->size[c - 1]);
	}
	for (c = t->nr_classes; c < GCH_MAX_SIZE_CLASSES; c++)
		KUNIT_EXPECT_EQ(test, t->size[c], 0U);
	for (size = 0; size <= GCH_MAX_SMALL_SIZE; size++) {
		c = gch_size_to_class(t, size);
		KUNIT_ASSERT_GE_MSG(test, c, prev, "size %zu", size);
		prev = c;
	}
}

/*
 * Neighbouring classes differ in span length or object count: otherwise
 * the smaller one is pure loss and the construction must have merged it.
 */
static void sizeclass_no_redundant_class(struct kunit *test)
{
	struct gch_sizeclass_table *t = new_table(test);
	unsigned int c;

	for (c = 2; c < t->nr_classes; c++)
		KUNIT_EXPECT_TRUE_MSG(test,
				      t->npages[c] != t->npages[c - 1] ||
				      t->nobjs[c] != t->nobjs[c - 1],
				      "classes %u and %u are redundant",
				      c - 1, c);
}

/* The library and the module compute the table apart: it must not vary. */
static void sizeclass_deterministic(struct kunit *test)
{
	struct gch_sizeclass_table *a = new_table(test);
	struct gch_sizeclass_table *b;

	b = kunit_kzalloc(test, sizeof(*b), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, b);
	memset(b, 0xa5, sizeof(*b));	/* stale contents must not leak in */
	KUNIT_ASSERT_EQ(test, gch_sizeclass_init(b), 0);
	KUNIT_EXPECT_EQ(test, memcmp(a, b, sizeof(*a)), 0);
}

static struct kunit_case sizeclass_cases[] = {
	KUNIT_CASE(sizeclass_smallest_fit),
	KUNIT_CASE(sizeclass_large_is_class0),
	KUNIT_CASE(sizeclass_waste_bound),
	KUNIT_CASE(sizeclass_monotone),
	KUNIT_CASE(sizeclass_no_redundant_class),
	KUNIT_CASE(sizeclass_deterministic),
	{}
};

static struct kunit_suite sizeclass_suite = {
	.name = "gcheap_sizeclass",
	.test_cases = sizeclass_cases,
};

kunit_test_suite(sizeclass_suite);
