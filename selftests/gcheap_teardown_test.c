// SPDX-License-Identifier: GPL-2.0
/*
 * Teardown races: a heap's process, threads, mappings and file going away
 * while a collection runs, each race repeated many times.
 *
 *   exit_during_collect      a thread calls _exit() while another collects
 *   sigkill_during_collect   SIGKILL to the collecting thread, to a mutator
 *                            or to the process, at a random point of a
 *                            collection
 *   thread_churn             threads created and exiting while the world
 *                            is being stopped, in a process that survives
 *   munmap_during_collect    the arena or the control area unmapped by
 *                            another thread during collections
 *   close_during_ioctl       the fd (and a dup of it) closed while other
 *                            threads are in ioctls on them
 *   execve_during_collect    execve() by a thread or the main thread while
 *                            another collects: the new image starts
 *                            without the heap
 *   sigstop_during_collect   SIGSTOP at a random point of a collection,
 *                            then SIGCONT (collections go on, lists
 *                            intact) or SIGKILL
 *   fork_during_collect      fork() while another thread collects: the
 *                            child gets EPERM, the parent is untouched
 *   last_reference           a thread asleep or stopped by a tracer holds
 *                            the last reference to a closed heap (its
 *                            queued park): the module stays pinned, and
 *                            the heap goes at SIGSTOP, SIGKILL or detach
 *   heaps_gone               at the end, no heap is left (module refcnt 0)
 *
 * During each race a helper process holding a heap of its own tries to
 * unload the module (delete_module(O_NONBLOCK)) in a loop: every attempt
 * must fail with EWOULDBLOCK or EBUSY, and nothing may oops.
 *
 * Oracles: processes that survive keep their rooted objects intact
 * (checksums in every object); every ioctl returns 0 or a documented
 * errno; victims exit with the expected status or signal; every wait is
 * bounded, so a hang is a failure, not a stuck test.  The kernel side
 * (KASAN, lockdep, kmemleak, hung tasks) is checked by the VM runner on
 * the console.
 *
 * Each race runs until RACE_MAX iterations or GCHEAP_TEARDOWN_SECONDS
 * (default 20) have passed, and past that until RACE_MIN are done (for
 * four times as long at most), and prints how many it did; fewer than
 * RACE_MIN is a failure (the race was not exercised).  Delays are random
 * within the length of a collection measured in the same process, so the
 * kill, exit, unmap or close lands in every phase: stop, mark, sweep.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/gcheap.h>

#include "gcheap.h"
#include "kselftest_harness.h"
#include "test_util.h"
#include "raw_heap.h"

#define MSEC		1000000ULL
#define RACE_MAX	400
#define RACE_MIN	5
/* longest a victim may take before it counts as hung */
#define VICTIM_TIMEOUT_MS	60000
#define REFCNT_PATH	"/sys/module/gcheap/refcnt"

/*
 * A TAP diagnostic line, flushed at once: the harness ends each test's
 * process with _exit(), which would drop a buffered stdout (a pipe).
 */
#define diag(...)						\
	do {							\
		ksft_print_msg(__VA_ARGS__);			\
		fflush(stdout);					\
	} while (0)

static uint64_t race_budget_ns(void)
{
	const char *s = getenv("GCHEAP_TEARDOWN_SECONDS");
	unsigned long v = s ? strtoul(s, NULL, 10) : 0;

	return (v ? v : 20) * 1000000000ULL;
}

/*
 * Go on with a race?  Until RACE_MAX iterations or the budget is spent;
 * past the budget until RACE_MIN are done, for four budgets more, so a
 * slow machine (the debug kernel) exercises the race rather than fail.
 */
static bool race_more(unsigned int i, uint64_t end)
{
	uint64_t now = now_ns();

	if (i >= RACE_MAX)
		return false;
	return now < end || (i < RACE_MIN && now < end + 4 * race_budget_ns());
}

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = { ns / 1000000000ULL, ns % 1000000000ULL };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* What a victim process reports to the test, in shared memory. */
struct shared {
	atomic_int collecting;		/* a collection is in progress */
	atomic_int ready;		/* the victim is set up */
	atomic_ullong ncollect;		/* collections done */
	atomic_ullong coll_ns;		/* the last one's length */
	atomic_int tid_collector;
	atomic_int tid_mutator;
	atomic_int bad;			/* something failed: see why */
	char why[256];
};

static struct shared *shared_new(void)
{
	struct shared *sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return sh == MAP_FAILED ? NULL : sh;
}

static void shared_reset(struct shared *sh)
{
	memset(sh, 0, sizeof(*sh));
}

static void report(struct shared *sh, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void report(struct shared *sh, const char *fmt, ...)
{
	va_list ap;
	int expected = 0;

	if (!atomic_compare_exchange_strong(&sh->bad, &expected, 1))
		return;
	va_start(ap, fmt);
	vsnprintf(sh->why, sizeof(sh->why), fmt, ap);
	va_end(ap);
}

/* A collection's length as last measured, at least 100 us. */
static uint64_t random_delay(struct shared *sh, unsigned int *seed)
{
	uint64_t d = atomic_load(&sh->coll_ns);

	if (d < 100000)
		d = 100000;
	return (uint64_t)rand_r(seed) * d / RAND_MAX;
}

/* Wait for @pid, at most @ms; kill it if it takes longer.  -1: hung. */
static int wait_child(pid_t pid, unsigned int ms, int *status)
{
	uint64_t end = now_ns() + ms * MSEC;
	pid_t r;

	for (;;) {
		r = waitpid(pid, status, WNOHANG);
		if (r == pid)
			return 0;
		if (r < 0 && errno != EINTR)
			return -1;
		if (now_ns() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, status, 0);
			return -1;
		}
		sleep_ns(MSEC);
	}
}

/* Wait until *@flag is non-zero, at most @ms.  false: timed out. */
static bool wait_flag(atomic_int *flag, unsigned int ms)
{
	uint64_t end = now_ns() + ms * MSEC;

	while (!atomic_load(flag)) {
		if (now_ns() > end)
			return false;
		sleep_ns(20000);
	}
	return true;
}

/* --- checksummed lists in the gcheap (libgcheap) -------------------------- */

struct node {
	struct node *next;
	uint64_t seq;
	uint64_t sum;
	uint64_t pay[5];
};

static struct node *list_build(unsigned int n, uint64_t seed)
{
	struct node *head = NULL, *p;
	unsigned int i, j;

	for (i = 0; i < n; i++) {
		p = gch_malloc(sizeof(*p));
		if (!p)
			return NULL;
		p->seq = n - 1 - i;
		p->sum = mix(seed ^ p->seq);
		for (j = 0; j < 5; j++)
			p->pay[j] = mix(p->sum + j);
		p->next = head;
		head = p;
	}
	return head;
}

/* 0, or -1 with a reason: a node's content is not what was written. */
static int list_check(const struct node *p, unsigned int n, uint64_t seed,
		      char *why, size_t len)
{
	unsigned int i, j;

	for (i = 0; i < n; i++, p = p->next) {
		if (!p) {
			snprintf(why, len, "list ends at node %u of %u", i, n);
			return -1;
		}
		if (p->seq != i || p->sum != mix(seed ^ i)) {
			snprintf(why, len, "node %u (%p): seq %lu sum %#lx", i,
				 (void *)p, (unsigned long)p->seq,
				 (unsigned long)p->sum);
			return -1;
		}
		for (j = 0; j < 5; j++)
			if (p->pay[j] != mix(p->sum + j)) {
				snprintf(why, len, "node %u (%p): payload %u",
					 i, (void *)p, j);
				return -1;
			}
	}
	return 0;
}

