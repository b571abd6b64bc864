// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Collection from the library's side: the roots the kernel cannot find by
 * itself, asking for collections, pacing, and the collector's numbers.
 *
 * The kernel finds threads, registers and stacks on its own.  What it is
 * told: the data and bss of every loaded object (registered with
 * GCH_IOC_ROOTS under GCH_LIB_TAG_STATIC, and registered again whenever
 * dl_iterate_phdr()'s load and unload counters move, so a library
 * dlopen()ed later is a root from the next collection on), and how far
 * static TLS extends around a thread pointer (CONFIGURE's tls_below and
 * tls_above), for the main thread, whose TLS is not on its stack.
 *
 * The refresh of those ranges and every collection the library asks for
 * run as one step inside a dl_iterate_phdr() callback (see
 * gch_collect_locked()), so no collection sees half a root set or misses
 * a library whose constructors ran.  Results of exited, unjoined threads
 * are kept as roots by the pthread wrappers at the end of this file.
 *
 * Pacing: a refill or large allocation that finds the heap past its goal
 * comes back with gc_due; the allocating thread then collects with
 * GCH_COLLECT_IF_DUE (the kernel collects once however many threads ask).
 * An allocation that finds the heap exhausted collects too (gch_oom_*).
 */
/* this file calls the real pthread_create(), pthread_join() ... */
#define GCH_NO_PTHREAD_REDIRECTS

#include <errno.h>
#include <limits.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include <linux/gcheap.h>

#include "gcheap.h"
#include "internal.h"

/* GCH_IOC_ROOTS tags: ours, and the program's (gch_add_roots()). */
#define GCH_LIB_TAG_STATIC	1
#define GCH_LIB_TAG_USER	2

/* Bytes above the thread pointer: glibc's struct pthread and more. */
#define GCH_TLS_ABOVE		4096U

/*
 * Serialises the static roots' refresh and every collection the library
 * asks for; taken only inside a dl_iterate_phdr() callback (see
 * gch_collect_flags()), so always after glibc's dl_load_write_lock.
 */
static pthread_mutex_t gch_roots_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long long gch_dl_adds, gch_dl_subs;
static int gch_roots_valid;

/* The calling thread's thread pointer (glibc: the TCB's self pointer). */
static char *gch_thread_pointer(void)
{
	char *tp;

	__asm__ ("mov %%fs:0, %0" : "=r" (tp));
	return tp;
}

struct gch_dl_walk {
	int err;
	u32 tls_below;
};

static int gch_roots_ioctl(u32 op, u32 tag, const void *addr, size_t len)
{
	struct gch_roots r;

	memset(&r, 0, sizeof(r));
	r.hdr.size = sizeof(r);
	r.op = op;
	r.tag = tag;
	r.addr = (u64)(uintptr_t)addr;
	r.len = len;
	return ioctl(gch_lib.fd, GCH_IOC_ROOTS, &r);
}

/* dl_iterate_phdr() callback: register one object's writable segments. */
static int gch_dl_object(struct dl_phdr_info *info, size_t size, void *data)
{
	struct gch_dl_walk *walk = data;
	const ElfW(Phdr) *ph;
	unsigned int i;
	char *tp;

	(void)size;
	for (i = 0; i < info->dlpi_phnum; i++) {
		ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_W) &&
		    ph->p_memsz &&
		    gch_roots_ioctl(GCH_ROOTS_ADD, GCH_LIB_TAG_STATIC,
				    (void *)(info->dlpi_addr + ph->p_vaddr),
				    ph->p_memsz)) {
			walk->err = errno;
			return 1;
		}
		/* this thread's block of a module in static TLS */
		if (ph->p_type == PT_TLS && info->dlpi_tls_data) {
			tp = gch_thread_pointer();
			if ((char *)info->dlpi_tls_data < tp &&
			    tp - (char *)info->dlpi_tls_data <= GCH_TLS_MAX &&
			    tp - (char *)info->dlpi_tls_data > walk->tls_below)
				walk->tls_below = tp -
						  (char *)info->dlpi_tls_data;
		}
	}
	return 0;
}

/*
 * Register the loaded objects' data and bss anew if objects were loaded or
 * unloaded since the last time (the first object's @info carries the
 * dynamic linker's counters), and the static TLS extent.  Called with
 * dl_load_write_lock and gch_roots_lock held.  0 or -1 with errno; after
 * a failure the set is marked invalid, so no collection runs with half of
 * it and the next attempt starts over.
 */
