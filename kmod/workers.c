// SPDX-License-Identifier: GPL-2.0
/*
 * The collector's worker threads: a pool of kernel threads "gcheap/N",
 * made at module load (module parameter workers, default one per online
 * CPU) and stopped at unload, that run the parallel phases of every
 * heap's collections.
 *
 * A job is a function called once in each of its n threads (n at most
 * the pool size), all at once, as the core's mark and sweep need
 * (core/mark.h: a worker of the mark returns only when all n are out of
 * work, so all n must run).  The submitting thread (the collector, in
 * its own process) is the job's thread 0 and starts at once; the other
 * n - 1 come from the pool.  So a one-thread job (a small heap) never
 * waits for the pool nor wakes a thread of it, and a larger one starts
 * its work while its pool threads are still on their way.  Jobs of
 * different heaps run side by side: each takes n - 1 idle threads of its
 * own for its whole run, and they wait, in order of arrival, only while
 * fewer are idle (thread 0 meanwhile works alone, or waits in the mark's
 * termination); so a small heap's job does not wait for a large one to
 * finish, and no job is overtaken for ever.
 * Each pool thread adopts the collecting process's address space
 * (kthread_use_mm()) for the job, so root scanning reads its memory with
 * copy_from_user(), and charges what it allocates to that process's
 * memory cgroup (set_active_memcg(): a kernel thread has none of its
 * own).  Between jobs the threads sleep.
 */
#include <linux/completion.h>
#include <linux/list.h>
#include <linux/cpumask.h>
#include <linux/kthread.h>
#include <linux/memcontrol.h>
#include <linux/mmu_context.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/wait.h>

#include "internal.h"

/**
 * struct gch_job - one run of a function in several pool threads
 * @fn:      called as @fn(@arg, i) in thread i, for i < @n.
 * @arg:     for @fn.
 * @mm:      address space the threads use meanwhile, or NULL.
 * @memcg:   @mm's memory cgroup, charged meanwhile, or NULL.
 * @n:       pool threads taking part (the submitter is one more).
 * @link:    in the pool's list of jobs waiting for threads.
 * @pending: threads that have not finished it yet.
 * @done:    completed when @pending reaches 0.
 */
struct gch_job {
	void (*fn)(void *arg, unsigned int index);
	void *arg;
	struct mm_struct *mm;
	struct mem_cgroup *memcg;
	unsigned int n;
	struct list_head link;
	atomic_t pending;
	struct completion done;
};

/**
 * struct gch_pool_thread - one thread of the pool
 * @task:  the kthread.
 * @job:   the job it runs, or NULL when idle.  Under the pool's lock.
 * @index: its index in @job.
 * @wq:    it waits here for a job.
 * @idle:  in the pool's list of idle threads, when idle.
 */
struct gch_pool_thread {
	struct task_struct *task;
	struct gch_job *job;
	unsigned int index;
	wait_queue_head_t wq;
	struct list_head idle;
};

static struct {
	spinlock_t lock;		/* the lists and every thread's @job */
	struct list_head idle;		/* idle threads */
	unsigned int nidle;
	struct list_head waiting;	/* jobs waiting for threads, in order */
	unsigned int nr;
	struct gch_pool_thread *threads;
} gch_pool;

/* Give the waiting jobs, first come first, the idle threads.  Locked. */
static void gch_pool_dispatch(void)
{
	struct gch_pool_thread *t;
	struct gch_job *job;
	unsigned int i;

	while (!list_empty(&gch_pool.waiting)) {
		job = list_first_entry(&gch_pool.waiting, struct gch_job, link);
		/* the first waits for its n; the later ones wait behind it */
		if (job->n > gch_pool.nidle)
			return;
		list_del(&job->link);
		gch_pool.nidle -= job->n;
		for (i = 0; i < job->n; i++) {
			t = list_first_entry(&gch_pool.idle,
					     struct gch_pool_thread, idle);
			list_del(&t->idle);
			t->index = i + 1;	/* the submitter is 0 */
			WRITE_ONCE(t->job, job);
			wake_up(&t->wq);
		}
	}
}

