// SPDX-License-Identifier: GPL-2.0
/*
 * Finalizers and weak links, from userspace: gch_register_finalizer(),
 * gch_register_weak(), gch_register_weak_long(), gch_unregister_weak(),
 * gch_run_finalizers(), gch_finalizers_pending() and gch_final_stats().
 *
 * Finalizers: each of many objects (FIN_OBJECTS, fewer on the debug
 * kernel, GCH_FINAL_OBJECTS to choose) runs its finalizer exactly once,
 * half while the other half stays reachable, then the other half; a
 * finalizer that makes its object reachable again (resurrection) keeps it
 * whole and is not run again unless registered again; a chain of
 * finalizable objects is finalized one link per collection, head first; a
 * cycle never; a finalizer's data is a root; registering again replaces,
 * NULL removes, gch_free() drops; finalizers allocate and collect; where
 * they run: the "gch-finalizer" thread by default, only inside
 * gch_run_finalizers() in manual mode (GCHEAP_FINALIZERS=manual and
 * gch_config.finalizers, fixture variants); the thread dies with its
 * process, which exits or is killed promptly.  The orders of
 * gch_register_finalizer_ex(): a self-pointer keeps a default object for
 * ever and an IGNORE_SELF one not; NO_ORDER objects on a cycle go
 * together while a default pair goes one per collection; an UNREACHABLE
 * object a NO_ORDER one reaches waits for it; the registration a call
 * replaces or removes comes back, and so do its flags; the struct's two
 * versions (raw ioctls).
 *
 * Weak links: a short link is cleared by the collection that finds its
 * target unreachable, before the finalizer runs; a long one only when the
 * target is freed (a resurrecting finalizer keeps it); links to reachable
 * objects are never cleared; a moved link is cleared at its new word (and
 * dies with the object it was moved into), links are removed by kind; links are cleared wherever they are (bss,
 * the stack, scanned and pointer-free heap objects, malloc() and mmap()
 * memory; in scanned memory they hold the address bit-inverted, since
 * there a plain address is a reference, as documented, which is checked
 * too); an unregistered link is not written; a link in an object that
 * dies, or in memory unmapped or made read-only, is dropped unwritten and
 * counted; bad input fails with the documented errno.
 *
 * Every test runs in its own process (the harness forks), so each starts
 * with a fresh heap, and a fixture can choose the finalizer mode before
 * the heap is first used.  Pointers the test must not retain are held
 * XOR-masked ("hidden", hidden_ptr.h), structures are built in noinline
 * functions whose frames die, and scrub() wipes the stack below the
 * caller and the scratch registers before collecting: the collector is
 * conservative.  Automatic collection is off, so that only the tests'
 * collections run.  Finalizers run in another thread (thread mode) and
 * record what they saw in globals; the tests wait for them with bounded
 * polls.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/userfaultfd.h>

#include "gcheap.h"
#include "kselftest_harness.h"
#include "test_util.h"
#include "hidden_ptr.h"
#include "raw_heap.h"

#ifndef __x86_64__
#error "these tests wipe x86-64 registers (hidden_ptr.h)"
#endif

#define noinline	__attribute__((noinline))

#define EXITED_WITH(status, code) \
	(WIFEXITED(status) && WEXITSTATUS(status) == (code))

#define FIN_THREAD_NAME	"gch-finalizer"

/*
 * Objects of test exactly_once.  Each registration is one ioctl: a
 * million take some 10 to 20 s on a stock kernel under QEMU TCG; the
 * debug kernel (KASAN, lockdep, kmemleak) is several times slower per
 * call and gets a tenth.  GCH_FINAL_OBJECTS chooses any other count.
 */
#define FIN_OBJECTS		1000000
#define FIN_OBJECTS_DEBUG	100000

static pid_t gettid_(void)
{
	return (pid_t)syscall(SYS_gettid);
}

/* The debug kernel (tools/kernel/debug.config) has lockdep and kmemleak. */
static bool debug_kernel(void)
{
	return !access("/proc/lockdep", F_OK) ||
	       !access("/sys/kernel/debug/kmemleak", F_OK);
}

static size_t fin_objects(void)
{
	const char *s = getenv("GCH_FINAL_OBJECTS");
	unsigned long n;
	char *end;

	if (s && *s) {
		errno = 0;
		n = strtoul(s, &end, 0);
		if (!errno && !*end && n >= 2 && n <= 100000000)
			return n & ~1UL;
		fprintf(stderr, "# GCH_FINAL_OBJECTS=%s: not a count from 2 to 1e8, using the default\n", s);
	}
	return debug_kernel() ? FIN_OBJECTS_DEBUG : FIN_OBJECTS;
}

/* --- reproducible contents ----------------------------------------------- */

/* --- roots the tests control --------------------------------------------- */

static void *volatile g_pin;		/* the heap's first object */
static void *volatile g_root;		/* .bss roots */
static void *volatile g_root2;
static void *volatile g_resurrect;	/* where finalizers resurrect */

/* weak links in .bss (scanned: they hold their targets' addresses inverted) */
static void *volatile g_wshort;
static void *volatile g_wlong;
static void *volatile g_wshort2;
static void *volatile g_wlong2;
static void *volatile g_wreach_s;
static void *volatile g_wreach_l;

/*
 * A live object allocated before anything else: it used to take the
 * arena's first byte, so that copies of the arena's address (statistics in
 * a frame) kept nothing the tests check alive; the module now never hands
 * that page out (see gcheap_gc_test.c).
 */
static void pin_arena_start(struct __test_metadata *_metadata)
{
	g_pin = gch_malloc_atomic(40000);
	ASSERT_NE(NULL, g_pin) TH_LOG("%s", strerror(errno));
}

/* Is hidden @h an allocated object whose bytes are still the pattern? */
static noinline bool target_intact(uintptr_t h, uint64_t key, size_t size)
{
	const unsigned char *p = unhide(h);

	return gch_base(p) == p && gch_size(p) >= size && check_pat(p, size, key) < 0;
}

/* A pointer-free (or scanned) object of @size bytes of pattern @key, hidden. */
static noinline uintptr_t make_target(uint64_t key, size_t size, bool scanned)
{
	unsigned char *p = scanned ? gch_malloc(size) : gch_malloc_atomic(size);

	if (!p)
		return 0;
	fill_pat(p, size, key);
	return hide(p);
}

/* gch_register_finalizer() on hidden @h; 0 or -errno. */
static noinline int fin_reg(uintptr_t h, void (*fn)(void *, void *), uintptr_t data)
{
	return gch_register_finalizer(h ? unhide(h) : NULL, fn, (void *)data) ? -errno : 0;
}

/*
 * How a link holds its target: a link word in memory the collector scans
 * (stack, data and bss, a gch_malloc() object) holding the plain address
 * is itself a reference (Documentation/userlib.rst), so there the tests
 * store it bit-inverted (bdwgc's GC_HIDE_POINTER); the collector clears
 * the word to 0 all the same.  Elsewhere (malloc(), mmap(), an atomic
 * object) the plain address.
 */
#define WK_SHORT	0
#define WK_LONG		1	/* gch_register_weak_long() */
#define WK_INV		2	/* the word holds ~address */

static inline void *link_value(const void *obj, int how)
{
	return (void *)(how & WK_INV ? ~(uintptr_t)obj : (uintptr_t)obj);
}

/*
 * *@link := the object at hidden @h (as @how says), registered as a weak
 * link to it; 0 or -errno.
 */
static noinline int weak_set(void *volatile *link, uintptr_t h, int how)
{
	void *obj = unhide(h);
	int r;

	*link = link_value(obj, how);
	r = how & WK_LONG ? gch_register_weak_long((void **)link, obj)
			  : gch_register_weak((void **)link, obj);
	return r ? -errno : 0;
}

/* Does *@link still hold the object at hidden @h (as @how says)? */
static noinline bool link_holds(void *volatile *link, uintptr_t h, int how)
{
	return *link == link_value(unhide(h), how);
}

static noinline int weak_unreg(void *volatile *link)
{
	return gch_unregister_weak((void **)link) ? -errno : 0;
}

/* Is *@slot NULL? */
static noinline bool slot_null(void *volatile *slot)
{
	return !*slot;
}

/* The hidden address @off bytes into the object at hidden @h. */
static noinline uintptr_t hidden_add(uintptr_t h, long off)
{
	return hide((char *)unhide(h) + off);
}

/* How many of the @n hidden addresses are allocated objects. */
static noinline size_t count_allocated(const uintptr_t *addrs, size_t n)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++)
		k += is_allocated(addrs[i]);
	return k;
}

static noinline int collect_now(void)
{
	return gch_collect() ? -errno : 0;
}

/*
 * scrub(), then gch_collect(); 0 or -errno.  A macro, so that scrub()
 * wipes from right below the caller's frame: a helper that called it
 * would keep its own frame's padding, where an earlier callee (e.g.
 * is_allocated()) may have left an object's address, and the collector
 * scans the collecting thread's live frames.
 */
#define collect()	(scrub(), collect_now())

/* --- what finalizers saw ---------------------------------------------------- */

static bool g_manual;		/* the fixture's finalizer mode */
static pid_t g_main_tid;	/* the test's thread */
static int g_runs;		/* finalizers run, all kinds */
static int g_bad;		/* finalizers that saw something wrong */
static char g_bad_msg[512];	/* the first of those */
static __thread int t_where_checked;

static void __attribute__((format(printf, 1, 2))) fin_fail(const char *fmt, ...)
{
	va_list ap;

	if (__atomic_fetch_add(&g_bad, 1, __ATOMIC_ACQ_REL) == 0) {
		va_start(ap, fmt);
		vsnprintf(g_bad_msg, sizeof(g_bad_msg), fmt, ap);
		va_end(ap);
	}
}

/*
 * Is the calling finalizer where it belongs?  Manual mode: in the thread
 * that called gch_run_finalizers() (the test's, g_main_tid); thread mode:
 * in the library's "gch-finalizer" thread.  Checked once per thread.
 */
static void where_check(void)
{
	char name[17] = "";
	pid_t tid;

	if (t_where_checked)
		return;
	t_where_checked = 1;
	tid = gettid_();
	prctl(PR_GET_NAME, name);
	if (g_manual) {
		if (tid != g_main_tid)
			fin_fail("manual mode: a finalizer ran in thread %d (\"%s\"), not in the caller of gch_run_finalizers() (%d)",
				 tid, name, g_main_tid);
	} else if (tid == g_main_tid || strcmp(name, FIN_THREAD_NAME)) {
		fin_fail("thread mode: a finalizer ran in thread %d (\"%s\"%s), not in the \"%s\" thread",
			 tid, name, tid == g_main_tid ? ", the test's" : "", FIN_THREAD_NAME);
	}
}

/*
 * Wait for @n finalizer runs; false once @ms pass without one more run
 * (a hang, not a slow machine: a loaded VM runs them slowly, not never).
 */
static bool wait_runs(int n, unsigned int ms)
{
	int seen = -1, now;

	for (;;) {
		now = __atomic_load_n(&g_runs, __ATOMIC_ACQUIRE);
		if (now >= n)
			return true;
		if (now == seen)
			return false;
		seen = now;
		wait_for(&g_runs, n, ms);
	}
}

/* Wait up to @ms until gch_finalizers_pending() is 0; false on timeout or error. */
static bool wait_no_pending(unsigned int ms)
{
	uint64_t end = now_ns() + ms * MSEC;
	long n;

	for (;;) {
		n = gch_finalizers_pending();
		if (n == 0)
			return true;
		if (n < 0 || now_ns() > end)
			return false;
		usleep(1000);
	}
}

/* --- tasks ---------------------------------------------------------------- */

/* Threads of this process named @name; the last one's id in *@tid. */
static int tasks_named(const char *name, pid_t *tid)
{
	char path[300], comm[32];
	struct dirent *e;
	int n = 0, fd;
	ssize_t len;
	DIR *d;

	d = opendir("/proc/self/task");
	if (!d)
		return -1;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;	/* it just ended */
		len = read(fd, comm, sizeof(comm) - 1);
		close(fd);
		if (len <= 0)
			continue;
		comm[len] = 0;
		comm[strcspn(comm, "\n")] = 0;
		if (!strcmp(comm, name)) {
			n++;
			if (tid)
				*tid = atoi(e->d_name);
		}
	}
	closedir(d);
	return n;
}

/* Thread @tid's blocked signals (SigBlk), or 0 if unreadable. */
static unsigned long long task_sigblk(pid_t tid)
{
	unsigned long long mask = 0;
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/status", tid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "SigBlk: %llx", &mask) == 1)
			break;
	fclose(f);
	return mask;
}

