// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libgc.so.1 on gcheap: finalizers and disappearing links.
 *
 * The module finds the unreachable objects and queues their finalizers in
 * bdwgc's order (gch_register_finalizer_ex()'s flags are bdwgc's three
 * orders); this file decides where they run.  As in bdwgc, with
 * GC_finalize_on_demand off they run in a thread that allocates (every
 * GCS_CHECKPOINT_BYTES) or that calls GC_gcollect(); with it on, only in
 * GC_invoke_finalizers(), and GC_finalizer_notifier is called once per
 * collection that queued some.
 */
#include <errno.h>
#include <stdlib.h>

#include "gcheap.h"
#include "gc_internal.h"

int gcs_fin_used;		/* a finalizer was ever registered */
static uint64_t gcs_fin_notified;	/* gch_final_stats.queued at the last notice */
static __thread int gcs_in_fin __attribute__((tls_model("initial-exec")));

GCS_API int GC_invoke_finalizers(void)
{
	int n;

	if (!__atomic_load_n(&gcs_fin_used, __ATOMIC_RELAXED))
		return 0;
	gcs_in_fin++;
	n = gch_run_finalizers();
	gcs_in_fin--;
	return n < 0 ? 0 : n;
}

GCS_API int GC_should_invoke_finalizers(void)
{
	if (!__atomic_load_n(&gcs_fin_used, __ATOMIC_RELAXED))
		return 0;
	return gch_finalizers_pending() > 0;
}

void gcs_fin_checkpoint(int after_collect)
{
	struct gch_final_stats st;
	GC_finalizer_notifier_proc notify;
	uint64_t seen;

	(void)after_collect;
	if (!__atomic_load_n(&gcs_fin_used, __ATOMIC_RELAXED) || gcs_in_fin)
		return;
	if (gch_final_stats(&st) || !st.pending)
		return;
	if (!GC_finalize_on_demand) {
		GC_invoke_finalizers();
		return;
	}
	notify = GC_finalizer_notifier;
	seen = __atomic_load_n(&gcs_fin_notified, __ATOMIC_RELAXED);
	if (notify && st.queued != seen &&
	    __atomic_compare_exchange_n(&gcs_fin_notified, &seen, st.queued, 0,
					__ATOMIC_RELAXED, __ATOMIC_RELAXED))
		notify();
}

GCS_API void GC_finalize_all(void)
{
	GCS_WARN_ONCE("GC_finalize_all: only finalizers of unreachable objects run");
	GC_gcollect();
	GC_invoke_finalizers();
}

static void gcs_register(void *obj, GC_finalization_proc fn, void *cd,
			 GC_finalization_proc *ofn, void **ocd,
			 unsigned int flags)
{
	void (*old_fn)(void *, void *) = NULL;
	void *old_cd = NULL;

	gcs_init();
	/* bdwgc: an object not in the heap is never collected, so never
	 * finalized; a pointer into an object is not a registration either */
	if (obj && gch_base(obj) == obj) {
		if (fn)
			__atomic_store_n(&gcs_fin_used, 1, __ATOMIC_RELAXED);
		if (gch_register_finalizer_ex(obj, fn, cd, flags, &old_fn,
					      &old_cd) && errno != ENOENT)
			gcs_warn("GC Warning: gcheap could not register a finalizer for %p\n",
				 (GC_word)obj);
	}
	if (ofn)
		*ofn = old_fn;
	if (ocd)
		*ocd = old_cd;
}

GCS_API void GC_register_finalizer(void *obj, GC_finalization_proc fn, void *cd,
				   GC_finalization_proc *ofn, void **ocd)
{
	gcs_register(obj, fn, cd, ofn, ocd, 0);
}

GCS_API void GC_register_finalizer_ignore_self(void *obj, GC_finalization_proc fn,
					       void *cd, GC_finalization_proc *ofn,
					       void **ocd)
{
	gcs_register(obj, fn, cd, ofn, ocd, GCH_FIN_IGNORE_SELF);
}

