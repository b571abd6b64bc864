// SPDX-License-Identifier: GPL-2.0
/*
 * gcbench: GCBench, the binary-trees garbage collector benchmark of John
 * Ellis, Pete Kovac and Hans Boehm, written afresh from its description,
 * and a correctness test of the collector underneath.
 *
 *   gcbench [-t THREADS] [-s SHIFT | -d MAXDEPTH] [-V] [-j]
 *
 * -t threads (below), -s N every depth N smaller and the array 2^N
 * times smaller (-d D: the same as -s 16-D, for quick runs), -V verify
 * every tree, -j JSON output.
 *
 * One source, three allocators, chosen when compiling and linking with
 * bench/lib/contender.c (-DBENCH_GCHEAP, the default, -DBENCH_BDWGC,
 * -DBENCH_MALLOC: glibc malloc, with every dropped tree freed).
 *
 * The benchmark: stretch the heap with a bottom-up tree of depth
 * STRETCH and drop it; build a long-lived top-down tree of depth
 * LONGLIVED and a pointer-free array of ARRAY doubles, both live to the
 * end; then for each depth d = MIN, MIN+2, ..., MAX build NumIters(d)
 * trees of depth d top down (Populate: a node gets its children before
 * they get theirs, so old objects point to young ones) and as many bottom
 * up (MakeTree: children first), dropping each at once.  NumIters(d) =
 * 2 * TreeSize(STRETCH) / TreeSize(d), so each depth allocates about as
 * much.  Standard sizes: 18, 16, 500000, 4, 16.  Nodes are {left, right,
 * i, j} (24 bytes).
 *
 * With -t N, N threads each run everything after the stretch: a
 * long-lived tree and array of their own and all depths (so the work, and
 * the live heap, grow with N; the wall time ideally stays the same).
 *
 * Unlike the original this program checks its data: every node records
 * its height (i) and the serial number of its tree (j).  The stretch tree,
 * the last tree of each depth and direction (every tree with -V) and,
 * after each depth, the long-lived tree (node count, heights, serials)
 * and the whole array (the first half 1.0/i, the second half -i) are
 * verified; any difference is reported and the exit status is 1.  So is
 * an allocation failure.
 *
 * Output: the per-depth times, then one summary line with wall time,
 * the collections and their pauses (gcheap: the module's history; bdwgc:
 * stop-the-world time from its collection events) and the peak RSS
 * (VmHWM).  -j prints one JSON object instead: bench/lib/contender.h's
 * fields (CPU time of the process and of the whole machine, each pause)
 * and the per-depth times.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../bench/lib/contender.h"

#define MAX_THREADS	64
#define MAX_DEPTH	20	/* largest MAX accepted (-d) */
#define MAX_SHIFT	12	/* -s: depths down to 4 */

struct node {
	struct node *left, *right;
	int i, j;
};

/* The parameters, after -s / -d. */
static int stretch_depth = 18;
static int long_lived_depth = 16;
static long array_size = 500000;
static int min_depth = 4;
static int max_depth = 16;
static int nthreads = 1;
static int json;
static int verify_all;

static const char *prog = "gcbench";

static long tree_size(int depth)
{
	return (2L << depth) - 1;
}

