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
 * One source, three allocators, chosen when compiling:
 *
 *   -DGCB_BACKEND_GCHEAP  (default) gch_malloc / gch_malloc_atomic
 *   -DGCB_BACKEND_BDWGC   bdwgc's GC_MALLOC / GC_MALLOC_ATOMIC (libgc-dev)
 *   -DGCB_BACKEND_MALLOC  glibc malloc, with every dropped tree freed
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
 * Output: the per-depth times, then one summary line with wall and CPU
 * time (user + system of this process: gcheap's collector runs in kernel
 * threads, which are not counted here), the collections and their pauses
 * (gcheap: struct gch_collection; bdwgc: stop-the-world time measured
 * with GC_set_on_collection_event), and the peak RSS (VmHWM).  -j prints
 * one JSON object instead.
 */
#if defined(GCB_BACKEND_BDWGC) + defined(GCB_BACKEND_MALLOC) + \
	defined(GCB_BACKEND_GCHEAP) > 1
#error "gcbench: define at most one GCB_BACKEND_*"
#endif
#if !defined(GCB_BACKEND_BDWGC) && !defined(GCB_BACKEND_MALLOC)
#undef GCB_BACKEND_GCHEAP
#define GCB_BACKEND_GCHEAP
#endif

#ifdef GCB_BACKEND_BDWGC
/* threads register themselves: no pthread_create redirection */
#define GC_THREADS
#define GC_NO_THREAD_REDIRECTS
#include <gc.h>
#endif

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#ifdef GCB_BACKEND_GCHEAP
#include "gcheap.h"
#endif

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

/* ---- the allocators ------------------------------------------------- */

/*
 * Collection statistics as far as the allocator reports them: the
 * number, pauses and (gcheap) mark and sweep times of collections.
 */
struct gc_summary {
	int has_gc;			/* 0: explicit frees, nothing to report */
	uint64_t collections;
	uint64_t pause_total_ns;
	uint64_t pause_max_ns;
	uint64_t recorded;		/* collections with a record of their own */
	uint64_t recorded_pause_ns;	/* pauses of those */
	uint64_t mark_total_ns;
	uint64_t mark_max_ns;
	uint64_t sweep_total_ns;
	uint64_t heap_goal;
};

#if defined(GCB_BACKEND_GCHEAP)

static const char backend[] = "gcheap";

static void backend_init(void)
{
	struct gch_heap_stats st;

	/* set the heap up outside the timed part; fail early without it */
	if (gch_stats(&st)) {
		fprintf(stderr, "%s: gch_stats: %s\n", prog, strerror(errno));
		exit(1);
	}
}

static inline struct node *alloc_node(void)
{
	return gch_malloc(sizeof(struct node));
}

static inline double *alloc_doubles(long n)
{
	return gch_malloc_atomic(n * sizeof(double));
}

static void drop_tree(struct node *n)
{
	(void)n;
}

static void free_doubles(double *a)
{
	(void)a;
}

static void thread_enter(void)
{
}

static void thread_leave(void)
{
}

/*
 * The module keeps the records of the last 256 collections; harvest()
 * folds those not seen yet into the summary.  Called after each depth,
 * which with the standard sizes is far less than 256 collections.
 */
static pthread_mutex_t harvest_lock = PTHREAD_MUTEX_INITIALIZER;
static struct gch_collection history[256];
static uint64_t last_gc_seen;
static struct gc_summary summary;
static int harvest_errno;