/* Thread @tid's state letter (/proc/.../stat), or 0. */
static char task_state(pid_t tid)
{
	char path[64], buf[512], *p;
	ssize_t len;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return 0;
	buf[len] = 0;
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

/* --- the fixtures ------------------------------------------------------------- */

static void env_defaults(struct __test_metadata *_metadata)
{
	ASSERT_EQ(0, unsetenv("GCHEAP_GOGC"));
	ASSERT_EQ(0, unsetenv("GCHEAP_MAX_HEAP"));
	ASSERT_EQ(0, unsetenv("GCHEAP_NO_RSEQ"));
	ASSERT_EQ(0, unsetenv("GCHEAP_FINALIZERS"));
	g_main_tid = gettid_();
}

/* The default mode (a finalizer thread), automatic collection off. */
FIXTURE(fin) {
	int unused;
};

FIXTURE_SETUP(fin)
{
	env_defaults(_metadata);
	g_manual = false;
	pin_arena_start(_metadata);
	ASSERT_EQ(100, gch_set_gc_percent(-1));
}

FIXTURE_TEARDOWN(fin)
{
}

/*
 * Manual mode, chosen before the heap's first use (each test is a fresh
 * process): by GCHEAP_FINALIZERS=manual, or by gch_init() with
 * GCHEAP_FINALIZERS=thread in the environment (the config wins).
 */
FIXTURE(manual) {
	int unused;
};

FIXTURE_VARIANT(manual) {
	bool by_env;
};

FIXTURE_VARIANT_ADD(manual, env) {
	.by_env = true,
};

FIXTURE_VARIANT_ADD(manual, init) {
	.by_env = false,
};

FIXTURE_SETUP(manual)
{
	struct gch_config bad = { .finalizers = 3 };
	struct gch_config cfg = {
		.gc_percent = GCH_GC_PERCENT_OFF,
		.finalizers = GCH_FINALIZERS_MANUAL,
	};

	env_defaults(_metadata);
	g_manual = true;
	if (variant->by_env) {
		ASSERT_EQ(0, setenv("GCHEAP_FINALIZERS", "manual", 1));
		pin_arena_start(_metadata);
		ASSERT_EQ(100, gch_set_gc_percent(-1));
	} else {
		/* gch_config wins over the environment */
		ASSERT_EQ(0, setenv("GCHEAP_FINALIZERS", "thread", 1));
		/* a mode that does not exist is refused, and the heap not set up */
		errno = 0;
		ASSERT_EQ(-1, gch_init(&bad));
		ASSERT_EQ(EINVAL, errno);
		ASSERT_EQ(0, gch_init(&cfg)) TH_LOG("gch_init: %s", strerror(errno));
		pin_arena_start(_metadata);
		ASSERT_EQ(-1, gch_set_gc_percent(-1));
	}
}

FIXTURE_TEARDOWN(manual)
{
}

/* Tests that fork children of their own, never using a heap themselves. */
FIXTURE(proc) {
	pid_t child;	/* killed at teardown if a test leaves it behind */
};

FIXTURE_SETUP(proc)
{
	env_defaults(_metadata);
	self->child = 0;
}

FIXTURE_TEARDOWN(proc)
{
	if (self->child > 0) {
		kill(self->child, SIGKILL);
		waitpid(self->child, NULL, 0);
	}
}

/* --- 1. exactly once ---------------------------------------------------------- */

/* struct cobj - an object of exactly_once: its number and key */
struct cobj {
	uint64_t key;
	uint64_t idx;
};

static size_t g_nobj;
static uint64_t g_seed;
static unsigned char *g_count;	/* malloc()ed: runs of each object's finalizer */

/* data: the object's number */
static void count_fin(void *obj, void *data)
{
	const struct cobj *o = obj;
	uintptr_t i = (uintptr_t)data;

	where_check();
	if (i >= g_nobj)
		fin_fail("count_fin: data %#lx is no object number", (unsigned long)i);
	else if (!o || o->idx != i || o->key != key_of(g_seed, i))
		fin_fail("count_fin: object %lu got %p, which holds idx %llu key %#llx: not the object registered (or overwritten)",
			 (unsigned long)i, obj, o ? (unsigned long long)o->idx : 0ULL,
			 o ? (unsigned long long)o->key : 0ULL);
	else if (i % 4096 == 0 && gch_base(o) != o)
		fin_fail("count_fin: object %lu (%p) is no allocated object in its own finalizer",
			 (unsigned long)i, obj);
	else
		__atomic_add_fetch(&g_count[i], 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&g_runs, 1, __ATOMIC_RELEASE);
}

/*
 * @n objects with count_fin; the odd ones stored in an array rooted in
 * g_root, the even ones garbage at once.  Hidden addresses in @addrs.
 * Return: 0, or -1 with errno and *@at the object that failed.
 */
static noinline int make_counted(size_t n, uintptr_t *addrs, size_t *at)
{
	void **keep = gch_malloc(n / 2 * sizeof(void *));
	struct cobj *o;
	size_t i;

	*at = 0;
	if (!keep)
		return -1;
	g_root = keep;
	for (i = 0; i < n; i++) {
		*at = i;
		o = gch_malloc_atomic(sizeof(*o));
		if (!o)
			return -1;
		o->key = key_of(g_seed, i);
		o->idx = i;
		if (gch_register_finalizer(o, count_fin, (void *)(uintptr_t)i))
			return -1;
		if (i & 1)
			keep[i / 2] = o;
		addrs[i] = hide(o);
	}
	return 0;
}

/*
 * Collect until gch_final_stats().queued reaches @want, at most 3 times
 * (a stale pointer in a register may keep an object for one collection).
 * Return: the collections made, or -errno.
 */
static noinline int collect_queue(uint64_t want, struct gch_final_stats *st)
{
	int k, r;

	for (k = 1; k <= 3; k++) {
		r = collect();
		if (r)
			return r;
		if (gch_final_stats(st))
			return -errno;
		if (st->queued >= want)
			break;
	}
	return k > 3 ? 3 : k;
}

/* Of the objects @first, @first + @step, ... below @n: how many are allocated. */
static noinline size_t sample_allocated(const uintptr_t *addrs, size_t n, size_t first,
					size_t step, size_t *checked)
{
	size_t i, k = 0;

	*checked = 0;
	for (i = first; i < n; i += step, (*checked)++)
		k += is_allocated(addrs[i]);
	return k;
}

/* Objects of parity @odd (all if -1) whose count is not @want; the first in *@first. */
static size_t count_mismatch(size_t n, int odd, unsigned int want, size_t *first)
{
	size_t i, bad = 0;

	*first = n;
	for (i = 0; i < n; i++) {
		if (odd >= 0 && (int)(i & 1) != odd)
			continue;
		if (__atomic_load_n(&g_count[i], __ATOMIC_RELAXED) != want) {
			if (!bad)
				*first = i;
			bad++;
		}
	}
	return bad;
}

TEST_F_TIMEOUT(fin, exactly_once, 300)
{
	size_t n = fin_objects(), half = n / 2, at, bad, first, left, checked;
	size_t step = 2 * (n / 8192 > 1 ? n / 8192 : 1);
	unsigned int wait_ms = 30000;	/* hang detection only: 30 s without a run */
	struct gch_final_stats st, st2;
	struct gch_collection c;
	uint64_t t0, t_reg, t_fin1, t_fin2;
	uintptr_t *addrs;
	int k;

	g_nobj = n;
	g_seed = 0xf1a1;
	g_count = calloc(n, 1);
	addrs = calloc(n, sizeof(*addrs));
	ASSERT_NE(NULL, g_count);
	ASSERT_NE(NULL, addrs);

	t0 = now_ns();
	ASSERT_EQ(0, make_counted(n, addrs, &at))
		TH_LOG("object %zu of %zu: %s", at, n, strerror(errno));
	t_reg = now_ns() - t0;
	ASSERT_EQ(0, gch_final_stats(&st)) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(n, st.registered);
	EXPECT_EQ(0, st.queued);
	EXPECT_EQ(0, st.pending);
	EXPECT_EQ(0, __atomic_load_n(&g_runs, __ATOMIC_ACQUIRE))
		TH_LOG("finalizers ran before any collection");

	/* the even ones are garbage: each finalizer runs once */
	t0 = now_ns();
	k = collect_queue(half, &st);
	ASSERT_LT(0, k) TH_LOG("gch_collect: %s", strerror(-k));
	if (k > 1)
		TH_LOG("%d collections to queue the garbage's finalizers", k);
	EXPECT_EQ(half, st.queued) TH_LOG("of %zu unreachable finalizable objects", half);
	EXPECT_EQ(n - st.queued, st.registered);
	EXPECT_EQ(0, st.waiting);
	ASSERT_TRUE(wait_runs((int)st.queued, wait_ms))
		TH_LOG("%d of %llu queued finalizers ran, none in the last %u ms (pending %ld)",
		       g_runs, (unsigned long long)st.queued, wait_ms, gch_finalizers_pending());
	ASSERT_TRUE(wait_no_pending(10000))
		TH_LOG("gch_finalizers_pending() %ld with every finalizer run",
		       gch_finalizers_pending());
	t_fin1 = now_ns() - t0;

	/* the next collection frees them and queues nothing */
	ASSERT_EQ(0, collect());
	ASSERT_EQ(0, gch_last_collection(&c));
	EXPECT_LE(half * 95 / 100, c.objects_freed)
		TH_LOG("the collection after the finalizers ran freed %llu objects, of %zu finalized",
		       (unsigned long long)c.objects_freed, half);
	left = sample_allocated(addrs, n, 0, step, &checked);
	EXPECT_GE(checked / 20, left)
		TH_LOG("%zu of %zu finalized objects sampled outlived the collection after their finalizers",
		       left, checked);
	ASSERT_EQ(0, gch_final_stats(&st2));
	EXPECT_EQ(st.queued, st2.queued) TH_LOG("finalized objects were queued again");
	EXPECT_EQ(0, gch_finalizers_pending());
	usleep(100000);
	EXPECT_EQ(half, __atomic_load_n(&g_runs, __ATOMIC_ACQUIRE));
	EXPECT_EQ(half, st2.run);
	bad = count_mismatch(n, 0, 1, &first);
	EXPECT_EQ(0, bad) TH_LOG("%zu dropped objects did not run their finalizer exactly once; the first: %zu, %u times",
				 bad, first, first < n ? g_count[first] : 0);
	bad = count_mismatch(n, 1, 0, &first);
	EXPECT_EQ(0, bad) TH_LOG("%zu reachable objects were finalized; the first: %zu, %u times",
				 bad, first, first < n ? g_count[first] : 0);

	/* now the odd ones too */
	t0 = now_ns();
	g_root = NULL;
	k = collect_queue(n, &st);
	ASSERT_LT(0, k) TH_LOG("gch_collect: %s", strerror(-k));
	EXPECT_EQ(n, st.queued);
	EXPECT_EQ(0, st.registered);
	EXPECT_EQ(0, st.waiting);
	ASSERT_TRUE(wait_runs((int)st.queued, wait_ms))
		TH_LOG("%d of %llu queued finalizers ran, none in the last %u ms (pending %ld)",
		       g_runs, (unsigned long long)st.queued, wait_ms, gch_finalizers_pending());
	ASSERT_TRUE(wait_no_pending(10000));
	t_fin2 = now_ns() - t0;
	ASSERT_EQ(0, collect());
	ASSERT_EQ(0, gch_last_collection(&c));
	EXPECT_LE(half * 95 / 100, c.objects_freed);
	left = sample_allocated(addrs, n, 1, step, &checked);
	EXPECT_GE(checked / 20, left)
		TH_LOG("%zu of %zu finalized objects sampled outlived the collection after their finalizers",
		       left, checked);
	usleep(100000);
	bad = count_mismatch(n, -1, 1, &first);
	EXPECT_EQ(0, bad) TH_LOG("%zu objects did not run their finalizer exactly once; the first: %zu, %u times",
				 bad, first, first < n ? g_count[first] : 0);
	ASSERT_EQ(0, gch_final_stats(&st));
	EXPECT_EQ(n, __atomic_load_n(&g_runs, __ATOMIC_ACQUIRE));
	EXPECT_EQ(0, st.registered);
	EXPECT_EQ(0, st.pending);
	EXPECT_EQ(n, st.queued);
	EXPECT_EQ(n, st.run);
	EXPECT_EQ(0, st.waiting);
	EXPECT_EQ(0, g_bad) TH_LOG("%s", g_bad_msg);
	TH_LOG("%zu objects: registered in %.0f ms (%.2f us each); finalized in %.0f + %.0f ms; collections' finalizer phases %.1f ms",
	       n, t_reg / 1e6, t_reg / 1e3 / n, t_fin1 / 1e6, t_fin2 / 1e6,
	       st.finalize_ns / 1e6);
	free(addrs);
	free(g_count);
}

/* --- 2. resurrection ------------------------------------------------------------ */

#define RES_SIZE	256
#define RES_CHILD_SIZE	300

/* struct rnode - a resurrected object and a child only it references */
struct rnode {
	unsigned char *child;
	uint64_t key;
	unsigned char payload[RES_SIZE - 16];
};

static int g_res_runs, g_res2_runs;

/* Resurrect: store the object in a root. */
static void resurrect_fin(void *obj, void *data)
{
	where_check();
	if (data != (void *)1)
		fin_fail("resurrect_fin: data %p, registered 1", data);
	g_resurrect = obj;
	__atomic_add_fetch(&g_res_runs, 1, __ATOMIC_RELEASE);
	__atomic_add_fetch(&g_runs, 1, __ATOMIC_RELEASE);
}

/* The second registration's: counts, leaves the object to die. */
static void second_fin(void *obj, void *data)
{
	const struct rnode *r = obj;

	where_check();
	if (data != (void *)2 || r->key != key_of(0x2e5, 0))
		fin_fail("second_fin: data %p, key %#llx: not what was registered",
			 data, (unsigned long long)r->key);
	__atomic_add_fetch(&g_res2_runs, 1, __ATOMIC_RELEASE);
	__atomic_add_fetch(&g_runs, 1, __ATOMIC_RELEASE);
}

static noinline uintptr_t make_rnode(uint64_t key, uintptr_t *child)
{
	struct rnode *r = gch_malloc(sizeof(*r));
	unsigned char *c = gch_malloc_atomic(RES_CHILD_SIZE);

	if (!r || !c)
		return 0;
	r->key = key;
	fill_pat(r->payload, sizeof(r->payload), key);
	fill_pat(c, RES_CHILD_SIZE, ~key);
	r->child = c;
	*child = hide(c);
	if (gch_register_finalizer(r, resurrect_fin, (void *)1))
		return 0;
	return hide(r);
}

/* Is the rnode at hidden @h, with its child, allocated and intact? */
static noinline int rnode_check(uintptr_t h, uintptr_t hc, uint64_t key, char *why, size_t len)
{
	const struct rnode *r = unhide(h);
	long b;

	if (gch_base(r) != r || gch_size(r) < sizeof(*r)) {
		snprintf(why, len, "the object %p is no allocated object (gch_size %zu)", r, gch_size(r));
		return -1;
	}
	if (r->key != key || hide(r->child) != hc) {
		snprintf(why, len, "the object %p was overwritten: key %#llx child %p", r,
			 (unsigned long long)r->key, r->child);
		return -1;
	}
	b = check_pat(r->payload, sizeof(r->payload), key);
	if (b >= 0) {
		snprintf(why, len, "byte %ld of the object's payload overwritten", b);
		return -1;
	}
	if (gch_base(r->child) != r->child) {
		snprintf(why, len, "its child %p was freed", r->child);
		return -1;
	}
	b = check_pat(r->child, RES_CHILD_SIZE, ~key);
	if (b >= 0) {
		snprintf(why, len, "byte %ld of its child %p overwritten", b, r->child);
		return -1;
	}
	return 0;
}

TEST_F_TIMEOUT(fin, resurrection, 60)
{
	const uint64_t key = key_of(0x2e5, 0);
	struct gch_final_stats st;
	uintptr_t h, hc;
	char why[256];
	int i;

	h = make_rnode(key, &hc);
	ASSERT_NE(0, h) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, collect());
	ASSERT_TRUE(wait_for(&g_res_runs, 1, 10000))
		TH_LOG("the finalizer of the unreachable object did not run within 10 s");
	ASSERT_TRUE(wait_no_pending(10000));
	ASSERT_EQ(h, load_slot(&g_resurrect))
		TH_LOG("the finalizer got %p, not the object registered (%p)",
		       g_resurrect, unhide(h));
	ASSERT_EQ(0, rnode_check(h, hc, key, why, sizeof(why)))
		TH_LOG("after its finalizer: %s", why);

	/* resurrected: the root keeps it, and it is not finalized again */
	for (i = 0; i < 5; i++) {
		ASSERT_EQ(0, collect());
		ASSERT_EQ(0, churn(2000, i)) TH_LOG("%s", strerror(errno));
		ASSERT_EQ(0, rnode_check(h, hc, key, why, sizeof(why)))
			TH_LOG("resurrected, after collection %d: %s", i + 1, why);
	}
	usleep(100000);
	ASSERT_EQ(0, gch_final_stats(&st));
	EXPECT_EQ(1, __atomic_load_n(&g_res_runs, __ATOMIC_ACQUIRE))
		TH_LOG("the finalizer ran again after resurrecting");
	EXPECT_EQ(1, st.queued);
	EXPECT_EQ(0, st.registered);
	EXPECT_EQ(0, st.pending);

	/* registered again, it is finalized again; then freed */
	ASSERT_EQ(0, fin_reg(h, second_fin, 2)) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, gch_final_stats(&st));
	EXPECT_EQ(1, st.registered);
	store_slot(&g_resurrect, 0);
	ASSERT_EQ(0, collect());
	ASSERT_TRUE(wait_for(&g_res2_runs, 1, 10000))
		TH_LOG("registered again and dropped, the object was not finalized again within 10 s");
	ASSERT_TRUE(wait_no_pending(10000));
	for (i = 0; i < 3 && is_allocated(h); i++) {
		usleep(20000);
		ASSERT_EQ(0, collect());
	}
	EXPECT_FALSE(is_allocated(h))
		TH_LOG("finalized and unreachable, the object %p outlived %d collections (does the finalizer thread keep a copy of it?)",
		       unhide(h), i);
	EXPECT_FALSE(is_allocated(hc));
	EXPECT_EQ(1, __atomic_load_n(&g_res_runs, __ATOMIC_ACQUIRE));
	EXPECT_EQ(1, __atomic_load_n(&g_res2_runs, __ATOMIC_ACQUIRE));
	ASSERT_EQ(0, gch_final_stats(&st));
	EXPECT_EQ(2, st.queued);
	EXPECT_EQ(2, st.run);
	EXPECT_EQ(0, g_bad) TH_LOG("%s", g_bad_msg);
}

