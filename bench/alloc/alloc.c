// SPDX-License-Identifier: GPL-2.0
/*
 * bench/alloc: allocation rate in the steady state, one configuration per
 * process run, on the contender compiled in (bench/lib/contender.h:
 * gcheap, bdwgc, malloc).
 *
 *   alloc [-s SIZE] [-t THREADS] [-b MIB] [-w MIB] [-c N] [-n] [-j]
 *
 * Each thread allocates objects of SIZE bytes, writes the first word of
 * each (so the memory is really touched) and keeps the last 1024 in a
 * ring; the rest is garbage (the collectors collect it, malloc frees the
 * object it drops from the ring).
 *
 * First an untimed warm-up, so that what is timed is the steady state
 * and not the heap's growth from nothing: every thread allocates at
 * least -w MIB (default 32, at most its share of -b), and with
 * collection on the threads go on until the collector has run -c N
 * collections (default 3) since the start; a collector that has not
 * done so after 512 MiB per thread fails the run.  Then the timed phase:
 * -b MIB in all (default 256), split evenly between the threads, so
 * that every thread count allocates the same total.
 *
 * -n turns automatic collection off (gcheap: GOGC off; bdwgc:
 * GC_disable()), warm-up included: the allocation path alone, every
 * object on fresh memory.
 *
 * Prints one line (or with -j one JSON object: bench_json()'s fields,
 * collections and refills of the timed phase, peak RSS, and the
 * workload's):
 *
 *   <allocator or "nogc"> <size> <threads> <allocs> <seconds> <Mallocs/s> <ns/alloc> <collections> <refills/MiB>
 *
 * ns/alloc is wall time per allocation per thread; refills/MiB is
 * gcheap's GCH_IOC_REFILL calls per MiB allocated in the timed phase
 * ("-" when not counted).  A benchmark, not a test: numbers are only
 * comparable with others from the same VM run.
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

#define RING 1024
#define MAX_THREADS 64
/* warm-up allocations between two looks at the collection count */
#define WARM_CHECK 0x10000
/* a warm-up that has not seen its collections by then fails */
#define WARM_MAX_MIB 512

static size_t size = 16;
static unsigned long per_thread;	/* timed allocations per thread */
static unsigned long warm_min;		/* warm-up allocations, at least */
static unsigned long warm_max;		/* ... and at most */
static uint64_t warm_collections = 3;
static int gc_on = 1;			/* -n not given */
static int has_gc;			/* and there is a collector */
/* the warm-up is over, the main thread starts the clock; then go */
static pthread_barrier_t warm_done, go;

struct thread {
	pthread_t tid;
	unsigned long warm_allocs;
	int failed;
};

static uint64_t collections_so_far(void)
{
	struct bench_gc gc;

	bench_gc_summary(&gc);
	return gc.collections;
}

/* Allocate from @i up to @n, keeping the ring; 0, or -1 on a failure. */
static int allocate(void **ring, unsigned long i, unsigned long n)
{
	void *p;

	for (; i < n; i++) {
		bench_free(ring[i % RING]);
		p = bench_alloc(size);
		if (!p) {
			fprintf(stderr, "alloc: %s(%zu) failed after %lu: %s\n",
				bench_backend, size, i, strerror(errno));
			return -1;
		}
		*(volatile uintptr_t *)p = i;
		ring[i % RING] = p;
		if ((i & 0xffff) == 0)
			bench_harvest();
	}
	return 0;
}

/* The warm-up's allocations: -w's volume, then until -c collections. */
static unsigned long warm_up(void **ring)
{
	unsigned long i = warm_min;

	if (allocate(ring, 0, i))
		return 0;
	while (gc_on && has_gc && collections_so_far() < warm_collections) {
		if (i >= warm_max) {
			fprintf(stderr, "alloc: %s ran %" PRIu64 " of %" PRIu64
				" collections in the %d MiB warm-up of a thread: no steady state\n",
				bench_backend, collections_so_far(),
				warm_collections, WARM_MAX_MIB);
			return 0;
		}
		if (allocate(ring, i, i + WARM_CHECK))
			return 0;
		i += WARM_CHECK;
	}
	return i;
}

static void *worker(void *arg)
{
	struct thread *t = arg;
	void **ring = calloc(RING, sizeof(*ring));
	unsigned long i, n;

	bench_thread_enter();
	n = ring ? warm_up(ring) : 0;
	t->failed = !n;
	t->warm_allocs = n;
	/* a failed thread still meets the others at both barriers */
	pthread_barrier_wait(&warm_done);
	pthread_barrier_wait(&go);
	if (!t->failed && allocate(ring, n, n + per_thread))
		t->failed = 1;
	for (i = 0; ring && i < RING; i++)
		bench_free(ring[i]);
	bench_thread_leave();
	free(ring);
	return NULL;
}

