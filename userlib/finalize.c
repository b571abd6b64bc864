// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Finalizers and weak links: gch_register_finalizer(),
 * gch_register_finalizer_ex(), gch_register_weak(), gch_register_weak_long(),
 * gch_unregister_weak(), gch_unregister_weak_kind(), gch_move_weak(),
 * gch_run_finalizers(), gch_finalizers_pending(), gch_final_stats().
 *
 * The module keeps the registrations and, in each collection's pause,
 * queues the finalizers of unreachable objects and clears weak links
 * (kmod/specials.c).  Here the queue is drained in batches
 * (GCH_IOC_FIN_TAKE) and the finalizers run, never inside a collection:
 *
 *   - by default in a thread started at the first registration, named
 *     "gch-finalizer", with every signal blocked, which sleeps in the
 *     module until a collection queues something;
 *   - with GCHEAP_FINALIZERS=manual (or gch_config.finalizers) only in
 *     gch_run_finalizers().
 *
 * A batch is taken into an array on the taker's stack: the stack is
 * scanned, so the objects stay alive from the moment they leave the
 * module's queue until their finalizers have run; each entry is cleared
 * after its run so that it keeps nothing alive afterwards, and the
 * registers and the stack below are scrubbed before the thread sleeps
 * (gch_fin_scrub()): the collector reads a sleeping thread's registers
 * and red zone as roots, and a finalizer's last object would otherwise
 * stay alive in them for as long as the thread sleeps.  Takers take
 * in turn (gch_fin_lock), and count what they hold in gch_fin_inflight,
 * so that gch_finalizers_pending() sees every finalizer queued and not yet
 * run.
 *
 * The finalizer order flags, the registration a call replaces, and
 * moving links and removing them by kind need a module with
 * GCH_FEAT_SPECIALS2 (ABI 0.6): asked once, and ENOSYS without it.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>

#include <linux/gcheap.h>

#include "internal.h"
#include "gcheap.h"

/* Entries per take: 6 KiB of the taker's stack. */
#define GCH_FIN_BATCH		256

#define GCH_FIN_FLAGS	(GCH_FIN_NO_ORDER | GCH_FIN_IGNORE_SELF | \
			 GCH_FIN_UNREACHABLE)

/* gcheap.h's flags are the module's */
_Static_assert(GCH_FIN_NO_ORDER == GCH_FINALIZER_NO_ORDER &&
	       GCH_FIN_IGNORE_SELF == GCH_FINALIZER_IGNORE_SELF &&
	       GCH_FIN_UNREACHABLE == GCH_FINALIZER_UNREACHABLE,
	       "GCH_FIN_* of gcheap.h differ from GCH_FINALIZER_* of the ABI");

static pthread_mutex_t gch_fin_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t gch_fin_start_lock = PTHREAD_MUTEX_INITIALIZER;
static int gch_fin_thread_up;
/* taken, not yet run: grows under gch_fin_lock with the take, atomic */
static u64 gch_fin_inflight;
static u64 gch_fin_run;		/* atomic */
/* the module's GCH_FEAT_* bits, 0 until asked (gch_need_specials2()) */
static u64 gch_fin_features;	/* atomic */

/*
 * Clear what a finalizer may have left of its object: the stack below the
 * caller's frame (dead frames, the red zone the collector scans) and the
 * call-clobbered registers, vector ones included (memcpy() moves pointers
 * through them).  The callee-saved ones are restored by the finalizer.
 */
