// SPDX-License-Identifier: GPL-2.0
/*
 * bench/pause: how long the program is held up by the collector, as the
 * program itself sees it, against the size of the live heap (issue 18).
 *
 *   pause [-m MIB] [-o OBJSIZE] [-a MIB] [-t THREADS] [-k EVERY]
 *         [-r OPS] [-j]
 *
 * Build: with automatic collection on (the collector's normal pacing,
 * nothing turned off), MIB mebibytes (default 64) of linked objects of
 * OBJSIZE bytes (default 256): chains of 16 objects on average, the
 * chain heads in one array allocated from the collected heap (a static
 * points to it), every object also pointing to two others (cross links:
 * a recent one and one of an earlier chain); the rest of each object is
 * small numbers that a conservative collector scans and rejects.  Only
 * the first object of a chain is in the array: the others are reachable
 * through the chain alone.
 *
 * Steady phase: THREADS mutator threads (default 1) allocate, together,
 * -a MIB mebibytes (default 4 x the live heap) of short-lived objects of
 * 64 to 256 bytes (each links to the one before it, in a ring of the
 * last 1024 per thread: a short list, cut where an object leaves the
 * ring, after which it is garbage), and
 * every EVERY allocations (default 64) take a checkpoint: the time
 * (CLOCK_MONOTONIC), and OPS (default 1) mutations of the live graph,
 * in turn: two chains of the thread's own exchange their tails (the
 * next pointers of two old objects swap: objects move from one chain to
 * another, reachable only through the new path), an old object's cross
 * link is pointed at another old object, and an old object is replaced
 * by a fresh copy (the old one becomes garbage unless a cross link
 * keeps it).  The gap between consecutive checkpoints is what the
 * program experienced: the work itself plus every stop, every increment
 * of collector work done in the allocating thread, every fault a write
 * barrier takes, and whatever else held the thread up (on a loaded
 * host also the host's scheduling).  Reported: the largest gap, p99,
 * p99.9, median and mean, and how many exceeded 1, 10 and 100 ms; the
 * 8 longest ("gaps_top") and every one over 50 ms ("gaps_long"), each
 * as [start s, length ms, the thread's CPU time in it ms]: a gap the
 * thread spent running was work done in it (marking, sweeping, faults),
 * one without CPU time a stop or a wait (or the host's scheduling).
 *
 * The collector's own account of the same phase is reported beside it
 * (bench/lib/contender.h's fields: pause per collection, collections,
 * wall and CPU time, the machine's busy time); for gcheap also each
 * collection's phases when libgcheap has them (GCH_COLLECTION_HAS_PHASES:
 * first and final stop, marking beside the program, heap pages scanned
 * again at the final stop), for bdwgc whether it ran incrementally
 * (GC_ENABLE_INCREMENTAL=1 in the environment: bdwgc's GC_init() reads
 * it) and GC_get_full_gc_total_time(); for both "gc_at_s": each
 * collection as [start s, final stop s (0: none), pause ms] on the gaps'
 * clock, so that a long gap can be matched to a stop or found to
 * match none.  The main thread only sleeps and
 * reads the collector's history every 100 ms; it is not measured.
 *
 * At the end every chain is walked and every object checked (each index
 * exactly once, its numbers intact, its cross links to intact objects),
 * and every young object is checked when it leaves its ring: a collector
 * that lost anything fails the run (exit 1).
 *
 * malloc: no collector, no pauses to measure: the malloc build prints a
 * JSON object saying so ("applies": false) and exits 0.
 *
 * Output: one line, or with -j one JSON object (bench/lib/contender.h's
 * fields, then this workload's).
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "contender.h"

#ifdef BENCH_GCHEAP
#include "gcheap.h"
#endif
#ifdef BENCH_BDWGC
#define GC_THREADS
#define GC_NO_THREAD_REDIRECTS
#include <gc.h>
#endif

#define MAX_THREADS	16
#define CHAIN		16	/* objects per chain at the build */
#define RING		1024	/* young objects a thread keeps alive */
#define WALK_MAX	(2 * CHAIN)	/* positions a mutation looks at */
#define TOP		8	/* the longest gaps listed, with when */
#define LONG_NS		50000000	/* ... and every gap over 50 ms */
#define MAX_LONG	256

