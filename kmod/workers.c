// SPDX-License-Identifier: GPL-2.0
/*
 * The collector's worker threads: a pool of kernel threads "gcheap/N",
 * made at module load (module parameter workers, default one per online
 * CPU) and stopped at unload, that run the parallel phases of every
 * heap's collections.
 *
 * The pool runs one job at a time: a function called once in each of the
 * job's n threads (n at most the pool size), all at once, as the core's
 * mark and sweep need (core/mark.h).  Each thread adopts the collecting
 * process's address space (kthread_use_mm()) for the job, so root
 * scanning reads its memory with copy_from_user(), and charges what it
 * allocates to that process's memory cgroup (set_active_memcg(): a kernel
 * thread has none of its own).  Between jobs the
 * threads sleep; heaps of different processes queue for the pool.
 */
#include <linux/completion.h>
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
 * @n:       threads taking part.
 * @seq:     the job's number, so a thread never runs one twice.
 * @pending: threads that have not finished it yet.
 * @done:    completed when @pending reaches 0.
 */
struct gch_job {
	void (*fn)(void *arg, unsigned int index);
	void *arg;
	struct mm_struct *mm;
	struct mem_cgroup *memcg;
	unsigned int n;
	unsigned long seq;
	atomic_t pending;
	struct completion done;
};

static struct {
	struct mutex run_lock;		/* one job at a time */
	spinlock_t lock;		/* @job against the threads */
	wait_queue_head_t wq;
	struct gch_job *job;
	unsigned long seq;
	unsigned int nr;
	struct task_struct **threads;
} gch_pool;

/* The job thread @index should run next, or NULL; *seen tracks the last. */
static struct gch_job *gch_pool_next(unsigned int index, unsigned long *seen)
{
	struct gch_job *job;

	spin_lock(&gch_pool.lock);
	job = gch_pool.job;
	if (job && job->seq != *seen) {
		*seen = job->seq;
		if (index >= job->n)
			job = NULL;
	} else {
		job = NULL;
	}
	spin_unlock(&gch_pool.lock);
	return job;
}

static bool gch_pool_wake(unsigned long seen)
{
	return kthread_should_stop() || READ_ONCE(gch_pool.seq) != seen;
}

static int gch_worker_thread(void *data)
{
	unsigned int index = (unsigned long)data;
	struct mem_cgroup *old;
	unsigned long seen = 0;
	struct gch_job *job;

	while (!kthread_should_stop()) {
		wait_event_interruptible(gch_pool.wq, gch_pool_wake(seen));
		job = gch_pool_next(index, &seen);
		if (!job)
			continue;
		if (job->mm)
			kthread_use_mm(job->mm);
		old = set_active_memcg(job->memcg);
		job->fn(job->arg, index);
		set_active_memcg(old);
		if (job->mm)
			kthread_unuse_mm(job->mm);
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
 * gch_pool_run() - run @fn(@arg, i) in pool threads i = 0 .. @n - 1, wait
 * @n:   threads, 1 to gch_pool_size().
 * @fn:  the function; may sleep, must return.
 * @arg: for @fn.
 * @mm:  the address space the threads use meanwhile (a live one: the
 *       caller's own), or NULL; its memory cgroup is charged for what
 *       they allocate.
 *
 * Waits for another heap's job first.  Uninterruptible: the threads use
 * the caller's memory, so the caller cannot leave before they are done;
 * jobs are bounded (a mark or a sweep).
 */
void gch_pool_run(unsigned int n, void (*fn)(void *arg, unsigned int index),
		  void *arg, struct mm_struct *mm)
{
	struct gch_job job = {
		.fn = fn,
		.arg = arg,
		.mm = mm,
		.memcg = mm ? get_mem_cgroup_from_mm(mm) : NULL,
		.n = clamp(n, 1U, gch_pool.nr),
	};

	atomic_set(&job.pending, job.n);
	init_completion(&job.done);
	mutex_lock(&gch_pool.run_lock);
	spin_lock(&gch_pool.lock);
	job.seq = ++gch_pool.seq;
	gch_pool.job = &job;
	spin_unlock(&gch_pool.lock);
	wake_up_all(&gch_pool.wq);
	wait_for_completion(&job.done);
	spin_lock(&gch_pool.lock);
	gch_pool.job = NULL;
	spin_unlock(&gch_pool.lock);
	mutex_unlock(&gch_pool.run_lock);
	mem_cgroup_put(job.memcg);
}

/**
 * gch_pool_init() - start the worker threads
 * @nr: how many; 0 for one per online CPU.  At most GCH_MAX_WORKERS.
 *
 * Return: 0, -EINVAL (too many), -ENOMEM, or kthread_run()'s error.
 */
int gch_pool_init(unsigned int nr)
{
	struct task_struct *t;
	unsigned int i;

	if (!nr)
		nr = num_online_cpus();
	if (nr > GCH_MAX_WORKERS)
		return -EINVAL;
	mutex_init(&gch_pool.run_lock);
	spin_lock_init(&gch_pool.lock);
	init_waitqueue_head(&gch_pool.wq);
	gch_pool.threads = kcalloc(nr, sizeof(*gch_pool.threads), GFP_KERNEL);
	if (!gch_pool.threads)
		return -ENOMEM;
	for (i = 0; i < nr; i++) {
		t = kthread_run(gch_worker_thread, (void *)(unsigned long)i,
				"gcheap/%u", i);
		if (IS_ERR(t)) {
			gch_pool.nr = i;
			gch_pool_exit();
			return PTR_ERR(t);
		}
		gch_pool.threads[i] = t;
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
		kthread_stop(gch_pool.threads[i]);
	kfree(gch_pool.threads);
	gch_pool.threads = NULL;
	gch_pool.nr = 0;
}
