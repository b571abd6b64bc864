// SPDX-License-Identifier: GPL-2.0
/*
 * bench/alloc: allocation rate of gch_malloc next to glibc malloc/free and
 * bdwgc's GC_MALLOC, for one configuration per process run.
 *
 *   alloc -a gcheap|malloc|bdwgc|bdwgc-nogc -s SIZE -t THREADS -b MIB
 *
 * Each thread allocates objects of SIZE bytes until it has allocated MIB
 * mebibytes, writes the first word of each (so the memory is really
 * touched) and keeps the last 1024 in a ring; the rest is garbage (bdwgc
 * collects it, malloc frees the object it drops from the ring, gcheap has
 * no collector yet and keeps it).  Prints one line:
 *
 *   <allocator> <size> <threads> <allocs> <seconds> <Mallocs/s> <ns/alloc>
 *
 * ns/alloc is wall time per allocation per thread.  A benchmark, not a
 * test: numbers are only comparable with others from the same VM run.
 */
#define GC_THREADS
#include <gc.h>

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gcheap.h"

#define RING 1024

enum allocator { A_GCHEAP, A_MALLOC, A_BDWGC, A_BDWGC_NOGC };

static const char *const names[] = { "gcheap", "malloc", "bdwgc", "bdwgc-nogc" };
static enum allocator which;
static size_t size = 16;
static unsigned long per_thread;
static pthread_barrier_t start;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *worker(void *arg)
{
	void **ring = calloc(RING, sizeof(*ring));
	unsigned long i;
	void *p;

	(void)arg;
	if (!ring)
		return (void *)1;
	pthread_barrier_wait(&start);
	for (i = 0; i < per_thread; i++) {
		switch (which) {
		case A_GCHEAP:
			p = gch_malloc(size);
			break;
		case A_MALLOC:
			free(ring[i % RING]);
			p = malloc(size);
			break;
		default:
			p = GC_MALLOC(size);
			break;
		}
		if (!p) {
			fprintf(stderr, "alloc: %s(%zu) failed after %lu: %s\n",
				names[which], size, i, strerror(errno));
			return (void *)1;
		}
		*(volatile uintptr_t *)p = i;
		ring[i % RING] = p;
	}
	if (which == A_MALLOC)
		for (i = 0; i < RING; i++)
			free(ring[i]);
	free(ring);
	return NULL;
}

static void usage(void)
{
	fprintf(stderr, "usage: alloc -a gcheap|malloc|bdwgc|bdwgc-nogc -s SIZE -t THREADS -b MIB\n");
	exit(2);
}

int main(int argc, char **argv)
{
	unsigned long mib = 32;
	pthread_t tids[64];
	int threads = 1, opt, i, failed = 0;
	double t0, t1;
	void *ret;

	which = A_GCHEAP;
	while ((opt = getopt(argc, argv, "a:s:t:b:")) != -1) {
		switch (opt) {
		case 'a':
			for (i = 0; i < 4 && strcmp(optarg, names[i]); i++)
				;
			if (i == 4)
				usage();
			which = i;
			break;
		case 's':
			size = strtoul(optarg, NULL, 0);
			break;
		case 't':
			threads = atoi(optarg);
			break;
		case 'b':
			mib = strtoul(optarg, NULL, 0);
			break;
		default:
			usage();
		}
	}
	if (!size || threads < 1 || threads > 64 || !mib)
		usage();
	per_thread = (mib << 20) / size;

	if (which == A_BDWGC || which == A_BDWGC_NOGC) {
		GC_INIT();
		GC_allow_register_threads();
		if (which == A_BDWGC_NOGC)
			GC_disable();
	} else if (which == A_GCHEAP) {
		void *warm = gch_malloc(size);	/* initialise outside timing */

		if (!warm) {
			perror("alloc: gch_malloc");
			return 1;
		}
	}

	pthread_barrier_init(&start, NULL, threads + 1);
	for (i = 0; i < threads; i++)
		if (pthread_create(&tids[i], NULL, worker, NULL)) {
			perror("alloc: pthread_create");
			return 1;
		}
	pthread_barrier_wait(&start);
	t0 = now();
	for (i = 0; i < threads; i++) {
		pthread_join(tids[i], &ret);
		failed |= ret != NULL;
	}
	t1 = now();
	if (failed)
		return 1;
	printf("%-10s %6zu %2d %10lu %8.3f %9.2f %8.1f\n", names[which], size,
	       threads, per_thread * threads, t1 - t0,
	       per_thread * threads / (t1 - t0) / 1e6,
	       (t1 - t0) * 1e9 / per_thread);
	return 0;
}
