// SPDX-License-Identifier: GPL-2.0
/*
 * No lost objects: roots and stops the collector must not miss, and
 * collections that must neither hang nor run unbounded.
 *
 *  1. roots.thread_created_during_stop: threads created while the world
 *     is being stopped, whose only reference to their objects is the
 *     start argument of pthread_create() (a stress test of the race
 *     between the stop's last scan and a creator finishing clone());
 *     proc.thread_created_by_traced_creator: the same flaw made
 *     deterministic: a creator in a ptrace syscall-entry stop of clone3
 *     (which counts as stopped) is resumed during the mark and its new
 *     thread runs user code unstopped.
 *  2. pkey.*: root memory under a protection key (pkey_mprotect): a bss
 *     page and a gch_add_roots() range, the key's access enabled in the
 *     program, or disabled while the program is not using the page.  The
 *     kernel's mark workers are kthreads (default PKRU: keys 1-15 denied).
 *  3. roots.sigaltstack_handler: a thread running a signal handler on an
 *     alternate stack; its only reference is in the interrupted frame.
 *  4. coro.*: a thread (or the main thread) running on a makecontext()
 *     stack; its only reference is on its own normal stack, switched
 *     away from.
 *  5. proc.clone_vm_child_eperm: a clone(CLONE_VM) child that is not a
 *     thread of the heap's owner: it must get EPERM from every ioctl and
 *     mmap, and must not run a collection that stops none of the owner's
 *     threads.
 *  7. proc.huge_root_range_*: a root range of 64 GiB: the collection
 *     fails quickly with an error (nothing freed), and SIGKILL ends a
 *     process in a long scan quickly.
 *  8. roots.threads_2000, proc.threads_17000: many threads, past the
 *     stop's batch and scan limits (64 x 256).
 *  6. hang.*: the arena unmapped (munmap) or replaced (mmap MAP_FIXED) by
 *     a traced thread resumed from its syscall-entry stop during a
 *     collection, or replaced by a CLONE_VM child (never stopped): the
 *     collection must end, and a collection of another process afterwards
 *     too.  These run last: on a module that deadlocks, the worker pool
 *     stays stuck and nothing can collect until reboot.
 *  (9. 32-bit callers: gcheap_compat_test, a separate -m32 program.)
 *
 * Objects are checksummed: each node stores its own address XOR its key,
 * its index and a payload derived from the key; verified after
 * collections with garbage allocated in between (what is freed by mistake
 * is handed out again and overwritten), and with gch_base() (still an
 * allocated object).  Pointers the test keeps are hidden (XOR-masked),
 * frames that held real ones are scrubbed.
 *
 * Durations: GCHEAP_ROOTS_TEST_SECONDS (stress tests, default 8),
 * GCHEAP_ROOTS_TEST_HUGE_GIB (default 64).
 */

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include <linux/gcheap.h>

#include "gcheap.h"
#include "kselftest_harness.h"
#include "test_util.h"
#include "hidden_ptr.h"
#include "raw_heap.h"

#ifndef __x86_64__
#error "these tests hold pointers in x86-64 registers"
#endif

#define KiB		1024UL
#define MiB		(1024 * KiB)
#define GiB		(1024 * MiB)
#define NSEC		1000000000ULL
#define MSEC		1000000ULL

#define noinline	__attribute__((noinline))

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * MSEC };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static unsigned int env_uint(const char *name, unsigned int def)
{
	const char *s = getenv(name);

	return s && *s ? (unsigned int)strtoul(s, NULL, 0) : def;
}

static unsigned int stress_seconds(void)
{
	return env_uint("GCHEAP_ROOTS_TEST_SECONDS", 8);
}

/*
 * GCHEAP_ROOTS_TEST_ONLY=name1,name2: run only the tests of these names
 * (the 6.1 harness has no filter of its own).
 */
static bool filtered_out(const char *name)
{
	const char *only = getenv("GCHEAP_ROOTS_TEST_ONLY");
	char buf[256], *tok, *save;

	if (!only || !*only)
		return false;
	snprintf(buf, sizeof(buf), "%s", only);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		if (!strcmp(name, tok))
			return false;
	return true;
}

/* First thing in every test: a SKIP in the fixture's setup, or a filter. */
#define TEST_PROLOGUE() do {						\
		if (_metadata->skip)					\
			return;						\
		if (filtered_out(_metadata->name))			\
			SKIP(return, "not in GCHEAP_ROOTS_TEST_ONLY");	\
	} while (0)

/* --- hiding pointers from the collector ------------------------------------ */

/* A smaller scrub, for threads with small stacks. */
static noinline void scrub_small(void)
{
	char buf[2 * 1024];

	explicit_bzero(buf, sizeof(buf));
	wipe_regs();
}

/* --- checksummed object graphs ---------------------------------------------- */

#define NODE_WORDS	6

/*
 * struct cnode - a checksummed node: @self is its own address XOR @key;
 * one in four carries a pointer-free blob of 48 bytes, checksummed too.
 */
struct cnode {
	uint64_t self;
	uint64_t key;
	struct cnode *next;
	uint64_t *blob;
	uint32_t idx;
	uint32_t n;
	uint64_t payload[NODE_WORDS];
};

#define BLOB_WORDS	6

static inline bool has_blob(uint64_t key)
{
	return (key & 3) == 0;
}

/* A graph of @n nodes for @seed; its head, NULL if allocation failed. */
static noinline struct cnode *graph_make_raw(uint64_t seed, uint32_t n)
{
	struct cnode *head = NULL, *p;
	uint32_t i, j;

	for (i = n; i-- > 0;) {
		uint64_t key = key_of(seed, i);

		p = gch_malloc(sizeof(*p));
		if (!p)
			return NULL;
		p->self = (uintptr_t)p ^ key;
		p->key = key;
		p->idx = i;
		p->n = n;
		for (j = 0; j < NODE_WORDS; j++)
			p->payload[j] = mix64(key + j);
		p->next = head;
		if (has_blob(key)) {
			p->blob = gch_malloc_atomic(BLOB_WORDS * 8);
			if (!p->blob)
				return NULL;
			for (j = 0; j < BLOB_WORDS; j++)
				p->blob[j] = mix64(~key + j) ^ (uintptr_t)p->blob;
		}
		head = p;
	}
	return head;
}

/* The same, hidden: 0 if allocation failed. */
static noinline uintptr_t graph_make(uint64_t seed, uint32_t n)
{
	struct cnode *head = graph_make_raw(seed, n);

	return head ? hide(head) : 0;
}

/*
 * Check the graph at hidden @h (@n nodes of @seed).
 * Return: the number of bad nodes (0: intact); @why says what the first was.
 */
static noinline uint32_t graph_check(uintptr_t h, uint64_t seed, uint32_t n,
				     char *why, size_t len)
{
	const struct cnode *p = unhide(h);
	uint32_t i, j, bad = 0;

	for (i = 0; i < n; i++) {
		uint64_t key = key_of(seed, i);
		const char *what = NULL;

		if (!p) {
			if (!bad)
				snprintf(why, len, "the list ends after %u of %u nodes", i, n);
			return bad + (n - i);
		}
		if (gch_base(p) != p)
			what = "no allocated object any more (freed while reachable)";
		else if (p->self != ((uintptr_t)p ^ key) || p->key != key)
			what = "checksum (self ^ key) wrong: overwritten";
		else if (p->idx != i || p->n != n)
			what = "index wrong: overwritten";
		for (j = 0; !what && j < NODE_WORDS; j++)
			if (p->payload[j] != mix64(key + j))
				what = "payload overwritten";
		if (!what && has_blob(key)) {
			if (!p->blob || gch_base(p->blob) != p->blob)
				what = "its blob is no allocated object any more";
			for (j = 0; !what && j < BLOB_WORDS; j++)
				if (p->blob[j] != (mix64(~key + j) ^ (uintptr_t)p->blob))
					what = "its blob was overwritten";
		}
		if (what) {
			if (!bad)
				snprintf(why, len, "node %u of %u (%p): %s", i, n, p, what);
			bad++;
			if (gch_base(p) != p || p->self != ((uintptr_t)p ^ key))
				return bad + (n - i - 1);	/* cannot follow it */
		}
		p = p->next;
	}
	return bad;
}

#define ROUNDS		4

/*
 * Collect ROUNDS times with garbage in between; the graph at hidden @h
 * must stay intact.  0, or -1 with @why.
 */
static noinline int collect_check(uintptr_t h, uint64_t seed, uint32_t n,
				  char *why, size_t len)
{
	char w[256];
	uint32_t bad;
	int r;

	for (r = 0; r < ROUNDS; r++) {
		scrub();
		if (gch_collect()) {
			snprintf(why, len, "collection %d: %s", r + 1, strerror(errno));
			return -1;
		}
		if (churn_sizes(3000, r, 48, 112)) {
			snprintf(why, len, "churn: %s", strerror(errno));
			return -1;
		}
		bad = graph_check(h, seed, n, w, sizeof(w));
		if (bad) {
			snprintf(why, len, "after collection %d: %u of %u nodes lost; first: %s",
				 r + 1, bad, n, w);
			return -1;
		}
	}
	return 0;
}

