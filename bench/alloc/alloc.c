// SPDX-License-Identifier: GPL-2.0
/*
 * bench/alloc: allocation rate, one configuration per process run, on the
 * contender compiled in (bench/lib/contender.h: gcheap, bdwgc, malloc).
 *
 *   alloc [-s SIZE] [-t THREADS] [-b MIB] [-n] [-j]
 *
 * Each thread allocates objects of SIZE bytes until it has allocated MIB
 * mebibytes, writes the first word of each (so the memory is really
 * touched) and keeps the last 1024 in a ring; the rest is garbage (the
 * collectors collect it, malloc frees the object it drops from the
 * ring).  -n turns automatic collection off (gcheap: GOGC off; bdwgc:
 * GC_disable()): the allocation path alone, every object on fresh memory.
 *
 * Prints one line (or with -j one JSON object):
 *
 *   <allocator or "nogc"> <size> <threads> <allocs> <seconds> <Mallocs/s> <ns/alloc>
 *
 * ns/alloc is wall time per allocation per thread.  A benchmark, not a
 * test: numbers are only comparable with others from the same VM run.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "contender.h"

#define RING 1024

static size_t size = 16;
static unsigned long per_thread;
static pthread_barrier_t start;

static void *worker(void *arg)
{
	void **ring = calloc(RING, sizeof(*ring));
	unsigned long i;
	void *p;

	(void)arg;
	if (!ring)
		return (void *)1;
	bench_thread_enter();
	pthread_barrier_wait(&start);
	for (i = 0; i < per_thread; i++) {
		bench_free(ring[i % RING]);
		p = bench_alloc(size);
		if (!p) {
			fprintf(stderr, "alloc: %s(%zu) failed after %lu: %s\n",
				bench_backend, size, i, strerror(errno));
			return (void *)1;
		}
		*(volatile uintptr_t *)p = i;
		ring[i % RING] = p;
		if ((i & 0xffff) == 0)
			bench_harvest();
	}
	for (i = 0; i < RING; i++)
		bench_free(ring[i]);
	bench_thread_leave();
	free(ring);
	return NULL;
}

static void usage(void)
{
	fprintf(stderr, "usage: alloc [-s SIZE] [-t THREADS] [-b MIB] [-n] [-j]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	unsigned long mib = 32;
	pthread_t tids[64];
	int threads = 1, opt, i, failed = 0, nogc = 0, json = 0;
	struct bench_gc gc;
	double secs;
	void *ret;

	while ((opt = getopt(argc, argv, "s:t:b:nj")) != -1) {
		switch (opt) {
		case 's':
			size = strtoul(optarg, NULL, 0);
			break;
		case 't':
			threads = atoi(optarg);
			break;
		case 'b':
			mib = strtoul(optarg, NULL, 0);
			break;
		case 'n':
			nogc = 1;
			break;
		case 'j':
			json = 1;
			break;
		default:
			usage();
		}
	}
	if (!size || threads < 1 || threads > 64 || !mib || optind != argc)
		usage();
	per_thread = (mib << 20) / size;

	bench_init();			/* outside the timed part */
	if (nogc)
		bench_gc_enable(0);
	pthread_barrier_init(&start, NULL, threads + 1);
	for (i = 0; i < threads; i++)
		if (pthread_create(&tids[i], NULL, worker, NULL)) {
			perror("alloc: pthread_create");
			return 1;
		}
	pthread_barrier_wait(&start);
	bench_start();
	for (i = 0; i < threads; i++) {
		pthread_join(tids[i], &ret);
		failed |= ret != NULL;
	}
	bench_stop();
	if (failed)
		return 1;
	bench_gc_summary(&gc);
	if (json) {
		bench_json(stdout, "alloc");
		printf(", \"size\": %zu, \"threads\": %d, \"gc\": %s, \"allocs\": %lu, \"bytes_allocated\": %lu}\n",
		       size, threads, nogc ? "false" : "true",
		       per_thread * threads, per_thread * threads * size);
		return 0;
	}
	secs = bench_wall_s();
	printf("%-10s %6zu %2d %10lu %8.3f %9.2f %8.1f\n",
	       nogc && gc.has_gc ? "nogc" : bench_backend, size, threads,
	       per_thread * threads, secs, per_thread * threads / secs / 1e6,
	       secs * 1e9 / per_thread);
	return 0;
}