/* A gap: how long, when it ended, the thread's CPU time in it. */
struct gap {
	uint64_t ns, end, cpu;
};

struct obj {
	struct obj *next;	/* the chain */
	struct obj *cross[2];	/* [0]: a recent object, [1]: any */
	uint64_t index;
	uint64_t words[];	/* fill(index, k) */
};

struct young {
	struct young *link;	/* the one allocated before */
	uint64_t tag;		/* its thread's allocation count */
	uint64_t words[];
};

static inline uint64_t fill(uint64_t index, long k)
{
	return (index * 31 + k) & 0xffffffff;	/* small: never a pointer */
}

/* the roots: this static and each thread's struct below (bss) */
static struct obj **chains;
static long nchains, nobjs, nwords;
static long objsize = 256, every = 64, ops = 1, nthreads = 1;
static uint64_t alloc_bytes;

struct thread {
	int id;
	pthread_t tid;
	uint64_t rng;
	struct young **ring;	/* from the collected heap */
	uint64_t allocs;
	uint64_t mutations;
	uint64_t *gaps;		/* ns between checkpoints (malloc) */
	size_t ngaps, cap;
	struct gap top[TOP];	/* the longest gaps, longest first */
	struct gap longs[MAX_LONG];	/* the gaps over LONG_NS */
	unsigned int nlong;
	long bad;
};

static struct thread threads[MAX_THREADS];
static pthread_barrier_t go;
static uint64_t t_start;	/* the steady phase, CLOCK_MONOTONIC ns */
static int done;		/* threads finished (atomic) */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void init_obj(struct obj *o, uint64_t index)
{
	long k;

	o->index = index;
	for (k = 0; k < nwords; k++)
		o->words[k] = fill(index, k);
}

/* Is @o an intact live object? */
static int obj_ok(const struct obj *o)
{
	long k;

	if (!o || o->index >= (uint64_t)nobjs)
		return 0;
	for (k = 0; k < nwords; k++)
		if (o->words[k] != fill(o->index, k))
			return 0;
	return 1;
}

/* A chain of thread @t's own (chains t, t + nthreads, ...). */
static long my_chain(struct thread *t)
{
	long per = (nchains - t->id + nthreads - 1) / nthreads;

	return (long)(bench_rand(&t->rng) % per) * nthreads + t->id;
}

/*
 * The object at a random position (< WALK_MAX) of chain @c, or its last
 * if shorter; *@prev the one before it (NULL: the head).
 */
static struct obj *pick(struct thread *t, long c, struct obj **prev)
{
	long p = bench_rand(&t->rng) % WALK_MAX;
	struct obj *o = chains[c];

	*prev = NULL;
	while (p-- > 0 && o->next) {
		*prev = o;
		o = o->next;
	}
	return o;
}

static void mutate(struct thread *t)
{
	struct obj *a, *b, *pa, *pb, *n, *tmp;
	long ca, cb;

	switch (t->mutations++ % 3) {
	case 0:		/* two chains exchange tails */
		ca = my_chain(t);
		cb = my_chain(t);
		if (ca == cb)
			break;
		a = pick(t, ca, &pa);
		b = pick(t, cb, &pb);
		tmp = a->next;
		a->next = b->next;
		b->next = tmp;
		break;
	case 1:		/* a cross link moves to another old object */
		a = pick(t, my_chain(t), &pa);
		b = pick(t, my_chain(t), &pb);
		a->cross[1] = b;
		break;
	case 2:		/* an old object is replaced by a copy */
		ca = my_chain(t);
		a = pick(t, ca, &pa);
		n = bench_xalloc(objsize, 0);
		init_obj(n, a->index);
		n->cross[0] = a->cross[0];
		n->cross[1] = a->cross[1];
		n->next = a->next;
		if (pa)
			pa->next = n;
		else
			chains[ca] = n;
		break;
	}
}