/* --- the unload loop ------------------------------------------------------- */

struct rmmod_loop {
	pid_t pid;
	int stop;	/* write end: closing it stops the loop */
	int result;	/* read end: "attempts failures" */
};

static int delete_module(const char *name, int flags)
{
	return syscall(__NR_delete_module, name, flags);
}

/*
 * A process that holds a heap (so the module is in use whatever the race
 * does) and tries to unload the module until told to stop.  Exit status
 * 0: every attempt failed as it must; 1: an attempt succeeded; 2: an
 * unexpected errno; 3: setup failed.
 */
static void rmmod_loop_child(int stop, int result)
{
	unsigned long attempts = 0, wrong = 0, unloaded = 0;
	char buf[64];
	int fd, n, e = 0;

	fd = open(GCH_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		_exit(3);
	fcntl(stop, F_SETFL, O_NONBLOCK);
	for (;;) {
		n = read(stop, buf, 1);
		if (n == 0 || (n < 0 && errno != EAGAIN))
			break;
		attempts++;
		if (delete_module("gcheap", O_NONBLOCK) == 0) {
			unloaded++;
			break;
		}
		if (errno != EWOULDBLOCK && errno != EBUSY) {
			wrong++;
			e = errno;
		}
		sleep_ns(2 * MSEC);
	}
	n = snprintf(buf, sizeof(buf), "%lu %lu %lu %d\n", attempts, wrong,
		     unloaded, e);
	if (write(result, buf, n) != n)
		_exit(3);
	close(fd);
	_exit(unloaded ? 1 : wrong ? 2 : 0);
}

static int rmmod_loop_start(struct rmmod_loop *rl)
{
	int s[2], r[2];

	if (pipe(s) || pipe(r))
		return -1;
	rl->pid = fork();
	if (rl->pid < 0)
		return -1;
	if (!rl->pid) {
		close(s[1]);
		close(r[0]);
		rmmod_loop_child(s[0], r[1]);
	}
	close(s[0]);
	close(r[1]);
	rl->stop = s[1];
	rl->result = r[0];
	return 0;
}

/* 0 if every unload attempt was refused; else -1 and why. */
static int rmmod_loop_stop(struct rmmod_loop *rl, unsigned long *attempts,
			   char *why, size_t len)
{
	unsigned long wrong = 0, unloaded = 0;
	char buf[64] = "";
	int status, e = 0;

	close(rl->stop);
	if (wait_child(rl->pid, 30000, &status)) {
		snprintf(why, len, "the unload loop hung");
		return -1;
	}
	if (read(rl->result, buf, sizeof(buf) - 1) <= 0 ||
	    sscanf(buf, "%lu %lu %lu %d", attempts, &wrong, &unloaded, &e) != 4) {
		snprintf(why, len, "unload loop: no result (status %#x)", status);
		return -1;
	}
	close(rl->result);
	if (unloaded) {
		snprintf(why, len, "delete_module(gcheap) succeeded while a heap was open");
		return -1;
	}
	if (wrong) {
		snprintf(why, len, "delete_module: %lu attempts failed with %s, not EWOULDBLOCK/EBUSY",
			 wrong, strerror(e));
		return -1;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		snprintf(why, len, "unload loop: status %#x", status);
		return -1;
	}
	return 0;
}

/* --- a raw heap (ioctls, no library) ----------------------------------------- */

#define RAW_ARENA	(32UL << 20)

static int raw_open(struct raw_heap *h)
{
	return raw_heap_open(h, RAW_ARENA, 2);
}

/* @n objects of span class @sc into @out; the count, or -1 with errno. */
static int raw_alloc(int fd, unsigned int sc, uint64_t *out, unsigned int n)
{
	__u32 count;

	if (raw_refill_buf(fd, sc, (__u64 *)out, n, &count))
		return -1;
	return count;
}

static int raw_collect(int fd)
{
	struct gch_collect c = { .hdr.size = sizeof(c) };

	return ioctl(fd, GCH_IOC_COLLECT, &c);
}

static int raw_roots_add(int fd, void *p, size_t len)
{
	struct gch_roots r = {
		.hdr.size = sizeof(r),
		.op = GCH_ROOTS_ADD,
		.tag = 7,
		.addr = (uintptr_t)p,
		.len = len,
	};

	return ioctl(fd, GCH_IOC_ROOTS, &r);
}

/* Errors a collection may give besides 0 (uapi: GCH_IOC_COLLECT). */
static bool collect_errno_ok(int e)
{
	return e == EINTR || e == EAGAIN || e == ETIMEDOUT;
}

/* raw objects: 64 bytes (span class 2*3 is at least that), checksummed */
#define RAW_SC		GCH_SPANCLASS(3, 0)
#define RAW_OBJS	2048

static void raw_fill(uint64_t *objs, unsigned int n, uint64_t seed)
{
	unsigned int i, j;

	for (i = 0; i < n; i++) {
		uint64_t *o = (uint64_t *)(uintptr_t)objs[i];

		for (j = 0; j < 4; j++)
			o[j] = mix(seed ^ (i * 4 + j));
	}
}

static int raw_verify(const uint64_t *objs, unsigned int n, uint64_t seed)
{
	unsigned int i, j;

	for (i = 0; i < n; i++) {
		const uint64_t *o = (const uint64_t *)(uintptr_t)objs[i];

		for (j = 0; j < 4; j++)
			if (o[j] != mix(seed ^ (i * 4 + j)))
				return i;
	}
	return -1;
}

/* --- victims: a process that collects while it is torn down ------------------ */

#define VICTIM_MUTATORS	3
#define VICTIM_LIST	400

static struct node *volatile victim_roots[VICTIM_MUTATORS];
static struct shared *victim_sh;

static void *victim_mutator(void *arg)
{
	unsigned int k = (uintptr_t)arg, round = 0;
	char why[128];

	if (k == 0)
		atomic_store(&victim_sh->tid_mutator, gettid());
	for (;; round++) {
		uint64_t seed = mix(k * 1000003ULL + round);
		struct node *l = list_build(VICTIM_LIST, seed);

		if (!l) {
			report(victim_sh, "mutator %u: gch_malloc: %s", k,
			       strerror(errno));
			return NULL;
		}
		/* garbage between the two, so freed memory gets reused */
		if (!list_build(VICTIM_LIST / 2, 0))
			continue;
		if (list_check(l, VICTIM_LIST, seed, why, sizeof(why))) {
			report(victim_sh, "mutator %u: corruption: %s", k, why);
			return NULL;
		}
		victim_roots[k] = l;
	}
	return NULL;
}

static void *victim_collector(void *arg)
{
	(void)arg;
	atomic_store(&victim_sh->tid_collector, gettid());
	for (;;) {
		uint64_t t0 = now_ns();
		int r;

		atomic_store(&victim_sh->collecting, 1);
		r = gch_collect();
		atomic_store(&victim_sh->collecting, 0);
		if (r && !collect_errno_ok(errno)) {
			report(victim_sh, "gch_collect: %s", strerror(errno));
			return NULL;
		}
		atomic_store(&victim_sh->coll_ns, now_ns() - t0);
		atomic_fetch_add(&victim_sh->ncollect, 1);
	}
	return NULL;
}

/* Wait for a collection to start, then exit at a random point of it. */
static void exit_mid_collection(struct shared *sh, unsigned int seed)
{
	while (!atomic_load(&sh->collecting) && !atomic_load(&sh->bad))
		sched_yield();
	sleep_ns(random_delay(sh, &seed));
	syscall(SYS_exit_group, 42);
}

static void *victim_exiter(void *arg)
{
	exit_mid_collection(victim_sh, (uintptr_t)arg);
	return NULL;
}

/*
 * The image a victim execs into (execve_during_collect): exit 43 when no
 * descriptor of the device came through the exec (the library opens it
 * O_CLOEXEC, and opens nothing before its first use), 44 when one did.
 */
#define EXECED_ENV	"GCHEAP_TEARDOWN_EXECED"

__attribute__((constructor)) static void execed_victim(void)
{
	char link[64];
	struct dirent *e;
	DIR *d;

	if (!getenv(EXECED_ENV))
		return;
	d = opendir("/proc/self/fd");
	if (!d)
		_exit(45);
	while ((e = readdir(d))) {
		ssize_t n;

		n = readlinkat(dirfd(d), e->d_name, link, sizeof(link) - 1);
		if (n > 0) {
			link[n] = '\0';
			if (!strcmp(link, GCH_DEVICE_PATH))
				_exit(44);
		}
	}
	_exit(43);
}

/* Wait for a collection to start, then execve() at a random point of it. */
static void exec_mid_collection(struct shared *sh, unsigned int seed)
{
	char *argv[] = { "gcheap_teardown_test", NULL };

	while (!atomic_load(&sh->collecting) && !atomic_load(&sh->bad))
		sched_yield();
	sleep_ns(random_delay(sh, &seed));
	/* the environment has EXECED_ENV (victim_run()) */
	execv("/proc/self/exe", argv);
	report(sh, "execve: %s", strerror(errno));
	_exit(3);
}

static void *victim_execer(void *arg)
{
	exec_mid_collection(victim_sh, (uintptr_t)arg);
	return NULL;
}

enum victim_end {
	VICTIM_EXIT_THREAD,	/* a mutator-side thread calls _exit() */
	VICTIM_EXIT_MAIN,	/* the main thread calls exit_group */
	VICTIM_KILLED,		/* the test kills it */
	VICTIM_EXEC_THREAD,	/* a thread calls execve() */
	VICTIM_EXEC_MAIN,	/* the main thread calls execve() */
};

/* A victim process: mutators, a collector, and maybe an exiting thread. */
static void victim_run(struct shared *sh, enum victim_end how,
		       unsigned int seed)
{
	pthread_t t;
	unsigned int k;

	victim_sh = sh;
	/* before any thread: setenv() is not thread-safe */
	if ((how == VICTIM_EXEC_THREAD || how == VICTIM_EXEC_MAIN) &&
	    setenv(EXECED_ENV, "1", 1))
		_exit(3);
	for (k = 0; k < VICTIM_MUTATORS; k++)
		if (pthread_create(&t, NULL, victim_mutator,
				   (void *)(uintptr_t)k))
			_exit(3);
	if (pthread_create(&t, NULL, victim_collector, NULL))
		_exit(3);
	/* the first collection measures how long one takes */
	while ((atomic_load(&sh->ncollect) < 1 ||
		!atomic_load(&sh->tid_mutator)) && !atomic_load(&sh->bad))
		sleep_ns(MSEC);
	atomic_store(&sh->ready, 1);
	if (how == VICTIM_KILLED) {
		for (;;)
			pause();
	}
	if (how == VICTIM_EXIT_MAIN)
		exit_mid_collection(sh, seed);
	if (how == VICTIM_EXEC_MAIN)
		exec_mid_collection(sh, seed);
	/* from another thread than main, made before the collection */
	if (pthread_create(&t, NULL, how == VICTIM_EXEC_THREAD ? victim_execer :
			   victim_exiter, (void *)(uintptr_t)seed))
		_exit(3);
	for (;;)
		pause();
}

/* Fixture: kills a victim left behind by a failed assertion. */
FIXTURE(race) {
	pid_t child;
	struct shared *sh;
	struct rmmod_loop rl;
};

FIXTURE_SETUP(race)
{
	ASSERT_EQ(0, unsetenv("GCHEAP_GOGC"));
	ASSERT_EQ(0, unsetenv("GCHEAP_MAX_HEAP"));
	self->child = 0;
	self->sh = shared_new();
	ASSERT_NE(NULL, self->sh);
	ASSERT_EQ(0, rmmod_loop_start(&self->rl)) TH_LOG("%s", strerror(errno));
}

FIXTURE_TEARDOWN(race)
{
	if (self->child > 0) {
		kill(self->child, SIGKILL);
		waitpid(self->child, NULL, 0);
	}
	if (self->rl.pid > 0) {
		close(self->rl.stop);
		waitpid(self->rl.pid, NULL, 0);
	}
}

/*
 * The steps every race iteration shares.  race_fork(): a fresh victim for
 * iteration @i, ending as @how (the child never returns).
 */
static void race_fork(struct __test_metadata *_metadata,
		      FIXTURE_DATA(race) *self, enum victim_end how,
		      unsigned int i)
{
	shared_reset(self->sh);
	self->child = fork();
	ASSERT_LE(0, self->child);
	if (!self->child)
		victim_run(self->sh, how, i);
}

/* Wait until the victim collects, then a random delay into a collection. */
static void race_into_collection(struct __test_metadata *_metadata,
				 FIXTURE_DATA(race) *self, unsigned int i,
				 unsigned int *seed)
{
	ASSERT_TRUE(wait_flag(&self->sh->ready, VICTIM_TIMEOUT_MS))
		TH_LOG("iteration %u: the victim did not collect: %s", i,
		       self->sh->why);
	ASSERT_TRUE(wait_flag(&self->sh->collecting, VICTIM_TIMEOUT_MS));
	sleep_ns(random_delay(self->sh, seed));
}

/*
 * Reap the victim of iteration @i (@what: what happened to it, for the
 * message), which reported nothing bad; its wait status.
 */
static int race_reap(struct __test_metadata *_metadata,
		     FIXTURE_DATA(race) *self, unsigned int i,
		     const char *what)
{
	int status = 0;

	ASSERT_EQ(0, wait_child(self->child, VICTIM_TIMEOUT_MS, &status))
		TH_LOG("iteration %u: the victim hung (%s; collections %llu)",
		       i, what, atomic_load(&self->sh->ncollect));
	self->child = 0;
	ASSERT_EQ(0, self->sh->bad)
		TH_LOG("iteration %u (%s): %s", i, what, self->sh->why);
	return status;
}

/* Stop the unload loop and check it; prints the attempts. */
#define RMMOD_LOOP_CHECK()						\
	do {								\
		unsigned long _att = 0;					\
		char _why[160];						\
		int _r = rmmod_loop_stop(&self->rl, &_att, _why,	\
					 sizeof(_why));			\
		self->rl.pid = 0;					\
		ASSERT_EQ(0, _r) TH_LOG("%s", _why);			\
		diag("%s: %lu unload attempts refused\n",	\
			       __func__, _att);				\
	} while (0)

/* Exit while a collection runs: by a thread, then by the main thread. */
TEST_F_TIMEOUT(race, exit_during_collect, 300)
{
	uint64_t end = now_ns() + race_budget_ns();
	unsigned int i, collections = 0;
	int status;

	for (i = 0; race_more(i, end); i++) {
		enum victim_end how = i % 2 ? VICTIM_EXIT_MAIN : VICTIM_EXIT_THREAD;

		race_fork(_metadata, self, how, i);
		status = race_reap(_metadata, self, i, "exit");
		ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 42)
			TH_LOG("iteration %u: status %#x, not exit 42", i, status);
		collections += atomic_load(&self->sh->ncollect);
	}
	diag("exit_during_collect: %u exits during a collection (%u collections)\n",
		       i, collections);
	EXPECT_LE(RACE_MIN, i);
	RMMOD_LOOP_CHECK();
}

