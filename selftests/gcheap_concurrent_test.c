// SPDX-License-Identifier: GPL-2.0
/*
 * Collections side by side, and threads asleep in system calls.
 *
 *  - blocked.*: threads asleep in read() on a pipe, a futex wait,
 *    clock_nanosleep() and epoll_wait() while the main thread collects.
 *    They are taken as stopped where they sleep: not one of them is woken
 *    (their voluntary context switches do not move), each call returns
 *    once, with its own result (no EINTR), and the heap object each one
 *    passed to its call, whose address only its registers held, survives
 *    with its contents.
 *  - blocked.woken_stays_stopped: a thread that wakes in the kernel during
 *    a collection (a child process writes to its pipe at random times)
 *    must not run user code until the world is released: every time it
 *    stamps after a read() is outside every collection's stopped spans
 *    (both stops of one that marked beside the program).
 *  - side.two_heaps: two threads of one process collect two heaps at once,
 *    many rounds, checksummed chains in both; every collection succeeds.
 *  - side.eight_processes: eight processes collect at once, same checks.
 *
 * The stop times (stw_ns) are reported, never judged: a slow VM must not
 * fail a test.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/gcheap.h>

#include "gcheap.h"
#include "kselftest_harness.h"
#include "test_util.h"
#include "hidden_ptr.h"
#include "raw_heap.h"

#define OBJ_WORDS	32	/* 256-byte objects the sleepers hold */

/*
 * Rounds of a test: @n, scaled by GCH_CONC_PERCENT (the interrupt-anywhere
 * run, 13-65 times slower, asks for fewer).
 */
static unsigned int rounds(unsigned int n)
{
	const char *s = getenv("GCH_CONC_PERCENT");
	unsigned long pc = s ? strtoul(s, NULL, 10) : 100;

	n = n * pc / 100;
	return n ? n : 1;
}

/* Fill @o with a pattern of @seed, but for words 0-1 (the call's buffer). */
static void obj_fill(uint64_t *o, uint64_t seed)
{
	unsigned int i;

	for (i = 2; i < OBJ_WORDS; i++)
		o[i] = mix64(seed * OBJ_WORDS + i);
}

static bool obj_intact(const uint64_t *o, uint64_t seed)
{
	unsigned int i;

	for (i = 2; i < OBJ_WORDS; i++)
		if (o[i] != mix64(seed * OBJ_WORDS + i))
			return false;
	return true;
}

/*
 * A system call with its argument @which (0..3) given hidden: unmasked in
 * the argument register inside the asm, so while the thread sleeps only
 * its saved user registers hold the address.  Return: the raw result.
 */
static __attribute__((noinline)) long
sys_hidden(long nr, long a0, long a1, long a2, long a3, unsigned int which)
{
	long m0 = which == 0 ? HIDE_MASK : 0, m1 = which == 1 ? HIDE_MASK : 0;
	long m2 = which == 2 ? HIDE_MASK : 0, m3 = which == 3 ? HIDE_MASK : 0;
	register long r10 asm("r10") = a3;
	long ret;

	asm volatile("xorq %[m0], %%rdi\n\t"
		     "xorq %[m1], %%rsi\n\t"
		     "xorq %[m2], %%rdx\n\t"
		     "xorq %[m3], %%r10\n\t"
		     "syscall\n\t"
		     /* hidden again: what the caller's frame keeps */
		     "xorq %[m0], %%rdi\n\t"
		     "xorq %[m1], %%rsi\n\t"
		     "xorq %[m2], %%rdx\n\t"
		     "xorq %[m3], %%r10"
		     : "=a"(ret), "+D"(a0), "+S"(a1), "+d"(a2), "+r"(r10)
		     : "a"(nr), [m0] "r"(m0), [m1] "r"(m1), [m2] "r"(m2),
		       [m3] "r"(m3)
		     : "rcx", "r11", "memory");
	return ret;
}

enum sleeper_kind { SLEEP_READ, SLEEP_FUTEX, SLEEP_NANOSLEEP, SLEEP_EPOLL,
		    NR_SLEEPERS };

static const char *const sleeper_name[NR_SLEEPERS] = {
	"read", "futex", "clock_nanosleep", "epoll_wait",
};