/* The root was dropped: one more collection must free the graph's head. */
static noinline bool freed_after_collect(uintptr_t h)
{
	scrub();
	if (gch_collect())
		return false;
	return !is_allocated(h);
}

/* --- misc -------------------------------------------------------------------- */

/* Anonymous memory of @len bytes between two PROT_NONE guard pages. */
static void *guarded_map(size_t len)
{
	long pg = sysconf(_SC_PAGESIZE);
	char *p;

	p = mmap(NULL, len + 2 * pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	if (mprotect(p + pg, len, PROT_READ | PROT_WRITE)) {
		munmap(p, len + 2 * pg);
		return NULL;
	}
	return p + pg;
}

/* A live object allocated first (see pin_arena_start() in gcheap_gc_test.c). */
static void *volatile g_pin;

/* Tests with a heap in this process, automatic collection off. */
FIXTURE(roots) {
	int unused;
};

FIXTURE_SETUP(roots)
{
	ASSERT_EQ(0, unsetenv("GCHEAP_GOGC"));
	ASSERT_EQ(0, unsetenv("GCHEAP_MAX_HEAP"));
	g_pin = gch_malloc_atomic(40000);
	ASSERT_NE(NULL, g_pin) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(100, gch_set_gc_percent(-1));
}

FIXTURE_TEARDOWN(roots)
{
}

/* ===== 1. a thread created during the stop ================================= */

#define TC_CREATORS	4
#define TC_BALLAST_MAX	4000
#define TC_MAX_LIVE	24
#define TC_NODES	6

struct tc_state {
	int stop;
	int live;
	int ballast_stop;
	unsigned long created;
	unsigned long verified;
	unsigned long corrupt;
	unsigned long create_fail;
	unsigned long collections;
	unsigned long collect_errors;
	int collect_errno;
	char why[256];
	pthread_mutex_t why_lock;
};

static struct tc_state tc;

static void *tc_ballast(void *arg)
{
	while (!__atomic_load_n(&tc.ballast_stop, __ATOMIC_ACQUIRE))
		syscall(SYS_futex, &tc.ballast_stop, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
	return NULL;
}

/* The created thread: its graph is referenced only by its argument. */
static noinline void *tc_child(void *arg)
{
	struct cnode *volatile head = arg;
	uint64_t key0;
	char w[200];
	uint32_t bad;

	sleep_ms(5 + (unsigned int)(((uintptr_t)arg >> 4) % 25));
	key0 = head->key;	/* node 0's key: ties it to its seed below */
	bad = 0;
	if (gch_base(head) != head || head->self != ((uintptr_t)head ^ key0) ||
	    head->idx != 0) {
		bad = TC_NODES;
		snprintf(w, sizeof(w), "its first node %p is gone (freed and reused)",
			 (void *)head);
	} else {
		/* the seed is the node's own: key_of(seed, 0) == key0 */
		const struct cnode *p = head;
		uint32_t i, j;

		for (i = 0; i < TC_NODES; i++, p = p->next) {
			if (!p || gch_base(p) != p || p->self != ((uintptr_t)p ^ p->key) ||
			    p->idx != i) {
				bad = TC_NODES - i;
				snprintf(w, sizeof(w), "node %u (%p) freed or overwritten", i, p);
				break;
			}
			for (j = 0; j < NODE_WORDS; j++)
				if (p->payload[j] != mix64(p->key + j))
					break;
			if (j < NODE_WORDS) {
				bad = TC_NODES - i;
				snprintf(w, sizeof(w), "node %u (%p): payload overwritten", i, p);
				break;
			}
		}
	}
	__atomic_add_fetch(&tc.verified, 1, __ATOMIC_RELAXED);
	if (bad) {
		if (__atomic_add_fetch(&tc.corrupt, 1, __ATOMIC_RELAXED) == 1) {
			pthread_mutex_lock(&tc.why_lock);
			snprintf(tc.why, sizeof(tc.why), "%s", w);
			pthread_mutex_unlock(&tc.why_lock);
		}
	}
	head = NULL;
	__atomic_sub_fetch(&tc.live, 1, __ATOMIC_RELEASE);
	return NULL;
}

/*
 * Make a graph and start a thread with it as its argument.  The graph is
 * referenced from this frame until pthread_create() has passed it on: a
 * hidden value is no pointer, so a graph held only hidden between being
 * made and being passed on was rightly freed by a collection landing
 * there (the test's own bug: once in ~15,000 threads).  0, or 1 if
 * allocation failed, 2 if the thread was not created.
 */
static noinline int tc_make_and_spawn(uint64_t seed, const pthread_attr_t *attr)
{
	struct cnode *volatile g = graph_make_raw(seed, TC_NODES);
	pthread_t t;
	int err;

	if (!g)
		return 1;
	err = pthread_create(&t, attr, tc_child, g);
	g = NULL;
	return err ? 2 : 0;
}

static void *tc_creator(void *arg)
{
	uint64_t seed = (uintptr_t)arg * 1000003;
	pthread_attr_t attr;
	int r;

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * KiB);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	while (!__atomic_load_n(&tc.stop, __ATOMIC_ACQUIRE)) {
		if (__atomic_load_n(&tc.live, __ATOMIC_ACQUIRE) >= TC_MAX_LIVE) {
			sched_yield();
			continue;
		}
		/* counted first: the child counts itself out */
		__atomic_add_fetch(&tc.live, 1, __ATOMIC_ACQ_REL);
		r = tc_make_and_spawn(seed++, &attr);
		if (r) {
			__atomic_sub_fetch(&tc.live, 1, __ATOMIC_RELEASE);
			__atomic_add_fetch(&tc.create_fail, 1, __ATOMIC_RELAXED);
			if (r == 2)
				sleep_ms(1);
		} else {
			__atomic_add_fetch(&tc.created, 1, __ATOMIC_RELAXED);
		}
		scrub_small();
	}
	pthread_attr_destroy(&attr);
	return NULL;
}

static void *tc_collector(void *arg)
{
	unsigned int i = 0;

	while (!__atomic_load_n(&tc.stop, __ATOMIC_ACQUIRE)) {
		if (gch_collect()) {
			tc.collect_errors++;
			tc.collect_errno = errno;
		} else {
			tc.collections++;
		}
		churn_sizes(300, i++, 48, 112);
	}
	return NULL;
}

/*
 * Threads whose only reference to their graph is the pthread_create()
 * argument, created by 4 threads as fast as they can while a 5th collects
 * without pause: a thread created while the world stops must be stopped
 * and scanned too (after a creator that was queued finishes its clone()).
 */
TEST_F_TIMEOUT(roots, thread_created_during_stop, 120)
{
	TEST_PROLOGUE();
	unsigned int nb = env_uint("GCHEAP_ROOTS_TEST_BALLAST", 200);
	pthread_t creators[TC_CREATORS], collector, *ballast;
	unsigned int secs = stress_seconds(), i, nballast = 0;
	pthread_attr_t small;
	uint64_t end;

	memset(&tc, 0, sizeof(tc));
	pthread_mutex_init(&tc.why_lock, NULL);
	pthread_attr_init(&small);
	pthread_attr_setstacksize(&small, 64 * KiB);
	/* threads before the creators: a longer walk between scan and check */
	if (nb > TC_BALLAST_MAX)
		nb = TC_BALLAST_MAX;
	ballast = calloc(nb + 1, sizeof(*ballast));
	ASSERT_NE(NULL, ballast);
	for (i = 0; i < nb; i++)
		if (!pthread_create(&ballast[nballast], &small, tc_ballast, NULL))
			nballast++;
	for (i = 0; i < TC_CREATORS; i++)
		ASSERT_EQ(0, pthread_create(&creators[i], &small, tc_creator,
					    (void *)(uintptr_t)(i + 1)));
	ASSERT_EQ(0, pthread_create(&collector, NULL, tc_collector, NULL));
	end = now_ns() + secs * NSEC;
	/* on a slow kernel (debug, KASAN) run on until 11 collections, <= 60 s */
	while ((now_ns() < end ||
		(__atomic_load_n(&tc.collections, __ATOMIC_RELAXED) <= 10 &&
		 now_ns() < end + 60 * NSEC)) &&
	       !__atomic_load_n(&tc.corrupt, __ATOMIC_RELAXED))
		sleep_ms(100);
	__atomic_store_n(&tc.stop, 1, __ATOMIC_RELEASE);
	for (i = 0; i < TC_CREATORS; i++)
		pthread_join(creators[i], NULL);
	pthread_join(collector, NULL);
	end = now_ns() + 20 * NSEC;
	while (__atomic_load_n(&tc.live, __ATOMIC_ACQUIRE) > 0 && now_ns() < end)
		sleep_ms(10);
	ASSERT_GE(0, __atomic_load_n(&tc.live, __ATOMIC_ACQUIRE))
		TH_LOG("%d created threads did not finish", tc.live);
	__atomic_store_n(&tc.ballast_stop, 1, __ATOMIC_RELEASE);
	syscall(SYS_futex, &tc.ballast_stop, FUTEX_WAKE_PRIVATE, INT32_MAX, NULL, NULL, 0);
	for (i = 0; i < nballast; i++)
		pthread_join(ballast[i], NULL);
	free(ballast);

	ksft_print_msg("thread_created_during_stop: %u s, %lu threads created (%lu failed), %lu verified, %lu corrupt; %lu collections, %lu failed (last: %s), %u ballast threads\n",
		       secs, tc.created, tc.create_fail, tc.verified, tc.corrupt,
		       tc.collections, tc.collect_errors,
		       tc.collect_errors ? strerror(tc.collect_errno) : "-", nballast);
	EXPECT_EQ(0, tc.corrupt)
		TH_LOG("%lu of %lu threads found their graph (referenced only by their start argument) freed; first: %s",
		       tc.corrupt, tc.verified, tc.why);
	EXPECT_LT(10, tc.collections) TH_LOG("too few collections to test anything");
	EXPECT_LT(50, tc.created) TH_LOG("too few threads created to test anything");
}

/* ===== 2. roots under a protection key ===================================== */

/* A bss page of its own (libgcheap registers the executable's bss). */
static void *volatile pk_bss[4096 / sizeof(void *)] __attribute__((aligned(4096)));

FIXTURE(pkey) {
	int key;
	void *volatile *slot;	/* where the graph's head is stored */
	void *page;
	void *map;		/* the guarded mapping (mmap variants) */
};

FIXTURE_VARIANT(pkey) {
	bool bss;		/* else a gch_add_roots() mmap range */
	bool idle_disabled;	/* access disabled while the program does not use it */
};

FIXTURE_VARIANT_ADD(pkey, bss_page) {
	.bss = true,
};

FIXTURE_VARIANT_ADD(pkey, add_roots_range) {
	.bss = false,
};

FIXTURE_VARIANT_ADD(pkey, add_roots_range_disabled_while_idle) {
	.bss = false,
	.idle_disabled = true,
};

FIXTURE_VARIANT_ADD(pkey, bss_page_disabled_while_idle) {
	.bss = true,
	.idle_disabled = true,
};

FIXTURE_SETUP(pkey)
{
	long pg = sysconf(_SC_PAGESIZE);
	int status, fds[2];
	pid_t pid;

	self->key = -1;
	self->map = NULL;
	ASSERT_EQ(0, unsetenv("GCHEAP_GOGC"));
	g_pin = gch_malloc_atomic(40000);
	ASSERT_NE(NULL, g_pin) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(100, gch_set_gc_percent(-1));
	self->key = pkey_alloc(0, 0);
	if (self->key < 0)
		SKIP(return, "pkey_alloc: %s (no protection keys: CPU without PKU/OSPKE or kernel without CONFIG_X86_INTEL_MEMORY_PROTECTION_KEYS)",
		     strerror(errno));
	if (variant->bss) {
		self->page = (void *)pk_bss;
	} else {
		self->map = guarded_map(pg);
		ASSERT_NE(NULL, self->map);
		self->page = self->map;
		ASSERT_EQ(0, gch_add_roots(self->page, (char *)self->page + pg))
			TH_LOG("%s", strerror(errno));
	}
	memset(self->page, 0, pg);
	self->slot = (void *volatile *)self->page + 17;
	ASSERT_EQ(0, pkey_mprotect(self->page, pg, PROT_READ | PROT_WRITE, self->key))
		TH_LOG("pkey_mprotect: %s", strerror(errno));
	/* are keys enforced at all (by the CPU, or the emulator)? */
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		pkey_set(self->key, PKEY_DISABLE_ACCESS);
		_exit(*(volatile char *)self->page == 0 ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV))
		SKIP(return, "protection keys are not enforced: a read with the key's access disabled did not fault (status %#x)",
		     status);
	/* and the kernel's own accesses (copy_from_user) for this thread? */
	ASSERT_EQ(0, pipe(fds));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		pkey_set(self->key, PKEY_DISABLE_ACCESS);
		_exit(write(fds[1], self->page, 8) < 0 && errno == EFAULT ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	close(fds[0]);
	close(fds[1]);
	ksft_print_msg("pkey %d: user reads fault; the kernel's copy_from_user %s the thread's PKRU\n",
		       self->key, WIFEXITED(status) && WEXITSTATUS(status) == 0 ?
		       "honours" : "ignores (emulator?)");
}

FIXTURE_TEARDOWN(pkey)
{
	if (self->key >= 0)
		pkey_set(self->key, 0);
}

/*
 * The graph's only reference is in a page under a protection key.  The
 * program may use the page (its PKRU allows the key); the kernel reading
 * it for a collection must too, whatever PKRU its mark workers run with
 * and whatever the program's PKRU is while it does not use the page.
 */
TEST_F_TIMEOUT(pkey, root_page_under_pkey, 60)
{
	TEST_PROLOGUE();
	const uint64_t seed = 0x9e11;
	const uint32_t n = 300;
	char why[512];
	uintptr_t h;
	int ret;

	h = graph_make(seed, n);
	ASSERT_NE(0, h) TH_LOG("%s", strerror(errno));
	store_slot(self->slot, h);
	if (variant->idle_disabled)
		ASSERT_EQ(0, pkey_set(self->key, PKEY_DISABLE_ACCESS));
	ret = collect_check(h, seed, n, why, sizeof(why));
	if (variant->idle_disabled)
		ASSERT_EQ(0, pkey_set(self->key, 0));
	ASSERT_EQ(0, ret) TH_LOG("root in a %s page under pkey %d%s: %s",
				 variant->bss ? "bss" : "gch_add_roots()", self->key,
				 variant->idle_disabled ? " (access disabled in the program's PKRU while collecting)" : "",
				 why);
	EXPECT_EQ(h, load_slot(self->slot));
	store_slot(self->slot, 0);
	EXPECT_TRUE(freed_after_collect(h))
		TH_LOG("the graph outlived its root: something else references it, the test tested nothing");
}

/* ===== 3. a signal handler on an alternate stack =========================== */

struct alt {
	pthread_t thread;
	uintptr_t h;
	void *altstack;
	int holding;		/* the thread stored the pointer and waits */
	int in_handler;		/* the handler runs (on the alternate stack) */
	int release;		/* the handler may return */
	int handled;
	int slot_ok;
	uintptr_t handler_sp;
};

static struct alt alt;

static void alt_handler(int sig)
{
	uintptr_t sp;

	asm volatile("movq %%rsp, %0" : "=r" (sp));
	alt.handler_sp = sp;
	__atomic_store_n(&alt.in_handler, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&alt.release, __ATOMIC_ACQUIRE))
		sleep_ms(2);
	__atomic_store_n(&alt.handled, 1, __ATOMIC_RELEASE);
}

