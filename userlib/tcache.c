// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Per-thread caches: the fallback when the per-CPU caches cannot be used
 * (glibc did not register rseq, e.g. GLIBC_TUNABLES=glibc.pthread.rseq=0;
 * GCHEAP_NO_RSEQ; a CPU number beyond the control area).
 *
 * A thread's caches have the layout of a CPU's block of the control area
 * and are refilled with GCH_REFILL_BUFFER straight into their slots.  The
 * block itself is an object of the heap (scanned), allocated on the
 * thread's first use and pointed to from thread-local storage: it stays
 * reachable while the thread lives, and the collector, scanning it, sees
 * the cached objects as referenced, so they are never freed under the
 * cache.  Popped slots are cleared so they retain nothing.  At thread
 * exit a pthread key destructor frees the cached objects and the block
 * (GCH_IOC_FREE).
 *
 * Only the owning thread touches its block, except gch_stats(), which
 * reads counts of all live blocks (relaxed atomics) under the list lock;
 * a block leaves the list before it is freed.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/ioctl.h>

#include <linux/gcheap.h>

#include "internal.h"

/**
 * struct gch_tcache - a thread's cache bookkeeping (thread-local)
 * @block: the caches, a heap object with a CPU block's layout; NULL
 *         until the thread's first use.
 * @next:  in the list of all threads' caches.
 * @pprev: the pointer to this entry in that list.
 */
struct gch_tcache {
	char *block;
	struct gch_tcache *next;
	struct gch_tcache **pprev;
};

static __thread struct gch_tcache gch_tc
	__attribute__((tls_model("initial-exec")));

static pthread_key_t gch_tc_key;
static pthread_mutex_t gch_tc_lock = PTHREAD_MUTEX_INITIALIZER;
static struct gch_tcache *gch_tc_list;
static u64 gch_tc_blocks;

static struct gch_cache *gch_tcache_of(const struct gch_tcache *tc,
				       unsigned int spanclass)
{
	return (struct gch_cache *)(tc->block +
				    gch_lib.layout.offset[spanclass]);
}

/* Free the cached objects and the block of a thread that is exiting. */
static void gch_tcache_destroy(void *arg)
{
	struct gch_tcache *tc = arg;
	struct gch_cache *c;
	unsigned int sc;
	u32 i, n;

	/* a forked child's copy of the heap is not ours to touch */
	if (__atomic_load_n(&gch_lib.state, __ATOMIC_ACQUIRE) != GCH_LIB_READY ||
	    !tc->block)
		return;
	pthread_mutex_lock(&gch_tc_lock);
	*tc->pprev = tc->next;
	if (tc->next)
		tc->next->pprev = tc->pprev;
	gch_tc_blocks--;
	pthread_mutex_unlock(&gch_tc_lock);

	for (sc = 0; sc < GCH_NR_SPANCLASSES; sc++) {
		if (!gch_lib.layout.capacity[sc])
			continue;
		c = gch_tcache_of(tc, sc);
		n = c->count;
		if (n > gch_lib.layout.capacity[sc])
			n = gch_lib.layout.capacity[sc];
		for (i = 0; i < n; i++)
			gch_free_object(c->slots[i]);
	}
	gch_free_object((u64)(uintptr_t)tc->block);
	tc->block = NULL;
}

/**
 * gch_tcache_setup() - prepare per-thread caches, at heap setup
 *
 * Return: 0, or -1 with errno.
 */
int gch_tcache_setup(void)
{
	int err = pthread_key_create(&gch_tc_key, gch_tcache_destroy);

	if (err) {
		errno = err;
		return -1;
	}
	return 0;
}

/* Give the calling thread its block of caches. */
static int gch_tcache_create(struct gch_tcache *tc)
{
	u32 stride = gch_lib.layout.stride;
	int err;

	if (stride <= GCH_MAX_SMALL_SIZE)
		tc->block = gch_alloc_direct(GCH_SPANCLASS(
			gch_size_to_class(&gch_lib.classes, stride), 0));
	else
		tc->block = gch_alloc_large(stride, 0);
	if (!tc->block)
		return -1;
	err = pthread_setspecific(gch_tc_key, tc);
	if (err) {
		gch_free_object((u64)(uintptr_t)tc->block);
		tc->block = NULL;
		errno = err;
		return -1;
	}
	pthread_mutex_lock(&gch_tc_lock);
	tc->next = gch_tc_list;
	tc->pprev = &gch_tc_list;
	if (gch_tc_list)
		gch_tc_list->pprev = &tc->next;
	gch_tc_list = tc;
	gch_tc_blocks++;
	pthread_mutex_unlock(&gch_tc_lock);
	return 0;
}

/* Fill an empty cache from the kernel, straight into its slots. */
static int gch_tcache_refill(struct gch_cache *c, unsigned int spanclass)
{
	struct gch_refill r;

	memset(&r, 0, sizeof(r));
	r.hdr.size = sizeof(r);
	r.hdr.flags = GCH_REFILL_BUFFER;
	r.spanclass = spanclass;
	r.max = gch_lib.layout.capacity[spanclass];
	r.buf = (u64)(uintptr_t)c->slots;
	if (ioctl(gch_lib.fd, GCH_IOC_REFILL, &r))
		return -1;
	if (!r.count || r.count > r.max) {
		errno = ENOMEM;
		return -1;
	}
	__atomic_store_n(&c->count, r.count, __ATOMIC_RELAXED);
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
	struct gch_tcache *tc = &gch_tc;
	struct gch_cache *c;
	u64 obj;
	u32 n;

	if (__builtin_expect(!tc->block, 0) && gch_tcache_create(tc))
		return NULL;
	c = gch_tcache_of(tc, spanclass);
	n = c->count;
	if (__builtin_expect(n - 1 >= gch_lib.layout.capacity[spanclass], 0)) {
		/* empty (or scribbled over: what it held is lost) */
		if (gch_tcache_refill(c, spanclass))
			return NULL;
		n = c->count;
	}
	n--;
	obj = c->slots[n];
	c->slots[n] = 0;
	__atomic_store_n(&c->count, n, __ATOMIC_RELAXED);
	return (void *)(uintptr_t)obj;
}

/**
 * gch_tcache_count() - what the per-thread caches hold, for statistics
 * @objects: out: cached objects, in all threads' caches.
 * @blocks:  out: per-thread cache blocks (heap objects of the library).
 */
void gch_tcache_count(u64 *objects, u64 *blocks)
{
	const struct gch_tcache *tc;
	unsigned int sc;
	u64 total = 0;
	u32 n;

	pthread_mutex_lock(&gch_tc_lock);
	for (tc = gch_tc_list; tc; tc = tc->next) {
		for (sc = 0; sc < GCH_NR_SPANCLASSES; sc++) {
			if (!gch_lib.layout.capacity[sc])
				continue;
			n = __atomic_load_n(&gch_tcache_of(tc, sc)->count,
					    __ATOMIC_RELAXED);
			if (n <= gch_lib.layout.capacity[sc])
				total += n;
		}
	}
	*objects = total;
	*blocks = gch_tc_blocks;
	pthread_mutex_unlock(&gch_tc_lock);
}