static void harvest(void)
{
	int n, k;

	pthread_mutex_lock(&harvest_lock);
	n = gch_collections(history, sizeof(history) / sizeof(history[0]));
	if (n < 0 && !harvest_errno)
		harvest_errno = errno;
	for (k = 0; k < n; k++) {
		const struct gch_collection *c = &history[k];

		if (c->gc_number <= last_gc_seen)
			continue;
		last_gc_seen = c->gc_number;
		summary.recorded++;
		summary.recorded_pause_ns += c->pause_ns;
		if (c->pause_ns > summary.pause_max_ns)
			summary.pause_max_ns = c->pause_ns;
		summary.mark_total_ns += c->mark_ns;
		if (c->mark_ns > summary.mark_max_ns)
			summary.mark_max_ns = c->mark_ns;
		summary.sweep_total_ns += c->sweep_ns;
	}
	pthread_mutex_unlock(&harvest_lock);
}

static void gc_summary(struct gc_summary *s)
{
	struct gch_heap_stats st;

	harvest();
	if (harvest_errno)
		fprintf(stderr, "%s: gch_collections: %s\n", prog,
			strerror(harvest_errno));
	*s = summary;
	s->has_gc = 1;
	memset(&st, 0, sizeof(st));
	if (gch_stats(&st) == 0) {
		s->collections = st.num_gc;
		s->pause_total_ns = st.pause_total_ns;
		s->heap_goal = st.heap_goal;
	} else {
		fprintf(stderr, "%s: gch_stats: %s\n", prog, strerror(errno));
		s->collections = s->recorded;
		s->pause_total_ns = s->recorded_pause_ns;
	}
}

#elif defined(GCB_BACKEND_BDWGC)

static const char backend[] = "bdwgc";

/*
 * Pauses: from GC_EVENT_PRE_STOP_WORLD to GC_EVENT_POST_START_WORLD,
 * marking from GC_EVENT_MARK_START to GC_EVENT_MARK_END, the collection's
 * reclaim phase from GC_EVENT_RECLAIM_START to GC_EVENT_RECLAIM_END (bdwgc
 * sweeps lazily, during allocation, so this is not the sweeping).  The
 * callback runs with the allocator lock held.
 */
static struct gc_summary summary;
static double stop_t, mark_t, reclaim_t;
static GC_word gc_no_at_start;	/* GC_INIT() leaves GC_get_gc_no() at 1 */

static void on_gc_event(GC_EventType ev)
{
	double t = now();
	uint64_t ns;

	switch (ev) {
	case GC_EVENT_PRE_STOP_WORLD:
		stop_t = t;
		break;
	case GC_EVENT_POST_START_WORLD:
		if (stop_t == 0)
			break;
		ns = (uint64_t)((t - stop_t) * 1e9);
		stop_t = 0;
		summary.recorded++;
		summary.recorded_pause_ns += ns;
		if (ns > summary.pause_max_ns)
			summary.pause_max_ns = ns;
		break;
	case GC_EVENT_MARK_START:
		mark_t = t;
		break;
	case GC_EVENT_MARK_END:
		ns = (uint64_t)((t - mark_t) * 1e9);
		summary.mark_total_ns += ns;
		if (ns > summary.mark_max_ns)
			summary.mark_max_ns = ns;
		break;
	case GC_EVENT_RECLAIM_START:
		reclaim_t = t;
		break;
	case GC_EVENT_RECLAIM_END:
		summary.sweep_total_ns += (uint64_t)((t - reclaim_t) * 1e9);
		break;
	default:
		break;
	}
}

static void backend_init(void)
{
	GC_INIT();
	GC_allow_register_threads();
	GC_set_on_collection_event(on_gc_event);
	gc_no_at_start = GC_get_gc_no();
}

static inline struct node *alloc_node(void)
{
	return GC_MALLOC(sizeof(struct node));
}

static inline double *alloc_doubles(long n)
{
	return GC_MALLOC_ATOMIC(n * sizeof(double));
}

static void drop_tree(struct node *n)
{
	(void)n;
}

static void free_doubles(double *a)
{
	(void)a;
}

static void thread_enter(void)
{
	struct GC_stack_base sb;

	if (GC_get_stack_base(&sb) != GC_SUCCESS) {
		fprintf(stderr, "%s: GC_get_stack_base failed\n", prog);
		exit(1);
	}
	GC_register_my_thread(&sb);
}

