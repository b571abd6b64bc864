// SPDX-License-Identifier: GPL-2.0
/*
 * bench/lib/contender: see contender.h.
 *
 * CPU time is measured twice: the process's own (getrusage: user +
 * system of its threads) and the whole machine's busy time from
 * /proc/stat.  The second is what counts for gcheap, whose collector runs
 * in kernel threads that are not the process's; it is meaningful because
 * a benchmark VM runs nothing else.
 */
#if defined(BENCH_BDWGC) + defined(BENCH_MALLOC) + defined(BENCH_GCHEAP) > 1
#error "contender: define at most one BENCH_*"
#endif
#if !defined(BENCH_BDWGC) && !defined(BENCH_MALLOC) && !defined(BENCH_GCHEAP)
#define BENCH_GCHEAP
#endif

#ifdef BENCH_BDWGC
#define GC_THREADS
#define GC_NO_THREAD_REDIRECTS
#include <gc.h>
#endif

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "contender.h"

#ifdef BENCH_GCHEAP
#include <linux/gcheap.h>
#include "gcheap.h"
#endif

static struct bench_gc summary;
static uint64_t pauses[BENCH_MAX_PAUSES];
static uint64_t collections_before;	/* bench_start() */
static pthread_mutex_t summary_lock = PTHREAD_MUTEX_INITIALIZER;

static inline void record_pause(uint64_t ns)
{
	if (summary.npauses < BENCH_MAX_PAUSES)
		pauses[summary.npauses++] = ns;
	summary.pause_total_ns += ns;
	if (ns > summary.pause_max_ns)
		summary.pause_max_ns = ns;
}

void *bench_xalloc(size_t size, int atomic)
{
	void *p = atomic ? bench_alloc_atomic(size) : bench_alloc(size);

	if (!p) {
		fprintf(stderr, "%s: allocation of %zu bytes failed: %s\n",
			bench_backend, size, strerror(errno));
		exit(1);
	}
	return p;
}

#if defined(BENCH_GCHEAP)

const char bench_backend[] = "gcheap";
const int bench_frees;

/*
 * The heap's file descriptor, for GCH_IOC_GC_STATS (per-worker numbers,
 * which libgcheap does not pass on): the descriptor of this process that
 * is /dev/gcheap.  Only its owner may use it, and this is the owner.
 */
static int gcheap_fd = -1;

