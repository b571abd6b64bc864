// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libgc.so.1 on gcheap: roots, pointer queries, the mark-procedure API and
 * debugging dumps.
 *
 * gcheap finds its own roots (every thread's registers and stacks, the
 * data and bss of every loaded object) and scans conservatively, so
 * excluding roots or describing layouts only ever makes bdwgc scan less:
 * ignoring such a call keeps more alive, never less.  The mark-procedure
 * API is the exception: a procedure that pushes what no word holds cannot
 * be honoured, and says so through the warn proc.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "gcheap.h"
#include "gc_internal.h"

/* ---- roots ---------------------------------------------------------------- */

/* The ranges of GC_add_roots(), for GC_clear_roots(). */
struct gcs_root {
	char *lo, *hi;
};
static pthread_mutex_t gcs_roots_lock = PTHREAD_MUTEX_INITIALIZER;
static struct gcs_root *gcs_roots;
static size_t gcs_nroots, gcs_roots_cap;

GCS_API void GC_add_roots(void *lo, void *hi)
{
	struct gcs_root *r;

	if ((char *)lo >= (char *)hi)
		return;
	gcs_init();
	if (gch_add_roots(lo, hi)) {
		gcs_warn("GC Warning: gcheap could not add roots at %p\n", (GC_word)lo);
		return;
	}
	pthread_mutex_lock(&gcs_roots_lock);
	if (gcs_nroots == gcs_roots_cap) {
		size_t cap = gcs_roots_cap ? 2 * gcs_roots_cap : 16;

		r = realloc(gcs_roots, cap * sizeof(*r));
		if (r) {
			gcs_roots = r;
			gcs_roots_cap = cap;
		}
	}
	if (gcs_nroots < gcs_roots_cap)
		gcs_roots[gcs_nroots++] = (struct gcs_root){ lo, hi };
	pthread_mutex_unlock(&gcs_roots_lock);
}

GCS_API void GC_remove_roots(void *lo, void *hi)
{
	size_t i, j = 0;

	if ((char *)lo >= (char *)hi)
		return;
	gcs_init();
	gch_remove_roots(lo, hi);
	pthread_mutex_lock(&gcs_roots_lock);
	for (i = 0; i < gcs_nroots; i++)
		if (gcs_roots[i].lo < (char *)lo || gcs_roots[i].hi > (char *)hi)
			gcs_roots[j++] = gcs_roots[i];
	gcs_nroots = j;
	pthread_mutex_unlock(&gcs_roots_lock);
}

GCS_API void GC_clear_roots(void)
{
	size_t i;

	gcs_init();
	pthread_mutex_lock(&gcs_roots_lock);
	for (i = 0; i < gcs_nroots; i++)
		gch_remove_roots(gcs_roots[i].lo, gcs_roots[i].hi);
	gcs_nroots = 0;
	pthread_mutex_unlock(&gcs_roots_lock);
}

GCS_API int GC_is_tmp_root(void *p)
{
	(void)p;
	return 0;
}

GCS_API void GC_exclude_static_roots(void *lo, void *hi)
{
	(void)lo;
	(void)hi;	/* scanned anyway: more is kept, nothing is lost */
}

GCS_API void GC_clear_exclusion_table(void)
{
}

GCS_API void GC_register_has_static_roots_callback(GC_has_static_roots_func fn)
{
	(void)fn;	/* every library's data is scanned */
}

GCS_API void GC_set_push_other_roots(GC_push_other_roots_proc fn)
{
	GC_push_other_roots = fn;
	if (fn)
		GCS_WARN_ONCE("GC_set_push_other_roots: the procedure is never called, so roots only it pushes are NOT scanned; use GC_add_roots");
}

GCS_API GC_push_other_roots_proc GC_get_push_other_roots(void)
{
	return GC_push_other_roots;
}

/* Only meaningful inside a mark procedure, which never runs here. */
GCS_API void GC_push_all(void *lo, void *hi)
{
	(void)lo;
	(void)hi;
	GCS_WARN_ONCE("GC_push_all outside a collection: ignored");
}

GCS_API void GC_push_all_eager(void *lo, void *hi)
{
	(void)lo;
	(void)hi;
	GCS_WARN_ONCE("GC_push_all_eager outside a collection: ignored");
}

GCS_API void GC_push_conditional(void *lo, void *hi, int all)
{
	(void)lo;
	(void)hi;
	(void)all;
	GCS_WARN_ONCE("GC_push_conditional outside a collection: ignored");
}