static unsigned long parse_ulong(const char *s)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || end == s || *end) {
		fprintf(stderr, "alloc: not a number: %s\n", s);
		exit(2);
	}
	return v;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: alloc [-s SIZE] [-t THREADS] [-b MIB] [-w MIB] [-c N] [-n] [-j]\n"
		"  -s SIZE  object size in bytes (16)\n"
		"  -t N     allocating threads (1-%d)\n"
		"  -b MIB   timed: mebibytes allocated in all, split between the threads (256)\n"
		"  -w MIB   untimed warm-up: mebibytes each thread allocates at least\n"
		"           (32, at most its share of -b)\n"
		"  -c N     ... and, with collection on, until N collections (3)\n"
		"  -n       automatic collection off\n"
		"  -j       one JSON object\n", MAX_THREADS);
	exit(2);
}

int main(int argc, char **argv)
{
	unsigned long mib = 256, warm_mib = 32, warm_allocs = 0, allocs;
	static struct thread threads[MAX_THREADS];
	int nthreads = 1, opt, i, failed = 0, json = 0;
	uint64_t warm_gcs;
	struct bench_gc gc;
	int64_t refills;
	double secs, rpm = -1;

	while ((opt = getopt(argc, argv, "s:t:b:w:c:nj")) != -1) {
		switch (opt) {
		case 's':
			size = parse_ulong(optarg);
			break;
		case 't':
			nthreads = parse_ulong(optarg);
			break;
		case 'b':
			mib = parse_ulong(optarg);
			break;
		case 'w':
			warm_mib = parse_ulong(optarg);
			break;
		case 'c':
			warm_collections = parse_ulong(optarg);
			break;
		case 'n':
			gc_on = 0;
			break;
		case 'j':
			json = 1;
			break;
		default:
			usage();
		}
	}
	if (!size || nthreads < 1 || nthreads > MAX_THREADS || !mib ||
	    optind != argc)
		usage();
	per_thread = (mib << 20) / size / nthreads;
	if (!per_thread)
		usage();
	warm_min = (warm_mib << 20) / size;
	if (warm_min > per_thread)
		warm_min = per_thread;
	warm_max = ((unsigned long)WARM_MAX_MIB << 20) / size;

	bench_init();			/* outside the timed part */
	bench_gc_summary(&gc);
	has_gc = gc.has_gc;
	if (!gc_on)
		bench_gc_enable(0);
	pthread_barrier_init(&warm_done, NULL, nthreads + 1);
	pthread_barrier_init(&go, NULL, nthreads + 1);
	for (i = 0; i < nthreads; i++)
		if (pthread_create(&threads[i].tid, NULL, worker, &threads[i])) {
			perror("alloc: pthread_create");
			return 1;
		}
	pthread_barrier_wait(&warm_done);
	warm_gcs = collections_so_far();
	bench_start();
	pthread_barrier_wait(&go);
	for (i = 0; i < nthreads; i++)
		pthread_join(threads[i].tid, NULL);
	bench_stop();
	for (i = 0; i < nthreads; i++) {
		failed |= threads[i].failed;
		warm_allocs += threads[i].warm_allocs;
	}
	if (failed)
		return 1;
	bench_gc_summary(&gc);
	allocs = per_thread * nthreads;
	refills = bench_timed_refills();
	if (refills >= 0)
		rpm = refills / ((double)allocs * size / (1 << 20));
	if (json) {
		bench_json(stdout, "alloc");
		printf(", \"size\": %zu, \"threads\": %d, \"gc\": %s, \"allocs\": %lu, \"bytes_allocated\": %lu",
		       size, nthreads, gc_on ? "true" : "false", allocs,
		       allocs * size);
		printf(", \"warmup_bytes\": %lu", warm_allocs * size);
		if (gc.has_gc)
			printf(", \"warmup_collections\": %" PRIu64, warm_gcs);
		else
			printf(", \"warmup_collections\": null");
		if (rpm < 0)
			printf(", \"refills_per_mib\": null}\n");
		else
			printf(", \"refills_per_mib\": %.3f}\n", rpm);
		return 0;
	}
	secs = bench_wall_s();
	printf("%-10s %6zu %2d %10lu %8.3f %9.2f %8.1f",
	       !gc_on && has_gc ? "nogc" : bench_backend, size, nthreads,
	       allocs, secs, allocs / secs / 1e6, secs * 1e9 / per_thread);
	if (has_gc)
		printf(" %6" PRIu64, gc.collections);
	else
		printf(" %6s", "-");
	if (rpm < 0)
		printf(" %8s\n", "-");
	else
		printf(" %8.2f\n", rpm);
	return 0;
}