/* The frame the signal interrupts: the graph's only reference. */
static noinline void alt_hold(void)
{
	void *volatile slot = NULL;

	store_slot(&slot, alt.h);
	wipe_regs();
	__atomic_store_n(&alt.holding, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&alt.handled, __ATOMIC_ACQUIRE))
		syscall(SYS_sched_yield);
	alt.slot_ok = load_slot(&slot) == alt.h;
	slot = NULL;
}

static void *alt_run(void *arg)
{
	stack_t ss = { .ss_sp = alt.altstack, .ss_size = 256 * KiB };

	if (sigaltstack(&ss, NULL))
		return (void *)1;
	scrub();
	alt_hold();
	scrub();
	return NULL;
}

TEST_F_TIMEOUT(roots, sigaltstack_handler, 60)
{
	TEST_PROLOGUE();
	struct sigaction sa = { .sa_handler = alt_handler, .sa_flags = SA_ONSTACK };
	const uint64_t seed = 0xa175;
	const uint32_t n = 300;
	char why[512];
	void *ret;
	int r;

	memset(&alt, 0, sizeof(alt));
	alt.altstack = guarded_map(256 * KiB);
	ASSERT_NE(NULL, alt.altstack);
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	alt.h = graph_make(seed, n);
	ASSERT_NE(0, alt.h);
	ASSERT_EQ(0, pthread_create(&alt.thread, NULL, alt_run, NULL));
	ASSERT_TRUE(wait_for(&alt.holding, 1, 10000));
	ASSERT_EQ(0, pthread_kill(alt.thread, SIGUSR1));
	ASSERT_TRUE(wait_for(&alt.in_handler, 1, 10000));
	ASSERT_TRUE(alt.handler_sp >= (uintptr_t)alt.altstack &&
		    alt.handler_sp < (uintptr_t)alt.altstack + 256 * KiB)
		TH_LOG("the handler does not run on the alternate stack");

	r = collect_check(alt.h, seed, n, why, sizeof(why));
	__atomic_store_n(&alt.release, 1, __ATOMIC_RELEASE);
	ASSERT_EQ(0, pthread_join(alt.thread, &ret));
	EXPECT_EQ(NULL, ret);
	EXPECT_EQ(0, r) TH_LOG("a thread in a signal handler on its alternate stack, the reference in the interrupted frame of its normal stack: %s",
			       why);
	EXPECT_TRUE(alt.slot_ok);
	EXPECT_TRUE(freed_after_collect(alt.h)) TH_LOG("the graph outlived its root");
}

/* ===== 4. a stack switched away from (makecontext/swapcontext) ============== */