/* --- 3, 4. chains and cycles (manual mode) ----------------------------------------- */

/* struct cnode - a link of a chain or a cycle */
struct cnode {
	struct cnode *next;
	uint64_t key;
	uint64_t id;
};

#define ORDER_MAX	16
static int g_order[ORDER_MAX];
static int g_norder;

/* data: the node's id; records the order */
static void order_fin(void *obj, void *data)
{
	const struct cnode *c = obj;
	uintptr_t id = (uintptr_t)data;
	int k;

	where_check();
	if (!c || c->id != id || c->key != key_of(0xc4a1, id))
		fin_fail("order_fin: node %lu got %p: id %llu key %#llx", (unsigned long)id, obj,
			 c ? (unsigned long long)c->id : 0ULL, c ? (unsigned long long)c->key : 0ULL);
	k = __atomic_fetch_add(&g_norder, 1, __ATOMIC_ACQ_REL);
	if (k < ORDER_MAX)
		g_order[k] = (int)id;
	__atomic_add_fetch(&g_runs, 1, __ATOMIC_RELEASE);
}

/*
 * @n nodes with order_fin, node i pointing to node i + 1, the last to
 * node 0 if @cycle; hidden addresses in @h.  0 or -1.
 */
static noinline int make_chain(unsigned int n, bool cycle, uintptr_t *h)
{
	struct cnode *c[ORDER_MAX];
	unsigned int i;

	for (i = 0; i < n; i++) {
		c[i] = gch_malloc(sizeof(struct cnode));
		if (!c[i])
			return -1;
		c[i]->key = key_of(0xc4a1, i);
		c[i]->id = i;
	}
	for (i = 0; i < n; i++) {
		c[i]->next = i + 1 < n ? c[i + 1] : cycle ? c[0] : NULL;
		if (gch_register_finalizer(c[i], order_fin, (void *)(uintptr_t)i))
			return -1;
		h[i] = hide(c[i]);
	}
	memset(c, 0, sizeof(c));
	return 0;
}

static noinline bool cnode_intact(uintptr_t h, unsigned int id, uintptr_t next)
{
	const struct cnode *c = unhide(h);

	return gch_base(c) == c && c->id == id && c->key == key_of(0xc4a1, id) &&
	       hide(c->next) == next;
}

static noinline void cnode_unlink(uintptr_t h)
{
	((struct cnode *)unhide(h))->next = NULL;
}

TEST_F_TIMEOUT(manual, chain_one_link_per_collection, 60)
{
	struct gch_final_stats st;
	uintptr_t h[3];
	int k, j;

	ASSERT_EQ(0, make_chain(3, false, h)) TH_LOG("%s", strerror(errno));
	for (k = 0; k < 3; k++) {
		ASSERT_EQ(0, collect());
		ASSERT_EQ(0, gch_final_stats(&st));
		EXPECT_EQ(2 - k, st.waiting)
			TH_LOG("collection %d: waiting %llu, expected the %d later links",
			       k + 1, (unsigned long long)st.waiting, 2 - k);
		EXPECT_EQ(1, st.pending) TH_LOG("collection %d", k + 1);
		EXPECT_EQ(1, gch_finalizers_pending()) TH_LOG("collection %d", k + 1);
		EXPECT_EQ(k + 1, st.queued);
		EXPECT_EQ(2 - k, st.registered);
		/* the links not yet finalized are kept whole; the ones before are freed */
		for (j = 0; j < 3; j++) {
			if (j < k) {
				EXPECT_FALSE(is_allocated(h[j]))
					TH_LOG("collection %d: link %d, finalized, still allocated", k + 1, j);
			} else {
				EXPECT_TRUE(cnode_intact(h[j], j, j < 2 ? h[j + 1] : hide(NULL)))
					TH_LOG("collection %d: link %d, not yet finalized, freed or overwritten",
					       k + 1, j);
			}
		}
		EXPECT_EQ(k, __atomic_load_n(&g_norder, __ATOMIC_ACQUIRE))
			TH_LOG("manual mode: a finalizer ran outside gch_run_finalizers()");
		EXPECT_EQ(1, gch_run_finalizers());
		scrub();
		EXPECT_EQ(0, gch_finalizers_pending());
		ASSERT_EQ(k + 1, __atomic_load_n(&g_norder, __ATOMIC_ACQUIRE));
		EXPECT_EQ(k, g_order[k]) TH_LOG("collection %d ran link %d's finalizer", k + 1, g_order[k]);
	}
	ASSERT_EQ(0, collect());
	EXPECT_EQ(0, gch_run_finalizers());
	EXPECT_FALSE(is_allocated(h[2]));
	ASSERT_EQ(0, gch_final_stats(&st));
	EXPECT_EQ(0, st.waiting);
	EXPECT_EQ(0, st.registered);
	EXPECT_EQ(3, st.queued);
	EXPECT_EQ(3, st.run);
	EXPECT_EQ(3, g_norder);
	EXPECT_EQ(0, g_bad) TH_LOG("%s", g_bad_msg);
}

TEST_F_TIMEOUT(manual, cycle_never_finalized, 60)
{
	struct gch_final_stats st;
	uintptr_t h[2];
	int k;

	ASSERT_EQ(0, make_chain(2, true, h)) TH_LOG("%s", strerror(errno));
	for (k = 0; k < 5; k++) {
		ASSERT_EQ(0, collect());
		ASSERT_EQ(0, churn(1000, k));
		ASSERT_EQ(0, gch_final_stats(&st));
		EXPECT_LE(2, st.waiting) TH_LOG("collection %d: waiting %llu", k + 1,
						(unsigned long long)st.waiting);
		EXPECT_EQ(0, st.pending);
		EXPECT_EQ(0, st.queued);
		EXPECT_EQ(2, st.registered);
		EXPECT_EQ(0, gch_run_finalizers()) TH_LOG("collection %d: a cycle member was finalized", k + 1);
		EXPECT_TRUE(cnode_intact(h[0], 0, h[1])) TH_LOG("collection %d: node 0", k + 1);
		EXPECT_TRUE(cnode_intact(h[1], 1, h[0])) TH_LOG("collection %d: node 1", k + 1);
	}
	EXPECT_EQ(0, g_norder);

	/* broken, it is a chain: 0 first, then 1 */
	cnode_unlink(h[1]);
	ASSERT_EQ(0, collect());
	ASSERT_EQ(0, gch_final_stats(&st));
	EXPECT_EQ(1, st.waiting);
	EXPECT_EQ(1, gch_run_finalizers());
	ASSERT_EQ(0, collect());
	EXPECT_EQ(1, gch_run_finalizers());
	ASSERT_EQ(0, collect());
	EXPECT_EQ(0, gch_run_finalizers());
	ASSERT_EQ(2, g_norder);
	EXPECT_EQ(0, g_order[0]);
	EXPECT_EQ(1, g_order[1]);
	EXPECT_FALSE(is_allocated(h[0]));
	EXPECT_FALSE(is_allocated(h[1]));
	ASSERT_EQ(0, gch_final_stats(&st));
	EXPECT_EQ(0, st.waiting);
	EXPECT_EQ(0, st.registered);
	EXPECT_EQ(0, g_bad) TH_LOG("%s", g_bad_msg);
}

/* --- 5. short and long weak links ------------------------------------------------- */

static int g_plain_runs;

/* Counts, leaves the object to die. */
static void plain_fin(void *obj, void *data)
{
	(void)obj;
	(void)data;
	where_check();
	__atomic_add_fetch(&g_plain_runs, 1, __ATOMIC_RELEASE);
	__atomic_add_fetch(&g_runs, 1, __ATOMIC_RELEASE);
}

#define WK_SIZE	96

