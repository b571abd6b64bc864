// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Per-thread caches: the fallback when the per-CPU caches cannot be used
 * (glibc did not register rseq, e.g. GLIBC_TUNABLES=glibc.pthread.rseq=0;
 * GCHEAP_NO_RSEQ; a CPU number beyond the control area; a thread whose
 * rseq area is unregistered).
 *
 * A thread's caches have the layout of a CPU's block of the control area
 * and are refilled with GCH_REFILL_BUFFER straight into their slots.  The
 * block itself is an object of the heap (scanned), allocated on the
 * thread's first use; all blocks are linked into a list that starts in
 * static data, and each is also pointed to from its thread's TLS.  So the
 * blocks stay reachable while their threads live, and the collector,
 * scanning them, sees the cached objects as referenced: they are never
 * freed under a cache.  Popped slots are cleared so they retain nothing.
 * At thread exit a pthread key destructor frees the cached objects and
 * the block (GCH_IOC_FREE).
 *
 * Only the owning thread touches its caches, except gch_stats(), which
 * reads the counts of all blocks (relaxed atomics) under the list lock;
 * a block leaves the list before it is freed.  A signal handler on the
 * owning thread that allocates while the thread is in here (a pop half
 * done, the list lock held) finds gch_in_lib set and takes its object
 * straight from the kernel, so no object is handed out twice.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/ioctl.h>

#include <linux/gcheap.h>

#include "internal.h"

/**
 * struct gch_tblock_links - a block's place in the list of all blocks,
 * stored in the block, after its caches
 * @next: the next block, or NULL.
 * @prev: the previous block, or NULL for the first.
 */
struct gch_tblock_links {
	char *next;
	char *prev;
};

__thread int gch_in_lib __attribute__((tls_model("initial-exec")));

/* The calling thread's block; NULL until its first use. */
static __thread char *gch_tc_block __attribute__((tls_model("initial-exec")));

static pthread_key_t gch_tc_key;
static pthread_mutex_t gch_tc_lock = PTHREAD_MUTEX_INITIALIZER;
static char *gch_tc_list;	/* in static data: a root of every block */
static u64 gch_tc_blocks;
static u32 gch_tc_links_off;	/* where the links lie in a block */

static struct gch_tblock_links *gch_tblock_links(char *block)
{
	return (struct gch_tblock_links *)(block + gch_tc_links_off);
}

static struct gch_cache *gch_tcache_of(char *block, unsigned int spanclass)
{
	return (struct gch_cache *)(block + gch_lib.layout.offset[spanclass]);
}

/* Free the cached objects and the block of a thread that is exiting. */
static void gch_tcache_destroy(void *arg)
{
	struct gch_tblock_links *l;
	char *block = arg;
	struct gch_cache *c;
	unsigned int sc;
	u32 i, n;

	/* a forked child's copy of the heap is not ours to touch */
	if (gch_lib_state() != GCH_LIB_READY || !block)
		return;
	gch_lib_enter();
	pthread_mutex_lock(&gch_tc_lock);
	l = gch_tblock_links(block);
	if (l->prev)
		gch_tblock_links(l->prev)->next = l->next;
	else
		gch_tc_list = l->next;
	if (l->next)
		gch_tblock_links(l->next)->prev = l->prev;
	gch_tc_blocks--;
	pthread_mutex_unlock(&gch_tc_lock);
	gch_tc_block = NULL;

	for (sc = 0; sc < GCH_NR_SPANCLASSES; sc++) {
		if (!gch_lib.layout.capacity[sc])
			continue;
		c = gch_tcache_of(block, sc);
		n = c->count;
		if (n > gch_lib.layout.capacity[sc])
			n = gch_lib.layout.capacity[sc];
		for (i = 0; i < n; i++)
			gch_free_object(c->slots[i] & ~GCH_SLOT_UNZEROED);
	}
	gch_free_object((u64)(uintptr_t)block);
	gch_lib_leave();
}

/**
 * gch_tcache_setup() - prepare per-thread caches, at heap setup
 *
 * Return: 0, or -1 with errno.
 */
int gch_tcache_setup(void)
{
	unsigned int sc;
	u32 end = 0;
	int err;

	/* the links follow the last cache */
	for (sc = 0; sc < GCH_NR_SPANCLASSES; sc++)
		if (gch_lib.layout.capacity[sc] &&
		    gch_lib.layout.offset[sc] + sizeof(struct gch_cache) +
		    gch_lib.layout.capacity[sc] * sizeof(__u64) > end)
			end = gch_lib.layout.offset[sc] + sizeof(struct gch_cache) +
			      gch_lib.layout.capacity[sc] * sizeof(__u64);
	gch_tc_links_off = round_up(end, (u32)sizeof(void *));
	err = pthread_key_create(&gch_tc_key, gch_tcache_destroy);
	if (err) {
		errno = err;
		return -1;
	}
	return 0;
}

