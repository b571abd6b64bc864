// SPDX-License-Identifier: GPL-2.0
/*
 * Stopping the world: every other thread of the collecting process parks
 * in the kernel until the collection is over.
 *
 * The collector queues a task work with TWA_SIGNAL on each thread.  The
 * flag makes the thread leave an interruptible sleep (a blocked read(),
 * nanosleep() or futex wait returns -ERESTART*, and the syscall restarts
 * after the park, invisibly) and run the work on its way back to user
 * mode.  The work records the thread's user registers (task_pt_regs: the
 * user state is all there while it is in the kernel), its thread pointer
 * and its FPU/vector registers (xstate.c), tells the collector, and
 * waits, killable only, until released.  No
 * signal handler and no registration is needed: threads the program never
 * told anyone about are stopped the same way.
 *
 * A thread counts as stopped when it is parked, or stopped by a signal or
 * a tracer (it cannot return to user mode without running the queued work
 * first; its registers are read where it stands), or exiting (it will
 * never run user code again).  Threads created meanwhile are found by
 * rescanning the thread group until a scan finds no new thread after all
 * known ones were seen stopped: a parked creator cannot create any more,
 * and the child of one that was seen parked is already in the group.
 *
 * Every work holds a reference on the world and on the heap's file; the
 * file pins the module until the work has run, even if that is long after
 * the collection (a thread that stays stopped by SIGSTOP): its fput() is
 * the last thing the work does, and the final release runs after it.
 *
 * The collector's wait is interruptible: a signal for it (or a task work
 * queued on it, e.g. by a collection of another heap of the same process)
 * releases everything and the ioctl restarts after the signal is handled,
 * so two collectors never wait for each other.  A fatal signal gives
 * -EINTR, a thread that does not stop within stw_timeout_ms -ETIMEDOUT
 * (one in uninterruptible sleep), threads being created faster than they
 * park -EAGAIN.  After an error every thread runs on as if nothing
 * happened.
 */
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/jiffies.h>
#include <linux/ratelimit.h>
#include <linux/sched/debug.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/sched/task_stack.h>
#include <linux/slab.h>
#include <linux/task_work.h>
#include <linux/wait.h>
#include <linux/xarray.h>
#ifdef CONFIG_X86_64
#include <asm/fsgsbase.h>
#endif

#include "internal.h"

/* New threads taken from one scan of the thread group. */
#define GCH_STW_BATCH		512
/*
 * Scans that found fewer new threads than a batch (threads created since
 * the scan before): more, and the world will not stop.  Full batches are
 * only the walk through a large group and are not counted.
 */
#define GCH_STW_MAX_SCANS	256

/**
 * struct gch_world - one stop of the world
 * @ref:        the collector's, plus one per queued task work.
 * @released:   set when the threads may run again.
 * @events:     bumped by every thread that parks or exits.
 * @wq:         the collector waits here for @events.
 * @release_wq: parked threads wait here for @released.
 * @file:       the heap's file (each work holds a reference).
 * @threads:    struct gch_thread of every thread found, by pid: a lookup
 *              in O(log n), so that stopping tens of thousands of
 *              threads does not take quadratic time.
 * @list:       the same, in the order found (the collector first).
 * @nr:         entries of @list.
 * @batch:      GCH_STW_BATCH task pointers, for one scan.
 */
struct gch_world {
	refcount_t ref;
	bool released;
	atomic_t events;
	wait_queue_head_t wq;
	wait_queue_head_t release_wq;
	struct file *file;
	struct xarray threads;
	struct list_head list;
	unsigned int nr;
	struct task_struct **batch;
};

static void gch_world_put(struct gch_world *w)
{
	struct gch_thread *t, *next;

	if (!refcount_dec_and_test(&w->ref))
		return;
	list_for_each_entry_safe(t, next, &w->list, link) {
		put_task_struct(t->task);
		gch_xstate_free(&t->xstate);
		gch_xstate_free(&t->park_xstate);
		kfree(t);
	}
	xa_destroy(&w->threads);
	kfree(w->batch);
	kfree(w);
}