static long num_iters(int depth)
{
	return 2 * tree_size(stretch_depth) / tree_size(depth);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void __attribute__((noreturn)) alloc_failed(const char *what)
{
	fprintf(stderr, "%s: %s failed: %s\n", prog, what, strerror(errno));
	exit(1);
}

/* ---- the allocator (bench/lib/contender.c) --------------------------- */

static inline struct node *alloc_node(void)
{
	return bench_alloc(sizeof(struct node));
}

static inline double *alloc_doubles(long n)
{
	return bench_alloc_atomic(n * sizeof(double));
}

/* what a program without a collector does with a tree it drops */
static void drop_tree(struct node *n)
{
	if (!bench_frees || !n)
		return;
	drop_tree(n->left);
	drop_tree(n->right);
	bench_free(n);
}

/* ---- trees ------------------------------------------------------------ */

static struct node *new_node(struct node *l, struct node *r, int height,
			     int serial)
{
	struct node *n = alloc_node();

	if (!n)
		alloc_failed("node allocation");
	n->left = l;
	n->right = r;
	n->i = height;
	n->j = serial;
	return n;
}

/* Top down: give @n (of height @depth) its children, then theirs. */
static void populate(int depth, struct node *n, int serial)
{
	if (depth <= 0)
		return;
	depth--;
	n->left = new_node(NULL, NULL, depth, serial);
	n->right = new_node(NULL, NULL, depth, serial);
	populate(depth, n->left, serial);
	populate(depth, n->right, serial);
}

/* Bottom up: the subtrees first, then the node pointing to them. */
static struct node *make_tree(int depth, int serial)
{
	struct node *l, *r;

	if (depth <= 0)
		return new_node(NULL, NULL, 0, serial);
	l = make_tree(depth - 1, serial);
	r = make_tree(depth - 1, serial);
	return new_node(l, r, depth, serial);
}

/*
 * Walk a tree of height @height built with @serial; count its nodes in
 * *@count and return the number of nodes that are not as built (wrong
 * height or serial, a missing or unexpected child).  The recursion
 * follows @height, so even a corrupted tree cannot make it loop.
 */
static long check_tree(const struct node *n, int height, int serial,
		       long *count)
{
	long bad;

	++*count;
	bad = n->i != height || n->j != serial;
	if (height == 0)
		return bad + (n->left != NULL || n->right != NULL);
	if (!n->left || !n->right)
		return bad + 1;
	return bad + check_tree(n->left, height - 1, serial, count) +
	       check_tree(n->right, height - 1, serial, count);
}

/* ---- one thread's run -------------------------------------------------- */

struct depth_result {
	int depth;
	long iters;
	double top_down;	/* seconds */
	double bottom_up;
};

struct run {
	int id;
	int serial;		/* of the next tree */
	long bad;		/* corrupted nodes or array entries */
	struct depth_result depths[MAX_DEPTH];
	int ndepths;
};

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

static void report(struct run *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void report(struct run *r, const char *fmt, ...)
{
	va_list ap;

	if (json)
		return;
	pthread_mutex_lock(&out_lock);
	if (nthreads > 1)
		printf(" [thread %d]", r->id);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fflush(stdout);
	pthread_mutex_unlock(&out_lock);
}

static void complain(struct run *r, const char *what, long bad)
{
	pthread_mutex_lock(&out_lock);
	fprintf(stderr, "%s: thread %d: %s: %ld bad\n", prog, r->id, what, bad);
	pthread_mutex_unlock(&out_lock);
	r->bad += bad;
}

static void verify_tree(struct run *r, const struct node *t, int depth,
			int serial, const char *what)
{
	long count = 0, bad = check_tree(t, depth, serial, &count);

	if (count != tree_size(depth))
		bad += labs(count - tree_size(depth));
	if (bad)
		complain(r, what, bad);
}

static void fill_array(double *a)
{
	long i;

	a[0] = 0;
	for (i = 1; i < array_size / 2; i++)
		a[i] = 1.0 / i;
	for (; i < array_size; i++)
		a[i] = -(double)i;
}

static void verify_long_lived(struct run *r, const struct node *t,
			      int serial, const double *a, const char *when)
{
	char what[64];
	long i, bad = 0;

	snprintf(what, sizeof(what), "long-lived tree %s", when);
	verify_tree(r, t, long_lived_depth, serial, what);
	bad += a[0] != 0;
	for (i = 1; i < array_size / 2; i++)
		bad += a[i] != 1.0 / i;
	for (; i < array_size; i++)
		bad += a[i] != -(double)i;
	if (bad) {
		snprintf(what, sizeof(what), "long-lived array %s", when);
		complain(r, what, bad);
	}
}

static void time_construction(struct run *r, int depth)
{
	struct depth_result *d = &r->depths[r->ndepths++];
	long i, iters = num_iters(depth);
	struct node *t;
	double t0, t1, t2;
	int serial;

	d->depth = depth;
	d->iters = iters;
	t0 = now();
	for (i = 0; i < iters; i++) {
		serial = r->serial++;
		t = new_node(NULL, NULL, depth, serial);
		populate(depth, t, serial);
		if (verify_all || i == iters - 1)
			verify_tree(r, t, depth, serial, "top-down tree");
		drop_tree(t);
	}
	t1 = now();
	for (i = 0; i < iters; i++) {
		serial = r->serial++;
		t = make_tree(depth, serial);
		if (verify_all || i == iters - 1)
			verify_tree(r, t, depth, serial, "bottom-up tree");
		drop_tree(t);
	}
	t2 = now();
	d->top_down = t1 - t0;
	d->bottom_up = t2 - t1;
	report(r, " Creating %ld trees of depth %d: top-down %.0f ms, bottom-up %.0f ms\n",
	       iters, depth, d->top_down * 1e3, d->bottom_up * 1e3);
}

/* Everything after the stretch: the part each thread runs. */
static void run_body(struct run *r)
{
	struct node *long_lived;
	int ll_serial = r->serial++;
	double *array;
	char when[32];
	int depth;
	long idx;

	report(r, " Creating a long-lived binary tree of depth %d\n",
	       long_lived_depth);
	long_lived = new_node(NULL, NULL, long_lived_depth, ll_serial);
	populate(long_lived_depth, long_lived, ll_serial);

	report(r, " Creating a long-lived array of %ld doubles\n", array_size);
	array = alloc_doubles(array_size);
	if (!array)
		alloc_failed("array allocation");
	fill_array(array);

	for (depth = min_depth; depth <= max_depth; depth += 2) {
		time_construction(r, depth);
		bench_harvest();
		snprintf(when, sizeof(when), "after depth %d", depth);
		verify_long_lived(r, long_lived, ll_serial, array, when);
	}

	/* the original's final check, besides the full one above */
	idx = array_size / 2 > 1000 ? 1000 : array_size / 2 - 1;
	if (!long_lived->left || !long_lived->right || array[idx] != 1.0 / idx)
		complain(r, "final check", 1);
	drop_tree(long_lived);
	bench_free(array);
}

static void *thread_main(void *arg)
{
	struct run *r = arg;

	bench_thread_enter();
	run_body(r);
	bench_thread_leave();
	return NULL;
}

/* ---- results ------------------------------------------------------------ */

static double ms(uint64_t ns)
{
	return ns / 1e6;
}

static void print_json(struct run *runs, long bad)
{
	int k, t;

	bench_json(stdout, "gcbench");
	printf(", \"threads\": %d, \"stretch_depth\": %d, \"long_lived_depth\": %d, ",
	       nthreads, stretch_depth, long_lived_depth);
	printf("\"array_size\": %ld, \"min_depth\": %d, \"max_depth\": %d, ",
	       array_size, min_depth, max_depth);
	printf("\"depths\": [");
	for (k = 0; k < runs[0].ndepths; k++) {
		printf("%s{\"depth\": %d, \"iters\": %ld, \"top_down_s\": [",
		       k ? ", " : "", runs[0].depths[k].depth,
		       runs[0].depths[k].iters);
		for (t = 0; t < nthreads; t++)
			printf("%s%.6f", t ? ", " : "", runs[t].depths[k].top_down);
		printf("], \"bottom_up_s\": [");
		for (t = 0; t < nthreads; t++)
			printf("%s%.6f", t ? ", " : "", runs[t].depths[k].bottom_up);
		printf("]}");
	}
	printf("], \"bad\": %ld, \"ok\": %s}\n", bad, bad ? "false" : "true");
}

static void print_human(void)
{
	struct bench_gc s;

	bench_gc_summary(&s);
	printf("GCBench %s: %d thread%s, depth %d: %.2f s wall",
	       bench_backend, nthreads, nthreads > 1 ? "s" : "", max_depth,
	       bench_wall_s());
	if (s.has_gc)
		printf("; %" PRIu64 " collections, pause total %.1f ms, max %.1f ms, mean %.1f ms",
		       s.collections, ms(s.pause_total_ns),
		       ms(s.pause_max_ns),
		       s.npauses ? ms(s.pause_total_ns) / s.npauses : 0.0);
	else
		printf("; no collector (explicit free)");
	printf("; peak RSS %ld MiB\n", (bench_peak_rss_kib() + 512) / 1024);
	if (s.has_gc && s.collections)
		printf(" collections: mark total %.1f ms; %s total %.1f ms\n",
		       ms(s.mark_total_ns),
		       strcmp(bench_backend, "bdwgc") ? "sweep (in the pause)" :
							"reclaim (not the lazy sweep)",
		       ms(s.sweep_total_ns));
}

static void usage(void)
{
	fprintf(stderr,
		"usage: %s [-t THREADS] [-s SHIFT | -d MAXDEPTH] [-V] [-j]\n"
		"  -t N  N threads (1-%d), each with its own long-lived data\n"
		"  -s N  every depth N smaller, the array 2^N times smaller (0-%d)\n"
		"  -d D  largest tree depth D (4-%d): the same as -s 16-D\n"
		"  -V    verify every tree, not only the last of each depth\n"
		"  -j    one JSON object on stdout instead of the text\n"
		"allocator: %s (compiled in)\n",
		prog, MAX_THREADS, MAX_SHIFT, MAX_DEPTH, bench_backend);
	exit(2);
}

static int parse_int(const char *s, int lo, int hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		usage();
	return v;
}

int main(int argc, char **argv)
{
	static struct run runs[MAX_THREADS];
	pthread_t tids[MAX_THREADS];
	int opt, shift = 0, k, err;
	struct node *t;
	long bad = 0;

	if (argc > 0 && argv[0][0]) {
		prog = strrchr(argv[0], '/');
		prog = prog ? prog + 1 : argv[0];
	}
	while ((opt = getopt(argc, argv, "t:s:d:Vjh")) != -1) {
		switch (opt) {
		case 't':
			nthreads = parse_int(optarg, 1, MAX_THREADS);
			break;
		case 's':
			shift = parse_int(optarg, 0, MAX_SHIFT);
			break;
		case 'd':
			shift = 16 - parse_int(optarg, 4, MAX_DEPTH);
			break;
		case 'V':
			verify_all = 1;
			break;
		case 'j':
			json = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	stretch_depth -= shift;
	long_lived_depth -= shift;
	max_depth -= shift;
	if (min_depth > max_depth)
		min_depth = max_depth;
	array_size = shift >= 0 ? array_size >> shift : array_size << -shift;

	bench_init();
	for (k = 0; k < nthreads; k++)
		runs[k].id = k;

	if (!json) {
		printf("GCBench (%s): stretch depth %d, long-lived depth %d, array %ld doubles, depths %d..%d, %d thread%s\n",
		       bench_backend, stretch_depth, long_lived_depth, array_size,
		       min_depth, max_depth, nthreads, nthreads > 1 ? "s" : "");
		printf(" Live storage peaks at about %ld KiB per thread (%zu-byte nodes)\n",
		       (long)((tree_size(long_lived_depth) + tree_size(max_depth)) *
			      sizeof(struct node) + array_size * sizeof(double)) >> 10,
		       sizeof(struct node));
		printf(" Stretching memory with a binary tree of depth %d\n",
		       stretch_depth);
		fflush(stdout);
	}
	bench_start();

	/* serial numbers: thread k uses (k + 1) << 24 up */
	t = make_tree(stretch_depth, 0);
	verify_tree(&runs[0], t, stretch_depth, 0, "stretch tree");
	drop_tree(t);
	t = NULL;
	bench_harvest();

	for (k = 0; k < nthreads; k++)
		runs[k].serial = (k + 1) << 24;
	if (nthreads == 1) {
		run_body(&runs[0]);
	} else {
		for (k = 0; k < nthreads; k++) {
			err = pthread_create(&tids[k], NULL, thread_main, &runs[k]);
			if (err) {
				fprintf(stderr, "%s: pthread_create: %s\n", prog,
					strerror(err));
				return 1;
			}
		}
		for (k = 0; k < nthreads; k++)
			pthread_join(tids[k], NULL);
	}
	bench_stop();
	for (k = 0; k < nthreads; k++)
		bad += runs[k].bad;

	if (json) {
		print_json(runs, bad);
	} else {
		if (!bad)
			printf(" Verified: the long-lived tree (%ld nodes) and array (%ld doubles)%s\n",
			       tree_size(long_lived_depth), array_size,
			       nthreads > 1 ? " of every thread" : "");
		print_human();
	}
	if (bad) {
		fprintf(stderr, "%s: FAILED: %ld bad nodes or array entries (counted at every check)\n",
			prog, bad);
		return 1;
	}
	return 0;
}