/* Give the calling thread its block of caches. */
static char *gch_tcache_create(void)
{
	size_t size = gch_tc_links_off + sizeof(struct gch_tblock_links);
	struct gch_tblock_links *l;
	char *block;
	int err;

	if (size <= GCH_MAX_SMALL_SIZE)
		block = gch_alloc_direct(GCH_SPANCLASS(
			gch_size_to_class(&gch_lib.classes, size), 0));
	else
		block = gch_alloc_large(size, 0);
	if (!block)
		return NULL;
	err = pthread_setspecific(gch_tc_key, block);
	if (err) {
		gch_free_object((u64)(uintptr_t)block);
		errno = err;
		return NULL;
	}
	pthread_mutex_lock(&gch_tc_lock);
	l = gch_tblock_links(block);
	l->next = gch_tc_list;
	l->prev = NULL;
	if (gch_tc_list)
		gch_tblock_links(gch_tc_list)->prev = block;
	gch_tc_list = block;
	gch_tc_blocks++;
	pthread_mutex_unlock(&gch_tc_lock);
	gch_tc_block = block;
	return block;
}

/* Fill an empty cache from the kernel, straight into its slots. */
static int gch_tcache_refill(struct gch_cache *c, unsigned int spanclass)
{
	struct gch_refill r;

	memset(&r, 0, sizeof(r));
	r.hdr.size = sizeof(r);
	/*
	 * Zeroed by the kernel: the block is an object the collector scans,
	 * and so it scans the objects it holds; with old data in them, they
	 * could keep garbage alive.
	 */
	r.hdr.flags = GCH_REFILL_BUFFER;
	r.spanclass = spanclass;
	r.max = gch_lib.layout.capacity[spanclass];
	r.buf = (u64)(uintptr_t)c->slots;
	if (gch_ioctl_nointr(GCH_IOC_REFILL, &r))
		return -1;
	if (!r.count || r.count > r.max) {
		errno = ENOMEM;
		return -1;
	}
	__atomic_store_n(&c->count, r.count, __ATOMIC_RELAXED);
	gch_collect_if_due(r.gc_due);	/* the block is reachable: a root */
	return 0;
}

/**
 * gch_tcache_alloc() - allocate from the calling thread's cache
 * @spanclass: a span class with a cache.
 *
 * Return: an object, or NULL with errno.
 */
void *gch_tcache_alloc(unsigned int spanclass)
{
	char *block = gch_tc_block;
	struct gch_cache *c;
	void *ret = NULL;
	u64 obj;
	u32 n;

	/* a signal handler that interrupted us in here */
	if (__builtin_expect(gch_in_lib, 0))
		return gch_alloc_direct(spanclass);
	gch_lib_enter();
	if (__builtin_expect(!block, 0)) {
		block = gch_tcache_create();
		if (!block)
			goto out;
	}
	c = gch_tcache_of(block, spanclass);
	n = c->count;
	if (__builtin_expect(n - 1 >= gch_lib.layout.capacity[spanclass], 0)) {
		/* empty (or scribbled over: what it held is lost) */
		if (gch_tcache_refill(c, spanclass))
			goto out;
		n = c->count;
	}
	n--;
	obj = c->slots[n];
	c->slots[n] = 0;
	__atomic_store_n(&c->count, n, __ATOMIC_RELAXED);
	ret = (void *)(uintptr_t)obj;
out:
	gch_lib_leave();
	return ret;
}

/**
 * gch_tcache_count() - what the per-thread caches hold, for statistics
 * @objects: out: cached objects, in all threads' caches.
 * @blocks:  out: per-thread cache blocks (heap objects of the library).
 *
 * Return: true if the blocks are large objects (the module counts them
 * in its large_objects).
 */
bool gch_tcache_count(u64 *objects, u64 *blocks)
{
	unsigned int sc;
	u64 total = 0;
	char *block;
	u32 n;

	gch_lib_enter();
	pthread_mutex_lock(&gch_tc_lock);
	for (block = gch_tc_list; block; block = gch_tblock_links(block)->next) {
		for (sc = 0; sc < GCH_NR_SPANCLASSES; sc++) {
			if (!gch_lib.layout.capacity[sc])
				continue;
			n = __atomic_load_n(&gch_tcache_of(block, sc)->count,
					    __ATOMIC_RELAXED);
			if (n <= gch_lib.layout.capacity[sc])
				total += n;
		}
	}
	*objects = total;
	*blocks = gch_tc_blocks;
	pthread_mutex_unlock(&gch_tc_lock);
	gch_lib_leave();
	return gch_tc_links_off + sizeof(struct gch_tblock_links) >
	       GCH_MAX_SMALL_SIZE;
}