/*
 * What bdwgc does: it scans each thread from its current stack pointer to
 * the stack base it recorded for the thread; a stack switched away from
 * is not scanned unless the program registers it (GC_add_roots, or
 * GC_set_stackbottom()/GC_get_my_stackbottom() for coroutine libraries),
 * and a thread whose sp is outside its recorded stack is scanned from sp
 * to that base (garbage or a crash).  gcheap can do better for the common
 * case tested here: a thread running on a coroutine stack keeps its own
 * normal stack (glibc's stack mapping, which holds its TLS and thread
 * pointer; the main thread's [stack]), and that stack must be scanned
 * whole when the stack pointer is elsewhere.  Coroutine stacks switched
 * away from are the program's to register, as with bdwgc.
 */
struct coro {
	ucontext_t main_uc, co_uc;
	void *stack;
	uintptr_t h;
	uint64_t seed;
	uint32_t n;
	int on_coro;
	int done;		/* the collector is done */
	int result;
	int slot_ok;
	char why[512];
};

static struct coro co;

static void co_body(void)
{
	__atomic_store_n(&co.on_coro, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&co.done, __ATOMIC_ACQUIRE))
		sleep_ms(2);
	/* uc_link returns to co.main_uc */
}

/* The frame switched away from: the graph's only reference. */
static noinline int co_hold(void)
{
	void *volatile slot = NULL;
	int r;

	store_slot(&slot, co.h);
	wipe_regs();
	r = swapcontext(&co.main_uc, &co.co_uc);
	co.slot_ok = load_slot(&slot) == co.h;
	slot = NULL;
	return r;
}

static void *co_collector(void *arg)
{
	if (!wait_for(&co.on_coro, 1, 10000)) {
		co.result = -1;
		snprintf(co.why, sizeof(co.why), "the coroutine did not start");
	} else {
		co.result = collect_check(co.h, co.seed, co.n, co.why, sizeof(co.why));
	}
	__atomic_store_n(&co.done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void *co_switcher(void *arg)
{
	scrub();
	if (co_hold())
		return (void *)1;
	scrub();
	return NULL;
}

FIXTURE(coro) {
	int unused;
};

FIXTURE_VARIANT(coro) {
	bool main_thread;	/* the main thread switches, else another */
};

FIXTURE_VARIANT_ADD(coro, other_thread) {
	.main_thread = false,
};

FIXTURE_VARIANT_ADD(coro, main_thread) {
	.main_thread = true,
};

FIXTURE_SETUP(coro)
{
	ASSERT_EQ(0, unsetenv("GCHEAP_GOGC"));
	g_pin = gch_malloc_atomic(40000);
	ASSERT_NE(NULL, g_pin);
	ASSERT_EQ(100, gch_set_gc_percent(-1));
}

FIXTURE_TEARDOWN(coro)
{
}

TEST_F_TIMEOUT(coro, normal_stack_while_on_coroutine, 60)
{
	TEST_PROLOGUE();
	pthread_t t;
	void *ret = NULL;

	memset(&co, 0, sizeof(co));
	co.seed = 0xc0c0;
	co.n = 300;
	co.stack = guarded_map(256 * KiB);
	ASSERT_NE(NULL, co.stack);
	ASSERT_EQ(0, getcontext(&co.co_uc));
	co.co_uc.uc_stack.ss_sp = co.stack;
	co.co_uc.uc_stack.ss_size = 256 * KiB;
	co.co_uc.uc_link = &co.main_uc;
	makecontext(&co.co_uc, co_body, 0);
	co.h = graph_make(co.seed, co.n);
	ASSERT_NE(0, co.h);

	if (variant->main_thread) {
		ASSERT_EQ(0, pthread_create(&t, NULL, co_collector, NULL));
		scrub();
		ASSERT_EQ(0, co_hold());
		scrub();
		ASSERT_EQ(0, pthread_join(t, NULL));
	} else {
		ASSERT_EQ(0, pthread_create(&t, NULL, co_switcher, NULL));
		co_collector(NULL);
		ASSERT_EQ(0, pthread_join(t, &ret));
		ASSERT_EQ(NULL, ret);
	}
	EXPECT_EQ(0, co.result)
		TH_LOG("the %s thread runs on a makecontext() stack, the reference only on its normal stack: %s",
		       variant->main_thread ? "main" : "other", co.why);
	EXPECT_TRUE(co.slot_ok);
	EXPECT_TRUE(freed_after_collect(co.h)) TH_LOG("the graph outlived its root");
}

/* ===== 8. many threads ===================================================== */

#define MT_NODES	4

struct mt_thread {
	pthread_t t;
	uintptr_t h;
	int ok;
};

static int mt_holding, mt_release;

static noinline void mt_hold(struct mt_thread *m)
{
	void *volatile slot = NULL;

	store_slot(&slot, m->h);
	wipe_regs();
	__atomic_add_fetch(&mt_holding, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&mt_release, __ATOMIC_ACQUIRE))
		syscall(SYS_futex, &mt_release, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
	m->ok = load_slot(&slot) == m->h;
	slot = NULL;
}

static void *mt_run(void *arg)
{
	scrub_small();
	mt_hold(arg);
	return NULL;
}

/*
 * 2000 threads, each holding a graph only in a frame of its stack, waiting
 * in futex(): every collection must stop and scan all of them.
 * GCHEAP_ROOTS_TEST_MANY sets another count (the debug kernel's profile
 * in run-in-vm.sh: 600, still past a scan batch of 512 threads, where
 * making 2000 under lockdep and KASAN takes a minute and a half).
 */
TEST_F_TIMEOUT(roots, threads_2000, 180)
{
	TEST_PROLOGUE();
	const unsigned int want = env_uint("GCHEAP_ROOTS_TEST_MANY", 2000);
	struct mt_thread *m;
	struct gch_collection c;
	pthread_attr_t attr;
	unsigned int i, nt = 0, bad = 0, r;
	char why[256], first[300] = "";

	m = calloc(want, sizeof(*m));
	ASSERT_NE(NULL, m);
	mt_holding = mt_release = 0;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * KiB);
	for (i = 0; i < want; i++) {
		m[i].h = graph_make(0x2000 + i, MT_NODES);
		ASSERT_NE(0, m[i].h);
		if (pthread_create(&m[i].t, &attr, mt_run, &m[i]))
			break;
		nt++;
	}
	if (nt < want) {
		__atomic_store_n(&mt_release, 1, __ATOMIC_RELEASE);
		syscall(SYS_futex, &mt_release, FUTEX_WAKE_PRIVATE, INT32_MAX, NULL, NULL, 0);
		for (i = 0; i < nt; i++)
			pthread_join(m[i].t, NULL);
		SKIP(return, "only %u of %u threads could be created", nt, want);
	}
	ASSERT_TRUE(wait_for(&mt_holding, nt, 60000)) TH_LOG("%d threads ready", mt_holding);
	for (r = 0; r < ROUNDS && !bad; r++) {
		scrub();
		ASSERT_EQ(0, gch_collect()) TH_LOG("collection %u with %u threads: %s", r + 1, nt,
						   strerror(errno));
		ASSERT_EQ(0, gch_last_collection(&c));
		EXPECT_EQ(nt, c.threads);
		ASSERT_EQ(0, churn_sizes(4000, r, 48, 112));
		for (i = 0; i < nt; i++) {
			if (graph_check(m[i].h, 0x2000 + i, MT_NODES, why, sizeof(why))) {
				if (!bad++)
					snprintf(first, sizeof(first), "thread %u: %s", i, why);
			}
		}
	}
	ksft_print_msg("threads_2000: %u threads, last stop %llu us, pause %llu us, %u graphs lost\n",
		       nt, (unsigned long long)c.stw_ns / 1000,
		       (unsigned long long)c.pause_ns / 1000, bad);
	__atomic_store_n(&mt_release, 1, __ATOMIC_RELEASE);
	syscall(SYS_futex, &mt_release, FUTEX_WAKE_PRIVATE, INT32_MAX, NULL, NULL, 0);
	for (i = 0; i < nt; i++) {
		pthread_join(m[i].t, NULL);
		EXPECT_TRUE(m[i].ok);
	}
	EXPECT_EQ(0, bad) TH_LOG("%u of %u threads' graphs (only on their stacks) lost; first: %s",
				 bad, nt, first);
	free(m);
}

/* ===== processes of their own ============================================== */

FIXTURE(proc) {
	pid_t child;	/* killed at teardown if a test leaves it behind */
};

FIXTURE_SETUP(proc)
{
	ASSERT_EQ(0, unsetenv("GCHEAP_GOGC"));
	ASSERT_EQ(0, unsetenv("GCHEAP_MAX_HEAP"));
	self->child = 0;
}

FIXTURE_TEARDOWN(proc)
{
	if (self->child > 0) {
		kill(self->child, SIGKILL);
		/* never wait unboundedly: it may be stuck in the kernel */
		wait_timeout(self->child, NULL, 0, 5000);
	}
}

/* ===== 8b. more threads than the stop's limits =============================== */

static int many_stop;

static void *many_sleeper(void *arg)
{
	while (!__atomic_load_n(&many_stop, __ATOMIC_ACQUIRE))
		syscall(SYS_futex, &many_stop, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
	return NULL;
}

#define THREADS_MAX_PATH "/proc/sys/kernel/threads-max"

static long read_long(const char *path)
{
	char buf[64] = "";
	long v = -1;
	int fd = open(path, O_RDONLY);

	if (fd >= 0) {
		if (read(fd, buf, sizeof(buf) - 1) > 0)
			v = strtol(buf, NULL, 10);
		close(fd);
	}
	return v;
}

static int write_long(const char *path, long v)
{
	char buf[64];
	int fd = open(path, O_WRONLY), n, r;

	if (fd < 0)
		return -1;
	n = snprintf(buf, sizeof(buf), "%ld\n", v);
	r = write(fd, buf, n) == n ? 0 : -1;
	close(fd);
	return r;
}

/*
 * 17,000 sleeping threads with 16 KiB stacks (more than GCH_STW_BATCH x
 * GCH_STW_MAX_SCANS = 16,384): the collection must succeed, stop them all,
 * and keep what only the main thread's stack references.  Runs in a child
 * (the threads die with it).  Raises kernel.threads-max for the test if
 * it is lower (restored after).
 */
struct many_result {
	int phase;
	unsigned int threads;
	int create_errno;
	int collect_ret;
	int collect_errno;
	unsigned int stopped;
	uint64_t collect_ns;
	uint64_t create_ns;
	int graph_bad;
	char why[256];
};

static noinline int many_child(struct many_result *res, unsigned int want)
{
	size_t stack = 16 * KiB;
	struct gch_collection c;
	pthread_attr_t attr;
	pthread_t t;
	uint64_t t0;
	uintptr_t h;
	long minstack = sysconf(_SC_THREAD_STACK_MIN);
	void *volatile slot = NULL;

	if (minstack > 0 && (size_t)minstack > stack)
		stack = minstack;
	g_pin = gch_malloc_atomic(40000);
	gch_set_gc_percent(-1);
	h = graph_make(0x17000, 200);
	if (!h)
		return 2;
	store_slot(&slot, h);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, stack);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	t0 = now_ns();
	for (res->threads = 0; res->threads < want; res->threads++) {
		int e = pthread_create(&t, &attr, many_sleeper, NULL);

		if (e) {
			res->create_errno = e;
			break;
		}
	}
	res->create_ns = now_ns() - t0;
	__atomic_store_n(&res->phase, 1, __ATOMIC_RELEASE);
	if (res->threads < want)
		return 3;
	scrub();
	t0 = now_ns();
	res->collect_ret = gch_collect();
	res->collect_errno = errno;
	res->collect_ns = now_ns() - t0;
	if (!res->collect_ret && !gch_last_collection(&c))
		res->stopped = c.threads;
	if (!res->collect_ret) {
		churn_sizes(3000, 1, 48, 112);
		res->graph_bad = graph_check(h, 0x17000, 200, res->why, sizeof(res->why));
	}
	if (load_slot(&slot) != h)
		res->graph_bad = -1;
	__atomic_store_n(&res->phase, 2, __ATOMIC_RELEASE);
	return 0;
}

TEST_F_TIMEOUT(proc, threads_17000, 300)
{
	TEST_PROLOGUE();
	const unsigned int want = env_uint("GCHEAP_ROOTS_TEST_THREADS", 17000);
	struct many_result *res = shared_map(sizeof(*res));
	long old_max = read_long(THREADS_MAX_PATH), new_max = want + 1000;
	struct rlimit rl;
	int status;
	pid_t pid, w;

	ASSERT_NE(NULL, res);
	/*
	 * The limit checked is the module's, the same on every kernel; under
	 * lockdep and KASAN making 17,000 threads alone takes minutes.
	 */
	if (!getenv("GCHEAP_ROOTS_TEST_THREADS") && !access("/proc/lockdep", F_OK))
		SKIP(return, "debug kernel (lockdep): 17,000 threads take minutes to make here; the stock kernels run this (GCHEAP_ROOTS_TEST_THREADS forces it)");
	if (old_max >= 0 && old_max < new_max && write_long(THREADS_MAX_PATH, new_max))
		ksft_print_msg("threads-max is %ld and cannot be raised: %s\n", old_max,
			       strerror(errno));
	if (!getrlimit(RLIMIT_NPROC, &rl) && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < want + 100) {
		rl.rlim_cur = rl.rlim_max = want + 100;
		setrlimit(RLIMIT_NPROC, &rl);
	}
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		alarm(250);
		_exit(many_child(res, want));
	}
	self->child = pid;
	w = wait_timeout(pid, &status, 0, 240000);
	if (old_max >= 0 && old_max < new_max)
		write_long(THREADS_MAX_PATH, old_max);
	ASSERT_EQ(pid, w) TH_LOG("the child (%u threads, phase %d) did not finish in 240 s",
				 res->threads, res->phase);
	self->child = 0;
	ksft_print_msg("threads_17000: %u threads created in %llu ms (stack 16 KiB); collection: %d (%s) in %llu ms, %u stopped\n",
		       res->threads, (unsigned long long)res->create_ns / MSEC,
		       res->collect_ret, res->collect_ret ? strerror(res->collect_errno) : "ok",
		       (unsigned long long)res->collect_ns / MSEC, res->stopped);
	if (res->phase >= 1 && res->threads < want)
		SKIP(return, "only %u of %u threads could be created: %s (memory or kernel limits)",
		     res->threads, want, strerror(res->create_errno));
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
		TH_LOG("child status %#x", status);
	EXPECT_EQ(0, res->collect_ret)
		TH_LOG("a collection with %u other threads failed: %s", res->threads,
		       strerror(res->collect_errno));
	if (!res->collect_ret)
		EXPECT_EQ(res->threads, res->stopped);
	EXPECT_EQ(0, res->graph_bad) TH_LOG("%s", res->why);
}