TEST_F_TIMEOUT(manual, short_and_long_links, 60)
{
	const uint64_t kt = key_of(0x5a, 1), kt2 = key_of(0x5a, 2), kr = key_of(0x5a, 3);
	struct gch_final_stats s0, st;
	uintptr_t ht, ht2, hr;
	void **m;
	int i;

	ASSERT_EQ(0, gch_final_stats(&s0));
	/* T resurrects itself; T2 does not */
	ht = make_target(kt, WK_SIZE, true);
	ht2 = make_target(kt2, WK_SIZE, true);
	hr = make_target(kr, WK_SIZE, false);
	ASSERT_NE(0, ht);
	ASSERT_NE(0, ht2);
	ASSERT_NE(0, hr);
	ASSERT_EQ(0, fin_reg(ht, resurrect_fin, 1));
	ASSERT_EQ(0, fin_reg(ht2, plain_fin, 0));
	store_slot(&g_root, hr);
	/* links in bss, holding the addresses inverted */
	ASSERT_EQ(0, weak_set(&g_wshort, ht, WK_INV));
	ASSERT_EQ(0, weak_set(&g_wlong, ht, WK_LONG | WK_INV));
	ASSERT_EQ(0, weak_set(&g_wshort2, ht2, WK_INV));
	ASSERT_EQ(0, weak_set(&g_wlong2, ht2, WK_LONG | WK_INV));
	ASSERT_EQ(0, weak_set(&g_wreach_s, hr, WK_INV));
	ASSERT_EQ(0, weak_set(&g_wreach_l, hr, WK_LONG | WK_INV));
	ASSERT_EQ(0, gch_final_stats(&st));
	EXPECT_EQ(s0.weak_links + 6, st.weak_links);

	/* the collection that finds T and T2 unreachable clears the short links */
	ASSERT_EQ(0, collect());
	EXPECT_TRUE(slot_null(&g_wshort))
		TH_LOG("the short link to an unreachable object was not cleared (it holds %p)", g_wshort);
	EXPECT_TRUE(slot_null(&g_wshort2));
	EXPECT_TRUE(link_holds(&g_wlong, ht, WK_INV))
		TH_LOG("the long link was changed before the object was freed (it holds %p)", g_wlong);
	EXPECT_TRUE(link_holds(&g_wlong2, ht2, WK_INV));
	ASSERT_EQ(0, gch_final_stats(&st));
	EXPECT_EQ(s0.weak_cleared + 2, st.weak_cleared);
	EXPECT_EQ(s0.weak_links + 4, st.weak_links);
	EXPECT_EQ(2, st.pending);
	EXPECT_TRUE(target_intact(ht, kt, WK_SIZE)) TH_LOG("queued for finalization, T was freed");
	EXPECT_TRUE(target_intact(ht2, kt2, WK_SIZE));
	EXPECT_EQ(0, g_res_runs + g_plain_runs) TH_LOG("manual mode: finalizers ran by themselves");

	/* T's finalizer resurrects it, T2's does not */
	EXPECT_EQ(2, gch_run_finalizers());
	scrub();
	EXPECT_EQ(1, g_res_runs);
	EXPECT_EQ(1, g_plain_runs);
	EXPECT_EQ(ht, load_slot(&g_resurrect));
	ASSERT_EQ(0, collect());
	EXPECT_TRUE(link_holds(&g_wlong, ht, WK_INV))
		TH_LOG("the long link to a resurrected object was changed (it holds %p)", g_wlong);
	EXPECT_TRUE(slot_null(&g_wlong2))
		TH_LOG("the long link to a finalized, freed object was not cleared (it holds %p)", g_wlong2);
	EXPECT_FALSE(is_allocated(ht2)) TH_LOG("T2, finalized and unreachable, was not freed");
	EXPECT_TRUE(target_intact(ht, kt, WK_SIZE));
	ASSERT_EQ(0, gch_final_stats(&st));
	EXPECT_EQ(s0.weak_cleared + 3, st.weak_cleared);

	/* links to reachable objects are never cleared */
	for (i = 0; i < 20; i++) {
		ASSERT_EQ(0, collect());
		ASSERT_EQ(0, churn(500, i));
		ASSERT_TRUE(link_holds(&g_wreach_s, hr, WK_INV))
			TH_LOG("collection %d: the short link to a reachable object changed", i);
		ASSERT_TRUE(link_holds(&g_wreach_l, hr, WK_INV))
			TH_LOG("collection %d: the long link to a reachable object changed", i);
		ASSERT_TRUE(link_holds(&g_wlong, ht, WK_INV))
			TH_LOG("collection %d: the long link to the resurrected object changed", i);
	}
	EXPECT_TRUE(target_intact(hr, kr, WK_SIZE));
	EXPECT_EQ(0, gch_run_finalizers());
	EXPECT_EQ(1, g_res_runs);

	/* the resurrected T dropped: freed, its long link cleared, not finalized again */
	store_slot(&g_resurrect, 0);
	ASSERT_EQ(0, collect());
	EXPECT_TRUE(slot_null(&g_wlong))
		TH_LOG("the resurrected object dropped: its long link was not cleared (it holds %p)", g_wlong);
	EXPECT_FALSE(is_allocated(ht));
	EXPECT_EQ(0, gch_run_finalizers());
	EXPECT_EQ(1, g_res_runs);
	ASSERT_EQ(0, gch_final_stats(&st));
	EXPECT_EQ(s0.weak_cleared + 4, st.weak_cleared);
	EXPECT_EQ(s0.weak_links + 2, st.weak_links);
	/* cleared links are unregistered */
	EXPECT_EQ(-ENOENT, weak_unreg(&g_wshort));
	EXPECT_EQ(-ENOENT, weak_unreg(&g_wlong));

	/* unregistered, a link is not written: malloc() memory, not scanned */
	m = calloc(4, sizeof(void *));
	ASSERT_NE(NULL, m);
	ht = make_target(kt, WK_SIZE, false);
	ht2 = make_target(kt2, WK_SIZE, false);
	ASSERT_EQ(0, weak_set(&m[0], ht, WK_SHORT));
	ASSERT_EQ(0, weak_set(&m[1], ht2, WK_LONG));
	ASSERT_EQ(0, weak_set(&m[2], ht2, WK_SHORT));
	EXPECT_EQ(0, weak_unreg(&m[0]));
	EXPECT_EQ(0, weak_unreg(&m[1]));
	EXPECT_EQ(-ENOENT, weak_unreg(&m[0]));
	ASSERT_EQ(0, collect());
	EXPECT_FALSE(is_allocated(ht));
	EXPECT_FALSE(is_allocated(ht2));
	EXPECT_TRUE(link_holds(&m[0], ht, WK_SHORT)) TH_LOG("an unregistered link was written");
	EXPECT_TRUE(link_holds(&m[1], ht2, WK_SHORT)) TH_LOG("an unregistered long link was written");
	EXPECT_TRUE(slot_null(&m[2])) TH_LOG("the registered one next to them was not cleared");
	free(m);

	EXPECT_EQ(0, weak_unreg(&g_wreach_s));
	EXPECT_EQ(0, weak_unreg(&g_wreach_l));
	ASSERT_EQ(0, gch_final_stats(&st));
	EXPECT_EQ(s0.weak_links, st.weak_links);
	EXPECT_EQ(s0.weak_dropped, st.weak_dropped);
	EXPECT_EQ(0, g_bad) TH_LOG("%s", g_bad_msg);
}

/* --- 6. where links live ----------------------------------------------------------- */

/*
 * A holder with a short link at word 1 to hidden @ht: scanned, holding the
 * address inverted, or pointer-free (@atomic), holding it plain.  Hidden.
 */
static noinline uintptr_t make_holder(uintptr_t ht, bool atomic, int *err)
{
	void **hold = atomic ? gch_malloc_atomic(64) : gch_malloc(64);

	*err = 0;
	if (!hold) {
		*err = -errno;
		return 0;
	}
	*err = weak_set(&hold[1], ht, atomic ? WK_SHORT : WK_INV);
	return hide(hold);
}

/* Is the link in the holder at hidden @hh NULL? */
static noinline bool holder_link_null(uintptr_t hh)
{
	return slot_null(&((void **)unhide(hh))[1]);
}

TEST_F_TIMEOUT(fin, link_locations, 60)
{
	struct gch_final_stats s0, st;
	void *volatile slink = NULL;
	uintptr_t hh, hh2, ht, ht2, hi;
	void **m;
	int err;

	ASSERT_EQ(0, gch_final_stats(&s0));

	/* a link in an object that dies: dropped unwritten, the target lives on */
	ht = make_target(key_of(6, 1), 64, false);
	ASSERT_NE(0, ht);
	store_slot(&g_root, ht);
	hh = make_holder(ht, false, &err);
	ASSERT_NE(0, hh);
	ASSERT_EQ(0, err) TH_LOG("a link in a heap object: %s", strerror(-err));
	ASSERT_EQ(0, gch_final_stats(&st));
	EXPECT_EQ(s0.weak_links + 1, st.weak_links);
	ASSERT_EQ(0, collect());
	EXPECT_FALSE(is_allocated(hh)) TH_LOG("the unreachable holder survived");
	EXPECT_TRUE(target_intact(ht, key_of(6, 1), 64));
	ASSERT_EQ(0, gch_final_stats(&st));
	EXPECT_EQ(s0.weak_dropped + 1, st.weak_dropped);
	EXPECT_EQ(s0.weak_cleared, st.weak_cleared);
	EXPECT_EQ(s0.weak_links, st.weak_links);
	s0 = st;

	/* holder and target die together: one of the two counters, once */
	ht = make_target(key_of(6, 2), 64, false);
	hh = make_holder(ht, true, &err);
	ASSERT_NE(0, hh);
	ASSERT_EQ(0, err);
	ASSERT_EQ(0, collect());
	EXPECT_FALSE(is_allocated(hh));
	EXPECT_FALSE(is_allocated(ht));
	ASSERT_EQ(0, gch_final_stats(&st));
	EXPECT_EQ(s0.weak_dropped + s0.weak_cleared + 1, st.weak_dropped + st.weak_cleared);
	EXPECT_EQ(s0.weak_links, st.weak_links);
	s0 = st;

	/* links in live objects, scanned (inverted) and pointer-free (plain): cleared */
	ht = make_target(key_of(6, 3), 64, false);
	hh = make_holder(ht, false, &err);
	ASSERT_NE(0, hh);
	ASSERT_EQ(0, err);
	store_slot(&g_root2, hh);
	ht2 = make_target(key_of(6, 6), 64, false);
	hh2 = make_holder(ht2, true, &err);
	ASSERT_NE(0, hh2);
	ASSERT_EQ(0, err);
	store_slot(&g_root, hh2);
	ASSERT_EQ(0, collect());
	EXPECT_FALSE(is_allocated(ht)) TH_LOG("the (inverted) link in a scanned heap object kept its target alive");
	EXPECT_FALSE(is_allocated(ht2)) TH_LOG("the link in a pointer-free heap object kept its target alive");
	EXPECT_TRUE(holder_link_null(hh)) TH_LOG("the link in a live scanned heap object was not cleared");
	EXPECT_TRUE(holder_link_null(hh2)) TH_LOG("the link in a live pointer-free heap object was not cleared");
	ASSERT_EQ(0, gch_final_stats(&st));
	EXPECT_EQ(s0.weak_cleared + 2, st.weak_cleared);
	EXPECT_EQ(s0.weak_links, st.weak_links);
	store_slot(&g_root2, 0);
	store_slot(&g_root, 0);
	s0 = st;

	/* malloc() memory, the link to an interior address */
	m = calloc(2, sizeof(void *));
	ASSERT_NE(NULL, m);
	ht = make_target(key_of(6, 4), 64, false);
	hi = hidden_add(ht, 24);
	ASSERT_EQ(0, weak_set(&m[1], hi, WK_SHORT)) TH_LOG("a link to an interior address");
	ASSERT_TRUE(link_holds(&m[1], hi, WK_SHORT));
	ASSERT_EQ(0, collect());
	EXPECT_FALSE(is_allocated(ht));
	EXPECT_TRUE(slot_null(&m[1])) TH_LOG("the link in malloc() memory was not cleared");
	free(m);

	/* the stack, holding the address inverted */
	ht2 = make_target(key_of(6, 5), 64, false);
	ASSERT_EQ(0, weak_set(&slink, ht2, WK_INV));
	ASSERT_EQ(0, collect());
	EXPECT_FALSE(is_allocated(ht2)) TH_LOG("the link on the stack kept its target alive");
	EXPECT_TRUE(slot_null(&slink)) TH_LOG("the link on the stack was not cleared");
	EXPECT_EQ(-ENOENT, weak_unreg(&slink)) TH_LOG("a cleared link is still registered");
	ASSERT_EQ(0, gch_final_stats(&st));
	EXPECT_EQ(s0.weak_cleared + 2, st.weak_cleared);
	EXPECT_EQ(s0.weak_links, st.weak_links);
	EXPECT_EQ(s0.weak_dropped, st.weak_dropped);

	/*
	 * As documented: a plain address in scanned memory (here bss) is a
	 * reference like any other; the target lives, the link stays.
	 */
	ht = make_target(key_of(6, 7), 64, false);
	ASSERT_EQ(0, weak_set(&g_wshort, ht, WK_SHORT));
	ASSERT_EQ(0, collect());
	EXPECT_TRUE(target_intact(ht, key_of(6, 7), 64))
		TH_LOG("a plain address in bss did not keep its object (a registered link is no root?)");
	EXPECT_TRUE(link_holds(&g_wshort, ht, WK_SHORT));
	EXPECT_EQ(0, weak_unreg(&g_wshort));
	store_slot(&g_wshort, 0);
}

/* --- 7. links in memory unmapped or made read-only ------------------------------- */

/* A short link at @link to hidden @h, without storing anything there. */
static noinline int fin_weak_noinit(void **link, uintptr_t h)
{
	return gch_register_weak(link, unhide(h)) ? -errno : 0;
}

TEST_F_TIMEOUT(fin, link_memory_gone, 60)
{
	long page = sysconf(_SC_PAGESIZE);
	struct gch_final_stats s0, st;
	uintptr_t h0, h1, h2;
	void **l0, **l1, **l2;
	char *map;

	ASSERT_EQ(0, gch_final_stats(&s0));
	map = mmap(NULL, 3 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, map);
	l0 = (void **)(map + 64);
	l1 = (void **)(map + page + 128);
	l2 = (void **)(map + 2 * page + 8);
	h0 = make_target(key_of(7, 0), 48, false);
	h1 = make_target(key_of(7, 1), 48, false);
	h2 = make_target(key_of(7, 2), 48, false);
	ASSERT_EQ(0, weak_set(l0, h0, WK_SHORT));
	ASSERT_EQ(0, weak_set(l1, h1, WK_LONG));
	ASSERT_EQ(0, weak_set(l2, h2, WK_SHORT));
	ASSERT_EQ(0, munmap(map, page));
	ASSERT_EQ(0, mprotect(map + page, page, PROT_READ));

	ASSERT_EQ(0, collect()) TH_LOG("a collection with links in unmapped and read-only memory failed");
	ASSERT_EQ(0, gch_final_stats(&st));
	EXPECT_EQ(s0.weak_dropped + 2, st.weak_dropped);
	EXPECT_EQ(s0.weak_cleared + 1, st.weak_cleared);
	EXPECT_EQ(s0.weak_links, st.weak_links);
	EXPECT_TRUE(link_holds(l1, h1, WK_SHORT)) TH_LOG("the read-only link was written (it holds %p)", *l1);
	EXPECT_TRUE(slot_null(l2)) TH_LOG("the link in writable mmap() memory was not cleared");
	EXPECT_FALSE(is_allocated(h0));
	EXPECT_FALSE(is_allocated(h1));
	EXPECT_FALSE(is_allocated(h2));

	/* dropped, the links are no longer registered */
	ASSERT_EQ(0, mprotect(map + page, page, PROT_READ | PROT_WRITE));
	EXPECT_EQ(-ENOENT, weak_unreg(l1));
	h1 = make_target(key_of(7, 3), 48, false);
	EXPECT_EQ(0, weak_set(l1, h1, WK_SHORT)) TH_LOG("a dropped link could not be registered again");
	EXPECT_EQ(0, weak_unreg(l1));
	ASSERT_EQ(0, collect());
	EXPECT_EQ(0, munmap(map + page, 2 * page));
}

