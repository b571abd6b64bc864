// SPDX-License-Identifier: GPL-2.0
/*
 * Allocation: libgcheap's malloc family on both of its paths (per-CPU
 * caches with rseq, per-thread caches), and the allocation ABI underneath
 * it at the raw ioctl/mmap level (two heaps, fork, mapping changes,
 * garbage in the control area).
 *
 * Library tests run in two variants: "default" (the per-CPU path where
 * glibc registered rseq) and "no_rseq" (GCHEAP_NO_RSEQ=1: per-thread
 * caches).  run-in-vm.sh runs the whole program a second time with
 * GLIBC_TUNABLES=glibc.pthread.rseq=0, where even "default" must fall
 * back.  Every test runs in its own process (the harness forks), so each
 * one sets up a fresh heap and may configure it.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/rseq.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/gcheap.h>

#include "gcheap.h"
#include "kselftest_harness.h"
#include "mapping_rss.h"
#include "raw_heap.h"
#include "core/sizeclass.h"
/* the cache layout, from the same core code as the module and library */
#include "core/cache.c"

#define KiB		1024UL
#define MiB		(1024 * KiB)

static struct gch_sizeclass_table classes;
static struct gch_cache_layout layout;

static void tables_init(void)
{
	if (!classes.nr_classes) {
		gch_sizeclass_init(&classes);
		gch_cache_layout_init(&layout, &classes);
	}
}

/* Are all @n bytes at @p equal to @b?  (memcmp is fast, even under TCG) */
static bool all_byte(const void *p, size_t n, unsigned char b)
{
	const unsigned char *c = p;

	return !n || (c[0] == b && !memcmp(c, c + 1, n - 1));
}

static bool all_zero(const void *p, size_t n)
{
	return all_byte(p, n, 0);
}