/* ===== 5. a CLONE_VM child that is no thread of the owner ================== */

static long raw_syscall6(long nr, long a1, long a2, long a3, long a4, long a5, long a6)
{
	register long r10 asm("r10") = a4;
	register long r8 asm("r8") = a5;
	register long r9 asm("r9") = a6;
	long ret;

	asm volatile("syscall"
		     : "=a" (ret)
		     : "a" (nr), "D" (a1), "S" (a2), "d" (a3), "r" (r10), "r" (r8), "r" (r9)
		     : "rcx", "r11", "memory");
	return ret;
}

struct cvm {
	int fd;
	uint64_t arena_start, arena_size;
	int go;
	long collect, stats, roots, alloc, query, version, mmap_control, mmap_arena;
	int collected;
	int done;
	unsigned long mapfixed_delay_us;	/* hang.mapfixed_by_clone_vm_child */
};

static struct cvm cvm;

/* The CLONE_VM child: raw system calls only (it shares the owner's TLS). */
static int cvm_child(void *arg)
{
	struct gch_collect c;
	struct gch_stats st;
	struct gch_roots r;
	struct gch_alloc a;
	struct gch_version v;
	long ret;

	__builtin_memset(&c, 0, sizeof(c));
	c.hdr.size = sizeof(c);
	ret = raw_syscall6(SYS_ioctl, cvm.fd, GCH_IOC_COLLECT, (long)&c, 0, 0, 0);
	cvm.collect = ret;
	cvm.collected = c.collected;
	__builtin_memset(&v, 0, sizeof(v));
	v.hdr.size = sizeof(v);
	cvm.version = raw_syscall6(SYS_ioctl, cvm.fd, GCH_IOC_VERSION, (long)&v, 0, 0, 0);
	__builtin_memset(&st, 0, sizeof(st));
	st.hdr.size = sizeof(st);
	cvm.stats = raw_syscall6(SYS_ioctl, cvm.fd, GCH_IOC_STATS, (long)&st, 0, 0, 0);
	__builtin_memset(&r, 0, sizeof(r));
	r.hdr.size = sizeof(r);
	r.op = GCH_ROOTS_CLEAR;
	r.tag = 0x77;
	cvm.roots = raw_syscall6(SYS_ioctl, cvm.fd, GCH_IOC_ROOTS, (long)&r, 0, 0, 0);
	__builtin_memset(&a, 0, sizeof(a));
	a.hdr.size = sizeof(a);
	a.size = 100000;
	cvm.alloc = raw_syscall6(SYS_ioctl, cvm.fd, GCH_IOC_ALLOC_LARGE, (long)&a, 0, 0, 0);
	cvm.mmap_control = raw_syscall6(SYS_mmap, 0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED,
					cvm.fd, GCH_MMAP_CONTROL);
	cvm.mmap_arena = raw_syscall6(SYS_mmap, 0, cvm.arena_size, PROT_READ | PROT_WRITE,
				      MAP_SHARED, cvm.fd, GCH_MMAP_ARENA);
	__atomic_store_n(&cvm.done, 1, __ATOMIC_RELEASE);
	raw_syscall6(SYS_exit, 0, 0, 0, 0, 0, 0);
	return 0;
}

static noinline pid_t cvm_start(int (*fn)(void *), void *stack, size_t len)
{
	return clone(fn, (char *)stack + len - 64, CLONE_VM | SIGCHLD, NULL);
}

