/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libgc.so.1 on gcheap: internals shared between its files.
 *
 * The drop-in is a thin layer over libgcheap's public API (gcheap.h): it
 * is compiled against Debian's own bdwgc headers, so every definition is
 * checked against the prototype programs were built with.
 */
#ifndef GCHEAP_GC_INTERNAL_H
#define GCHEAP_GC_INTERNAL_H

#define GC_THREADS
#define GC_NO_THREAD_REDIRECTS
#include <gc/gc.h>
#include <gc/gc_mark.h>
#include <gc/gc_typed.h>
#include <gc/gc_gcj.h>
#include <gc/gc_disclaim.h>
#include <gc/gc_inline.h>
#include <gc/javaxfc.h>

#include <stddef.h>
#include <stdint.h>

#define GCS_API __attribute__((visibility("default")))

/* Exported by libgc1 but declared only in bdwgc's private headers. */
extern GC_abort_func GC_on_abort;
extern GC_push_other_roots_proc GC_push_other_roots;
void GC_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void GC_err_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void GC_log_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#define gcs_unlikely(x) __builtin_expect(!!(x), 0)

/* bdwgc's object kinds, as gc_mark.h numbers them */
#define GCS_KIND_PTRFREE	GC_I_PTRFREE
#define GCS_KIND_NORMAL		GC_I_NORMAL
#define GCS_KIND_UNCOLLECTABLE	2
#define GCS_KIND_AUNCOLLECTABLE	3

/* control.c */
extern int gcs_ready;
void gcs_init_slow(void);
static inline void gcs_init(void)
{
	if (gcs_unlikely(!__atomic_load_n(&gcs_ready, __ATOMIC_ACQUIRE)))
		gcs_init_slow();
}
void gcs_warn(const char *msg, GC_word arg);
void gcs_checkpoint(void);
void gcs_count_freed(size_t bytes);
void gcs_sync_dont_gc(void);

/*
 * Warn once per call site through the warn proc: for functions that have
 * no meaning on gcheap.  @what is a string literal without '%'.
 */
#define GCS_WARN_ONCE(what) do {					\
	static int warned_;						\
	if (!__atomic_exchange_n(&warned_, 1, __ATOMIC_RELAXED))	\
		gcs_warn("GC Warning: gcheap: " what "\n", 0);		\
} while (0)

/* A bdwgc setting with a plain setter and getter: GC_set_NAME, GC_get_NAME. */
#define GCS_KNOB(type, name, var)					\
GCS_API void GC_set_##name(type v)					\
{									\
	var = v;							\
}									\
GCS_API type GC_get_##name(void)					\
{									\
	return var;							\
}

/* Bytes allocated by this thread since it last reported at a checkpoint. */
extern __thread size_t gcs_tl_bytes __attribute__((tls_model("initial-exec")));
#define GCS_CHECKPOINT_BYTES	(256u << 10)

/* alloc.c */
void *gcs_oom(size_t size);
void *gcs_alloc(size_t size, int kind);

static inline void *gcs_done(void *p, size_t size)
{
	if (gcs_unlikely(!p))
		return gcs_oom(size);
	gcs_tl_bytes += size ? size : 1;
	if (gcs_unlikely(gcs_tl_bytes >= GCS_CHECKPOINT_BYTES))
		gcs_checkpoint();
	return p;
}

/* uncollectable.c */
int gcs_unc_add(void *p);
int gcs_unc_del(void *p);
int gcs_unc_has(const void *p);
void *gcs_unc_realloc(void *p, size_t size);

/* finalize.c */
extern int gcs_fin_used;
void gcs_fin_checkpoint(int after_collect);

/* control.c: counters (bytes) */
extern uint64_t gcs_total_bytes, gcs_freed_bytes;

#endif /* GCHEAP_GC_INTERNAL_H */
