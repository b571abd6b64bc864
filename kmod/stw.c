// SPDX-License-Identifier: GPL-2.0
/*
 * Stopping the world: every other thread of the collecting process parks
 * in the kernel until the collection is over.
 *
 * The collector queues a task work (the park) with TWA_RESUME on each
 * thread, then looks at the thread.  On its way back to user mode the
 * thread runs the work: it records its user registers (task_pt_regs: the
 * user state is all there while it is in the kernel), its thread pointer
 * and its FPU/vector registers (xstate.c), tells the collector, and
 * waits, killable only, until released.  No signal handler and no
 * registration is needed: threads the program never told anyone about are
 * stopped the same way.
 *
 * A thread asleep in a system call (interruptible wait, dequeued, off
 * CPU) is taken as stopped where it sleeps, without waking it: the park
 * was queued before we looked, so if it wakes during the collection it
 * finishes its call in the kernel and parks before reaching user mode.
 * Its registers are read where it sleeps, under its pi_lock, which every
 * wake-up takes: it cannot wake while we decide, and the wake-up that
 * follows sees the queued work.  Only a thread that is running (or
 * sleeping elsewhere: a page fault, an uninterruptible wait) is kicked:
 * a second, empty task work with TWA_SIGNAL interrupts it as a signal
 * would (the IPI brings a thread in user code into the kernel; an
 * interruptible sleep it enters returns -ERESTART* and restarts after
 * the park, invisibly).  So a read(), futex wait, nanosleep() or
 * epoll_wait() that was blocked when the collection began is neither
 * interrupted nor restarted.
 *
 * A park that a sleeping thread did not run before the release stays
 * queued (task works cannot be cancelled from a module) and is reused:
 * one per thread and heap, kept in a table, detached from its world at
 * the release and attached to the next world of the heap, so a thread
 * asleep for hours holds one small struct, not one per collection.
 *
 * A thread counts as stopped when it is parked, asleep in a system call
 * (above), or stopped by a signal or a tracer (it cannot return to user
 * mode without running the queued work first; its registers are read
 * where it stands), or exiting (it will never run user code again).  Threads created meanwhile are found by
 * rescanning the thread group until a scan finds no new thread after all
 * known ones were seen stopped: a parked creator cannot create any more,
 * and the child of one that was seen parked is already in the group.
 *
 * Every park holds a reference on the heap's file, and on the world while
 * attached to it; the file pins the module until the work has run, even
 * if that is long after the collection (a thread that stays stopped by
 * SIGSTOP, or asleep): its fput() is the last thing the work does, and
 * the final release runs after it.
 *
 * The collector's wait is interruptible: a signal for it (or a kick
 * queued on it by a collection of another heap of the same process)
 * releases everything and the ioctl restarts after the signal is handled,
 * so two collectors never wait for each other.  A collector asleep in
 * that wait counts as stopped for the other, like any sleeping thread:
 * two heaps of one process then collect at once.  A fatal signal gives
 * -EINTR, a thread that does not stop within stw_timeout_ms -ETIMEDOUT
 * (one in uninterruptible sleep), threads being created faster than they
 * park -EAGAIN.  After an error every thread runs on as if nothing
 * happened.
 */
#include <linux/audit.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/hashtable.h>
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
#include <asm/syscall.h>
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
 * @ref:        the collector's, plus one per attached park.
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

/**
 * struct gch_parker - the park queued on one thread for one heap
 * @work:   the park: a task work queued with TWA_RESUME.
 * @kick:   an empty task work queued with TWA_SIGNAL, when the thread
 *          must be interrupted (it is not asleep in a system call).
 * @ref:    one per task work queued and not run.
 * @node:   in gch_parkers, by task.
 * @file:   the heap's file (referenced).
 * @task:   the thread (a key only: the park runs, and leaves the table,
 *          before the thread is gone).
 * @t:      the thread in the world being stopped, or NULL (no world: the
 *          park does nothing).  Under gch_parkers_lock.
 * @kicked: @kick is queued and has not run.  Under gch_parkers_lock.
 */