/* Keep @g if it is among the TOP longest of @top, longest first. */
static void add_top(struct gap *top, const struct gap *g)
{
	int i;

	if (g->ns <= top[TOP - 1].ns)
		return;
	for (i = TOP - 1; i > 0 && top[i - 1].ns < g->ns; i--)
		top[i] = top[i - 1];
	top[i] = *g;
}

/* CPU time of this thread (user and system), ns. */
static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void record_gap(struct thread *t, uint64_t gap, uint64_t now,
		       uint64_t cpu)
{
	struct gap g = { gap, now - t_start, cpu };

	if (t->ngaps == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 65536;
		t->gaps = realloc(t->gaps, t->cap * sizeof(*t->gaps));
		if (!t->gaps) {
			perror("pause: gaps");
			exit(1);
		}
	}
	t->gaps[t->ngaps++] = gap;
	add_top(t->top, &g);
	if (gap > LONG_NS && t->nlong < MAX_LONG)
		t->longs[t->nlong++] = g;
}

static void *mutator(void *arg)
{
	struct thread *t = arg;
	uint64_t budget = alloc_bytes / nthreads, used = 0, last, now, cpu,
		 last_cpu;
	struct young *y, *old, *nx;
	size_t size;
	long i, slot;

	bench_thread_enter();
	t->ring = bench_xalloc(RING * sizeof(*t->ring), 0);
	pthread_barrier_wait(&go);	/* ready */
	pthread_barrier_wait(&go);	/* the clock runs */
	last = now_ns();
	last_cpu = thread_cpu_ns();
	while (used < budget) {
		for (i = 0; i < every; i++) {
			size = 64 + (bench_rand(&t->rng) % 13) * 16;	/* 64..256 */
			y = bench_xalloc(size, 0);
			slot = t->allocs % RING;
			old = t->ring[slot];
			if (old && old->tag != t->allocs - RING) {
				fprintf(stderr, "pause: thread %d: young object %" PRIu64 " has tag %" PRIu64 "\n",
					t->id, t->allocs - RING, old->tag);
				t->bad++;
			}
			/* the next oldest lets go of it: garbage now */
			nx = t->ring[(slot + 1) % RING];
			if (old && nx)
				nx->link = NULL;
			y->link = t->ring[(t->allocs + RING - 1) % RING];
			y->tag = t->allocs;
			y->words[0] = t->allocs & 0xffff;
			t->ring[slot] = y;
			t->allocs++;
			used += size;
		}
		for (i = 0; i < ops; i++)
			mutate(t);
		now = now_ns();
		cpu = thread_cpu_ns();
		record_gap(t, now - last, now, cpu - last_cpu);
		last = now;
		last_cpu = cpu;
	}
	__atomic_add_fetch(&done, 1, __ATOMIC_SEQ_CST);
	bench_thread_leave();
	return NULL;
}

/* Every chain walked, every object checked; the number found wrong. */
static long verify(void)
{
	uint8_t *seen = calloc((nobjs + 7) / 8, 1);
	long c, found = 0, bad = 0, bad_cross = 0;
	struct obj *o;
	int k;

	if (!seen) {
		perror("pause: verify");
		exit(1);
	}
	for (c = 0; c < nchains; c++)
		for (o = chains[c]; o; o = o->next) {
			if (!obj_ok(o)) {
				bad++;
				break;	/* its next cannot be trusted */
			}
			if (seen[o->index / 8] & (1 << (o->index % 8))) {
				bad++;
				break;	/* a cycle, or a copy twice */
			}
			seen[o->index / 8] |= 1 << (o->index % 8);
			found++;
			for (k = 0; k < 2; k++)
				if (o->cross[k] && !obj_ok(o->cross[k]))
					bad_cross++;
		}
	free(seen);
	if (found != nobjs || bad || bad_cross)
		fprintf(stderr, "pause: %ld of %ld objects found, %ld bad, %ld bad cross links\n",
			found, nobjs, bad, bad_cross);
	return bad + bad_cross + (found != nobjs);
}

