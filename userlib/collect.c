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
 * Pacing: a refill or large allocation that finds the heap past its goal
 * comes back with gc_due; the allocating thread then collects with
 * GCH_COLLECT_IF_DUE (the kernel collects once however many threads ask).
 */
#include <errno.h>
#include <link.h>
#include <pthread.h>
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

/* Serialises the static roots' refresh; the counters it compares. */
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
	unsigned long long adds, subs;
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

	if (size >= offsetof(struct dl_phdr_info, dlpi_subs) +
		    sizeof(info->dlpi_subs)) {
		walk->adds = info->dlpi_adds;
		walk->subs = info->dlpi_subs;
	}
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

/* The load and unload counters of the dynamic linker. */
static int gch_dl_counters(struct dl_phdr_info *info, size_t size,
			   void *data)
{
	struct gch_dl_walk *walk = data;

	if (size >= offsetof(struct dl_phdr_info, dlpi_subs) +
		    sizeof(info->dlpi_subs)) {
		walk->adds = info->dlpi_adds;
		walk->subs = info->dlpi_subs;
	}
	return 1;	/* the first object is enough */
}

/*
 * Register the loaded objects' data and bss anew if objects were loaded or
 * unloaded since the last time, and the static TLS extent.  0 or -1.
 */
static int gch_roots_refresh(void)
{
	struct gch_dl_walk walk = { 0 };
	struct gch_heap_config cfg;
	int ret = 0;

	pthread_mutex_lock(&gch_roots_lock);
	dl_iterate_phdr(gch_dl_counters, &walk);
	if (gch_roots_valid && walk.adds == gch_dl_adds &&
	    walk.subs == gch_dl_subs)
		goto out;
	memset(&walk, 0, sizeof(walk));
	if (gch_roots_ioctl(GCH_ROOTS_CLEAR, GCH_LIB_TAG_STATIC, NULL, 0)) {
		ret = -1;
		goto out;
	}
	dl_iterate_phdr(gch_dl_object, &walk);
	if (walk.err) {
		errno = walk.err;
		ret = -1;
		goto out;
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.hdr.size = sizeof(cfg);
	cfg.tls_below = walk.tls_below;
	cfg.tls_above = GCH_TLS_ABOVE;
	if (ioctl(gch_lib.fd, GCH_IOC_CONFIGURE, &cfg)) {
		ret = -1;
		goto out;
	}
	gch_dl_adds = walk.adds;
	gch_dl_subs = walk.subs;
	gch_roots_valid = 1;
out:
	pthread_mutex_unlock(&gch_roots_lock);
	return ret;
}

/**
 * gch_roots_setup() - register the roots at heap setup
 *
 * Return: 0, or -1 with errno.
 */
int gch_roots_setup(void)
{
	return gch_roots_refresh();
}

static void gch_collection_from(struct gch_collection *c,
				const struct gch_gc_info *gi)
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

/* One line per collection, in the spirit of Go's GODEBUG=gctrace=1. */
static void gch_trace(const struct gch_gc_info *gi)
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
}

/* Collect (always, or if due); 0 or -1 with errno. */
static int gch_collect_flags(u32 flags)
{
	struct gch_collect c;

	if (gch_roots_refresh())
		return -1;
	memset(&c, 0, sizeof(c));
	c.hdr.size = sizeof(c);
	c.hdr.flags = flags;
	if (ioctl(gch_lib.fd, GCH_IOC_COLLECT, &c))
		return -1;
	if (c.collected && gch_trace_on())
		gch_trace(&c.info);
	return 0;
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

GCH_API int gch_collect(void)
{
	if (!gch_lib_usable())
		return -1;
	return gch_collect_flags(0);
}

/* GCH_IOC_GC_STATS, with up to @max history entries into @hist. */
static int gch_gc_stats(struct gch_gc_stats *st, struct gch_gc_info *hist,
			unsigned int max)
{
	memset(st, 0, sizeof(*st));
	st->hdr.size = sizeof(*st);
	st->history = (u64)(uintptr_t)hist;
	st->history_max = hist ? max : 0;
	return ioctl(gch_lib.fd, GCH_IOC_GC_STATS, st);
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

	if (gch_gc_stats(&st, NULL, 0))
		return -1;
	stats->num_gc = st.num_gc;
	stats->pause_total_ns = st.pause_total_ns;
	stats->heap_goal = st.heap_goal;
	stats->gc_percent = st.gc_percent;
	return 0;
}

GCH_API int gch_last_collection(struct gch_collection *c)
{
	struct gch_gc_stats st;

	if (!gch_lib_usable() || gch_gc_stats(&st, NULL, 0))
		return -1;
	if (!st.num_gc) {
		errno = ENOENT;
		return -1;
	}
	gch_collection_from(c, &st.last);
	return 0;
}

GCH_API int gch_collections(struct gch_collection *buf, unsigned int max)
{
	struct gch_gc_info *hist;
	struct gch_gc_stats st;
	unsigned int i;

	if (!gch_lib_usable())
		return -1;
	if (max > GCH_GC_HISTORY)
		max = GCH_GC_HISTORY;
	if (!max)
		return 0;
	hist = calloc(max, sizeof(*hist));
	if (!hist) {
		errno = ENOMEM;
		return -1;
	}
	if (gch_gc_stats(&st, hist, max)) {
		free(hist);
		return -1;
	}
	for (i = 0; i < st.history_count && i < max; i++)
		gch_collection_from(&buf[i], &hist[i]);
	free(hist);
	return i;
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