/* SIGKILL at a random point of a collection, to one of three targets. */
TEST_F_TIMEOUT(race, sigkill_during_collect, 300)
{
	static const char *const target[] = { "collector", "mutator", "process" };
	uint64_t end = now_ns() + race_budget_ns();
	unsigned int i, seed = 1, collections = 0;
	int status, tid;

	for (i = 0; race_more(i, end); i++) {
		race_fork(_metadata, self, VICTIM_KILLED, i);
		race_into_collection(_metadata, self, i, &seed);
		if (i % 3 == 2) {
			ASSERT_EQ(0, kill(self->child, SIGKILL));
		} else {
			tid = i % 3 ? atomic_load(&self->sh->tid_mutator) :
				      atomic_load(&self->sh->tid_collector);
			ASSERT_EQ(0, syscall(SYS_tgkill, self->child, tid, SIGKILL))
				TH_LOG("tgkill %s: %s", target[i % 3], strerror(errno));
		}
		status = race_reap(_metadata, self, i, target[i % 3]);
		ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
			TH_LOG("iteration %u: status %#x", i, status);
		collections += atomic_load(&self->sh->ncollect);
	}
	diag("sigkill_during_collect: %u kills during a collection (%u collections)\n",
		       i, collections);
	EXPECT_LE(RACE_MIN, i);
	RMMOD_LOOP_CHECK();
}

