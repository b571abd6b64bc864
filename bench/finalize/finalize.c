// SPDX-License-Identifier: GPL-2.0
/*
 * bench/finalize: what finalizers and weak links cost, gcheap against
 * bdwgc (GC_register_finalizer, GC_general_register_disappearing_link).
 *
 * N objects (-n, 100000) stay reachable from a scanned array while:
 *
 *   1. a collection runs with nothing registered (pause_base_ms);
 *   2. a finalizer is registered on each (reg_fin_ns per call), and a
 *      collection runs (pause_fin_ms: what N registered finalizers add);
 *   3. a short weak link to each is registered, the links in malloc()
 *      memory, which neither collector scans (reg_weak_ns per call), and a
 *      collection runs (pause_weak_ms: N finalizers and N links);
 *   4. the array is dropped: the collection that finds the N objects
 *      unreachable queues N finalizers and clears N links
 *      (pause_drop_ms); the finalizers run in this thread (run_ms;
 *      gcheap's manual mode, bdwgc's finalize-on-demand), and one more
 *      collection frees the objects.
 *
 * A pause here is the wall time of the collection call (gcheap returns
 * when the world restarts; bdwgc's GC_gcollect() stops the world for all
 * of it).  The run checks that every finalizer ran exactly once with its
 * object and every link was cleared; it exits 1 otherwise.  bench_json()
 * carries the collector's own numbers; this workload appends its fields.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "contender.h"

#if defined(BENCH_GCHEAP)
#include <gcheap.h>
#elif defined(BENCH_BDWGC)
#include <gc.h>
#else
#error "finalizers need a collector: build with BENCH_GCHEAP or BENCH_BDWGC"
#endif

#define NODE_SIZE	48

static unsigned char *runs;	/* per object: how often its finalizer ran */
/* the array of objects: the only root, read afresh at every use */
static struct node **volatile g_v;
static uint64_t bad;

struct node {
	uint64_t id;
	uint64_t key;
	void *pad[4];
};

static void fin(void *obj, void *data)
{
	const struct node *n = obj;
	uintptr_t id = (uintptr_t)data;

	if (n->id != id || n->key != ~(uint64_t)id)
		bad++;
	runs[id]++;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double timed_collect(void)
{
	double t0 = now_ms();

	bench_collect();
	return now_ms() - t0;
}

static int reg_fin(void *obj, uintptr_t id)
{
#if defined(BENCH_GCHEAP)
	return gch_register_finalizer(obj, fin, (void *)id);
#else
	GC_register_finalizer(obj, fin, (void *)id, NULL, NULL);
	return 0;
#endif
}

static int reg_weak(void **link, void *obj)
{
#if defined(BENCH_GCHEAP)
	return gch_register_weak(link, obj);
#else
	return GC_general_register_disappearing_link(link, obj) == GC_SUCCESS ?
	       0 : -1;
#endif
}

static long run_finalizers(void)
{
#if defined(BENCH_GCHEAP)
	return gch_run_finalizers();
#else
	return GC_invoke_finalizers();
#endif
}

/* Build the objects in a frame that dies, so no stale copy roots them. */
static __attribute__((noinline)) struct node **build(size_t n)
{
	struct node **v = bench_alloc(n * sizeof(*v));
	size_t i;

	if (!v)
		return NULL;
	for (i = 0; i < n; i++) {
		v[i] = bench_alloc(sizeof(struct node));
		if (!v[i])
			return NULL;
		v[i]->id = i;
		v[i]->key = ~(uint64_t)i;
	}
	return v;
}

static __attribute__((noinline)) int register_all(struct node **v, size_t n,
						  void **links, int weak)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (weak) {
			links[i] = v[i];
			if (reg_weak(&links[i], v[i]))
				return -1;
		} else if (reg_fin(v[i], i)) {
			return -1;
		}
	}
	return 0;
}

/* Wipe the stack below: dead frames that saw the objects. */
static __attribute__((noinline)) void scrub(void)
{
	volatile char buf[32 * 1024];

	memset((char *)buf, 0, sizeof(buf));
}

