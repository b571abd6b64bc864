// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libgc.so.1 on gcheap: allocation.
 *
 * Every kind maps onto two of gcheap's: scanned (gch_malloc) and
 * pointer-free (gch_malloc_atomic).  Uncollectable objects are ordinary
 * gcheap objects kept in a root table until GC_free().  Custom kinds, typed
 * and gcj objects are scanned conservatively, as a whole: that keeps alive
 * everything a precise descriptor would, and sometimes more.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "gcheap.h"
#include "gc_internal.h"

/* Kinds GC_new_kind() made pointer-free (descriptor: length 0). */
#define GCS_MAX_KINDS	64
static unsigned char gcs_kind_ptrfree[GCS_MAX_KINDS];
static unsigned int gcs_next_kind = GCS_KIND_AUNCOLLECTABLE + 1;

/*
 * bdwgc (with GC_all_interior_pointers, its default) gives every object
 * one byte more than asked, so that a pointer just past its end still
 * points into it.  Programs come to rely on the slack, writing a string's
 * terminating NUL one byte past what they asked for (debfoster does).
 * gch_malloc() adds the byte where the size class leaves none; for
 * pointer-free objects it is added here.
 */
static void *gcs_atomic(size_t size)
{
	return gch_malloc_atomic(size < SIZE_MAX ? size + 1 : size);
}

void *gcs_oom(size_t size)
{
	GC_oom_func fn = GC_get_oom_fn();

	return fn ? fn(size) : NULL;
}

static int gcs_kind_is_ptrfree(int kind)
{
	if (kind == GCS_KIND_PTRFREE || kind == GCS_KIND_AUNCOLLECTABLE)
		return 1;
	return kind > 0 && kind < GCS_MAX_KINDS &&
	       __atomic_load_n(&gcs_kind_ptrfree[kind], __ATOMIC_RELAXED);
}

static void *gcs_alloc_unc(size_t size, int ptrfree)
{
	void *p;

	gcs_init();
	p = ptrfree ? gcs_atomic(size) : gch_malloc(size);
	if (p && gcs_unc_add(p)) {
		gch_free(p);
		p = NULL;
	}
	return gcs_done(p, size);
}

/* An object of bdwgc kind @kind (GC_generic_malloc() and friends). */
void *gcs_alloc(size_t size, int kind)
{
	if (kind == GCS_KIND_UNCOLLECTABLE || kind == GCS_KIND_AUNCOLLECTABLE)
		return gcs_alloc_unc(size, kind == GCS_KIND_AUNCOLLECTABLE);
	gcs_init();
	return gcs_done(gcs_kind_is_ptrfree(kind) ? gcs_atomic(size) :
						    gch_malloc(size), size);
}

GCS_API void *GC_malloc(size_t size)
{
	gcs_init();
	return gcs_done(gch_malloc(size), size);
}

GCS_API void *GC_malloc_atomic(size_t size)
{
	gcs_init();
	return gcs_done(gcs_atomic(size), size);
}

GCS_API void *GC_malloc_uncollectable(size_t size)
{
	return gcs_alloc_unc(size, 0);
}

GCS_API void *GC_malloc_atomic_uncollectable(size_t size)
{
	return gcs_alloc_unc(size, 1);
}

/* gcheap recognises pointers anywhere into an object: no hint needed. */
GCS_API void *GC_malloc_ignore_off_page(size_t size)
{
	return GC_malloc(size);
}

GCS_API void *GC_malloc_atomic_ignore_off_page(size_t size)
{
	return GC_malloc_atomic(size);
}

GCS_API void *GC_malloc_stubborn(size_t size)
{
	return GC_malloc(size);
}

GCS_API void *GC_malloc_kind(size_t size, int kind)
{
	return gcs_alloc(size, kind);
}

GCS_API void *GC_malloc_kind_global(size_t size, int kind)
{
	return gcs_alloc(size, kind);
}

GCS_API void *GC_generic_malloc(size_t size, int kind)
{
	return gcs_alloc(size, kind);
}

GCS_API void *GC_generic_malloc_ignore_off_page(size_t size, int kind)
{
	return gcs_alloc(size, kind);
}

GCS_API void *GC_generic_malloc_uncollectable(size_t size, int kind)
{
	return gcs_alloc_unc(size, gcs_kind_is_ptrfree(kind));
}

GCS_API void *GC_generic_or_special_malloc(size_t size, int kind)
{
	return gcs_alloc(size, kind);
}

/*
 * Alignments above gcheap's 16 bytes: allocate enough to align inside the
 * object; the result is an interior pointer, which keeps the object alive,
 * and GC_free() of it frees the object.
 */