static int find_gcheap_fd(void)
{
	char path[300], target[64];
	struct dirent *d;
	DIR *dir;
	ssize_t n;
	int fd = -1;

	dir = opendir("/proc/self/fd");
	if (!dir)
		return -1;
	while (fd < 0 && (d = readdir(dir))) {
		snprintf(path, sizeof(path), "/proc/self/fd/%s", d->d_name);
		n = readlink(path, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = 0;
		if (!strcmp(target, GCH_DEVICE_PATH))
			fd = atoi(d->d_name);
	}
	closedir(dir);
	return fd;
}

void bench_init(void)
{
	struct gch_heap_stats st;

	/* set the heap up outside the timed part; fail early without it */
	if (gch_stats(&st)) {
		fprintf(stderr, "gcheap: gch_stats: %s\n", strerror(errno));
		exit(1);
	}
	gcheap_fd = find_gcheap_fd();
	summary.has_gc = 1;
	summary.pause_ns = pauses;
}

void *bench_alloc(size_t size)
{
	return gch_malloc(size);
}

void *bench_alloc_atomic(size_t size)
{
	return gch_malloc_atomic(size);
}

void bench_free(void *p)
{
	(void)p;
}

void bench_gc_enable(int on)
{
	gch_set_gc_percent(on ? 100 : -1);
}

void bench_collect(void)
{
	if (gch_collect()) {
		fprintf(stderr, "gcheap: gch_collect: %s\n", strerror(errno));
		exit(1);
	}
	bench_harvest();
}

/*
 * Collector threads for this heap's next collections: how many of the
 * module's pool (its workers parameter) mark.  GCH_IOC_CONFIGURE takes
 * the per-heap value at any time; libgcheap only sets it up front.
 */
int bench_set_workers(unsigned int n)
{
	struct gch_heap_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.hdr.size = sizeof(cfg);
	cfg.workers = n;
	return gcheap_fd < 0 ? -1 : ioctl(gcheap_fd, GCH_IOC_CONFIGURE, &cfg);
}

void bench_thread_enter(void)
{
}

void bench_thread_leave(void)
{
}

/* GCH_IOC_REFILL calls that handed out objects since the heap began. */
int64_t bench_refills(void)
{
#ifdef GCH_STATS_HAS_REFILLS
	struct gch_heap_stats st;

	if (gch_stats(&st)) {
		fprintf(stderr, "gcheap: gch_stats: %s\n", strerror(errno));
		exit(1);
	}
	return st.refills;
#else
	return -1;	/* this libgcheap does not count them */
#endif
}

/*
 * Fold the collections not seen yet into the summary.  The module keeps
 * the last GCH_GC_HISTORY: call this at least that often (every workload
 * does, at points far apart enough to cost nothing).
 */
void bench_harvest(void)
{
	static struct gch_gc_info hist[GCH_GC_HISTORY];
	static uint64_t last_seen;
	struct gch_gc_stats st;
	unsigned int k;

	if (gcheap_fd < 0)
		return;
	pthread_mutex_lock(&summary_lock);
	memset(&st, 0, sizeof(st));
	st.hdr.size = sizeof(st);
	st.history = (uintptr_t)hist;
	st.history_max = GCH_GC_HISTORY;
	if (ioctl(gcheap_fd, GCH_IOC_GC_STATS, &st)) {
		fprintf(stderr, "gcheap: GCH_IOC_GC_STATS: %s\n", strerror(errno));
		pthread_mutex_unlock(&summary_lock);
		return;
	}
	if (st.num_gc > last_seen + st.history_count)
		fprintf(stderr, "gcheap: %llu collections not harvested\n",
			(unsigned long long)(st.num_gc - last_seen -
					     st.history_count));
	for (k = 0; k < st.history_count; k++) {
		const struct gch_gc_info *gi = &hist[k];

		if (gi->gc_number <= last_seen)
			continue;
		last_seen = gi->gc_number;
		record_pause(gi->pause_ns);
		summary.stw_total_ns += gi->stw_ns;
		summary.mark_total_ns += gi->mark_ns;
		summary.sweep_total_ns += gi->sweep_ns;
	}
	summary.collections = st.num_gc;
	summary.nworkers = st.nr_workers < BENCH_MAX_WORKERS ?
			   st.nr_workers : BENCH_MAX_WORKERS;
	for (k = 0; k < summary.nworkers; k++)
		summary.worker_scanned[k] = st.worker[k].objects_scanned;
	pthread_mutex_unlock(&summary_lock);
}

#elif defined(BENCH_BDWGC)

const char bench_backend[] = "bdwgc";
const int bench_frees;

/*
 * Pauses: from GC_EVENT_PRE_STOP_WORLD to GC_EVENT_POST_START_WORLD;
 * marking from GC_EVENT_MARK_START to GC_EVENT_MARK_END; the reclaim
 * phase from GC_EVENT_RECLAIM_START to _END.  The callback runs with the
 * allocation lock held, so the summary needs no lock of its own there.
 */
static uint64_t stop_t, mark_t, reclaim_t;
static GC_word gc_no_at_start;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void on_gc_event(GC_EventType ev)
{
	uint64_t t = now_ns();

	switch (ev) {
	case GC_EVENT_PRE_STOP_WORLD:
		stop_t = t;
		break;
	case GC_EVENT_POST_START_WORLD:
		if (stop_t)
			record_pause(t - stop_t);
		stop_t = 0;
		break;
	case GC_EVENT_MARK_START:
		mark_t = t;
		break;
	case GC_EVENT_MARK_END:
		summary.mark_total_ns += t - mark_t;
		break;
	case GC_EVENT_RECLAIM_START:
		reclaim_t = t;
		break;
	case GC_EVENT_RECLAIM_END:
		summary.sweep_total_ns += t - reclaim_t;
		break;
	default:
		break;
	}
}

void bench_init(void)
{
	GC_INIT();
	GC_allow_register_threads();
	GC_set_on_collection_event(on_gc_event);
	gc_no_at_start = GC_get_gc_no();
	summary.has_gc = 1;
	summary.pause_ns = pauses;
}

void *bench_alloc(size_t size)
{
	return GC_MALLOC(size);
}

void *bench_alloc_atomic(size_t size)
{
	return GC_MALLOC_ATOMIC(size);
}

void bench_free(void *p)
{
	(void)p;
}

void bench_gc_enable(int on)
{
	if (on)
		GC_enable();
	else
		GC_disable();
}

void bench_collect(void)
{
	GC_gcollect();
}

/* Fixed when bdwgc starts: GC_MARKERS in the environment. */
int bench_set_workers(unsigned int n)
{
	(void)n;
	return -1;
}

void bench_thread_enter(void)
{
	struct GC_stack_base sb;

	if (GC_get_stack_base(&sb) != GC_SUCCESS) {
		fprintf(stderr, "bdwgc: GC_get_stack_base failed\n");
		exit(1);
	}
	GC_register_my_thread(&sb);
}

void bench_thread_leave(void)
{
	GC_unregister_my_thread();
}

int64_t bench_refills(void)
{
	return -1;
}

void bench_harvest(void)
{
	GC_alloc_lock();
	summary.collections = GC_get_gc_no() - gc_no_at_start;
	GC_alloc_unlock();
}

#else /* BENCH_MALLOC */

const char bench_backend[] = "malloc";
const int bench_frees = 1;

void bench_init(void)
{
	summary.pause_ns = pauses;	/* none, but never a NULL */
}

void *bench_alloc(size_t size)
{
	return calloc(1, size);		/* zeroed, as the collectors' */
}

void *bench_alloc_atomic(size_t size)
{
	return malloc(size);
}

void bench_free(void *p)
{
	free(p);
}

void bench_gc_enable(int on)
{
	(void)on;
}

void bench_collect(void)
{
}

int bench_set_workers(unsigned int n)
{
	(void)n;
	return -1;
}

void bench_thread_enter(void)
{
}

void bench_thread_leave(void)
{
}

int64_t bench_refills(void)
{
	return -1;
}

void bench_harvest(void)
{
}

#endif

void bench_gc_summary(struct bench_gc *gc)
{
	bench_harvest();
	pthread_mutex_lock(&summary_lock);
	*gc = summary;
	gc->collections -= collections_before;
	pthread_mutex_unlock(&summary_lock);
}

/* --- the run's numbers ------------------------------------------------- */

static double wall0, wall1, cpu0, cpu1, mach0, mach1;
static int64_t refills0, refills1;

/* CLOCK_MONOTONIC, in seconds. */
double bench_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double self_cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* Busy CPU seconds of the whole machine (all but idle and iowait). */
double bench_machine_cpu_s(void)
{
	unsigned long long v[10] = { 0 };
	FILE *f = fopen("/proc/stat", "r");
	double busy;
	int n;

	if (!f)
		return 0;
	n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu",
		   &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7],
		   &v[8], &v[9]);
	fclose(f);
	if (n < 8)
		return 0;
	/* user nice system idle iowait irq softirq steal */
	busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
	return busy / sysconf(_SC_CLK_TCK);
}

