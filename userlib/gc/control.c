// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libgc.so.1 on gcheap: set-up, collection control and statistics.
 *
 * bdwgc's heap parameters map onto gcheap's: GC_free_space_divisor D onto
 * GOGC 300/D (bdwgc's default 3 is gcheap's default 100), GC_dont_gc and
 * GC_disable() onto automatic collection off, GC_set_max_heap_size()
 * before the heap exists onto the arena size.  GCHEAP_* environment
 * variables win over what the program sets, so a run can be tuned from
 * outside (GCHEAP_GOGC=5 collects often).
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gcheap.h"
#include "gc_internal.h"

/* ---- bdwgc's exported variables, with its defaults -------------------- */

GCS_API int GC_all_interior_pointers = 1;
GCS_API int GC_java_finalization = 1;
GCS_API GC_word GC_free_space_divisor = 3;
GCS_API int GC_full_freq = 19;
GCS_API unsigned long GC_time_limit = GC_TIME_UNLIMITED;
GCS_API int GC_dont_gc;
GCS_API int GC_dont_expand;
GCS_API int GC_dont_precollect;
GCS_API int GC_finalize_on_demand;
GCS_API GC_finalizer_notifier_proc GC_finalizer_notifier;
GCS_API int GC_find_leak;
GCS_API GC_word GC_gc_no;
GCS_API int GC_no_dls;
GCS_API GC_word GC_non_gc_bytes;
GCS_API GC_word GC_max_retries;
GCS_API int GC_parallel;
GCS_API int GC_use_entire_heap;
GCS_API char *GC_stackbottom;
GCS_API void *GC_least_plausible_heap_addr = (void *)~(uintptr_t)0;
GCS_API void *GC_greatest_plausible_heap_addr;
GCS_API GC_on_heap_resize_proc GC_on_heap_resize;
/* bdwgc's inline allocator internals: gcheap has no free lists to show */
GCS_API void *GC_objfreelist_ptr, *GC_aobjfreelist_ptr, *GC_uobjfreelist_ptr,
	     *GC_auobjfreelist_ptr;
GCS_API int GC_gcj_kind = GCS_KIND_NORMAL, GC_gcj_debug_kind = GCS_KIND_NORMAL;
GCS_API size_t GC_debug_header_size;	/* no debug headers: stays 0 */
/* bdwgc's internal state, as large as libgc1's so copy relocations fit */
GCS_API char GC_arrays[0x2c9f0] __attribute__((aligned(32)));

static void gcs_default_warn(char *msg, GC_word arg)
{
	fprintf(stderr, msg, arg);
}

static void gcs_default_abort(const char *msg)
{
	if (msg)
		fprintf(stderr, "%s\n", msg);
}

static void *gcs_default_oom(size_t size)
{
	(void)size;
	return NULL;
}

static void gcs_default_same_obj_print(void *p, void *q)
{
	fprintf(stderr, "GC_same_obj: %p and %p are in different objects\n", p, q);
	abort();
}

static void gcs_default_print(void *p)
{
	fprintf(stderr, "GC: %p is not a valid pointer here\n", p);
	abort();
}

static void gcs_no_other_roots(void)
{
}

GCS_API GC_abort_func GC_on_abort = gcs_default_abort;
GCS_API GC_oom_func GC_oom_fn = gcs_default_oom;
GCS_API GC_push_other_roots_proc GC_push_other_roots = gcs_no_other_roots;
GCS_API void (*GC_same_obj_print_proc)(void *, void *) = gcs_default_same_obj_print;
GCS_API void (*GC_is_visible_print_proc)(void *) = gcs_default_print;
GCS_API void (*GC_is_valid_displacement_print_proc)(void *) = gcs_default_print;

static GC_warn_proc gcs_warn_proc = gcs_default_warn;
static size_t gcs_max_heap;

/* ---- set-up ------------------------------------------------------------ */

int gcs_ready;
__thread size_t gcs_tl_bytes __attribute__((tls_model("initial-exec")));
uint64_t gcs_total_bytes, gcs_freed_bytes;

static pthread_mutex_t gcs_init_lock = PTHREAD_MUTEX_INITIALIZER;
static int gcs_auto_off;	/* automatic collection as last applied */
static int gcs_saved_percent = 100;
static int gcs_env_gogc;	/* GCHEAP_GOGC set: the divisor is ignored */

