/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bench/lib/contender: the allocator a benchmark runs on, chosen when
 * compiling (one binary per contender, so each is linked only with its
 * own library), and the numbers every benchmark reports about a run.
 *
 *   -DBENCH_GCHEAP  (default) gch_malloc / gch_malloc_atomic; collections
 *                   by the kernel; pauses from the module's history
 *   -DBENCH_BDWGC   Debian's libgc: GC_MALLOC / GC_MALLOC_ATOMIC; pauses
 *                   timed from its collection events
 *   -DBENCH_MALLOC  glibc malloc, the workload frees what it drops
 *
 * A workload allocates through bench_alloc() / bench_alloc_atomic(),
 * drops objects with bench_free() (which frees only for malloc),
 * brackets the timed part with bench_start() / bench_stop(), and prints
 * bench_json() (one JSON object, the fields every benchmark shares) with
 * its own fields appended.
 *
 * Refills (gcheap): the GCH_IOC_REFILL system calls that handed out
 * objects, from libgcheap's struct gch_heap_stats when its gcheap.h has
 * the field (GCH_STATS_HAS_REFILLS); bench_refills() is -1 otherwise,
 * and for bdwgc and malloc, and the JSON says null.
 */
#ifndef BENCH_CONTENDER_H
#define BENCH_CONTENDER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Pauses kept for the distribution; more are counted, not listed. */
#define BENCH_MAX_PAUSES	8192
/* Workers whose objects-scanned counts are reported (gcheap). */
#define BENCH_MAX_WORKERS	32

/**
 * struct bench_gc - what the collector did during the run
 * @has_gc:          0 for malloc (nothing else is valid).
 * @collections:     collections, all of them.
 * @pause_total_ns:  their pauses added up.
 * @pause_max_ns:    the longest.
 * @npauses:         entries of @pause_ns (at most BENCH_MAX_PAUSES).
 * @pause_ns:        each pause, in order.
 * @stw_total_ns:    gcheap: time stopping the world, summed.
 * @mark_total_ns:   time marking, summed (bdwgc: its MARK events).
 * @sweep_total_ns:  gcheap: the sweep's part of the pauses; bdwgc: the
 *                   reclaim phase (its sweep is lazy, in allocation).
 * @nworkers:        gcheap: workers of the last collection.
 * @worker_scanned:  gcheap: objects each scanned in the last collection.
 */
struct bench_gc {
	int has_gc;
	uint64_t collections;
	uint64_t pause_total_ns;
	uint64_t pause_max_ns;
	unsigned int npauses;
	uint64_t *pause_ns;
	uint64_t stw_total_ns;
	uint64_t mark_total_ns;
	uint64_t sweep_total_ns;
	unsigned int nworkers;
	uint64_t worker_scanned[BENCH_MAX_WORKERS];
};

extern const char bench_backend[];
extern const int bench_frees;

void bench_init(void);
void *bench_alloc(size_t size);
void *bench_alloc_atomic(size_t size);
void bench_free(void *p);
void bench_gc_enable(int on);
void bench_collect(void);
int bench_set_workers(unsigned int n);
void bench_thread_enter(void);
void bench_thread_leave(void);
void bench_harvest(void);
void bench_gc_summary(struct bench_gc *gc);
int64_t bench_refills(void);

void bench_start(void);
void bench_stop(void);
double bench_wall_s(void);
int64_t bench_timed_refills(void);
double bench_machine_cpu_s(void);
double bench_now_s(void);
long bench_peak_rss_kib(void);
void bench_json(FILE *f, const char *benchmark);
void *bench_xalloc(size_t size, int atomic);

/* xorshift64*: the workloads' deterministic random numbers. */
static inline uint64_t bench_rand(uint64_t *state)
{
	*state ^= *state >> 12;
	*state ^= *state << 25;
	*state ^= *state >> 27;
	return *state * 0x2545f4914f6cdd1dULL;
}

#endif /* BENCH_CONTENDER_H */
