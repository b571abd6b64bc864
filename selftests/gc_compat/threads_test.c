// SPDX-License-Identifier: GPL-2.0
/*
 * bdwgc's thread support, as gc.h documents it.  The program defines
 * GC_THREADS (as a threaded bdwgc client must) but GC_NO_THREAD_REDIRECTS,
 * so that each test says which function it means: GC_pthread_create() for
 * threads the collector knows from birth, plain pthread_create() for a
 * thread that registers itself.
 *
 *   join_result         a list built by a GC_pthread_create()d thread and
 *                       returned survives collections between the thread's
 *                       end and GC_pthread_join(), whole
 *   exit_result         the same through GC_pthread_exit() from a nested
 *                       call (survival on the drop-in only: libgc1 does
 *                       not keep such a value, and gc.h does not say)
 *   detach              GC_pthread_detach() of a finished thread: its
 *                       result is collected; a thread detached while
 *                       running allocates and collects to its end
 *   concurrent          4 threads build, check and drop lists held only in
 *                       their stacks and registers while allocating garbage
 *                       and collecting; the main thread too
 *   register_my_thread  a thread from plain pthread_create(): not
 *                       registered; GC_register_my_thread GC_SUCCESS, then
 *                       GC_DUPLICATE; its stack is scanned while registered;
 *                       GC_unregister_my_thread GC_SUCCESS; a
 *                       GC_pthread_create()d thread and the main thread are
 *                       registered
 *   stack_base          GC_get_stack_base: above the caller's locals, within
 *                       the stack (main thread, 256 KiB thread);
 *                       GC_call_with_stack_base: passes its argument and a
 *                       base in its frame, returns fn's result
 *   do_blocking         a thread blocked in GC_do_blocking does not hold
 *                       collections up, what its caller's frame references
 *                       survives, fn's result is returned; inside,
 *                       GC_call_with_gc_active may allocate
 */
#define GC_THREADS
#define GC_NO_THREAD_REDIRECTS
#include <gc/gc.h>

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "gc_compat.h"

struct node {
	struct node *next;
	unsigned long idx;
	unsigned long check;
	unsigned long salt;
};

#define CHECK(i, salt)	((0x9e3779b97f4a7c15ul * ((i) + 1)) ^ (salt))

static noinline struct node *build_list(unsigned long n, unsigned long salt)
{
	struct node *head = NULL, *p;

	while (n-- > 0) {
		p = GC_malloc(sizeof(*p));
		if (!p)
			return NULL;
		p->next = head;
		p->idx = n;
		p->salt = salt;
		p->check = CHECK(n, salt);
		head = p;
	}
	return head;
}