/* --- the collector's account (gcheap: the phases of each collection) --- */

#if defined(BENCH_GCHEAP) && defined(GCH_COLLECTION_HAS_PHASES)
#define HAVE_PHASES 1
#define MAX_PHASES 4096
static struct {
	unsigned int n, concurrent, background;
	uint64_t last_seen;
	uint64_t initial_ns[MAX_PHASES], final_ns[MAX_PHASES];
	uint64_t concurrent_ns[MAX_PHASES], dirty[MAX_PHASES];
	uint64_t start_ns[MAX_PHASES], final_start_ns[MAX_PHASES];
	uint64_t pause_ns[MAX_PHASES];
	unsigned int precleans[MAX_PHASES];
} ph;

/* The collections not seen yet; @skip: only note where they end. */
static void harvest_phases(int skip)
{
	static struct gch_collection buf[256];
	int n, i;

	n = gch_collections(buf, 256);
	for (i = 0; i < n; i++) {
		const struct gch_collection *c = &buf[i];

		if (c->gc_number <= ph.last_seen)
			continue;
		ph.last_seen = c->gc_number;
		if (skip || ph.n >= MAX_PHASES)
			continue;
		ph.concurrent += !!(c->phases & GCH_PHASES_CONCURRENT);
		ph.background += !!(c->phases & GCH_PHASES_BACKGROUND);
		ph.initial_ns[ph.n] = c->initial_ns;
		ph.final_ns[ph.n] = c->final_ns;
		ph.concurrent_ns[ph.n] = c->concurrent_ns;
		ph.dirty[ph.n] = c->dirty_pages;
		ph.start_ns[ph.n] = c->start_ns;
		ph.final_start_ns[ph.n] = c->final_start_ns;
		ph.pause_ns[ph.n] = c->pause_ns;
		ph.precleans[ph.n] = c->precleans;
		ph.n++;
	}
}

static void print_phases(void)
{
	uint64_t imax = 0, fmax = 0, fsum = 0, csum = 0, cmax = 0, dmax = 0;
	unsigned int i, pmax = 0;

	for (i = 0; i < ph.n; i++) {
		imax = ph.initial_ns[i] > imax ? ph.initial_ns[i] : imax;
		fmax = ph.final_ns[i] > fmax ? ph.final_ns[i] : fmax;
		cmax = ph.concurrent_ns[i] > cmax ? ph.concurrent_ns[i] : cmax;
		dmax = ph.dirty[i] > dmax ? ph.dirty[i] : dmax;
		pmax = ph.precleans[i] > pmax ? ph.precleans[i] : pmax;
		fsum += ph.final_ns[i];
		csum += ph.concurrent_ns[i];
	}
	printf(", \"concurrent_collections\": %u, \"background_collections\": %u",
	       ph.concurrent, ph.background);
	printf(", \"initial_max_ms\": %.3f, \"final_max_ms\": %.3f, \"final_mean_ms\": %.3f",
	       imax / 1e6, fmax / 1e6, ph.n ? fsum / 1e6 / ph.n : 0.0);
	printf(", \"concurrent_total_ms\": %.3f, \"concurrent_max_ms\": %.3f",
	       csum / 1e6, cmax / 1e6);
	printf(", \"dirty_pages_max\": %" PRIu64 ", \"precleans_max\": %u", dmax, pmax);
	printf(", \"initials_ms\": [");
	for (i = 0; i < ph.n; i++)
		printf("%s%.3f", i ? ", " : "", ph.initial_ns[i] / 1e6);
	printf("], \"finals_ms\": [");
	for (i = 0; i < ph.n; i++)
		printf("%s%.3f", i ? ", " : "", ph.final_ns[i] / 1e6);
	printf("], \"dirty_pages\": [");
	for (i = 0; i < ph.n; i++)
		printf("%s%" PRIu64, i ? ", " : "", ph.dirty[i]);
	/* when each started and (concurrent) stopped finally, seconds
	 * from the steady phase's start (the gaps' clock): a long gap
	 * lines up with a stop, or not */
	printf("], \"gc_at_s\": [");
	for (i = 0; i < ph.n; i++)
		printf("%s[%.3f, %.3f, %.3f]", i ? ", " : "",
		       ((int64_t)(ph.start_ns[i] - t_start)) / 1e9,
		       ph.final_start_ns[i] ?
		       ((int64_t)(ph.final_start_ns[i] - t_start)) / 1e9 : 0.0,
		       ph.pause_ns[i] / 1e6);
	printf("]");
}
#else
static void harvest_phases(int skip)
{
	(void)skip;
}
#endif