/* xorshift32: reproducible sizes and garbage */
static uint32_t rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* The module's default arena size, or 0 if unknown. */
static unsigned long default_arena_size(void)
{
	unsigned long v = 0;
	FILE *f = fopen("/sys/module/gcheap/parameters/default_arena_size",
			"r");

	if (f) {
		if (fscanf(f, "%lu", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v;
}

/* Run @fn(@arg) in a forked child; its wait status. */
static int in_child(int (*fn)(void *), void *arg)
{
	int status;
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0)
		_exit(fn(arg));
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return status;
}

#define EXITED_WITH(status, code) \
	(WIFEXITED(status) && WEXITSTATUS(status) == (code))

/* --- the library, on both paths ------------------------------------------ */

FIXTURE(lib) {
	int unused;
};

FIXTURE_VARIANT(lib) {
	bool no_rseq;
};

FIXTURE_VARIANT_ADD(lib, default) {
	.no_rseq = false,
};

FIXTURE_VARIANT_ADD(lib, no_rseq) {
	.no_rseq = true,
};

FIXTURE_SETUP(lib)
{
	tables_init();
	if (variant->no_rseq) {
		ASSERT_EQ(0, setenv("GCHEAP_NO_RSEQ", "1", 1));
	} else {
		ASSERT_EQ(0, unsetenv("GCHEAP_NO_RSEQ"));
	}
}

FIXTURE_TEARDOWN(lib)
{
}

TEST_F(lib, path_in_use)
{
	bool want = __rseq_size > 0 && !variant->no_rseq;
	struct gch_heap_stats st;
	void *p;

	p = gch_malloc(24);
	ASSERT_NE(NULL, p) TH_LOG("gch_malloc: %s", strerror(errno));
	ASSERT_EQ(0, gch_stats(&st)) TH_LOG("%s", strerror(errno));
	TH_LOG("__rseq_size %u, GCHEAP_NO_RSEQ %s: %s path, %u CPU blocks",
	       __rseq_size, variant->no_rseq ? "1" : "unset",
	       st.percpu ? "per-CPU (rseq)" : "per-thread", st.nr_cpus);
	EXPECT_EQ(want, st.percpu);
	EXPECT_LE(1, st.nr_cpus);
	if (!st.percpu) {
		/* one refill filled this thread's cache; one object is ours */
		EXPECT_EQ(layout.capacity[GCH_SPANCLASS(
				gch_size_to_class(&classes, 24), 0)] - 1,
			  st.thread_cached_objects);
	} else {
		EXPECT_EQ(0, st.thread_cached_objects);
	}
	EXPECT_EQ(1, st.live_objects);
}

TEST_F(lib, every_size_class)
{
	enum { MAXOBJ = 512 };
	static void *objs[MAXOBJ];
	static size_t sizes[MAXOBJ];
	size_t nsizes = 0, n, i, sz;
	unsigned int c, kind, k = 0;

	sizes[nsizes++] = 0;
	sizes[nsizes++] = 1;
	for (c = 1; c < classes.nr_classes; c++) {
		sz = classes.size[c];
		sizes[nsizes++] = sz - 1;
		sizes[nsizes++] = sz;
		if (sz + 1 <= GCH_MAX_SMALL_SIZE)
			sizes[nsizes++] = sz + 1;
	}
	ASSERT_LE(2 * nsizes, MAXOBJ);

	for (kind = 0; kind < 2; kind++) {
		for (i = 0; i < nsizes; i++, k++) {
			char *p;

			n = sizes[i];
			p = kind ? gch_malloc_atomic(n) : gch_malloc(n);
			ASSERT_NE(NULL, p) TH_LOG("%s(%zu): %s",
				kind ? "gch_malloc_atomic" : "gch_malloc", n,
				strerror(errno));
			objs[k] = p;
			EXPECT_EQ(0, (uintptr_t)p % GCH_MIN_ALIGN)
				TH_LOG("%p for %zu bytes", p, n);
			EXPECT_TRUE(all_zero(p, n)) TH_LOG("size %zu", n);
			/*
			 * the usable size is the class size; a scanned
			 * object of exactly a class size gets the next class
			 * (its end pointer's byte, see userlib.rst)
			 */
			sz = classes.size[gch_size_to_class(&classes, n)];
			if (!kind && sz == n)
				sz = n + 1 > GCH_MAX_SMALL_SIZE ?
				     round_up(n + 1, GCH_PAGE_SIZE) :
				     classes.size[gch_size_to_class(&classes, n + 1)];
			EXPECT_EQ(sz, gch_size(p)) TH_LOG("size %zu", n);
			EXPECT_EQ(p, gch_base(p));
			if (n)
				EXPECT_EQ(p, gch_base(p + n - 1));
			memset(p, (int)(k % 251) + 1, gch_size(p));
		}
	}
	/* no object was overwritten by a later one */
	for (i = 0; i < k; i++) {
		EXPECT_TRUE(all_byte(objs[i], gch_size(objs[i]),
				     (unsigned char)(i % 251) + 1))
			TH_LOG("object %zu (size %zu)", i, sizes[i % nsizes]);
	}
	for (i = 0; i < k; i++) {
		EXPECT_EQ(0, gch_free(objs[i])) TH_LOG("%s", strerror(errno));
	}
}

TEST_F(lib, large_sizes)
{
	static const size_t sizes[] = { 32769, 100000, 1 * MiB, 16 * MiB };
	struct gch_heap_stats st;
	unsigned int i, kind;

	ASSERT_EQ(0, gch_stats(&st));
	for (kind = 0; kind < 2; kind++) {
		for (i = 0; i < ARRAY_SIZE(sizes); i++) {
			size_t n = sizes[i];
			char *p = kind ? gch_malloc_atomic(n) : gch_malloc(n);

			ASSERT_NE(NULL, p) TH_LOG("%zu: %s", n, strerror(errno));
			/* a span of its own: heap-page aligned in the arena */
			EXPECT_EQ(0, (p - (char *)st.arena_start) % GCH_PAGE_SIZE);
			EXPECT_LE(n, gch_size(p));
			EXPECT_TRUE(all_zero(p, n)) TH_LOG("size %zu", n);
			EXPECT_EQ(p, gch_base(p + n - 1));
			EXPECT_EQ(p, gch_base(p + n / 2));
			memset(p, 0x5a, n);
			EXPECT_TRUE(all_byte(p, n, 0x5a));
			EXPECT_EQ(0, gch_free(p));
			/* its span is gone */
			EXPECT_EQ(0, gch_size(p));
		}
	}
	/* sizes no arena can serve */
	errno = 0;
	EXPECT_EQ(NULL, gch_malloc(SIZE_MAX));
	EXPECT_EQ(ENOMEM, errno);
	errno = 0;
	EXPECT_EQ(NULL, gch_malloc_atomic((size_t)1 << 50));
	EXPECT_EQ(ENOMEM, errno);
}

TEST_F(lib, zeroed_after_free)
{
	enum { N = 256, MAXTRY = 4096 };
	const size_t sz = 256;
	static char *objs[N];
	unsigned int i, tries, recycled = 0;
	char *p;

	for (i = 0; i < N; i++) {
		objs[i] = gch_malloc(sz);
		ASSERT_NE(NULL, objs[i]);
		memset(objs[i], 0xa5, sz);
	}
	/* free every other one: their spans stay partly in use */
	for (i = 0; i < N; i += 2) {
		ASSERT_EQ(0, gch_free(objs[i]));
	}
	for (tries = 0; tries < MAXTRY && recycled < 8; tries++) {
		p = gch_malloc(sz);
		ASSERT_NE(NULL, p);
		ASSERT_TRUE(all_zero(p, sz)) TH_LOG("object %p, try %u", p, tries);
		for (i = 0; i < N; i += 2)
			if (p == objs[i])
				recycled++;
		memset(p, 0xa5, sz);
	}
	EXPECT_LE(8, recycled) TH_LOG("freed objects not handed out again");

	/* large objects, and pointer-free ones */
	p = gch_malloc_atomic(200000);
	ASSERT_NE(NULL, p);
	memset(p, 0xff, 200000);
	ASSERT_EQ(0, gch_free(p));
	p = gch_malloc_atomic(200000);
	ASSERT_NE(NULL, p);
	EXPECT_TRUE(all_zero(p, 200000));
}

TEST_F(lib, realloc_grow_shrink)
{
	static const size_t steps[] = { 10, 100, 1000, 5000, 40000, 300000 };
	size_t old = 0, n;
	unsigned int i;
	char *p = NULL, *q;

	for (i = 0; i < ARRAY_SIZE(steps); i++) {
		n = steps[i];
		q = gch_realloc(p, n);
		ASSERT_NE(NULL, q) TH_LOG("realloc to %zu: %s", n, strerror(errno));
		EXPECT_LE(n, gch_size(q));
		EXPECT_TRUE(all_byte(q, old, 0x11)) TH_LOG("grown to %zu", n);
		/* what the object did not have before reads as zero */
		if (q != p)
			EXPECT_TRUE(all_zero(q + old, n - old));
		if (p && q != p)
			EXPECT_EQ(0, gch_size(p)) TH_LOG("old object not freed");
		memset(q, 0x11, n);
		p = q;
		old = n;
	}
	/* shrinking keeps the object and its contents */
	q = gch_realloc(p, 1000);
	EXPECT_EQ(p, q);
	EXPECT_TRUE(all_byte(q, 1000, 0x11));
	q = gch_realloc(p, 10);
	EXPECT_EQ(p, q);
	EXPECT_TRUE(all_byte(q, 10, 0x11));

	/* growing within the usable size stays in place too */
	p = gch_malloc(20);
	ASSERT_NE(NULL, p);
	memcpy(p, "0123456789abcdefghi", 20);
	/* (a scanned object: up to its usable size less the end pointer's byte) */
	q = gch_realloc(p, gch_size(p) - 1);
	EXPECT_EQ(p, q);
	q = gch_realloc(p, gch_size(p));
	ASSERT_NE(NULL, q);
	EXPECT_NE(p, q);
	EXPECT_EQ(0, memcmp(q, "0123456789abcdefghi", 20));

	/* pointer-free objects stay pointer-free, and keep their bytes */
	p = gch_strdup("a pointer-free string");
	ASSERT_NE(NULL, p);
	q = gch_realloc(p, 50000);
	ASSERT_NE(NULL, q);
	EXPECT_STREQ("a pointer-free string", q);

	/* NULL and 0 */
	p = gch_realloc(NULL, 64);
	ASSERT_NE(NULL, p);
	EXPECT_TRUE(all_zero(p, 64));
	EXPECT_EQ(NULL, gch_realloc(p, 0));
	EXPECT_EQ(0, gch_size(p)) TH_LOG("realloc(p, 0) did not free p");
}

TEST_F(lib, realloc_bad_pointers)
{
	char stack[64], *p;

	errno = 0;
	EXPECT_EQ(NULL, gch_realloc(stack, 100));
	EXPECT_EQ(EINVAL, errno);
	p = gch_malloc(100);
	ASSERT_NE(NULL, p);
	strcpy(p, "intact");
	errno = 0;
	EXPECT_EQ(NULL, gch_realloc(p + 16, 1000));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_STREQ("intact", p);
	EXPECT_EQ(p, gch_base(p));
	/* too big: NULL, ENOMEM, the old object untouched */
	errno = 0;
	EXPECT_EQ(NULL, gch_realloc(p, SIZE_MAX / 2));
	EXPECT_EQ(ENOMEM, errno);
	EXPECT_STREQ("intact", p);
}

TEST_F(lib, calloc)
{
	char *p;

	errno = 0;
	EXPECT_EQ(NULL, gch_calloc(SIZE_MAX / 2 + 1, 2));
	EXPECT_EQ(ENOMEM, errno);
	errno = 0;
	EXPECT_EQ(NULL, gch_calloc(SIZE_MAX, SIZE_MAX));
	EXPECT_EQ(ENOMEM, errno);
	errno = 0;
	EXPECT_EQ(NULL, gch_calloc((size_t)1 << 32, (size_t)1 << 31));
	EXPECT_EQ(ENOMEM, errno);

	p = gch_calloc(100, 12);
	ASSERT_NE(NULL, p);
	EXPECT_LE(1200, gch_size(p));
	EXPECT_TRUE(all_zero(p, 1200));
	p = gch_calloc(3000, 16);
	ASSERT_NE(NULL, p);
	EXPECT_LE(48000, gch_size(p));
	EXPECT_TRUE(all_zero(p, 48000));
	EXPECT_NE(NULL, gch_calloc(0, 8));
}

TEST_F(lib, strdup)
{
	static char big[50001];
	char *s;

	s = gch_strdup("hello, gcheap");
	ASSERT_NE(NULL, s);
	EXPECT_STREQ("hello, gcheap", s);
	EXPECT_LE(14, gch_size(s));
	s = gch_strdup("");
	ASSERT_NE(NULL, s);
	EXPECT_STREQ("", s);
	memset(big, 'x', sizeof(big) - 1);
	s = gch_strdup(big);
	ASSERT_NE(NULL, s);
	EXPECT_EQ(0, strcmp(big, s));
}

static int a_global;

TEST_F(lib, size_and_base)
{
	struct gch_heap_stats st;
	int local = 0;
	char *p, *big, *libc;
	size_t off;

	/* before the heap exists nothing is a heap object */
	errno = 0;
	EXPECT_EQ(0, gch_size(&local));
	EXPECT_EQ(EINVAL, errno);

	p = gch_malloc(100);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(112, classes.size[gch_size_to_class(&classes, 100)]);
	for (off = 0; off < 112; off += 37) {
		EXPECT_EQ(p, gch_base(p + off)) TH_LOG("offset %zu", off);
		EXPECT_EQ(112, gch_size(p + off)) TH_LOG("offset %zu", off);
	}
	EXPECT_EQ(p, gch_base(p + 111));

	big = gch_malloc_atomic(100000);
	ASSERT_NE(NULL, big);
	for (off = 0; off < 100000; off += 4099) {
		EXPECT_EQ(big, gch_base(big + off));
		EXPECT_LE(100000, gch_size(big + off));
	}
	EXPECT_EQ(big, gch_base(big + 99999));

	/* not heap objects */
	libc = malloc(64);
	ASSERT_NE(NULL, libc);
	EXPECT_EQ(0, gch_size(&local));
	EXPECT_EQ(NULL, gch_base(&local));
	EXPECT_EQ(0, gch_size(&a_global));
	EXPECT_EQ(NULL, gch_base(&a_global));
	EXPECT_EQ(0, gch_size(libc));
	EXPECT_EQ(NULL, gch_base(libc));
	EXPECT_EQ(0, gch_size(NULL));
	EXPECT_EQ(NULL, gch_base(NULL));
	errno = 0;
	EXPECT_EQ(NULL, gch_base((void *)-1L));
	EXPECT_EQ(EINVAL, errno);
	free(libc);

	/* inside the arena, in no object: its last byte, never handed out */
	ASSERT_EQ(0, gch_stats(&st));
	errno = 0;
	EXPECT_EQ(0, gch_size((char *)st.arena_start + st.arena_size - 1));
	EXPECT_EQ(ENOENT, errno);
	EXPECT_EQ(NULL, gch_base((char *)st.arena_start + st.arena_size - 1));
	/* a freed object is not one any more */
	ASSERT_EQ(0, gch_free(big));
	EXPECT_EQ(NULL, gch_base(big + 10));
}

/* gch_free() must refuse @ptr with EINVAL. */
#define EXPECT_FREE_EINVAL(ptr) do {					\
		errno = 0;						\
		EXPECT_EQ(-1, gch_free(ptr));				\
		EXPECT_EQ(EINVAL, errno) TH_LOG("gch_free(%s)", #ptr);	\
	} while (0)

TEST_F(lib, free_invalid)
{
	char stack[32], *p, *big, *libc;

	EXPECT_EQ(0, gch_free(NULL));
	/* before the heap exists */
	EXPECT_FREE_EINVAL(stack);

	p = gch_malloc(48);
	ASSERT_NE(NULL, p);
	strcpy(p, "still here");
	EXPECT_FREE_EINVAL(stack);
	libc = malloc(48);
	ASSERT_NE(NULL, libc);
	EXPECT_FREE_EINVAL(libc);
	free(libc);
	EXPECT_FREE_EINVAL((void *)16);
	EXPECT_FREE_EINVAL((void *)-16L);

	/* an interior pointer frees nothing */
	EXPECT_FREE_EINVAL(p + 16);
	EXPECT_STREQ("still here", p);
	EXPECT_EQ(64, gch_size(p));	/* 48 and the end pointer's byte */

	/* a double free is caught */
	EXPECT_EQ(0, gch_free(p));
	EXPECT_FREE_EINVAL(p);

	big = gch_malloc(70000);
	ASSERT_NE(NULL, big);
	EXPECT_FREE_EINVAL(big + GCH_PAGE_SIZE);
	EXPECT_EQ(big, gch_base(big));
	EXPECT_EQ(0, gch_free(big));
	EXPECT_FREE_EINVAL(big);

	/* still working */
	p = gch_malloc(48);
	ASSERT_NE(NULL, p);
	EXPECT_TRUE(all_zero(p, 48));
}

/* --- threads ----------------------------------------------------------------- */

#define NTHREADS	8
#define PER_THREAD	2500

struct range {
	uintptr_t lo, hi;
	unsigned char tag;
};

struct worker {
	pthread_t thread;
	pid_t tid;
	unsigned int id;
	struct range *ranges;
	size_t nranges;
	unsigned int bad;
	char why[160];
};

static int workers_done;

static void worker_fail(struct worker *w, const char *why, void *p, size_t n)
{
	if (!w->bad++)
		snprintf(w->why, sizeof(w->why), "thread %u: %s (%p, %zu bytes, errno %d)",
			 w->id, why, p, n, errno);
}

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	uint32_t seed = 0x9e3779b9u * (w->id + 1);
	unsigned char tag = (unsigned char)(w->id + 1);
	unsigned int i;

	__atomic_store_n(&w->tid, syscall(SYS_gettid), __ATOMIC_RELAXED);
	for (i = 0; i < PER_THREAD; i++) {
		uint32_t r = rnd(&seed);
		size_t n;
		char *p;

		if (i % 250 == 249)
			n = 32769 + r % 40000;		/* large */
		else if (r % 4 == 0)
			n = r % 4096;
		else
			n = r % 256;
		p = (r & 0x100) ? gch_malloc_atomic(n) : gch_malloc(n);
		if (!p) {
			worker_fail(w, "allocation failed", p, n);
			break;
		}
		if ((uintptr_t)p % GCH_MIN_ALIGN)
			worker_fail(w, "misaligned", p, n);
		if (!all_zero(p, n))
			worker_fail(w, "not zeroed", p, n);
		if (!n)		/* 0 bytes asked: a minimum-size object */
			n = 1;
		memset(p, tag, n);
		if (i % 7 == 3) {
			/* explicit frees race with other threads' refills */
			if (gch_free(p))
				worker_fail(w, "gch_free failed", p, n);
			continue;
		}
		w->ranges[w->nranges].lo = (uintptr_t)p;
		w->ranges[w->nranges].hi = (uintptr_t)p + n;
		w->ranges[w->nranges].tag = tag;
		w->nranges++;
	}
	__atomic_add_fetch(&workers_done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static int range_cmp(const void *a, const void *b)
{
	const struct range *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static void on_sigusr1(int sig)
{
	(void)sig;
}

TEST_F(lib, threads_no_overlap)
{
	static struct worker w[NTHREADS];
	struct sigaction sa = { .sa_handler = on_sigusr1,
				.sa_flags = SA_RESTART };
	struct range *all;
	size_t total = 0, i, k;
	unsigned long signals = 0;

	all = calloc(NTHREADS * PER_THREAD, sizeof(*all));
	ASSERT_NE(NULL, all);
	/*
	 * The only pointers to the objects are in this malloc()ed array:
	 * make it a root, or collections the allocations trigger free them.
	 */
	ASSERT_EQ(0, gch_add_roots(all, all + NTHREADS * PER_THREAD));
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	for (i = 0; i < NTHREADS; i++) {
		w[i].id = i;
		w[i].ranges = all + i * PER_THREAD;
		ASSERT_EQ(0, pthread_create(&w[i].thread, NULL, worker_run,
					    &w[i]));
	}
	/*
	 * Signals interrupt the workers anywhere, inside the rseq critical
	 * sections too: an aborted pop must be retried, never half done.
	 */
	while (__atomic_load_n(&workers_done, __ATOMIC_ACQUIRE) < NTHREADS) {
		for (i = 0; i < NTHREADS; i++)
			if (__atomic_load_n(&w[i].tid, __ATOMIC_RELAXED) &&
			    !syscall(SYS_tgkill, getpid(), w[i].tid, SIGUSR1))
				signals++;
		usleep(200);
	}
	for (i = 0; i < NTHREADS; i++) {
		ASSERT_EQ(0, pthread_join(w[i].thread, NULL));
		EXPECT_EQ(0, w[i].bad) TH_LOG("%s", w[i].why);
	}
	TH_LOG("%lu signals sent to the allocating threads", signals);

	/* pack, check contents, sort, check neighbours */
	for (i = 0; i < NTHREADS; i++) {
		memmove(all + total, w[i].ranges, w[i].nranges * sizeof(*all));
		total += w[i].nranges;
	}
	ASSERT_LT(NTHREADS * PER_THREAD / 2, total);
	qsort(all, total, sizeof(*all), range_cmp);
	for (k = 0; k + 1 < total; k++) {
		ASSERT_LE(all[k].hi, all[k + 1].lo)
			TH_LOG("[%#lx, %#lx) of thread %u overlaps [%#lx, %#lx) of thread %u",
			       (unsigned long)all[k].lo, (unsigned long)all[k].hi,
			       all[k].tag - 1, (unsigned long)all[k + 1].lo,
			       (unsigned long)all[k + 1].hi, all[k + 1].tag - 1);
	}
	for (k = 0; k < total; k++) {
		ASSERT_TRUE(all_byte((void *)all[k].lo, all[k].hi - all[k].lo,
				     all[k].tag))
			TH_LOG("object %#lx of thread %u was overwritten",
			       (unsigned long)all[k].lo, all[k].tag - 1);
	}
	free(all);
}

/* Threads that exit give their cached objects back. */
TEST_F(lib, thread_exit_returns_cache)
{
	struct gch_heap_stats before, after;
	static struct worker w;
	struct range r[PER_THREAD];

	ASSERT_EQ(0, gch_stats(&before));
	w.id = 0;
	w.ranges = r;
	ASSERT_EQ(0, pthread_create(&w.thread, NULL, worker_run, &w));
	ASSERT_EQ(0, pthread_join(w.thread, NULL));
	ASSERT_EQ(0, w.bad) TH_LOG("%s", w.why);
	ASSERT_EQ(0, gch_stats(&after));
	EXPECT_EQ(0, after.thread_cached_objects);
	/* the objects the thread kept are the only new live ones */
	EXPECT_EQ(before.live_objects + w.nranges, after.live_objects);
	if (!after.percpu)
		/* no per-CPU cache holds any: all went back to the heap */
		EXPECT_EQ(before.objects + w.nranges, after.objects);
}

/* --- limits ----------------------------------------------------------------- */

TEST_F(lib, exhaustion)
{
	struct gch_config cfg = { .max_heap = 1 * MiB };
	enum { MAXOBJ = 1024 };
	static void *objs[MAXOBJ];
	struct gch_heap_stats st;
	unsigned int n, m, i;
	char *p;

	ASSERT_EQ(0, gch_init(&cfg)) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, gch_stats(&st));
	ASSERT_EQ(1 * MiB, st.arena_size);

	for (n = 0; n < MAXOBJ; n++) {
		objs[n] = gch_malloc(4000);
		if (!objs[n])
			break;
		memset(objs[n], 1, 4000);
	}
	ASSERT_GT(MAXOBJ, n) TH_LOG("a 1 MiB heap never ran out");
	EXPECT_EQ(ENOMEM, errno);
	EXPECT_LE(64, n) TH_LOG("only %u objects of 4000 bytes in 1 MiB", n);
	errno = 0;
	EXPECT_EQ(NULL, gch_malloc(300000));
	EXPECT_EQ(ENOMEM, errno);
	errno = 0;
	EXPECT_EQ(NULL, gch_malloc_atomic(4000));
	EXPECT_EQ(ENOMEM, errno);
	/* a failed realloc leaves the object alone */
	errno = 0;
	EXPECT_EQ(NULL, gch_realloc(objs[0], 200000));
	EXPECT_EQ(ENOMEM, errno);
	EXPECT_TRUE(all_byte(objs[0], 4000, 1));

	/* the process keeps working once memory is freed */
	for (i = 0; i < n; i++) {
		ASSERT_EQ(0, gch_free(objs[i]));
	}
	for (m = 0; m < n / 2; m++) {
		p = gch_malloc(4000);
		ASSERT_NE(NULL, p) TH_LOG("after freeing, #%u: %s", m,
					  strerror(errno));
		EXPECT_TRUE(all_zero(p, 4000));
	}
}

TEST_F(lib, exhaustion_large)
{
	struct gch_config cfg = { .max_heap = 2 * MiB };
	enum { MAXOBJ = 64 };
	void *objs[MAXOBJ];
	unsigned int n, m, i;

	ASSERT_EQ(0, gch_init(&cfg));
	for (n = 0; n < MAXOBJ; n++) {
		objs[n] = gch_malloc_atomic(100000);
		if (!objs[n])
			break;
	}
	ASSERT_GT(MAXOBJ, n);
	EXPECT_EQ(ENOMEM, errno);
	EXPECT_LE(10, n);
	for (i = 0; i < n; i++) {
		ASSERT_EQ(0, gch_free(objs[i]));
	}
	/* every large span went back: as many fit again */
	for (m = 0; m < n; m++) {
		objs[m] = gch_malloc_atomic(100000);
		ASSERT_NE(NULL, objs[m]) TH_LOG("#%u of %u: %s", m, n,
						strerror(errno));
	}
}

/* --- configuration ------------------------------------------------------------ */

TEST_F(lib, init_config)
{
	struct gch_config cfg = {
		.max_heap = 3 * MiB + 1,
		.gc_percent = GCH_GC_PERCENT_OFF,
		.workers = 2,
	};
	struct gch_config bad = { .max_heap = 1000 };
	struct gch_heap_stats st;

	errno = 0;
	EXPECT_EQ(-1, gch_init(&bad));
	EXPECT_EQ(EINVAL, errno);
	bad.max_heap = 0;
	bad.workers = 100000;
	errno = 0;
	EXPECT_EQ(-1, gch_init(&bad));
	EXPECT_EQ(EINVAL, errno);

	ASSERT_EQ(0, gch_init(&cfg)) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, gch_stats(&st));
	/* rounded up to whole heap pages */
	EXPECT_EQ(3 * MiB + GCH_PAGE_SIZE, st.arena_size);
	EXPECT_EQ(GCH_GC_PERCENT_OFF, st.gc_percent);
	EXPECT_EQ(2, st.workers);
	errno = 0;
	EXPECT_EQ(-1, gch_init(&cfg));
	EXPECT_EQ(EBUSY, errno);
}

TEST_F(lib, init_after_use)
{
	struct gch_config cfg = { .max_heap = 1 * MiB };
	struct gch_heap_stats st;

	ASSERT_NE(NULL, gch_malloc(1));
	errno = 0;
	EXPECT_EQ(-1, gch_init(&cfg));
	EXPECT_EQ(EBUSY, errno);
	errno = 0;
	EXPECT_EQ(-1, gch_init(NULL));
	EXPECT_EQ(EBUSY, errno);
	ASSERT_EQ(0, gch_stats(&st));
	EXPECT_NE(1 * MiB, st.arena_size);
	EXPECT_EQ(100, st.gc_percent);
}

struct env_case {
	const char *name;
	const char *value;
	size_t arena_size;	/* expected; 0: the module's default */
	unsigned int gc_percent;
	bool warns;
};

/* In a child: set the variable, set the heap up, check, report by exit code. */
static int env_child(void *arg)
{
	const struct env_case *c = arg;
	struct gch_heap_stats st;
	size_t want = c->arena_size ? c->arena_size : default_arena_size();
	char buf[512];
	ssize_t len;
	int fd, lines = 0, i;

	fd = memfd_create("stderr", 0);
	if (fd < 0 || dup2(fd, 2) != 2)
		return 10;
	if (setenv(c->name, c->value, 1))
		return 11;
	if (gch_stats(&st))
		return 12;
	if (want && st.arena_size != want)
		return 13;
	if (st.gc_percent != c->gc_percent)
		return 14;
	len = pread(fd, buf, sizeof(buf) - 1, 0);
	if (len < 0)
		return 15;
	buf[len] = 0;
	for (i = 0; i < len; i++)
		lines += buf[i] == '\n';
	if (c->warns && (lines != 1 || !strstr(buf, c->name) ||
			 !strstr(buf, c->value)))
		return 16;
	if (!c->warns && lines)
		return 17;
	return 0;
}

TEST_F(lib, environment)
{
	static const struct env_case cases[] = {
		{ "GCHEAP_MAX_HEAP", "2097152", 2 * MiB, 100, false },
		{ "GCHEAP_MAX_HEAP", "3M", 3 * MiB, 100, false },
		{ "GCHEAP_MAX_HEAP", "512k", 512 * KiB, 100, false },
		{ "GCHEAP_MAX_HEAP", "1G", 1024 * MiB, 100, false },
		{ "GCHEAP_MAX_HEAP", "lots", 0, 100, true },
		{ "GCHEAP_MAX_HEAP", "12X", 0, 100, true },
		{ "GCHEAP_MAX_HEAP", "-5M", 0, 100, true },
		{ "GCHEAP_MAX_HEAP", "1K", 0, 100, true },
		{ "GCHEAP_MAX_HEAP", "99999999999999999999", 0, 100, true },
		{ "GCHEAP_GOGC", "off", 0, GCH_GC_PERCENT_OFF, false },
		{ "GCHEAP_GOGC", "OFF", 0, GCH_GC_PERCENT_OFF, false },
		{ "GCHEAP_GOGC", "50", 0, 50, false },
		{ "GCHEAP_GOGC", "0", 0, 100, true },
		{ "GCHEAP_GOGC", "often", 0, 100, true },
		{ "GCHEAP_GOGC", "50%", 0, 100, true },
	};
	unsigned int i;
	int status;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		status = in_child(env_child, (void *)&cases[i]);
		EXPECT_TRUE(EXITED_WITH(status, 0))
			TH_LOG("%s=%s: child status %#x (exit 13: arena size, 14: gc percent, 16/17: warning)",
			       cases[i].name, cases[i].value, status);
	}
}

/* gch_init() wins over the environment, field by field. */
TEST_F(lib, init_overrides_environment)
{
	struct gch_config cfg = { .max_heap = 1 * MiB };
	struct gch_heap_stats st;

	ASSERT_EQ(0, setenv("GCHEAP_MAX_HEAP", "4M", 1));
	ASSERT_EQ(0, setenv("GCHEAP_GOGC", "off", 1));
	ASSERT_EQ(0, gch_init(&cfg));
	ASSERT_EQ(0, gch_stats(&st));
	EXPECT_EQ(1 * MiB, st.arena_size);
	EXPECT_EQ(GCH_GC_PERCENT_OFF, st.gc_percent);
}

/* --- statistics ---------------------------------------------------------------- */

TEST_F(lib, stats_track_objects)
{
	enum { N = 100, L = 3 };
	struct gch_heap_stats s0, s1, s2;
	void *small[N], *large[L];
	unsigned int i;

	ASSERT_EQ(0, gch_stats(&s0));
	EXPECT_EQ(0, s0.live_objects);
	EXPECT_NE(NULL, s0.arena_start);
	EXPECT_LT(0, s0.arena_size);
	for (i = 0; i < N; i++) {
		ASSERT_NE(NULL, small[i] = gch_malloc(64));
	}
	for (i = 0; i < L; i++) {
		ASSERT_NE(NULL, large[i] = gch_malloc_atomic(50000 + i));
	}
	ASSERT_EQ(0, gch_stats(&s1));
	EXPECT_EQ(s0.live_objects + N + L, s1.live_objects);
	EXPECT_EQ(s0.large_objects + L, s1.large_objects);
	EXPECT_LE(s0.nmalloc + N + L, s1.nmalloc);
	EXPECT_LE(s1.live_objects, s1.objects);
	EXPECT_LE(s0.inuse_bytes + N * 64 + L * 50000, s1.inuse_bytes);
	EXPECT_LE(s1.inuse_bytes, s1.mapped_bytes);
	EXPECT_LE(1, s1.spans_inuse);
	EXPECT_LT(0, s1.metadata_bytes);

	for (i = 0; i < N; i += 2) {
		ASSERT_EQ(0, gch_free(small[i]));
	}
	for (i = 0; i < L; i++) {
		ASSERT_EQ(0, gch_free(large[i]));
	}
	ASSERT_EQ(0, gch_stats(&s2));
	EXPECT_EQ(s0.live_objects + N / 2, s2.live_objects);
	EXPECT_EQ(s0.large_objects, s2.large_objects);
	EXPECT_LE(s1.nfree + N / 2 + L, s2.nfree);
	EXPECT_EQ(s1.nmalloc, s2.nmalloc);
	EXPECT_GT(s1.inuse_bytes, s2.inuse_bytes);
}

/* --- fork ----------------------------------------------------------------------- */

static char *fork_obj;

static int touch_obj(void *arg)
{
	(void)arg;
	/* the arena is not mapped here: this must fault */
	*(volatile char *)fork_obj = 1;
	return 0;
}

static int forked_child(void *arg)
{
	struct gch_heap_stats st;
	int status;

	(void)arg;
	errno = 0;
	if (gch_malloc(16) != NULL || errno != EPERM)
		return 20;
	errno = 0;
	if (gch_malloc(100000) != NULL || errno != EPERM)
		return 21;
	errno = 0;
	if (gch_free(fork_obj) != -1 || errno != EPERM)
		return 22;
	errno = 0;
	if (gch_stats(&st) != -1 || errno != EPERM)
		return 23;
	if (gch_size(fork_obj) != 0 || gch_base(fork_obj) != NULL)
		return 24;
	if (gch_init(NULL) != -1)
		return 25;
	status = in_child(touch_obj, NULL);
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGSEGV)
		return 26;
	return 0;
}