/* --- execve() and SIGSTOP during a collection ---------------------------- */

/*
 * execve() while a collection runs, by a thread (which kills the
 * collector and the mutators, parked or not, on its way) and by the main
 * thread; the new image must not inherit the heap, and must start.
 */
TEST_F_TIMEOUT(race, execve_during_collect, 300)
{
	uint64_t end = now_ns() + race_budget_ns();
	unsigned int i, collections = 0;
	int status;

	for (i = 0; race_more(i, end); i++) {
		race_fork(_metadata, self,
			  i % 2 ? VICTIM_EXEC_MAIN : VICTIM_EXEC_THREAD, i);
		status = race_reap(_metadata, self, i, "execve");
		ASSERT_FALSE(WIFEXITED(status) && WEXITSTATUS(status) == 44)
			TH_LOG("iteration %u: the heap's descriptor survived execve()", i);
		ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 43)
			TH_LOG("iteration %u: status %#x, not exit 43 from the new image",
			       i, status);
		collections += atomic_load(&self->sh->ncollect);
	}
	diag("execve_during_collect: %u execs during a collection (%u collections)\n",
	     i, collections);
	EXPECT_LE(RACE_MIN, i);
	RMMOD_LOOP_CHECK();
}

/*
 * SIGSTOP at a random point of a collection: the collection gives way (the
 * collector's wait is interruptible) and the process stops.  Then either
 * SIGCONT, after which it must collect twice more with every list intact,
 * or SIGKILL while stopped.
 */
TEST_F_TIMEOUT(race, sigstop_during_collect, 300)
{
	uint64_t end = now_ns() + race_budget_ns();
	unsigned int i, seed = 5, collections = 0, resumed = 0;
	unsigned long long n;
	int status;

	for (i = 0; race_more(i, end); i++) {
		race_fork(_metadata, self, VICTIM_KILLED, i);
		race_into_collection(_metadata, self, i, &seed);
		ASSERT_EQ(0, kill(self->child, SIGSTOP));
		ASSERT_EQ(self->child, wait_timeout(self->child, &status, WUNTRACED,
						    VICTIM_TIMEOUT_MS))
			TH_LOG("iteration %u: the victim did not stop", i);
		ASSERT_TRUE(WIFSTOPPED(status)) TH_LOG("status %#x", status);
		if (i % 2 == 0) {
			n = atomic_load(&self->sh->ncollect);
			ASSERT_EQ(0, kill(self->child, SIGCONT));
			while (atomic_load(&self->sh->ncollect) < n + 2 &&
			       !atomic_load(&self->sh->bad) &&
			       waitpid(self->child, &status, WNOHANG) == 0 &&
			       now_ns() < end + 4 * race_budget_ns() +
					  VICTIM_TIMEOUT_MS * MSEC)
				sleep_ns(MSEC);
			ASSERT_LE(n + 2, atomic_load(&self->sh->ncollect))
				TH_LOG("iteration %u: no collection after SIGCONT: %s",
				       i, self->sh->why);
			resumed++;
		}
		ASSERT_EQ(0, kill(self->child, SIGKILL));
		status = race_reap(_metadata, self, i, "SIGKILL after SIGSTOP");
		ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
			TH_LOG("iteration %u: status %#x", i, status);
		collections += atomic_load(&self->sh->ncollect);
	}
	diag("sigstop_during_collect: %u stops during a collection, %u resumed (%u collections)\n",
	     i, resumed, collections);
	EXPECT_LE(RACE_MIN, i);
	RMMOD_LOOP_CHECK();
}

/* --- threads coming and going while the world stops ----------------------- */

static atomic_int churn_stop;
static atomic_ulong churn_threads;
static struct shared *churn_sh;

static void *churn_short(void *arg)
{
	uint64_t seed = (uintptr_t)arg;
	struct node *l = list_build(20, seed);
	char why[128];

	if (!l) {
		report(churn_sh, "short thread: gch_malloc: %s", strerror(errno));
		return NULL;
	}
	if (list_check(l, 20, seed, why, sizeof(why)))
		report(churn_sh, "short thread: corruption: %s", why);
	if (seed & 1)
		pthread_exit(NULL);	/* the other way out */
	return NULL;
}

static void *churn_spawner(void *arg)
{
	uint64_t seed = (uintptr_t)arg;
	pthread_attr_t a;
	pthread_t t;

	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	while (!atomic_load(&churn_stop)) {
		seed = mix(seed);
		if (pthread_create(&t, &a, churn_short, (void *)(uintptr_t)seed)) {
			sleep_ns(MSEC);	/* EAGAIN: too many at once */
			continue;
		}
		atomic_fetch_add(&churn_threads, 1);
	}
	pthread_attr_destroy(&a);
	return NULL;
}