GCS_API void GC_register_finalizer_no_order(void *obj, GC_finalization_proc fn,
					    void *cd, GC_finalization_proc *ofn,
					    void **ocd)
{
	gcs_register(obj, fn, cd, ofn, ocd, GCH_FIN_NO_ORDER);
}

GCS_API void GC_register_finalizer_unreachable(void *obj, GC_finalization_proc fn,
					       void *cd, GC_finalization_proc *ofn,
					       void **ocd)
{
	gcs_register(obj, fn, cd, ofn, ocd, GCH_FIN_UNREACHABLE);
}

/* No debug headers: the debug forms are the plain ones. */
GCS_API void GC_debug_register_finalizer(void *obj, GC_finalization_proc fn,
					 void *cd, GC_finalization_proc *ofn,
					 void **ocd)
{
	gcs_register(obj, fn, cd, ofn, ocd, 0);
}

GCS_API void GC_debug_register_finalizer_ignore_self(void *obj, GC_finalization_proc fn,
						     void *cd, GC_finalization_proc *ofn,
						     void **ocd)
{
	gcs_register(obj, fn, cd, ofn, ocd, GCH_FIN_IGNORE_SELF);
}

GCS_API void GC_debug_register_finalizer_no_order(void *obj, GC_finalization_proc fn,
						  void *cd, GC_finalization_proc *ofn,
						  void **ocd)
{
	gcs_register(obj, fn, cd, ofn, ocd, GCH_FIN_NO_ORDER);
}

GCS_API void GC_debug_register_finalizer_unreachable(void *obj, GC_finalization_proc fn,
						     void *cd, GC_finalization_proc *ofn,
						     void **ocd)
{
	gcs_register(obj, fn, cd, ofn, ocd, GCH_FIN_UNREACHABLE);
}

/*
 * GC_finalized_malloc(): the object's first word holds its closure (with
 * the low bit set, as gc_disclaim.h says), the program gets the rest.  The
 * closure runs as an unordered finalizer.
 */
static void gcs_run_closure(void *obj, void *cd)
{
	const struct GC_finalizer_closure *fc = cd;

	fc->proc((char *)obj + sizeof(GC_word), fc->cd);
}

GCS_API void GC_init_finalized_malloc(void)
{
	gcs_init();
}

GCS_API void *GC_finalized_malloc(size_t size, const struct GC_finalizer_closure *fc)
{
	GC_word *p = GC_malloc(size + sizeof(GC_word));

	if (!p)
		return NULL;
	*p = (GC_word)fc | 1;
	__atomic_store_n(&gcs_fin_used, 1, __ATOMIC_RELAXED);
	if (gch_register_finalizer_ex(p, gcs_run_closure, (void *)fc,
				      GCH_FIN_NO_ORDER, NULL, NULL)) {
		gch_free(p);
		return gcs_oom(size);
	}
	return p + 1;
}

GCS_API void GC_register_disclaim_proc(int kind, GC_disclaim_proc proc, int mark)
{
	(void)kind;
	(void)proc;
	(void)mark;
	GCS_WARN_ONCE("GC_register_disclaim_proc: disclaim procedures are never called");
}

/* ---- disappearing links ------------------------------------------------ */

/* bdwgc aborts on a misaligned or NULL link: so does this, loudly. */
static void gcs_check_link(void **link, const char *what)
{
	if (!link || ((GC_word)link & (sizeof(void *) - 1))) {
		GC_on_abort(what);
		abort();
	}
}