/* How many nodes are intact, in order, from the start. */
static noinline unsigned long check_list(const struct node *p, unsigned long salt)
{
	unsigned long i = 0;

	for (; p; p = p->next, i++)
		if (p->idx != i || p->salt != salt || p->check != CHECK(i, salt) ||
		    GC_base((void *)p) != p)
			break;
	return i;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Wait (at most 20 s) until the thread @tid no longer exists. */
static bool wait_thread_gone(pid_t tid)
{
	char path[64];
	int i;

	snprintf(path, sizeof(path), "/proc/self/task/%d", (int)tid);
	for (i = 0; i < 2000; i++) {
		if (access(path, F_OK) && errno == ENOENT)
			return true;
		sleep_ms(10);
	}
	return false;
}

/* ---- results kept until joined ---------------------------------------- */

#define RESULT_LEN	2000

struct result_arg {
	volatile pid_t tid;
	void **head_w, **tail_w;	/* malloc() slots */
	bool use_exit;
	bool keep_root;		/* also store the result in exit_root */
};

static void *volatile exit_root;	/* a root */

static noinline void exit_with(void *r)
{
	GC_pthread_exit(r);
}

/*
 * A list built head first: the node allocated last, which allocation
 * caches may still point just past, is the tail, which keeps nothing else.
 */
static noinline struct node *build_list_forward(unsigned long n, unsigned long salt)
{
	struct node *head = NULL, **link = &head, *p;
	unsigned long i;

	for (i = 0; i < n; i++) {
		p = GC_malloc(sizeof(*p));
		if (!p)
			return NULL;
		p->idx = i;
		p->salt = salt;
		p->check = CHECK(i, salt);
		*link = p;
		link = &p->next;
	}
	return head;
}

static void *result_thread(void *p)
{
	struct result_arg *a = p;
	struct node *head = build_list_forward(RESULT_LEN, 0xabc), *t;

	if (!head)
		return NULL;
	for (t = head; t->next; t = t->next)
		;
	a->head_w = gct_watch(head);
	a->tail_w = gct_watch(t);
	gct_churn();
	a->tid = (pid_t)syscall(SYS_gettid);
	if (a->keep_root)
		exit_root = head;
	if (a->use_exit)
		exit_with(head);
	return head;
}

/* Join @t; how many nodes of its result are intact. */
static noinline unsigned long join_and_check(pthread_t t, int *err)
{
	void *res = NULL;

	*err = GC_pthread_join(t, &res);
	return *err ? 0 : check_list(res, 0xabc);
}

static void check_result(struct __test_metadata *_metadata, bool use_exit)
{
	struct result_arg *a = calloc(1, sizeof(*a));
	pthread_t t;
	unsigned long n;
	int i, err;

	ASSERT_NE(NULL, a);
	a->use_exit = use_exit;
	/*
	 * libgc1 keeps what a thread returns until it is joined (its
	 * thread table holds it), but not what it passes to
	 * GC_pthread_exit(); gc.h promises neither.  The drop-in keeps both
	 * (libgcheap's gch_pthread_exit(): "keeping @result until joined").
	 */
	if (use_exit && !gct_is_dropin()) {
		a->keep_root = true;
		TH_LOG("libgc1 does not keep a GC_pthread_exit() value alive until the join: the result is also kept in a root here, survival is checked on the drop-in only");
	}
	ASSERT_EQ(0, GC_pthread_create(&t, NULL, result_thread, a));
	while (!a->tid)
		sleep_ms(1);
	ASSERT_TRUE(wait_thread_gone(a->tid)) TH_LOG("the thread did not end");
	ASSERT_NE(NULL, a->head_w);
	ASSERT_NE(NULL, a->tail_w);
	for (i = 0; i < GCT_TRIES; i++) {
		gct_collect();
		ASSERT_TRUE(gct_alive(a->head_w))
			TH_LOG("collection %d: an unjoined thread's result was collected", i + 1);
		ASSERT_TRUE(gct_alive(a->tail_w))
			TH_LOG("collection %d: the end of an unjoined thread's result was collected",
			       i + 1);
	}
	n = join_and_check(t, &err);
	ASSERT_EQ(0, err);
	EXPECT_EQ(RESULT_LEN, n) TH_LOG("the joined result is broken after %lu nodes", n);
	exit_root = NULL;
	/* joined and dropped, it goes */
	EXPECT_NE(0, gct_collect_until_clear(a->tail_w))
		TH_LOG("a joined, dropped result survived");
}

TEST(join_result)
{
	GC_INIT();
	check_result(_metadata, false);
}

TEST(exit_result)
{
	GC_INIT();
	check_result(_metadata, true);
}

/* ---- detach ------------------------------------------------------------- */

static int detached_done;

static void *detached_worker(void *p)
{
	unsigned long ok = 0;
	int i;

	(void)p;
	for (i = 0; i < 20; i++) {
		struct node *l = build_list(300, i);

		if (i % 5 == 0)
			GC_gcollect();
		ok += check_list(l, i) == 300;
	}
	__atomic_store_n(&detached_done, ok == 20 ? 1 : -1, __ATOMIC_RELEASE);
	return NULL;
}

TEST(detach)
{
	struct result_arg *a = calloc(1, sizeof(*a));
	pthread_t t, d;
	int i;

	GC_INIT();
	ASSERT_NE(NULL, a);
	ASSERT_EQ(0, GC_pthread_create(&t, NULL, result_thread, a));
	while (!a->tid)
		sleep_ms(1);
	ASSERT_TRUE(wait_thread_gone(a->tid));
	ASSERT_EQ(0, GC_pthread_detach(t));
	/* no join will ever want the result: it is garbage */
	EXPECT_NE(0, gct_collect_until_clear(a->tail_w))
		TH_LOG("a detached thread's result survived %d collections", GCT_TRIES);

	/* detached while running */
	ASSERT_EQ(0, GC_pthread_create(&d, NULL, detached_worker, NULL));
	ASSERT_EQ(0, GC_pthread_detach(d));
	for (i = 0; i < 3000 && !__atomic_load_n(&detached_done, __ATOMIC_ACQUIRE); i++) {
		if (i % 10 == 0)
			GC_gcollect();
		sleep_ms(5);
	}
	EXPECT_EQ(1, detached_done) TH_LOG("the detached thread failed or did not finish");
}

/* ---- threads allocating and collecting together ------------------------- */

#define CONC_THREADS	4
#define CONC_ROUNDS	25
#define CONC_LEN	400

static void *conc_worker(void *p)
{
	unsigned long id = (unsigned long)(uintptr_t)p, bad = 0;
	int r, k;

	for (r = 0; r < CONC_ROUNDS; r++) {
		unsigned long salt = id << 16 | r;
		struct node *l = build_list(CONC_LEN, salt);

		/* garbage around it, some of it large */
		for (k = 0; k < 64; k++) {
			void *g = GC_malloc(k % 16 == 0 ? 20000 : 256);

			__asm__ volatile("" : : "r" (g) : "memory");
		}
		if (r % 4 == (int)(id % 4))
			GC_gcollect();
		bad += check_list(l, salt) != CONC_LEN;
		/* a second list built while the first is held */
		if (r % 3 == 0) {
			struct node *m = build_list(CONC_LEN / 2, ~salt);

			GC_gcollect();
			bad += check_list(m, ~salt) != CONC_LEN / 2;
			bad += check_list(l, salt) != CONC_LEN;
		}
	}
	return (void *)(uintptr_t)bad;
}

TEST(concurrent)
{
	pthread_t t[CONC_THREADS];
	struct node *mine;
	unsigned long i;
	void *res;

	GC_INIT();
	mine = build_list(1000, 7);
	ASSERT_NE(NULL, mine);
	for (i = 0; i < CONC_THREADS; i++)
		ASSERT_EQ(0, GC_pthread_create(&t[i], NULL, conc_worker,
					       (void *)(uintptr_t)(i + 1)));
	for (i = 0; i < 10; i++) {
		GC_gcollect();
		sleep_ms(2);
	}
	for (i = 0; i < CONC_THREADS; i++) {
		res = (void *)1;
		ASSERT_EQ(0, GC_pthread_join(t[i], &res));
		EXPECT_EQ(0, (uintptr_t)res)
			TH_LOG("thread %lu: %lu lists broken", i + 1, (unsigned long)(uintptr_t)res);
	}
	EXPECT_EQ(1000, check_list(mine, 7));
}

/* ---- a thread that registers itself --------------------------------------- */

struct reg_arg {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int stage;		/* 1: list built, 2: main collected */
	int was_registered, reg1, reg2, is_reg, unreg, after_unreg, sb;
	unsigned long intact;
	void **w;
};

static void *self_registering(void *p)
{
	struct reg_arg *a = p;
	struct GC_stack_base sb;
	struct node *l;

	a->was_registered = GC_thread_is_registered();
	a->sb = GC_get_stack_base(&sb);
	a->reg1 = GC_register_my_thread(&sb);
	a->reg2 = GC_register_my_thread(&sb);
	a->is_reg = GC_thread_is_registered();
	/* registered, it may allocate; the list is only in this stack */
	l = build_list(500, 0x55);
	a->w = gct_watch(l ? l->next : NULL);
	pthread_mutex_lock(&a->lock);
	a->stage = 1;
	pthread_cond_broadcast(&a->cond);
	while (a->stage != 2)
		pthread_cond_wait(&a->cond, &a->lock);
	pthread_mutex_unlock(&a->lock);
	a->intact = check_list(l, 0x55);
	l = NULL;
	a->unreg = GC_unregister_my_thread();
	a->after_unreg = GC_thread_is_registered();
	return NULL;
}

static void *registered_probe(void *p)
{
	struct GC_stack_base sb;
	int *r = p;

	r[0] = GC_thread_is_registered();
	GC_get_stack_base(&sb);
	r[1] = GC_register_my_thread(&sb);
	return NULL;
}

TEST(register_my_thread)
{
	struct reg_arg *a = calloc(1, sizeof(*a));
	int probe[2] = { -1, -1 };
	pthread_t t;
	int i;

	GC_INIT();
	ASSERT_NE(NULL, a);
	EXPECT_TRUE(GC_thread_is_registered()) TH_LOG("the main thread");
	/* created by the collector's function: registered from the start */
	ASSERT_EQ(0, GC_pthread_create(&t, NULL, registered_probe, probe));
	ASSERT_EQ(0, GC_pthread_join(t, NULL));
	EXPECT_EQ(1, probe[0]) TH_LOG("a GC_pthread_create thread is not registered");
	EXPECT_EQ(GC_DUPLICATE, probe[1]);

	/* gc.h: must be called before the first explicit registration */
	GC_allow_register_threads();
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->cond, NULL);
	ASSERT_EQ(0, pthread_create(&t, NULL, self_registering, a));
	pthread_mutex_lock(&a->lock);
	while (a->stage != 1)
		pthread_cond_wait(&a->cond, &a->lock);
	pthread_mutex_unlock(&a->lock);
	ASSERT_NE(NULL, a->w);
	for (i = 0; i < GCT_TRIES; i++) {
		gct_collect();
		EXPECT_TRUE(gct_alive(a->w))
			TH_LOG("collection %d: a list held by a registered thread's stack was collected",
			       i + 1);
	}
	pthread_mutex_lock(&a->lock);
	a->stage = 2;
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->lock);
	ASSERT_EQ(0, pthread_join(t, NULL));
	EXPECT_EQ(0, a->was_registered)
		TH_LOG("a thread from plain pthread_create counts as registered");
	EXPECT_EQ(GC_SUCCESS, a->sb);
	EXPECT_EQ(GC_SUCCESS, a->reg1);
	EXPECT_EQ(GC_DUPLICATE, a->reg2);
	EXPECT_EQ(1, a->is_reg);
	EXPECT_EQ(500, a->intact);
	EXPECT_EQ(GC_SUCCESS, a->unreg);
	EXPECT_EQ(0, a->after_unreg);
}