static struct node *volatile churn_root;

TEST_F_TIMEOUT(race, thread_churn, 300)
{
	uint64_t end = now_ns() + race_budget_ns();
	unsigned int i, again = 0, seed = 3;
	pthread_t sp[2];
	char why[128];
	int r;

	churn_sh = self->sh;
	churn_root = list_build(2000, 77);
	ASSERT_NE(NULL, churn_root) TH_LOG("%s", strerror(errno));
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_create(&sp[i], NULL, churn_spawner,
					    (void *)(uintptr_t)(i + 1)));
	for (i = 0; race_more(i, end) && !self->sh->bad; i++) {
		r = gch_collect();
		/* EAGAIN: threads created faster than they park (uapi) */
		if (r && errno == EAGAIN)
			again++;
		else
			ASSERT_EQ(0, r) TH_LOG("collection %u: %s", i, strerror(errno));
		ASSERT_EQ(0, list_check(churn_root, 2000, 77, why, sizeof(why)))
			TH_LOG("rooted list after collection %u: %s", i, why);
		/* let the spawners run: each stop catches some mid-create */
		sleep_ns(MSEC + (uint64_t)rand_r(&seed) * 2 * MSEC / RAND_MAX);
	}
	atomic_store(&churn_stop, 1);
	for (r = 0; r < 2; r++)
		pthread_join(sp[r], NULL);
	ASSERT_EQ(0, self->sh->bad) TH_LOG("%s", self->sh->why);
	diag("thread_churn: %u collections (%u EAGAIN) with %lu threads created and exiting\n",
		       i, again, atomic_load(&churn_threads));
	EXPECT_LE(RACE_MIN, i - again);
	RMMOD_LOOP_CHECK();
}

/* --- munmap of the arena or control area during collections ---------------- */

struct unmap_ctx {
	struct raw_heap h;
	struct shared *sh;
	uint64_t objs[RAW_OBJS];
	uint64_t seed;
	pthread_rwlock_t maplock;	/* readers touch the arena */
	atomic_int arena_gone;
	atomic_int control_gone;
	atomic_int stop;
};

static void *unmap_collector(void *arg)
{
	struct unmap_ctx *u = arg;
	int r, bad;

	while (!atomic_load(&u->stop)) {
		uint64_t t0 = now_ns();

		atomic_store(&u->sh->collecting, 1);
		r = raw_collect(u->h.fd);
		atomic_store(&u->sh->collecting, 0);
		if (r && !collect_errno_ok(errno) &&
		    !(errno == ENXIO && atomic_load(&u->arena_gone))) {
			report(u->sh, "COLLECT: %s (arena %s)", strerror(errno),
			       atomic_load(&u->arena_gone) ? "gone" : "mapped");
			return NULL;
		}
		if (!r) {
			atomic_store(&u->sh->coll_ns, now_ns() - t0);
			atomic_fetch_add(&u->sh->ncollect, 1);
		}
		pthread_rwlock_rdlock(&u->maplock);
		if (!atomic_load(&u->arena_gone)) {
			bad = raw_verify(u->objs, RAW_OBJS, u->seed);
			if (bad >= 0)
				report(u->sh, "rooted object %d changed", bad);
		}
		pthread_rwlock_unlock(&u->maplock);
	}
	return NULL;
}

/* Allocation and freeing ioctls meanwhile (never touching the objects). */
static void *unmap_mutator(void *arg)
{
	struct unmap_ctx *u = arg;
	struct gch_stats st = { .hdr.size = sizeof(st) };
	struct gch_refill cr = { .hdr.size = sizeof(cr), .spanclass = RAW_SC };
	uint64_t buf[64];
	int n, i;

	while (!atomic_load(&u->stop)) {
		n = raw_alloc(u->h.fd, RAW_SC, buf, 64);
		if (n < 0 && !(errno == ENXIO && atomic_load(&u->arena_gone))) {
			report(u->sh, "REFILL (buffer): %s", strerror(errno));
			return NULL;
		}
		for (i = 0; i < n; i += 2) {
			struct gch_free f = { .hdr.size = sizeof(f), .addr = buf[i] };

			/* EINVAL: a collection freed it first */
			if (ioctl(u->h.fd, GCH_IOC_FREE, &f) && errno != EINVAL &&
			    !(errno == ENXIO && atomic_load(&u->arena_gone))) {
				report(u->sh, "FREE: %s", strerror(errno));
				return NULL;
			}
		}
		/* the per-CPU cache refill needs both mappings */
		if (ioctl(u->h.fd, GCH_IOC_REFILL, &cr) &&
		    !(errno == ENXIO && (atomic_load(&u->arena_gone) ||
					 atomic_load(&u->control_gone)))) {
			report(u->sh, "REFILL (cache): %s", strerror(errno));
			return NULL;
		}
		if (ioctl(u->h.fd, GCH_IOC_STATS, &st)) {
			report(u->sh, "STATS: %s", strerror(errno));
			return NULL;
		}
	}
	return NULL;
}

/* Victim: unmap @what (1 arena, 2 control, 3 both) during a collection. */
static void unmap_victim(struct shared *sh, int what, unsigned int seed)
{
	struct unmap_ctx *u = calloc(1, sizeof(*u));
	static uint64_t garbage[256];
	pthread_t c, m;
	int n, got = 0;

	if (!u || raw_open(&u->h))
		_exit(3);
	u->sh = sh;
	u->seed = mix(seed);
	pthread_rwlock_init(&u->maplock, NULL);
	while (got < RAW_OBJS) {
		n = raw_alloc(u->h.fd, RAW_SC, u->objs + got, RAW_OBJS - got);
		if (n <= 0)
			_exit(4);
		got += n;
	}
	raw_fill(u->objs, RAW_OBJS, u->seed);
	if (raw_roots_add(u->h.fd, u->objs, sizeof(u->objs)))
		_exit(5);
	/* garbage, so the sweep has work */
	for (n = 0; n < 20; n++)
		if (raw_alloc(u->h.fd, RAW_SC, garbage, 256) < 0)
			_exit(6);
	if (pthread_create(&c, NULL, unmap_collector, u) ||
	    pthread_create(&m, NULL, unmap_mutator, u))
		_exit(3);
	while (atomic_load(&sh->ncollect) < 1 && !atomic_load(&sh->bad))
		sleep_ns(MSEC);
	while (!atomic_load(&sh->collecting) && !atomic_load(&sh->bad))
		sched_yield();
	sleep_ns(random_delay(sh, &seed));
	pthread_rwlock_wrlock(&u->maplock);
	if (what & 1) {
		atomic_store(&u->arena_gone, 1);
		if (munmap(u->h.arena, u->h.arena_size))
			report(sh, "munmap arena: %s", strerror(errno));
	}
	if (what & 2) {
		atomic_store(&u->control_gone, 1);
		if (munmap(u->h.control, u->h.control_size))
			report(sh, "munmap control: %s", strerror(errno));
	}
	pthread_rwlock_unlock(&u->maplock);
	sleep_ns(random_delay(sh, &seed) + MSEC);
	atomic_store(&u->stop, 1);
	pthread_join(c, NULL);
	pthread_join(m, NULL);
	/* after the arena is gone, collecting is refused, not attempted */
	if ((what & 1) && (raw_collect(u->h.fd) == 0 || errno != ENXIO))
		report(sh, "COLLECT without an arena: %s, not ENXIO",
		       strerror(errno));
	/* an unmapped area cannot come back (objects would move) */
	if ((what & 1) && mmap(NULL, u->h.arena_size, PROT_READ | PROT_WRITE,
			       MAP_SHARED, u->h.fd, GCH_MMAP_ARENA) != MAP_FAILED)
		report(sh, "the arena could be mapped again");
	if (!(what & 1)) {
		n = raw_verify(u->objs, RAW_OBJS, u->seed);
		if (n >= 0)
			report(sh, "rooted object %d changed (control unmapped)", n);
	}
	_exit(0);
}

