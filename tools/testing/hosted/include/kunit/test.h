/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The subset of the kernel's <kunit/test.h> that gcheap's core tests use,
 * for the hosted build: the same test files run as KUnit suites in the
 * module and as a userspace program under ASan/UBSan/TSan, in the manner
 * of tools/testing/radix-tree.  Output is KTAP, like KUnit's.
 *
 * A failed EXPECT marks the case failed and goes on; a failed ASSERT ends
 * the case (longjmp back to the runner).  Memory from kunit_kzalloc() is
 * freed when the case ends, so leaks show up under ASan only for memory
 * the code under test itself loses.  kunit_skip() ends the case too, and
 * reports it "ok N name # SKIP reason", as KUnit does.
 */
#ifndef _HOSTED_KUNIT_TEST_H
#define _HOSTED_KUNIT_TEST_H

#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>

#define GFP_KERNEL	0

struct kunit_resource;

#define KUNIT_STATUS_COMMENT_SIZE	256

/*
 * @failed and @skipped: the case's status, the last of kunit_skip() and a
 * failure winning, as in KUnit.  @priv: free for the suite's init/exit.
 */
struct kunit {
	const char *name;
	bool failed;
	bool skipped;
	char status_comment[KUNIT_STATUS_COMMENT_SIZE];
	jmp_buf abort;
	struct kunit_resource *resources;
	void *priv;
};

struct kunit_case {
	void (*run_case)(struct kunit *test);
	const char *name;
};

struct kunit_suite {
	const char *name;
	int (*suite_init)(struct kunit_suite *suite);
	void (*suite_exit)(struct kunit_suite *suite);
	int (*init)(struct kunit *test);
	void (*exit)(struct kunit *test);
	struct kunit_case *test_cases;
};

#define KUNIT_CASE(fn)	{ .run_case = fn, .name = #fn }

void hosted_kunit_register(struct kunit_suite *suite);

#define kunit_test_suite(suite)						\
	static void __attribute__((constructor))			\
	hosted_kunit_register_##suite(void)				\
	{								\
		hosted_kunit_register(&(suite));			\
	}

void *kunit_kmalloc(struct kunit *test, size_t size, int gfp);
void *kunit_kzalloc(struct kunit *test, size_t size, int gfp);
void kunit_kfree(struct kunit *test, const void *ptr);