GCS_API void GC_push_finalizer_structures(void)
{
}

GCS_API struct GC_ms_entry *GC_mark_and_push(void *obj, struct GC_ms_entry *top,
					     struct GC_ms_entry *lim, void **src)
{
	(void)obj;
	(void)lim;
	(void)src;
	GCS_WARN_ONCE("GC_mark_and_push outside a collection: ignored");
	return top;
}

/* Outside a collection every live object counts as marked. */
GCS_API int GC_is_marked(const void *p)
{
	return gch_base(p) != NULL;
}

GCS_API void GC_set_mark_bit(const void *p)
{
	(void)p;
}

GCS_API void GC_clear_mark_bit(const void *p)
{
	(void)p;
}

GCS_API void GC_enumerate_reachable_objects_inner(GC_reachable_object_proc proc,
						  void *cd)
{
	(void)proc;
	(void)cd;
	GCS_WARN_ONCE("GC_enumerate_reachable_objects_inner: not supported, nothing enumerated");
}

GCS_API void GC_register_describe_type_fn(int kind, GC_describe_type_fn fn)
{
	(void)kind;
	(void)fn;
}

/* ---- pointers ------------------------------------------------------------- */

GCS_API void *GC_base(void *p)
{
	if (!gcs_ready)
		return NULL;
	return gch_base(p);
}

GCS_API size_t GC_size(const void *p)
{
	if (!gcs_ready)
		return 0;
	return gch_size(p);
}

GCS_API int GC_is_heap_ptr(const void *p)
{
	const char *lo = GC_least_plausible_heap_addr;

	return gcs_ready && (const char *)p >= lo &&
	       (const char *)p < (const char *)GC_greatest_plausible_heap_addr;
}

GCS_API int GC_get_kind_and_size(const void *p, size_t *psize)
{
	if (psize)
		*psize = GC_size(p);
	return gcs_unc_has(p) ? GCS_KIND_UNCOLLECTABLE : GCS_KIND_NORMAL;
}

GCS_API void *GC_same_obj(void *p, void *q)
{
	void *b = GC_base(q);

	if (b && GC_base(p) != b)
		GC_same_obj_print_proc(p, q);
	return p;
}

GCS_API void *GC_pre_incr(void **p, ptrdiff_t how_much)
{
	void *old = *p;
	void *r = GC_same_obj((char *)old + how_much, old);

	*p = r;
	return r;
}

GCS_API void *GC_post_incr(void **p, ptrdiff_t how_much)
{
	void *old = *p;

	*p = GC_same_obj((char *)old + how_much, old);
	return old;
}

GCS_API void *GC_is_visible(void *p)
{
	return p;	/* everything the program can reach is scanned */
}

GCS_API void *GC_is_valid_displacement(void *p)
{
	return p;	/* every displacement is valid */
}

GCS_API void GC_register_displacement(size_t n)
{
	(void)n;
}

GCS_API void GC_debug_register_displacement(size_t n)
{
	(void)n;
}

GCS_API void GC_noop1(GC_word x)
{
	/* an empty asm that takes @x: the caller's value counts as used */
	__asm__ volatile("" : : "r" (x) : "memory");
}

GCS_API void *GC_clear_stack(void *p)
{
	return p;
}

/* ---- dumps ---------------------------------------------------------------- */

GCS_API void GC_dump_named(const char *name)
{
	struct gch_heap_stats st;

	gcs_init();
	if (gch_stats(&st))
		return;
	GC_printf("***GC Dump %s (gcheap)\n", name ? name : "");
	GC_printf("Heap: %zu bytes mapped, %zu in use, %llu objects, %llu collections\n",
		  st.mapped_bytes, st.inuse_bytes,
		  (unsigned long long)st.live_objects,
		  (unsigned long long)st.num_gc);
	GC_dump_finalization();
}

GCS_API void GC_dump(void)
{
	GC_dump_named(NULL);
}

GCS_API void GC_dump_regions(void)
{
	struct gch_heap_stats st;

	gcs_init();
	if (gch_stats(&st) == 0)
		GC_printf("***Heap arena: %p, %zu bytes reserved\n",
			  st.arena_start, st.arena_size);
}

GCS_API void GC_print_free_list(int kind, size_t granules)
{
	(void)kind;
	(void)granules;
	GC_printf("gcheap keeps no bdwgc free lists\n");
}
