// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the worker pool: jobs of different heaps run side by
 * side, a job's threads all run at once, and its first is the submitter.
 * Included at the end of workers.c.  The suites run before the module's
 * init function, so each case starts a pool of its own and stops it.
 */
#include <kunit/test.h>

/* Long enough for a slow VM; a pool that serialised jobs waits it out. */
#define WT_WAIT		(10 * HZ)

struct wt_pair {
	struct completion a_runs;
	struct completion b_ran;
	struct completion a_done;
	unsigned int a_threads;
	bool a_saw_b;	/* every thread of job A saw job B run */
};

/* Job A: runs until job B has run, or gives up (in each of its threads). */
static void wt_job_a(void *arg, unsigned int index)
{
	struct wt_pair *p = arg;

	complete(&p->a_runs);
	/* only ever cleared: the thread that gave up first frees a pool thread */
	if (!wait_for_completion_timeout(&p->b_ran, WT_WAIT))
		WRITE_ONCE(p->a_saw_b, false);
}

static void wt_job_b(void *arg, unsigned int index)
{
	struct wt_pair *p = arg;

	complete_all(&p->b_ran);
}

static int wt_submit_a(void *arg)
{
	struct wt_pair *p = arg;

	gch_pool_run(p->a_threads, wt_job_a, p, NULL);
	complete(&p->a_done);
	return 0;
}

/*
 * With a pool of two, job A (@a_threads threads, submitted by a kthread)
 * waits until job B (one thread, submitted here) has run: true if every
 * thread of A saw it, false if B had to wait for A to give up.
 */
static bool wt_pair_side_by_side(struct kunit *test, unsigned int a_threads)
{
	struct task_struct *t;
	struct wt_pair p = { .a_threads = a_threads, .a_saw_b = true };
	bool saw;

	KUNIT_ASSERT_EQ(test, gch_pool_init(2), 0);
	init_completion(&p.a_runs);
	init_completion(&p.b_ran);
	init_completion(&p.a_done);
	t = kthread_run(wt_submit_a, &p, "gcheap-wt-a");
	KUNIT_ASSERT_FALSE(test, IS_ERR(t));
	wait_for_completion(&p.a_runs);
	gch_pool_run(1, wt_job_b, &p, NULL);
	wait_for_completion(&p.a_done);
	saw = READ_ONCE(p.a_saw_b);
	gch_pool_exit();
	return saw;
}

/* A one-thread job that waits for another must not keep it from running. */
static void workers_side_by_side(struct kunit *test)
{
	KUNIT_EXPECT_TRUE(test, wt_pair_side_by_side(test, 1));
}

/*
 * A one-thread job runs in its submitter: it starts even when every pool
 * thread is busy (here with a two-thread job that waits for it: if the
 * one-thread job needed a pool thread, the pair would wait it out).
 */
static void workers_submitter_runs(struct kunit *test)
{
	KUNIT_EXPECT_TRUE(test, wt_pair_side_by_side(test, 2));
}

struct wt_gang {
	atomic_t entered;
	unsigned int n;
	atomic_t all_seen;
	unsigned long seen_index;
	struct task_struct *submitter;
	bool index0_in_submitter;
};

/* Every thread of the job waits until all of them have entered. */
static void wt_job_gang(void *arg, unsigned int index)
{
	struct wt_gang *g = arg;
	unsigned long end = jiffies + WT_WAIT;

	set_bit(index, &g->seen_index);
	if (!index)
		g->index0_in_submitter = current == g->submitter;
	atomic_inc(&g->entered);
	while (atomic_read(&g->entered) < (int)g->n &&
	       time_before(jiffies, end))
		usleep_range(500, 1000);
	if (atomic_read(&g->entered) == (int)g->n)
		atomic_inc(&g->all_seen);
}

/*
 * A job's n threads run at once, each with its own index below n, index
 * 0 in the submitter.
 */
static void workers_gang(struct kunit *test)
{
	struct wt_gang g = { .n = 4, .submitter = current };
	unsigned int round;

	KUNIT_ASSERT_EQ(test, gch_pool_init(6), 0);
	for (round = 0; round < 3; round++) {
		atomic_set(&g.entered, 0);
		atomic_set(&g.all_seen, 0);
		g.seen_index = 0;
		g.index0_in_submitter = false;
		gch_pool_run(g.n, wt_job_gang, &g, NULL);
		KUNIT_EXPECT_EQ(test, atomic_read(&g.all_seen), (int)g.n);
		KUNIT_EXPECT_EQ(test, g.seen_index, 0xfUL);
		KUNIT_EXPECT_TRUE(test, g.index0_in_submitter);
	}
	/* more than the pool: clamped to it */
	g.n = 6;
	atomic_set(&g.entered, 0);
	atomic_set(&g.all_seen, 0);
	g.seen_index = 0;
	gch_pool_run(100, wt_job_gang, &g, NULL);
	KUNIT_EXPECT_EQ(test, atomic_read(&g.all_seen), 6);
	KUNIT_EXPECT_EQ(test, g.seen_index, 0x3fUL);
	gch_pool_exit();
}

static struct kunit_case workers_cases[] = {
	KUNIT_CASE(workers_side_by_side),
	KUNIT_CASE(workers_gang),
	KUNIT_CASE(workers_submitter_runs),
	{}
};

static struct kunit_suite workers_suite = {
	.name = "gcheap_workers",
	.test_cases = workers_cases,
};

kunit_test_suite(workers_suite);