/* The user thread pointer of the calling thread, or 0. */
static unsigned long gch_fsbase_self(void)
{
#ifdef CONFIG_X86_64
	return x86_fsbase_read_cpu();
#else
	return 0;
#endif
}

/* The user thread pointer of a thread that is off CPU (stopped), or 0. */
static unsigned long gch_fsbase_stopped(struct task_struct *task)
{
#ifdef CONFIG_X86_64
	return task->thread.fsbase;
#else
	return 0;
#endif
}

/* The task work: park until the world is released. */
static void gch_park(struct callback_head *cb)
{
	struct gch_thread *t = container_of(cb, struct gch_thread, work);
	struct gch_world *w = t->world;
	struct file *file = w->file;

	if (!(current->flags & PF_EXITING) && !READ_ONCE(w->released)) {
		t->park_regs = *task_pt_regs(current);
		t->park_fsbase = gch_fsbase_self();
		/* the vector registers too; without them the collection fails */
		t->park_err = gch_xstate_save_current(&t->park_xstate);
		/* publishes the registers to gch_thread_state()'s acquire */
		smp_store_release(&t->state, GCH_THREAD_PARKED);
		atomic_inc(&w->events);
		wake_up(&w->wq);
		wait_event_killable(w->release_wq, READ_ONCE(w->released));
	} else {
		/* pairs with the collector's acquire, like PARKED */
		smp_store_release(&t->state, GCH_THREAD_GONE);
		atomic_inc(&w->events);
		wake_up(&w->wq);
	}
	gch_world_put(w);
	fput(file);	/* last: may drop the module's last pin */
}

/*
 * Has @task been found before?  Under RCU: a thread that exited and whose
 * pid was reused is another task, hence new.
 */
static bool gch_world_known(struct gch_world *w, struct task_struct *task)
{
	struct gch_thread *t = xa_load(&w->threads, task->pid);

	return t && t->task == task;
}

/* Context switches of @task so far: a change means it ran. */
static unsigned long gch_task_switches(struct task_struct *task)
{
	return READ_ONCE(task->nvcsw) + READ_ONCE(task->nivcsw);
}

/* Threads that never return to user mode and need not be stopped. */
static bool gch_thread_exempt(struct task_struct *task)
{
	unsigned int flags = PF_KTHREAD | PF_IO_WORKER;

#ifdef PF_USER_WORKER
	flags |= PF_USER_WORKER;
#endif
	return (task->flags & flags) || task->exit_state;
}

/* A thread of the group that must stop and is not in the world yet. */
static bool gch_world_is_new(struct gch_world *w, struct task_struct *task)
{
	return task != current && !gch_thread_exempt(task) &&
	       !gch_world_known(w, task);
}

static struct gch_thread *gch_world_add(struct gch_world *w,
					struct task_struct *task)
{
	struct gch_thread *t;

	t = kzalloc(sizeof(*t), GFP_KERNEL);
	if (!t)
		return NULL;
	t->task = task;
	t->world = w;
	/* replaces a thread that exited and left its pid to this one */
	if (xa_is_err(xa_store(&w->threads, task->pid, t, GFP_KERNEL))) {
		kfree(t);
		return NULL;
	}
	list_add_tail(&t->link, &w->list);
	w->nr++;
	return t;
}

/*
 * Queue the park on the threads of the group not seen yet.
 * Return: how many were new, or -ENOMEM.
 */
static int gch_world_scan(struct gch_world *w)
{
	struct task_struct **batch = w->batch, *task;
	struct gch_thread *t;
	unsigned int n = 0, i;
	int err = 0;

	rcu_read_lock();
	for_each_thread(current, task) {
		if (!gch_world_is_new(w, task))
			continue;
		get_task_struct(task);
		batch[n++] = task;
		if (n == GCH_STW_BATCH)
			break;
	}
	rcu_read_unlock();

	for (i = 0; i < n; i++) {
		t = err ? NULL : gch_world_add(w, batch[i]);
		if (!t) {
			put_task_struct(batch[i]);
			err = -ENOMEM;
			continue;
		}
		init_task_work(&t->work, gch_park);
		refcount_inc(&w->ref);
		get_file(w->file);
		/*
		 * t->state is GCH_THREAD_QUEUED from kzalloc(): once added,
		 * the work may run and park before we could write it.
		 */
		if (task_work_add(t->task, &t->work, TWA_SIGNAL)) {
			/* past its last task work: it is exiting */
			t->state = GCH_THREAD_GONE;
			refcount_dec(&w->ref);
			fput(w->file);
		}
	}
	return err ?: n;
}

