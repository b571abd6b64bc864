// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The malloc family.
 *
 * Small sizes (up to GCH_MAX_SMALL_SIZE) are rounded to a size class and
 * popped from this CPU's cache (percpu.h), or from the thread's cache when
 * the per-CPU path is not in use (tcache.c).  Larger ones get a span of
 * their own from GCH_IOC_ALLOC_LARGE.  Every object comes zeroed from the
 * kernel.  Scanned and pointer-free objects use different span classes:
 * GCH_SPANCLASS(sizeclass, noscan).
 *
 * A scanned object whose size is exactly a size class's (or, large, a
 * whole number of pages) gets one byte more (as bdwgc does for every
 * request): size classes are common request sizes, so p + size would
 * otherwise be the next object's first byte, and a loop that keeps only
 * its end pointer would keep the neighbour alive instead of its own
 * object.  Any other size leaves slack in the object, so p + size is
 * inside it already.
 *
 * An allocation that finds the heap exhausted collects once and retries
 * (gch_oom_collect() backs off after a collection that did not help).
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>

#include <linux/gcheap.h>

#include "gcheap.h"
#include "internal.h"
#include "percpu.h"

/**
 * gch_ioctl_nointr() - an ioctl on the heap, restarted after EINTR
 * @req: the request.
 * @arg: its argument.
 *
 * An allocation must not fail because a signal handler without
 * SA_RESTART ran meanwhile.
 *
 * Return: as ioctl(2).
 */
int gch_ioctl_nointr(unsigned long req, void *arg)
{
	int ret;

	do
		ret = ioctl(gch_lib.fd, req, arg);
	while (ret && errno == EINTR);
	return ret;
}

/**
 * gch_alloc_direct() - one object of a span class, straight from the kernel
 * @spanclass: a span class of a small size class.
 *
 * Return: the object, or NULL with errno.
 */
void *gch_alloc_direct(unsigned int spanclass)
{
	struct gch_refill r;
	u64 obj = 0;

	memset(&r, 0, sizeof(r));
	r.hdr.size = sizeof(r);
	r.hdr.flags = GCH_REFILL_BUFFER;
	r.spanclass = spanclass;
	r.max = 1;
	r.buf = (u64)(uintptr_t)&obj;
	if (gch_ioctl_nointr(GCH_IOC_REFILL, &r))
		return NULL;
	if (r.count != 1 || !obj) {
		errno = ENOMEM;
		return NULL;
	}
	obj = (u64)(uintptr_t)gch_obj_ready(obj, spanclass);
	gch_collect_if_due(r.gc_due);	/* obj is on our stack: a root */
	return (void *)(uintptr_t)obj;
}

/**
 * gch_alloc_large() - an object with a span of its own
 * @size:   bytes, more than GCH_MAX_SMALL_SIZE.
 * @noscan: the object holds no pointers.
 *
 * Return: the object (page aligned, zeroed), or NULL with errno ENOMEM
 * (also for sizes the kernel cannot serve at all).
 */
void *gch_alloc_large(size_t size, int noscan)
{
	struct gch_alloc a;

	memset(&a, 0, sizeof(a));
	a.hdr.size = sizeof(a);
	a.hdr.flags = noscan ? GCH_ALLOC_NOSCAN : 0;
	a.size = size;
	if (gch_ioctl_nointr(GCH_IOC_ALLOC_LARGE, &a)) {
		if (errno == EINVAL)	/* too large for any span */
			errno = ENOMEM;
		return NULL;
	}
	gch_collect_if_due(a.gc_due);
	return (void *)(uintptr_t)a.addr;
}

/*
 * One attempt.  A scanned object that would end exactly where the next
 * one starts gets the end pointer's byte: the next class up (classes
 * only grow, so that is the class of @size + 1), or a page more.  The
 * class is looked up once either way.
 */
static inline __attribute__((always_inline)) void *
gch_alloc_once(size_t size, int noscan)
{
	unsigned int c, sc;
	u64 obj;
	u32 cpu;

	if (__builtin_expect(size > GCH_MAX_SMALL_SIZE, 0)) {
		if (!noscan && !(size & (GCH_PAGE_SIZE - 1)))
			size++;
		return gch_alloc_large(size, noscan);
	}
	c = gch_size_to_class(&gch_lib.classes, size);
	if (!noscan && gch_lib.classes.size[c] == size) {
		if (size == GCH_MAX_SMALL_SIZE)
			return gch_alloc_large(size + 1, 0);
		c++;
	}
	sc = GCH_SPANCLASS(c, noscan);
	if (__builtin_expect(gch_lib.percpu, 1)) {
		cpu = gch_rseq_cpu();
		if (__builtin_expect(cpu < gch_lib.nr_cpus, 1) &&
		    gch_percpu_pop(gch_percpu_cache(cpu, sc),
				   gch_lib.layout.capacity[sc], cpu,
				   &obj) == GCH_POP_OK)
			return gch_obj_ready(obj, sc);
		obj = (u64)(uintptr_t)gch_percpu_alloc_slow(sc);
	} else {
		obj = (u64)(uintptr_t)gch_tcache_alloc(sc);
	}
	return gch_obj_ready(obj, sc);
}

/* The heap is exhausted: collect, unless backing off, and try again. */
static __attribute__((noinline)) void *gch_alloc_oom(size_t size, int noscan)
{
	void *p;

	/* no collection makes room for more than the arena */
	if (errno != ENOMEM || size >= gch_lib.arena_size ||
	    !gch_oom_collect())
		return NULL;
	p = gch_alloc_once(size, noscan);
	gch_oom_done(p != NULL);
	if (!p)
		errno = ENOMEM;
	return p;
}

static inline __attribute__((always_inline)) void *
gch_alloc(size_t size, int noscan)
{
	void *p;

	if (__builtin_expect(!gch_lib_usable(), 0))
		return NULL;
	p = gch_alloc_once(size, noscan);
	if (__builtin_expect(p != NULL, 1))
		return p;
	return gch_alloc_oom(size, noscan);
}

GCH_API void *gch_malloc(size_t size)
{
	return gch_alloc(size, 0);
}

GCH_API void *gch_malloc_atomic(size_t size)
{
	return gch_alloc(size, 1);
}

GCH_API void *gch_calloc(size_t nmemb, size_t size)
{
	size_t total;

	if (__builtin_mul_overflow(nmemb, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	return gch_alloc(total, 0);
}

GCH_API void *gch_realloc(void *ptr, size_t size)
{
	struct gch_query q;
	void *p;

	if (!ptr)
		return gch_malloc(size);
	if (!size) {
		gch_free(ptr);
		return NULL;
	}
	if (gch_query_object(ptr, &q))
		return NULL;
	if (q.base != (u64)(uintptr_t)ptr) {
		errno = EINVAL;
		return NULL;
	}
	if (q.oflags & GCH_OBJ_NOSCAN) {
		if (size <= q.size)
			return ptr;
	} else if (size < q.size) {
		/* the end pointer's byte fits; the old tail retains nothing */
		memset((char *)ptr + size, 0, q.size - size);
		return ptr;
	}
	p = gch_alloc(size, q.oflags & GCH_OBJ_NOSCAN);
	if (!p)
		return NULL;
	memcpy(p, ptr, q.size);
	gch_free(ptr);
	return p;
}

GCH_API char *gch_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = gch_alloc(n, 1);

	if (p)
		memcpy(p, s, n);
	return p;
}