void gcs_warn(const char *msg, GC_word arg)
{
	GC_warn_proc fn = __atomic_load_n(&gcs_warn_proc, __ATOMIC_ACQUIRE);

	fn((char *)msg, arg);
}

static int gcs_percent_of_divisor(GC_word d)
{
	if (d == 0)
		return 100;
	return d >= 300 ? 1 : (int)(300 / d);
}

static size_t gcs_env_size(const char *name)
{
	const char *s = getenv(name);
	char *end;
	unsigned long long v;

	if (!s || !*s)
		return 0;
	v = strtoull(s, &end, 10);
	switch (*end) {
	case 'k': case 'K': v <<= 10; break;
	case 'm': case 'M': v <<= 20; break;
	case 'g': case 'G': v <<= 30; break;
	default: break;
	}
	return (size_t)v;
}

/*
 * bdwgc takes any maximum heap size; the module's arena has bounds (at
 * least 16 heap pages, at most its max_arena_size): a size outside them
 * would fail the set-up, so it is brought inside, with a warning.
 */
static size_t gcs_fit_max_heap(size_t n)
{
	unsigned long long max = 0;
	FILE *f = fopen("/sys/module/gcheap/parameters/max_arena_size", "re");

	if (f) {
		if (fscanf(f, "%llu", &max) != 1)
			max = 0;
		fclose(f);
	}
	if (n < (1u << 20)) {
		gcs_warn("GC Warning: gcheap: maximum heap size %lu raised to 1 MiB\n", n);
		return 1u << 20;
	}
	if (max && n > max) {
		gcs_warn("GC Warning: gcheap: maximum heap size %lu above the module's max_arena_size: its default instead\n", n);
		return 0;
	}
	return n;
}

/*
 * The heap is set up at GC_init() or the first allocation, whichever comes
 * first.  Finalizers run where bdwgc runs them (in allocating threads, or
 * where the program asks), so libgcheap's finalizer thread stays off.
 */
void gcs_init_slow(void)
{
	struct gch_config cfg = { .finalizers = GCH_FINALIZERS_MANUAL };
	const char *s;
	int err;

	pthread_mutex_lock(&gcs_init_lock);
	if (gcs_ready)
		goto out;
	gcs_env_gogc = getenv("GCHEAP_GOGC") && *getenv("GCHEAP_GOGC");
	if (!getenv("GCHEAP_MAX_HEAP"))
		cfg.max_heap = gcs_max_heap ? gcs_max_heap :
			       gcs_env_size("GC_MAXIMUM_HEAP_SIZE");
	s = getenv("GC_FREE_SPACE_DIVISOR");
	if (s && *s)
		GC_free_space_divisor = strtoul(s, NULL, 10);
	if (getenv("GC_DONT_GC"))
		GC_dont_gc = 1;
	if (!gcs_env_gogc && GC_free_space_divisor != 3)
		cfg.gc_percent = gcs_percent_of_divisor(GC_free_space_divisor);
	if (cfg.max_heap)
		cfg.max_heap = gcs_fit_max_heap(cfg.max_heap);
	if (gch_init(&cfg) && errno != EBUSY) {
		err = errno;
		fprintf(stderr, "libgc.so.1 (gcheap): cannot set the heap up: %s%s\n",
			strerror(err), err == ENODEV ?
			" (/dev/gcheap is missing: load the gcheap module, or run the program with Debian's libgc1)" : "");
		GC_on_abort("libgc.so.1 (gcheap): no heap");
		abort();
	}
	/* the pacing the heap got (config or GCHEAP_GOGC), and its bounds */
	{
		struct gch_heap_stats st;

		if (gch_stats(&st) == 0) {
			gcs_saved_percent = st.gc_percent == GCH_GC_PERCENT_OFF ?
					    -1 : (int)st.gc_percent;
			GC_least_plausible_heap_addr = st.arena_start;
			GC_greatest_plausible_heap_addr =
				(char *)st.arena_start + st.arena_size;
		}
	}
	gcs_auto_off = gcs_saved_percent < 0;
	__atomic_store_n(&gcs_ready, 1, __ATOMIC_RELEASE);
	gcs_sync_dont_gc();
out:
	pthread_mutex_unlock(&gcs_init_lock);
}

GCS_API void GC_init(void)
{
	gcs_init();
}

GCS_API int GC_is_init_called(void)
{
	return __atomic_load_n(&gcs_ready, __ATOMIC_ACQUIRE);
}

