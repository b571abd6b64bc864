// SPDX-License-Identifier: GPL-2.0
/*
 * bench/core/markbench: the collector core's mark and sweep, natively on
 * the host (the hosted build of kmod/core: pthreads, C11 atomics), for
 * per-worker scaling without a VM in the way.
 *
 *   markbench [-n NODES] [-g GARBAGE] [-r REPS] [-w W1,W2,...] [-j]
 *
 * Builds a heap the way GCBench leaves it: a binary tree of NODES
 * 32-byte nodes {left, right, i, j} (the 24-byte GCBench node in its size
 * class), built top down so that parents and children are far apart in
 * the heap as in a real run, plus GARBAGE unreachable nodes between them,
 * and one pointer-free array.  Then, for each worker count (interleaved,
 * REPS rounds), one full collection: mark from the root (gch_mark_*) and
 * an eager sweep (gch_sweep_*), each timed.  The first collection frees
 * the garbage, so a warm-up collection runs first and every timed one
 * does the same work: mark every live node, sweep every span.
 *
 * Prints one line per run and the median per worker count; -j prints one
 * JSON object per run instead.  ns/object is mark time per marked object,
 * the number to compare with the kernel's (about 0.75 us under TCG).
 *
 * The embedder is the hosted tests' fake one (each span a calloc()ed
 * buffer): what is measured is the core alone, not page faults or the
 * kernel's worker wake-ups.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/bitmap.h"
#include "core/mark.h"
#include "core/tests/fake_backing.h"

#define MB_BASE		0x7f1200000000ULL	/* user address of offset 0 */
#define MB_MAX_WORKERS	16
#define MB_MAX_REPS	64

struct mb_node {
	u64 left, right;	/* user addresses, as a program holds them */
	u64 i, j;
};

static struct fake_heap fh;
static struct gch_sizeclass_table classes;
static struct gch_mark *mark;
static struct gch_sweep *sweep;
static u64 rng = 0x9e3779b97f4a7c15ULL;

static u64 mb_rand(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dULL;
}

static double mb_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct mb_node *mb_node(u64 off)
{
	struct gch_span *s = gch_heap_span_of(&fh.h, off);

	return (struct mb_node *)((u8 *)s->backing +
				  (off - ((u64)s->start << GCH_PAGE_SHIFT)));
}

static u64 mb_alloc(unsigned int sc)
{
	u64 off;

	if (gch_heap_alloc_small(&fh.h, GCH_SPANCLASS(sc, 0), &off, 1) != 1) {
		fprintf(stderr, "markbench: heap full\n");
		exit(1);
	}
	return off;
}

/*
 * A tree of @n nodes, breadth first (top down, like GCBench's Populate),
 * with about @garbage unreachable nodes spread between them (one after
 * every few parents): returns the root.
 */
static u64 mb_build(u64 n, u64 garbage)
{
	unsigned int sc = gch_size_to_class(&classes, sizeof(struct mb_node));
	u64 *q = malloc(n * sizeof(*q)), head = 0, tail = 0, every, k;
	u64 root;

	if (!q)
		exit(1);
	every = garbage ? (n / 2 + garbage - 1) / garbage : 0;
	root = q[tail++] = mb_alloc(sc);
	for (k = 1; tail < n; k++) {
		u64 parent = q[head++];
		u64 l = mb_alloc(sc), r = 0;

		if (tail + 1 < n)
			r = mb_alloc(sc);
		mb_node(parent)->left = MB_BASE + l;
		mb_node(parent)->right = r ? MB_BASE + r : 0;
		q[tail++] = l;
		if (r)
			q[tail++] = r;
		if (every && k % every == 0)
			mb_node(mb_alloc(sc))->i = mb_rand();
	}
	free(q);
	return root;
}

static void mb_mark_fn(void *arg, unsigned int i)
{
	gch_mark_work(arg, i);
}

static void mb_sweep_fn(void *arg, unsigned int i)
{
	gch_sweep_work(arg, i);
}

struct mb_result {
	unsigned int workers;
	double mark_s, sweep_s;
	u64 marked, freed;
	u64 scanned[MB_MAX_WORKERS];
};

static void mb_collect(const u64 *roots, unsigned int nroots,
		       unsigned int workers, struct mb_result *r)
{
	struct gch_root root = { .kind = GCH_ROOT_WORDS, .words = roots,
				 .n = nroots };
	struct gch_mark_stats ms;
	struct gch_sweep_stats ss;
	double t0, t1, t2;
	unsigned int i;

	t0 = mb_now();
	if (gch_mark_begin(mark, MB_BASE, &root, 1, workers) ||
	    gch_run_workers(workers, mb_mark_fn, mark)) {
		fprintf(stderr, "markbench: mark failed\n");
		exit(1);
	}
	gch_mark_end(mark, &ms);
	t1 = mb_now();
	if (gch_sweep_begin(sweep, workers) ||
	    gch_run_workers(workers, mb_sweep_fn, sweep)) {
		fprintf(stderr, "markbench: sweep failed\n");
		exit(1);
	}
	gch_sweep_end(sweep, &ss);
	t2 = mb_now();
	r->workers = workers;
	r->mark_s = t1 - t0;
	r->sweep_s = t2 - t1;
	r->marked = ms.objects_marked;
	r->freed = ss.objects_freed;
	for (i = 0; i < workers && i < MB_MAX_WORKERS; i++)
		r->scanned[i] = gch_mark_worker_stats(mark, i)->objects_scanned;
}