/* Peak RSS of the process so far (VmHWM), KiB; -1 if unknown. */
long bench_peak_rss_kib(void)
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

/*
 * The timed part starts: what the collector did before (setting the heap
 * up, building a workload's data) is not counted.
 */
void bench_start(void)
{
	bench_harvest();
	pthread_mutex_lock(&summary_lock);
	collections_before = summary.collections;
	summary.npauses = 0;
	summary.pause_total_ns = 0;
	summary.pause_max_ns = 0;
	summary.stw_total_ns = 0;
	summary.mark_total_ns = 0;
	summary.sweep_total_ns = 0;
	pthread_mutex_unlock(&summary_lock);
	refills0 = bench_refills();
	mach0 = bench_machine_cpu_s();
	cpu0 = self_cpu_s();
	wall0 = bench_now_s();
}

void bench_stop(void)
{
	wall1 = bench_now_s();
	cpu1 = self_cpu_s();
	mach1 = bench_machine_cpu_s();
	refills1 = bench_refills();
}

/* Wall time from bench_start() to bench_stop(). */
double bench_wall_s(void)
{
	return wall1 - wall0;
}

/* Refills from bench_start() to bench_stop(); -1 if not counted. */
int64_t bench_timed_refills(void)
{
	return refills0 < 0 || refills1 < 0 ? -1 : refills1 - refills0;
}

static double ms(uint64_t ns)
{
	return ns / 1e6;
}

/*
 * The shared fields, as the start of a JSON object: the caller appends
 * its own fields, each with a leading ", ", and the closing brace.
 */
void bench_json(FILE *f, const char *benchmark)
{
	struct bench_gc gc;
	unsigned int k;

	bench_gc_summary(&gc);
	fprintf(f, "{\"benchmark\": \"%s\", \"backend\": \"%s\", ", benchmark,
		bench_backend);
	fprintf(f, "\"wall_s\": %.6f, \"cpu_s\": %.6f, \"machine_cpu_s\": %.3f, ",
		wall1 - wall0, cpu1 - cpu0, mach1 - mach0);
	fprintf(f, "\"peak_rss_kib\": %ld", bench_peak_rss_kib());
	if (bench_timed_refills() < 0)
		fprintf(f, ", \"refills\": null");
	else
		fprintf(f, ", \"refills\": %" PRId64, bench_timed_refills());
	if (!gc.has_gc) {
		fprintf(f, ", \"collections\": null");
		return;
	}
	fprintf(f, ", \"collections\": %" PRIu64 ", \"pause_total_ms\": %.3f",
		gc.collections, ms(gc.pause_total_ns));
	fprintf(f, ", \"pause_max_ms\": %.3f, \"pause_mean_ms\": %.3f",
		ms(gc.pause_max_ns),
		gc.npauses ? ms(gc.pause_total_ns) / gc.npauses : 0.0);
	fprintf(f, ", \"mark_total_ms\": %.3f, \"sweep_total_ms\": %.3f",
		ms(gc.mark_total_ns), ms(gc.sweep_total_ns));
#ifdef BENCH_GCHEAP
	fprintf(f, ", \"stw_total_ms\": %.3f, \"worker_scanned_last\": [",
		ms(gc.stw_total_ns));
	for (k = 0; k < gc.nworkers; k++)
		fprintf(f, "%s%" PRIu64, k ? ", " : "", gc.worker_scanned[k]);
	fprintf(f, "]");
#endif
	fprintf(f, ", \"pauses_ms\": [");
	for (k = 0; k < gc.npauses; k++)
		fprintf(f, "%s%.3f", k ? ", " : "", ms(gc.pause_ns[k]));
	fprintf(f, "]");
}