/* The owner's frame: the graph's only reference while the child runs. */
static noinline int cvm_hold(uintptr_t h, void *stack, size_t len, pid_t *pid, int *status)
{
	void *volatile slot = NULL;
	int ok;

	store_slot(&slot, h);
	wipe_regs();
	*pid = cvm_start(cvm_child, stack, len);
	if (*pid < 0)
		return -1;
	if (wait_timeout(*pid, status, 0, 60000) != *pid)
		return -2;
	ok = load_slot(&slot) == h;
	slot = NULL;
	return ok ? 0 : -3;
}

/*
 * A clone(CLONE_VM | SIGCHLD) child shares the owner's mm but is not one
 * of its threads: a collection it ran would stop none of the owner's
 * threads and scan none of their stacks.  Every ioctl and mmap it makes
 * must fail with EPERM, and the owner's objects (here only on the owner's
 * stack) must survive.
 */
TEST_F_TIMEOUT(proc, clone_vm_child_eperm, 60)
{
	TEST_PROLOGUE();
	const uint64_t seed = 0xc10e;
	const uint32_t n = 400;
	struct gch_heap_stats st;
	void *stack = guarded_map(256 * KiB);
	char why[256];
	uint32_t bad;
	int status = 0, r;
	pid_t pid = 0;
	uintptr_t h;

	ASSERT_NE(NULL, stack);
	g_pin = gch_malloc_atomic(40000);
	ASSERT_NE(NULL, g_pin);
	ASSERT_EQ(100, gch_set_gc_percent(-1));
	ASSERT_EQ(0, gch_stats(&st));
	memset(&cvm, 0, sizeof(cvm));
	cvm.fd = raw_heap_fd();	/* the library's: the only one here */
	ASSERT_LE(0, cvm.fd) TH_LOG("no fd of /dev/gcheap in /proc/self/fd");
	cvm.arena_start = (uintptr_t)st.arena_start;
	cvm.arena_size = st.arena_size;
	h = graph_make(seed, n);
	ASSERT_NE(0, h);
	scrub();
	r = cvm_hold(h, stack, 256 * KiB, &pid, &status);
	ASSERT_NE(-1, r) TH_LOG("clone: %s", strerror(errno));
	if (r == -2)
		self->child = pid;
	ASSERT_NE(-2, r) TH_LOG("the CLONE_VM child did not finish in 60 s");
	EXPECT_EQ(0, r) TH_LOG("the owner's stack slot changed");
	ASSERT_TRUE(WIFEXITED(status)) TH_LOG("child status %#x", status);
	churn_sizes(4000, 5, 48, 112);
	bad = graph_check(h, seed, n, why, sizeof(why));

	ksft_print_msg("CLONE_VM child: COLLECT %ld (collected %d), VERSION %ld, STATS %ld, ROOTS %ld, ALLOC_LARGE %ld, mmap control %s%ld, mmap arena %s%ld; owner's graph: %u of %u nodes lost\n",
		       cvm.collect, cvm.collected, cvm.version, cvm.stats, cvm.roots, cvm.alloc,
		       cvm.mmap_control > -4096 && cvm.mmap_control < 0 ? "" : "ok ",
		       cvm.mmap_control > -4096 && cvm.mmap_control < 0 ? cvm.mmap_control : 0,
		       cvm.mmap_arena > -4096 && cvm.mmap_arena < 0 ? "" : "ok ",
		       cvm.mmap_arena > -4096 && cvm.mmap_arena < 0 ? cvm.mmap_arena : 0, bad, n);
	EXPECT_EQ(0, bad) TH_LOG("the CLONE_VM child's collection freed the owner's stack-only objects: %s",
				 why);
	EXPECT_EQ(-EPERM, cvm.collect);
	EXPECT_EQ(-EPERM, cvm.version);
	EXPECT_EQ(-EPERM, cvm.stats);
	EXPECT_EQ(-EPERM, cvm.roots);
	EXPECT_EQ(-EPERM, cvm.alloc);
	EXPECT_EQ(-EPERM, cvm.mmap_control);
	EXPECT_EQ(-EPERM, cvm.mmap_arena);
}

/* ===== 7. a huge root range ================================================= */

struct huge {
	int phase;		/* 1: added, 2: collecting, 3: returned */
	int ret;
	int err;
	uint64_t ns;
	int unreachable_kept;
	int attempts;
	char msg[200];
};

static noinline uintptr_t alloc_hidden(size_t size)
{
	void *p = gch_malloc_atomic(size);

	return p ? hide(p) : 0;
}

static int huge_child(struct huge *hs, size_t len, bool loop)
{
	uintptr_t garbage;
	uint64_t t0;
	void *p;

	g_pin = gch_malloc_atomic(40000);
	gch_set_gc_percent(-1);
	garbage = alloc_hidden(1000);
	p = mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		snprintf(hs->msg, sizeof(hs->msg), "mmap of %zu GiB: %s", len / GiB, strerror(errno));
		return 4;
	}
	if (gch_add_roots(p, (char *)p + len)) {
		snprintf(hs->msg, sizeof(hs->msg), "gch_add_roots: %s", strerror(errno));
		return 5;
	}
	__atomic_store_n(&hs->phase, 1, __ATOMIC_RELEASE);
	do {
		__atomic_store_n(&hs->phase, 2, __ATOMIC_RELEASE);
		t0 = now_ns();
		scrub();
		hs->ret = gch_collect();
		hs->err = errno;
		hs->ns = now_ns() - t0;
		hs->attempts++;
	} while (loop);
	hs->unreachable_kept = is_allocated(garbage);
	__atomic_store_n(&hs->phase, 3, __ATOMIC_RELEASE);
	return 0;
}

static size_t huge_len(void)
{
	return (size_t)env_uint("GCHEAP_ROOTS_TEST_HUGE_GIB", 64) * GiB;
}

/*
 * A collection over a root range of 64 GiB (PROT_READ, MAP_NORESERVE: the
 * zero page) must fail quickly with an error, freeing nothing, instead of
 * reading for minutes without a way to stop it.
 */
TEST_F_TIMEOUT(proc, huge_root_range_fails_fast, 120)
{
	TEST_PROLOGUE();
	struct huge *hs = shared_map(sizeof(*hs));
	size_t len = huge_len();
	uint64_t t0, killed_ns = 0;
	int status;
	pid_t pid, w;

	ASSERT_NE(NULL, hs);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(huge_child(hs, len, false));
	self->child = pid;
	w = wait_timeout(pid, &status, 0, 20000);
	if (w != pid) {
		/* still scanning: how long until SIGKILL ends it? */
		t0 = now_ns();
		kill(pid, SIGKILL);
		w = wait_timeout(pid, &status, 0, 30000);
		killed_ns = now_ns() - t0;
		if (w == pid)
			self->child = 0;
		ksft_print_msg("huge_root_range_fails_fast: %zu GiB: the collection still ran after 20 s (phase %d); SIGKILL %s after %llu ms\n",
			       len / GiB, hs->phase, w == pid ? "ended it" : "had not ended it",
			       (unsigned long long)killed_ns / MSEC);
		ASSERT_TRUE(false) TH_LOG("a collection over a %zu GiB root range did not fail within 20 s",
					  len / GiB);
	}
	self->child = 0;
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
		TH_LOG("status %#x: %s", status, hs->msg);
	ksft_print_msg("huge_root_range_fails_fast: %zu GiB: gch_collect() = %d (%s) after %llu ms; unreachable object %s\n",
		       len / GiB, hs->ret, hs->ret ? strerror(hs->err) : "ok",
		       (unsigned long long)hs->ns / MSEC, hs->unreachable_kept ? "kept" : "freed");
	EXPECT_EQ(-1, hs->ret) TH_LOG("the collection succeeded");
	EXPECT_TRUE(hs->unreachable_kept) TH_LOG("a failed collection freed an object");
}

/* SIGKILL of a process collecting over a huge root range ends it quickly. */
TEST_F_TIMEOUT(proc, huge_root_range_sigkill, 120)
{
	TEST_PROLOGUE();
	struct huge *hs = shared_map(sizeof(*hs));
	size_t len = huge_len();
	uint64_t t0, ns;
	int status;
	pid_t pid, w;

	ASSERT_NE(NULL, hs);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(huge_child(hs, len, true));
	self->child = pid;
	ASSERT_TRUE(wait_for(&hs->phase, 2, 20000)) TH_LOG("%s", hs->msg);
	sleep_ms(1000);
	t0 = now_ns();
	ASSERT_EQ(0, kill(pid, SIGKILL));
	w = wait_timeout(pid, &status, 0, 30000);
	ns = now_ns() - t0;
	if (w == pid)
		self->child = 0;
	ksft_print_msg("huge_root_range_sigkill: %zu GiB, %d collections attempted: SIGKILL %s after %llu ms\n",
		       len / GiB, hs->attempts, w == pid ? "ended the process" : "had not ended the process",
		       (unsigned long long)ns / MSEC);
	ASSERT_EQ(pid, w) TH_LOG("SIGKILL did not end the process within 30 s");
	EXPECT_GT(5 * NSEC, ns) TH_LOG("SIGKILL took %llu ms to end the process",
				       (unsigned long long)ns / MSEC);
}

/* ===== 1b. a thread created during a collection by a traced creator ======== */