struct sleeper {
	enum sleeper_kind kind;
	int fd[2];		/* read: the pipe; epoll: epfd, eventfd */
	uintptr_t obj;		/* hidden */
	pid_t tid;
	int ready;
	int returns;		/* times the call returned */
	long ret;
	int intact;
};

static int sigusr_seen;

static void on_sigusr1(int sig)
{
	(void)sig;
	__atomic_add_fetch(&sigusr_seen, 1, __ATOMIC_RELAXED);
}

/* Make the object and sleep in the call on it; the address stays hidden. */
static __attribute__((noinline)) void sleeper_sleep(struct sleeper *s)
{
	struct timespec ts = { .tv_sec = 3600 };
	uint64_t *o = gch_malloc(OBJ_WORDS * sizeof(uint64_t));
	long r = -ENOMEM;

	if (o) {
		obj_fill(o, s->kind + 1);
		s->obj = hide(o);
	}
	o = NULL;
	scrub();
	__atomic_store_n(&s->tid, gettid(), __ATOMIC_RELEASE);
	__atomic_store_n(&s->ready, 1, __ATOMIC_RELEASE);
	if (!s->obj)
		goto out;
	switch (s->kind) {
	case SLEEP_READ:
		/* into word 0 of the object */
		r = sys_hidden(SYS_read, s->fd[0], s->obj, 8, 0, 1);
		break;
	case SLEEP_FUTEX:
		/* word 0 is the futex word, 0 until woken */
		r = sys_hidden(SYS_futex, s->obj, FUTEX_WAIT_PRIVATE, 0, 0, 0);
		break;
	case SLEEP_NANOSLEEP:
		/* an hour, ended by SIGUSR1: the rest lands in the object */
		r = sys_hidden(SYS_nanosleep, (long)&ts, s->obj, 0, 0, 1);
		break;
	case SLEEP_EPOLL:
		r = sys_hidden(SYS_epoll_wait, s->fd[0], s->obj, 1, -1, 1);
		break;
	default:
		break;
	}
out:
	s->ret = r;
	__atomic_add_fetch(&s->returns, 1, __ATOMIC_RELEASE);
}

static void *sleeper_run(void *arg)
{
	struct sleeper *s = arg;

	sleeper_sleep(s);
	if (s->obj)
		s->intact = obj_intact(unhide(s->obj), s->kind + 1);
	return NULL;
}

/* Voluntary context switches of thread @tid, or -1. */
static long vcsw(pid_t tid)
{
	char path[64], line[256];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/status", tid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "voluntary_ctxt_switches: %ld", &v) == 1)
			break;
	fclose(f);
	return v;
}