/*
 * Is every thread found stopped?  Reads the registers of stopped ones.
 * *@err: -ENOMEM if a thread parked, or was found stopped, without a copy
 * of its vector registers (no memory for it): its roots would be
 * incomplete, so no collection.
 */
static bool gch_world_stopped(struct gch_world *w, int *err)
{
	struct gch_thread *t;
	bool all = true;
	int state;

	*err = 0;
	list_for_each_entry(t, &w->list, link) {
		/* pairs with the release in gch_park() */
		state = smp_load_acquire(&t->state);
		if (state == GCH_THREAD_PARKED && t->park_err)
			*err = t->park_err;
		if (state != GCH_THREAD_QUEUED)
			continue;
		if (t->task->flags & PF_EXITING) {
			t->exiting = true;
			continue;
		}
		/*
		 * Stopped, and off CPU: the context switch has saved its
		 * user state.  Until then it is not stopped yet.
		 */
		if (task_is_stopped_or_traced(t->task) &&
		    /* pairs with the release of on_cpu ending the switch */
		    !smp_load_acquire(&t->task->on_cpu)) {
			t->switches = gch_task_switches(t->task);
			t->regs = *task_pt_regs(t->task);
			t->fsbase = gch_fsbase_stopped(t->task);
			t->stopped = !gch_xstate_copy_stopped(t->task,
							      &t->xstate);
			if (t->stopped)
				continue;
			*err = -ENOMEM;
		}
		t->stopped = false;
		t->exiting = false;
		all = false;
	}
	return all;
}

/**
 * gch_world_intact() - did the world stay stopped until now?
 * @w: a stopped world.
 *
 * A thread found stopped by a signal or tracer can be resumed during the
 * collection.  It does not reach user mode without parking, but it
 * finishes the system call it stood in, which may create a thread (that
 * then runs user code unstopped) or move memory.  So after the mark the
 * collector checks that no thread unknown to the world exists and that
 * every thread taken as stopped has not run since its registers were
 * read; if not, the mark may have missed roots and nothing may be freed.
 *
 * Return: true if the roots were complete.
 */
bool gch_world_intact(struct gch_world *w)
{
	struct task_struct *task;
	struct gch_thread *t;
	bool intact = true;

	list_for_each_entry(t, &w->list, link)
		if (t->stopped && (!task_is_stopped_or_traced(t->task) ||
				   gch_task_switches(t->task) != t->switches))
			return false;
	rcu_read_lock();
	for_each_thread(current, task) {
		if (gch_world_is_new(w, task)) {
			intact = false;
			break;
		}
	}
	rcu_read_unlock();
	return intact;
}

/* Say which threads did not stop, so a timeout can be understood. */
static void gch_world_report(struct gch_world *w)
{
	static DEFINE_RATELIMIT_STATE(rs, 5 * HZ, 4);
	struct gch_thread *t;

	list_for_each_entry(t, &w->list, link) {
		/* pairs with the release in gch_park() */
		if (smp_load_acquire(&t->state) != GCH_THREAD_QUEUED ||
		    t->stopped || t->exiting)
			continue;
		if (!__ratelimit(&rs))
			break;
		pr_warn("gcheap: collection in pid %d: thread %d did not stop (state %c)\n",
			task_tgid_nr(current), task_pid_nr(t->task),
			task_state_to_char(t->task));
		sched_show_task(t->task);
	}
}

