// SPDX-License-Identifier: GPL-2.0
/*
 * bench/garbage: an old generation that lives for ever and a young one
 * replaced all the time, after the Go runtime's test/bench/garbage
 * (parse a package from many goroutines into a pool where half the
 * entries live for ever; report pause per collection and in total).
 *
 *   garbage [-t THREADS] [-p POOL] [-n NODES] [-i ITERS] [-j]
 *
 * Each thread owns POOL slots, each holding a "graph": NODES nodes of
 * mixed sizes (32 to 256 bytes, pointers in their first words, like a
 * syntax tree) linked as a binary tree, every fourth node with a
 * pointer-free string of 16 to 64 bytes.  The even slots are filled once
 * and live to the end (the old generation); then ITERS times a new graph
 * replaces the one in a random odd slot (malloc: the old one is freed).
 * So the live heap is steady at about 3/4 of the pool and the collector
 * finds both long-lived data to mark again every time and garbage to
 * free.
 *
 * Every graph records its serial number in each node and its node count
 * in its root; the graph a replacement drops, and at the end every graph
 * in the pool, is walked and checked (count, serials): a collector that
 * frees or overwrites live data makes the run fail (exit 1).
 *
 * Output: one line (or with -j one JSON object; see bench/lib/contender.h)
 * with wall and CPU time, collections, pauses and peak RSS.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "contender.h"

#define MAX_THREADS	16

struct gnode {
	struct gnode *kid[2];
	char *label;		/* pointer-free, or NULL */
	uint64_t serial;	/* of its graph */
	uint64_t words[];	/* the rest of the node: small numbers */
};

struct worker {
	int id;
	uint64_t rng;
	uint64_t serial;
	struct gnode **pool;
	uint64_t *serials;	/* of the graph in each slot */
	long bad;
};

static int nthreads = 2, json;
static long pool_size = 128, nodes = 400, iters = 1500;
static pthread_barrier_t start;

static uint64_t rnd(struct worker *w)
{
	return bench_rand(&w->rng);
}

/* A graph of @n nodes: a binary tree, built depth first. */
static struct gnode *build(struct worker *w, long n, uint64_t serial)
{
	static const size_t sizes[] = { 32, 32, 48, 64, 64, 96, 128, 256 };
	size_t size = sizes[rnd(w) % 8], k;
	struct gnode *g;
	long left;

	if (n <= 0)
		return NULL;
	g = bench_xalloc(size, 0);
	g->serial = serial;
	for (k = 0; k < (size - sizeof(*g)) / sizeof(uint64_t); k++)
		g->words[k] = k;
	if (rnd(w) % 4 == 0) {
		size_t len = 16 + rnd(w) % 49;

		g->label = bench_xalloc(len, 1);
		memset(g->label, 'a' + serial % 26, len - 1);
		g->label[len - 1] = 0;
	}
	n--;
	left = n / 2;
	g->kid[0] = build(w, left, serial);
	g->kid[1] = build(w, n - left, serial);
	return g;
}

/* Count @g's nodes, and in *@bad those not of graph @serial. */
static long walk(const struct gnode *g, uint64_t serial, long *bad)
{
	if (!g)
		return 0;
	if (g->serial != serial ||
	    (g->label && g->label[0] != (char)('a' + serial % 26)))
		++*bad;
	return 1 + walk(g->kid[0], serial, bad) + walk(g->kid[1], serial, bad);
}

static void drop(struct gnode *g)
{
	if (!g)
		return;
	drop(g->kid[0]);
	drop(g->kid[1]);
	bench_free(g->label);
	bench_free(g);
}

static void check(struct worker *w, long slot)
{
	long bad = 0, n = walk(w->pool[slot], w->serials[slot], &bad);

	if (n != nodes || bad) {
		fprintf(stderr, "garbage: thread %d slot %ld: %ld nodes (want %ld), %ld bad\n",
			w->id, slot, n, nodes, bad);
		w->bad += bad + (n != nodes);
	}
}