struct gch_parker {
	struct callback_head work;
	struct callback_head kick;
	refcount_t ref;
	struct hlist_node node;
	struct file *file;
	struct task_struct *task;
	struct gch_thread *t;
	bool kicked;
};

/*
 * The parks queued and not run yet, of every heap, by thread; and the
 * threads held in the kernel with their user state recorded (a collector
 * in its collection, a thread parked for another heap), by thread.
 */
static DEFINE_MUTEX(gch_parkers_lock);
static DEFINE_HASHTABLE(gch_parkers, 10);
static DEFINE_HASHTABLE(gch_held, 8);

/*
 * Enter @t, SELF or PARKED with its user state recorded, in the table of
 * held threads, or take it out.  A held thread is in the kernel and runs
 * no user code before it leaves the table: a collection of another heap
 * of the process (whose park it runs on its way out) takes it as stopped
 * with the state recorded, instead of waiting for it.  So two heaps of
 * one process collect side by side, and a thread parked for one heap is
 * not waited for by the other.
 */
static void gch_held_set(struct gch_thread *t, bool held)
{
	mutex_lock(&gch_parkers_lock);
	if (held)
		hash_add(gch_held, &t->held, (unsigned long)t->task);
	else if (t->is_held)
		hash_del(&t->held);
	t->is_held = held;
	mutex_unlock(&gch_parkers_lock);
}

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

/* Park @t's thread (current) until its world is released. */
static void gch_park_in(struct gch_thread *t)
{
	struct gch_world *w = t->world;

	if (!(current->flags & PF_EXITING) && !READ_ONCE(w->released)) {
		t->park_regs = *task_pt_regs(current);
		t->park_fsbase = gch_fsbase_self();
		/* the vector registers too; without them the collection fails */
		t->park_err = gch_xstate_save_current(&t->park_xstate);
		/* publishes the registers to gch_thread_state()'s acquire */
		smp_store_release(&t->state, GCH_THREAD_PARKED);
		atomic_inc(&w->events);
		wake_up(&w->wq);
		if (!t->park_err)
			gch_held_set(t, true);
		wait_event_killable(w->release_wq, READ_ONCE(w->released));
		gch_held_set(t, false);
	} else {
		/* pairs with the collector's acquire, like PARKED */
		smp_store_release(&t->state, GCH_THREAD_GONE);
		atomic_inc(&w->events);
		wake_up(&w->wq);
	}
	gch_world_put(w);
}

static void gch_parker_put(struct gch_parker *p)
{
	struct file *file = p->file;

	if (!refcount_dec_and_test(&p->ref))
		return;
	kfree(p);
	fput(file);	/* last: may drop the module's last pin */
}

/* The task work: park, if a world is being stopped. */
static void gch_park(struct callback_head *cb)
{
	struct gch_parker *p = container_of(cb, struct gch_parker, work);
	struct gch_thread *t;

	mutex_lock(&gch_parkers_lock);
	hash_del(&p->node);
	t = p->t;
	if (t) {
		/* the world's reference passes to us */
		p->t = NULL;
		t->parker = NULL;
	}
	mutex_unlock(&gch_parkers_lock);
	if (t)
		gch_park_in(t);
	gch_parker_put(p);
}