TEST_F(lib, forked_child)
{
	struct gch_heap_stats st;
	int status;

	fork_obj = gch_malloc(64);
	ASSERT_NE(NULL, fork_obj);
	strcpy(fork_obj, "parent's");
	status = in_child(forked_child, NULL);
	EXPECT_TRUE(EXITED_WITH(status, 0))
		TH_LOG("child status %#x (exit 20-25: a call did not fail with EPERM, 26: touching the arena did not fault)",
		       status);
	/* the parent's heap is unaffected */
	EXPECT_STREQ("parent's", fork_obj);
	EXPECT_EQ(80, gch_size(fork_obj));	/* 64 and the end pointer's byte */
	EXPECT_NE(NULL, gch_malloc(16));
	EXPECT_EQ(0, gch_stats(&st));
}

/* A child that never used its parent's heap (there was none) gets its own. */
static int fresh_child(void *arg)
{
	char *p;

	(void)arg;
	p = gch_malloc(32);
	if (!p)
		return 30;
	strcpy(p, "child's");
	return gch_size(p) == 48 ? 0 : 31;	/* 32 and the end pointer's byte */
}

TEST_F(lib, child_of_unused_heap)
{
	int status = in_child(fresh_child, NULL);

	EXPECT_TRUE(EXITED_WITH(status, 0)) TH_LOG("status %#x", status);
}