#ifdef BENCH_BDWGC
/*
 * When each of bdwgc's stops began in the steady phase: its collection
 * events, in front of bench/lib/contender.c's (which times the pauses
 * the same way, stop to restart).  Called with the allocation lock held.
 */
#define MAX_STOPS 4096
static GC_on_collection_event_proc contender_event;
static uint64_t stop_t;
static struct {
	unsigned int n;
	uint64_t start[MAX_STOPS], ns[MAX_STOPS];
} stops;

static void GC_CALLBACK on_event(GC_EventType ev)
{
	uint64_t t = now_ns();

	if (ev == GC_EVENT_PRE_STOP_WORLD) {
		stop_t = t;
	} else if (ev == GC_EVENT_POST_START_WORLD && stop_t) {
		if (t_start && stop_t >= t_start && stops.n < MAX_STOPS) {
			stops.start[stops.n] = stop_t;
			stops.ns[stops.n++] = t - stop_t;
		}
		stop_t = 0;
	}
	if (contender_event)
		contender_event(ev);
}
#endif

static void collector_fields(void)
{
#ifdef HAVE_PHASES
	print_phases();
#endif
#ifdef BENCH_BDWGC
	unsigned int i;

	printf(", \"incremental\": %s, \"full_gc_total_ms\": %lu",
	       GC_is_incremental_mode() ? "true" : "false",
	       GC_get_full_gc_total_time());
	/* as gcheap's: [start, 0 (no final stop), pause ms] */
	printf(", \"gc_at_s\": [");
	for (i = 0; i < stops.n; i++)
		printf("%s[%.3f, 0.0, %.3f]", i ? ", " : "",
		       (stops.start[i] - t_start) / 1e9, stops.ns[i] / 1e6);
	printf("]");
#endif
#ifdef BENCH_GCHEAP
	{
		const char *e = getenv("GCHEAP_CONCURRENT");

		printf(", \"concurrent_env\": \"%s\"", e && strlen(e) < 8 ? e : "");
	}
#endif
}