static int gch_roots_refresh_locked(struct dl_phdr_info *info, size_t size)
{
	struct gch_dl_walk walk = { 0 };
	struct gch_heap_config cfg;
	unsigned long long adds = 0, subs = 0;

	if (size >= offsetof(struct dl_phdr_info, dlpi_subs) +
		    sizeof(info->dlpi_subs)) {
		adds = info->dlpi_adds;
		subs = info->dlpi_subs;
	}
	if (gch_roots_valid && adds && adds == gch_dl_adds &&
	    subs == gch_dl_subs)
		return 0;
	gch_roots_valid = 0;
	if (gch_roots_ioctl(GCH_ROOTS_CLEAR, GCH_LIB_TAG_STATIC, NULL, 0))
		return -1;
	/* nested: the lock is recursive, the list cannot change meanwhile */
	dl_iterate_phdr(gch_dl_object, &walk);
	if (walk.err) {
		errno = walk.err;
		return -1;
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.hdr.size = sizeof(cfg);
	cfg.tls_below = walk.tls_below;
	cfg.tls_above = GCH_TLS_ABOVE;
	if (ioctl(gch_lib.fd, GCH_IOC_CONFIGURE, &cfg))
		return -1;
	gch_dl_adds = adds;
	gch_dl_subs = subs;
	gch_roots_valid = 1;
	return 0;
}

/**
 * struct gch_collect_req - what gch_collect_locked() is asked and answers
 * @collect: GCH_IOC_COLLECT's argument, or NULL to refresh the roots only.
 * @ret:     0 or -1.
 * @err:     errno when @ret is -1.
 * @called:  the callback ran (there is always a first object).
 */
struct gch_collect_req {
	struct gch_collect *collect;
	int ret;
	int err;
	int called;
};

/*
 * dl_iterate_phdr() callback, on the first object only: glibc holds
 * dl_load_write_lock during callbacks, and dlopen() adds an object to the
 * list (_dl_add_to_namespace_list(), before its constructors run) and
 * dlclose() removes one (before unmapping it) under that lock.  So while
 * we are here the list is the one the collection sees: every object whose
 * constructors ran is in it and registered, nothing registered is
 * unmapped, and no other collection of ours runs (gch_roots_lock).
 */
static int gch_collect_locked(struct dl_phdr_info *info, size_t size,
			      void *data)
{
	struct gch_collect_req *req = data;

	req->called = 1;
	pthread_mutex_lock(&gch_roots_lock);
	req->ret = gch_roots_refresh_locked(info, size);
	if (!req->ret && req->collect)
		req->ret = ioctl(gch_lib.fd, GCH_IOC_COLLECT, req->collect);
	if (req->ret)
		req->err = errno;
	pthread_mutex_unlock(&gch_roots_lock);
	return 1;
}

/*
 * Refresh the roots and, if @c, collect, as one step under the dynamic
 * linker's lock.  Signals are blocked meanwhile: a handler that allocates
 * could otherwise run a collection of its own on this thread and wait for
 * the locks this thread holds.  0 or -1 with errno.
 */
static int gch_roots_collect(struct gch_collect *c)
{
	struct gch_collect_req req = { .collect = c };
	sigset_t all, old;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	gch_lib_enter();
	dl_iterate_phdr(gch_collect_locked, &req);
	gch_lib_leave();
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!req.called) {
		req.ret = -1;
		req.err = ENOENT;
	}
	if (req.ret)
		errno = req.err;
	return req.ret;
}

/**
 * gch_roots_setup() - register the roots at heap setup
 *
 * Return: 0, or -1 with errno.
 */
int gch_roots_setup(void)
{
	return gch_roots_collect(NULL);
}