/* --- the raw ABI ------------------------------------------------------------------ */

/*
 * Open and configure a heap (gc_percent the default), map its arena and
 * (if @control) control area.  0 or -1 with errno.
 */
static int raw_open(struct raw_heap *h, __u64 arena_size, bool control)
{
	struct gch_heap_config cfg = { .arena_size = arena_size };

	tables_init();
	if (raw_heap_configure(h, &cfg, O_CLOEXEC) ||
	    raw_heap_map(h, control ? RAW_MAP_BOTH : RAW_MAP_ARENA))
		return -1;
	return 0;
}

static bool raw_in_arena(const struct raw_heap *h, __u64 addr)
{
	return addr >= (uintptr_t)h->arena &&
	       addr - (uintptr_t)h->arena < h->arena_size;
}

static struct gch_cache *raw_cache(const struct raw_heap *h, unsigned int cpu,
				   unsigned int sc)
{
	return (struct gch_cache *)((char *)h->control +
				    (size_t)cpu * h->cpu_stride +
				    layout.offset[sc]);
}

/* A buffer refill if @buf, else one of the CPU's cache: 0 or -1 with errno. */
static int raw_refill(const struct raw_heap *h, unsigned int sc, __u64 *buf,
		      unsigned int max, struct gch_refill *r)
{
	return raw_ioc_refill(h->fd, buf ? GCH_REFILL_BUFFER : 0, sc, buf, max,
			      r) ? -1 : 0;
}

