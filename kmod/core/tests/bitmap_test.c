// SPDX-License-Identifier: GPL-2.0
/*
 * Bitmap operations of the core (bitmap.h): every operation at and around
 * word boundaries, sizes that are not a multiple of BITS_PER_LONG, and
 * find/weight against a bit-by-bit reference on pseudo-random maps.  A
 * KUnit suite in gcheap.ko and a hosted test, like every core test.
 */
#include <kunit/test.h>

#include "../bitmap.h"

#define BM_WORDS	4
#define BM_BITS		(BM_WORDS * BITS_PER_LONG)

static u64 bm_rand(u64 *state)
{
	u64 x = *state;		/* xorshift64*, never seeded with 0 */

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dULL;
}

/* Bits at and next to each word boundary of a BM_WORDS-word map. */
static const unsigned int bm_edges[] = {
	0, 1, 2, BITS_PER_LONG - 2, BITS_PER_LONG - 1, BITS_PER_LONG,
	BITS_PER_LONG + 1, 2 * BITS_PER_LONG - 1, 2 * BITS_PER_LONG,
	3 * BITS_PER_LONG - 1, 3 * BITS_PER_LONG, BM_BITS - 2, BM_BITS - 1,
};

static bool bm_ref_test(const unsigned long *map, unsigned int nr)
{
	return (map[nr / BITS_PER_LONG] >> (nr % BITS_PER_LONG)) & 1;
}

/* gch_bitmap_fill() sets exactly bits [0, n) of a cleared map. */
static void bitmap_fill_edges(struct kunit *test)
{
	unsigned long map[BM_WORDS];
	unsigned int e, n, nr;

	for (e = 0; e < ARRAY_SIZE(bm_edges); e++) {
		n = bm_edges[e];
		memset(map, 0, sizeof(map));
		gch_bitmap_fill(map, n);
		for (nr = 0; nr < BM_BITS; nr++)
			KUNIT_ASSERT_EQ_MSG(test, bm_ref_test(map, nr), nr < n,
					    "fill %u, bit %u", n, nr);
	}
}

/* Set, test and clear single bits; nothing else may change. */
static void bitmap_set_clear_edges(struct kunit *test)
{
	unsigned long map[BM_WORDS];
	unsigned int i, b, nr;

	memset(map, 0, sizeof(map));
	for (i = 0; i < ARRAY_SIZE(bm_edges); i++) {
		nr = bm_edges[i];
		gch_bitmap_set(map, nr);
		for (b = 0; b < BM_BITS; b++)
			KUNIT_ASSERT_EQ_MSG(test, gch_bitmap_test(map, b),
					    b == nr, "bit %u after set %u", b,
					    nr);
		KUNIT_EXPECT_EQ(test, gch_bitmap_weight(map, BM_BITS), 1U);
		KUNIT_EXPECT_EQ(test, map[nr / BITS_PER_LONG],
				1UL << (nr % BITS_PER_LONG));
		gch_bitmap_set(map, nr);	/* idempotent */
		KUNIT_EXPECT_EQ(test, gch_bitmap_weight(map, BM_BITS), 1U);
		gch_bitmap_clear(map, nr);
		for (b = 0; b < BM_WORDS; b++)
			KUNIT_ASSERT_EQ_MSG(test, map[b], 0UL,
					    "word %u after clear %u", b, nr);
		gch_bitmap_clear(map, nr);	/* idempotent */
		KUNIT_EXPECT_EQ(test, gch_bitmap_weight(map, BM_BITS), 0U);
	}
	/* all set, then clear the edges one by one */
	memset(map, 0xff, sizeof(map));
	for (i = 0; i < ARRAY_SIZE(bm_edges); i++) {
		gch_bitmap_clear(map, bm_edges[i]);
		KUNIT_EXPECT_FALSE(test, gch_bitmap_test(map, bm_edges[i]));
		KUNIT_EXPECT_EQ(test, gch_bitmap_weight(map, BM_BITS),
				(unsigned int)(BM_BITS - i - 1));
	}
}

static void bitmap_test_and_set_atomic(struct kunit *test)
{
	unsigned long map[BM_WORDS];
	unsigned int i, nr;

	memset(map, 0, sizeof(map));
	for (i = 0; i < ARRAY_SIZE(bm_edges); i++) {
		nr = bm_edges[i];
		KUNIT_EXPECT_FALSE(test, gch_bitmap_test_and_set_atomic(map, nr));
		KUNIT_EXPECT_TRUE(test, gch_bitmap_test(map, nr));
		KUNIT_EXPECT_TRUE(test, gch_bitmap_test_and_set_atomic(map, nr));
		KUNIT_EXPECT_EQ(test, gch_bitmap_weight(map, BM_BITS),
				i + 1);
	}
}