static void gch_collection_from(struct gch_collection *c,
				const struct gch_gc_info *gi,
				const struct gch_gc_phases *ph)
{
	memset(c, 0, sizeof(*c));
	c->gc_number = gi->gc_number;
	c->reason = gi->reason;
	c->workers = gi->workers;
	c->threads = gi->threads;
	c->start_ns = gi->start_ns;
	c->stw_ns = gi->stw_ns;
	c->roots_ns = gi->roots_ns;
	c->mark_ns = gi->mark_ns;
	c->sweep_ns = gi->sweep_ns;
	c->pause_ns = gi->pause_ns;
	c->heap_before = gi->heap_before;
	c->heap_after = gi->heap_after;
	c->heap_goal = gi->heap_goal;
	c->objects_marked = gi->objects_marked;
	c->objects_freed = gi->objects_freed;
	c->bytes_freed = gi->bytes_freed;
	c->objects_scanned = gi->objects_scanned;
	c->bytes_scanned = gi->bytes_scanned;
	c->root_words = gi->root_words;
	c->steals = gi->steals;
	c->spans_released = gi->spans_released;
	c->pages_released = gi->pages_released;
	/* a module before ABI 0.7 leaves them 0: stop-the-world */
	c->phases = ph->flags;
	c->precleans = ph->precleans;
	c->initial_ns = ph->initial_ns;
	c->concurrent_ns = ph->concurrent_ns;
	c->final_start_ns = ph->final_start_ns;
	c->final_ns = ph->final_ns;
	c->dirty_pages = ph->dirty_pages;
}

static int gch_trace_on(void)
{
	static int on = -1;
	const char *v;

	if (on < 0) {
		v = getenv("GCHEAP_TRACE");
		on = v && *v && strcmp(v, "0");
	}
	return on;
}

static double gch_ms(u64 ns)
{
	return ns / 1e6;
}

/*
 * One line per collection, in the spirit of Go's GODEBUG=gctrace=1; a
 * collection that marked beside the program adds its two stops.
 */
static void gch_trace(const struct gch_gc_info *gi,
		      const struct gch_gc_phases *ph)
{
	fprintf(stderr,
		"gc %llu @%.3fs %s: %u threads, stw %.3f + roots %.3f + mark %.3f + sweep %.3f = pause %.3f ms; %.2f -> %.2f MiB, %.2f MiB goal; %llu freed, %llu marked; %u workers, %llu steals\n",
		(unsigned long long)gi->gc_number, gi->start_ns / 1e9,
		gi->reason == GCH_GC_REASON_GOAL ? "goal" : "user",
		gi->threads, gch_ms(gi->stw_ns), gch_ms(gi->roots_ns),
		gch_ms(gi->mark_ns), gch_ms(gi->sweep_ns),
		gch_ms(gi->pause_ns), gi->heap_before / 1048576.0,
		gi->heap_after / 1048576.0, gi->heap_goal / 1048576.0,
		(unsigned long long)gi->objects_freed,
		(unsigned long long)gi->objects_marked, gi->workers,
		(unsigned long long)gi->steals);
	if (!(ph->flags & GCH_PHASES_CONCURRENT))
		return;
	fprintf(stderr,
		"gc %llu concurrent%s: first stop %.3f ms, marked %.3f ms beside the program, %u pre-cleaning rounds, %llu dirty pages%s, final stop %.3f ms\n",
		(unsigned long long)gi->gc_number,
		ph->flags & GCH_PHASES_BACKGROUND ? " (background)" : "",
		gch_ms(ph->initial_ns), gch_ms(ph->concurrent_ns), ph->precleans,
		(unsigned long long)ph->dirty_pages,
		ph->flags & GCH_PHASES_WRITE_PROTECT ? " (write-protected)" : "",
		gch_ms(ph->final_ns));
}

/*
 * A second line when the heap has finalizers or weak links: what this
 * collection did with them (differences of the module's totals; the
 * trace is for reading, so concurrent collections may blur them).
 */
static void gch_trace_final(u64 gc)
{
	static u64 queued, cleared, dropped, ns;
	struct gch_stats st;

	memset(&st, 0, sizeof(st));
	st.hdr.size = sizeof(st);
	if (ioctl(gch_lib.fd, GCH_IOC_STATS, &st) ||
	    !(st.finalizers || st.finalizers_queued || st.weak_links ||
	      st.weak_cleared || st.weak_dropped))
		return;
	fprintf(stderr,
		"gc %llu finalizers: %llu queued, %llu waiting (behind another or on a cycle), %llu registered; weak links: %llu cleared, %llu dropped, %llu registered; %.3f ms\n",
		(unsigned long long)gc,
		(unsigned long long)(st.finalizers_queued - queued),
		(unsigned long long)st.finalizers_waiting,
		(unsigned long long)st.finalizers,
		(unsigned long long)(st.weak_cleared - cleared),
		(unsigned long long)(st.weak_dropped - dropped),
		(unsigned long long)st.weak_links,
		gch_ms(st.finalize_ns - ns));
	queued = st.finalizers_queued;
	cleared = st.weak_cleared;
	dropped = st.weak_dropped;
	ns = st.finalize_ns;
}

