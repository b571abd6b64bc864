// SPDX-License-Identifier: GPL-2.0
/*
 * bench/bigheap: the pause of a full collection of a large live heap.
 *
 *   bigheap [-m MIB] [-o OBJSIZE] [-c COLLECTIONS] [-w W1,W2] [-j]
 *
 * With automatic collection off, builds MIB mebibytes of linked objects
 * of OBJSIZE bytes (default 1024): NLISTS lists (a hash table's chains,
 * say: one long list could only ever be marked by one worker at a time)
 * through word 0, and word 1 of each a pointer to a random recent
 * object, so that marking meets objects already marked as in a real
 * graph; the rest of each object is small numbers, which a conservative
 * collector scans and rejects.  Then
 * runs COLLECTIONS full collections (default 2), each of which finds the
 * whole heap live, and reports the pause of each.
 *
 * Workers: gcheap collects COLLECTIONS times with each count of the -w
 * list in turn (1,2: w1 w2 w1 w2 ...), set per heap (GCH_IOC_CONFIGURE:
 * how many of the module's pool threads mark), so one build serves every
 * count: the build is most of a run's time under emulation.  bdwgc's
 * marker count is fixed at its start (GC_MARKERS in the environment,
 * which the runner sets); -w then only names it.
 *
 * The list is checked at the end (length, and each object's index), so a
 * collector that frees live data fails the run (exit 1).
 *
 * Output: a line per worker count, or with -j one JSON object per worker
 * count: bench/lib/contender.h's fields for the collections with that
 * count (wall_s is their time), "heap_workers", and build_s, the build.
 */
#include <inttypes.h>
#include <stdint.h>
#include <string.h>
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

#define NLISTS		64

static struct obj *heads[NLISTS];	/* the roots: bss, scanned by all */

#define MAX_W		4
#define MAX_COLL	64

/* The collections with one worker count. */
struct per_workers {
	unsigned int workers;
	int n;
	uint64_t pause_ns[MAX_COLL];
	unsigned int nscanned;
	uint64_t scanned[BENCH_MAX_WORKERS];
};

static void print_workers(const struct per_workers *pw, long mib, long objsize,
			  long n, double build_s, long bad, int json)
{
	uint64_t total = 0, max = 0;
	unsigned int k;
	int i;

	for (i = 0; i < pw->n; i++) {
		total += pw->pause_ns[i];
		max = pw->pause_ns[i] > max ? pw->pause_ns[i] : max;
	}
	if (!json) {
		printf("bigheap %s: %ld MiB in %ld objects of %ld bytes, built in %.2f s; %u workers: %d collections, pause max %.1f ms, mean %.1f ms%s\n",
		       bench_backend, mib, n, objsize, build_s, pw->workers, pw->n,
		       max / 1e6, pw->n ? total / 1e6 / pw->n : 0,
		       bad ? "; FAILED" : "; verified");
		return;
	}
	printf("{\"benchmark\": \"bigheap\", \"backend\": \"%s\", \"heap_workers\": %u, ",
	       bench_backend, pw->workers);
	printf("\"wall_s\": %.6f, \"peak_rss_kib\": %ld, \"collections\": %d, ",
	       total / 1e9, bench_peak_rss_kib(), pw->n);
	printf("\"pause_total_ms\": %.3f, \"pause_max_ms\": %.3f, \"pause_mean_ms\": %.3f, ",
	       total / 1e6, max / 1e6, pw->n ? total / 1e6 / pw->n : 0);
	printf("\"worker_scanned_last\": [");
	for (k = 0; k < pw->nscanned; k++)
		printf("%s%" PRIu64, k ? ", " : "", pw->scanned[k]);
	printf("], \"pauses_ms\": [");
	for (i = 0; i < pw->n; i++)
		printf("%s%.3f", i ? ", " : "", pw->pause_ns[i] / 1e6);
	printf("], \"live_mib\": %ld, \"objsize\": %ld, \"objects\": %ld, \"build_s\": %.3f, \"bad\": %ld, \"ok\": %s}\n",
	       mib, objsize, n, build_s, bad, bad ? "false" : "true");
}

static void usage(void)
{
	fprintf(stderr, "usage: bigheap [-m MIB] [-o OBJSIZE] [-c COLLECTIONS] [-w W1,W2] [-j]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	long mib = 64, objsize = 1024, ncoll = 2, n, i, k, bad = 0;
	struct obj **recent, *o, *tails[NLISTS] = { NULL };
	uint64_t rng = 0x9e3779b97f4a7c15ULL;
	static struct per_workers pw[MAX_W];
	int opt, json = 0, nw = 0, w;
	struct bench_gc gc;
	double t0, build_s;
	char *tok;

	while ((opt = getopt(argc, argv, "m:o:c:w:j")) != -1) {
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
		case 'w':
			for (tok = strtok(optarg, ","); tok && nw < MAX_W;
			     tok = strtok(NULL, ","))
				pw[nw++].workers = atoi(tok);
			break;
		case 'j':
			json = 1;
			break;
		default:
			usage();
		}
	}
	if (!nw)
		pw[nw++].workers = 0;	/* the default: every pool thread */
	if (mib < 1 || objsize < (long)sizeof(struct obj) || objsize % 8 ||
	    ncoll < 1 || ncoll > MAX_COLL || optind != argc)
		usage();
	n = (mib << 20) / objsize;

	bench_init();
	bench_gc_enable(0);
	/* cross links go to one of the last 4096 objects: a window, not a
	 * random walk over the heap, so the build stays fast */
	recent = calloc(4096, sizeof(*recent));
	if (!recent)
		return 1;
	t0 = bench_now_s();
	for (i = 0; i < n; i++) {
		o = bench_xalloc(objsize, 0);
		o->index = i;
		for (k = 0; k < (objsize - (long)sizeof(*o)) / 8; k++)
			o->words[k] = k;
		o->cross = i ? recent[(bench_rand(&rng) >> 33) %
				      (i < 4096 ? i : 4096)] : NULL;
		recent[i % 4096] = o;
		if (tails[i % NLISTS])
			tails[i % NLISTS]->next = o;
		else
			heads[i % NLISTS] = o;
		tails[i % NLISTS] = o;
	}
	/* only the lists keep them: the window is not scanned by bdwgc */
	free(recent);
	memset(tails, 0, sizeof(tails));
	build_s = bench_now_s() - t0;
	bench_gc_enable(1);	/* bdwgc's GC_gcollect() does nothing while off */

	bench_start();
	for (i = 0; i < ncoll; i++) {
		for (w = 0; w < nw; w++) {
			if (nw > 1 && bench_set_workers(pw[w].workers)) {
				perror("bigheap: setting the workers");
				return 1;
			}
			bench_collect();
			bench_gc_summary(&gc);
			if (!gc.npauses)
				continue;	/* malloc */
			pw[w].pause_ns[pw[w].n++] = gc.pause_ns[gc.npauses - 1];
			pw[w].nscanned = gc.nworkers;
			memcpy(pw[w].scanned, gc.worker_scanned,
			       sizeof(pw[w].scanned));
		}
	}
	bench_stop();

	for (k = 0, i = 0; k < NLISTS; k++) {
		long j = k;

		for (o = heads[k]; o; o = o->next, j += NLISTS, i++)
			bad += o->index != (uint64_t)j;
	}
	bad += i != n;
	for (w = 0; w < nw; w++)
		print_workers(&pw[w], mib, objsize, n, build_s, bad, json);
	return bad ? 1 : 0;
}
