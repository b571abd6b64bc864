// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libgc.so.1 on gcheap: bdwgc's tuning knobs.
 *
 * Each setting is kept so its getter returns what was set; those that have
 * a meaning on gcheap act on it elsewhere (control.c, finalize.c).  The
 * rest tune bdwgc's own algorithms (full-collection frequency, time
 * limits, incremental mode, unmapping) and change nothing here; see
 * Documentation/gc-compat.rst.
 */
#include <signal.h>

#include "gcheap.h"
#include "gc_internal.h"

static int gcs_rate = 10, gcs_max_prior_attempts = 1, gcs_force_unmap;
static int gcs_manual_vdb, gcs_markers;
static GC_word gcs_allocd_bytes_per_finalizer = 10000;
static size_t gcs_min_bytes_allocd = 1;
static GC_await_finalize_proc gcs_await_finalize;
static GC_on_thread_event_proc gcs_on_thread_event;
static GC_toggleref_func gcs_toggleref;
static int gcs_suspend_signal = SIGPWR, gcs_restart_signal = SIGXCPU;
static struct GC_timeval_s gcs_time_limit_tv = { GC_TIME_UNLIMITED, 0 };

GCS_KNOB(int, dont_expand, GC_dont_expand)
GCS_KNOB(int, full_freq, GC_full_freq)
GCS_KNOB(GC_word, non_gc_bytes, GC_non_gc_bytes)
GCS_KNOB(int, no_dls, GC_no_dls)	/* gcheap scans every library anyway */
GCS_KNOB(GC_word, max_retries, GC_max_retries)
GCS_KNOB(int, dont_precollect, GC_dont_precollect)
GCS_KNOB(unsigned long, time_limit, GC_time_limit)
GCS_KNOB(struct GC_timeval_s, time_limit_tv, gcs_time_limit_tv)
GCS_KNOB(GC_word, allocd_bytes_per_finalizer, gcs_allocd_bytes_per_finalizer)
GCS_KNOB(size_t, min_bytes_allocd, gcs_min_bytes_allocd)
GCS_KNOB(int, rate, gcs_rate)
GCS_KNOB(int, max_prior_attempts, gcs_max_prior_attempts)
GCS_KNOB(int, force_unmap_on_gcollect, gcs_force_unmap)
GCS_KNOB(int, manual_vdb_allowed, gcs_manual_vdb)
GCS_KNOB(GC_await_finalize_proc, await_finalize_proc, gcs_await_finalize)
GCS_KNOB(GC_on_thread_event_proc, on_thread_event, gcs_on_thread_event)
GCS_KNOB(GC_on_heap_resize_proc, on_heap_resize, GC_on_heap_resize)
GCS_KNOB(GC_toggleref_func, toggleref_func, gcs_toggleref)
GCS_KNOB(int, java_finalization, GC_java_finalization)
GCS_KNOB(GC_finalizer_notifier_proc, finalizer_notifier, GC_finalizer_notifier)
GCS_KNOB(int, finalize_on_demand, GC_finalize_on_demand)
GCS_KNOB(int, suspend_signal, gcs_suspend_signal)

GCS_API void GC_set_thr_restart_signal(int sig)
{
	gcs_restart_signal = sig;
}

GCS_API int GC_get_thr_restart_signal(void)
{
	return gcs_restart_signal;
}

/* Pointers anywhere into an object are always recognised. */
GCS_API void GC_set_all_interior_pointers(int v)
{
	GC_all_interior_pointers = v;
}

GCS_API int GC_get_all_interior_pointers(void)
{
	return GC_all_interior_pointers;
}

GCS_API void GC_set_find_leak(int v)
{
	if (v)
		GCS_WARN_ONCE("GC_set_find_leak: leak-detection mode is not supported; objects are collected as usual");
	GC_find_leak = v;
}

GCS_API int GC_get_find_leak(void)
{
	return GC_find_leak;
}

static int gcs_pages_executable;

GCS_API void GC_set_pages_executable(int v)
{
	if (v)
		GCS_WARN_ONCE("GC_set_pages_executable: gcheap's heap is never executable");
	gcs_pages_executable = v;
}

GCS_API int GC_get_pages_executable(void)
{
	return 0;
}

GCS_API void GC_set_markers_count(unsigned int n)
{
	gcs_markers = (int)n;	/* gcheap's workers: GCHEAP_WORKERS */
}

GCS_API int GC_get_parallel(void)
{
	return GC_parallel;
}

GCS_API void GC_start_mark_threads(void)
{
}

GCS_API void GC_set_handle_fork(int v)
{
	(void)v;	/* a forked child cannot use its parent's heap */
}

GCS_API size_t GC_get_debug_header_size(void)
{
	return GC_debug_header_size;
}

/* The size bdwgc would round a request of @i bytes to. */
GCS_API size_t GC_get_size_map_at(int i)
{
	if (i < 0 || i > 4096 / 2)	/* bdwgc's small-object limit */
		return (size_t)-1;
	return ((size_t)i + 1 + 15) & ~(size_t)15;
}