/*
 * The collection gate (gch_gc_hold()): every collection holds it for
 * writing, so none starts while a thread holds it for reading.  A
 * collection that is only due skips rather than wait; in a thread that
 * holds the gate itself, a collection fails with EDEADLK at once.
 */
static pthread_rwlock_t gch_gate = PTHREAD_RWLOCK_INITIALIZER;
static __thread unsigned int gch_gate_held __attribute__((tls_model("initial-exec")));

GCH_API int gch_gc_hold(void)
{
	int err = pthread_rwlock_rdlock(&gch_gate);

	if (err) {
		errno = err;
		return -1;
	}
	gch_gate_held++;
	return 0;
}

GCH_API int gch_gc_release(void)
{
	if (!gch_gate_held) {
		errno = EPERM;
		return -1;
	}
	gch_gate_held--;
	pthread_rwlock_unlock(&gch_gate);
	return 0;
}

/* Collect (always, or if due); 0 or -1 with errno. */
static int gch_collect_flags(u32 flags)
{
	struct gch_collect c;
	int ret = 0;

	if (gch_gate_held) {
		errno = EDEADLK;
		return -1;
	}
	if (flags & GCH_COLLECT_IF_DUE) {
		if (pthread_rwlock_trywrlock(&gch_gate))
			return 0;	/* held: the next allocation tries again */
	} else {
		pthread_rwlock_wrlock(&gch_gate);
	}
	memset(&c, 0, sizeof(c));
	c.hdr.size = sizeof(c);
	/* the program runs on as soon as the world restarts */
	c.hdr.flags = flags | GCH_COLLECT_ASYNC_SWEEP;
	if (gch_roots_collect(&c))
		ret = -1;
	pthread_rwlock_unlock(&gch_gate);
	if (!ret && c.collected && gch_trace_on()) {
		gch_trace(&c.info, &c.phases);
		gch_trace_final(c.info.gc_number);
	}
	return ret;
}

/**
 * gch_collect_if_due() - collect because an allocation found the heap past
 * its goal
 * @due: the gc_due the kernel returned; nothing happens if 0.
 *
 * A failure is not the allocation's: errno is kept, and the next
 * allocation past the goal tries again.
 */
void gch_collect_if_due(u32 due)
{
	int saved = errno;

	if (due)
		gch_collect_flags(GCH_COLLECT_IF_DUE);
	errno = saved;
}

/*
 * Collections for allocations that found the heap exhausted: after one
 * that did not help, the next @gch_oom_backoff (1, 2, 4 ... 1024) failing
 * allocations fail at once instead of each collecting in vain.  The
 * program's own collection ends the back-off: its sweep runs in the
 * background, so the allocation right after it may still find the heap
 * full, and must collect (which waits for that sweep) and retry.
 */
#define GCH_OOM_BACKOFF_MAX	1024U
static u32 gch_oom_backoff, gch_oom_skip;

GCH_API int gch_collect(void)
{
	int ret;

	if (!gch_lib_usable())
		return -1;
	ret = gch_collect_flags(0);
	if (!ret)
		__atomic_store_n(&gch_oom_skip, 0, __ATOMIC_RELAXED);
	return ret;
}

/**
 * gch_oom_collect() - collect because an allocation failed with ENOMEM
 *
 * Return: 1 if a collection ran (retry the allocation), 0 if backing off
 * or the collection failed; errno is ENOMEM either way.
 */
int gch_oom_collect(void)
{
	u32 skip = __atomic_load_n(&gch_oom_skip, __ATOMIC_RELAXED);
	int ret;

	while (skip)
		if (__atomic_compare_exchange_n(&gch_oom_skip, &skip, skip - 1,
						0, __ATOMIC_RELAXED,
						__ATOMIC_RELAXED)) {
			errno = ENOMEM;
			return 0;
		}
	ret = gch_collect_flags(0) == 0;
	errno = ENOMEM;
	return ret;
}

/**
 * gch_oom_done() - how the allocation retried after gch_oom_collect() went
 * @ok: it succeeded: the collection helped.
 */