static int raw_alloc_large(const struct raw_heap *h, __u64 size, __u64 *addr)
{
	struct gch_alloc a = { .hdr.size = sizeof(a), .size = size };
	int err = ioctl(h->fd, GCH_IOC_ALLOC_LARGE, &a);

	*addr = a.addr;
	return err;
}

static int raw_query(const struct raw_heap *h, __u64 addr, struct gch_query *q)
{
	memset(q, 0, sizeof(*q));
	q->hdr.size = sizeof(*q);
	q->addr = addr;
	return ioctl(h->fd, GCH_IOC_QUERY, q);
}

static int raw_free(const struct raw_heap *h, __u64 addr)
{
	struct gch_free f = { .hdr.size = sizeof(f), .addr = addr };

	return ioctl(h->fd, GCH_IOC_FREE, &f);
}

static int raw_stats(const struct raw_heap *h, struct gch_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->hdr.size = sizeof(*st);
	return ioctl(h->fd, GCH_IOC_STATS, st);
}

TEST(raw_two_heaps)
{
	const unsigned int sc = GCH_SPANCLASS(3, 0);
	struct raw_heap h[2];
	struct gch_refill r;
	struct gch_query q;
	struct gch_stats st;
	struct gch_cache *c;
	__u64 buf[16], big;
	unsigned int i, k;

	ASSERT_EQ(0, raw_open(&h[0], 1 * MiB, true)) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, raw_open(&h[1], 2 * MiB, true)) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(1 * MiB, h[0].arena_size);
	EXPECT_EQ(2 * MiB, h[1].arena_size);
	EXPECT_EQ(layout.stride, h[0].cpu_stride);
	EXPECT_EQ((__u64)h[0].nr_cpus * layout.stride, h[0].control_size);

	for (k = 0; k < 2; k++) {
		/* the CPU cache: filled for the CPU the ioctl ran on */
		ASSERT_EQ(0, raw_refill(&h[k], sc, NULL, 0, &r))
			TH_LOG("heap %u: %s", k, strerror(errno));
		ASSERT_LT(r.cpu, h[k].nr_cpus);
		ASSERT_LT(0, r.count);
		EXPECT_GE(layout.capacity[sc], r.count);
		c = raw_cache(&h[k], r.cpu, sc);
		EXPECT_EQ(r.count, c->count);
		for (i = 0; i < c->count && i < layout.capacity[sc]; i++) {
			EXPECT_TRUE(raw_in_arena(&h[k], c->slots[i]))
				TH_LOG("heap %u slot %u: %#llx", k, i,
				       (unsigned long long)c->slots[i]);
			EXPECT_EQ(0, c->slots[i] % GCH_MIN_ALIGN);
		}
		/* a buffer */
		memset(buf, 0, sizeof(buf));
		ASSERT_EQ(0, raw_refill(&h[k], sc, buf, 16, &r));
		ASSERT_LT(0, r.count);
		EXPECT_GE(16, r.count);
		for (i = 0; i < r.count; i++) {
			EXPECT_TRUE(raw_in_arena(&h[k], buf[i]));
			EXPECT_TRUE(all_zero((void *)(uintptr_t)buf[i],
					     classes.size[3]));
			memset((void *)(uintptr_t)buf[i], k + 1, classes.size[3]);
		}
		ASSERT_EQ(0, raw_alloc_large(&h[k], 40000, &big));
		EXPECT_TRUE(raw_in_arena(&h[k], big));
	}
	/* each heap knows its own objects only */
	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(0, raw_refill(&h[0], sc, buf, 1, &r));
	ASSERT_EQ(0, raw_query(&h[0], buf[0] + 1, &q));
	EXPECT_EQ(buf[0], q.base);
	EXPECT_EQ(classes.size[3], q.size);
	EXPECT_EQ(3, q.sizeclass);
	EXPECT_EQ(-1, raw_query(&h[1], buf[0], &q));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, raw_free(&h[1], buf[0]));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, raw_free(&h[0], buf[0]));
	for (k = 0; k < 2; k++) {
		ASSERT_EQ(0, raw_stats(&h[k], &st));
		EXPECT_EQ(h[k].arena_size, st.arena_size);
		EXPECT_EQ(1, st.large_objects);
	}
	close(h[0].fd);
	/* the other heap lives on without it */
	ASSERT_EQ(0, raw_refill(&h[1], sc, buf, 4, &r));
	EXPECT_TRUE(raw_in_arena(&h[1], buf[0]));
	close(h[1].fd);
}