GCS_API void *GC_memalign(size_t align, size_t size)
{
	char *p;
	uintptr_t a;

	if (align <= 16)
		return GC_malloc(size);
	if (align & (align - 1) || size > SIZE_MAX - align)
		return NULL;
	p = GC_malloc(size + align - 1);
	if (!p)
		return NULL;
	a = ((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1);
	return (void *)a;
}

GCS_API int GC_posix_memalign(void **memptr, size_t align, size_t size)
{
	void *p;

	if (align < sizeof(void *) || (align & (align - 1)))
		return EINVAL;
	p = GC_memalign(align, size);
	if (!p)
		return ENOMEM;
	*memptr = p;
	return 0;
}

GCS_API void GC_free(void *p)
{
	void *base;
	size_t size;

	if (!p)
		return;
	gcs_init();
	size = gch_size(p);	/* from the object's start, also for p inside */
	if (!size) {
		/* bdwgc's result is undefined; here it is harmless */
		gcs_warn("GC Warning: GC_free of a pointer not into the GC heap: %p\n",
			 (GC_word)p);
		return;
	}
	gcs_unc_del(p);
	if (gch_free(p) == 0) {
		gcs_count_freed(size);
		return;
	}
	/* a pointer into the object (GC_memalign's result) */
	base = gch_base(p);
	if (base && base != p) {
		gcs_unc_del(base);
		if (gch_free(base) == 0)
			gcs_count_freed(size);
	}
}

GCS_API void *GC_realloc(void *p, size_t size)
{
	size_t n;
	void *q;

	if (!p)
		return GC_malloc(size);
	if (!size) {
		GC_free(p);
		return NULL;
	}
	gcs_init();
	/*
	 * gch_realloc() keeps the kind; an uncollectable one stays one.  The
	 * end byte as in gcs_atomic() (a scanned object has it anyway).
	 */
	n = size < SIZE_MAX ? size + 1 : size;
	q = gcs_unc_has(p) ? gcs_unc_realloc(p, n) : gch_realloc(p, n);
	if (!q && errno == EINVAL) {
		gcs_warn("GC Warning: GC_realloc of a pointer not to an object's start: %p\n",
			 (GC_word)p);
		return NULL;
	}
	return gcs_done(q, size);
}

GCS_API char *GC_strdup(const char *s)
{
	size_t n;
	char *p;

	if (!s)
		return NULL;
	n = strlen(s) + 1;
	p = GC_malloc_atomic(n);
	if (p)
		memcpy(p, s, n);
	return p;
}

GCS_API char *GC_strndup(const char *s, size_t max)
{
	size_t n = strnlen(s, max);
	char *p = GC_malloc_atomic(n + 1);

	if (p) {
		memcpy(p, s, n);
		p[n] = 0;
	}
	return p;
}

/*
 * Objects linked through their first word, as gc_inline.h expects.  The
 * links are the only reference to all but the first, so every object of
 * the list is scanned, pointer-free kind or not.
 */
GCS_API void GC_generic_malloc_many(size_t size, int kind, void **result)
{
	void *head = NULL, *p;
	size_t n, i;

	if (size < sizeof(void *))
		size = sizeof(void *);
	n = size >= 4096 ? 1 : 4096 / size;
	for (i = 0; i < n; i++) {
		p = gcs_alloc(size, gcs_kind_is_ptrfree(kind) &&
				    kind != GCS_KIND_AUNCOLLECTABLE ?
				    GCS_KIND_NORMAL : kind);
		if (!p)
			break;
		*(void **)p = head;
		head = p;
	}
	*result = head;
}

GCS_API void *GC_malloc_many(size_t size)
{
	void *r;

	GC_generic_malloc_many(size, GCS_KIND_NORMAL, &r);
	return r;
}

/*
 * Free lists handed to the program: scanned, never collected; as long as
 * bdwgc's (one entry per 16-byte granule up to half a 4 KiB block).
 */
#define GCS_FREE_LIST_LEN	(4096 / 2 / 16 + 1)

GCS_API void **GC_new_free_list_inner(void)
{
	return GC_malloc_uncollectable(GCS_FREE_LIST_LEN * sizeof(void *));
}

GCS_API void **GC_new_free_list(void)
{
	return GC_new_free_list_inner();
}

GCS_API unsigned GC_new_kind_inner(void **fl, GC_word descr, int adjust, int clear)
{
	unsigned int k = __atomic_fetch_add(&gcs_next_kind, 1, __ATOMIC_RELAXED);

	(void)fl;
	(void)adjust;
	(void)clear;
	if (k < GCS_MAX_KINDS && descr == (0 | GC_DS_LENGTH))
		__atomic_store_n(&gcs_kind_ptrfree[k], 1, __ATOMIC_RELAXED);
	else if ((descr & GC_DS_TAGS) == GC_DS_PROC ||
		 (descr & GC_DS_TAGS) == GC_DS_PER_OBJECT)
		GCS_WARN_ONCE("GC_new_kind: a mark procedure is never called; objects of the kind are scanned conservatively as a whole");
	return k;
}

GCS_API unsigned GC_new_kind(void **fl, GC_word descr, int adjust, int clear)
{
	return GC_new_kind_inner(fl, descr, adjust, clear);
}

GCS_API unsigned GC_new_proc_inner(GC_mark_proc proc)
{
	static unsigned int next;

	(void)proc;
	GCS_WARN_ONCE("GC_new_proc: mark procedures are never called; objects are scanned conservatively");
	return __atomic_fetch_add(&next, 1, __ATOMIC_RELAXED);
}

GCS_API unsigned GC_new_proc(GC_mark_proc proc)
{
	return GC_new_proc_inner(proc);
}

/* Typed allocation (gc_typed.h): the descriptor only narrows the scan. */
GCS_API GC_descr GC_make_descriptor(const GC_word *bitmap, size_t len)
{
	(void)bitmap;
	return (GC_descr)(len * sizeof(GC_word)) | GC_DS_LENGTH;
}

GCS_API void *GC_malloc_explicitly_typed(size_t size, GC_descr d)
{
	(void)d;
	return GC_malloc(size);
}

GCS_API void *GC_malloc_explicitly_typed_ignore_off_page(size_t size, GC_descr d)
{
	(void)d;
	return GC_malloc(size);
}

GCS_API void *GC_calloc_explicitly_typed(size_t n, size_t size, GC_descr d)
{
	(void)d;
	if (size && n > SIZE_MAX / size)
		return gcs_oom(SIZE_MAX);
	return GC_malloc(n * size);
}

/* gcj objects: the first word is the vtable pointer. */
GCS_API void GC_init_gcj_malloc(int mp_index, void *mp)
{
	(void)mp_index;
	(void)mp;
	gcs_init();
}

GCS_API void *GC_gcj_malloc(size_t size, void *vtable)
{
	void **p = GC_malloc(size < sizeof(void *) ? sizeof(void *) : size);

	if (p)
		*p = vtable;
	return p;
}

GCS_API void *GC_gcj_malloc_ignore_off_page(size_t size, void *vtable)
{
	return GC_gcj_malloc(size, vtable);
}

GCS_API void *GC_debug_gcj_malloc(size_t size, void *vtable, GC_EXTRA_PARAMS)
{
	(void)s;
	(void)i;
	return GC_gcj_malloc(size, vtable);
}

/* Stubborn objects are ordinary ones; changes need no announcement. */
GCS_API void GC_change_stubborn(const void *p)
{
	(void)p;
}

GCS_API void GC_end_stubborn_change(const void *p)
{
	(void)p;
}

GCS_API void GC_ptr_store_and_dirty(void *p, const void *q)
{
	*(const void **)p = q;
}

/*
 * GC_DEBUG builds call these.  gcheap adds no debug header
 * (GC_debug_header_size is 0), so a debug object is a plain one and the
 * two families may be mixed freely.
 */
#define GCS_DEBUG_ALLOC(name, call)					\
GCS_API void *name(size_t size, GC_EXTRA_PARAMS)			\
{									\
	(void)s;							\
	(void)i;							\
	return call(size);						\
}
GCS_DEBUG_ALLOC(GC_debug_malloc, GC_malloc)
GCS_DEBUG_ALLOC(GC_debug_malloc_atomic, GC_malloc_atomic)
GCS_DEBUG_ALLOC(GC_debug_malloc_uncollectable, GC_malloc_uncollectable)
GCS_DEBUG_ALLOC(GC_debug_malloc_atomic_uncollectable, GC_malloc_atomic_uncollectable)
GCS_DEBUG_ALLOC(GC_debug_malloc_ignore_off_page, GC_malloc_ignore_off_page)
GCS_DEBUG_ALLOC(GC_debug_malloc_atomic_ignore_off_page, GC_malloc_atomic_ignore_off_page)
GCS_DEBUG_ALLOC(GC_debug_malloc_stubborn, GC_malloc_stubborn)

GCS_API void *GC_debug_generic_or_special_malloc(size_t size, int kind, GC_EXTRA_PARAMS)
{
	(void)s;
	(void)i;
	return gcs_alloc(size, kind);
}

GCS_API void *GC_debug_malloc_replacement(size_t size)
{
	return GC_malloc(size);
}

GCS_API void *GC_debug_realloc(void *p, size_t size, GC_EXTRA_PARAMS)
{
	(void)s;
	(void)i;
	return GC_realloc(p, size);
}

GCS_API void *GC_debug_realloc_replacement(void *p, size_t size)
{
	return GC_realloc(p, size);
}

GCS_API void GC_debug_free(void *p)
{
	GC_free(p);
}

GCS_API char *GC_debug_strdup(const char *str, GC_EXTRA_PARAMS)
{
	(void)s;
	(void)i;
	return GC_strdup(str);
}

GCS_API char *GC_debug_strndup(const char *str, size_t n, GC_EXTRA_PARAMS)
{
	(void)s;
	(void)i;
	return GC_strndup(str, n);
}

GCS_API void GC_debug_change_stubborn(const void *p)
{
	(void)p;
}

GCS_API void GC_debug_end_stubborn_change(const void *p)
{
	(void)p;
}

GCS_API void GC_debug_ptr_store_and_dirty(void *p, const void *q)
{
	*(const void **)p = q;
}