static void thread_leave(void)
{
	GC_unregister_my_thread();
}

static void harvest(void)
{
}

static void gc_summary(struct gc_summary *s)
{
	GC_alloc_lock();
	*s = summary;
	s->collections = GC_get_gc_no() - gc_no_at_start;
	GC_alloc_unlock();
	s->has_gc = 1;
	s->pause_total_ns = s->recorded_pause_ns;
}

#else /* GCB_BACKEND_MALLOC */

static const char backend[] = "malloc";

static void backend_init(void)
{
}

static inline struct node *alloc_node(void)
{
	return malloc(sizeof(struct node));
}

static inline double *alloc_doubles(long n)
{
	return malloc(n * sizeof(double));
}

/* what a program without a collector does with a tree it drops */
static void drop_tree(struct node *n)
{
	if (!n)
		return;
	drop_tree(n->left);
	drop_tree(n->right);
	free(n);
}

static void free_doubles(double *a)
{
	free(a);
}

static void thread_enter(void)
{
}

static void thread_leave(void)
{
}

static void harvest(void)
{
}

static void gc_summary(struct gc_summary *s)
{
	memset(s, 0, sizeof(*s));
}

#endif

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
		harvest();
		snprintf(when, sizeof(when), "after depth %d", depth);
		verify_long_lived(r, long_lived, ll_serial, array, when);
	}

	/* the original's final check, besides the full one above */
	idx = array_size / 2 > 1000 ? 1000 : array_size / 2 - 1;
	if (!long_lived->left || !long_lived->right || array[idx] != 1.0 / idx)
		complain(r, "final check", 1);
	drop_tree(long_lived);
	free_doubles(array);
}

static void *thread_main(void *arg)
{
	struct run *r = arg;

	thread_enter();
	run_body(r);
	thread_leave();
	return NULL;
}

/* ---- results ------------------------------------------------------------ */

static long peak_rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kib = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

static double tv_sec(struct timeval tv)
{
	return tv.tv_sec + tv.tv_usec / 1e6;
}

static double ms(uint64_t ns)
{
	return ns / 1e6;
}