/* The kick: its TWA_SIGNAL did the work, the park runs next. */
static void gch_kick(struct callback_head *cb)
{
	struct gch_parker *p = container_of(cb, struct gch_parker, kick);

	mutex_lock(&gch_parkers_lock);
	p->kicked = false;
	mutex_unlock(&gch_parkers_lock);
	gch_parker_put(p);
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

/* The park of @task for @file still queued, or NULL.  Parkers' lock. */
static struct gch_parker *gch_parker_find(struct file *file,
					  struct task_struct *task)
{
	struct gch_parker *p;

	hash_for_each_possible(gch_parkers, p, node, (unsigned long)task)
		if (p->task == task && p->file == file)
			return p;
	return NULL;
}

/*
 * Queue the park on @t's thread, or attach the one it has not run since
 * an earlier collection of the heap.  0 or -ENOMEM.
 */
static int gch_world_queue(struct gch_world *w, struct gch_thread *t)
{
	struct gch_parker *p, *fresh = kzalloc(sizeof(*fresh), GFP_KERNEL);

	mutex_lock(&gch_parkers_lock);
	p = gch_parker_find(w->file, t->task);
	if (!p && fresh) {
		p = fresh;
		fresh = NULL;
		init_task_work(&p->work, gch_park);
		init_task_work(&p->kick, gch_kick);
		refcount_set(&p->ref, 1);
		p->file = get_file(w->file);
		p->task = t->task;
		/*
		 * No kick yet: a thread asleep in a system call is left
		 * asleep (gch_thread_take_blocked()).  It runs the park
		 * only once we unlock.
		 */
		if (task_work_add(t->task, &p->work, TWA_RESUME)) {
			/* past its last task work: it is exiting */
			mutex_unlock(&gch_parkers_lock);
			t->state = GCH_THREAD_GONE;
			gch_parker_put(p);
			return 0;
		}
		hash_add(gch_parkers, &p->node, (unsigned long)t->task);
	}
	if (p) {
		p->t = t;
		t->parker = p;
		refcount_inc(&w->ref);
	}
	mutex_unlock(&gch_parkers_lock);
	kfree(fresh);
	return p ? 0 : -ENOMEM;
}

/* Interrupt @t's thread so that it parks soon (see the top of the file). */
static void gch_thread_kick(struct gch_thread *t)
{
	struct gch_parker *p;

	mutex_lock(&gch_parkers_lock);
	p = t->parker;
	if (p && !p->kicked) {
		refcount_inc(&p->ref);
		p->kicked = true;
		/* fails only past the thread's last task work: it exits */
		if (task_work_add(t->task, &p->kick, TWA_SIGNAL)) {
			p->kicked = false;
			refcount_dec(&p->ref);
		}
	}
	mutex_unlock(&gch_parkers_lock);
}

/* Is @task dequeued, asleep?  (Since 6.12 a sleeper may stay queued.) */
static bool gch_task_dequeued(struct task_struct *task)
{
#ifdef GCH_HAVE_TASK_IS_RUNNABLE
	return !task_is_runnable(task);
#else
	return !READ_ONCE(task->on_rq);
#endif
}

/*
 * Is @task in a system call that leaves the process's memory as it is
 * but for data from the kernel?  process_vm_readv() and _writev() on the
 * process itself copy its memory to itself, pointers and all, several
 * pieces in one call, which could move a pointer from an object not yet
 * marked into memory already scanned: a thread asleep there is kicked
 * like a running one.
 */
static bool gch_task_in_plain_syscall(struct task_struct *task)
{
#ifdef CONFIG_X86_64
	long nr = syscall_get_nr(task, task_pt_regs(task));

	/* ia32 and x32 calls have other numbers: not worth telling apart */
	if (nr < 0 || (nr & __X32_SYSCALL_BIT) ||
	    syscall_get_arch(task) != AUDIT_ARCH_X86_64)
		return false;
	return nr != __NR_process_vm_readv && nr != __NR_process_vm_writev;
#else
	return false;
#endif
}

/*
 * Is @task asleep in a system call: an interruptible wait, dequeued, and
 * off CPU (on_cpu clear ends the context switch that saved its user state:
 * pairs with the scheduler's release)?  Holds while its pi_lock is held.
 */
static bool gch_task_blocked(struct task_struct *task)
{
	return (READ_ONCE(task->__state) & TASK_INTERRUPTIBLE) &&
	       gch_task_dequeued(task) &&
	       /* pairs with the release of on_cpu ending the switch */
	       !smp_load_acquire(&task->on_cpu) &&
	       gch_task_in_plain_syscall(task);
}

/*
 * Take @t's thread as stopped if it is asleep in a system call, reading
 * its registers where it sleeps.  Its park is queued: if it wakes it
 * parks before it reaches user mode, and until then nothing changes its
 * user registers (but the return value) nor its saved vector state.
 * Return: whether it was taken; *@err -ENOMEM if it could not be.
 */
static bool gch_thread_take_blocked(struct gch_thread *t, int *err)
{
	struct task_struct *task = t->task;
	unsigned long flags;
	bool blocked;

	if (!gch_task_blocked(task))
		return false;
	if (gch_xstate_reserve_task(task, &t->xstate)) {
		*err = -ENOMEM;
		return false;
	}
	/* every wake-up takes it: the thread stays asleep while we look */
	raw_spin_lock_irqsave(&task->pi_lock, flags);
	blocked = gch_task_blocked(task);
	if (blocked) {
		t->regs = *task_pt_regs(task);
		t->fsbase = gch_fsbase_stopped(task);
		gch_xstate_copy_held(task, &t->xstate);
	}
	raw_spin_unlock_irqrestore(&task->pi_lock, flags);
	t->stopped = blocked;
	t->blocked = blocked;
	return blocked;
}

/*
 * Take @t's thread as stopped if it is held in the kernel for another
 * heap's collection (gch_held_set()), with the user state recorded there.
 * Return: whether it was taken; *@err -ENOMEM if it could not be.
 */
static bool gch_thread_take_held(struct gch_thread *t, int *err)
{
	struct gch_thread *h;
	bool found = false;
	int e = 0;

	mutex_lock(&gch_parkers_lock);
	hash_for_each_possible(gch_held, h, held, (unsigned long)t->task) {
		if (h->task != t->task)
			continue;
		found = true;
		/* acquire: pairs with the release publishing PARKED */
		if (smp_load_acquire(&h->state) == GCH_THREAD_SELF) {
			t->regs = h->regs;
			t->fsbase = h->fsbase;
			e = gch_xstate_dup(&t->xstate, &h->xstate);
		} else {
			t->regs = h->park_regs;
			t->fsbase = h->park_fsbase;
			e = gch_xstate_dup(&t->xstate, &h->park_xstate);
		}
		break;
	}
	mutex_unlock(&gch_parkers_lock);
	if (e)
		*err = e;
	found = found && !e;
	t->stopped = found;
	t->blocked = found;
	return found;
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
		if (gch_world_queue(w, t))
			err = -ENOMEM;
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
		if (state != GCH_THREAD_QUEUED || t->blocked)
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
		} else if (gch_thread_take_blocked(t, err) ||
			   gch_thread_take_held(t, err)) {
			continue;
		} else if (*err) {
			/* no memory for a copy */
		} else {
			gch_thread_kick(t);
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
 * A thread taken asleep in a system call may wake and finish that call
 * too, and park: its call was one that only waits and moves data between
 * the kernel and the process (gch_task_in_plain_syscall()), which hides
 * no pointer from the mark, and a thread it creates is found below.  It
 * ran no user code, so it does not count.
 *
 * Return: true if the roots were complete.
 */
bool gch_world_intact(struct gch_world *w)
{
	struct task_struct *task;
	struct gch_thread *t;
	bool intact = true;

	list_for_each_entry(t, &w->list, link)
		if (t->stopped && !t->blocked &&
		    (!task_is_stopped_or_traced(t->task) ||
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
	/* in the kernel until the ioctl returns, parking on the way out */
	gch_held_set(self, true);

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
	struct gch_thread *t;

	WRITE_ONCE(w->released, true);
	wake_up_all(&w->release_wq);
	/* the collector's entry, first in the list (none if adding it failed) */
	if (!list_empty(&w->list))
		gch_held_set(list_first_entry(&w->list, struct gch_thread,
					      link), false);
	/*
	 * Parks not run yet stay queued, for nothing now: detach them, so
	 * that the world goes now and the next collection reuses them.
	 */
	mutex_lock(&gch_parkers_lock);
	list_for_each_entry(t, &w->list, link) {
		if (!t->parker)
			continue;
		t->parker->t = NULL;
		t->parker = NULL;
		refcount_dec(&w->ref);	/* ours is left */
	}
	mutex_unlock(&gch_parkers_lock);
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