/* find_next_zero/set on full, empty and single-bit maps, every start. */
static void bitmap_find_edges(struct kunit *test)
{
	unsigned long map[BM_WORDS];
	unsigned int i, start, nr, want;

	memset(map, 0xff, sizeof(map));
	for (start = 0; start <= BM_BITS + 1; start++) {
		KUNIT_EXPECT_EQ(test, gch_bitmap_find_next_zero(map, BM_BITS,
								start),
				(unsigned int)BM_BITS);
		KUNIT_EXPECT_EQ(test, gch_bitmap_find_next_set(map, BM_BITS,
							       start),
				min_t(unsigned int, start, BM_BITS));
	}
	for (i = 0; i < ARRAY_SIZE(bm_edges); i++) {
		nr = bm_edges[i];
		memset(map, 0xff, sizeof(map));
		gch_bitmap_clear(map, nr);
		for (start = 0; start <= BM_BITS; start++) {
			want = start <= nr ? nr : BM_BITS;
			KUNIT_ASSERT_EQ_MSG(test,
					    gch_bitmap_find_next_zero(map,
								      BM_BITS,
								      start),
					    want, "zero %u from %u", nr, start);
		}
		memset(map, 0, sizeof(map));
		gch_bitmap_set(map, nr);
		for (start = 0; start <= BM_BITS; start++) {
			want = start <= nr ? nr : BM_BITS;
			KUNIT_ASSERT_EQ_MSG(test,
					    gch_bitmap_find_next_set(map,
								     BM_BITS,
								     start),
					    want, "set %u from %u", nr, start);
		}
	}
	/* an empty map has no bit at all */
	KUNIT_EXPECT_EQ(test, gch_bitmap_find_next_zero(map, 0, 0), 0U);
	KUNIT_EXPECT_EQ(test, gch_bitmap_weight(map, 0), 0U);
}

/*
 * Sizes that end inside a word: bits past @nbits, whatever they hold,
 * are never found and never counted.
 */
static void bitmap_partial_last_word(struct kunit *test)
{
	static const unsigned int sizes[] = {
		1, 5, BITS_PER_LONG - 1, BITS_PER_LONG + 1,
		2 * BITS_PER_LONG + 7, BM_BITS - 1,
	};
	unsigned long map[BM_WORDS];
	unsigned int i, n, start;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		n = sizes[i];
		KUNIT_EXPECT_EQ(test, gch_bitmap_bytes(n),
				BITS_TO_LONGS(n) * sizeof(long));
		/* valid bits all set, tail clear: no zero below n */
		memset(map, 0, sizeof(map));
		for (start = 0; start < n; start++)
			gch_bitmap_set(map, start);
		KUNIT_EXPECT_EQ(test, gch_bitmap_find_next_zero(map, n, 0), n);
		KUNIT_EXPECT_EQ(test, gch_bitmap_find_next_zero(map, n, n - 1),
				n);
		KUNIT_EXPECT_EQ(test, gch_bitmap_weight(map, n), n);
		/* valid bits clear, tail set: no set bit, weight 0 */
		memset(map, 0xff, sizeof(map));
		for (start = 0; start < n; start++)
			gch_bitmap_clear(map, start);
		KUNIT_EXPECT_EQ(test, gch_bitmap_find_next_set(map, n, 0), n);
		KUNIT_EXPECT_EQ(test, gch_bitmap_weight(map, n), 0U);
		KUNIT_EXPECT_EQ(test, gch_bitmap_find_next_zero(map, n, 0), 0U);
		/* zero clears whole words, no further */
		memset(map, 0xff, sizeof(map));
		gch_bitmap_zero(map, n);
		for (start = 0; start < BM_WORDS; start++)
			KUNIT_EXPECT_EQ(test, map[start],
					start < BITS_TO_LONGS(n) ? 0UL : ~0UL);
	}
}

/* Random maps and sizes: find and weight agree with a bit-by-bit walk. */
static void bitmap_random_vs_reference(struct kunit *test)
{
	unsigned long map[BM_WORDS];
	unsigned int round, n, start, b, zero, set, weight;
	u64 seed = 0x9e3779b97f4a7c15ULL;
	int w;

	for (round = 0; round < 200; round++) {
		for (w = 0; w < BM_WORDS; w++) {
			map[w] = bm_rand(&seed);
			/* sparse and dense maps too */
			if (round % 3 == 1)
				map[w] &= bm_rand(&seed) & bm_rand(&seed);
			else if (round % 3 == 2)
				map[w] |= bm_rand(&seed) | bm_rand(&seed);
		}
		n = 1 + bm_rand(&seed) % BM_BITS;
		weight = 0;
		for (b = 0; b < n; b++)
			weight += bm_ref_test(map, b);
		KUNIT_ASSERT_EQ(test, gch_bitmap_weight(map, n), weight);
		for (start = 0; start <= n; start++) {
			for (zero = start; zero < n && bm_ref_test(map, zero);)
				zero++;
			for (set = start; set < n && !bm_ref_test(map, set);)
				set++;
			KUNIT_ASSERT_EQ_MSG(test,
					    gch_bitmap_find_next_zero(map, n,
								      start),
					    zero, "round %u n %u", round, n);
			KUNIT_ASSERT_EQ_MSG(test,
					    gch_bitmap_find_next_set(map, n,
								     start),
					    set, "round %u n %u", round, n);
		}
	}
}

static struct kunit_case bitmap_cases[] = {
	KUNIT_CASE(bitmap_set_clear_edges),
	KUNIT_CASE(bitmap_fill_edges),
	KUNIT_CASE(bitmap_test_and_set_atomic),
	KUNIT_CASE(bitmap_find_edges),
	KUNIT_CASE(bitmap_partial_last_word),
	KUNIT_CASE(bitmap_random_vs_reference),
	{}
};

static struct kunit_suite bitmap_suite = {
	.name = "gcheap_bitmap",
	.test_cases = bitmap_cases,
};

kunit_test_suite(bitmap_suite);