static struct raw_heap fork_heap;
static __u64 fork_addr;

static int raw_touch(void *arg)
{
	(void)arg;
	*(volatile char *)(uintptr_t)fork_addr = 1;
	return 0;
}

static int raw_child_fn(void *arg)
{
	struct gch_heap_config cfg = { .hdr.size = sizeof(cfg) };
	struct gch_refill r;
	struct gch_query q;
	__u64 buf[4], addr;
	void *m;
	int status;

	(void)arg;
	if (raw_refill(&fork_heap, GCH_SPANCLASS(1, 0), buf, 4, &r) != -1 ||
	    errno != EPERM)
		return 40;
	if (raw_refill(&fork_heap, GCH_SPANCLASS(1, 0), NULL, 0, &r) != -1 ||
	    errno != EPERM)
		return 41;
	if (raw_alloc_large(&fork_heap, 40000, &addr) != -1 || errno != EPERM)
		return 42;
	if (raw_query(&fork_heap, fork_addr, &q) != -1 || errno != EPERM)
		return 43;
	if (raw_free(&fork_heap, fork_addr) != -1 || errno != EPERM)
		return 44;
	if (ioctl(fork_heap.fd, GCH_IOC_CONFIGURE, &cfg) != -1 || errno != EPERM)
		return 45;
	m = mmap(NULL, fork_heap.arena_size, PROT_READ | PROT_WRITE,
		 MAP_SHARED, fork_heap.fd, GCH_MMAP_ARENA);
	if (m != MAP_FAILED || errno != EPERM)
		return 46;
	status = in_child(raw_touch, NULL);
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGSEGV)
		return 47;
	return 0;
}

TEST(raw_forked_child)
{
	struct gch_refill r;
	__u64 buf[4];
	int status;

	ASSERT_EQ(0, raw_open(&fork_heap, 1 * MiB, true));
	ASSERT_EQ(0, raw_refill(&fork_heap, GCH_SPANCLASS(1, 0), buf, 4, &r));
	fork_addr = buf[0];
	memcpy((void *)(uintptr_t)fork_addr, "parent", 7);
	status = in_child(raw_child_fn, NULL);
	EXPECT_TRUE(EXITED_WITH(status, 0))
		TH_LOG("child status %#x (exit 40-46: no EPERM, 47: the arena was inherited)",
		       status);
	EXPECT_STREQ("parent", (char *)(uintptr_t)fork_addr);
	EXPECT_EQ(0, raw_refill(&fork_heap, GCH_SPANCLASS(1, 0), buf, 4, &r));
	close(fork_heap.fd);
}

/*
 * MADV_DOFORK clears VM_DONTCOPY: whatever a child then inherits, it must
 * not reach the parent's objects, and its exit must not end the parent's
 * mappings.
 */
static int raw_read_obj(void *arg)
{
	(void)arg;
	return memcmp((void *)(uintptr_t)fork_addr, "parent", 7) ? 0 : 51;
}

TEST(raw_madvise_dofork)
{
	struct gch_refill r;
	__u64 buf[4];
	int status, a, c;

	ASSERT_EQ(0, raw_open(&fork_heap, 1 * MiB, true));
	ASSERT_EQ(0, raw_refill(&fork_heap, GCH_SPANCLASS(1, 0), buf, 4, &r));
	fork_addr = buf[0];
	memcpy((void *)(uintptr_t)fork_addr, "parent", 7);
	a = madvise(fork_heap.arena, fork_heap.arena_size, MADV_DOFORK);
	c = madvise(fork_heap.control, fork_heap.control_size, MADV_DOFORK);
	TH_LOG("madvise(MADV_DOFORK): arena %d, control area %d", a, c);

	/* touching it faults: SIGSEGV (not mapped) or SIGBUS (refused) */
	status = in_child(raw_read_obj, NULL);
	EXPECT_TRUE(WIFSIGNALED(status) &&
		    (WTERMSIG(status) == SIGSEGV || WTERMSIG(status) == SIGBUS))
		TH_LOG("child status %#x (exit 51: it read the parent's object)",
		       status);
	status = in_child(raw_touch, NULL);
	EXPECT_TRUE(WIFSIGNALED(status) &&
		    (WTERMSIG(status) == SIGSEGV || WTERMSIG(status) == SIGBUS))
		TH_LOG("child status %#x: it could write to the arena", status);

	/* the children's exits did not take the parent's mappings away */
	EXPECT_STREQ("parent", (char *)(uintptr_t)fork_addr);
	EXPECT_EQ(0, raw_refill(&fork_heap, GCH_SPANCLASS(1, 0), buf, 4, &r))
		TH_LOG("buffer refill after the children exited: %s",
		       strerror(errno));
	EXPECT_EQ(0, raw_refill(&fork_heap, GCH_SPANCLASS(1, 0), NULL, 0, &r))
		TH_LOG("CPU refill after the children exited: %s",
		       strerror(errno));
	close(fork_heap.fd);
}

