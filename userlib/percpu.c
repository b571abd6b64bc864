// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The per-CPU caches' slow path: this CPU's cache is empty, so ask the
 * kernel to refill it (GCH_IOC_REFILL without GCH_REFILL_BUFFER: the
 * kernel fills the cache of the CPU the ioctl runs on) and pop again.
 *
 * The thread may have migrated by the time it pops, so the cache it pops
 * from may be another, empty one; it then refills that one.  After a few
 * rounds without an object (heavy migration, other threads draining the
 * cache between refill and pop) it takes one object straight from the
 * kernel into a buffer, so an allocation always ends.  A thread whose rseq
 * area is not registered (cpu_id < 0: registration failed, or glibc
 * unregistered it at thread exit, where destructors may still allocate)
 * would abort forever: it uses its per-thread caches instead.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include <linux/gcheap.h>

#include "internal.h"
#include "percpu.h"

/* Refill-and-pop rounds before falling back to a direct allocation. */
#define GCH_PERCPU_ROUNDS	4
/* Aborted critical sections in a row before using the thread's cache. */
#define GCH_PERCPU_MAX_ABORTS	1000

/* Refill the cache of whichever CPU runs the ioctl. */
static int gch_percpu_refill(unsigned int spanclass)
{
	struct gch_refill r;

	memset(&r, 0, sizeof(r));
	r.hdr.size = sizeof(r);
	/* tagged objects are zeroed when popped (gch_obj_ready()) */
	r.hdr.flags = GCH_REFILL_UNZEROED;
	r.spanclass = spanclass;
	if (gch_ioctl_nointr(GCH_IOC_REFILL, &r))
		return -1;
	/* the new objects sit in the cache, a root of the collection */
	gch_collect_if_due(r.gc_due);
	return 0;
}

/**
 * gch_percpu_alloc_slow() - allocate when this CPU's cache is empty
 * @spanclass: the span class, with a cache.
 *
 * Return: an object, or NULL with errno (ENOMEM: the heap is exhausted).
 */
void *gch_percpu_alloc_slow(unsigned int spanclass)
{
	u32 cap = gch_lib.layout.capacity[spanclass];
	unsigned int rounds = 0, aborts = 0;
	u64 obj;
	u32 cpu;
	int ret;

	for (;;) {
		cpu = gch_rseq_cpu();
		if (cpu >= gch_lib.nr_cpus)
			return gch_tcache_alloc(spanclass);
		ret = gch_percpu_pop(gch_percpu_cache(cpu, spanclass), cap,
				     cpu, &obj);
		if (ret == GCH_POP_OK)
			return (void *)(uintptr_t)obj;
		if (ret == GCH_POP_ABORT) {
			/*
			 * cpu_id is negative when this thread's rseq area is
			 * not (or no longer) registered: the critical section
			 * can never commit, so use the thread's own caches.
			 */
			if ((s32)__atomic_load_n(&gch_rseq_area()->cpu_id,
						 __ATOMIC_RELAXED) < 0 ||
			    ++aborts > GCH_PERCPU_MAX_ABORTS)
				return gch_tcache_alloc(spanclass);
			continue;
		}
		if (rounds++ == GCH_PERCPU_ROUNDS)
			return gch_alloc_direct(spanclass);
		if (gch_percpu_refill(spanclass))
			return NULL;
	}
}