static void print_json(struct run *runs, double wall, double user,
		       double sys, long rss, const struct gc_summary *s,
		       long bad)
{
	int k, t;

	printf("{\"benchmark\": \"gcbench\", \"backend\": \"%s\", \"threads\": %d, ",
	       backend, nthreads);
	printf("\"stretch_depth\": %d, \"long_lived_depth\": %d, \"array_size\": %ld, ",
	       stretch_depth, long_lived_depth, array_size);
	printf("\"min_depth\": %d, \"max_depth\": %d, ", min_depth, max_depth);
	printf("\"wall_s\": %.6f, \"cpu_s\": %.6f, \"user_s\": %.6f, \"sys_s\": %.6f, ",
	       wall, user + sys, user, sys);
	printf("\"peak_rss_kib\": %ld, ", rss);
	if (s->has_gc) {
		printf("\"collections\": %" PRIu64 ", \"pause_total_ms\": %.3f, ",
		       s->collections, ms(s->pause_total_ns));
		printf("\"pause_max_ms\": %.3f, \"pause_mean_ms\": %.3f, ",
		       ms(s->pause_max_ns),
		       s->collections ? ms(s->pause_total_ns) / s->collections : 0.0);
		printf("\"pauses_recorded\": %" PRIu64 ", \"mark_total_ms\": %.3f, ",
		       s->recorded, ms(s->mark_total_ns));
		printf("\"mark_max_ms\": %.3f, \"sweep_total_ms\": %.3f, ",
		       ms(s->mark_max_ns), ms(s->sweep_total_ns));
		printf("\"heap_goal_bytes\": %" PRIu64 ", ", s->heap_goal);
	} else {
		printf("\"collections\": null, \"pause_total_ms\": null, ");
		printf("\"pause_max_ms\": null, \"pause_mean_ms\": null, ");
	}
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

static void print_human(double wall, double user, double sys, long rss,
			const struct gc_summary *s)
{
	printf("GCBench %s: %d thread%s, depth %d: %.2f s wall, %.2f s cpu",
	       backend, nthreads, nthreads > 1 ? "s" : "", max_depth, wall,
	       user + sys);
	if (s->has_gc)
		printf("; %" PRIu64 " collections, pause total %.1f ms, max %.1f ms, mean %.1f ms",
		       s->collections, ms(s->pause_total_ns),
		       ms(s->pause_max_ns),
		       s->collections ? ms(s->pause_total_ns) / s->collections : 0.0);
	else
		printf("; no collector (explicit free)");
	printf("; peak RSS %ld MiB\n", rss < 0 ? -1 : (rss + 512) / 1024);
	if (s->has_gc && s->collections) {
		printf(" collections: mark total %.1f ms, max %.1f ms; %s total %.1f ms",
		       ms(s->mark_total_ns), ms(s->mark_max_ns),
#ifdef GCB_BACKEND_BDWGC
		       "reclaim (not the lazy sweep)",
#else
		       "sweep",
#endif
		       ms(s->sweep_total_ns));
		if (s->recorded < s->collections)
			printf("; max over the last %" PRIu64 " only",
			       s->recorded);
		if (s->heap_goal)
			printf("; heap goal %" PRIu64 " MiB", s->heap_goal >> 20);
		printf("\n");
	}
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
		prog, MAX_THREADS, MAX_SHIFT, MAX_DEPTH, backend);
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
	struct gc_summary s;
	struct rusage ru;
	int opt, shift = 0, k, err;
	double t0, wall;
	struct node *t;
	long rss, bad = 0;

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

	backend_init();
	for (k = 0; k < nthreads; k++)
		runs[k].id = k;

	if (!json) {
		printf("GCBench (%s): stretch depth %d, long-lived depth %d, array %ld doubles, depths %d..%d, %d thread%s\n",
		       backend, stretch_depth, long_lived_depth, array_size,
		       min_depth, max_depth, nthreads, nthreads > 1 ? "s" : "");
		printf(" Live storage peaks at about %ld KiB per thread (%zu-byte nodes)\n",
		       (long)((tree_size(long_lived_depth) + tree_size(max_depth)) *
			      sizeof(struct node) + array_size * sizeof(double)) >> 10,
		       sizeof(struct node));
		printf(" Stretching memory with a binary tree of depth %d\n",
		       stretch_depth);
		fflush(stdout);
	}
	t0 = now();

	/* serial numbers: thread k uses (k + 1) << 24 up */
	t = make_tree(stretch_depth, 0);
	verify_tree(&runs[0], t, stretch_depth, 0, "stretch tree");
	drop_tree(t);
	t = NULL;
	harvest();

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
	wall = now() - t0;
	getrusage(RUSAGE_SELF, &ru);
	rss = peak_rss_kib();
	gc_summary(&s);
	for (k = 0; k < nthreads; k++)
		bad += runs[k].bad;

	if (json) {
		print_json(runs, wall, tv_sec(ru.ru_utime), tv_sec(ru.ru_stime),
			   rss, &s, bad);
	} else {
		if (!bad)
			printf(" Verified: the long-lived tree (%ld nodes) and array (%ld doubles)%s\n",
			       tree_size(long_lived_depth), array_size,
			       nthreads > 1 ? " of every thread" : "");
		print_human(wall, tv_sec(ru.ru_utime), tv_sec(ru.ru_stime),
			    rss, &s);
	}
	if (bad) {
		fprintf(stderr, "%s: FAILED: %ld bad nodes or array entries (counted at every check)\n",
			prog, bad);
		return 1;
	}
	return 0;
}