int main(int argc, char **argv)
{
	size_t n = 100000, i, ran = 0, once = 0, twice = 0, cleared = 0;
	int round;
	double t0, reg_fin_ns, reg_weak_ns, pause_base, pause_fin, pause_weak;
	double pause_drop, run_ms;
	void **links;
	int json = 0, opt;
	long k;

	while ((opt = getopt(argc, argv, "n:j")) != -1) {
		switch (opt) {
		case 'n':
			n = strtoul(optarg, NULL, 0);
			break;
		case 'j':
			json = 1;
			break;
		default:
			fprintf(stderr, "usage: %s [-n objects] [-j]\n", argv[0]);
			return 2;
		}
	}
#if defined(BENCH_GCHEAP)
	/* finalizers run here, timed, as bdwgc's do on demand */
	setenv("GCHEAP_FINALIZERS", "manual", 1);
#else
	GC_set_finalize_on_demand(1);
#endif
	bench_init();
	runs = calloc(n, 1);
	links = calloc(n, sizeof(*links));	/* not scanned by either */
	g_v = build(n);
	if (!runs || !links || !g_v) {
		fprintf(stderr, "finalize: out of memory\n");
		return 1;
	}
	bench_start();
	timed_collect();
	pause_base = timed_collect();

	t0 = now_ms();
	if (register_all(g_v, n, links, 0)) {
		fprintf(stderr, "finalize: registering a finalizer failed: %s\n",
			strerror(errno));
		return 1;
	}
	reg_fin_ns = (now_ms() - t0) * 1e6 / n;
	pause_fin = timed_collect();

	t0 = now_ms();
	if (register_all(g_v, n, links, 1)) {
		fprintf(stderr, "finalize: registering a weak link failed: %s\n",
			strerror(errno));
		return 1;
	}
	reg_weak_ns = (now_ms() - t0) * 1e6 / n;
	pause_weak = timed_collect();

	/* nothing ran while the objects were reachable */
	for (i = 0; i < n; i++)
		ran += runs[i];
	g_v = NULL;
	scrub();
	pause_drop = timed_collect();
	t0 = now_ms();
	k = run_finalizers();
	run_ms = now_ms() - t0;
	/*
	 * A conservative collector may keep a few for a while (a stale
	 * copy on a stack): more collections, untimed, until all ran.
	 */
	for (round = 0; round < 5 && k < (long)n; round++) {
		scrub();
		bench_collect();
		k += run_finalizers();
	}
	bench_collect();
	bench_stop();
	bench_harvest();

	for (i = 0; i < n; i++) {
		once += runs[i] == 1;
		twice += runs[i] > 1;
		cleared += !links[i];
	}
	/* lost or wrong: run while reachable, run twice, the wrong object */
	if (ran || twice || bad || k != (long)once) {
		fprintf(stderr, "finalize: %zu ran while reachable, %zu twice, %llu saw the wrong object, %ld runs for %zu objects\n",
			ran, twice, (unsigned long long)bad, k, once);
		return 1;
	}
	if (!json) {
		printf("%zu objects: register a finalizer %.0f ns, a weak link %.0f ns; pause %.2f ms bare, %.2f with the finalizers, %.2f with the links too, %.2f finding them unreachable; the first run of finalizers %.2f ms; %zu finalized, %zu links cleared after %d more collections\n",
		       n, reg_fin_ns, reg_weak_ns, pause_base, pause_fin,
		       pause_weak, pause_drop, run_ms, once, cleared, round);
		return 0;
	}
	bench_json(stdout, "finalize");
	printf(", \"objects\": %zu, \"finalized\": %zu, \"cleared\": %zu, \"rounds\": %d, \"reg_fin_ns\": %.1f, \"reg_weak_ns\": %.1f, \"pause_base_ms\": %.3f, \"pause_fin_ms\": %.3f, \"pause_weak_ms\": %.3f, \"pause_drop_ms\": %.3f, \"run_ms\": %.3f, \"ok\": true}\n",
	       n, once, cleared, round, reg_fin_ns, reg_weak_ns, pause_base,
	       pause_fin, pause_weak, pause_drop, run_ms);
	return 0;
}