static void *run(void *arg)
{
	struct worker *w = arg;
	long i, slot;

	bench_thread_enter();
	for (slot = 0; slot < pool_size; slot++) {
		w->serials[slot] = w->serial++;
		w->pool[slot] = build(w, nodes, w->serials[slot]);
	}
	/* pools built; the main thread starts the clock meanwhile */
	pthread_barrier_wait(&start);
	pthread_barrier_wait(&start);
	for (i = 0; i < iters; i++) {
		slot = (rnd(w) % (pool_size / 2)) * 2 + 1;	/* odd: young */
		check(w, slot);
		drop(w->pool[slot]);
		w->serials[slot] = w->serial++;
		w->pool[slot] = build(w, nodes, w->serials[slot]);
		if (w->id == 0 && i % 64 == 0)
			bench_harvest();
	}
	for (slot = 0; slot < pool_size; slot++)
		check(w, slot);
	bench_thread_leave();
	return NULL;
}

static void usage(void)
{
	fprintf(stderr, "usage: garbage [-t THREADS] [-p POOL] [-n NODES] [-i ITERS] [-j]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static struct worker ws[MAX_THREADS];
	pthread_t tids[MAX_THREADS];
	struct bench_gc gc;
	long bad = 0;
	int opt, k;

	while ((opt = getopt(argc, argv, "t:p:n:i:j")) != -1) {
		switch (opt) {
		case 't':
			nthreads = atoi(optarg);
			break;
		case 'p':
			pool_size = atol(optarg);
			break;
		case 'n':
			nodes = atol(optarg);
			break;
		case 'i':
			iters = atol(optarg);
			break;
		case 'j':
			json = 1;
			break;
		default:
			usage();
		}
	}
	if (nthreads < 1 || nthreads > MAX_THREADS || pool_size < 2 ||
	    nodes < 1 || iters < 0 || optind != argc)
		usage();

	bench_init();
	/*
	 * The pools are roots: malloc()ed arrays are not scanned by either
	 * collector, so they come from the collected heap (an allocation
	 * each thread's stack then keeps alive through @ws, a static).
	 */
	for (k = 0; k < nthreads; k++) {
		ws[k].id = k;
		ws[k].rng = 0x9e3779b97f4a7c15ULL * (k + 1);
		ws[k].serial = (uint64_t)(k + 1) << 40;
		ws[k].pool = bench_xalloc(pool_size * sizeof(ws[k].pool[0]), 0);
		ws[k].serials = calloc(pool_size, sizeof(ws[k].serials[0]));
		if (!ws[k].serials)
			return 1;
	}
	pthread_barrier_init(&start, NULL, nthreads + 1);
	for (k = 0; k < nthreads; k++)
		if (pthread_create(&tids[k], NULL, run, &ws[k])) {
			perror("garbage: pthread_create");
			return 1;
		}
	/* the timed part: the steady state, after the pools are built */
	pthread_barrier_wait(&start);
	bench_start();
	pthread_barrier_wait(&start);
	for (k = 0; k < nthreads; k++)
		pthread_join(tids[k], NULL);
	bench_stop();
	for (k = 0; k < nthreads; k++)
		bad += ws[k].bad;

	if (json) {
		bench_json(stdout, "garbage");
		printf(", \"threads\": %d, \"pool\": %ld, \"nodes\": %ld, \"iters\": %ld, \"bad\": %ld, \"ok\": %s}\n",
		       nthreads, pool_size, nodes, iters, bad,
		       bad ? "false" : "true");
	} else {
		bench_gc_summary(&gc);
		printf("garbage %s: %d threads, pool %ld x %ld nodes, %ld replacements each",
		       bench_backend, nthreads, pool_size, nodes, iters);
		if (gc.has_gc)
			printf(": %" PRIu64 " collections, pause total %.1f ms, max %.1f ms, mean %.2f ms",
			       gc.collections, gc.pause_total_ns / 1e6,
			       gc.pause_max_ns / 1e6,
			       gc.npauses ? gc.pause_total_ns / 1e6 / gc.npauses : 0);
		printf("%s\n", bad ? "; FAILED" : "; verified");
	}
	return bad ? 1 : 0;
}