GCS_API void GC_deinit(void)
{
}

/* ---- automatic collection on and off ----------------------------------- */

static pthread_mutex_t gcs_ctl_lock = PTHREAD_MUTEX_INITIALIZER;
static int gcs_disable_auto;	/* GC_set_disable_automatic_collection() */

static int gcs_auto_wanted_off(void)
{
	return __atomic_load_n(&GC_dont_gc, __ATOMIC_RELAXED) ||
	       __atomic_load_n(&gcs_disable_auto, __ATOMIC_RELAXED);
}

/*
 * Apply GC_dont_gc and GC_disable() to gcheap's pacing: automatic
 * collection off.  (A collection for an allocation that found the heap
 * full still runs; bdwgc would grow the heap instead.)
 */
void gcs_sync_dont_gc(void)
{
	int off;

	if (!__atomic_load_n(&gcs_ready, __ATOMIC_ACQUIRE))
		return;
	pthread_mutex_lock(&gcs_ctl_lock);
	off = gcs_auto_wanted_off();
	if (off != gcs_auto_off) {
		if (off) {
			int old = gch_set_gc_percent(-1);

			if (old >= -1) {
				gcs_saved_percent = old;
				gcs_auto_off = 1;
			}
		} else if (gch_set_gc_percent(gcs_saved_percent) >= -1) {
			gcs_auto_off = 0;
		}
	}
	pthread_mutex_unlock(&gcs_ctl_lock);
}

GCS_API void GC_disable(void)
{
	gcs_init();
	__atomic_add_fetch(&GC_dont_gc, 1, __ATOMIC_SEQ_CST);
	gcs_sync_dont_gc();
}

GCS_API void GC_enable(void)
{
	int n = __atomic_load_n(&GC_dont_gc, __ATOMIC_RELAXED);

	do {
		if (n <= 0) {
			gcs_warn("GC Warning: GC_enable without GC_disable\n", 0);
			return;
		}
	} while (!__atomic_compare_exchange_n(&GC_dont_gc, &n, n - 1, 0,
					      __ATOMIC_SEQ_CST, __ATOMIC_RELAXED));
	gcs_sync_dont_gc();
}

GCS_API int GC_is_disabled(void)
{
	return GC_dont_gc != 0;
}

GCS_API void GC_set_disable_automatic_collection(int off)
{
	gcs_init();
	gcs_disable_auto = !!off;
	gcs_sync_dont_gc();
}

GCS_API int GC_get_disable_automatic_collection(void)
{
	return gcs_disable_auto;
}

GCS_API void GC_set_free_space_divisor(GC_word d)
{
	GC_free_space_divisor = d;
	if (!gcs_ready || gcs_env_gogc)
		return;
	pthread_mutex_lock(&gcs_ctl_lock);
	gcs_saved_percent = gcs_percent_of_divisor(d);
	if (!gcs_auto_off)
		gch_set_gc_percent(gcs_saved_percent);
	pthread_mutex_unlock(&gcs_ctl_lock);
}

GCS_API GC_word GC_get_free_space_divisor(void)
{
	return GC_free_space_divisor;
}

/* Only before the heap exists: the arena's size is fixed then. */
GCS_API void GC_set_max_heap_size(GC_word n)
{
	if (gcs_ready) {
		GCS_WARN_ONCE("GC_set_max_heap_size after the heap was set up has no effect");
		return;
	}
	gcs_max_heap = n;
}

GCS_API int GC_expand_hp(size_t bytes)
{
	(void)bytes;
	gcs_init();
	return 1;	/* the arena is reserved whole at set-up */
}

/* ---- collection -------------------------------------------------------- */

static GC_on_collection_event_proc gcs_event_fn;
static GC_start_callback_proc gcs_start_fn;
static GC_stop_func gcs_stop_fn;

/* A new collection seen: bdwgc's counters that reset per collection. */
static void gcs_note_gc(void)
{
	struct gch_collection c;

	if (gch_last_collection(&c) == 0 && c.gc_number != GC_gc_no) {
		__atomic_store_n(&GC_gc_no, c.gc_number, __ATOMIC_RELAXED);
		__atomic_store_n(&gcs_freed_bytes, 0, __ATOMIC_RELAXED);
	}
}