/*
 * Deterministic: a creator thread sits in a ptrace syscall-entry stop of
 * clone3()/clone() (which counts as stopped) when the collection starts;
 * the tracer (this test) resumes it while the collection marks, and it
 * creates thread X, which the collection never stopped.  X runs user code
 * during the mark: it takes the only reference to graph G out of a root
 * page the workers have not scanned yet (it lies above a 256 MiB root
 * range of fresh pages, scanned first) and keeps it on its stack, which
 * the collection does not scan.  After the collection G must be intact:
 * a thread created during a collection must be stopped and scanned (or
 * the collection must fail and free nothing, e.g. EAGAIN).
 */
#define TCR_RANGE	(256 * MiB)
#define TCR_NODES	300
#define TCR_SEED	0x7c7e

struct tcr {
	int phase;		/* 1: ready, 2: creator in its clone stop, 3: collected */
	int creator_tid;
	int go;
	int x_moved;		/* X took the pointer out of the root page */
	int x_done;
	uint32_t x_bad;
	int ret, err;
	uint64_t ns;
	uint64_t slot_addr, range_addr;
	char why[256];
};

static struct tcr *tcr;
static void *volatile *tcr_slot;

static noinline void tcr_x_hold(void)
{
	void *volatile held = NULL;

	/* move the only reference from the root page to this stack */
	held = *tcr_slot;
	*tcr_slot = NULL;
	wipe_regs();
	__atomic_store_n(&tcr->x_moved, 1, __ATOMIC_RELEASE);
	while (__atomic_load_n(&tcr->phase, __ATOMIC_ACQUIRE) < 3)
		sleep_ms(5);
	sleep_ms(20);
	tcr->x_bad = graph_check(hide(held), TCR_SEED, TCR_NODES, tcr->why, sizeof(tcr->why));
	held = NULL;
}

static void *tcr_x(void *arg)
{
	tcr_x_hold();
	__atomic_store_n(&tcr->x_done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void *tcr_creator(void *arg)
{
	pthread_t x;

	__atomic_store_n(&tcr->creator_tid, (int)syscall(SYS_gettid), __ATOMIC_RELEASE);
	while (!__atomic_load_n(&tcr->go, __ATOMIC_ACQUIRE))
		usleep(1000);
	if (pthread_create(&x, NULL, tcr_x, NULL))
		return (void *)1;
	pthread_join(x, NULL);
	return NULL;
}

static int tcr_victim(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	void *page, *range;
	pthread_t c;
	uint64_t t0;
	uintptr_t h;

	g_pin = gch_malloc_atomic(40000);
	gch_set_gc_percent(-1);
	/* first the page, then the range: mmap() goes down, the page is above */
	page = guarded_map(pg);
	range = mmap(NULL, TCR_RANGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		     -1, 0);
	if (!page || range == MAP_FAILED)
		return 2;
	tcr->slot_addr = (uintptr_t)page;
	tcr->range_addr = (uintptr_t)range;
	if (gch_add_roots(page, (char *)page + pg) ||
	    gch_add_roots(range, (char *)range + TCR_RANGE))
		return 3;
	tcr_slot = (void *volatile *)page + 5;
	h = graph_make(TCR_SEED, TCR_NODES);
	if (!h)
		return 4;
	store_slot(tcr_slot, h);
	h = 0;
	if (pthread_create(&c, NULL, tcr_creator, NULL))
		return 5;
	while (!__atomic_load_n(&tcr->creator_tid, __ATOMIC_ACQUIRE))
		usleep(1000);
	__atomic_store_n(&tcr->phase, 1, __ATOMIC_RELEASE);
	while (__atomic_load_n(&tcr->phase, __ATOMIC_ACQUIRE) < 2)
		usleep(1000);
	scrub();
	t0 = now_ns();
	tcr->ret = gch_collect();
	tcr->err = errno;
	tcr->ns = now_ns() - t0;
	churn_sizes(5000, 3, 48, 112);
	__atomic_store_n(&tcr->phase, 3, __ATOMIC_RELEASE);
	pthread_join(c, NULL);
	return 0;
}

TEST_F_TIMEOUT(proc, thread_created_by_traced_creator, 120)
{
	struct user_regs_struct regs;
	int status, tid, i;
	pid_t pid, w;

	TEST_PROLOGUE();
	tcr = shared_map(sizeof(*tcr));
	ASSERT_NE(NULL, tcr);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		alarm(100);
		_exit(tcr_victim());
	}
	self->child = pid;
	ASSERT_TRUE(wait_for(&tcr->phase, 1, 30000));
	tid = tcr->creator_tid;
	if (ptrace(PTRACE_SEIZE, tid, NULL, (void *)PTRACE_O_TRACESYSGOOD)) {
		int e = errno;

		if (e == EPERM)
			SKIP(return, "PTRACE_SEIZE: %s", strerror(e));
		ASSERT_EQ(0, e);
	}
	ASSERT_EQ(0, ptrace(PTRACE_INTERRUPT, tid, NULL, NULL));
	ASSERT_EQ(tid, wait_timeout(tid, &status, __WALL, 10000));
	__atomic_store_n(&tcr->go, 1, __ATOMIC_RELEASE);
	for (i = 0; i < 100000; i++) {
		ASSERT_EQ(0, ptrace(PTRACE_SYSCALL, tid, NULL, NULL));
		ASSERT_EQ(tid, wait_timeout(tid, &status, __WALL, 10000));
		ASSERT_TRUE(WIFSTOPPED(status));
		if (WSTOPSIG(status) != (SIGTRAP | 0x80))
			continue;
		ASSERT_EQ(0, ptrace(PTRACE_GETREGS, tid, NULL, &regs));
		if ((regs.orig_rax == SYS_clone3 || regs.orig_rax == SYS_clone) &&
		    regs.rax == (unsigned long)-ENOSYS)
			break;	/* entry */
	}
	ASSERT_GT(100000, i);
	__atomic_store_n(&tcr->phase, 2, __ATOMIC_RELEASE);
	sleep_ms(300);	/* into the mark: the fresh range takes about a second */
	ASSERT_EQ(0, ptrace(PTRACE_DETACH, tid, NULL, NULL));
	w = wait_timeout(pid, &status, 0, 90000);
	ASSERT_EQ(pid, w) TH_LOG("the victim did not finish (phase %d)", tcr->phase);
	self->child = 0;
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) TH_LOG("status %#x", status);
	ksft_print_msg("thread_created_by_traced_creator: collection %d (%s) in %llu ms; X moved the pointer: %d; root page %s the range; graph: %u of %u nodes lost\n",
		       tcr->ret, tcr->ret ? strerror(tcr->err) : "ok",
		       (unsigned long long)tcr->ns / MSEC, tcr->x_moved,
		       tcr->slot_addr > tcr->range_addr ? "above" : "below", tcr->x_bad, TCR_NODES);
	EXPECT_TRUE(tcr->x_moved);
	EXPECT_EQ(0, tcr->x_bad)
		TH_LOG("a thread created during the collection (by a traced thread resumed into clone) was neither stopped nor scanned: %s",
		       tcr->why);
}

/* ===== 6. hangs: arena unmapped or replaced during a collection ============= */

/*
 * Runs last: a module that deadlocks here leaves its worker pool stuck.
 *
 * A victim process V: its heap holds a registered root range of untouched
 * memory (256 MiB, read faults the workers must take with the mmap lock
 * held for reading while the collector holds the heap lock).  V measures
 * one collection, zaps the range (MADV_DONTNEED) and collects again;
 * halfway through that collection the arena is
 *  - munmap()ed by a thread of V that sat in a ptrace syscall-entry stop
 *    (which counts as stopped) and is resumed by the tracer, this test;
 *  - replaced by a MAP_FIXED mmap from a clone(CLONE_VM) child of V,
 *    which is not stopped at all.
 * The collection must end (success or error), the unmap must end, and a
 * collection of another process afterwards must complete.
 */
#define HANG_RANGE	(256 * MiB)

enum hang_mode {
	HANG_TRACED_MUNMAP,	/* munmap(): 6.1 unmaps with the lock downgraded */
	HANG_TRACED_MAPFIXED,	/* mmap(MAP_FIXED): ->close under the write lock */
	HANG_CLONE_VM_MAPFIXED,
};

static const char *const hang_names[] = {
	"munmap_by_traced_thread", "mapfixed_by_traced_thread", "mapfixed_by_clone_vm_child",
};

struct hang {
	int mode;
	int phase;		/* 1: ready/measured, 2: collecting, 3: returned */
	int munmap_tid;
	int munmap_go;
	int munmap_done;
	long munmap_ret;
	uint64_t arena_start, arena_size;
	uint64_t measure_ns;
	int ret, err;
	uint64_t ns;
	char msg[200];
};

static struct hang *hg;

