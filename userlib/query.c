// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Questions about objects and the heap: gch_free(), gch_size(),
 * gch_base(), gch_stats().
 *
 * The kernel owns the span table, so these ask it (GCH_IOC_QUERY,
 * GCH_IOC_FREE, GCH_IOC_STATS).  Addresses outside the arena are answered
 * here without a system call, and none of these sets the heap up: before
 * the first allocation no address can be a heap object.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>

#include <linux/gcheap.h>

#include "gcheap.h"
#include "internal.h"

/*
 * May @ptr be an object?  0 if it may (the heap is ours and @ptr is in the
 * arena), else -1 with errno EINVAL or EPERM.
 */
static int gch_check_addr(const void *ptr)
{
	switch (gch_lib_state()) {
	case GCH_LIB_READY:
		if (gch_in_arena(ptr))
			return 0;
		break;
	case GCH_LIB_FORKED:
		errno = EPERM;
		return -1;
	default:
		break;
	}
	errno = EINVAL;
	return -1;
}

/**
 * gch_free_object() - give an object back to the kernel
 * @addr: the object's first byte.
 *
 * Return: 0, or -1 with errno (EINVAL: not the start of an allocated
 * object).
 */
int gch_free_object(u64 addr)
{
	struct gch_free f;

	memset(&f, 0, sizeof(f));
	f.hdr.size = sizeof(f);
	f.addr = addr;
	return ioctl(gch_lib.fd, GCH_IOC_FREE, &f);
}

/**
 * gch_query_object() - find the object @ptr points into
 * @ptr: any address.
 * @q:   out: the kernel's answer.
 *
 * Return: 0, or -1 with errno EINVAL (outside the arena), ENOENT (not in
 * an allocated object) or EPERM (a forked child).
 */
int gch_query_object(const void *ptr, struct gch_query *q)
{
	if (gch_check_addr(ptr))
		return -1;
	memset(q, 0, sizeof(*q));
	q->hdr.size = sizeof(*q);
	q->addr = (u64)(uintptr_t)ptr;
	return ioctl(gch_lib.fd, GCH_IOC_QUERY, q);
}

GCH_API int gch_free(void *ptr)
{
	if (!ptr)
		return 0;
	if (gch_check_addr(ptr))
		return -1;
	return gch_free_object((u64)(uintptr_t)ptr);
}

GCH_API size_t gch_size(const void *ptr)
{
	struct gch_query q;

	if (gch_query_object(ptr, &q))
		return 0;
	return q.size;
}

GCH_API void *gch_base(const void *ptr)
{
	struct gch_query q;

	if (gch_query_object(ptr, &q))
		return NULL;
	return (void *)(uintptr_t)q.base;
}

/*
 * gch_stats@@GCHEAP_0.2 fills the struct as this header has it; programs
 * linked against 0.1 (whose struct ended at @heap_goal) get
 * gch_stats@GCHEAP_0.1, which fills only that much.
 */
__asm__(".symver gch_stats_v2, gch_stats@@GCHEAP_0.2");
__asm__(".symver gch_stats_v1, gch_stats@GCHEAP_0.1");

GCH_API int gch_stats_v2(struct gch_heap_stats *stats)
{
	u64 tcached = 0, tblocks = 0, held;
	struct gch_stats st;
	bool tlarge;

	if (!gch_lib_usable())
		return -1;
	memset(&st, 0, sizeof(st));
	st.hdr.size = sizeof(st);
	if (ioctl(gch_lib.fd, GCH_IOC_STATS, &st))
		return -1;
	tlarge = gch_tcache_count(&tcached, &tblocks);

	memset(stats, 0, sizeof(*stats));
	stats->arena_size = st.arena_size;
	stats->mapped_bytes = st.mapped_bytes;
	stats->inuse_bytes = st.inuse_bytes;
	stats->objects = st.objects;
	stats->cached_objects = st.cached_objects;
	stats->nmalloc = st.nmalloc;
	stats->nfree = st.nfree;
	stats->spans_inuse = st.spans_inuse;
	/* the library's own cache blocks are not the program's objects */
	stats->large_objects = st.large_objects -
			       (tlarge ? min(tblocks, st.large_objects) : 0);
	stats->metadata_bytes = st.metadata_bytes;
	stats->thread_cached_objects = tcached;
	held = st.cached_objects + tcached + tblocks;
	stats->live_objects = st.objects > held ? st.objects - held : 0;
	stats->arena_start = gch_arena();
	stats->nr_cpus = gch_lib.nr_cpus;
	stats->gc_percent = gch_lib.gc_percent;
	stats->workers = gch_lib.workers;
	stats->percpu = gch_lib.percpu;
	/* a module older than ABI 0.4 reports zeros here */
	stats->refills = st.refills;
	stats->unswept_spans = st.unswept_spans;
	stats->idle_bytes = st.idle_bytes;
	stats->scavenged_bytes = st.scavenged_bytes;
	return gch_gc_fill_stats(stats);
}

GCH_API int gch_stats_v1(struct gch_heap_stats *stats)
{
	struct gch_heap_stats all;
	int ret = gch_stats_v2(&all);

	if (!ret)
		memcpy(stats, &all, offsetof(struct gch_heap_stats, refills));
	return ret;
}