void gch_oom_done(int ok)
{
	u32 b;

	if (ok) {
		if (__atomic_load_n(&gch_oom_backoff, __ATOMIC_RELAXED))
			__atomic_store_n(&gch_oom_backoff, 0, __ATOMIC_RELAXED);
		return;
	}
	b = __atomic_load_n(&gch_oom_backoff, __ATOMIC_RELAXED);
	b = b ? (b < GCH_OOM_BACKOFF_MAX ? 2 * b : b) : 1;
	__atomic_store_n(&gch_oom_backoff, b, __ATOMIC_RELAXED);
	__atomic_store_n(&gch_oom_skip, b, __ATOMIC_RELAXED);
}

/* GCH_IOC_GC_STATS, with up to @max history entries into @hist. */
static int gch_gc_stats(struct gch_gc_stats *st, struct gch_gc_info *hist,
			struct gch_gc_phases *phist, unsigned int max)
{
	int ret;

	memset(st, 0, sizeof(*st));
	st->hdr.size = sizeof(*st);
	st->history = (u64)(uintptr_t)hist;
	st->phase_history = (u64)(uintptr_t)phist;
	st->history_max = hist ? max : 0;
	ret = ioctl(gch_lib.fd, GCH_IOC_GC_STATS, st);
	/* a module before ABI 0.7: no phases (E2BIG: it does not know them) */
	if (ret && errno == E2BIG && phist) {
		st->hdr.size = GCH_GC_STATS_SIZE_VER0;
		st->phase_history = 0;
		ret = ioctl(gch_lib.fd, GCH_IOC_GC_STATS, st);
	}
	return ret;
}

/**
 * gch_gc_fill_stats() - the collector's numbers for gch_stats()
 * @stats: its num_gc, pause_total_ns, heap_goal and gc_percent are set.
 *
 * Return: 0, or -1 with errno.
 */
int gch_gc_fill_stats(struct gch_heap_stats *stats)
{
	struct gch_gc_stats st;

	if (gch_gc_stats(&st, NULL, NULL, 0))
		return -1;
	stats->num_gc = st.num_gc;
	stats->pause_total_ns = st.pause_total_ns;
	stats->heap_goal = st.heap_goal;
	stats->gc_percent = st.gc_percent;
	return 0;
}

/*
 * gch_last_collection@@GCHEAP_0.5 and gch_collections@@GCHEAP_0.5 fill
 * struct gch_collection with its phases; programs built before call the
 * GCHEAP_0.1 versions, which fill the struct as it was (up to @phases).
 */
__asm__(".symver gch_last_collection_v5, gch_last_collection@@GCHEAP_0.5");
__asm__(".symver gch_last_collection_v1, gch_last_collection@GCHEAP_0.1");
__asm__(".symver gch_collections_v5, gch_collections@@GCHEAP_0.5");
__asm__(".symver gch_collections_v1, gch_collections@GCHEAP_0.1");

#define GCH_COLLECTION_V1_SIZE	offsetof(struct gch_collection, phases)

GCH_API int gch_last_collection_v5(struct gch_collection *c)
{
	struct gch_gc_stats st;

	if (!gch_lib_usable() || gch_gc_stats(&st, NULL, NULL, 0))
		return -1;
	if (!st.num_gc) {
		errno = ENOENT;
		return -1;
	}
	gch_collection_from(c, &st.last, &st.last_phases);
	return 0;
}

GCH_API int gch_last_collection_v1(struct gch_collection *c)
{
	struct gch_collection all;
	int ret = gch_last_collection_v5(&all);

	if (!ret)
		memcpy(c, &all, GCH_COLLECTION_V1_SIZE);
	return ret;
}

/* The last @max collections into @buf, @size bytes apart. */
static int gch_collections_sized(void *buf, unsigned int max, size_t size)
{
	struct gch_gc_phases *phist;
	struct gch_collection c;
	struct gch_gc_info *hist;
	struct gch_gc_stats st;
	unsigned int i;

	if (!gch_lib_usable())
		return -1;
	if (max > GCH_GC_HISTORY)
		max = GCH_GC_HISTORY;
	if (!max)
		return 0;
	hist = calloc(max, sizeof(*hist) + sizeof(*phist));
	if (!hist) {
		errno = ENOMEM;
		return -1;
	}
	phist = (struct gch_gc_phases *)(hist + max);
	if (gch_gc_stats(&st, hist, phist, max)) {
		free(hist);
		return -1;
	}
	for (i = 0; i < st.history_count && i < max; i++) {
		gch_collection_from(&c, &hist[i], &phist[i]);
		memcpy((char *)buf + i * size, &c, size);
	}
	free(hist);
	return i;
}