static int gcs_link(void **link, const void *obj, int is_long)
{
	int err;

	gcs_init();
	if (!obj || !gch_base(obj)) {
		/*
		 * Never collected, so never cleared: no registration, but one
		 * for an earlier target goes (bdwgc: the last one counts).
		 */
		return gch_unregister_weak_kind(link, is_long ? GCH_LINK_LONG :
								GCH_LINK_SHORT) ?
		       GC_SUCCESS : GC_DUPLICATE;
	}
	err = is_long ? gch_register_weak_long(link, obj) :
			gch_register_weak(link, obj);
	if (!err)
		return GC_SUCCESS;
	if (errno == EEXIST) {
		/*
		 * bdwgc: the link now follows the last object registered.
		 * While neither registration stands nothing clears the link,
		 * and @obj is alive (the caller holds it): nothing is lost.
		 */
		if (gch_unregister_weak_kind(link, is_long ? GCH_LINK_LONG :
							     GCH_LINK_SHORT))
			return GC_DUPLICATE;	/* a link of the other kind */
		err = is_long ? gch_register_weak_long(link, obj) :
				gch_register_weak(link, obj);
		return err ? GC_NO_MEMORY : GC_DUPLICATE;
	}
	if (errno == ENOMEM)
		return GC_NO_MEMORY;
	gcs_warn("GC Warning: gcheap refused a disappearing link at %p\n",
		 (GC_word)link);
	return GC_NO_MEMORY;
}

GCS_API int GC_general_register_disappearing_link(void **link, const void *obj)
{
	gcs_check_link(link, "Bad arg to GC_general_register_disappearing_link");
	return gcs_link(link, obj, 0);
}

GCS_API int GC_register_disappearing_link(void **link)
{
	void *base;

	gcs_check_link(link, "Bad arg to GC_register_disappearing_link");
	gcs_init();
	base = gch_base(link);
	if (!base) {
		GC_on_abort("Bad arg to GC_register_disappearing_link");
		abort();
	}
	return gcs_link(link, base, 0);
}

GCS_API int GC_register_long_link(void **link, const void *obj)
{
	gcs_check_link(link, "Bad arg to GC_register_long_link");
	return gcs_link(link, obj, 1);
}

GCS_API int GC_unregister_disappearing_link(void **link)
{
	if (!link || ((GC_word)link & (sizeof(void *) - 1)))
		return 0;
	gcs_init();
	return gch_unregister_weak_kind(link, GCH_LINK_SHORT) == 0;
}

GCS_API int GC_unregister_long_link(void **link)
{
	if (!link || ((GC_word)link & (sizeof(void *) - 1)))
		return 0;
	gcs_init();
	return gch_unregister_weak_kind(link, GCH_LINK_LONG) == 0;
}

static int gcs_move(void **link, void **new_link, unsigned int kind)
{
	gcs_init();
	if (!link || ((GC_word)link & (sizeof(void *) - 1)))
		return GC_NOT_FOUND;
	gcs_check_link(new_link, "Bad new_link arg to GC_move_disappearing_link");
	if (gch_move_weak(link, new_link, kind) == 0)
		return GC_SUCCESS;
	if (errno == EEXIST)
		return GC_DUPLICATE;
	if (errno == ENOMEM)
		return GC_NO_MEMORY;
	return GC_NOT_FOUND;
}

GCS_API int GC_move_disappearing_link(void **link, void **new_link)
{
	return gcs_move(link, new_link, GCH_LINK_SHORT);
}

GCS_API int GC_move_long_link(void **link, void **new_link)
{
	return gcs_move(link, new_link, GCH_LINK_LONG);
}

/*
 * Toggle references: the collector would decide between strong and weak
 * from a callback.  Without that, the object is kept for good: a leak, not
 * a lost object.
 */
GCS_API int GC_toggleref_add(void *obj, int is_strong)
{
	(void)is_strong;
	gcs_init();
	GCS_WARN_ONCE("GC_toggleref_add: toggle references are kept strong for good");
	return gcs_unc_add(obj) ? GC_NO_MEMORY : GC_SUCCESS;
}

GCS_API void GC_dump_finalization(void)
{
	struct gch_final_stats st;

	gcs_init();
	if (gch_final_stats(&st))
		return;
	GC_err_printf("Finalizers: %llu registered, %llu pending, %llu run; disappearing links: %llu\n",
		      (unsigned long long)st.registered,
		      (unsigned long long)st.pending,
		      (unsigned long long)st.run,
		      (unsigned long long)st.weak_links);
}
