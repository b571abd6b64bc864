// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the worker pool: jobs of different heaps run side by
 * side, and a job's threads all run at once.  Included at the end of
 * workers.c.  The suites run before the module's init function, so each
 * case starts a pool of its own and stops it.
 */
#include <kunit/test.h>

/* Long enough for a slow VM; a pool that serialised jobs waits it out. */
#define WT_WAIT		(10 * HZ)

struct wt_pair {
	struct completion a_runs;
	struct completion b_ran;
	struct completion a_done;
	bool a_saw_b;
};

/* Job A: runs until job B has run, or gives up. */
static void wt_job_a(void *arg, unsigned int index)
{
	struct wt_pair *p = arg;

	complete(&p->a_runs);
	p->a_saw_b = wait_for_completion_timeout(&p->b_ran, WT_WAIT);
}

static void wt_job_b(void *arg, unsigned int index)
{
	struct wt_pair *p = arg;

	complete(&p->b_ran);
}

static int wt_submit_a(void *arg)
{
	struct wt_pair *p = arg;

	gch_pool_run(1, wt_job_a, p, NULL);
	complete(&p->a_done);
	return 0;
}

/* A one-thread job that waits for another must not keep it from running. */
static void workers_side_by_side(struct kunit *test)
{
	struct task_struct *t;
	struct wt_pair p;

	KUNIT_ASSERT_EQ(test, gch_pool_init(2), 0);
	init_completion(&p.a_runs);
	init_completion(&p.b_ran);
	init_completion(&p.a_done);
	p.a_saw_b = false;
	t = kthread_run(wt_submit_a, &p, "gcheap-wt-a");
	KUNIT_ASSERT_FALSE(test, IS_ERR(t));
	/* A holds one thread: B takes the other */
	wait_for_completion(&p.a_runs);
	gch_pool_run(1, wt_job_b, &p, NULL);
	wait_for_completion(&p.a_done);
	KUNIT_EXPECT_TRUE(test, p.a_saw_b);
	gch_pool_exit();
}

struct wt_gang {
	atomic_t entered;
	unsigned int n;
	atomic_t all_seen;
	unsigned long seen_index;
};

/* Every thread of the job waits until all of them have entered. */
static void wt_job_gang(void *arg, unsigned int index)
{
	struct wt_gang *g = arg;
	unsigned long end = jiffies + WT_WAIT;

	set_bit(index, &g->seen_index);
	atomic_inc(&g->entered);
	while (atomic_read(&g->entered) < (int)g->n &&
	       time_before(jiffies, end))
		usleep_range(500, 1000);
	if (atomic_read(&g->entered) == (int)g->n)
		atomic_inc(&g->all_seen);
}

/* A job's n threads run at once, each with its own index below n. */
static void workers_gang(struct kunit *test)
{
	struct wt_gang g = { .n = 4 };
	unsigned int round;

	KUNIT_ASSERT_EQ(test, gch_pool_init(6), 0);
	for (round = 0; round < 3; round++) {
		atomic_set(&g.entered, 0);
		atomic_set(&g.all_seen, 0);
		g.seen_index = 0;
		gch_pool_run(g.n, wt_job_gang, &g, NULL);
		KUNIT_EXPECT_EQ(test, atomic_read(&g.all_seen), (int)g.n);
		KUNIT_EXPECT_EQ(test, g.seen_index, 0xfUL);
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
	{}
};

static struct kunit_suite workers_suite = {
	.name = "gcheap_workers",
	.test_cases = workers_cases,
};

kunit_test_suite(workers_suite);