static int mb_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double mb_median(double *v, int n)
{
	qsort(v, n, sizeof(*v), mb_cmp);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void usage(void)
{
	fprintf(stderr, "usage: markbench [-n NODES] [-g GARBAGE] [-r REPS] [-w W1,W2,...] [-j]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	unsigned int wl[MB_MAX_WORKERS], nw = 0, maxw = 1, i;
	u64 nodes = 1 << 20, garbage = 1 << 18, roots[2];
	static double mk[MB_MAX_WORKERS][MB_MAX_REPS];
	static double sw[MB_MAX_WORKERS][MB_MAX_REPS];
	int reps = 5, json = 0, opt, rep;
	u64 array_off, arena_pages;
	struct mb_result r;
	char *s;

	while ((opt = getopt(argc, argv, "n:g:r:w:j")) != -1) {
		switch (opt) {
		case 'n':
			nodes = strtoull(optarg, NULL, 0);
			break;
		case 'g':
			garbage = strtoull(optarg, NULL, 0);
			break;
		case 'r':
			reps = atoi(optarg);
			break;
		case 'w':
			for (s = strtok(optarg, ","); s && nw < MB_MAX_WORKERS;
			     s = strtok(NULL, ","))
				wl[nw++] = atoi(s);
			break;
		case 'j':
			json = 1;
			break;
		default:
			usage();
		}
	}
	if (!nw) {
		wl[nw++] = 1;
		wl[nw++] = 2;
	}
	for (i = 0; i < nw; i++) {
		if (wl[i] < 1 || wl[i] > MB_MAX_WORKERS)
			usage();
		maxw = wl[i] > maxw ? wl[i] : maxw;
	}
	if (nodes < 1 || reps < 1 || reps > MB_MAX_REPS)
		usage();

	/* room for the nodes, the garbage, the array and slack */
	arena_pages = ((nodes + garbage) * 32 * 2 + (64 << 20)) >> GCH_PAGE_SHIFT;
	if (gch_sizeclass_init(&classes) ||
	    gch_heap_init(&fh.h, &classes, arena_pages, &fake_backing_ops)) {
		fprintf(stderr, "markbench: heap init failed\n");
		return 1;
	}
	mark = gch_mark_create(&fh.h, maxw);
	sweep = gch_sweep_create(&fh.h, maxw);
	if (!mark || !sweep)
		return 1;
	roots[0] = MB_BASE + mb_build(nodes, garbage);
	/* a pointer-free array, as GCBench's: marked, never scanned */
	if (gch_heap_alloc_large(&fh.h, 4 << 20, true, &array_off))
		return 1;
	roots[1] = MB_BASE + array_off;

	mb_collect(roots, 2, maxw, &r);		/* frees the garbage */
	if (!json)
		printf("markbench: %llu live nodes, %llu garbage freed in the warm-up; workers mark_ms sweep_ms ns/object scanned-per-worker\n",
		       (unsigned long long)r.marked,
		       (unsigned long long)r.freed);
	for (rep = 0; rep < reps; rep++) {
		for (i = 0; i < nw; i++) {
			unsigned int k;

			mb_collect(roots, 2, wl[i], &r);
			mk[i][rep] = r.mark_s;
			sw[i][rep] = r.sweep_s;
			if (r.marked != nodes + 1 || r.freed) {
				fprintf(stderr, "markbench: marked %llu (want %llu), freed %llu (want 0)\n",
					(unsigned long long)r.marked,
					(unsigned long long)nodes + 1,
					(unsigned long long)r.freed);
				return 1;
			}
			if (json) {
				printf("{\"benchmark\": \"markbench\", \"workers\": %u, \"rep\": %d, \"live_objects\": %llu, \"mark_ms\": %.3f, \"sweep_ms\": %.3f, \"mark_ns_per_object\": %.2f, \"scanned_per_worker\": [",
				       wl[i], rep, (unsigned long long)r.marked,
				       r.mark_s * 1e3, r.sweep_s * 1e3,
				       r.mark_s * 1e9 / r.marked);
				for (k = 0; k < wl[i]; k++)
					printf("%s%llu", k ? ", " : "",
					       (unsigned long long)r.scanned[k]);
				printf("]}\n");
			} else {
				printf("  %2u %9.2f %9.2f %8.1f ", wl[i],
				       r.mark_s * 1e3, r.sweep_s * 1e3,
				       r.mark_s * 1e9 / r.marked);
				for (k = 0; k < wl[i]; k++)
					printf(" %llu", (unsigned long long)r.scanned[k]);
				printf("\n");
			}
			fflush(stdout);
		}
	}
	if (!json) {
		double m1 = 0;

		printf("median of %d: workers mark_ms sweep_ms ns/object mark-speedup\n", reps);
		for (i = 0; i < nw; i++) {
			double m = mb_median(mk[i], reps), s2 = mb_median(sw[i], reps);

			if (!m1)
				m1 = m;
			printf("  %2u %9.2f %9.2f %8.1f %6.2fx\n", wl[i], m * 1e3,
			       s2 * 1e3, m * 1e9 / (nodes + 1), m1 / m);
		}
	}
	gch_sweep_destroy(sweep);
	gch_mark_destroy(mark);
	gch_heap_destroy(&fh.h);
	return 0;
}
