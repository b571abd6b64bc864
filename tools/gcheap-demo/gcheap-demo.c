// SPDX-License-Identifier: GPL-2.0
/*
 * gcheap-demo: a small allocation workload on libgcheap, run by `make run`.
 *
 * Four threads each build a binary tree (nodes from gch_malloc, labels
 * from gch_strdup), check it, and free half of the trees explicitly; the
 * heap statistics are printed before and after.  Exit status 0 only if
 * every tree read back what was written.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gcheap.h"

#define THREADS	4
#define DEPTH	12

struct node {
	struct node *left, *right;
	char *label;
	long value;
};

static struct node *build(int depth, long value)
{
	struct node *n = gch_malloc(sizeof(*n));
	char buf[32];

	if (!n)
		return NULL;
	n->value = value;
	snprintf(buf, sizeof(buf), "node-%ld", value);
	n->label = gch_strdup(buf);
	if (!n->label)
		return NULL;
	if (depth > 0) {
		n->left = build(depth - 1, 2 * value);
		n->right = build(depth - 1, 2 * value + 1);
		if (!n->left || !n->right)
			return NULL;
	}
	return n;
}

/* Number of nodes whose contents are not what build() wrote. */
static long check(const struct node *n, long value)
{
	char buf[32];
	long bad;

	if (!n)
		return 0;
	snprintf(buf, sizeof(buf), "node-%ld", value);
	bad = n->value != value || strcmp(n->label, buf) != 0;
	return bad + check(n->left, 2 * value) + check(n->right, 2 * value + 1);
}

static void release(struct node *n)
{
	if (!n)
		return;
	release(n->left);
	release(n->right);
	gch_free(n->label);
	gch_free(n);
}

static struct node *trees[THREADS];

static void *worker(void *arg)
{
	long i = (long)arg;

	trees[i] = build(DEPTH, 1);
	return trees[i] ? NULL : (void *)1;
}

static void print_stats(const char *when)
{
	struct gch_heap_stats st;

	if (gch_stats(&st)) {
		perror("gcheap-demo: gch_stats");
		exit(1);
	}
	printf("%-22s mapped %7zu KiB, in use %7zu KiB, %6llu objects (%llu cached), %llu spans, %s caches\n",
	       when, st.mapped_bytes >> 10, st.inuse_bytes >> 10,
	       (unsigned long long)st.live_objects,
	       (unsigned long long)(st.cached_objects + st.thread_cached_objects),
	       (unsigned long long)st.spans_inuse,
	       st.percpu ? "per-CPU (rseq)" : "per-thread");
}

int main(void)
{
	pthread_t tids[THREADS];
	long i, nodes = (2L << DEPTH) - 1, bad = 0;
	void *ret;
	int failed = 0;

	print_stats("start:");
	for (i = 0; i < THREADS; i++)
		if (pthread_create(&tids[i], NULL, worker, (void *)i)) {
			perror("gcheap-demo: pthread_create");
			return 1;
		}
	for (i = 0; i < THREADS; i++) {
		pthread_join(tids[i], &ret);
		failed |= ret != NULL;
	}
	if (failed) {
		fprintf(stderr, "gcheap-demo: allocation failed: %s\n",
			strerror(errno));
		return 1;
	}
	for (i = 0; i < THREADS; i++)
		bad += check(trees[i], 1);
	printf("built %d trees of %ld nodes in %d threads: %ld bad nodes\n",
	       THREADS, nodes, THREADS, bad);
	print_stats("after building:");
	for (i = 0; i < THREADS / 2; i++) {
		release(trees[i]);
		trees[i] = NULL;
	}
	for (i = THREADS / 2; i < THREADS; i++)
		bad += check(trees[i], 1);
	print_stats("after freeing half:");
	if (bad) {
		fprintf(stderr, "gcheap-demo: %ld nodes corrupted\n", bad);
		return 1;
	}
	printf("gcheap-demo: OK\n");
	return 0;
}