/* mremap, mprotect and partial munmap of one mapping all fail cleanly. */
static void check_mapping_fixed(struct __test_metadata *_metadata,
				const char *what, char *map, size_t len)
{
	long page = sysconf(_SC_PAGESIZE);
	void *other, *r;

	errno = 0;
	r = mremap(map, len, len + page, 0);
	EXPECT_EQ(MAP_FAILED, r) TH_LOG("%s: mremap grow", what);
	EXPECT_NE(0, errno);
	errno = 0;
	r = mremap(map, len, len + page, MREMAP_MAYMOVE);
	EXPECT_EQ(MAP_FAILED, r) TH_LOG("%s: mremap grow and move", what);
	EXPECT_NE(0, errno);
	errno = 0;
	r = mremap(map, len, len - page, 0);
	EXPECT_EQ(MAP_FAILED, r) TH_LOG("%s: mremap shrink", what);
	EXPECT_NE(0, errno);
	other = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, other);
	errno = 0;
	r = mremap(map, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, other);
	EXPECT_EQ(MAP_FAILED, r) TH_LOG("%s: mremap move", what);
	EXPECT_NE(0, errno);
	munmap(other, len);

	errno = 0;
	EXPECT_EQ(-1, mprotect(map, len, PROT_READ)) TH_LOG("%s: mprotect", what);
	EXPECT_NE(0, errno);
	errno = 0;
	EXPECT_EQ(-1, mprotect(map, page, PROT_NONE)) TH_LOG("%s: mprotect page", what);
	EXPECT_NE(0, errno);
	errno = 0;
	EXPECT_EQ(-1, mprotect(map, len, PROT_READ | PROT_WRITE | PROT_EXEC))
		TH_LOG("%s: mprotect exec", what);
	EXPECT_NE(0, errno);

	errno = 0;
	EXPECT_EQ(-1, munmap(map, page)) TH_LOG("%s: munmap head", what);
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, munmap(map + len - page, page)) TH_LOG("%s: munmap tail", what);
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, munmap(map + 2 * page, page)) TH_LOG("%s: munmap middle", what);
	EXPECT_EQ(EINVAL, errno);
}

TEST(raw_mapping_changes)
{
	const unsigned int sc = GCH_SPANCLASS(5, 1);
	struct raw_heap h;
	struct gch_refill r;
	__u64 buf[4], addr;
	void *m;

	ASSERT_EQ(0, raw_open(&h, 1 * MiB, true)) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, raw_refill(&h, sc, buf, 4, &r));
	memset((void *)(uintptr_t)buf[0], 0x77, classes.size[5]);

	check_mapping_fixed(_metadata, "arena", h.arena, h.arena_size);
	check_mapping_fixed(_metadata, "control", h.control, h.control_size);

	/* both still work, at the same place */
	EXPECT_TRUE(all_byte((void *)(uintptr_t)buf[0], classes.size[5], 0x77));
	ASSERT_EQ(0, raw_refill(&h, sc, buf, 4, &r));
	EXPECT_TRUE(raw_in_arena(&h, buf[0]));
	ASSERT_EQ(0, raw_refill(&h, sc, NULL, 0, &r));
	EXPECT_LT(0, raw_cache(&h, r.cpu, sc)->count);

	/* a second mapping of either is refused */
	m = mmap(NULL, h.arena_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		 h.fd, GCH_MMAP_ARENA);
	EXPECT_EQ(MAP_FAILED, m);
	m = mmap(NULL, h.control_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		 h.fd, GCH_MMAP_CONTROL);
	EXPECT_EQ(MAP_FAILED, m);

	/* the whole control area may go: CPU refills stop, buffers go on */
	ASSERT_EQ(0, munmap(h.control, h.control_size));
	EXPECT_EQ(-1, raw_refill(&h, sc, NULL, 0, &r));
	EXPECT_EQ(ENXIO, errno);
	EXPECT_EQ(0, raw_refill(&h, sc, buf, 4, &r));

	/* the whole arena may go: then nothing is allocated any more */
	ASSERT_EQ(0, munmap(h.arena, h.arena_size));
	EXPECT_EQ(-1, raw_refill(&h, sc, buf, 4, &r));
	EXPECT_EQ(ENXIO, errno);
	EXPECT_EQ(-1, raw_alloc_large(&h, 40000, &addr));
	EXPECT_EQ(ENXIO, errno);
	/* and it does not come back */
	m = mmap(NULL, h.arena_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		 h.fd, GCH_MMAP_ARENA);
	EXPECT_EQ(MAP_FAILED, m);
	close(h.fd);
}

/* Reading @p: 0, or the signal it raised. */
static sigjmp_buf probe_jmp;

static void probe_handler(int sig)
{
	siglongjmp(probe_jmp, sig);
}

static int probe_read(const volatile char *p)
{
	struct sigaction sa = { .sa_handler = probe_handler }, old_bus, old_segv;
	int sig;

	sigaction(SIGBUS, &sa, &old_bus);
	sigaction(SIGSEGV, &sa, &old_segv);
	sig = sigsetjmp(probe_jmp, 1);
	if (!sig)
		(void)*p;
	sigaction(SIGBUS, &old_bus, NULL);
	sigaction(SIGSEGV, &old_segv, NULL);
	return sig;
}

/*
 * Only allocated memory exists: the rest of the arena is a bus error, not
 * a fresh page.  Freed pages stay mapped, idle, for reuse; the scavenger
 * returns them (and the process's RSS) within two scavenge_delay_ms
 * periods.  Then the freed range is a bus error again.
 */
TEST(raw_arena_sigbus_and_release)
{
	const __u64 big = 8 * MiB;
	struct raw_heap h;
	long before, during, after;
	struct gch_stats st;
	unsigned int ms;
	__u64 addr;

	ASSERT_EQ(0, raw_open(&h, 64 * MiB, false)) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(SIGBUS, probe_read(h.arena));
	EXPECT_EQ(SIGBUS, probe_read((char *)h.arena + 32 * MiB));
	EXPECT_EQ(SIGBUS, probe_read((char *)h.arena + h.arena_size - 1));

	before = mapping_rss_kb(h.arena);
	EXPECT_EQ(0, before);
	ASSERT_EQ(0, raw_alloc_large(&h, big, &addr));
	memset((void *)(uintptr_t)addr, 0x3c, big);
	during = mapping_rss_kb(h.arena);
	EXPECT_EQ((long)(big >> 10), during);
	/* past the object's span: still nothing there */
	EXPECT_EQ(SIGBUS, probe_read((char *)(uintptr_t)addr + big));

	ASSERT_EQ(0, raw_free(&h, addr));
	ASSERT_EQ(0, raw_stats(&h, &st));
	EXPECT_EQ(0, st.mapped_bytes);
	EXPECT_EQ(big, st.idle_bytes + st.scavenged_bytes);
	for (ms = 0; ms < 10000; ms += 10) {
		after = mapping_rss_kb(h.arena);
		if (!after)
			break;
		usleep(10000);
	}
	ASSERT_EQ(0, raw_stats(&h, &st));
	EXPECT_EQ(0, after) TH_LOG("arena RSS %ld -> %ld -> %ld kB after %u ms: freed pages stayed",
				   before, during, after, ms);
	EXPECT_EQ(0, st.idle_bytes);
	EXPECT_EQ(big, st.scavenged_bytes);
	EXPECT_EQ(SIGBUS, probe_read((char *)(uintptr_t)addr));
	EXPECT_EQ(SIGBUS, probe_read((char *)(uintptr_t)addr + big - 1));
	close(h.fd);
}