/*
 * A link in memory armed for userfaultfd is dropped, never written: the
 * write would fault, and the fault would wait for a handler thread that
 * the collection has stopped (here there is none: it would wait for ever).
 */
TEST_F_TIMEOUT(fin, link_in_userfaultfd_memory, 60)
{
	long page = sysconf(_SC_PAGESIZE);
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg;
	struct gch_final_stats s0, st;
	void **link;
	uintptr_t h;
	int uffd;

	uffd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (uffd < 0)
		SKIP(return, "userfaultfd: %s (a kernel without it, or not allowed)",
		     strerror(errno));
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_API, &api)) TH_LOG("%s", strerror(errno));
	link = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, link);
	memset(&reg, 0, sizeof(reg));
	reg.range.start = (uintptr_t)link;
	reg.range.len = page;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_REGISTER, &reg)) TH_LOG("%s", strerror(errno));
	h = make_target(key_of(0xf0, 1), 48, false);
	ASSERT_NE(0, h);
	/* the page is never touched: registering does not write the link */
	ASSERT_EQ(0, fin_weak_noinit(link, h));
	ASSERT_EQ(0, gch_final_stats(&s0));
	ASSERT_EQ(0, collect()) TH_LOG("the collection failed");
	ASSERT_EQ(0, gch_final_stats(&st));
	EXPECT_EQ(s0.weak_dropped + 1, st.weak_dropped);
	EXPECT_EQ(s0.weak_cleared, st.weak_cleared);
	EXPECT_EQ(s0.weak_links - 1, st.weak_links);
	close(uffd);
	EXPECT_EQ(0, munmap(link, page));
}

/* --- 8. manual mode --------------------------------------------------------------- */

#define MANUAL_OBJECTS	200

TEST_F_TIMEOUT(manual, runs_only_when_asked, 60)
{
	static unsigned char counts[MANUAL_OBJECTS];
	uintptr_t addrs[MANUAL_OBJECTS];
	struct gch_final_stats st;
	size_t at, bad, first, left;
	int n;

	g_nobj = MANUAL_OBJECTS;
	g_seed = 0x3a;
	g_count = counts;
	ASSERT_EQ(0, make_counted(MANUAL_OBJECTS, addrs, &at))
		TH_LOG("object %zu: %s", at, strerror(errno));
	g_root = NULL;		/* all garbage */
	EXPECT_EQ(0, tasks_named(FIN_THREAD_NAME, NULL))
		TH_LOG("manual mode started a finalizer thread");
	EXPECT_EQ(0, gch_finalizers_pending());
	EXPECT_EQ(0, gch_run_finalizers()) TH_LOG("nothing is queued before a collection");

	ASSERT_EQ(0, collect());
	usleep(200000);
	EXPECT_EQ(0, __atomic_load_n(&g_runs, __ATOMIC_ACQUIRE))
		TH_LOG("manual mode: finalizers ran without gch_run_finalizers()");
	EXPECT_EQ(MANUAL_OBJECTS, gch_finalizers_pending());
	ASSERT_EQ(0, gch_final_stats(&st));
	EXPECT_EQ(MANUAL_OBJECTS, st.pending);
	EXPECT_EQ(MANUAL_OBJECTS, st.queued);
	EXPECT_EQ(0, st.registered);
	EXPECT_EQ(0, st.run);
	EXPECT_EQ(0, tasks_named(FIN_THREAD_NAME, NULL));
	/* queued objects are kept */
	EXPECT_EQ(MANUAL_OBJECTS, count_allocated(addrs, MANUAL_OBJECTS));

	/* a second collection queues nothing more */
	ASSERT_EQ(0, collect());
	EXPECT_EQ(MANUAL_OBJECTS, gch_finalizers_pending());

	n = gch_run_finalizers();
	scrub();
	EXPECT_EQ(MANUAL_OBJECTS, n);
	EXPECT_EQ(MANUAL_OBJECTS, __atomic_load_n(&g_runs, __ATOMIC_ACQUIRE));
	EXPECT_EQ(0, gch_finalizers_pending());
	EXPECT_EQ(0, gch_run_finalizers());
	bad = count_mismatch(MANUAL_OBJECTS, -1, 1, &first);
	EXPECT_EQ(0, bad) TH_LOG("%zu objects did not run once; the first %zu", bad, first);
	ASSERT_EQ(0, gch_final_stats(&st));
	EXPECT_EQ(0, st.pending);
	EXPECT_EQ(MANUAL_OBJECTS, st.run);

	ASSERT_EQ(0, collect());
	left = count_allocated(addrs, MANUAL_OBJECTS);
	EXPECT_GE(MANUAL_OBJECTS / 20, left)
		TH_LOG("%zu of %d finalized objects outlived the next collection", left, MANUAL_OBJECTS);
	EXPECT_EQ(0, gch_run_finalizers());
	EXPECT_EQ(0, g_bad) TH_LOG("%s", g_bad_msg);
}

/* --- a finalizer's data, replacing, removing, gch_free() (manual mode) -------------- */

static int g_data_runs;
static int g_data_bad;

/* data: a pointer-free object of pattern key_of(0xda, 0) */
static void data_fin(void *obj, void *data)
{
	where_check();
	if (gch_base(obj) != obj || gch_base(data) != data ||
	    check_pat(data, 200, key_of(0xda, 0)) >= 0)
		__atomic_add_fetch(&g_data_bad, 1, __ATOMIC_RELEASE);
	__atomic_add_fetch(&g_data_runs, 1, __ATOMIC_RELEASE);
}

static noinline int fin_reg_data(uintptr_t h, uintptr_t hd)
{
	return gch_register_finalizer(unhide(h), data_fin, unhide(hd)) ? -errno : 0;
}

TEST_F_TIMEOUT(manual, data_is_root, 60)
{
	uintptr_t h, hd;
	int i;

	h = make_target(key_of(0xda, 1), 64, false);
	hd = make_target(key_of(0xda, 0), 200, false);
	ASSERT_NE(0, h);
	ASSERT_NE(0, hd);
	ASSERT_EQ(0, fin_reg_data(h, hd));
	store_slot(&g_root, h);
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, collect());
		ASSERT_EQ(0, churn(1000, i));
		ASSERT_TRUE(target_intact(hd, key_of(0xda, 0), 200))
			TH_LOG("collection %d: the registered finalizer's data was freed", i + 1);
	}
	store_slot(&g_root, 0);
	ASSERT_EQ(0, collect());
	ASSERT_TRUE(target_intact(hd, key_of(0xda, 0), 200))
		TH_LOG("the queued finalizer's data was freed");
	EXPECT_EQ(1, gch_run_finalizers());
	scrub();
	EXPECT_EQ(1, g_data_runs);
	EXPECT_EQ(0, g_data_bad) TH_LOG("the finalizer got a dead object or damaged data");
	ASSERT_EQ(0, collect());
	EXPECT_FALSE(is_allocated(h));
	EXPECT_FALSE(is_allocated(hd)) TH_LOG("the data of a finalizer that ran outlived it");
	EXPECT_EQ(0, g_bad) TH_LOG("%s", g_bad_msg);
}

static int g_fa_runs, g_fb_runs, g_fb_bad;

static void fin_a(void *obj, void *data)
{
	(void)obj;
	(void)data;
	__atomic_add_fetch(&g_fa_runs, 1, __ATOMIC_RELEASE);
}

static void fin_b(void *obj, void *data)
{
	if (data != (void *)2 || check_pat(obj, 64, key_of(0xb, 0)) >= 0)
		__atomic_add_fetch(&g_fb_bad, 1, __ATOMIC_RELEASE);
	__atomic_add_fetch(&g_fb_runs, 1, __ATOMIC_RELEASE);
}

static noinline int free_hidden(uintptr_t h)
{
	return gch_free(unhide(h)) ? -errno : 0;
}

TEST_F_TIMEOUT(manual, replace_remove_free, 60)
{
	struct gch_final_stats st;
	uintptr_t hx, hy, hz;

	hx = make_target(key_of(0xb, 0), 64, false);
	hy = make_target(key_of(0xb, 1), 64, false);
	hz = make_target(key_of(0xb, 2), 64, false);
	ASSERT_NE(0, hx);
	ASSERT_NE(0, hy);
	ASSERT_NE(0, hz);
	/* X: replaced */
	ASSERT_EQ(0, fin_reg(hx, fin_a, 1));
	ASSERT_EQ(0, fin_reg(hx, fin_b, 2));
	/* Y: removed */
	ASSERT_EQ(0, fin_reg(hy, fin_a, 3));
	ASSERT_EQ(0, fin_reg(hy, NULL, 0));
	EXPECT_EQ(-ENOENT, fin_reg(hy, NULL, 0));
	/* Z: freed */
	ASSERT_EQ(0, fin_reg(hz, fin_a, 4));
	ASSERT_EQ(0, gch_final_stats(&st));
	EXPECT_EQ(2, st.registered);
	ASSERT_EQ(0, free_hidden(hz));
	ASSERT_EQ(0, gch_final_stats(&st));
	EXPECT_EQ(1, st.registered) TH_LOG("gch_free() did not drop the object's finalizer");

	ASSERT_EQ(0, collect());
	EXPECT_FALSE(is_allocated(hy)) TH_LOG("its finalizer removed, Y was kept for finalization");
	EXPECT_EQ(1, gch_finalizers_pending());
	EXPECT_EQ(1, gch_run_finalizers());
	EXPECT_EQ(1, g_fb_runs);
	EXPECT_EQ(0, g_fb_bad);
	EXPECT_EQ(0, g_fa_runs) TH_LOG("a replaced, removed or freed object's finalizer ran");
	ASSERT_EQ(0, collect());
	EXPECT_EQ(0, gch_run_finalizers());
	EXPECT_FALSE(is_allocated(hx));
	ASSERT_EQ(0, gch_final_stats(&st));
	EXPECT_EQ(0, st.registered);
	EXPECT_EQ(1, st.queued);
	EXPECT_EQ(1, st.run);
}

/* --- 8b. the order flags, the replaced registration (manual mode) ----------------- */

#define GRAPH_MAX	8

/*
 * @n cnodes (ids 0 .. n - 1, as make_chain()'s) with order_fin: node i
 * points to node next[i] (-1: to none; i: to itself), and is registered
 * with gch_register_finalizer_ex() flags[i].  Hidden addresses in @h.
 * 0, or -1 with errno.
 */
static noinline int make_graph(unsigned int n, const int *next, const unsigned int *flags,
			       uintptr_t *h)
{
	struct cnode *c[GRAPH_MAX];
	unsigned int i;

	for (i = 0; i < n; i++) {
		c[i] = gch_malloc(sizeof(struct cnode));
		if (!c[i])
			return -1;
		c[i]->key = key_of(0xc4a1, i);
		c[i]->id = i;
	}
	for (i = 0; i < n; i++) {
		c[i]->next = next[i] < 0 ? NULL : c[next[i]];
		if (gch_register_finalizer_ex(c[i], order_fin, (void *)(uintptr_t)i, flags[i],
					      NULL, NULL))
			return -1;
		h[i] = hide(c[i]);
	}
	memset(c, 0, sizeof(c));
	return 0;
}

/* Did order_fin run for node @id (in the runs recorded so far)? */
static bool ran(int id)
{
	int k, n = __atomic_load_n(&g_norder, __ATOMIC_ACQUIRE);

	for (k = 0; k < n && k < ORDER_MAX; k++)
		if (g_order[k] == id)
			return true;
	return false;
}

/* The next of node @i, in the hidden addresses @h (for cnode_intact()). */
static uintptr_t next_of(const uintptr_t *h, const int *next, int i)
{
	return next[i] < 0 ? hide(NULL) : h[next[i]];
}

/*
 * A self-pointer keeps a default object for ever, not an IGNORE_SELF one;
 * a cycle through another object keeps an IGNORE_SELF one all the same.
 */
