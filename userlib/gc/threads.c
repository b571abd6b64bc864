// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libgc.so.1 on gcheap: threads.
 *
 * gcheap stops and scans every thread of the process from the kernel, with
 * no registration and no signals, so registration here only keeps bdwgc's
 * bookkeeping answers right (GC_thread_is_registered(), GC_DUPLICATE).
 * What gcheap needs from thread functions is libgcheap's: a thread's
 * result stays a root until it is joined (gch_pthread_*()).
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>

#include "gcheap.h"
#include "gc_internal.h"

static __thread int gcs_registered __attribute__((tls_model("initial-exec")));
static pthread_t gcs_main_thread;
static pthread_mutex_t gcs_alloc_mutex = PTHREAD_MUTEX_INITIALIZER;

__attribute__((constructor)) static void gcs_note_main_thread(void)
{
	gcs_main_thread = pthread_self();
}

struct gcs_start {
	void *(*fn)(void *);
	void *arg;
};

/* The thread a GC_pthread_create() starts counts as registered. */
static void *gcs_thread_main(void *p)
{
	struct gcs_start s = *(struct gcs_start *)p;

	GC_free(p);
	gcs_registered = 1;
	return s.fn(s.arg);
}

GCS_API int GC_pthread_create(pthread_t *t, const pthread_attr_t *attr,
			      void *(*fn)(void *), void *arg)
{
	struct gcs_start *s = GC_malloc_uncollectable(sizeof(*s));
	int err;

	if (!s)
		return EAGAIN;
	s->fn = fn;
	s->arg = arg;
	err = gch_pthread_create(t, attr, gcs_thread_main, s);
	if (err)
		GC_free(s);
	return err;
}

GCS_API int GC_pthread_join(pthread_t t, void **result)
{
	return gch_pthread_join(t, result);
}

GCS_API int GC_pthread_detach(pthread_t t)
{
	return gch_pthread_detach(t);
}

GCS_API void GC_pthread_exit(void *result)
{
	gch_pthread_exit(result);
}

GCS_API int GC_pthread_cancel(pthread_t t)
{
	return pthread_cancel(t);
}

GCS_API int GC_pthread_sigmask(int how, const sigset_t *set, sigset_t *old)
{
	return pthread_sigmask(how, set, old);
}

GCS_API void *GC_dlopen(const char *path, int mode)
{
	return dlopen(path, mode);	/* new libraries' data are roots at once */
}

static int gcs_is_registered(void)
{
	return gcs_registered || pthread_equal(pthread_self(), gcs_main_thread);
}

GCS_API int GC_thread_is_registered(void)
{
	return gcs_is_registered();
}

GCS_API int GC_register_my_thread(const struct GC_stack_base *sb)
{
	(void)sb;
	if (gcs_is_registered())
		return GC_DUPLICATE;
	gcs_registered = 1;
	return GC_SUCCESS;
}

GCS_API int GC_unregister_my_thread(void)
{
	gcs_registered = 0;
	return GC_SUCCESS;
}

GCS_API void GC_allow_register_threads(void)
{
	gcs_init();
}

GCS_API void GC_register_altstack(void *stack, GC_word stack_size,
				  void *altstack, GC_word altstack_size)
{
	(void)stack;
	(void)stack_size;
	(void)altstack;
	(void)altstack_size;
}

/* The stack's highest address (stacks grow down on x86-64). */
GCS_API int GC_get_stack_base(struct GC_stack_base *sb)
{
	pthread_attr_t attr;
	void *addr;
	size_t size;

	if (pthread_getattr_np(pthread_self(), &attr))
		return GC_UNIMPLEMENTED;
	if (pthread_attr_getstack(&attr, &addr, &size)) {
		pthread_attr_destroy(&attr);
		return GC_UNIMPLEMENTED;
	}
	pthread_attr_destroy(&attr);
	sb->mem_base = (char *)addr + size;
	return GC_SUCCESS;
}

GCS_API void *GC_get_my_stackbottom(struct GC_stack_base *sb)
{
	if (GC_get_stack_base(sb) != GC_SUCCESS)
		sb->mem_base = NULL;
	return (void *)(uintptr_t)pthread_self();
}

GCS_API void GC_set_stackbottom(void *handle, const struct GC_stack_base *sb)
{
	(void)handle;
	(void)sb;	/* the kernel knows every thread's stack */
}

GCS_API void *GC_call_with_stack_base(GC_stack_base_func fn, void *arg)
{
	struct GC_stack_base sb;

	sb.mem_base = __builtin_frame_address(0);
	return fn(&sb, arg);
}

GCS_API void *GC_do_blocking(GC_fn_type fn, void *cd)
{
	return fn(cd);	/* a blocked thread is scanned like any other */
}

GCS_API void *GC_call_with_gc_active(GC_fn_type fn, void *cd)
{
	return fn(cd);
}

/*
 * The allocation lock: bdwgc holds it to keep collections out, typically
 * while a hidden pointer is revealed.  Here it is a lock of this library
 * plus libgcheap's collection gate: no collection starts while it is held
 * (one that is due waits for a later allocation; GC_gcollect() and an
 * allocation that finds the heap full in the holding thread fail, where
 * bdwgc would deadlock).
 */
GCS_API void GC_alloc_lock(void)
{
	pthread_mutex_lock(&gcs_alloc_mutex);
	gcs_init();
	if (gch_gc_hold())
		gcs_warn("GC Warning: GC_alloc_lock could not hold off collections\n", 0);
}

GCS_API void GC_alloc_unlock(void)
{
	gch_gc_release();
	pthread_mutex_unlock(&gcs_alloc_mutex);
}

GCS_API void *GC_call_with_alloc_lock(GC_fn_type fn, void *cd)
{
	void *r;

	GC_alloc_lock();
	r = fn(cd);
	GC_alloc_unlock();
	return r;
}

/* bdwgc's own fork handlers: a forked child cannot use the parent's heap
 * (libgcheap says EPERM), whatever these do. */
GCS_API void GC_atfork_prepare(void)
{
}

GCS_API void GC_atfork_parent(void)
{
}

GCS_API void GC_atfork_child(void)
{
}

/* Stopping threads on request is the kernel's, inside a collection only. */
GCS_API void GC_stop_world_external(void)
{
	GCS_WARN_ONCE("GC_stop_world_external: threads are not stopped outside collections");
}

GCS_API void GC_start_world_external(void)
{
}

GCS_API void GC_suspend_thread(GC_SUSPEND_THREAD_ID t)
{
	(void)t;
	GCS_WARN_ONCE("GC_suspend_thread: not supported; the thread keeps running");
}

GCS_API void GC_resume_thread(GC_SUSPEND_THREAD_ID t)
{
	(void)t;
}

GCS_API int GC_is_thread_suspended(GC_SUSPEND_THREAD_ID t)
{
	(void)t;
	return 0;
}