/*
 * The arena's first heap page is never handed out, so that no object
 * starts at the arena's own address (programs keep copies of it, and an
 * object there would never be freed): the first object of every span
 * class, from a buffer refill and from the CPU cache, and the first large
 * object start right past it; it finds no object and frees none; a full
 * arena is full without it, which stays a bus error and out of
 * mapped_bytes.
 */
TEST(raw_arena_first_page_reserved)
{
	const __u64 arena_size = 16 * GCH_PAGE_SIZE, big = 5 * GCH_PAGE_SIZE;
	__u64 first, buf[512], addr[4], a;
	struct raw_heap h;
	struct gch_refill r;
	struct gch_query q;
	struct gch_stats st;
	struct gch_cache *c;
	unsigned int sc, i, n;

	ASSERT_EQ(0, raw_open(&h, arena_size, true)) TH_LOG("%s", strerror(errno));
	first = (uintptr_t)h.arena + GCH_PAGE_SIZE;
	for (sc = 2; sc < 2 * classes.nr_classes; sc++) {
		/* one span's worth */
		ASSERT_GE(ARRAY_SIZE(buf), classes.nobjs[sc >> 1]);
		ASSERT_EQ(0, raw_refill(&h, sc, buf, classes.nobjs[sc >> 1], &r))
			TH_LOG("spanclass %u: %s", sc, strerror(errno));
		ASSERT_LT(0, r.count);
		EXPECT_EQ(first, buf[0]) TH_LOG("spanclass %u", sc);
		for (i = 0; i < r.count; i++)
			ASSERT_EQ(0, raw_free(&h, buf[i] & ~(__u64)GCH_SLOT_UNZEROED));
	}
	/* the CPU cache of an empty heap: its lowest slot is the first */
	sc = GCH_SPANCLASS(1, 0);
	ASSERT_EQ(0, raw_refill(&h, sc, NULL, 0, &r)) TH_LOG("%s", strerror(errno));
	ASSERT_LT(r.cpu, h.nr_cpus);
	c = raw_cache(&h, r.cpu, sc);
	ASSERT_LT(0, c->count);
	a = ~0ULL;
	for (i = 0; i < c->count && i < layout.capacity[sc]; i++)
		a = c->slots[i] < a ? c->slots[i] : a;
	EXPECT_EQ(first, a & ~(__u64)GCH_SLOT_UNZEROED);
	for (i = 0; i < c->count && i < layout.capacity[sc]; i++)
		ASSERT_EQ(0, raw_free(&h, c->slots[i] & ~(__u64)GCH_SLOT_UNZEROED));
	c->count = 0;

	/* large objects: 3 of 5 pages fill the 15 pages past the first */
	for (n = 0; n < ARRAY_SIZE(addr); n++)
		if (raw_alloc_large(&h, big, &addr[n]))
			break;
	EXPECT_EQ(3, n);
	EXPECT_EQ(ENOMEM, errno);
	EXPECT_EQ(first, addr[0]);
	for (i = 0; i < n; i++)
		EXPECT_LE(first, addr[i]);
	ASSERT_EQ(0, raw_stats(&h, &st));
	EXPECT_EQ(arena_size, st.arena_size);
	EXPECT_EQ(3 * big, st.mapped_bytes);
	EXPECT_EQ(3, st.objects);
	/* nothing at, in or from the arena's first page */
	for (a = 0; a < GCH_PAGE_SIZE; a += 1024 + 8) {
		EXPECT_EQ(-1, raw_query(&h, (uintptr_t)h.arena + a, &q));
		EXPECT_EQ(ENOENT, errno) TH_LOG("offset %llu", (unsigned long long)a);
		EXPECT_EQ(-1, raw_free(&h, (uintptr_t)h.arena + a));
		EXPECT_EQ(EINVAL, errno);
	}
	EXPECT_EQ(SIGBUS, probe_read(h.arena));
	EXPECT_EQ(SIGBUS, probe_read((char *)h.arena + GCH_PAGE_SIZE - 1));
	EXPECT_EQ(0, probe_read((char *)(uintptr_t)first));
	for (i = 0; i < n; i++)
		EXPECT_EQ(0, raw_free(&h, addr[i]));
	close(h.fd);
}

/* Whatever the process writes into its control area, the kernel copes. */
TEST(raw_control_garbage)
{
	static const unsigned int classes_to_try[] = { 2, 3, 7, 40, 61, 100, 129 };
	struct raw_heap h;
	struct gch_refill r;
	struct gch_stats st;
	struct gch_query q;
	struct gch_cache *c;
	uint32_t seed = 12345, *w;
	unsigned int i, j, sc, cap, round, cpu;
	cpu_set_t set;
	size_t n;

	/* stay on one CPU, so that the refills fill the block we scribble on */
	cpu = sched_getcpu();
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(set), &set));
	ASSERT_EQ(0, raw_open(&h, 4 * MiB, true)) TH_LOG("%s", strerror(errno));
	ASSERT_LT(cpu, h.nr_cpus);
	ASSERT_EQ(0, raw_refill(&h, GCH_SPANCLASS(2, 0), NULL, 0, &r));
	ASSERT_EQ(cpu, r.cpu);

	for (round = 0; round < 4; round++) {
		w = (uint32_t *)((char *)h.control +
				 (size_t)cpu * h.cpu_stride);
		for (n = 0; n < h.cpu_stride / 4; n++)
			w[n] = rnd(&seed);
		if (round == 1)	/* counts just past the capacity */
			for (sc = 2; sc < 2 * classes.nr_classes; sc++)
				raw_cache(&h, cpu, sc)->count = layout.capacity[sc] + 1;
		if (round == 2)	/* full caches of garbage */
			for (sc = 2; sc < 2 * classes.nr_classes; sc++)
				raw_cache(&h, cpu, sc)->count = layout.capacity[sc];
		if (round == 3)
			for (sc = 2; sc < 2 * classes.nr_classes; sc++)
				raw_cache(&h, cpu, sc)->count = UINT32_MAX;

		for (i = 0; i < ARRAY_SIZE(classes_to_try); i++) {
			sc = classes_to_try[i];
			if (sc >= 2 * classes.nr_classes)
				continue;
			cap = layout.capacity[sc];
			c = raw_cache(&h, cpu, sc);
			if (raw_refill(&h, sc, NULL, 0, &r)) {
				/* a clean error is fine; not a crash */
				EXPECT_TRUE(errno == EINVAL || errno == ENOMEM ||
					    errno == EFAULT)
					TH_LOG("round %u class %u: %s", round, sc,
					       strerror(errno));
				continue;
			}
			EXPECT_EQ(cpu, r.cpu);
			EXPECT_GE(cap, c->count) TH_LOG("round %u class %u", round, sc);
			EXPECT_GE(c->count, r.count);
			if (round == 2)
				EXPECT_EQ(0, r.count);
			/* what the kernel added is real */
			for (j = c->count - r.count; j < c->count && c->count <= cap; j++) {
				EXPECT_TRUE(raw_in_arena(&h, c->slots[j]))
					TH_LOG("round %u class %u slot %u", round, sc, j);
			}
		}
		/* the other ioctls see garbage addresses as what they are */
		c = raw_cache(&h, cpu, GCH_SPANCLASS(40, 0));
		for (j = 0; j < 8; j++) {
			__u64 a = c->slots[j] ^ ((__u64)rnd(&seed) << 3);

			if (raw_query(&h, a, &q))
				EXPECT_TRUE(errno == EINVAL || errno == ENOENT);
		}
		ASSERT_EQ(0, raw_stats(&h, &st));
		EXPECT_EQ(h.arena_size, st.arena_size);
	}
	/* release the heap with garbage in its caches */
	for (n = 0; n < h.cpu_stride / 4; n++)
		w[n] = rnd(&seed);
	close(h.fd);
}

TEST_HARNESS_MAIN