/* Scheduler state letter of thread @tid ('S' asleep), or 0. */
static char task_state(pid_t tid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

/* Stop times of the collections so far: min, median, max, in us. */
static void stw_report(struct __test_metadata *_metadata, const char *what)
{
	struct gch_collection c[256];
	uint64_t v[256], t;
	int n, i, j;

	n = gch_collections(c, 256);
	if (n <= 0)
		return;
	for (i = 0; i < n; i++) {
		t = c[i].stw_ns;
		for (j = i; j > 0 && v[j - 1] > t; j--)
			v[j] = v[j - 1];
		v[j] = t;
	}
	TH_LOG("%s: %d collections, %u threads, stop min %llu median %llu max %llu us",
	       what, n, c[n - 1].threads, (unsigned long long)v[0] / 1000,
	       (unsigned long long)v[n / 2] / 1000,
	       (unsigned long long)v[n - 1] / 1000);
}

FIXTURE(blocked) {
	int unused;
};

FIXTURE_SETUP(blocked)
{
	ASSERT_EQ(0, unsetenv("GCHEAP_GOGC"));
	ASSERT_LE(-1, gch_set_gc_percent(-1));
}

FIXTURE_TEARDOWN(blocked)
{
}


TEST_F_TIMEOUT(blocked, syscalls_not_interrupted, 300)
{
	struct sigaction sa = { .sa_handler = on_sigusr1 };
	struct sleeper s[NR_SLEEPERS];
	struct epoll_event ev = { .events = EPOLLIN };
	long before[NR_SLEEPERS], after[NR_SLEEPERS];
	pthread_t th[NR_SLEEPERS];
	uint64_t one = 1;
	unsigned int i, k;
	char st;

	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	memset(s, 0, sizeof(s));
	for (k = 0; k < NR_SLEEPERS; k++)
		s[k].kind = k;
	ASSERT_EQ(0, pipe2(s[SLEEP_READ].fd, O_CLOEXEC));
	s[SLEEP_EPOLL].fd[0] = epoll_create1(EPOLL_CLOEXEC);
	s[SLEEP_EPOLL].fd[1] = eventfd(0, EFD_CLOEXEC);
	ASSERT_LE(0, s[SLEEP_EPOLL].fd[0]);
	ASSERT_LE(0, s[SLEEP_EPOLL].fd[1]);
	ASSERT_EQ(0, epoll_ctl(s[SLEEP_EPOLL].fd[0], EPOLL_CTL_ADD,
			       s[SLEEP_EPOLL].fd[1], &ev));
	for (k = 0; k < NR_SLEEPERS; k++) {
		ASSERT_EQ(0, pthread_create(&th[k], NULL, sleeper_run, &s[k]));
		ASSERT_TRUE(wait_for(&s[k].ready, 1, 10000));
	}
	/* asleep, all of them, before the first collection */
	for (k = 0; k < NR_SLEEPERS; k++) {
		for (i = 0; i < 10000; i++) {
			st = task_state(s[k].tid);
			if (st == 'S')
				break;
			usleep(1000);
		}
		ASSERT_EQ('S', st) TH_LOG("%s thread not asleep", sleeper_name[k]);
		ASSERT_NE(0, s[k].obj);
	}
	usleep(100000);
	for (k = 0; k < NR_SLEEPERS; k++)
		before[k] = vcsw(s[k].tid);
	for (i = 0; i < rounds(20); i++) {
		/* sizes around the objects', so a freed one is overwritten */
		ASSERT_EQ(0, churn_sizes(2000, i, 200, 100));
		ASSERT_EQ(0, gch_collect()) TH_LOG("%s", strerror(errno));
	}
	for (k = 0; k < NR_SLEEPERS; k++) {
		after[k] = vcsw(s[k].tid);
		EXPECT_EQ(before[k], after[k])
			TH_LOG("%s thread was woken %ld times by %u collections",
			       sleeper_name[k], after[k] - before[k], i);
		EXPECT_EQ(0, __atomic_load_n(&s[k].returns, __ATOMIC_ACQUIRE))
			TH_LOG("%s returned during the collections",
			       sleeper_name[k]);
		EXPECT_TRUE(is_allocated(s[k].obj))
			TH_LOG("%s: the object only its registers hold was freed",
			       sleeper_name[k]);
	}
	stw_report(_metadata, "4 threads asleep");

	/* wake each the way it waits for */
	ASSERT_EQ(8, write(s[SLEEP_READ].fd[1], "01234567", 8));
	__atomic_store_n((int *)unhide(s[SLEEP_FUTEX].obj), 1, __ATOMIC_RELEASE);
	ASSERT_LE(0, sys_hidden(SYS_futex, s[SLEEP_FUTEX].obj, FUTEX_WAKE_PRIVATE,
				1, 0, 0));
	ASSERT_EQ(0, pthread_kill(th[SLEEP_NANOSLEEP], SIGUSR1));
	ASSERT_EQ(8, write(s[SLEEP_EPOLL].fd[1], &one, 8));
	for (k = 0; k < NR_SLEEPERS; k++)
		ASSERT_EQ(0, pthread_join(th[k], NULL));
	EXPECT_EQ(8, s[SLEEP_READ].ret);
	EXPECT_EQ(0, s[SLEEP_FUTEX].ret);
	EXPECT_EQ(-EINTR, s[SLEEP_NANOSLEEP].ret);	/* our SIGUSR1 */
	EXPECT_EQ(1, __atomic_load_n(&sigusr_seen, __ATOMIC_RELAXED));
	EXPECT_EQ(1, s[SLEEP_EPOLL].ret);
	for (k = 0; k < NR_SLEEPERS; k++) {
		EXPECT_EQ(1, s[k].returns);
		EXPECT_TRUE(s[k].intact)
			TH_LOG("%s: the object only its registers held was freed",
			       sleeper_name[k]);
	}
	close(s[SLEEP_READ].fd[0]);
	close(s[SLEEP_READ].fd[1]);
	close(s[SLEEP_EPOLL].fd[0]);
	close(s[SLEEP_EPOLL].fd[1]);
}

/*
 * A thread woken during a collection: it stamps the time after each
 * read() returns.  A stamp inside a collection's stopped span
 * [start + stw, start + pause) is user code run while the world was
 * stopped.  A child process writes to the pipe at random times, so some
 * wake-ups land inside collections.
 */
#define WOKEN_STAMPS	(1U << 16)

struct woken {
	int fd;
	int ready;
	int stop;
	unsigned int n;
	uint64_t stamp[WOKEN_STAMPS];
};

static void *woken_reader(void *arg)
{
	struct woken *w = arg;
	char buf[64];
	ssize_t r;

	__atomic_store_n(&w->ready, 1, __ATOMIC_RELEASE);
	for (;;) {
		r = read(w->fd, buf, sizeof(buf));
		if (r <= 0)
			break;
		if (w->n < WOKEN_STAMPS)
			w->stamp[w->n++] = now_ns();
	}
	return NULL;
}

/*
 * The spans collection @c held the threads stopped, each shrunk by the
 * clock's resolution @tick at both ends and by the stop itself at the
 * start (a thread may run until it parks): one span, or two for a
 * collection that marked beside the program (its first and final stops;
 * stw_ns is both stops' together, so each is shrunk by all of it).
 * Spans that leave nothing are dropped.  Return: how many, in @lo/@hi.
 */
static int stopped_spans(const struct gch_collection *c, uint64_t tick,
			 uint64_t lo[2], uint64_t hi[2])
{
	uint64_t from[2] = { c->start_ns, c->final_start_ns };
	uint64_t len[2] = { c->pause_ns, 0 };
	int k, n = 0;

	if (c->phases & GCH_PHASES_CONCURRENT) {
		len[0] = c->initial_ns;
		len[1] = c->final_ns;
	}
	for (k = 0; k < 2; k++) {
		if (len[k] <= c->stw_ns + 2 * tick)
			continue;
		lo[n] = from[k] + c->stw_ns + tick;
		hi[n] = from[k] + len[k] - tick;
		n++;
	}
	return n;
}

TEST_F_TIMEOUT(blocked, woken_stays_stopped, 300)
{
	struct gch_collection c[256];
	unsigned int i, bad = 0, inside = 0, spans = 0;
	int fds[2], status, n, j;
	struct timespec res;
	uint64_t tick;
	struct woken *w;
	pthread_t th;
	pid_t pid;

	w = calloc(1, sizeof(*w));
	ASSERT_NE(NULL, w);
	ASSERT_EQ(0, pipe2(fds, O_CLOEXEC));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		unsigned int seed = getpid();

		close(fds[0]);
		/* a byte every 0-2 ms until the pipe closes */
		while (write(fds[1], "x", 1) == 1)
			usleep(rand_r(&seed) % 2000);
		_exit(0);
	}
	close(fds[1]);
	w->fd = fds[0];
	ASSERT_EQ(0, pthread_create(&th, NULL, woken_reader, w));
	ASSERT_TRUE(wait_for(&w->ready, 1, 10000));
	for (i = 0; i < rounds(200); i++) {
		ASSERT_EQ(0, churn(500, i));
		ASSERT_EQ(0, gch_collect()) TH_LOG("%s", strerror(errno));
	}
	kill(pid, SIGKILL);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, pthread_join(th, NULL));	/* read() sees the end */
	close(fds[0]);

	/*
	 * A coarse clock (a kernel whose clocksource is jiffies) stamps a
	 * read just before a collection with the time the collection
	 * started: shrink each span by the clock's resolution at both ends,
	 * and skip the spans that leaves nothing of.
	 */
	ASSERT_EQ(0, clock_getres(CLOCK_MONOTONIC, &res));
	tick = res.tv_sec * NSEC + res.tv_nsec;
	n = gch_collections(c, 256);
	ASSERT_LT(0, n);
	for (j = 0; j < n; j++) {
		uint64_t lo[2], hi[2];
		int k, nspans = stopped_spans(&c[j], tick, lo, hi);

		spans += nspans;
		for (k = 0; k < nspans; k++) {
			for (i = 0; i < w->n; i++) {
				if (w->stamp[i] >= lo[k] && w->stamp[i] < hi[k])
					bad++;
				/* woken in the kernel, or parked, during this one */
				if (i && w->stamp[i - 1] < lo[k] && w->stamp[i] >= hi[k])
					inside++;
			}
		}
	}
	TH_LOG("%d collections (%u spans checked, clock resolution %llu ns), %u reads; %u reads returned across a collection, %u stamped inside one",
	       n, spans, (unsigned long long)tick, w->n, inside, bad);
	EXPECT_EQ(0, bad);
	stw_report(_metadata, "1 thread reading a pipe");
	free(w);
}