static int gcs_collect(void)
{
	int ok;

	gcs_init();
	gcs_sync_dont_gc();
	if (__atomic_load_n(&GC_dont_gc, __ATOMIC_RELAXED))
		return 0;	/* bdwgc: GC_gcollect does nothing while disabled */
	if (gcs_start_fn)
		gcs_start_fn();
	if (gcs_event_fn)
		gcs_event_fn(GC_EVENT_START);
	ok = gch_collect() == 0;
	if (gcs_event_fn)
		gcs_event_fn(GC_EVENT_END);
	gcs_note_gc();
	gcs_fin_checkpoint(1);
	return ok;
}

GCS_API void GC_gcollect(void)
{
	gcs_collect();
}

GCS_API void GC_gcollect_and_unmap(void)
{
	gcs_collect();
}

GCS_API int GC_try_to_collect(GC_stop_func stop)
{
	(void)stop;	/* a collection here is one pause: nothing to stop */
	return gcs_collect();
}

GCS_API int GC_collect_a_little(void)
{
	gcs_init();
	gcs_fin_checkpoint(0);
	return 0;	/* not incremental: nothing is ever in progress */
}

GCS_API void GC_start_incremental_collection(void)
{
}

GCS_API void GC_enable_incremental(void)
{
}

GCS_API int GC_is_incremental_mode(void)
{
	return 0;
}

GCS_API int GC_incremental_protection_needs(void)
{
	return GC_PROTECTS_NONE;
}

GCS_KNOB(GC_stop_func, stop_func, gcs_stop_fn)
GCS_KNOB(GC_on_collection_event_proc, on_collection_event, gcs_event_fn)
GCS_KNOB(GC_start_callback_proc, start_callback, gcs_start_fn)

/*
 * Every GCS_CHECKPOINT_BYTES a thread allocates: report its bytes, apply
 * a changed GC_dont_gc and run or announce finalizers, as bdwgc does in
 * its allocation slow path.
 */
void gcs_checkpoint(void)
{
	size_t n = gcs_tl_bytes;

	gcs_tl_bytes = 0;
	__atomic_add_fetch(&gcs_total_bytes, n, __ATOMIC_RELAXED);
	if (gcs_auto_wanted_off() != __atomic_load_n(&gcs_auto_off, __ATOMIC_RELAXED))
		gcs_sync_dont_gc();
	gcs_fin_checkpoint(0);
}

void gcs_count_freed(size_t bytes)
{
	__atomic_add_fetch(&gcs_freed_bytes, bytes, __ATOMIC_RELAXED);
}

/* ---- statistics -------------------------------------------------------- */

GCS_API unsigned GC_get_version(void)
{
	return ((unsigned)GC_VERSION_MAJOR << 16) | (GC_VERSION_MINOR << 8) |
	       GC_VERSION_MICRO;
}

GCS_API GC_word GC_get_gc_no(void)
{
	gcs_init();
	gcs_note_gc();
	return GC_gc_no;
}

static void gcs_stats(struct gch_heap_stats *st)
{
	gcs_init();
	if (gch_stats(st))
		memset(st, 0, sizeof(*st));
}

GCS_API size_t GC_get_heap_size(void)
{
	struct gch_heap_stats st;

	gcs_stats(&st);
	return st.mapped_bytes + st.idle_bytes;
}

GCS_API size_t GC_get_free_bytes(void)
{
	struct gch_heap_stats st;
	size_t heap;

	gcs_stats(&st);
	heap = st.mapped_bytes + st.idle_bytes;
	return heap > st.inuse_bytes ? heap - st.inuse_bytes : 0;
}

GCS_API size_t GC_get_unmapped_bytes(void)
{
	return 0;	/* returned pages give their address space back too */
}

GCS_API size_t GC_get_memory_use(void)
{
	struct gch_heap_stats st;

	gcs_stats(&st);
	return st.inuse_bytes;
}

GCS_API size_t GC_get_total_bytes(void)
{
	return __atomic_load_n(&gcs_total_bytes, __ATOMIC_RELAXED) + gcs_tl_bytes;
}

GCS_API size_t GC_get_bytes_since_gc(void)
{
	struct gch_heap_stats st;
	struct gch_collection c;

	gcs_stats(&st);
	if (gch_last_collection(&c))
		return st.inuse_bytes;
	return st.inuse_bytes > c.heap_after ? st.inuse_bytes - c.heap_after : 0;
}