TEST_F_TIMEOUT(manual, ignore_self, 60)
{
	/* 0: default, itself; 1: IGNORE_SELF, itself; 2 (IGNORE_SELF) <-> 3 */
	static const int next[] = { 0, 1, 3, 2 };
	static const unsigned int flags[] = { 0, GCH_FIN_IGNORE_SELF, GCH_FIN_IGNORE_SELF, 0 };
	struct gch_final_stats st;
	uintptr_t h[4];
	int k, i;

	ASSERT_EQ(0, make_graph(4, next, flags, h)) TH_LOG("%s", strerror(errno));
	for (k = 0; k < 3; k++) {
		ASSERT_EQ(0, collect());
		ASSERT_EQ(0, gch_final_stats(&st));
		EXPECT_EQ(3, st.waiting) TH_LOG("collection %d", k + 1);
		EXPECT_EQ(k ? 0 : 1, gch_run_finalizers()) TH_LOG("collection %d", k + 1);
		scrub();
		EXPECT_EQ(1, g_norder) TH_LOG("collection %d: %d finalizers ran", k + 1, g_norder);
		EXPECT_TRUE(ran(1)) TH_LOG("the IGNORE_SELF object with a self-pointer was not finalized");
		for (i = 0; i < 4; i++)
			if (i != 1)
				EXPECT_TRUE(cnode_intact(h[i], i, next_of(h, next, i)))
					TH_LOG("collection %d: node %d", k + 1, i);
	}
	EXPECT_FALSE(is_allocated(h[1]));
	ASSERT_EQ(0, gch_final_stats(&st));
	EXPECT_EQ(3, st.registered);
	EXPECT_EQ(0, g_bad) TH_LOG("%s", g_bad_msg);
}

/*
 * NO_ORDER objects pointing at each other, or at themselves, go in one
 * collection; a default pair, one pointing at the other, one per
 * collection.
 */
TEST_F_TIMEOUT(manual, no_order, 60)
{
	/* 0 <-> 1 NO_ORDER; 2 NO_ORDER, itself; 3 -> 4 default */
	static const int next[] = { 1, 0, 2, 4, -1 };
	static const unsigned int flags[] = { GCH_FIN_NO_ORDER, GCH_FIN_NO_ORDER,
					      GCH_FIN_NO_ORDER, 0, 0 };
	struct gch_final_stats st;
	uintptr_t h[5];
	int i;

	ASSERT_EQ(0, make_graph(5, next, flags, h)) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, collect());
	ASSERT_EQ(0, gch_final_stats(&st));
	EXPECT_EQ(4, st.pending) TH_LOG("the NO_ORDER pair and the self-pointing one, and the chain's head");
	EXPECT_EQ(1, st.waiting);
	for (i = 0; i < 5; i++)
		EXPECT_TRUE(cnode_intact(h[i], i, next_of(h, next, i))) TH_LOG("node %d", i);
	EXPECT_EQ(4, gch_run_finalizers());
	scrub();
	for (i = 0; i < 4; i++)
		EXPECT_TRUE(ran(i)) TH_LOG("node %d not finalized by the first collection", i);
	EXPECT_FALSE(ran(4)) TH_LOG("the default chain's second link went with the first");

	ASSERT_EQ(0, collect());
	ASSERT_EQ(0, gch_final_stats(&st));
	EXPECT_EQ(1, st.pending);
	EXPECT_EQ(0, st.waiting);
	EXPECT_TRUE(cnode_intact(h[4], 4, hide(NULL)));
	for (i = 0; i < 4; i++)
		EXPECT_FALSE(is_allocated(h[i])) TH_LOG("node %d", i);
	EXPECT_EQ(1, gch_run_finalizers());
	scrub();
	EXPECT_TRUE(ran(4));
	ASSERT_EQ(0, collect());
	EXPECT_EQ(0, gch_run_finalizers());
	EXPECT_FALSE(is_allocated(h[4]));
	EXPECT_EQ(5, g_norder);
	EXPECT_EQ(0, g_bad) TH_LOG("%s", g_bad_msg);
}

/*
 * An UNREACHABLE object a NO_ORDER one reaches is not finalized with it
 * (a default one is), but once alone; one a default object reaches waits
 * for it, as a default one would.
 */
TEST_F_TIMEOUT(manual, unreachable, 60)
{
	/* 0 (NO_ORDER) -> 1 (UNREACHABLE); 2 (NO_ORDER) -> 3; 4 -> 5 (UNREACHABLE) */
	static const int next[] = { 1, -1, 3, -1, 5, -1 };
	static const unsigned int flags[] = { GCH_FIN_NO_ORDER, GCH_FIN_UNREACHABLE,
					      GCH_FIN_NO_ORDER, 0, 0, GCH_FIN_UNREACHABLE };
	struct gch_final_stats st;
	uintptr_t h[6];
	int i;

	ASSERT_EQ(0, make_graph(6, next, flags, h)) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, collect());
	ASSERT_EQ(0, gch_final_stats(&st));
	EXPECT_EQ(4, st.pending);
	EXPECT_EQ(2, st.waiting);
	EXPECT_EQ(2, st.registered);
	EXPECT_EQ(4, gch_run_finalizers());
	scrub();
	EXPECT_TRUE(ran(0));
	EXPECT_FALSE(ran(1)) TH_LOG("finalized while a NO_ORDER object being finalized reaches it");
	EXPECT_TRUE(ran(2));
	EXPECT_TRUE(ran(3)) TH_LOG("a default object a NO_ORDER one reaches waited");
	EXPECT_TRUE(ran(4));
	EXPECT_FALSE(ran(5));
	EXPECT_TRUE(cnode_intact(h[1], 1, hide(NULL)));
	EXPECT_TRUE(cnode_intact(h[5], 5, hide(NULL)));

	ASSERT_EQ(0, collect());
	ASSERT_EQ(0, gch_final_stats(&st));
	EXPECT_EQ(2, st.pending) TH_LOG("the UNREACHABLE objects, alone now, were not queued");
	EXPECT_EQ(0, st.waiting);
	EXPECT_EQ(2, gch_run_finalizers());
	scrub();
	EXPECT_TRUE(ran(1));
	EXPECT_TRUE(ran(5));
	ASSERT_EQ(0, collect());
	EXPECT_EQ(0, gch_run_finalizers());
	for (i = 0; i < 6; i++)
		EXPECT_FALSE(is_allocated(h[i])) TH_LOG("node %d", i);
	EXPECT_EQ(6, g_norder);
	EXPECT_EQ(0, g_bad) TH_LOG("%s", g_bad_msg);
}

static noinline int fin_reg_ex(uintptr_t h, void (*fn)(void *, void *), uintptr_t data,
			       unsigned int flags, void (**ofn)(void *, void *), void **odata)
{
	return gch_register_finalizer_ex(unhide(h), fn, (void *)data, flags, ofn, odata) ?
	       -errno : 0;
}

/* A cnode pointing at itself, id 0, not registered; hidden. */
static noinline uintptr_t make_selfish(void)
{
	struct cnode *c = gch_malloc(sizeof(*c));

	if (!c)
		return 0;
	c->key = key_of(0xc4a1, 0);
	c->id = 0;
	c->next = c;
	return hide(c);
}

/* The finalizer a call replaces comes back; registering again replaces the flags. */
TEST_F_TIMEOUT(manual, old_registration, 60)
{
	void (*ofn)(void *, void *);
	struct gch_final_stats st;
	void *odata;
	uintptr_t hx, hs;

	hx = make_target(key_of(0xb, 0), 64, false);
	ASSERT_NE(0, hx);
	ofn = fin_b;
	odata = (void *)9;
	ASSERT_EQ(0, fin_reg_ex(hx, fin_a, 1, 0, &ofn, &odata));
	EXPECT_EQ(0, (uintptr_t)ofn) TH_LOG("none was registered");
	EXPECT_EQ(NULL, odata);
	ASSERT_EQ(0, fin_reg_ex(hx, fin_b, 2, GCH_FIN_NO_ORDER, &ofn, &odata));
	EXPECT_EQ((uintptr_t)fin_a, (uintptr_t)ofn);
	EXPECT_EQ((void *)1, odata);
	/* the plain call replaces as well; NULL out pointers are fine */
	ASSERT_EQ(0, fin_reg(hx, fin_a, 3));
	ASSERT_EQ(0, fin_reg_ex(hx, fin_b, 2, 0, NULL, &odata));
	EXPECT_EQ((void *)3, odata);
	ASSERT_EQ(0, fin_reg_ex(hx, fin_b, 4, GCH_FIN_UNREACHABLE, &ofn, NULL));
	EXPECT_EQ((uintptr_t)fin_b, (uintptr_t)ofn);
	/* refused: nothing changes, and the out values are NULL */
	ofn = fin_a;
	odata = (void *)9;
	EXPECT_EQ(-EINVAL, fin_reg_ex(hx, fin_a, 5, GCH_FIN_NO_ORDER | GCH_FIN_UNREACHABLE,
				      &ofn, &odata));
	EXPECT_EQ(0, (uintptr_t)ofn);
	EXPECT_EQ(NULL, odata);
	/* removing returns what it removed */
	ASSERT_EQ(0, fin_reg_ex(hx, NULL, 0, 0, &ofn, &odata));
	EXPECT_EQ((uintptr_t)fin_b, (uintptr_t)ofn);
	EXPECT_EQ((void *)4, odata);
	ofn = fin_a;
	odata = (void *)9;
	EXPECT_EQ(-ENOENT, fin_reg_ex(hx, NULL, 0, 0, &ofn, &odata));
	EXPECT_EQ(0, (uintptr_t)ofn);
	EXPECT_EQ(NULL, odata);
	/* a removal's flags are ignored */
	ASSERT_EQ(0, fin_reg_ex(hx, fin_b, 2, 0, NULL, NULL));
	ASSERT_EQ(0, fin_reg_ex(hx, NULL, 0, GCH_FIN_IGNORE_SELF, &ofn, &odata));
	EXPECT_EQ((uintptr_t)fin_b, (uintptr_t)ofn);
	ASSERT_EQ(0, gch_final_stats(&st));
	EXPECT_EQ(0, st.registered);

	/* a self-pointing object: IGNORE_SELF, replaced by 0, waits; again, goes */
	hs = make_selfish();
	ASSERT_NE(0, hs);
	ASSERT_EQ(0, fin_reg_ex(hs, order_fin, 0, GCH_FIN_IGNORE_SELF, NULL, NULL));
	ASSERT_EQ(0, fin_reg_ex(hs, order_fin, 0, 0, &ofn, NULL));
	EXPECT_EQ((uintptr_t)order_fin, (uintptr_t)ofn);
	ASSERT_EQ(0, collect());
	EXPECT_EQ(0, gch_run_finalizers()) TH_LOG("registered again without IGNORE_SELF, it kept the flag");
	ASSERT_EQ(0, gch_final_stats(&st));
	EXPECT_EQ(1, st.waiting);
	ASSERT_EQ(0, fin_reg_ex(hs, order_fin, 0, GCH_FIN_IGNORE_SELF, NULL, NULL));
	ASSERT_EQ(0, collect());
	EXPECT_EQ(1, gch_run_finalizers());
	scrub();
	ASSERT_EQ(0, collect());
	EXPECT_FALSE(is_allocated(hs));
	EXPECT_EQ(0, g_fa_runs + g_fb_runs);
	EXPECT_EQ(1, g_norder);
	EXPECT_EQ(0, g_bad) TH_LOG("%s", g_bad_msg);
}

/* --- 8c. links moved, and removed by kind ----------------------------------------- */

static noinline int weak_move(void *volatile *link, void *volatile *to, unsigned int kind)
{
	return gch_move_weak((void **)link, (void **)to, kind) ? -errno : 0;
}

static noinline int weak_unreg_kind(void *volatile *link, unsigned int kind)
{
	return gch_unregister_weak_kind((void **)link, kind) ? -errno : 0;
}

static noinline uint64_t weak_links_now(void)
{
	struct gch_final_stats st;

	return gch_final_stats(&st) ? ~0ULL : st.weak_links;
}

