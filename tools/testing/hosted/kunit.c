// SPDX-License-Identifier: GPL-2.0
/*
 * Runner for the hosted KUnit subset: runs every registered suite and
 * prints KTAP version 1, the format KUnit itself prints, so one parser
 * reads both.  Exit status: 0 if every case passed, 1 otherwise.
 *
 * Usage: <test-binary> [suite-name-substring]
 */
#include <kunit/test.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SUITES 64

struct kunit_resource {
	struct kunit_resource *next;
	/* the allocation follows, 16-byte aligned like malloc's */
	_Alignas(16) unsigned char data[];
};

static struct kunit_suite *suites[MAX_SUITES];
static int nr_suites;

void hosted_kunit_register(struct kunit_suite *suite)
{
	if (nr_suites == MAX_SUITES) {
		fprintf(stderr, "hosted kunit: more than %d suites\n",
			MAX_SUITES);
		exit(2);
	}
	suites[nr_suites++] = suite;
}

void *kunit_kmalloc(struct kunit *test, size_t size, int gfp)
{
	struct kunit_resource *r = malloc(sizeof(*r) + size);

	(void)gfp;
	if (!r)
		return NULL;
	r->next = test->resources;
	test->resources = r;
	return r->data;
}

void *kunit_kzalloc(struct kunit *test, size_t size, int gfp)
{
	void *p = kunit_kmalloc(test, size, gfp);

	if (p)
		memset(p, 0, size);
	return p;
}

void kunit_kfree(struct kunit *test, const void *ptr)
{
	struct kunit_resource **pp, *r;

	for (pp = &test->resources; (r = *pp); pp = &r->next) {
		if (r->data == ptr) {
			*pp = r->next;
			free(r);
			return;
		}
	}
	hosted_kunit_fail(test, false, __FILE__, __LINE__,
			  "kunit_kfree of unknown pointer %p", ptr);
}

void hosted_kunit_fail(struct kunit *test, bool abort, const char *file,
		       int line, const char *fmt, ...)
{
	va_list ap;

	test->failed = true;
	test->skipped = false;
	printf("    # %s: %s:%d: ", test->name, file, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (abort)
		longjmp(test->abort, 1);
}

void hosted_kunit_skip(struct kunit *test, bool abort, const char *fmt, ...)
{
	va_list ap;

	test->skipped = true;
	test->failed = false;
	va_start(ap, fmt);
	vsnprintf(test->status_comment, sizeof(test->status_comment), fmt, ap);
	va_end(ap);
	if (abort)
		longjmp(test->abort, 1);
}

static void release_resources(struct kunit *test)
{
	struct kunit_resource *r;

	while ((r = test->resources)) {
		test->resources = r->next;
		free(r);
	}
}

enum case_status { CASE_PASS, CASE_FAIL, CASE_SKIP };

static enum case_status run_case(struct kunit_suite *suite,
				 struct kunit_case *c, int index)
{
	struct kunit test = { .name = c->name };
	enum case_status status;

	if (setjmp(test.abort) == 0) {
		if (suite->init && suite->init(&test))
			hosted_kunit_fail(&test, true, __FILE__, __LINE__,
					  "suite init failed");
		c->run_case(&test);
	}
	if (suite->exit)
		suite->exit(&test);
	release_resources(&test);
	status = test.failed ? CASE_FAIL : test.skipped ? CASE_SKIP : CASE_PASS;
	printf("    %sok %d %s", status == CASE_FAIL ? "not " : "", index,
	       c->name);
	if (status == CASE_SKIP)
		printf(" # SKIP %s", test.status_comment);
	printf("\n");
	fflush(stdout);
	return status;
}

static bool run_suite(struct kunit_suite *suite, int index)
{
	struct kunit_case *c;
	int n = 0, i = 0, passed = 0;
	bool ok = true;

	for (c = suite->test_cases; c->run_case; c++)
		n++;
	printf("    KTAP version 1\n    # Subtest: %s\n    1..%d\n",
	       suite->name, n);
	if (suite->suite_init && suite->suite_init(suite)) {
		printf("    # %s: suite_init failed\n", suite->name);
		ok = false;
	} else {
		for (c = suite->test_cases; c->run_case; c++) {
			enum case_status st = run_case(suite, c, ++i);

			ok &= st != CASE_FAIL;
			passed += st == CASE_PASS;
		}
		if (suite->suite_exit)
			suite->suite_exit(suite);
	}
	/* as KUnit: a suite whose every case was skipped is skipped */
	printf("%sok %d %s%s\n", ok ? "" : "not ", index, suite->name,
	       ok && !passed && n ? " # SKIP" : "");
	return ok;
}

int main(int argc, char **argv)
{
	const char *filter = argc > 1 ? argv[1] : NULL;
	int i, n = 0, index = 0;
	bool ok = true;

	for (i = 0; i < nr_suites; i++)
		if (!filter || strstr(suites[i]->name, filter))
			n++;
	if (n == 0) {
		fprintf(stderr, "hosted kunit: no suite matches '%s'\n",
			filter ? filter : "");
		return 1;
	}
	printf("KTAP version 1\n1..%d\n", n);
	for (i = 0; i < nr_suites; i++)
		if (!filter || strstr(suites[i]->name, filter))
			ok &= run_suite(suites[i], ++index);
	return ok ? 0 : 1;
}
