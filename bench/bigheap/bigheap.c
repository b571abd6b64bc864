// SPDX-License-Identifier: GPL-2.0
/*
 * bench/bigheap: the pause of a full collection of a large live heap.
 *
 *   bigheap [-m MIB] [-o OBJSIZE] [-c COLLECTIONS] [-j]
 *
 * With automatic collection off, builds MIB mebibytes of linked objects
 * of OBJSIZE bytes (default 1024): a list through word 0, and word 1 of
 * each a pointer to a random earlier object, so that marking meets
 * objects already marked as in a real graph; the rest of each object is
 * small numbers, which a conservative collector scans and rejects.  Then
 * runs COLLECTIONS full collections (default 2), each of which finds the
 * whole heap live, and reports the pause of each.  Worker (marker)
 * counts are the runner's business: gcheap's module parameter workers,
 * bdwgc's GC_MARKERS.
 *
 * The list is checked at the end (length, and each object's index), so a
 * collector that frees live data fails the run (exit 1).
 *
 * Output: a line, or with -j one JSON object (bench/lib/contender.h)
 * whose timed part is the collections only; build_s is the build.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "contender.h"

struct obj {
	struct obj *next;
	struct obj *cross;	/* a random earlier object */
	uint64_t index;
	uint64_t words[];
};

static struct obj *head;	/* the root: in bss, scanned by both */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void usage(void)
{
	fprintf(stderr, "usage: bigheap [-m MIB] [-o OBJSIZE] [-c COLLECTIONS] [-j]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	long mib = 64, objsize = 1024, ncoll = 2, n, i, k, bad = 0;
	struct obj **recent, *o, *tail = NULL;
	uint64_t rng = 0x9e3779b97f4a7c15ULL;
	struct bench_gc gc;
	int opt, json = 0;
	double t0, build_s;

	while ((opt = getopt(argc, argv, "m:o:c:j")) != -1) {
		switch (opt) {
		case 'm':
			mib = atol(optarg);
			break;
		case 'o':
			objsize = atol(optarg);
			break;
		case 'c':
			ncoll = atol(optarg);
			break;
		case 'j':
			json = 1;
			break;
		default:
			usage();
		}
	}
	if (mib < 1 || objsize < (long)sizeof(struct obj) || objsize % 8 ||
	    ncoll < 1 || optind != argc)
		usage();
	n = (mib << 20) / objsize;

	bench_init();
	bench_gc_enable(0);
	/* cross links go to one of the last 4096 objects: a window, not a
	 * random walk over the heap, so the build stays fast */
	recent = calloc(4096, sizeof(*recent));
	if (!recent)
		return 1;
	t0 = now_s();
	for (i = 0; i < n; i++) {
		o = bench_xalloc(objsize, 0);
		o->index = i;
		for (k = 0; k < (objsize - (long)sizeof(*o)) / 8; k++)
			o->words[k] = k;
		rng ^= rng >> 12;
		rng ^= rng << 25;
		rng ^= rng >> 27;
		o->cross = i ? recent[(rng * 0x2545f4914f6cdd1dULL >> 33) %
				      (i < 4096 ? i : 4096)] : NULL;
		recent[i % 4096] = o;
		if (tail)
			tail->next = o;
		else
			head = o;
		tail = o;
	}
	/* only the list keeps them: the window is not scanned by bdwgc */
	free(recent);
	tail = NULL;
	build_s = now_s() - t0;
	bench_gc_enable(1);	/* bdwgc's GC_gcollect() does nothing while off */

	bench_start();
	for (i = 0; i < ncoll; i++)
		bench_collect();
	bench_stop();

	for (o = head, i = 0; o; o = o->next, i++)
		bad += o->index != (uint64_t)i;
	bad += i != n;
	if (json) {
		bench_json(stdout, "bigheap");
		printf(", \"live_mib\": %ld, \"objsize\": %ld, \"objects\": %ld, \"build_s\": %.3f, \"bad\": %ld, \"ok\": %s}\n",
		       mib, objsize, n, build_s, bad, bad ? "false" : "true");
	} else {
		bench_gc_summary(&gc);
		printf("bigheap %s: %ld MiB in %ld objects of %ld bytes, built in %.2f s",
		       bench_backend, mib, n, objsize, build_s);
		if (gc.has_gc)
			printf("; %" PRIu64 " collections, pause max %.1f ms, mean %.1f ms",
			       gc.collections, gc.pause_max_ns / 1e6,
			       gc.npauses ? gc.pause_total_ns / 1e6 / gc.npauses : 0);
		printf("%s\n", bad ? "; FAILED" : "; verified");
	}
	return bad ? 1 : 0;
}