GCS_API size_t GC_get_expl_freed_bytes_since_gc(void)
{
	return __atomic_load_n(&gcs_freed_bytes, __ATOMIC_RELAXED);
}

GCS_API size_t GC_get_obtained_from_os_bytes(void)
{
	struct gch_heap_stats st;

	gcs_stats(&st);
	return st.mapped_bytes + st.idle_bytes + st.metadata_bytes;
}

GCS_API void GC_get_heap_usage_safe(GC_word *heap, GC_word *free_bytes,
				    GC_word *unmapped, GC_word *since_gc,
				    GC_word *total)
{
	if (heap)
		*heap = GC_get_heap_size();
	if (free_bytes)
		*free_bytes = GC_get_free_bytes();
	if (unmapped)
		*unmapped = 0;
	if (since_gc)
		*since_gc = GC_get_bytes_since_gc();
	if (total)
		*total = GC_get_total_bytes();
}

GCS_API size_t GC_get_prof_stats(struct GC_prof_stats_s *out, size_t size)
{
	struct GC_prof_stats_s s;
	struct gch_heap_stats st;
	struct gch_collection c;
	uint64_t total = GC_get_total_bytes();

	memset(&s, 0xff, sizeof(s));	/* bdwgc: all ones is "unknown" */
	gcs_stats(&st);
	s.heapsize_full = st.mapped_bytes + st.idle_bytes;
	s.free_bytes_full = s.heapsize_full > st.inuse_bytes ?
			    s.heapsize_full - st.inuse_bytes : 0;
	s.unmapped_bytes = 0;
	s.bytes_allocd_since_gc = GC_get_bytes_since_gc();
	s.allocd_bytes_before_gc = total > s.bytes_allocd_since_gc ?
				   total - s.bytes_allocd_since_gc : 0;
	s.non_gc_bytes = GC_non_gc_bytes;
	s.gc_no = st.num_gc;
	s.markers_m1 = st.workers ? st.workers - 1 : 0;
	if (gch_last_collection(&c) == 0)
		s.bytes_reclaimed_since_gc = c.bytes_freed;
	s.expl_freed_bytes_since_gc = GC_get_expl_freed_bytes_since_gc();
	s.obtained_from_os_bytes = s.heapsize_full + st.metadata_bytes;
	if (size > sizeof(s)) {
		memset((char *)out + sizeof(s), 0xff, size - sizeof(s));
		size = sizeof(s);
	}
	memcpy(out, &s, size);
	return size;
}

GCS_API size_t GC_get_prof_stats_unsafe(struct GC_prof_stats_s *out, size_t size)
{
	return GC_get_prof_stats(out, size);
}

GCS_API unsigned long GC_get_full_gc_total_time(void)
{
	struct gch_heap_stats st;

	gcs_stats(&st);
	return (unsigned long)(st.pause_total_ns / 1000000);
}

GCS_API void GC_start_performance_measurement(void)
{
}

GCS_API void GC_incr_bytes_allocd(size_t n)
{
	__atomic_add_fetch(&gcs_total_bytes, n, __ATOMIC_RELAXED);
}

GCS_API void GC_incr_bytes_freed(size_t n)
{
	gcs_count_freed(n);
}

/* ---- warnings, aborts, out of memory ------------------------------------ */

GCS_API void GC_set_warn_proc(GC_warn_proc fn)
{
	__atomic_store_n(&gcs_warn_proc, fn, __ATOMIC_RELEASE);
}

GCS_API GC_warn_proc GC_get_warn_proc(void)
{
	return __atomic_load_n(&gcs_warn_proc, __ATOMIC_ACQUIRE);
}

GCS_API void GC_ignore_warn_proc(char *msg, GC_word arg)
{
	(void)msg;
	(void)arg;
}

GCS_KNOB(GC_abort_func, abort_func, GC_on_abort)
GCS_KNOB(GC_oom_func, oom_fn, GC_oom_fn)

GCS_API void GC_abort_on_oom(void)
{
	fprintf(stderr, "GC_abort_on_oom: out of memory\n");
	GC_on_abort("Out of memory");
	abort();
}

static int gcs_log_fd = 2;

GCS_API void GC_set_log_fd(int fd)
{
	gcs_log_fd = fd;
}

GCS_API void GC_printf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fflush(stdout);
}

GCS_API void GC_err_printf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

GCS_API void GC_log_printf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdprintf(gcs_log_fd, fmt, ap);
	va_end(ap);
}