/*
 * The stop phase with 1, 4 and 16 other threads, asleep in read() or
 * spinning in user code: a report of stw_ns medians, never a verdict.
 */
struct spinner {
	int fd;
	int *stop;
	int started;
};

static void *spinner_run(void *arg)
{
	struct spinner *sp = arg;
	char c;

	__atomic_store_n(&sp->started, 1, __ATOMIC_RELEASE);
	if (sp->fd >= 0) {
		(void)!read(sp->fd, &c, 1);
		return NULL;
	}
	while (!__atomic_load_n(sp->stop, __ATOMIC_RELAXED))
		;
	return NULL;
}

static uint64_t stop_median(unsigned int nthreads, bool asleep)
{
	struct gch_collection c;
	struct spinner sp[16];
	pthread_t th[16];
	uint64_t v[15], t;
	int fds[2], stop = 0;
	unsigned int i, j;

	if (pipe2(fds, O_CLOEXEC))
		return 0;
	for (i = 0; i < nthreads; i++) {
		sp[i].fd = asleep ? fds[0] : -1;
		sp[i].stop = &stop;
		sp[i].started = 0;
		pthread_create(&th[i], NULL, spinner_run, &sp[i]);
		wait_for(&sp[i].started, 1, 10000);
	}
	usleep(50000);
	for (i = 0; i < 15; i++) {
		if (gch_collect() || gch_last_collection(&c))
			c.stw_ns = 0;
		t = c.stw_ns;
		for (j = i; j > 0 && v[j - 1] > t; j--)
			v[j] = v[j - 1];
		v[j] = t;
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	close(fds[1]);
	for (i = 0; i < nthreads; i++)
		pthread_join(th[i], NULL);
	close(fds[0]);
	return v[7];
}

TEST_F_TIMEOUT(blocked, stop_times, 300)
{
	static const unsigned int n[] = { 1, 4, 16 };
	unsigned int i;

	for (i = 0; i < 3; i++)
		TH_LOG("stop with %2u threads: asleep in read() %6llu us, running user code %6llu us (medians of 15)",
		       n[i], (unsigned long long)stop_median(n[i], true) / 1000,
		       (unsigned long long)stop_median(n[i], false) / 1000);
}

/* --- heaps side by side ----------------------------------------------------- */

/* 48-byte objects (size class 3): next, seed, four words of pattern */
#define RAW_SC		GCH_SPANCLASS(3, 0)
#define RAW_CHAINS	64
#define RAW_CHAIN_LEN	32

/* A chain of RAW_CHAIN_LEN objects for @seed; 0 or -1. */
static int raw_chain(int fd, uint64_t seed, uint64_t *head)
{
	__u64 objs[RAW_CHAIN_LEN];
	uint64_t *o;
	unsigned int i, j;
	__u32 n;

	if (raw_refill_buf(fd, RAW_SC, objs, RAW_CHAIN_LEN, &n) ||
	    n != RAW_CHAIN_LEN)
		return -1;
	for (i = 0; i < RAW_CHAIN_LEN; i++) {
		o = (uint64_t *)(uintptr_t)objs[i];
		o[0] = i + 1 < RAW_CHAIN_LEN ? objs[i + 1] : 0;
		o[1] = seed;
		for (j = 2; j < 6; j++)
			o[j] = mix64(seed * 8 + i * 64 + j);
	}
	*head = objs[0];
	return 0;
}

static int raw_chain_check(uint64_t head, uint64_t seed)
{
	unsigned int i = 0, j;
	uint64_t *o;

	for (; head; head = o[0], i++) {
		o = (uint64_t *)(uintptr_t)head;
		if (o[1] != seed)
			return -1;
		for (j = 2; j < 6; j++)
			if (o[j] != mix64(seed * 8 + i * 64 + j))
				return -1;
	}
	return i == RAW_CHAIN_LEN ? 0 : -1;
}

struct side {
	struct raw_heap h;
	uint64_t heads[RAW_CHAINS];	/* registered as a root range */
	uint64_t seeds[RAW_CHAINS];
	struct side *other;
	unsigned int rounds;
	unsigned int failed, corrupt;
	int err;
	uint64_t t0[256], t1[256];
	int *go;
};

/*
 * GCH_IOC_COLLECT on @fd with the pointer in *@slot moved to r9 (unused
 * by ioctl) and *@slot cleared: while the call runs, only the thread's
 * saved user registers hold it.  The move, the clearing and the restore
 * are in the asm, so the pointer is in a plain register or in *@slot at
 * every instruction: a collection of the other heap that stops this
 * thread anywhere in user code finds it.  (An earlier version kept it
 * hidden, XOR-ed, around the asm: a stop in that window lost the chain,
 * about one run in twenty.)
 */
static __attribute__((noinline)) long
collect_holding(int fd, struct gch_collect *c, uint64_t *slot)
{
	register long r9 asm("r9");
	long ret;

	asm volatile("movq (%[slot]), %%r9\n\t"
		     "movq $0, (%[slot])\n\t"
		     "syscall\n\t"
		     "movq %%r9, (%[slot])"
		     : "=a"(ret), "=&r"(r9)
		     : "a"(SYS_ioctl), "D"((long)fd), "S"((long)GCH_IOC_COLLECT),
		       "d"(c), [slot] "r"(slot)
		     : "rcx", "r11", "memory");
	return ret;
}

static void *side_run(void *arg)
{
	struct side *s = arg;
	struct gch_collect c = { .hdr.size = sizeof(c) };
	uint64_t garbage;
	unsigned int i, k;
	long r;

	while (!__atomic_load_n(s->go, __ATOMIC_ACQUIRE))
		;
	for (i = 0; i < s->rounds; i++) {
		/*
		 * Replace an eighth of the chains, make as much garbage; not
		 * chain 0, which the other thread holds now and then.
		 */
		for (k = i % 8 ?: 8; k < RAW_CHAINS; k += 8) {
			s->seeds[k] = mix64(s->seeds[k] + i);
			if (raw_chain(s->h.fd, s->seeds[k], &s->heads[k]) ||
			    raw_chain(s->h.fd, ~s->seeds[k], &garbage))
				s->err = errno;
		}
		/*
		 * While this thread collects its heap, chain 0 of the other
		 * heap is held in its r9 only: a collection of the other heap
		 * meanwhile must take this thread's registers as they are
		 * (it is in the kernel, collecting: it runs no user code).
		 */
		r = collect_holding(s->h.fd, &c, &s->other->heads[0]);
		if (r) {
			s->failed++;
			s->err = -r;
		}
		if (i < 256) {
			s->t0[i] = c.info.start_ns;
			s->t1[i] = c.info.start_ns + c.info.pause_ns;
		}
		for (k = 1; k < RAW_CHAINS; k++)
			if (raw_chain_check(s->heads[k], s->seeds[k]))
				s->corrupt++;
		if (raw_chain_check(s->other->heads[0], s->other->seeds[0]))
			s->corrupt++;
	}
	return NULL;
}

static int side_open(struct side *s, unsigned int seed)
{
	struct gch_roots r = {
		.hdr.size = sizeof(r),
		.op = GCH_ROOTS_ADD,
		.tag = 1,
		.addr = (uintptr_t)s->heads,
		.len = sizeof(s->heads),
	};
	unsigned int k;

	if (raw_heap_open(&s->h, 64UL << 20, 0) || ioctl(s->h.fd, GCH_IOC_ROOTS, &r))
		return -1;
	for (k = 0; k < RAW_CHAINS; k++) {
		s->seeds[k] = mix64(seed * RAW_CHAINS + k);
		if (raw_chain(s->h.fd, s->seeds[k], &s->heads[k]))
			return -1;
	}
	return 0;
}

/* Tests that fork before they use the library's heap, if they use it. */
FIXTURE(side) {
	int unused;
};

FIXTURE_SETUP(side)
{
	ASSERT_EQ(0, unsetenv("GCHEAP_GOGC"));
}

FIXTURE_TEARDOWN(side)
{
}

TEST_F_TIMEOUT(side, two_heaps, 600)
{
	struct side *s = calloc(2, sizeof(*s));
	unsigned int i, j, n = rounds(150), overlap = 0;
	pthread_t th[2];
	int go = 0, k;

	ASSERT_NE(NULL, s);
	for (k = 0; k < 2; k++) {
		ASSERT_EQ(0, side_open(&s[k], k + 1)) TH_LOG("%s", strerror(errno));
		s[k].rounds = n;
		s[k].go = &go;
		s[k].other = &s[1 - k];
	}
	for (k = 0; k < 2; k++)
		ASSERT_EQ(0, pthread_create(&th[k], NULL, side_run, &s[k]));
	__atomic_store_n(&go, 1, __ATOMIC_RELEASE);
	for (k = 0; k < 2; k++)
		ASSERT_EQ(0, pthread_join(th[k], NULL));
	n = n < 256 ? n : 256;
	for (i = 0; i < n; i++)
		for (j = 0; j < n; j++)
			if (s[0].t0[i] < s[1].t1[j] && s[1].t0[j] < s[0].t1[i])
				overlap++;
	TH_LOG("%u + %u collections, %u pairs of pauses overlapped", n, n,
	       overlap);
	for (k = 0; k < 2; k++) {
		EXPECT_EQ(0, s[k].failed)
			TH_LOG("heap %d: %u collections failed, last %s", k,
			       s[k].failed, strerror(s[k].err));
		EXPECT_EQ(0, s[k].corrupt);
		EXPECT_EQ(0, s[k].err) TH_LOG("%s", strerror(s[k].err));
		raw_heap_close(&s[k].h);
	}
	free(s);
}

/* One of the eight processes: the library's heap, lists that must stay. */
#define PROC_LISTS	32
#define PROC_LEN	64

struct pnode {
	struct pnode *next;
	uint64_t v[5];
};

static struct pnode *volatile proc_lists[PROC_LISTS];
static uint64_t proc_seeds[PROC_LISTS];

static struct pnode *plist(uint64_t seed)
{
	struct pnode *head = NULL, *n;
	unsigned int i, j;

	for (i = 0; i < PROC_LEN; i++) {
		n = gch_malloc(sizeof(*n));
		if (!n)
			return NULL;
		n->next = head;
		for (j = 0; j < 5; j++)
			n->v[j] = mix64(seed + i * 8 + j);
		head = n;
	}
	return head;
}

static int plist_check(const struct pnode *n, uint64_t seed)
{
	unsigned int i = PROC_LEN, j;

	for (; n; n = n->next) {
		if (!i--)
			return -1;
		for (j = 0; j < 5; j++)
			if (n->v[j] != mix64(seed + i * 8 + j))
				return -1;
	}
	return i ? -1 : 0;
}

static int proc_run(unsigned int id, unsigned int rounds)
{
	unsigned int i, k, bad = 0;

	for (k = 0; k < PROC_LISTS; k++) {
		proc_seeds[k] = mix64(id * 1000 + k);
		proc_lists[k] = plist(proc_seeds[k]);
	}
	for (i = 0; i < rounds; i++) {
		for (k = i % 4; k < PROC_LISTS; k += 4) {
			proc_seeds[k] = mix64(proc_seeds[k] + i);
			proc_lists[k] = plist(proc_seeds[k]);
		}
		if (churn(1000, id * 7919 + i) || gch_collect()) {
			fprintf(stderr, "# process %u: round %u: %s\n", id, i,
				strerror(errno));
			return 1;
		}
		for (k = 0; k < PROC_LISTS; k++)
			if (plist_check(proc_lists[k], proc_seeds[k]))
				bad++;
	}
	if (bad)
		fprintf(stderr, "# process %u: %u lists corrupt\n", id, bad);
	return bad ? 2 : 0;
}

TEST_F_TIMEOUT(side, eight_processes, 600)
{
	pid_t pid[8];
	int status, k, failed = 0;

	for (k = 0; k < 8; k++) {
		pid[k] = fork();
		ASSERT_LE(0, pid[k]);
		if (pid[k] == 0)
			_exit(proc_run(k, rounds(40)));
	}
	for (k = 0; k < 8; k++) {
		ASSERT_EQ(pid[k], waitpid(pid[k], &status, 0));
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			failed++;
	}
	EXPECT_EQ(0, failed);
}

TEST_HARNESS_MAIN