/**
 * gch_world_stop() - stop every other thread of the calling process
 * @file:    the heap's file (pinned by every queued park).
 * @timeout: most time to wait for the threads, in jiffies.
 * @out:     the stopped world, for gch_world_release().
 *
 * Return: 0; -EINTR (fatal signal), -ERESTARTNOINTR (another signal or
 * task work for the caller: the ioctl restarts after it), -ETIMEDOUT,
 * -EAGAIN, -ENOMEM.  On error everything is already released.
 */
int gch_world_stop(struct file *file, unsigned long timeout,
		   struct gch_world **out)
{
	unsigned long deadline = jiffies + timeout;
	unsigned int scans = 0;
	struct gch_world *w;
	struct gch_thread *self;
	int n, err, seen;
	bool all;

	w = kzalloc(sizeof(*w), GFP_KERNEL);
	if (!w)
		return -ENOMEM;
	refcount_set(&w->ref, 1);
	atomic_set(&w->events, 0);
	init_waitqueue_head(&w->wq);
	init_waitqueue_head(&w->release_wq);
	xa_init(&w->threads);
	INIT_LIST_HEAD(&w->list);
	w->file = file;
	w->batch = kmalloc_array(GCH_STW_BATCH, sizeof(*w->batch), GFP_KERNEL);
	if (!w->batch) {
		err = -ENOMEM;
		goto fail;
	}

	/* the collector is a thread of the world too: its roots count */
	get_task_struct(current);
	self = gch_world_add(w, current);
	if (!self) {
		put_task_struct(current);
		err = -ENOMEM;
		goto fail;
	}
	self->state = GCH_THREAD_SELF;
	self->regs = *task_pt_regs(current);
	self->fsbase = gch_fsbase_self();
	err = gch_xstate_save_current(&self->xstate);
	if (err)
		goto fail;

	for (;;) {
		seen = atomic_read(&w->events);
		/*
		 * First whether all known threads are stopped, then whether
		 * there are new ones: a thread is in the group before its
		 * creator returns from clone(), so once the creator is seen
		 * parked a scan after that finds its child.  The other order
		 * could miss a child made between the scan and the check.
		 */
		all = gch_world_stopped(w, &err);
		if (err)
			goto fail;
		n = gch_world_scan(w);
		if (n < 0) {
			err = n;
			goto fail;
		}
		if (n && n < GCH_STW_BATCH && ++scans > GCH_STW_MAX_SCANS) {
			err = -EAGAIN;
			goto fail;
		}
		if (!n && all)
			break;
		if (n) {
			/* look for more before waiting */
			if (fatal_signal_pending(current)) {
				err = -EINTR;
				goto fail;
			}
			cond_resched();
			continue;
		}
		/* stopped threads do not report: poll them now and then */
		wait_event_interruptible_timeout(w->wq,
				atomic_read(&w->events) != seen,
				max(1UL, msecs_to_jiffies(10)));
		if (fatal_signal_pending(current)) {
			err = -EINTR;
			goto fail;
		}
		if (signal_pending(current)) {
			err = -ERESTARTNOINTR;
			goto fail;
		}
		if (time_after(jiffies, deadline)) {
			gch_world_report(w);
			err = -ETIMEDOUT;
			goto fail;
		}
	}
	*out = w;
	return 0;

fail:
	gch_world_release(w);
	return err;
}

/**
 * gch_world_release() - let the threads of a stopped world run again
 * @w: the world; gone after this.
 */
void gch_world_release(struct gch_world *w)
{
	WRITE_ONCE(w->released, true);
	wake_up_all(&w->release_wq);
	gch_world_put(w);
}

/**
 * gch_world_threads() - the threads of a stopped world
 * @w: the world.
 *
 * Return: the list of struct gch_thread (link), the caller's first.
 * Threads with @exiting set, or in state GCH_THREAD_GONE, have no roots.
 */
struct list_head *gch_world_threads(struct gch_world *w)
{
	return &w->list;
}

/**
 * gch_world_nr_stopped() - threads stopped, besides the collector
 * @w: the world.
 *
 * Return: the count.
 */
unsigned int gch_world_nr_stopped(struct gch_world *w)
{
	return w->nr - 1;
}