TEST_F_TIMEOUT(race, munmap_during_collect, 300)
{
	static const char *const what[] = { "", "arena", "control area", "both" };
	uint64_t end = now_ns() + race_budget_ns();
	unsigned int i, n[4] = { 0 };
	int status;

	for (i = 0; race_more(i, end); i++) {
		int w = 1 + i % 3;

		shared_reset(self->sh);
		self->child = fork();
		ASSERT_LE(0, self->child);
		if (!self->child)
			unmap_victim(self->sh, w, i);
		ASSERT_EQ(0, wait_child(self->child, VICTIM_TIMEOUT_MS, &status))
			TH_LOG("iteration %u: hung unmapping the %s", i, what[w]);
		self->child = 0;
		ASSERT_EQ(0, self->sh->bad)
			TH_LOG("iteration %u, unmapping the %s: %s", i, what[w],
			       self->sh->why);
		ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
			TH_LOG("iteration %u, unmapping the %s: status %#x", i,
			       what[w], status);
		n[w]++;
	}
	diag("munmap_during_collect: %u races (arena %u, control area %u, both %u)\n",
		       i, n[1], n[2], n[3]);
	EXPECT_LE(RACE_MIN, i);
	RMMOD_LOOP_CHECK();
}

/* --- close(fd) while other threads are in ioctls on it ------------------ */

struct close_ctx {
	struct raw_heap h;
	struct shared *sh;
	int fd2;			/* a dup of h.fd */
	atomic_int closed;		/* h.fd, then fd2, closed */
	atomic_int stop;
};

/*
 * Errors of an ioctl on a number that was closed (EBADF) or reused by the
 * closer for a new, unmapped heap (ENXIO) are expected; others are not.
 */
static bool closed_errno_ok(struct close_ctx *x, int e)
{
	return atomic_load(&x->closed) && (e == EBADF || e == ENXIO);
}

static void *close_collector(void *arg)
{
	struct close_ctx *x = arg;

	while (!atomic_load(&x->stop)) {
		uint64_t t0 = now_ns();
		int r;

		atomic_store(&x->sh->collecting, 1);
		r = raw_collect(x->h.fd);
		atomic_store(&x->sh->collecting, 0);
		if (r && !collect_errno_ok(errno) && !closed_errno_ok(x, errno)) {
			report(x->sh, "COLLECT: %s", strerror(errno));
			return NULL;
		}
		if (!r && !atomic_load(&x->closed)) {
			atomic_store(&x->sh->coll_ns, now_ns() - t0);
			atomic_fetch_add(&x->sh->ncollect, 1);
		}
	}
	return NULL;
}

static void *close_mutator(void *arg)
{
	struct close_ctx *x = arg;
	struct gch_stats st = { .hdr.size = sizeof(st) };
	uint64_t buf[32];

	while (!atomic_load(&x->stop)) {
		if (raw_alloc(x->fd2, RAW_SC, buf, 32) < 0 &&
		    !(atomic_load(&x->closed) > 1 && closed_errno_ok(x, errno))) {
			report(x->sh, "REFILL on the dup: %s", strerror(errno));
			return NULL;
		}
		if (ioctl(x->fd2, GCH_IOC_STATS, &st) &&
		    !(atomic_load(&x->closed) > 1 && closed_errno_ok(x, errno))) {
			report(x->sh, "STATS on the dup: %s", strerror(errno));
			return NULL;
		}
	}
	return NULL;
}