/* ---- stack bases -------------------------------------------------------- */

struct sb_res {
	int rc;
	uintptr_t base, local;
};

static noinline void stack_base_here(struct sb_res *r)
{
	volatile char local = 1;
	struct GC_stack_base sb;

	memset(&sb, 0, sizeof(sb));
	r->rc = GC_get_stack_base(&sb);
	r->base = (uintptr_t)sb.mem_base;
	r->local = (uintptr_t)&local;
}

static void *stack_base_thread(void *p)
{
	stack_base_here(p);
	return NULL;
}

static void *GC_CALLBACK with_base(struct GC_stack_base *sb, void *arg)
{
	volatile char local = 2;
	struct sb_res *r = arg;

	r->base = (uintptr_t)sb->mem_base;
	r->local = (uintptr_t)&local;
	return (char *)arg + 1;
}

TEST(stack_base)
{
	const size_t tsize = 256 << 10;
	struct sb_res r;
	struct rlimit rl;
	pthread_attr_t attr;
	pthread_t t;
	size_t limit;

	GC_INIT();
	/* the main thread: its stack bottom is within the stack's limit */
	stack_base_here(&r);
	ASSERT_EQ(GC_SUCCESS, r.rc);
	EXPECT_GT(r.base, r.local) TH_LOG("the stack base is below a local (stacks grow down)");
	limit = 1ul << 30;
	if (!getrlimit(RLIMIT_STACK, &rl) && rl.rlim_cur != RLIM_INFINITY)
		limit = rl.rlim_cur;
	EXPECT_LT(r.base - r.local, limit);

	/* a thread with a 256 KiB stack */
	memset(&r, 0, sizeof(r));
	ASSERT_EQ(0, pthread_attr_init(&attr));
	ASSERT_EQ(0, pthread_attr_setstacksize(&attr, tsize));
	ASSERT_EQ(0, GC_pthread_create(&t, &attr, stack_base_thread, &r));
	ASSERT_EQ(0, GC_pthread_join(t, NULL));
	pthread_attr_destroy(&attr);
	ASSERT_EQ(GC_SUCCESS, r.rc);
	EXPECT_GT(r.base, r.local);
	EXPECT_LT(r.base - r.local, tsize)
		TH_LOG("a 256 KiB thread's stack base is %lu bytes above a local",
		       (unsigned long)(r.base - r.local));

	/* gc.h: "a stack base structure corresponding to somewhere in the
	 * GC_call_with_stack_base frame" */
	memset(&r, 0, sizeof(r));
	EXPECT_EQ((char *)&r + 1, GC_call_with_stack_base(with_base, &r));
	EXPECT_GT(r.base, r.local);
	EXPECT_LT(r.base - r.local, 64 << 10)
		TH_LOG("GC_call_with_stack_base's base is %lu bytes above fn's local",
		       (unsigned long)(r.base - r.local));
}