static __attribute__((noinline)) void gch_fin_scrub(void)
{
	volatile char pad[4096];

	memset((char *)pad, 0, sizeof(pad));
#ifdef __x86_64__
	if (__builtin_cpu_supports("avx"))
		__asm__ volatile("vzeroall" ::: "xmm0", "xmm1", "xmm2", "xmm3",
				 "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
				 "xmm10", "xmm11", "xmm12", "xmm13", "xmm14",
				 "xmm15");
	else
		__asm__ volatile("pxor %%xmm0, %%xmm0\n\tpxor %%xmm1, %%xmm1\n\t"
				 "pxor %%xmm2, %%xmm2\n\tpxor %%xmm3, %%xmm3\n\t"
				 "pxor %%xmm4, %%xmm4\n\tpxor %%xmm5, %%xmm5\n\t"
				 "pxor %%xmm6, %%xmm6\n\tpxor %%xmm7, %%xmm7\n\t"
				 "pxor %%xmm8, %%xmm8\n\tpxor %%xmm9, %%xmm9\n\t"
				 "pxor %%xmm10, %%xmm10\n\tpxor %%xmm11, %%xmm11\n\t"
				 "pxor %%xmm12, %%xmm12\n\tpxor %%xmm13, %%xmm13\n\t"
				 "pxor %%xmm14, %%xmm14\n\tpxor %%xmm15, %%xmm15"
				 ::: "xmm0", "xmm1", "xmm2", "xmm3", "xmm4",
				 "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",
				 "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
	__asm__ volatile("xor %%eax, %%eax\n\txor %%ecx, %%ecx\n\t"
			 "xor %%edx, %%edx\n\txor %%esi, %%esi\n\t"
			 "xor %%edi, %%edi\n\txor %%r8d, %%r8d\n\t"
			 "xor %%r9d, %%r9d\n\txor %%r10d, %%r10d\n\t"
			 "xor %%r11d, %%r11d"
			 ::: "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9",
			 "r10", "r11", "cc");
#endif
}

/* Take up to @max queued finalizers into @v; the count, or -1 with errno. */
static int gch_fin_take(struct gch_fin_ready *v, unsigned int max,
			u32 flags, u64 *pending)
{
	struct gch_fin_take t;

	memset(&t, 0, sizeof(t));
	t.hdr.size = sizeof(t);
	t.hdr.flags = flags;
	t.buf = (u64)(uintptr_t)v;
	t.max = max;
	if (ioctl(gch_lib.fd, GCH_IOC_FIN_TAKE, &t))
		return -1;
	if (pending)
		*pending = t.pending;
	return t.count;
}

/*
 * Take one batch and run it.  Return: how many ran; 0 if none was
 * queued; -1 with errno if the module refused.
 */
static int gch_fin_run_batch(void)
{
	struct gch_fin_ready v[GCH_FIN_BATCH];
	int n, i;

	pthread_mutex_lock(&gch_fin_lock);
	n = gch_fin_take(v, GCH_FIN_BATCH, 0, NULL);
	if (n > 0)
		__atomic_add_fetch(&gch_fin_inflight, n, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&gch_fin_lock);
	for (i = 0; i < n; i++) {
		gch_finalizer_fn fn = (gch_finalizer_fn)(uintptr_t)v[i].fn;

		fn((void *)(uintptr_t)v[i].obj, (void *)(uintptr_t)v[i].data);
		/* the stack copy must not keep the object alive */
		__atomic_store_n(&v[i].obj, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&v[i].data, 0, __ATOMIC_RELAXED);
		__atomic_add_fetch(&gch_fin_run, 1, __ATOMIC_RELAXED);
		__atomic_sub_fetch(&gch_fin_inflight, 1, __ATOMIC_RELEASE);
	}
	return n;
}

/* The finalizer thread: sleep in the module until something is queued. */
static void *gch_fin_thread(void *arg)
{
	(void)arg;
	for (;;) {
		if (gch_fin_take(NULL, 0, GCH_FIN_TAKE_WAIT, NULL) < 0) {
			if (errno == EINTR)
				continue;
			return NULL;	/* the heap is gone (ENXIO) */
		}
		while (gch_fin_run_batch() > 0)
			;
		gch_fin_scrub();
	}
	return NULL;
}

/* Start the finalizer thread once; 0 or -1 with errno. */
static int gch_fin_start(void)
{
	sigset_t all, old;
	pthread_attr_t attr;
	pthread_t tid;
	int err = 0;

	if (__atomic_load_n(&gch_fin_thread_up, __ATOMIC_ACQUIRE))
		return 0;
	pthread_mutex_lock(&gch_fin_start_lock);
	if (!gch_fin_thread_up) {
		/* the thread inherits the mask: no signal handler runs in it */
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		err = pthread_create(&tid, &attr, gch_fin_thread, NULL);
		pthread_attr_destroy(&attr);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (!err) {
			pthread_setname_np(tid, "gch-finalizer");
			__atomic_store_n(&gch_fin_thread_up, 1,
					 __ATOMIC_RELEASE);
		}
	}
	pthread_mutex_unlock(&gch_fin_start_lock);
	if (err) {
		errno = EAGAIN;
		return -1;
	}
	return 0;
}

/*
 * Does the module know the order flags, old_fn, WEAK_MOVE and WEAK_KIND?
 * 0, or -1 with errno ENOSYS (it does not) or the heap's error.
 */
static int gch_need_specials2(void)
{
	u64 feat = __atomic_load_n(&gch_fin_features, __ATOMIC_RELAXED);
	struct gch_version v;

	if (!gch_lib_usable())
		return -1;
	if (!feat) {
		memset(&v, 0, sizeof(v));
		v.hdr.size = sizeof(v);
		if (ioctl(gch_lib.fd, GCH_IOC_VERSION, &v))
			return -1;
		feat = v.features | GCH_FEAT_VERSION;
		__atomic_store_n(&gch_fin_features, feat, __ATOMIC_RELAXED);
	}
	if (feat & GCH_FEAT_SPECIALS2)
		return 0;
	errno = ENOSYS;
	return -1;
}

GCH_API int gch_register_finalizer_ex(void *obj, gch_finalizer_fn fn,
				      void *data, unsigned int flags,
				      gch_finalizer_fn *old_fn, void **old_data)
{
	struct gch_finalizer a;

	if (old_fn)
		*old_fn = NULL;
	if (old_data)
		*old_data = NULL;
	if ((flags & ~GCH_FIN_FLAGS) || (flags & (flags - 1))) {
		errno = EINVAL;
		return -1;
	}
	if (!fn)
		flags = 0;	/* a removal has no order */
	if (flags || old_fn || old_data) {
		if (gch_need_specials2())
			return -1;
	} else if (!gch_lib_usable()) {
		return -1;
	}
	/* the 0.6 struct: a module of ABI 0.5 takes it (the tail is 0) */
	memset(&a, 0, sizeof(a));
	a.hdr.size = sizeof(a);
	a.hdr.flags = flags;
	a.obj = (u64)(uintptr_t)obj;
	a.fn = (u64)(uintptr_t)fn;
	a.data = (u64)(uintptr_t)data;
	if (ioctl(gch_lib.fd, GCH_IOC_FINALIZER, &a))
		return -1;
	if (old_fn)
		*old_fn = (gch_finalizer_fn)(uintptr_t)a.old_fn;
	if (old_data)
		*old_data = (void *)(uintptr_t)a.old_data;
	if (fn && gch_lib.fin_mode != GCH_FINALIZERS_MANUAL)
		return gch_fin_start();
	return 0;
}

GCH_API int gch_register_finalizer(void *obj,
				   void (*fn)(void *obj, void *data),
				   void *data)
{
	return gch_register_finalizer_ex(obj, fn, data, 0, NULL, NULL);
}

static int gch_weak_ctl(void **link, const void *obj, u32 flags)
{
	struct gch_weak a;

	if (!gch_lib_usable())
		return -1;
	memset(&a, 0, sizeof(a));
	a.hdr.size = sizeof(a);
	a.hdr.flags = flags;
	a.link = (u64)(uintptr_t)link;
	a.obj = (u64)(uintptr_t)obj;
	return ioctl(gch_lib.fd, GCH_IOC_WEAK, &a);
}

/* GCH_LINK_* as GCH_IOC_WEAK flags; 0, or -1 with errno EINVAL. */
static int gch_weak_kind(unsigned int kind, u32 *flags)
{
	switch (kind) {
	case GCH_LINK_ANY:
		*flags = 0;
		return 0;
	case GCH_LINK_SHORT:
		*flags = GCH_WEAK_KIND;
		return 0;
	case GCH_LINK_LONG:
		*flags = GCH_WEAK_KIND | GCH_WEAK_LONG;
		return 0;
	default:
		errno = EINVAL;
		return -1;
	}
}

GCH_API int gch_register_weak(void **link, const void *obj)
{
	return gch_weak_ctl(link, obj, 0);
}

GCH_API int gch_register_weak_long(void **link, const void *obj)
{
	return gch_weak_ctl(link, obj, GCH_WEAK_LONG);
}

GCH_API int gch_unregister_weak(void **link)
{
	return gch_weak_ctl(link, NULL, GCH_WEAK_REMOVE);
}

GCH_API int gch_unregister_weak_kind(void **link, unsigned int kind)
{
	u32 flags;

	if (gch_weak_kind(kind, &flags) || (flags && gch_need_specials2()))
		return -1;
	return gch_weak_ctl(link, NULL, GCH_WEAK_REMOVE | flags);
}

GCH_API int gch_move_weak(void **link, void **new_link, unsigned int kind)
{
	u32 flags;

	if (gch_weak_kind(kind, &flags) || gch_need_specials2())
		return -1;
	return gch_weak_ctl(link, new_link, GCH_WEAK_MOVE | flags);
}

GCH_API int gch_run_finalizers(void)
{
	int n, total = 0;

	if (!gch_lib_usable())
		return -1;
	while ((n = gch_fin_run_batch()) > 0)
		total += n;
	if (total)
		gch_fin_scrub();
	return n < 0 && !total ? -1 : total;
}

GCH_API long gch_finalizers_pending(void)
{
	u64 pending;

	if (!gch_lib_usable())
		return -1;
	pthread_mutex_lock(&gch_fin_lock);
	if (gch_fin_take(NULL, 0, 0, &pending) < 0) {
		pthread_mutex_unlock(&gch_fin_lock);
		return -1;
	}
	pending += __atomic_load_n(&gch_fin_inflight, __ATOMIC_ACQUIRE);
	pthread_mutex_unlock(&gch_fin_lock);
	return pending;
}

GCH_API int gch_final_stats(struct gch_final_stats *fs)
{
	struct gch_stats st;
	long pending = gch_finalizers_pending();

	if (pending < 0)
		return -1;
	memset(&st, 0, sizeof(st));
	st.hdr.size = sizeof(st);
	if (ioctl(gch_lib.fd, GCH_IOC_STATS, &st))
		return -1;
	memset(fs, 0, sizeof(*fs));
	fs->registered = st.finalizers;
	fs->pending = pending;
	fs->queued = st.finalizers_queued;
	fs->run = __atomic_load_n(&gch_fin_run, __ATOMIC_RELAXED);
	fs->waiting = st.finalizers_waiting;
	fs->weak_links = st.weak_links;
	fs->weak_cleared = st.weak_cleared;
	fs->weak_dropped = st.weak_dropped;
	fs->finalize_ns = st.finalize_ns;
	return 0;
}