static void close_victim(struct shared *sh, unsigned int seed)
{
	struct close_ctx *x = calloc(1, sizeof(*x));
	static uint64_t objs[RAW_OBJS];
	int n, got = 0, nfd = -1;
	uint64_t s = mix(seed);
	pthread_t c, m;

	if (!x || raw_open(&x->h))
		_exit(3);
	x->sh = sh;
	x->fd2 = dup(x->h.fd);
	if (x->fd2 < 0)
		_exit(3);
	while (got < RAW_OBJS) {
		n = raw_alloc(x->h.fd, RAW_SC, objs + got, RAW_OBJS - got);
		if (n <= 0)
			_exit(4);
		got += n;
	}
	raw_fill(objs, RAW_OBJS, s);
	if (raw_roots_add(x->h.fd, objs, sizeof(objs)))
		_exit(5);
	if (pthread_create(&c, NULL, close_collector, x) ||
	    pthread_create(&m, NULL, close_mutator, x))
		_exit(3);
	while (atomic_load(&sh->ncollect) < 1 && !atomic_load(&sh->bad))
		sleep_ns(MSEC);
	while (!atomic_load(&sh->collecting) && !atomic_load(&sh->bad))
		sched_yield();
	sleep_ns(random_delay(sh, &seed));
	atomic_store(&x->closed, 1);
	if (close(x->h.fd))
		report(sh, "close: %s", strerror(errno));
	/* every other time the number comes back as another heap */
	if (seed & 1)
		nfd = open(GCH_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	sleep_ns(random_delay(sh, &seed));
	atomic_store(&x->closed, 2);
	if (close(x->fd2))
		report(sh, "close of the dup: %s", strerror(errno));
	sleep_ns(random_delay(sh, &seed) + MSEC);
	atomic_store(&x->stop, 1);
	pthread_join(c, NULL);
	pthread_join(m, NULL);
	/* the mappings keep the heap: rooted objects are intact */
	n = raw_verify(objs, RAW_OBJS, s);
	if (n >= 0)
		report(sh, "rooted object %d changed after close", n);
	if (munmap(x->h.arena, x->h.arena_size) ||
	    munmap(x->h.control, x->h.control_size))
		report(sh, "munmap: %s", strerror(errno));
	if (nfd >= 0)
		close(nfd);
	_exit(0);
}

TEST_F_TIMEOUT(race, close_during_ioctl, 300)
{
	uint64_t end = now_ns() + race_budget_ns();
	unsigned int i;
	int status;

	for (i = 0; race_more(i, end); i++) {
		shared_reset(self->sh);
		self->child = fork();
		ASSERT_LE(0, self->child);
		if (!self->child)
			close_victim(self->sh, i);
		ASSERT_EQ(0, wait_child(self->child, VICTIM_TIMEOUT_MS, &status))
			TH_LOG("iteration %u: hung", i);
		self->child = 0;
		ASSERT_EQ(0, self->sh->bad) TH_LOG("iteration %u: %s", i, self->sh->why);
		ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
			TH_LOG("iteration %u: status %#x", i, status);
	}
	diag("close_during_ioctl: %u closes of an fd and its dup during ioctls\n", i);
	EXPECT_LE(RACE_MIN, i);
	RMMOD_LOOP_CHECK();
}

/* --- fork while another thread collects -------------------------------------- */

static atomic_int fork_stop;
static struct shared *fork_sh;
static struct node *volatile fork_root;

static void *fork_collector(void *arg)
{
	char why[128];

	(void)arg;
	while (!atomic_load(&fork_stop)) {
		if (gch_collect() && !collect_errno_ok(errno)) {
			report(fork_sh, "gch_collect: %s", strerror(errno));
			return NULL;
		}
		atomic_fetch_add(&fork_sh->ncollect, 1);
		if (list_check(fork_root, 3000, 99, why, sizeof(why))) {
			report(fork_sh, "parent's rooted list: %s", why);
			return NULL;
		}
	}
	return NULL;
}

static void *fork_mutator(void *arg)
{
	(void)arg;
	while (!atomic_load(&fork_stop))
		if (!list_build(100, 5)) {
			report(fork_sh, "mutator: %s", strerror(errno));
			return NULL;
		}
	return NULL;
}

/*
 * In the child of a fork: @libfd is the library's descriptor, @fd a dup
 * of it made before the fork (the library closes its own in the child).
 * Exit status: 0, or which check failed.
 */
static int fork_child(int libfd, int fd, void *arena, size_t arena_size)
{
	struct gch_collect c = { .hdr.size = sizeof(c) };
	struct gch_stats st = { .hdr.size = sizeof(st) };
	unsigned char vec;
	void *p;

	/* the library refuses the inherited heap (gcheap.h: EPERM) */
	if (gch_malloc(16) || errno != EPERM)
		return 10;
	if (!gch_collect() || errno != EPERM)
		return 11;
	/* it dropped its descriptor, which would pin the parent's heap */
	if (fcntl(libfd, F_GETFD) != -1 || errno != EBADF)
		return 17;
	/* the module refuses the inherited fd (uapi: owner only) */
	if (!ioctl(fd, GCH_IOC_COLLECT, &c) || errno != EPERM)
		return 12;
	if (!ioctl(fd, GCH_IOC_STATS, &st) || errno != EPERM)
		return 13;
	p = mmap(NULL, arena_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		 GCH_MMAP_ARENA);
	if (p != MAP_FAILED || errno != EPERM)
		return 14;
	/* the arena was not inherited: nothing is mapped there */
	if (!mincore(arena, 4096, &vec) || errno != ENOMEM)
		return 15;
	/* dropping the inherited fd does not affect the parent */
	if (close(fd))
		return 16;
	return 0;
}

TEST_F_TIMEOUT(race, fork_during_collect, 300)
{
	uint64_t end = now_ns() + race_budget_ns();
	struct gch_heap_stats st;
	unsigned int i, k;
	pthread_t th[3];
	char why[128];
	int fd, libfd, status;

	fork_sh = self->sh;
	fork_root = list_build(3000, 99);
	ASSERT_NE(NULL, fork_root) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, gch_stats(&st));
	libfd = raw_heap_fd();	/* the library's: the only one here */
	ASSERT_LE(0, libfd) TH_LOG("no /dev/gcheap in /proc/self/fd");
	fd = dup(libfd);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, pthread_create(&th[0], NULL, fork_collector, NULL));
	for (k = 1; k < 3; k++)
		ASSERT_EQ(0, pthread_create(&th[k], NULL, fork_mutator, NULL));
	for (i = 0; race_more(i, end) && !self->sh->bad; i++) {
		self->child = fork();
		ASSERT_LE(0, self->child);
		if (!self->child)
			_exit(fork_child(libfd, fd, st.arena_start, st.arena_size));
		ASSERT_EQ(0, wait_child(self->child, VICTIM_TIMEOUT_MS, &status))
			TH_LOG("fork %u: the child hung", i);
		self->child = 0;
		ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
			TH_LOG("fork %u: child status %#x (exit codes: see fork_child())",
			       i, status);
	}
	atomic_store(&fork_stop, 1);
	for (k = 0; k < 3; k++)
		pthread_join(th[k], NULL);
	ASSERT_EQ(0, self->sh->bad) TH_LOG("%s", self->sh->why);
	/* the parent's heap still works and kept everything */
	ASSERT_EQ(0, gch_collect()) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, list_check(fork_root, 3000, 99, why, sizeof(why)))
		TH_LOG("%s", why);
	close(fd);
	diag("fork_during_collect: %u forks during %llu collections\n",
		       i, atomic_load(&self->sh->ncollect));
	EXPECT_LE(RACE_MIN, i);
	RMMOD_LOOP_CHECK();
}

/* --- at the end, every heap is gone ------------------------------------------ */


/* --- a stopped thread holding the last reference to a heap --------------- */

/*
 * A thread the collection took as stopped without running it (asleep in a
 * system call, or stopped by a tracer) keeps its park queued, and the park
 * holds the heap's file, so the module's code it will run stays loaded.
 * Once the process closes its descriptor and unmaps the heap, that park is
 * the heap's last reference.  It must go when the thread next returns to
 * user mode (SIGSTOP wakes a sleeper, which runs its task works before it
 * stops; a tracer lets the thread go) or exits (SIGKILL), and the module
 * must stay pinned until then.
 */
enum lastref_how {
	LASTREF_SLEEPER_SIGSTOP,	/* asleep in read(); SIGSTOP, SIGKILL */
	LASTREF_TRACED_SIGKILL,		/* stopped by a tracer; SIGKILL */
	LASTREF_TRACED_DETACH,		/* stopped by a tracer; detached */
	LASTREF_NR,
};

static const char *const lastref_name[] = {
	"sleeper, SIGSTOP", "traced, SIGKILL", "traced, detached",
};

static void *lastref_sleeper(void *arg)
{
	int fd = (intptr_t)arg;
	char c;

	atomic_store(&victim_sh->tid_mutator, gettid());
	/* woken by the test (or interrupted and restarted by a stop) */
	while (read(fd, &c, 1) < 0 && errno == EINTR)
		;
	return NULL;
}