void hosted_kunit_fail(struct kunit *test, bool abort, const char *file,
		       int line, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

void hosted_kunit_skip(struct kunit *test, bool abort, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define kunit_mark_skipped(test, fmt, ...)				\
	hosted_kunit_skip(test, false, fmt, ##__VA_ARGS__)
#define kunit_skip(test, fmt, ...)					\
	hosted_kunit_skip(test, true, fmt, ##__VA_ARGS__)

#define kunit_info(test, fmt, ...)	\
	printf("    # %s: " fmt "\n", (test)->name, ##__VA_ARGS__)
#define kunit_err(test, fmt, ...)	\
	printf("    # %s: error: " fmt "\n", (test)->name, ##__VA_ARGS__)

#define HOSTED_KUNIT_CHECK(test, abort, cond, fmt, ...)			\
	do {								\
		if (!(cond))						\
			hosted_kunit_fail(test, abort, __FILE__, __LINE__, \
					  fmt, ##__VA_ARGS__);		\
	} while (0)

/* Binary comparisons print both sides as integers, as KUnit does. */
#define HOSTED_KUNIT_BINARY(test, abort, l, op, r, fmt, ...)		\
	do {								\
		const __typeof__(l) __l = (l);				\
		const __typeof__(r) __r = (r);				\
		HOSTED_KUNIT_CHECK(test, abort, __l op __r,		\
			"Expected %s " #op " %s, but %s == %lld, %s == %lld " fmt, \
			#l, #r, #l, (long long)__l, #r, (long long)__r,	\
			##__VA_ARGS__);					\
	} while (0)

#define HOSTED_KUNIT_PTR(test, abort, l, op, r, fmt, ...)		\
	do {								\
		const void *__l = (l), *__r = (r);			\
		HOSTED_KUNIT_CHECK(test, abort, __l op __r,		\
			"Expected %s " #op " %s, but %p vs %p " fmt,	\
			#l, #r, __l, __r, ##__VA_ARGS__);		\
	} while (0)

#define KUNIT_FAIL(test, fmt, ...)					\
	hosted_kunit_fail(test, false, __FILE__, __LINE__, fmt, ##__VA_ARGS__)

#define KUNIT_EXPECT_TRUE_MSG(test, c, fmt, ...)			\
	HOSTED_KUNIT_CHECK(test, false, c, "Expected %s to be true " fmt, #c, \
			   ##__VA_ARGS__)
#define KUNIT_EXPECT_FALSE_MSG(test, c, fmt, ...)			\
	HOSTED_KUNIT_CHECK(test, false, !(c), "Expected %s to be false " fmt, \
			   #c, ##__VA_ARGS__)
#define KUNIT_ASSERT_TRUE_MSG(test, c, fmt, ...)			\
	HOSTED_KUNIT_CHECK(test, true, c, "Expected %s to be true " fmt, #c, \
			   ##__VA_ARGS__)
#define KUNIT_ASSERT_FALSE_MSG(test, c, fmt, ...)			\
	HOSTED_KUNIT_CHECK(test, true, !(c), "Expected %s to be false " fmt, \
			   #c, ##__VA_ARGS__)
#define KUNIT_EXPECT_TRUE(test, c)	KUNIT_EXPECT_TRUE_MSG(test, c, "")
#define KUNIT_EXPECT_FALSE(test, c)	KUNIT_EXPECT_FALSE_MSG(test, c, "")
#define KUNIT_ASSERT_TRUE(test, c)	KUNIT_ASSERT_TRUE_MSG(test, c, "")
#define KUNIT_ASSERT_FALSE(test, c)	KUNIT_ASSERT_FALSE_MSG(test, c, "")

#define KUNIT_EXPECT_EQ_MSG(t, l, r, ...) HOSTED_KUNIT_BINARY(t, false, l, ==, r, __VA_ARGS__)
#define KUNIT_EXPECT_NE_MSG(t, l, r, ...) HOSTED_KUNIT_BINARY(t, false, l, !=, r, __VA_ARGS__)
#define KUNIT_EXPECT_LT_MSG(t, l, r, ...) HOSTED_KUNIT_BINARY(t, false, l, <, r, __VA_ARGS__)
#define KUNIT_EXPECT_LE_MSG(t, l, r, ...) HOSTED_KUNIT_BINARY(t, false, l, <=, r, __VA_ARGS__)
#define KUNIT_EXPECT_GT_MSG(t, l, r, ...) HOSTED_KUNIT_BINARY(t, false, l, >, r, __VA_ARGS__)
#define KUNIT_EXPECT_GE_MSG(t, l, r, ...) HOSTED_KUNIT_BINARY(t, false, l, >=, r, __VA_ARGS__)
#define KUNIT_ASSERT_EQ_MSG(t, l, r, ...) HOSTED_KUNIT_BINARY(t, true, l, ==, r, __VA_ARGS__)
#define KUNIT_ASSERT_NE_MSG(t, l, r, ...) HOSTED_KUNIT_BINARY(t, true, l, !=, r, __VA_ARGS__)
#define KUNIT_ASSERT_LT_MSG(t, l, r, ...) HOSTED_KUNIT_BINARY(t, true, l, <, r, __VA_ARGS__)
#define KUNIT_ASSERT_LE_MSG(t, l, r, ...) HOSTED_KUNIT_BINARY(t, true, l, <=, r, __VA_ARGS__)
#define KUNIT_ASSERT_GT_MSG(t, l, r, ...) HOSTED_KUNIT_BINARY(t, true, l, >, r, __VA_ARGS__)
#define KUNIT_ASSERT_GE_MSG(t, l, r, ...) HOSTED_KUNIT_BINARY(t, true, l, >=, r, __VA_ARGS__)

#define KUNIT_EXPECT_EQ(t, l, r)	KUNIT_EXPECT_EQ_MSG(t, l, r, "")
#define KUNIT_EXPECT_NE(t, l, r)	KUNIT_EXPECT_NE_MSG(t, l, r, "")
#define KUNIT_EXPECT_LT(t, l, r)	KUNIT_EXPECT_LT_MSG(t, l, r, "")
#define KUNIT_EXPECT_LE(t, l, r)	KUNIT_EXPECT_LE_MSG(t, l, r, "")
#define KUNIT_EXPECT_GT(t, l, r)	KUNIT_EXPECT_GT_MSG(t, l, r, "")
#define KUNIT_EXPECT_GE(t, l, r)	KUNIT_EXPECT_GE_MSG(t, l, r, "")
#define KUNIT_ASSERT_EQ(t, l, r)	KUNIT_ASSERT_EQ_MSG(t, l, r, "")
#define KUNIT_ASSERT_NE(t, l, r)	KUNIT_ASSERT_NE_MSG(t, l, r, "")
#define KUNIT_ASSERT_LT(t, l, r)	KUNIT_ASSERT_LT_MSG(t, l, r, "")
#define KUNIT_ASSERT_LE(t, l, r)	KUNIT_ASSERT_LE_MSG(t, l, r, "")
#define KUNIT_ASSERT_GT(t, l, r)	KUNIT_ASSERT_GT_MSG(t, l, r, "")
#define KUNIT_ASSERT_GE(t, l, r)	KUNIT_ASSERT_GE_MSG(t, l, r, "")

#define KUNIT_EXPECT_PTR_EQ_MSG(t, l, r, ...) HOSTED_KUNIT_PTR(t, false, l, ==, r, __VA_ARGS__)
#define KUNIT_EXPECT_PTR_NE_MSG(t, l, r, ...) HOSTED_KUNIT_PTR(t, false, l, !=, r, __VA_ARGS__)
#define KUNIT_EXPECT_NULL_MSG(t, p, ...)      HOSTED_KUNIT_PTR(t, false, p, ==, NULL, __VA_ARGS__)
#define KUNIT_EXPECT_NOT_NULL_MSG(t, p, ...)  HOSTED_KUNIT_PTR(t, false, p, !=, NULL, __VA_ARGS__)
#define KUNIT_ASSERT_PTR_EQ_MSG(t, l, r, ...) HOSTED_KUNIT_PTR(t, true, l, ==, r, __VA_ARGS__)
#define KUNIT_ASSERT_PTR_NE_MSG(t, l, r, ...) HOSTED_KUNIT_PTR(t, true, l, !=, r, __VA_ARGS__)
#define KUNIT_ASSERT_NULL_MSG(t, p, ...)      HOSTED_KUNIT_PTR(t, true, p, ==, NULL, __VA_ARGS__)
#define KUNIT_ASSERT_NOT_NULL_MSG(t, p, ...)  HOSTED_KUNIT_PTR(t, true, p, !=, NULL, __VA_ARGS__)

#define KUNIT_EXPECT_PTR_EQ(t, l, r)	KUNIT_EXPECT_PTR_EQ_MSG(t, l, r, "")
#define KUNIT_EXPECT_PTR_NE(t, l, r)	KUNIT_EXPECT_PTR_NE_MSG(t, l, r, "")
#define KUNIT_EXPECT_NULL(t, p)		KUNIT_EXPECT_NULL_MSG(t, p, "")
#define KUNIT_EXPECT_NOT_NULL(t, p)	KUNIT_EXPECT_NOT_NULL_MSG(t, p, "")
#define KUNIT_ASSERT_PTR_EQ(t, l, r)	KUNIT_ASSERT_PTR_EQ_MSG(t, l, r, "")
#define KUNIT_ASSERT_PTR_NE(t, l, r)	KUNIT_ASSERT_PTR_NE_MSG(t, l, r, "")
#define KUNIT_ASSERT_NULL(t, p)		KUNIT_ASSERT_NULL_MSG(t, p, "")
#define KUNIT_ASSERT_NOT_NULL(t, p)	KUNIT_ASSERT_NOT_NULL_MSG(t, p, "")

#endif /* _HOSTED_KUNIT_TEST_H */
