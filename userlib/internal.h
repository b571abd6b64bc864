/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libgcheap internals shared between its files. */
#ifndef GCHEAP_LIB_INTERNAL_H
#define GCHEAP_LIB_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/cache.h"
#include "core/sizeclass.h"

/* Exported symbols; everything else is hidden (see libgcheap.map). */
#define GCH_API __attribute__((visibility("default")))

/* enum gch_lib_state: where the process's heap is in its life. */
enum gch_lib_state {
	GCH_LIB_UNINIT = 0,	/* not set up yet: the next use does it */
	GCH_LIB_READY,		/* usable */
	GCH_LIB_FAILED,		/* setup failed with gch_lib.init_errno */
	GCH_LIB_FORKED,		/* a forked child's copy: not ours (EPERM) */
};

/**
 * struct gch_lib - the process's heap as the library sees it
 * @state:       enum gch_lib_state; set to READY (release) after every
 *               other field, read with acquire by gch_lib_usable().
 * @percpu:      the per-CPU caches (rseq) are in use.
 * @nr_cpus:     CPU blocks in the control area.
 * @cpu_stride:  bytes between two CPUs' blocks (== @layout.stride).
 * @control:     the control area's user address (NULL without @percpu).
 * @fd:          the open /dev/gcheap.
 * @init_errno:  errno of a failed setup (state FAILED).
 * @arena_inv:   the arena's first byte, bit-inverted, so that the
 *               library's data (a root) holds no pointer into the heap;
 *               no object is ever at that byte anyway (the module never
 *               hands out the arena's first page).  gch_arena() gives
 *               the address.
 * @arena_size:  its size.
 * @control_size: bytes of the control area mapping.
 * @gc_percent:  as configured (GCH_GC_OFF for off).
 * @workers:     as configured.
 * @fin_mode:    GCH_FINALIZERS_THREAD or GCH_FINALIZERS_MANUAL.
 * @layout:      the per-CPU cache layout (also of per-thread caches).
 * @classes:     the size-class table.
 *
 * Written once by the setup (under pthread_once), read-only afterwards
 * except @state, which a fork child handler sets to FORKED.
 */
struct gch_lib {
	int state;
	int percpu;
	u32 nr_cpus;
	u32 cpu_stride;
	char *control;
	int fd;
	int init_errno;
	uintptr_t arena_inv;
	size_t arena_size;
	size_t control_size;
	u32 gc_percent;
	u32 workers;
	u32 fin_mode;
	struct gch_cache_layout layout;
	struct gch_sizeclass_table classes;
};

extern struct gch_lib gch_lib;

/* device.c, sizeclass.c */
int gch_dev_open(void);
const struct gch_sizeclass_table *gch_lib_size_classes(void);

/* init.c */
int gch_lib_start(void);

/*
 * 1 in a page of its own (MADV_WIPEONFORK) once the heap is READY; a
 * child forked without the fork handlers (_Fork(), a raw fork system
 * call) reads 0 there and knows the heap is not its own.  Points at a
 * static 0 before setup.
 */
extern int *gch_live;

/**
 * gch_lib_usable() - is the heap set up and ours?  Sets it up if needed.
 *
 * Return: 1, or 0 with errno set (ENODEV, EPERM, ...).
 */
static inline int gch_lib_usable(void)
{
	if (__builtin_expect(*__atomic_load_n(&gch_live, __ATOMIC_ACQUIRE), 1))
		return 1;
	return gch_lib_start() == 0;
}

/* gch_lib.state, FORKED in a child forked without the fork handlers. */
static inline int gch_lib_state(void)
{
	int state = __atomic_load_n(&gch_lib.state, __ATOMIC_ACQUIRE);

	if (state == GCH_LIB_READY &&
	    !*__atomic_load_n(&gch_live, __ATOMIC_ACQUIRE))
		return GCH_LIB_FORKED;
	return state;
}

/*
 * Depth of the calling thread inside library code that a signal handler
 * on the same thread must not re-enter (a per-thread cache half popped, a
 * lock held): an allocation that finds it set takes one object straight
 * from the kernel instead.
 */
extern __thread int gch_in_lib __attribute__((tls_model("initial-exec")));

/* Keep the compiler from moving memory accesses across gch_in_lib. */
#define gch_lib_enter() do {					\
	gch_in_lib++;						\
	__atomic_signal_fence(__ATOMIC_SEQ_CST);		\
} while (0)
#define gch_lib_leave() do {					\
	__atomic_signal_fence(__ATOMIC_SEQ_CST);		\
	gch_in_lib--;						\
} while (0)

/* The arena's first byte (NULL before the heap is set up). */
static inline char *gch_arena(void)
{
	return gch_lib.arena_inv ? (char *)~gch_lib.arena_inv : NULL;
}

/* Is @p inside the arena?  (Only meaningful once the heap is READY.) */
static inline int gch_in_arena(const void *p)
{
	const char *arena = gch_arena();

	return arena && (const char *)p >= arena &&
	       (size_t)((const char *)p - arena) < gch_lib.arena_size;
}

/* alloc.c */
int gch_ioctl_nointr(unsigned long req, void *arg);
void *gch_alloc_direct(unsigned int spanclass);
void *gch_alloc_large(size_t size, int noscan);

/* percpu.c */
void *gch_percpu_alloc_slow(unsigned int spanclass);

/* tcache.c */
void *gch_tcache_alloc(unsigned int spanclass);
int gch_tcache_setup(void);
bool gch_tcache_count(u64 *objects, u64 *blocks);

/* collect.c */
int gch_roots_setup(void);
void gch_collect_if_due(u32 due);
int gch_oom_collect(void);
void gch_oom_done(int ok);
struct gch_heap_stats;
int gch_gc_fill_stats(struct gch_heap_stats *stats);

/* query.c */
int gch_free_object(u64 addr);
int gch_query_object(const void *ptr, struct gch_query *q);

/**
 * gch_obj_ready() - an object from a cache, ready to hand out
 * @obj:       its address as the cache held it (0 for none).
 * @spanclass: its span class.
 *
 * The kernel hands out objects that still hold old data of this heap
 * tagged with GCH_SLOT_UNZEROED instead of zeroing them (refills with
 * GCH_REFILL_UNZEROED): they are zeroed here, right before the program
 * writes them.
 *
 * Return: the object, untagged and zeroed (NULL for 0).
 */
static inline __attribute__((always_inline)) void *
gch_obj_ready(u64 obj, unsigned int spanclass)
{
	typedef long long gch_v2 __attribute__((vector_size(16)));
	u32 size = gch_lib.classes.size[spanclass >> 1], i;

	if (obj & GCH_SLOT_UNZEROED) {
		obj &= ~GCH_SLOT_UNZEROED;
		if (size > 256) {
			memset((void *)(uintptr_t)obj, 0, size);
		} else {
			/*
			 * Small objects (16-byte multiples, aligned): a few
			 * stores inline, cheaper than a call to memset().  The
			 * empty asm keeps the compiler from turning the loop
			 * back into that call.
			 */
			for (i = 0; i < size; i += 16) {
				*(gch_v2 *)(uintptr_t)(obj + i) = (gch_v2){ 0 };
				__asm__("" : "+r" (i));
			}
		}
	}
	return (void *)(uintptr_t)obj;
}

#endif /* GCHEAP_LIB_INTERNAL_H */