/* The state letter of thread @tid of this process, or 0. */
static char thread_state(pid_t tid)
{
	char path[64], buf[256], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

/*
 * The victim: a heap, a sleeper thread, and a collection that leaves the
 * sleeper's park queued (the test stops it first when it is to be
 * traced); then the heap is closed and unmapped.  Waits on @go to exit.
 */
static void lastref_victim(struct shared *sh, int wake, int go)
{
	struct raw_heap h;
	uint64_t objs[64];
	pthread_t t;
	pid_t tid;
	char c;

	victim_sh = sh;
	if (raw_open(&h) || raw_alloc(h.fd, RAW_SC, objs, 64) != 64) {
		report(sh, "heap set-up: %s", strerror(errno));
		_exit(3);
	}
	if (pthread_create(&t, NULL, lastref_sleeper, (void *)(intptr_t)wake))
		_exit(3);
	while (!(tid = atomic_load(&sh->tid_mutator)))
		sleep_ns(MSEC);
	/* asleep in read() (S), or stopped by the tracer (t) */
	while (thread_state(tid) != 'S' && thread_state(tid) != 't')
		sleep_ns(MSEC);
	atomic_store(&sh->ready, 1);
	/* the test says when the sleeper is as it wants it */
	while (!atomic_load(&sh->collecting))
		sleep_ns(MSEC);
	if (raw_collect(h.fd)) {
		report(sh, "collection: %s", strerror(errno));
		_exit(3);
	}
	raw_heap_close(&h);
	atomic_fetch_add(&sh->ncollect, 1);
	if (read(go, &c, 1) != 1)
		_exit(4);
	pthread_join(t, NULL);
	_exit(0);
}

/* Poll the module's refcnt until it is @want, at most 10 s. */
static int refcnt_wait(int want)
{
	uint64_t end = now_ns() + 10000 * MSEC;
	int n;

	while ((n = module_refcnt()) != want && now_ns() < end)
		sleep_ns(MSEC);
	return n;
}

FIXTURE(stopped) {
	pid_t child;
	struct shared *sh;
	int wake[2], go[2];
};

FIXTURE_SETUP(stopped)
{
	self->child = 0;
	self->sh = shared_new();
	ASSERT_NE(NULL, self->sh);
}

FIXTURE_TEARDOWN(stopped)
{
	if (self->child > 0) {
		kill(self->child, SIGKILL);
		waitpid(self->child, NULL, __WALL);
	}
}

TEST_F_TIMEOUT(stopped, last_reference, 300)
{
	int base = module_refcnt(), status, n;
	unsigned int how;
	pid_t tid;

	if (base < 0)
		SKIP(return, "%s not readable: module not loaded or no CONFIG_MODULE_UNLOAD",
		     REFCNT_PATH);
	for (how = 0; how < LASTREF_NR; how++) {
		bool traced = how != LASTREF_SLEEPER_SIGSTOP;

		shared_reset(self->sh);
		ASSERT_EQ(0, pipe(self->wake));
		ASSERT_EQ(0, pipe(self->go));
		self->child = fork();
		ASSERT_LE(0, self->child);
		if (!self->child)
			lastref_victim(self->sh, self->wake[0], self->go[0]);
		while (!(tid = atomic_load(&self->sh->tid_mutator)) &&
		       !atomic_load(&self->sh->bad))
			sleep_ns(MSEC);
		ASSERT_EQ(0, self->sh->bad) TH_LOG("%s", self->sh->why);
		if (traced) {
			ASSERT_EQ(0, ptrace(PTRACE_SEIZE, tid, 0, 0))
				TH_LOG("PTRACE_SEIZE: %s", strerror(errno));
			ASSERT_EQ(0, ptrace(PTRACE_INTERRUPT, tid, 0, 0));
			ASSERT_EQ(tid, wait_timeout(tid, &status, __WALL,
						    VICTIM_TIMEOUT_MS));
			ASSERT_TRUE(WIFSTOPPED(status)) TH_LOG("status %#x", status);
		}
		ASSERT_TRUE(wait_flag(&self->sh->ready, VICTIM_TIMEOUT_MS));
		atomic_store(&self->sh->collecting, 1);
		while (!atomic_load(&self->sh->ncollect) && !atomic_load(&self->sh->bad))
			sleep_ns(MSEC);
		ASSERT_EQ(0, self->sh->bad) TH_LOG("%s: %s", lastref_name[how],
						    self->sh->why);
		/* closed and unmapped: the sleeper's park holds the heap */
		n = module_refcnt();
		/* the file, and the arena file system's pin while a heap lives */
		ASSERT_LT(base, n)
			TH_LOG("%s: refcnt %d, base %d: the queued park does not hold the heap",
			       lastref_name[how], n, base);
		ASSERT_NE(0, delete_module("gcheap", O_NONBLOCK))
			TH_LOG("%s: the module unloaded under a queued park",
			       lastref_name[how]);
		ASSERT_TRUE(errno == EWOULDBLOCK || errno == EBUSY)
			TH_LOG("delete_module: %s", strerror(errno));
		switch (how) {
		case LASTREF_SLEEPER_SIGSTOP:
			ASSERT_EQ(0, kill(self->child, SIGSTOP));
			ASSERT_EQ(self->child, wait_timeout(self->child, &status,
							    WUNTRACED,
							    VICTIM_TIMEOUT_MS));
			ASSERT_TRUE(WIFSTOPPED(status)) TH_LOG("status %#x", status);
			/* the sleeper ran its park on the way to the stop */
			n = refcnt_wait(base);
			ASSERT_EQ(base, n)
				TH_LOG("%s: refcnt %d in a stopped process, base %d",
				       lastref_name[how], n, base);
			ASSERT_EQ(0, kill(self->child, SIGKILL));
			break;
		case LASTREF_TRACED_SIGKILL:
			ASSERT_EQ(0, kill(self->child, SIGKILL));
			/* the tracer reaps the thread, then the process goes */
			ASSERT_EQ(tid, wait_timeout(tid, &status, __WALL,
						    VICTIM_TIMEOUT_MS));
			break;
		case LASTREF_TRACED_DETACH:
			ASSERT_EQ(0, ptrace(PTRACE_DETACH, tid, 0, 0));
			/* back to user mode through the park: read() restarts */
			n = refcnt_wait(base);
			ASSERT_EQ(base, n)
				TH_LOG("%s: refcnt %d after the detach, base %d",
				       lastref_name[how], n, base);
			ASSERT_EQ(1, write(self->wake[1], "w", 1));
			ASSERT_EQ(1, write(self->go[1], "g", 1));
			break;
		}
		ASSERT_EQ(0, wait_child(self->child, VICTIM_TIMEOUT_MS, &status))
			TH_LOG("%s: the victim hung", lastref_name[how]);
		self->child = 0;
		if (how == LASTREF_TRACED_DETACH) {
			ASSERT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
				TH_LOG("%s: status %#x", lastref_name[how], status);
		} else {
			ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
				TH_LOG("%s: status %#x", lastref_name[how], status);
		}
		n = refcnt_wait(base);
		ASSERT_EQ(base, n) TH_LOG("%s: refcnt %d at the end, base %d",
					  lastref_name[how], n, base);
		close(self->wake[0]);
		close(self->wake[1]);
		close(self->go[0]);
		close(self->go[1]);
		diag("last_reference: %s: the heap went, the module stayed pinned until then\n",
		     lastref_name[how]);
	}
}

/*
 * Runs last: no heap of the races may be left (each open heap holds a
 * module reference).  The release of a killed process's heap can lag its
 * exit a little (a file's last fput is deferred), so poll for 10 s.
 */
FIXTURE(end) {
};

FIXTURE_SETUP(end)
{
}

FIXTURE_TEARDOWN(end)
{
}

/* A fixture of its own: the harness runs fixtures in the order defined. */
TEST_F(end, heaps_gone)
{
	uint64_t end = now_ns() + 10000 * MSEC;
	int n = module_refcnt();

	if (n < 0)
		SKIP(return, "%s not readable: module not loaded or no CONFIG_MODULE_UNLOAD",
		     REFCNT_PATH);
	while (n > 0 && now_ns() < end) {
		sleep_ns(10 * MSEC);
		n = module_refcnt();
	}
	ASSERT_EQ(0, n) TH_LOG("module refcnt %d after the races: a heap (or a queued park) leaked", n);
}

TEST_HARNESS_MAIN