/* [when it began (s from the start), how long (ms), CPU time in it (ms)] */
static void print_gap(const struct gap *g, int k)
{
	printf("%s[%.3f, %.3f, %.3f]", k ? ", " : "",
	       (int64_t)(g->end - g->ns) / 1e9, g->ns / 1e6, g->cpu / 1e6);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void usage(void)
{
	fprintf(stderr, "usage: pause [-m MIB] [-o OBJSIZE] [-a MIB] [-t THREADS] [-k EVERY] [-r OPS] [-j]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	long mib = 64, amib = -1, i, c, bad = 0, ngaps = 0, over1 = 0,
	     over10 = 0, over100 = 0;
	struct obj **recent, **tails, *o;
	uint64_t rng = 0x9e3779b97f4a7c15ULL, *gaps, sum = 0, maxg = 0,
		 mutations = 0;
	struct gap top[TOP] = { { 0 } };
	int opt, json = 0, k;
	double t0, build_s;
	struct bench_gc gc;
	uint64_t build_gcs;

	while ((opt = getopt(argc, argv, "m:o:a:t:k:r:j")) != -1) {
		switch (opt) {
		case 'm':
			mib = atol(optarg);
			break;
		case 'o':
			objsize = atol(optarg);
			break;
		case 'a':
			amib = atol(optarg);
			break;
		case 't':
			nthreads = atol(optarg);
			break;
		case 'k':
			every = atol(optarg);
			break;
		case 'r':
			ops = atol(optarg);
			break;
		case 'j':
			json = 1;
			break;
		default:
			usage();
		}
	}
	if (amib < 0)
		amib = 4 * mib;
	if (mib < 1 || objsize < (long)sizeof(struct obj) + 8 || objsize % 8 ||
	    amib < 1 || nthreads < 1 || nthreads > MAX_THREADS || every < 1 ||
	    ops < 0 || optind != argc)
		usage();
	nobjs = (mib << 20) / objsize;
	nchains = nobjs / CHAIN;
	nwords = (objsize - (long)sizeof(struct obj)) / 8;
	alloc_bytes = (uint64_t)amib << 20;
	if (nchains < 2 * nthreads)
		usage();

	if (bench_frees) {
		/* malloc: nothing collects, nothing pauses */
		if (json)
			printf("{\"benchmark\": \"pause\", \"backend\": \"%s\", \"applies\": false, \"ok\": true}\n",
			       bench_backend);
		else
			printf("pause %s: does not apply (no collector)\n", bench_backend);
		return 0;
	}

	bench_init();
#ifdef BENCH_BDWGC
	GC_start_performance_measurement();
	/* (both take the allocation lock: no GC_alloc_lock() around) */
	contender_event = GC_get_on_collection_event();
	GC_set_on_collection_event(on_event);
#endif
	/* the build, automatic collection on: chain c gets objects c,
	 * c + nchains, ..., so a chain's neighbours are far apart */
	chains = bench_xalloc(nchains * sizeof(*chains), 0);
	recent = calloc(4096, sizeof(*recent));
	tails = calloc(nchains, sizeof(*tails));
	if (!recent || !tails)
		return 1;
	t0 = bench_now_s();
	for (i = 0; i < nobjs; i++) {
		c = i % nchains;
		o = bench_xalloc(objsize, 0);
		init_obj(o, i);
		o->cross[0] = i ? recent[(bench_rand(&rng) >> 33) %
					 (i < 4096 ? i : 4096)] : NULL;
		o->cross[1] = i >= nchains ?
			chains[(bench_rand(&rng) >> 33) % nchains] : NULL;
		recent[i % 4096] = o;
		if (i >= nchains * CHAIN)
			c = (bench_rand(&rng) >> 33) % nchains;	/* the rest */
		if (tails[c])
			tails[c]->next = o;
		else
			chains[c] = o;
		tails[c] = o;
		if (i % 65536 == 0) {
			bench_harvest();
			harvest_phases(1);
		}
	}
	/* only the graph keeps them (malloc memory is not scanned anyway) */
	free(recent);
	free(tails);
	build_s = bench_now_s() - t0;
	bench_harvest();
	harvest_phases(1);
	bench_gc_summary(&gc);
	build_gcs = gc.collections;

	/* the steady phase */
	pthread_barrier_init(&go, NULL, nthreads + 1);
	for (k = 0; k < nthreads; k++) {
		threads[k].id = k;
		threads[k].rng = 0x2545f4914f6cdd1dULL * (k + 1);
		if (pthread_create(&threads[k].tid, NULL, mutator, &threads[k])) {
			perror("pause: pthread_create");
			return 1;
		}
	}
	pthread_barrier_wait(&go);
	harvest_phases(1);
	bench_start();
	t_start = now_ns();
	pthread_barrier_wait(&go);
	while (__atomic_load_n(&done, __ATOMIC_SEQ_CST) < nthreads) {
		struct timespec ts = { 0, 100 * 1000 * 1000 };

		nanosleep(&ts, NULL);
		bench_harvest();
		harvest_phases(0);
	}
	for (k = 0; k < nthreads; k++)
		pthread_join(threads[k].tid, NULL);
	bench_stop();
	bench_harvest();
	harvest_phases(0);

	for (k = 0; k < nthreads; k++)
		ngaps += threads[k].ngaps;
	gaps = malloc((ngaps ? ngaps : 1) * sizeof(*gaps));
	if (!gaps)
		return 1;
	for (k = 0, i = 0; k < nthreads; k++) {
		struct thread *t = &threads[k];

		memcpy(gaps + i, t->gaps, t->ngaps * sizeof(*gaps));
		i += t->ngaps;
		for (i = 0; i < TOP; i++)
			add_top(top, &t->top[i]);
		mutations += t->mutations;
		bad += t->bad;
	}
	qsort(gaps, ngaps, sizeof(*gaps), cmp_u64);
	maxg = top[0].ns;
	for (i = 0; i < ngaps; i++) {
		sum += gaps[i];
		over1 += gaps[i] > 1000000;
		over10 += gaps[i] > 10000000;
		over100 += gaps[i] > 100000000;
	}
#define PCT(p) (ngaps ? gaps[(long)((ngaps - 1) * (p))] / 1e6 : 0.0)
	bad += verify();

	if (json) {
		bench_json(stdout, "pause");
		printf(", \"live_mib\": %ld, \"objsize\": %ld, \"objects\": %ld, \"alloc_mib\": %ld",
		       mib, objsize, nobjs, amib);
		printf(", \"threads\": %ld, \"every\": %ld, \"ops\": %ld, \"build_s\": %.3f, \"build_collections\": %" PRIu64,
		       nthreads, every, ops, build_s, build_gcs);
		printf(", \"checkpoints\": %ld, \"mutations\": %" PRIu64, ngaps, mutations);
		printf(", \"gap_max_ms\": %.3f, \"gap_p999_ms\": %.3f, \"gap_p99_ms\": %.3f",
		       maxg / 1e6, PCT(0.999), PCT(0.99));
		printf(", \"gap_median_ms\": %.3f, \"gap_mean_ms\": %.3f",
		       PCT(0.5), ngaps ? sum / 1e6 / ngaps : 0.0);
		printf(", \"gaps_over_1ms\": %ld, \"gaps_over_10ms\": %ld, \"gaps_over_100ms\": %ld",
		       over1, over10, over100);
		printf(", \"gaps_top\": [");
		for (k = 0; k < TOP && top[k].ns; k++)
			print_gap(&top[k], k);
		printf("], \"gaps_long\": [");
		for (k = 0, c = 0; k < nthreads; k++)
			for (i = 0; i < threads[k].nlong; i++)
				print_gap(&threads[k].longs[i], c++);
		printf("]");
		collector_fields();
		printf(", \"bad\": %ld, \"ok\": %s}\n", bad, bad ? "false" : "true");
	} else {
		bench_gc_summary(&gc);
		printf("pause %s: %ld MiB live in %ld objects of %ld bytes (built in %.2f s, %" PRIu64 " collections), %ld MiB allocated by %ld threads in %.2f s: %" PRIu64 " collections, reported pause max %.2f ms; gaps: max %.2f ms (from %.2f s), p99.9 %.2f, p99 %.2f, median %.3f, mean %.3f ms over %ld checkpoints%s\n",
		       bench_backend, mib, nobjs, objsize, build_s, build_gcs,
		       amib, nthreads, bench_wall_s(), gc.collections,
		       gc.pause_max_ns / 1e6, maxg / 1e6,
		       (int64_t)(top[0].end - top[0].ns) / 1e9,
		       PCT(0.999), PCT(0.99), PCT(0.5),
		       ngaps ? sum / 1e6 / ngaps : 0.0, ngaps,
		       bad ? "; FAILED" : "; verified");
	}
	return bad ? 1 : 0;
}
