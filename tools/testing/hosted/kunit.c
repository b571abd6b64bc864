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
	printf("    # %s: %s:%d: ", test->name, file, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
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

static bool run_case(struct kunit_suite *suite, struct kunit_case *c)
{
	struct kunit test = { .name = c->name };

	if (setjmp(test.abort) == 0) {
		if (suite->init && suite->init(&test))
			hosted_kunit_fail(&test, true, __FILE__, __LINE__,
					  "suite init failed");
		c->run_case(&test);
	}
	if (suite->exit)
		suite->exit(&test);
	release_resources(&test);
	return !test.failed;
}

static bool run_suite(struct kunit_suite *suite, int index)
{
	struct kunit_case *c;
	int n = 0, i = 0;
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
			bool pass = run_case(suite, c);

			printf("    %sok %d %s\n", pass ? "" : "not ", ++i,
			       c->name);
			fflush(stdout);
			ok &= pass;
		}
		if (suite->suite_exit)
			suite->suite_exit(suite);
	}
	printf("%sok %d %s\n", ok ? "" : "not ", index, suite->name);
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