TEST_F_TIMEOUT(manual, weak_move_and_kind, 60)
{
	struct gch_final_stats s0, st;
	uintptr_t t1, t2, t3, hh, hq;
	void *volatile *m;
	void **hold;
	uint64_t n0;

	ASSERT_EQ(0, gch_final_stats(&s0));
	n0 = s0.weak_links;
	/* links in malloc() memory (not scanned): plain addresses */
	m = calloc(16, sizeof(void *));
	ASSERT_NE(NULL, m);
	t1 = make_target(key_of(0x30, 1), WK_SIZE, false);
	t2 = make_target(key_of(0x30, 2), WK_SIZE, false);
	t3 = make_target(key_of(0x30, 3), WK_SIZE, false);
	hq = make_target(key_of(0x30, 4), 64, false);
	ASSERT_NE(0, t1);
	ASSERT_NE(0, t2);
	ASSERT_NE(0, t3);
	ASSERT_NE(0, hq);
	store_slot(&g_root, t3);	/* t3 stays */
	ASSERT_EQ(0, free_hidden(hq));	/* hq: in the arena, no object */

	/* a short link moved from m[0] to m[1]: the program copies the word */
	ASSERT_EQ(0, weak_set(&m[0], t1, WK_SHORT));
	m[1] = m[0];
	ASSERT_EQ(0, weak_move(&m[0], &m[1], GCH_LINK_ANY));
	EXPECT_TRUE(link_holds(&m[0], t1, WK_SHORT)) TH_LOG("moving wrote the old word");
	EXPECT_EQ(-ENOENT, weak_move(&m[0], &m[2], GCH_LINK_ANY)) TH_LOG("moved twice");
	EXPECT_EQ(-ENOENT, weak_unreg(&m[0]));
	EXPECT_EQ(0, weak_move(&m[1], &m[1], GCH_LINK_ANY)) TH_LOG("onto itself: a check");
	EXPECT_EQ(-ENOENT, weak_move(&m[2], &m[2], GCH_LINK_ANY));
	/* bad new words */
	EXPECT_EQ(-EINVAL, weak_move(&m[1], (void *volatile *)((char *)&m[2] + 4), GCH_LINK_ANY));
	EXPECT_EQ(-EINVAL, weak_move(&m[1], NULL, GCH_LINK_ANY));
	EXPECT_EQ(-EINVAL, weak_move(&m[1], (void *volatile *)0xffff888000000000UL, GCH_LINK_ANY));
	EXPECT_EQ(-EINVAL, weak_move(&m[1], unhide(hq), GCH_LINK_ANY))
		TH_LOG("into the arena outside any object");
	EXPECT_EQ(-EINVAL, weak_move(&m[1], &m[2], 3)) TH_LOG("a kind that does not exist");
	/* the other kind: ENOENT, untouched */
	EXPECT_EQ(-ENOENT, weak_move(&m[1], &m[2], GCH_LINK_LONG));
	EXPECT_EQ(-ENOENT, weak_unreg_kind(&m[1], GCH_LINK_LONG));
	/* a long link at m[3]: the short one cannot move onto it */
	ASSERT_EQ(0, weak_set(&m[3], t2, WK_LONG));
	EXPECT_EQ(-EEXIST, weak_move(&m[1], &m[3], GCH_LINK_SHORT));
	EXPECT_EQ(-ENOENT, weak_unreg_kind(&m[3], GCH_LINK_SHORT));
	EXPECT_EQ(-EINVAL, weak_unreg_kind(&m[3], 7));
	m[4] = m[3];
	ASSERT_EQ(0, weak_move(&m[3], &m[4], GCH_LINK_LONG));
	EXPECT_EQ(n0 + 2, weak_links_now());
	/* links to t3, which stays: removed by kind */
	ASSERT_EQ(0, weak_set(&m[5], t3, WK_LONG));
	ASSERT_EQ(0, weak_set(&m[6], t3, WK_SHORT));
	ASSERT_EQ(0, weak_set(&m[7], t3, WK_SHORT));
	EXPECT_EQ(0, weak_unreg_kind(&m[5], GCH_LINK_LONG));
	EXPECT_EQ(0, weak_unreg_kind(&m[6], GCH_LINK_SHORT));
	EXPECT_EQ(0, weak_unreg_kind(&m[7], GCH_LINK_ANY));
	EXPECT_EQ(-ENOENT, weak_unreg_kind(&m[7], GCH_LINK_ANY));
	EXPECT_EQ(n0 + 2, weak_links_now());

	/* t1 and t2 die: the links are cleared where they were moved to */
	ASSERT_EQ(0, collect());
	EXPECT_FALSE(is_allocated(t1));
	EXPECT_FALSE(is_allocated(t2));
	EXPECT_TRUE(slot_null(&m[1])) TH_LOG("the moved short link was not cleared");
	EXPECT_TRUE(slot_null(&m[4])) TH_LOG("the moved long link was not cleared");
	EXPECT_TRUE(link_holds(&m[0], t1, WK_SHORT)) TH_LOG("the old word was written");
	EXPECT_TRUE(link_holds(&m[3], t2, WK_SHORT)) TH_LOG("the old word was written");
	EXPECT_TRUE(link_holds(&m[5], t3, WK_SHORT));
	EXPECT_TRUE(link_holds(&m[6], t3, WK_SHORT));
	ASSERT_EQ(0, gch_final_stats(&st));
	EXPECT_EQ(s0.weak_cleared + 2, st.weak_cleared);
	EXPECT_EQ(n0, st.weak_links);

	/* moved into a pointer-free object that dies: dropped with it */
	hold = gch_malloc_atomic(64);
	ASSERT_NE(NULL, hold);
	hh = hide(hold);
	hold = NULL;
	ASSERT_EQ(0, weak_set(&m[8], t3, WK_SHORT));
	ASSERT_EQ(0, weak_move(&m[8], (void *volatile *)unhide(hh) + 2, GCH_LINK_SHORT));
	ASSERT_EQ(0, collect());
	EXPECT_FALSE(is_allocated(hh));
	ASSERT_EQ(0, gch_final_stats(&st));
	EXPECT_EQ(s0.weak_dropped + 1, st.weak_dropped) TH_LOG("a link in a dead object was not dropped");
	EXPECT_EQ(n0, st.weak_links);
	EXPECT_TRUE(target_intact(t3, key_of(0x30, 3), WK_SIZE));
	store_slot(&g_root, 0);
	free((void *)m);
}

/* --- 9. finalizers that allocate and collect --------------------------------------- */

#define ALLOC_OBJECTS	200
#define GEN1		1000	/* data of the objects finalizers make: GEN1 + i */

static int g_gen_runs[2];
static int g_fin_collects, g_fin_collect_fails, g_fin_collect_errno;

static void alloc_fin(void *obj, void *data);

/* A list of 8 nodes, checked, dropped: 0 or -1. */
static noinline int fin_allocate(uint64_t seed)
{
	uint64_t *head = NULL, *p;
	int i;

	for (i = 0; i < 8; i++) {
		p = gch_malloc(48);
		if (!p)
			return -1;
		p[0] = (uint64_t)(uintptr_t)head;
		p[1] = key_of(seed, i);
		head = p;
	}
	for (i = 8; i-- > 0; head = (uint64_t *)(uintptr_t)head[0])
		if (!head || head[1] != key_of(seed, i) || gch_base(head) != head)
			return -1;
	return head ? -1 : 0;
}

/* An object of generation 1, with alloc_fin, dropped: 0 or -1. */
static noinline int make_gen1(uintptr_t id)
{
	uint64_t *p = gch_malloc_atomic(16);

	if (!p)
		return -1;
	p[0] = key_of(0x9e, id);
	return gch_register_finalizer(p, alloc_fin, (void *)id);
}

static void alloc_fin(void *obj, void *data)
{
	uintptr_t id = (uintptr_t)data;
	const uint64_t *o = obj;
	int gen = id >= GEN1;

	where_check();
	if (o[0] != key_of(0x9e, id))
		fin_fail("alloc_fin: object %lu overwritten", (unsigned long)id);
	if (!gen) {
		if (fin_allocate(id))
			fin_fail("alloc_fin %lu: allocating in a finalizer failed: %s",
				 (unsigned long)id, strerror(errno));
		if (id % 10 == 0) {
			__atomic_add_fetch(&g_fin_collects, 1, __ATOMIC_RELEASE);
			if (gch_collect()) {
				g_fin_collect_errno = errno;
				__atomic_add_fetch(&g_fin_collect_fails, 1, __ATOMIC_RELEASE);
			}
		}
		if (make_gen1(GEN1 + id))
			fin_fail("alloc_fin %lu: registering a finalizer in a finalizer failed: %s",
				 (unsigned long)id, strerror(errno));
		scrub();
	}
	__atomic_add_fetch(&g_gen_runs[gen], 1, __ATOMIC_RELEASE);
	__atomic_add_fetch(&g_runs, 1, __ATOMIC_RELEASE);
}

static noinline int make_gen0(void)
{
	uint64_t *p;
	uintptr_t i;

	for (i = 0; i < ALLOC_OBJECTS; i++) {
		p = gch_malloc_atomic(16);
		if (!p)
			return -1;
		p[0] = key_of(0x9e, i);
		if (gch_register_finalizer(p, alloc_fin, (void *)i))
			return -1;
	}
	return 0;
}

TEST_F_TIMEOUT(fin, finalizers_allocate_and_collect, 90)
{
	struct gch_final_stats st;
	uint64_t end;
	int collections = 0;

	ASSERT_EQ(0, make_gen0()) TH_LOG("%s", strerror(errno));
	end = now_ns() + 40 * NSEC;
	/* the finalizers' own collections find generation 1; so do these */
	while (__atomic_load_n(&g_runs, __ATOMIC_ACQUIRE) < 2 * ALLOC_OBJECTS &&
	       now_ns() < end) {
		ASSERT_EQ(0, collect()) TH_LOG("%s", strerror(errno));
		collections++;
		usleep(50000);
	}
	ASSERT_TRUE(wait_no_pending(10000));
	EXPECT_EQ(ALLOC_OBJECTS, g_gen_runs[0])
		TH_LOG("%d of %d finalizers ran in 40 s and %d collections (a deadlock?)",
		       g_gen_runs[0], ALLOC_OBJECTS, collections);
	EXPECT_EQ(ALLOC_OBJECTS, g_gen_runs[1])
		TH_LOG("%d of the %d finalizers registered by finalizers ran", g_gen_runs[1], ALLOC_OBJECTS);
	EXPECT_EQ(ALLOC_OBJECTS / 10, g_fin_collects);
	EXPECT_EQ(0, g_fin_collect_fails)
		TH_LOG("gch_collect() in a finalizer failed: %s", strerror(g_fin_collect_errno));
	EXPECT_EQ(0, g_bad) TH_LOG("%s", g_bad_msg);
	ASSERT_EQ(0, gch_final_stats(&st));
	EXPECT_EQ(2 * ALLOC_OBJECTS, st.queued);
	EXPECT_EQ(2 * ALLOC_OBJECTS, st.run);
	EXPECT_EQ(0, st.registered);
	TH_LOG("%d collections of the test's, %d of finalizers", collections, g_fin_collects);
}

/* --- 10. the finalizer thread dies with its process ------------------------------------- */

/* What a child process and the test share (MAP_SHARED). */
struct shared {
	int mode;	/* 0: exit(0); 1: wait to be SIGKILLed */
	int ready;
	int failed;
	char msg[512];
};

static struct shared *shared_new(void)
{
	return shared_map(sizeof(struct shared));
}

/* Record the first failure of a child; returns @code for its exit. */
#define sh_fail(sh, code, ...) \
	shared_fail(&(sh)->failed, (sh)->msg, sizeof((sh)->msg), code, __VA_ARGS__)

static void nop_fin(void *obj, void *data)
{
	(void)obj;
	(void)data;
}

/* signals the finalizer thread must block (it blocks all it can) */
static const int blocked_sigs[] = { SIGHUP, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2,
				    SIGPIPE, SIGALRM, SIGTERM, SIGCHLD };

static int thread_child(struct shared *sh)
{
	static void *keep[8];
	unsigned long long blk;
	pid_t tid = 0;
	uint64_t end;
	unsigned int i;
	int n;

	alarm(60);
	if (sh->mode == 1)
		setenv("GCHEAP_FINALIZERS", "thread", 1);
	if (!gch_malloc(32))
		return sh_fail(sh, 10, "gch_malloc: %s", strerror(errno));
	n = tasks_named(FIN_THREAD_NAME, NULL);
	if (n)
		return sh_fail(sh, 11, "%d \"%s\" threads before any registration", n, FIN_THREAD_NAME);
	for (i = 0; i < 8; i++) {
		keep[i] = gch_malloc(32);
		if (!keep[i] || gch_register_finalizer(keep[i], nop_fin, NULL))
			return sh_fail(sh, 12, "registration %u: %s", i, strerror(errno));
	}
	end = now_ns() + 10 * NSEC;
	while ((n = tasks_named(FIN_THREAD_NAME, &tid)) < 1 && now_ns() < end)
		usleep(1000);
	if (n != 1)
		return sh_fail(sh, 13, "%d \"%s\" threads after 8 registrations (expected 1)",
			       n, FIN_THREAD_NAME);
	blk = task_sigblk(tid);
	for (i = 0; i < sizeof(blocked_sigs) / sizeof(blocked_sigs[0]); i++)
		if (!(blk & (1ULL << (blocked_sigs[i] - 1))))
			return sh_fail(sh, 14, "the finalizer thread does not block signal %d (SigBlk %llx)",
				       blocked_sigs[i], blk);
	/* a collection with nothing to finalize; the thread waits for work */
	if (gch_collect())
		return sh_fail(sh, 15, "gch_collect: %s", strerror(errno));
	while (task_state(tid) != 'S' && now_ns() < end)
		usleep(1000);
	if (task_state(tid) != 'S')
		return sh_fail(sh, 16, "the finalizer thread is not asleep (state %c)", task_state(tid));
	__atomic_store_n(&sh->ready, 1, __ATOMIC_RELEASE);
	if (sh->mode == 0)
		exit(0);	/* atexit handlers and destructors too */
	for (;;)
		pause();
}

TEST_F_TIMEOUT(proc, thread_dies_with_process, 90)
{
	struct shared *sh = shared_new();
	int mode, status = 0;
	uint64_t t0, end;
	pid_t pid, w;

	ASSERT_NE(NULL, sh);
	for (mode = 0; mode < 2; mode++) {
		memset(sh, 0, sizeof(*sh));
		sh->mode = mode;
		fflush(stdout);
		fflush(stderr);
		pid = fork();
		ASSERT_LE(0, pid);
		if (pid == 0)
			_exit(thread_child(sh));
		self->child = pid;
		/* until it is ready, failed or ended (it exits right after ready in mode 0) */
		end = now_ns() + 30 * NSEC;
		while (!__atomic_load_n(&sh->ready, __ATOMIC_ACQUIRE) &&
		       !__atomic_load_n(&sh->failed, __ATOMIC_ACQUIRE) && now_ns() < end)
			usleep(1000);
		ASSERT_EQ(0, sh->failed) TH_LOG("mode %d: %s", mode, sh->msg);
		ASSERT_EQ(1, sh->ready) TH_LOG("mode %d: the child did not get ready in 30 s", mode);
		t0 = now_ns();
		if (mode == 1)
			ASSERT_EQ(0, kill(pid, SIGKILL));
		w = wait_timeout(pid, &status, 0, 30000);
		ASSERT_EQ(pid, w) TH_LOG("mode %d: the child, %s, did not end within 30 s",
					 mode, mode ? "SIGKILLed" : "exiting");
		self->child = 0;
		EXPECT_EQ(0, sh->failed) TH_LOG("mode %d: %s", mode, sh->msg);
		EXPECT_EQ(1, sh->ready);
		if (mode == 0) {
			EXPECT_TRUE(EXITED_WITH(status, 0))
				TH_LOG("exit(0) with the finalizer thread waiting: status %#x", status);
		} else {
			EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
				TH_LOG("SIGKILL with the finalizer thread waiting: status %#x", status);
		}
		EXPECT_GT(10 * NSEC, now_ns() - t0) TH_LOG("mode %d: ending took %.1f s",
							  mode, (now_ns() - t0) / 1e9);
	}
	munmap(sh, sizeof(*sh));
}