static int gch_worker_thread(void *data)
{
	struct gch_pool_thread *self = data;
	struct mem_cgroup *old;
	struct gch_job *job;

	for (;;) {
		wait_event_idle(self->wq, READ_ONCE(self->job) ||
					  kthread_should_stop());
		spin_lock(&gch_pool.lock);
		job = self->job;
		spin_unlock(&gch_pool.lock);
		if (!job)
			break;	/* stopped: at unload no job runs */
		if (job->mm)
			kthread_use_mm(job->mm);
		old = set_active_memcg(job->memcg);
		job->fn(job->arg, self->index);
		set_active_memcg(old);
		if (job->mm)
			kthread_unuse_mm(job->mm);
		spin_lock(&gch_pool.lock);
		self->job = NULL;
		list_add(&self->idle, &gch_pool.idle);
		gch_pool.nidle++;
		gch_pool_dispatch();
		spin_unlock(&gch_pool.lock);
		/* last: the job lives on its submitter's stack */
		if (atomic_dec_and_test(&job->pending))
			complete(&job->done);
	}
	return 0;
}

/**
 * gch_pool_size() - threads in the pool
 *
 * Return: at least 1 once gch_pool_init() succeeded.
 */
unsigned int gch_pool_size(void)
{
	return gch_pool.nr;
}

/**
 * gch_pool_run() - run @fn(@arg, i) for i = 0 .. @n - 1 at once, wait
 * @n:   threads, 1 to gch_pool_size().
 * @fn:  the function; may sleep, must return.
 * @arg: for @fn.
 * @mm:  the caller's address space (the pool threads use it meanwhile,
 *       and its memory cgroup is charged for what they allocate), or
 *       NULL.
 *
 * The caller runs @fn(@arg, 0) itself; threads 1 .. @n - 1 are pool
 * threads, which wait, behind the jobs that came first, until enough are
 * idle; the jobs of other heaps run meanwhile.  Uninterruptible: the
 * threads use the caller's memory, so the caller cannot leave before they
 * are done; jobs are bounded (a root read, a mark or a sweep).
 */
void gch_pool_run(unsigned int n, void (*fn)(void *arg, unsigned int index),
		  void *arg, struct mm_struct *mm)
{
	struct gch_job job = {
		.fn = fn,
		.arg = arg,
		.mm = mm,
		.n = clamp(n, 1U, gch_pool.nr) - 1,
	};

	WARN_ON_ONCE(mm && mm != current->mm);
	if (job.n) {
		job.memcg = mm ? get_mem_cgroup_from_mm(mm) : NULL;
		atomic_set(&job.pending, job.n);
		init_completion(&job.done);
		spin_lock(&gch_pool.lock);
		list_add_tail(&job.link, &gch_pool.waiting);
		gch_pool_dispatch();
		spin_unlock(&gch_pool.lock);
	}
	fn(arg, 0);
	if (job.n) {
		wait_for_completion(&job.done);
		mem_cgroup_put(job.memcg);
	}
}

/**
 * gch_pool_init() - start the worker threads
 * @nr: how many; 0 for one per online CPU.  At most GCH_MAX_WORKERS.
 *
 * Return: 0, -EINVAL (too many), -ENOMEM, or kthread_run()'s error.
 */
int gch_pool_init(unsigned int nr)
{
	struct gch_pool_thread *t;
	unsigned int i;

	if (!nr)
		nr = num_online_cpus();
	if (nr > GCH_MAX_WORKERS)
		return -EINVAL;
	spin_lock_init(&gch_pool.lock);
	INIT_LIST_HEAD(&gch_pool.idle);
	INIT_LIST_HEAD(&gch_pool.waiting);
	gch_pool.nidle = 0;
	gch_pool.threads = kcalloc(nr, sizeof(*gch_pool.threads), GFP_KERNEL);
	if (!gch_pool.threads)
		return -ENOMEM;
	for (i = 0; i < nr; i++) {
		t = &gch_pool.threads[i];
		init_waitqueue_head(&t->wq);
		t->task = kthread_run(gch_worker_thread, t, "gcheap/%u", i);
		if (IS_ERR(t->task)) {
			int err = PTR_ERR(t->task);

			gch_pool.nr = i;
			gch_pool_exit();
			return err;
		}
		spin_lock(&gch_pool.lock);
		list_add_tail(&t->idle, &gch_pool.idle);
		gch_pool.nidle++;
		spin_unlock(&gch_pool.lock);
	}
	gch_pool.nr = nr;
	return 0;
}

/**
 * gch_pool_exit() - stop the worker threads
 *
 * Called at unload (no heap exists, so no job runs) or when
 * gch_pool_init() fails.
 */
void gch_pool_exit(void)
{
	unsigned int i;

	for (i = 0; i < gch_pool.nr; i++)
		kthread_stop(gch_pool.threads[i].task);
	kfree(gch_pool.threads);
	gch_pool.threads = NULL;
	gch_pool.nr = 0;
}

#if IS_ENABLED(CONFIG_KUNIT)
#include "tests/workers_test.c"
#endif