static void *hang_unmapper(void *arg)
{
	__atomic_store_n(&hg->munmap_tid, (int)syscall(SYS_gettid), __ATOMIC_RELEASE);
	while (!__atomic_load_n(&hg->munmap_go, __ATOMIC_ACQUIRE))
		usleep(1000);
	if (hg->mode == HANG_TRACED_MAPFIXED)
		hg->munmap_ret = syscall(SYS_mmap, (void *)(uintptr_t)hg->arena_start,
					 (size_t)hg->arena_size, PROT_NONE,
					 MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	else
		hg->munmap_ret = syscall(SYS_munmap, (void *)(uintptr_t)hg->arena_start,
					 (size_t)hg->arena_size);
	__atomic_store_n(&hg->munmap_done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static int hang_mapfixed(void *arg)
{
	long d = (long)cvm.mapfixed_delay_us;
	struct timespec ts = { .tv_sec = d / 1000000, .tv_nsec = (d % 1000000) * 1000 };

	while (!__atomic_load_n(&hg->phase, __ATOMIC_ACQUIRE) ||
	       __atomic_load_n(&hg->phase, __ATOMIC_ACQUIRE) < 2)
		raw_syscall6(SYS_sched_yield, 0, 0, 0, 0, 0, 0);
	raw_syscall6(SYS_nanosleep, (long)&ts, 0, 0, 0, 0, 0);
	hg->munmap_ret = raw_syscall6(SYS_mmap, (long)hg->arena_start, (long)hg->arena_size,
				      PROT_READ | PROT_WRITE,
				      MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	__atomic_store_n(&hg->munmap_done, 1, __ATOMIC_RELEASE);
	raw_syscall6(SYS_exit, 0, 0, 0, 0, 0, 0);
	return 0;
}

static int hang_victim(bool traced)
{
	struct gch_heap_stats st;
	void *range, *stack;
	pthread_t t;
	uint64_t t0;
	pid_t pid;

	g_pin = gch_malloc_atomic(40000);
	gch_set_gc_percent(-1);
	if (gch_stats(&st))
		return 2;
	hg->arena_start = (uintptr_t)st.arena_start;
	hg->arena_size = st.arena_size;
	range = mmap(NULL, HANG_RANGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		     -1, 0);
	if (range == MAP_FAILED || gch_add_roots(range, (char *)range + HANG_RANGE))
		return 3;
	t0 = now_ns();
	if (gch_collect())
		return 4;
	hg->measure_ns = now_ns() - t0;
	madvise(range, HANG_RANGE, MADV_DONTNEED);	/* fault again */
	if (traced) {
		if (pthread_create(&t, NULL, hang_unmapper, NULL))
			return 5;
		while (!__atomic_load_n(&hg->munmap_tid, __ATOMIC_ACQUIRE))
			usleep(1000);
	} else {
		stack = guarded_map(64 * KiB);
		if (!stack)
			return 6;
		cvm.mapfixed_delay_us = hg->measure_ns / 2000;
		pid = clone(hang_mapfixed, (char *)stack + 64 * KiB - 64, CLONE_VM | SIGCHLD, NULL);
		if (pid < 0)
			return 7;
	}
	__atomic_store_n(&hg->phase, 1, __ATOMIC_RELEASE);
	/* the tracer puts the unmapper in its syscall-entry stop, then says go */
	while (traced && __atomic_load_n(&hg->phase, __ATOMIC_ACQUIRE) < 2)
		usleep(1000);
	__atomic_store_n(&hg->phase, 2, __ATOMIC_RELEASE);
	t0 = now_ns();
	hg->ret = gch_collect();
	hg->err = errno;
	hg->ns = now_ns() - t0;
	__atomic_store_n(&hg->phase, 3, __ATOMIC_RELEASE);
	/* wait for the unmap to end */
	while (!__atomic_load_n(&hg->munmap_done, __ATOMIC_ACQUIRE))
		usleep(1000);
	return 0;
}

/* Another process's collection: must complete within @ms.  0, or why not. */
static const char *other_collect(unsigned int ms, uint64_t *ns)
{
	uint64_t t0 = now_ns();
	int status;
	pid_t pid, w;

	pid = fork();
	if (pid < 0)
		return "fork failed";
	if (pid == 0) {
		alarm(ms / 1000 + 30);
		g_pin = gch_malloc_atomic(1000);
		_exit(gch_collect() ? 1 : 0);
	}
	w = wait_timeout(pid, &status, 0, ms);
	*ns = now_ns() - t0;
	if (w != pid) {
		kill(pid, SIGKILL);
		return "hung (another process's collection did not complete: the worker pool is stuck)";
	}
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? NULL : "failed";
}

static void hang_test(struct __test_metadata *_metadata, pid_t *childp, int mode)
{
	bool traced = mode != HANG_CLONE_VM_MAPFIXED;
	const char *name = hang_names[mode];
	struct user_regs_struct regs;
	int status, tid, i;
	const char *other;
	uint64_t ns, limit;
	pid_t pid, w;

	hg = shared_map(sizeof(*hg));
	ASSERT_NE(NULL, hg);
	hg->mode = mode;
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		setpgid(0, 0);
		_exit(hang_victim(traced));
	}
	*childp = pid;
	ASSERT_TRUE(wait_for(&hg->phase, 1, 60000)) TH_LOG("victim: %s", hg->msg);
	ksft_print_msg("hang %s: a collection with a fresh %lu MiB root range takes %llu ms\n",
		       name, HANG_RANGE / MiB,
		       (unsigned long long)hg->measure_ns / MSEC);
	if (traced) {
		tid = hg->munmap_tid;
		ASSERT_LT(0, tid);
		if (ptrace(PTRACE_SEIZE, tid, NULL, (void *)PTRACE_O_TRACESYSGOOD)) {
			int e = errno;

			if (e == EPERM)
				SKIP(return, "PTRACE_SEIZE: %s", strerror(e));
			ASSERT_EQ(0, e);
		}
		ASSERT_EQ(0, ptrace(PTRACE_INTERRUPT, tid, NULL, NULL));
		ASSERT_EQ(tid, wait_timeout(tid, &status, __WALL, 10000));
		__atomic_store_n(&hg->munmap_go, 1, __ATOMIC_RELEASE);
		/* syscall stops until the entry of munmap */
		for (i = 0; i < 100000; i++) {
			ASSERT_EQ(0, ptrace(PTRACE_SYSCALL, tid, NULL, NULL));
			ASSERT_EQ(tid, wait_timeout(tid, &status, __WALL, 10000));
			ASSERT_TRUE(WIFSTOPPED(status));
			if (WSTOPSIG(status) != (SIGTRAP | 0x80))
				continue;
			ASSERT_EQ(0, ptrace(PTRACE_GETREGS, tid, NULL, &regs));
			if (regs.orig_rax == (mode == HANG_TRACED_MUNMAP ? SYS_munmap : SYS_mmap) &&
			    regs.rax == (unsigned long)-ENOSYS)
				break;	/* entry */
		}
		ASSERT_GT(100000, i);
		__atomic_store_n(&hg->phase, 2, __ATOMIC_RELEASE);
		sleep_ms(hg->measure_ns / MSEC / 2 + 1);
		/* resume it into munmap() while the collection goes on */
		ASSERT_EQ(0, ptrace(PTRACE_DETACH, tid, NULL, NULL));
	}
	limit = 20000 + 4 * hg->measure_ns / MSEC;
	if (!wait_for(&hg->phase, 3, limit)) {
		other = other_collect(15000, &ns);
		ksft_print_msg("hang %s: the collection did not end in %llu ms (unmap ended: %d); another process's collection: %s\n",
			       name,
			       (unsigned long long)limit, hg->munmap_done, other ? other : "ok");
		ASSERT_TRUE(false) TH_LOG("hung: the collection did not end (deadlock between heap->lock and mmap_lock?); other process: %s",
					  other ? other : "ok");
	}
	ASSERT_TRUE(wait_for(&hg->munmap_done, 1, 20000)) TH_LOG("hung: the unmap did not end");
	w = wait_timeout(pid, &status, 0, 20000);
	ASSERT_EQ(pid, w);
	*childp = 0;
	ksft_print_msg("hang %s: the collection returned %d (%s) after %llu ms; the unmap/mmap returned %#lx\n",
		       name, hg->ret,
		       hg->ret ? strerror(hg->err) : "ok", (unsigned long long)hg->ns / MSEC,
		       hg->munmap_ret);
	other = other_collect(30000, &ns);
	EXPECT_EQ(NULL, other) TH_LOG("another process's collection afterwards: %s", other);
}

FIXTURE(hang) {
	pid_t child;
};

FIXTURE_SETUP(hang)
{
	ASSERT_EQ(0, unsetenv("GCHEAP_GOGC"));
	self->child = 0;
}

FIXTURE_TEARDOWN(hang)
{
	if (self->child > 0) {
		kill(-self->child, SIGKILL);
		kill(self->child, SIGKILL);
		wait_timeout(self->child, NULL, 0, 5000);
	}
}

TEST_F_TIMEOUT(hang, munmap_by_traced_thread, 180)
{
	TEST_PROLOGUE();
	hang_test(_metadata, &self->child, HANG_TRACED_MUNMAP);
}

TEST_F_TIMEOUT(hang, mapfixed_by_traced_thread, 180)
{
	TEST_PROLOGUE();
	hang_test(_metadata, &self->child, HANG_TRACED_MAPFIXED);
}

TEST_F_TIMEOUT(hang, mapfixed_by_clone_vm_child, 180)
{
	TEST_PROLOGUE();
	hang_test(_metadata, &self->child, HANG_CLONE_VM_MAPFIXED);
}

TEST_HARNESS_MAIN