/* ---- GC_do_blocking -------------------------------------------------------- */

struct block_arg {
	int pipe[2];
	volatile int inside;
	void **w;
	unsigned long intact;
	int result_ok;
	int active_ok;
};

static void *GC_CALLBACK active_alloc(void *cd)
{
	long *p = GC_malloc(10 * sizeof(long));

	(void)cd;
	if (p)
		p[9] = 99;
	return p;
}

static void *GC_CALLBACK blocking_fn(void *cd)
{
	struct block_arg *a = cd;
	char c;

	a->inside = 1;
	if (read(a->pipe[0], &c, 1) != 1)
		return NULL;
	/* gc.h: fn may call GC_call_with_gc_active() */
	return GC_call_with_gc_active(active_alloc, NULL);
}

static void *blocking_thread(void *p)
{
	struct block_arg *a = p;
	struct node *l = build_list(600, 0x77);
	long *r;

	a->w = gct_watch(l);
	r = GC_do_blocking(blocking_fn, a);
	a->result_ok = r && GC_base(r) == r && r[9] == 99;
	a->intact = check_list(l, 0x77);
	return NULL;
}

TEST(do_blocking)
{
	struct block_arg *a = calloc(1, sizeof(*a));
	pthread_t t;
	int i;

	GC_INIT();
	ASSERT_NE(NULL, a);
	ASSERT_EQ(0, pipe(a->pipe));
	ASSERT_EQ(0, GC_pthread_create(&t, NULL, blocking_thread, a));
	for (i = 0; i < 2000 && !a->inside; i++)
		sleep_ms(5);
	ASSERT_TRUE(a->inside);
	/* the blocked thread does not hold collections up (the harness's
	 * timeout would end a hang) */
	for (i = 0; i < GCT_TRIES; i++) {
		gct_collect();
		EXPECT_TRUE(gct_alive(a->w))
			TH_LOG("collection %d: a list in a blocked thread's active frames was collected",
			       i + 1);
	}
	ASSERT_EQ(1, write(a->pipe[1], "x", 1));
	ASSERT_EQ(0, GC_pthread_join(t, NULL));
	EXPECT_EQ(600, a->intact);
	EXPECT_TRUE(a->result_ok) TH_LOG("GC_do_blocking did not return fn's result");
}

TEST_HARNESS_MAIN