GCH_API int gch_collections_v5(struct gch_collection *buf, unsigned int max)
{
	return gch_collections_sized(buf, max, sizeof(*buf));
}

GCH_API int gch_collections_v1(struct gch_collection *buf, unsigned int max)
{
	return gch_collections_sized(buf, max, GCH_COLLECTION_V1_SIZE);
}

GCH_API int gch_set_gc_percent(int percent)
{
	struct gch_heap_config cfg;
	u32 old;

	if (!gch_lib_usable())
		return -2;
	if (percent > 1000000) {
		errno = EINVAL;
		return -2;
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.hdr.size = sizeof(cfg);
	if (ioctl(gch_lib.fd, GCH_IOC_CONFIGURE, &cfg))
		return -2;
	old = cfg.gc_percent;
	memset(&cfg, 0, sizeof(cfg));
	cfg.hdr.size = sizeof(cfg);
	/* 0 means "keep" to the kernel: the smallest growth it takes is 1 */
	cfg.gc_percent = percent < 0 ? GCH_GC_OFF :
			 percent ? (u32)percent : 1U;
	if (ioctl(gch_lib.fd, GCH_IOC_CONFIGURE, &cfg))
		return -2;
	return old == GCH_GC_OFF ? -1 : (int)old;
}

GCH_API int gch_add_roots(void *start, void *end)
{
	if ((char *)start >= (char *)end) {
		errno = EINVAL;
		return -1;
	}
	if (!gch_lib_usable())
		return -1;
	return gch_roots_ioctl(GCH_ROOTS_ADD, GCH_LIB_TAG_USER, start,
			       (char *)end - (char *)start);
}

GCH_API int gch_remove_roots(void *start, void *end)
{
	if ((char *)start >= (char *)end) {
		errno = EINVAL;
		return -1;
	}
	if (!gch_lib_usable())
		return -1;
	return gch_roots_ioctl(GCH_ROOTS_REMOVE, GCH_LIB_TAG_USER, start,
			       (char *)end - (char *)start);
}

/*
 * Thread results.  glibc keeps the value a thread returned (or passed to
 * pthread_exit()) in its struct pthread, inside the dead thread's stack
 * mapping, which is no root once the thread has left the group.  Until
 * the thread is joined, the library keeps the value in a record of its
 * own: a scanned heap object on a list that starts in static data.
 * gcheap.h redirects pthread_create, pthread_join, pthread_detach and
 * pthread_exit to these wrappers.
 */

/*
 * A small scanned object straight from the kernel: a thread's records
 * should not fill a per-thread cache (and its statistics) of a thread
 * that may never allocate.
 */
static void *gch_alloc_small(size_t size)
{
	return gch_alloc_direct(GCH_SPANCLASS(
		gch_size_to_class(&gch_lib.classes, size), 0));
}

/**
 * struct gch_thread_result - the result of an exited, unjoined thread
 * @next:   the next record (older), or NULL.
 * @thread: whose.
 * @result: what it returned.
 */
struct gch_thread_result {
	struct gch_thread_result *next;
	pthread_t thread;
	void *result;
};

static pthread_mutex_t gch_results_lock = PTHREAD_MUTEX_INITIALIZER;
static struct gch_thread_result *gch_results;	/* .bss: a root */

/**
 * struct gch_thread_start - a new thread's start routine and argument
 * @start: the program's start routine.
 * @arg:   its argument (a root while here: this is a heap object when
 *         the heap is set up).
 * @heap:  allocated with gch_malloc() rather than malloc().
 */
struct gch_thread_start {
	void *(*start)(void *);
	void *arg;
	int heap;
};

/* Keep @result of the calling thread until it is joined. */
static void gch_keep_result(void *result)
{
	struct gch_thread_result *r;
	pthread_attr_t attr;
	int state = PTHREAD_CREATE_JOINABLE;

	if (gch_lib_state() != GCH_LIB_READY || !gch_in_arena(result))
		return;
	r = gch_alloc_small(sizeof(*r));
	if (!r)
		return;	/* ENOMEM: the result is only in glibc's copy */
	r->thread = pthread_self();
	r->result = result;
	/* under the lock: a concurrent gch_pthread_detach() sees the record */
	pthread_mutex_lock(&gch_results_lock);
	if (!pthread_getattr_np(r->thread, &attr)) {
		pthread_attr_getdetachstate(&attr, &state);
		pthread_attr_destroy(&attr);
	}
	if (state != PTHREAD_CREATE_DETACHED) {
		r->next = gch_results;
		gch_results = r;
	}
	pthread_mutex_unlock(&gch_results_lock);
}

/*
 * Drop the oldest record of @t (a newer one belongs to a thread that got
 * the same pthread_t after @t was joined).  gch_results_lock held.
 */
static void gch_forget_result_locked(pthread_t t)
{
	struct gch_thread_result **pp, **found = NULL, *r;

	for (pp = &gch_results; *pp; pp = &(*pp)->next)
		if (pthread_equal((*pp)->thread, t))
			found = pp;
	if (found) {
		r = *found;
		*found = r->next;
		r->next = NULL;
		r->result = NULL;
	}
}

static void *gch_thread_start(void *arg)
{
	struct gch_thread_start s = *(struct gch_thread_start *)arg;
	void *result;

	if (s.heap)
		gch_free(arg);
	else
		free(arg);
	result = s.start(s.arg);
	gch_keep_result(result);
	return result;
}

GCH_API int gch_pthread_create(pthread_t *thread, const pthread_attr_t *attr,
			       void *(*start)(void *), void *arg)
{
	struct gch_thread_start *s;
	int state, err, heap;

	/* a detached thread's result is never asked for */
	if (attr && !pthread_attr_getdetachstate(attr, &state) &&
	    state == PTHREAD_CREATE_DETACHED)
		return pthread_create(thread, attr, start, arg);
	/* without a heap @arg is no object; never set one up here */
	heap = gch_lib_state() == GCH_LIB_READY;
	s = heap ? gch_alloc_small(sizeof(*s)) : NULL;
	if (!s) {
		/* no heap, or none left: @arg is then the creator's to keep */
		heap = 0;
		s = malloc(sizeof(*s));
		if (!s)
			return EAGAIN;
	}
	s->start = start;
	s->arg = arg;
	s->heap = heap;
	err = pthread_create(thread, attr, gch_thread_start, s);
	if (err) {
		if (heap)
			gch_free(s);
		else
			free(s);
	}
	return err;
}

GCH_API int gch_pthread_join(pthread_t thread, void **result)
{
	int err = pthread_join(thread, result);

	if (!err && __atomic_load_n(&gch_results, __ATOMIC_RELAXED)) {
		pthread_mutex_lock(&gch_results_lock);
		gch_forget_result_locked(thread);
		pthread_mutex_unlock(&gch_results_lock);
	}
	return err;
}

GCH_API int gch_pthread_detach(pthread_t thread)
{
	int err;

	pthread_mutex_lock(&gch_results_lock);
	err = pthread_detach(thread);
	if (!err)
		gch_forget_result_locked(thread);
	pthread_mutex_unlock(&gch_results_lock);
	return err;
}

GCH_API void gch_pthread_exit(void *result)
{
	gch_keep_result(result);
	pthread_exit(result);
}

/*
 * Thread-specific data.  glibc keeps the values of keys below
 * PTHREAD_KEY_2NDLEVEL_SIZE (32) in struct pthread, scanned with the
 * thread's stack mapping, and those of higher keys in calloc()ed blocks,
 * which are not.  gch_pthread_setspecific() (gcheap.h redirects
 * pthread_setspecific) copies values of higher keys into a scanned heap
 * object of the thread's, pointed to from the library's static TLS: a
 * root while the thread lives.
 */
#define GCH_TSD_FIRST_HIGH	32

static __thread void **gch_tsd_high __attribute__((tls_model("initial-exec")));

GCH_API int gch_pthread_setspecific(pthread_key_t key, const void *value)
{
	void **high = gch_tsd_high;
	int err;

	if (key < GCH_TSD_FIRST_HIGH || key >= PTHREAD_KEYS_MAX)
		return pthread_setspecific(key, value);
	if (!high && value && gch_lib_state() == GCH_LIB_READY &&
	    gch_in_arena(value)) {
		/* before the value is only in malloc() memory */
		high = gch_alloc_small(PTHREAD_KEYS_MAX * sizeof(void *));
		if (!high)
			return ENOMEM;
		gch_tsd_high = high;
	}
	err = pthread_setspecific(key, value);
	if (!err && high)
		high[key] = (void *)value;
	return err;
}