/* --- 11. bad input ---------------------------------------------------------------- */

static noinline int weak_raw(void **link, const void *obj, bool is_long)
{
	int r = is_long ? gch_register_weak_long(link, obj) : gch_register_weak(link, obj);

	return r ? -errno : 0;
}

TEST_F(fin, bad_input)
{
	static void *bss_link;
	void *stack_obj[2] = { NULL, NULL };
	void **mlink = malloc(64);
	struct gch_final_stats s0, st;
	char *p, *q, *r;
	int l;

	ASSERT_NE(NULL, mlink);
	ASSERT_EQ(0, gch_final_stats(&s0));
	p = gch_malloc(64);
	q = gch_malloc(64);
	r = gch_malloc(64);
	ASSERT_NE(NULL, p);
	ASSERT_NE(NULL, q);
	ASSERT_NE(NULL, r);
	ASSERT_EQ(0, gch_free(q));	/* q: in the arena, no object */

	/* finalizers: only an allocated object's first byte */
	EXPECT_EQ(-EINVAL, fin_reg(hide(p + 16), nop_fin, 0)) TH_LOG("an interior pointer");
	EXPECT_EQ(-EINVAL, fin_reg(hide(p + 1), nop_fin, 0)) TH_LOG("an interior pointer");
	EXPECT_EQ(-EINVAL, fin_reg(hide(q), nop_fin, 0)) TH_LOG("a freed object");
	EXPECT_EQ(-EINVAL, fin_reg(hide(stack_obj), nop_fin, 0)) TH_LOG("a stack address");
	EXPECT_EQ(-EINVAL, fin_reg(hide(mlink), nop_fin, 0)) TH_LOG("a malloc() address");
	EXPECT_EQ(-EINVAL, fin_reg(hide(&bss_link), nop_fin, 0)) TH_LOG("a bss address");
	EXPECT_EQ(-EINVAL, fin_reg(0, nop_fin, 0)) TH_LOG("NULL");
	EXPECT_EQ(-ENOENT, fin_reg(hide(p), NULL, 0)) TH_LOG("removing what was never registered");
	/* the order: known flags, one at most, also when removing */
	EXPECT_EQ(-EINVAL, fin_reg_ex(hide(p), nop_fin, 0, 1U << 3, NULL, NULL));
	EXPECT_EQ(-EINVAL, fin_reg_ex(hide(p), nop_fin, 0, ~0U, NULL, NULL));
	EXPECT_EQ(-EINVAL, fin_reg_ex(hide(p), nop_fin, 0, GCH_FIN_NO_ORDER | GCH_FIN_IGNORE_SELF,
				      NULL, NULL));
	EXPECT_EQ(-EINVAL, fin_reg_ex(hide(p), nop_fin, 0, GCH_FIN_NO_ORDER | GCH_FIN_UNREACHABLE,
				      NULL, NULL));
	EXPECT_EQ(-EINVAL, fin_reg_ex(hide(p), nop_fin, 0,
				      GCH_FIN_IGNORE_SELF | GCH_FIN_UNREACHABLE, NULL, NULL));
	EXPECT_EQ(-EINVAL, fin_reg_ex(hide(p), nop_fin, 0, GCH_FIN_NO_ORDER | GCH_FIN_IGNORE_SELF |
				      GCH_FIN_UNREACHABLE, NULL, NULL));
	EXPECT_EQ(-EINVAL, fin_reg_ex(hide(p), NULL, 0, 1U << 4, NULL, NULL));
	EXPECT_EQ(-EINVAL, fin_reg_ex(hide(p + 16), nop_fin, 0, GCH_FIN_NO_ORDER, NULL, NULL))
		TH_LOG("an interior pointer");
	ASSERT_EQ(0, gch_final_stats(&st));
	EXPECT_EQ(0, st.registered);

	for (l = 0; l < 2; l++) {
		/* links: 8-byte aligned, a user address, in an object if in the arena */
		EXPECT_EQ(-EINVAL, weak_raw((void **)((char *)mlink + 4), p, l))
			TH_LOG("a misaligned link (%s)", l ? "long" : "short");
		EXPECT_EQ(-EINVAL, weak_raw((void **)((char *)mlink + 1), p, l));
		EXPECT_EQ(-EINVAL, weak_raw((void **)0xffff888000000000UL, p, l))
			TH_LOG("a kernel address as the link");
		EXPECT_EQ(-EINVAL, weak_raw(NULL, p, l)) TH_LOG("NULL as the link");
		EXPECT_EQ(-EINVAL, weak_raw((void **)q, p, l))
			TH_LOG("a link in the arena outside any object");
		/* targets: inside an allocated object */
		EXPECT_EQ(-EINVAL, weak_raw(&mlink[0], stack_obj, l)) TH_LOG("a stack address as the target");
		EXPECT_EQ(-EINVAL, weak_raw(&mlink[0], mlink, l)) TH_LOG("a malloc() address as the target");
		EXPECT_EQ(-EINVAL, weak_raw(&mlink[0], NULL, l)) TH_LOG("NULL as the target");
		EXPECT_EQ(-EINVAL, weak_raw(&mlink[0], q, l)) TH_LOG("a freed object as the target");
		EXPECT_EQ(-EINVAL, weak_raw(&mlink[0], q + 8, l));
	}
	ASSERT_EQ(0, gch_final_stats(&st));
	EXPECT_EQ(s0.weak_links, st.weak_links) TH_LOG("a refused link was registered");

	/* once per link */
	mlink[0] = p + 8;
	EXPECT_EQ(0, weak_raw(&mlink[0], p + 8, false)) TH_LOG("an interior target: %s", strerror(errno));
	EXPECT_EQ(-EEXIST, weak_raw(&mlink[0], p, false));
	EXPECT_EQ(-EEXIST, weak_raw(&mlink[0], r, true));
	mlink[1] = r;
	EXPECT_EQ(0, weak_raw(&mlink[1], r, true));
	EXPECT_EQ(-EEXIST, weak_raw(&mlink[1], r, false));
	EXPECT_EQ(0, weak_raw((void **)(r + 16), p, false)) TH_LOG("a link inside an object");
	ASSERT_EQ(0, gch_final_stats(&st));
	EXPECT_EQ(s0.weak_links + 3, st.weak_links);
	EXPECT_EQ(0, gch_unregister_weak(&mlink[0]));
	EXPECT_EQ(-1, gch_unregister_weak(&mlink[0]));
	EXPECT_EQ(ENOENT, errno);
	EXPECT_EQ(0, gch_unregister_weak(&mlink[1]));
	EXPECT_EQ(0, gch_unregister_weak((void **)(r + 16)));
	EXPECT_EQ(-1, gch_unregister_weak(&bss_link)) TH_LOG("never registered");
	EXPECT_EQ(ENOENT, errno);
	ASSERT_EQ(0, gch_final_stats(&st));
	EXPECT_EQ(s0.weak_links, st.weak_links);
	/* kinds: SHORT, LONG or ANY only */
	EXPECT_EQ(0, weak_raw(&mlink[2], p, false));
	EXPECT_EQ(-EINVAL, weak_unreg_kind(&mlink[2], 3));
	EXPECT_EQ(-EINVAL, weak_unreg_kind(&mlink[2], ~0U));
	EXPECT_EQ(-EINVAL, weak_move(&mlink[2], &mlink[3], 3));
	EXPECT_EQ(-EINVAL, weak_move(&mlink[2], &mlink[3], 1U << 31));
	EXPECT_EQ(-EINVAL, weak_move(&mlink[2], (void **)((char *)mlink + 20), GCH_LINK_SHORT));
	EXPECT_EQ(-EINVAL, weak_move(&mlink[2], (void **)q, GCH_LINK_SHORT));
	EXPECT_EQ(-ENOENT, weak_move(&mlink[3], &mlink[4], GCH_LINK_ANY));
	EXPECT_EQ(0, weak_unreg_kind(&mlink[2], GCH_LINK_SHORT));
	ASSERT_EQ(0, gch_final_stats(&st));
	EXPECT_EQ(s0.weak_links, st.weak_links);
	EXPECT_EQ(p + 8, mlink[0]);
	EXPECT_EQ(r, mlink[1]);
	free(mlink);
}

/* --- 12. the ABI of the order flags and the replaced registration ------------------ */

static int fin_ioc(int fd, void *arg)
{
	return ioctl(fd, GCH_IOC_FINALIZER, arg) ? -errno : 0;
}

TEST(finalizer_struct_versions)
{
	struct gch_version v = { .hdr.size = sizeof(v) };
	struct gch_alloc a = { .hdr.size = sizeof(a), .size = 65536 };
	long pg = sysconf(_SC_PAGESIZE);
	struct gch_finalizer f, *ro;
	struct raw_heap h;
	char big[64];

	/* the struct grew, its number did not: callers of 0.5 reach it */
	EXPECT_EQ(_IOWR(GCH_IOC_MAGIC, 0x0a, __u8[GCH_FINALIZER_SIZE_VER0]), GCH_IOC_FINALIZER);
	ASSERT_EQ(0, raw_heap_open(&h, 16 << 20, 1)) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, ioctl(h.fd, GCH_IOC_VERSION, &v));
	EXPECT_LE(6, v.abi_minor);
	EXPECT_TRUE(v.features & GCH_FEAT_SPECIALS2);
	ASSERT_EQ(0, ioctl(h.fd, GCH_IOC_ALLOC_LARGE, &a)) TH_LOG("%s", strerror(errno));

	/* the first version: flags are taken, nothing is written back */
	ro = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	memset(ro, 0, sizeof(*ro));
	ro->hdr.size = GCH_FINALIZER_SIZE_VER0;
	ro->hdr.flags = GCH_FINALIZER_NO_ORDER;
	ro->obj = a.addr;
	ro->fn = 1;
	ro->data = 2;
	ASSERT_EQ(0, mprotect(ro, pg, PROT_READ));
	EXPECT_EQ(0, fin_ioc(h.fd, ro)) TH_LOG("a read-only first-version struct");

	/* this version: the registration replaced; old_* in are ignored */
	memset(&f, 0, sizeof(f));
	f.hdr.size = sizeof(f);
	f.hdr.flags = GCH_FINALIZER_UNREACHABLE;
	f.obj = a.addr;
	f.fn = 3;
	f.data = 4;
	f.old_fn = 99;
	f.old_data = 99;
	ASSERT_EQ(0, fin_ioc(h.fd, &f));
	EXPECT_EQ(GCH_FINALIZER_SIZE_VER1, f.hdr.size);
	EXPECT_EQ(1, f.old_fn);
	EXPECT_EQ(2, f.old_data);
	EXPECT_EQ(3, f.fn) TH_LOG("an input field was changed");
	/* removal: what it removed; then none, 0 */
	f.fn = 0;
	f.data = 0;
	ASSERT_EQ(0, fin_ioc(h.fd, &f));
	EXPECT_EQ(3, f.old_fn);
	EXPECT_EQ(4, f.old_data);
	f.fn = 5;
	f.data = 6;
	ASSERT_EQ(0, fin_ioc(h.fd, &f));
	EXPECT_EQ(0, f.old_fn);
	EXPECT_EQ(0, f.old_data);
	/* a larger struct, zero beyond: this version's size comes back */
	memset(big, 0, sizeof(big));
	f.hdr.size = sizeof(big);
	f.hdr.flags = GCH_FINALIZER_IGNORE_SELF;
	f.fn = 7;
	f.data = 8;
	memcpy(big, &f, sizeof(f));
	ASSERT_EQ(0, fin_ioc(h.fd, big));
	memcpy(&f, big, sizeof(f));
	EXPECT_EQ(GCH_FINALIZER_SIZE_VER1, f.hdr.size);
	EXPECT_EQ(5, f.old_fn);
	EXPECT_EQ(6, f.old_data);
	/* flags: known ones, one at most */
	f.hdr.size = sizeof(f);
	f.hdr.flags = GCH_FINALIZER_NO_ORDER | GCH_FINALIZER_UNREACHABLE;
	EXPECT_EQ(-EINVAL, fin_ioc(h.fd, &f));
	f.hdr.flags = 1U << 3;
	EXPECT_EQ(-EINVAL, fin_ioc(h.fd, &f));
	f.hdr.flags = 0;
	f.fn = 0;
	f.hdr.size = GCH_FINALIZER_SIZE_VER1 - 8;	/* old_fn only */
	ASSERT_EQ(0, fin_ioc(h.fd, &f));
	EXPECT_EQ(GCH_FINALIZER_SIZE_VER1 - 8, f.hdr.size);
	EXPECT_EQ(7, f.old_fn);

	/* this version, read-only: EFAULT (the registration is made all the same) */
	ASSERT_EQ(0, mprotect(ro, pg, PROT_READ | PROT_WRITE));
	ro->hdr.size = sizeof(*ro);
	ro->fn = 9;
	ASSERT_EQ(0, mprotect(ro, pg, PROT_READ));
	EXPECT_EQ(-EFAULT, fin_ioc(h.fd, ro));
	f.hdr.size = sizeof(f);
	f.fn = 0;
	ASSERT_EQ(0, fin_ioc(h.fd, &f));
	EXPECT_EQ(9, f.old_fn);
	munmap(ro, pg);
	close(h.fd);
}

TEST_HARNESS_MAIN
