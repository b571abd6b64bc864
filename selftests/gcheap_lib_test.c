// SPDX-License-Identifier: GPL-2.0
/*
 * The library's promises that no object is lost ("No lost objects"):
 *
 *   dlopen_race        data/bss roots while other threads dlopen(),
 *                      dlclose() and collect: a collection never sees a
 *                      half-registered root set, and a library whose
 *                      constructor stored an object is a root at once;
 *   thread_result      a thread's return value (return and pthread_exit())
 *                      survives collections until pthread_join();
 *   tsd_low_key        pthread_setspecific() values of keys below 32;
 *   tsd_high_key       and of keys 32 and above (glibc: calloc() memory);
 *   end_pointer        a pointer one past the end of a scanned object,
 *                      its only reference, keeps it (not its neighbour);
 *   signal_alloc       a signal handler allocating while the thread
 *                      allocates and collects: no object handed out twice,
 *                      no deadlock (per-CPU and per-thread caches);
 *   enomem_collects    a small arena full of garbage keeps allocating;
 *   bad_gogc_*         a bad GCHEAP_GOGC or gc_percent does not disable
 *                      the heap;
 *   concurrent_choice  GCHEAP_CONCURRENT and gch_config.concurrent choose
 *                      how collections mark (GCHEAP_TRACE says which),
 *                      the config winning; gch_init@GCHEAP_0.3 and 0.1
 *                      still take their shorter structs;
 *   realloc_shrink     shrinking in place forgets the old tail's pointers;
 *   fork_no_atfork     a child of _Fork() or a raw fork system call gets
 *                      NULL with EPERM, not a crash.
 *
 * Objects are checksummed (a word of their own address XOR a key, and a
 * pattern derived from it), garbage is allocated between collections so
 * memory freed by mistake is handed out and overwritten, and pointers the
 * test keeps are XOR-masked ("hidden") so that only the root under test
 * holds them.
 */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gcheap.h"
#include "kselftest_harness.h"
#include "test_util.h"
#include "hidden_ptr.h"

#ifndef __x86_64__
#error "these tests wipe x86-64 registers"
#endif

#define KiB		1024UL
#define MiB		(1024 * KiB)
#define NSEC		1000000000ULL
#define MSEC		1000000ULL

#define noinline	__attribute__((noinline))

/* --- checksummed objects ------------------------------------------------- */

/*
 * Word @skip: the address XOR @key; then words derived from both (top bit
 * set: no pointer).  Words below @skip are the caller's (links).
 */
static noinline void obj_fill_from(uint64_t *p, size_t words, uint64_t key,
				   size_t skip)
{
	size_t i;

	key |= 1ULL << 63;
	p[skip] = (uintptr_t)p ^ key;
	for (i = skip + 1; i < words; i++)
		p[i] = mix64((uintptr_t)p ^ key ^ i) | (1ULL << 63);
}

static void obj_fill(uint64_t *p, size_t words, uint64_t key)
{
	obj_fill_from(p, words, key, 0);
}

/* 0: intact and allocated; 1: not an allocated object; 2: overwritten. */
static noinline int obj_check_from(const uint64_t *p, size_t words,
				   uint64_t key, size_t skip)
{
	size_t i;

	key |= 1ULL << 63;
	if (gch_base(p) != p)
		return 1;
	if (p[skip] != ((uintptr_t)p ^ key))
		return 2;
	for (i = skip + 1; i < words; i++)
		if (p[i] != (mix64((uintptr_t)p ^ key ^ i) | (1ULL << 63)))
			return 2;
	return 0;
}

static int obj_check(const uint64_t *p, size_t words, uint64_t key)
{
	return obj_check_from(p, words, key, 0);
}

static noinline int obj_check_hidden(uintptr_t h, size_t words, uint64_t key)
{
	return obj_check(unhide(h), words, key);
}

/* Collect, garbage, collect: what is not rooted is gone and overwritten. */
static noinline int collect_churn(uint64_t seed)
{
	scrub();
	if (gch_collect())
		return -1;
	if (churn(20000, seed))
		return -1;
	scrub();
	return gch_collect();
}

/*
 * A live object allocated first: it used to take the arena's first byte,
 * which every copy of the arena's address (gch_stats(), a stack frame)
 * kept alive; the module now never hands that page out (see
 * pin_arena_start() in gcheap_gc_test.c).
 */
static void *volatile g_pin;

static void clean_env(void)
{
	unsetenv("GCHEAP_GOGC");
	unsetenv("GCHEAP_MAX_HEAP");
	unsetenv("GCHEAP_NO_RSEQ");
	unsetenv("GCHEAP_TRACE");
}

static void pin(struct __test_metadata *_metadata)
{
	g_pin = gch_malloc(16);
	ASSERT_NE(NULL, g_pin) TH_LOG("gch_malloc: %s", strerror(errno));
}

/* Path of a helper object next to this program. */
static void helper_path(char *path, size_t len, const char *name)
{
	char exe[PATH_MAX / 2];
	ssize_t n;
	char *slash;

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0) {
		snprintf(path, len, "%s", name);
		return;
	}
	exe[n] = 0;
	slash = strrchr(exe, '/');
	if (slash)
		*slash = 0;
	snprintf(path, len, "%s/%s", exe, name);
}

static int copy_file(const char *from, const char *to)
{
	char buf[65536];
	FILE *in, *out;
	size_t n;
	int ret = 0;

	in = fopen(from, "rb");
	if (!in)
		return -1;
	out = fopen(to, "wb");
	if (!out) {
		fclose(in);
		return -1;
	}
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		if (fwrite(buf, 1, n, out) != n)
			ret = -1;
	fclose(in);
	if (fclose(out))
		ret = -1;
	return ret;
}

/* Every test runs in a process of its own: a fresh heap. */
FIXTURE(lib) {
	int unused;
};

FIXTURE_SETUP(lib)
{
	clean_env();
}

FIXTURE_TEARDOWN(lib)
{
}

/* --- 1. roots while libraries come and go ------------------------------- */

#define RACE_SECONDS	8
#define RACE_LOADERS	2
#define RACE_COLLECTORS	2
#define CHAIN_LEN	2000
#define CHAIN_WORDS	8	/* word 0 links, the rest is checked */
#define CHAIN_KEY	0x7e57c4a1bULL

static int race_stop;
static void *volatile g_chain;		/* the executable's .bss */

struct loader {
	char path[PATH_MAX];
	unsigned long loads, lost, noobj, errors;
	char err[256];
};

/* A chain of checksummed nodes; word 0 links them. */
static noinline uintptr_t chain_build(uint64_t key)
{
	uint64_t *head = NULL, *p;
	unsigned int i;

	for (i = 0; i < CHAIN_LEN; i++) {
		p = gch_malloc(CHAIN_WORDS * sizeof(uint64_t));
		if (!p)
			return 0;
		obj_fill_from(p, CHAIN_WORDS, key ^ i, 1);
		p[0] = (uintptr_t)head;
		head = p;
	}
	return hide(head);
}

/* Nodes of the chain that are freed or overwritten (or not reached). */
static noinline unsigned int chain_bad(uintptr_t h, uint64_t key)
{
	const uint64_t *p = unhide(h);
	unsigned int i;

	for (i = CHAIN_LEN; i-- > 0; ) {
		if (!p || obj_check_from(p, CHAIN_WORDS, key ^ i, 1))
			return i + 1;
		p = (const uint64_t *)p[0];
	}
	return 0;
}

static void *race_loader(void *arg)
{
	struct loader *l = arg;
	int (*check)(void);
	unsigned int n = 0;
	void *dl;
	int r;

	while (!__atomic_load_n(&race_stop, __ATOMIC_RELAXED)) {
		dl = dlopen(l->path, RTLD_NOW | RTLD_LOCAL);
		if (!dl) {
			snprintf(l->err, sizeof(l->err), "%s", dlerror());
			l->errors++;
			break;
		}
		check = (int (*)(void))dlsym(dl, "gcheap_dlctor_check");
		/* collections by the other threads happen meanwhile */
		churn(2000, (uint64_t)(uintptr_t)l + n++);
		r = check ? check() : -2;
		__atomic_add_fetch(&l->loads, 1, __ATOMIC_RELAXED);
		if (r == -1)
			l->noobj++;
		else if (r)
			l->lost++;
		dlclose(dl);
	}
	return NULL;
}

static void *race_collector(void *arg)
{
	unsigned long *n = arg;

	while (!__atomic_load_n(&race_stop, __ATOMIC_RELAXED)) {
		if (!gch_collect())
			(*n)++;
	}
	return NULL;
}

/* Loads the loaders have made so far. */
static unsigned long race_loads(const struct loader *ld)
{
	unsigned long n = 0;
	int i;

	for (i = 0; i < RACE_LOADERS; i++)
		n += __atomic_load_n(&ld[i].loads, __ATOMIC_RELAXED);
	return n;
}

TEST_F_TIMEOUT(lib, dlopen_race, 120)
{
	struct loader ld[RACE_LOADERS];
	pthread_t lt[RACE_LOADERS], ct[RACE_COLLECTORS];
	unsigned long collections[RACE_COLLECTORS] = { 0 };
	unsigned long loads = 0, lost = 0, noobj = 0, checks = 0;
	unsigned long bad_exe = 0, bad_dl = 0, ncoll = 0;
	void (*set)(int, void *);
	void *(*get)(int);
	char src[PATH_MAX];
	uintptr_t h_exe, h_dl;
	uint64_t end, hard_end;
	void *dlobj;
	int i;

	clean_env();
	pin(_metadata);
	helper_path(src, sizeof(src), "libgcheap_gc_dlobj.so");
	dlobj = dlopen(src, RTLD_NOW | RTLD_LOCAL);
	ASSERT_NE(NULL, dlobj) TH_LOG("%s", dlerror());
	set = (void (*)(int, void *))dlsym(dlobj, "gcheap_dlobj_set");
	get = (void *(*)(int))dlsym(dlobj, "gcheap_dlobj_get");
	ASSERT_TRUE(set && get);

	/* one chain from the executable's bss, one from a library's */
	h_exe = chain_build(CHAIN_KEY);
	ASSERT_NE(0, h_exe);
	g_chain = unhide(h_exe);
	h_dl = chain_build(CHAIN_KEY + 1);
	ASSERT_NE(0, h_dl);
	set(0, unhide(h_dl));

	helper_path(src, sizeof(src), "libgcheap_lib_dlctor.so");
	for (i = 0; i < RACE_LOADERS; i++) {
		memset(&ld[i], 0, sizeof(ld[i]));
		snprintf(ld[i].path, sizeof(ld[i].path),
			 "/tmp/gcheap_lib_dlctor.%d.%d.so", (int)getpid(), i);
		ASSERT_EQ(0, copy_file(src, ld[i].path)) TH_LOG("%s", src);
	}
	for (i = 0; i < RACE_LOADERS; i++)
		ASSERT_EQ(0, pthread_create(&lt[i], NULL, race_loader, &ld[i]));
	for (i = 0; i < RACE_COLLECTORS; i++)
		ASSERT_EQ(0, pthread_create(&ct[i], NULL, race_collector,
					    &collections[i]));
	/*
	 * RACE_SECONDS, and on a slow machine on until 3 loads are done
	 * (each waits for collections), at most 90 s: a progress check,
	 * not a timing.
	 */
	end = now_ns() + RACE_SECONDS * NSEC;
	hard_end = now_ns() + 90 * NSEC;
	while (now_ns() < hard_end &&
	       (now_ns() < end || race_loads(ld) < 3)) {
		usleep(200 * 1000);
		scrub();
		bad_exe += chain_bad(h_exe, CHAIN_KEY);
		bad_dl += chain_bad(hide(get(0)), CHAIN_KEY + 1);
		checks++;
	}
	__atomic_store_n(&race_stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < RACE_LOADERS; i++) {
		pthread_join(lt[i], NULL);
		unlink(ld[i].path);
		loads += ld[i].loads;
		lost += ld[i].lost;
		noobj += ld[i].noobj;
		EXPECT_EQ(0, ld[i].errors) TH_LOG("dlopen: %s", ld[i].err);
	}
	for (i = 0; i < RACE_COLLECTORS; i++) {
		pthread_join(ct[i], NULL);
		ncoll += collections[i];
	}
	TH_LOG("%lu loads, %lu collections, %lu chain checks: %lu constructor objects lost, %lu without one; bad chain nodes: %lu from the executable's bss, %lu from a library's",
	       loads, ncoll, checks, lost, noobj, bad_exe, bad_dl);
	/* loads wait for collections (and the reverse): few under TCG */
	EXPECT_LT(2, loads);
	EXPECT_LT(10, ncoll);
	EXPECT_EQ(0, lost);
	EXPECT_EQ(0, noobj);
	EXPECT_EQ(0, bad_exe);
	EXPECT_EQ(0, bad_dl);
}

/* --- 2. a thread's result, thread-specific data ------------------------- */

#define RESULT_THREADS	16
#define RESULT_WORDS	8
#define RESULT_KEY	0x2e5a17ULL

struct result_arg {
	int idx;
	int use_exit;
	int tid;
	uintptr_t h;
};

static noinline void *result_make(struct result_arg *a)
{
	uint64_t *p = gch_malloc(RESULT_WORDS * sizeof(uint64_t));

	if (p)
		obj_fill(p, RESULT_WORDS, RESULT_KEY + a->idx);
	a->h = hide(p);
	return p;
}

static void *result_thread(void *arg)
{
	struct result_arg *a = arg;
	void *p = result_make(a);

	__atomic_store_n(&a->tid, (int)syscall(SYS_gettid), __ATOMIC_RELEASE);
	if (a->use_exit)
		pthread_exit(p);
	return p;
}

/* Has thread @tid left the thread group (its task gone)? */
static bool task_gone(int tid, unsigned int ms)
{
	uint64_t end = now_ns() + ms * MSEC;
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/task/%d", tid);
	while (now_ns() < end) {
		if (access(path, F_OK))
			return true;
		usleep(1000);
	}
	return false;
}

static noinline void result_start(struct __test_metadata *_metadata,
				  pthread_t *t, struct result_arg *a)
{
	int i;

	for (i = 0; i < RESULT_THREADS; i++) {
		a[i].idx = i;
		a[i].use_exit = i & 1;
		ASSERT_EQ(0, pthread_create(&t[i], NULL, result_thread, &a[i]));
	}
	for (i = 0; i < RESULT_THREADS; i++) {
		while (!__atomic_load_n(&a[i].tid, __ATOMIC_ACQUIRE))
			usleep(1000);
		ASSERT_TRUE(task_gone(a[i].tid, 5000));
	}
}

TEST_F_TIMEOUT(lib, thread_result, 120)
{
	struct result_arg a[RESULT_THREADS];
	pthread_t t[RESULT_THREADS];
	unsigned int lost = 0, bad = 0;
	void *res;
	int i, r;

	clean_env();
	pin(_metadata);
	memset(a, 0, sizeof(a));
	result_start(_metadata, t, a);
	/* every thread has exited, none is joined: results are in glibc */
	ASSERT_EQ(0, collect_churn(1));
	ASSERT_EQ(0, collect_churn(2));
	for (i = 0; i < RESULT_THREADS; i++) {
		ASSERT_EQ(0, pthread_join(t[i], &res));
		if (hide(res) != a[i].h) {
			bad++;
			continue;
		}
		r = obj_check_hidden(a[i].h, RESULT_WORDS, RESULT_KEY + i);
		lost += r != 0;
	}
	res = NULL;
	TH_LOG("%d exited threads: %u results lost, %u wrong", RESULT_THREADS,
	       lost, bad);
	EXPECT_EQ(0, lost);
	EXPECT_EQ(0, bad);
}

#define TSD_KEYS	8
#define TSD_WORDS	8
#define TSD_KEY		0x75d0ULL

static pthread_key_t tsd_keys[TSD_KEYS];
static int tsd_state;
static int tsd_lost;

static noinline void tsd_set(void)
{
	uint64_t *p;
	int i;

	for (i = 0; i < TSD_KEYS; i++) {
		p = gch_malloc(TSD_WORDS * sizeof(uint64_t));
		if (!p)
			return;
		obj_fill(p, TSD_WORDS, TSD_KEY + i);
		pthread_setspecific(tsd_keys[i], p);
	}
}

static void *tsd_thread(void *arg)
{
	int i;

	(void)arg;
	tsd_set();
	scrub();
	__atomic_store_n(&tsd_state, 1, __ATOMIC_RELEASE);
	while (__atomic_load_n(&tsd_state, __ATOMIC_ACQUIRE) != 2)
		usleep(1000);
	for (i = 0; i < TSD_KEYS; i++)
		tsd_lost += obj_check(pthread_getspecific(tsd_keys[i]),
				      TSD_WORDS, TSD_KEY + i) != 0;
	return NULL;
}

/* Keys below PTHREAD_KEY_2NDLEVEL_SIZE (32) live in struct pthread. */
TEST_F_TIMEOUT(lib, tsd_low_key, 60)
{
	pthread_t t;
	int i;

	clean_env();
	pin(_metadata);
	for (i = 0; i < TSD_KEYS; i++)
		ASSERT_EQ(0, pthread_key_create(&tsd_keys[i], NULL));
	ASSERT_GT(32, tsd_keys[TSD_KEYS - 1]);
	ASSERT_EQ(0, pthread_create(&t, NULL, tsd_thread, NULL));
	while (__atomic_load_n(&tsd_state, __ATOMIC_ACQUIRE) != 1)
		usleep(1000);
	ASSERT_EQ(0, collect_churn(3));
	ASSERT_EQ(0, collect_churn(4));
	__atomic_store_n(&tsd_state, 2, __ATOMIC_RELEASE);
	ASSERT_EQ(0, pthread_join(t, NULL));
	EXPECT_EQ(0, tsd_lost);
}

#define TSDH_KEYS	48	/* glibc's second level starts at 32 */

static pthread_key_t tsdh_keys[TSDH_KEYS];
static int tsdh_state;
static unsigned int tsdh_lost, tsdh_high;

static noinline void tsdh_set(unsigned int salt)
{
	uint64_t *p;
	int i;

	for (i = 0; i < TSDH_KEYS; i++) {
		p = gch_malloc(TSD_WORDS * sizeof(uint64_t));
		if (!p)
			return;
		obj_fill(p, TSD_WORDS, TSD_KEY + salt + i);
		pthread_setspecific(tsdh_keys[i], p);
	}
}

static noinline unsigned int tsdh_check(unsigned int salt)
{
	unsigned int i, lost = 0;

	for (i = 0; i < TSDH_KEYS; i++)
		lost += obj_check(pthread_getspecific(tsdh_keys[i]),
				  TSD_WORDS, TSD_KEY + salt + i) != 0;
	return lost;
}

static void *tsdh_thread(void *arg)
{
	(void)arg;
	tsdh_set(100);
	scrub();
	__atomic_store_n(&tsdh_state, 1, __ATOMIC_RELEASE);
	while (__atomic_load_n(&tsdh_state, __ATOMIC_ACQUIRE) != 2)
		usleep(1000);
	tsdh_lost = tsdh_check(100);
	return NULL;
}

/* Keys of 32 and above: glibc keeps their values in calloc()ed memory. */
TEST_F_TIMEOUT(lib, tsd_high_key, 60)
{
	unsigned int main_lost;
	pthread_t t;
	int i;

	pin(_metadata);
	for (i = 0; i < TSDH_KEYS; i++) {
		ASSERT_EQ(0, pthread_key_create(&tsdh_keys[i], NULL));
		tsdh_high += tsdh_keys[i] >= 32;
	}
	ASSERT_LT(8, tsdh_high);
	tsdh_set(0);
	ASSERT_EQ(0, pthread_create(&t, NULL, tsdh_thread, NULL));
	while (__atomic_load_n(&tsdh_state, __ATOMIC_ACQUIRE) != 1)
		usleep(1000);
	ASSERT_EQ(0, collect_churn(8));
	ASSERT_EQ(0, collect_churn(9));
	__atomic_store_n(&tsdh_state, 2, __ATOMIC_RELEASE);
	ASSERT_EQ(0, pthread_join(t, NULL));
	main_lost = tsdh_check(0);
	TH_LOG("%d keys (%u of them 32 or above): %u values lost in the main thread, %u in another",
	       TSDH_KEYS, tsdh_high, main_lost, tsdh_lost);
	EXPECT_EQ(0, main_lost);
	EXPECT_EQ(0, tsdh_lost);
}

/* --- 3. a pointer one past the end --------------------------------------- */

static const unsigned int end_sizes[] = {
	16, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224, 240,
	256, 288, 320, 352, 384, 416, 448, 480, 512, 576, 640, 704, 768, 896,
	1024, 1152, 1280, 1408, 1536, 1792, 2048, 2304, 2688, 3072, 3200,
	3456, 4096, 4864, 5376, 6144, 6528, 6784, 6912, 8192, 9472, 9728,
	10240, 10880, 12288, 13568, 14336, 16384, 18432, 19072, 20480, 21760,
	24576, 27264, 28672, 32768, 40960, 65536,
};
#define NR_END	(sizeof(end_sizes) / sizeof(end_sizes[0]))

static void *volatile g_end[NR_END];	/* only end pointers */

static noinline void end_make(uintptr_t *h)
{
	uint64_t *p;
	unsigned int i;

	for (i = 0; i < NR_END; i++) {
		p = gch_malloc(end_sizes[i]);
		if (!p) {
			h[i] = 0;
			continue;
		}
		obj_fill(p, end_sizes[i] / 8, 0xe4d + i);
		g_end[i] = (char *)p + end_sizes[i];
		h[i] = hide(p);
		/* a neighbour, live until the collection */
		gch_malloc(end_sizes[i]);
	}
}

TEST_F_TIMEOUT(lib, end_pointer, 60)
{
	uintptr_t h[NR_END];
	unsigned int i, lost = 0, small = 0;
	char lostl[1024] = "";
	size_t n = 0;

	clean_env();
	pin(_metadata);
	end_make(h);
	for (i = 0; i < NR_END; i++) {
		ASSERT_NE(0, h[i]);
		/* the usable size covers the end pointer: a byte more */
		if (gch_size(unhide(h[i])) <= end_sizes[i])
			small++;
	}
	ASSERT_EQ(0, collect_churn(5));
	ASSERT_EQ(0, collect_churn(6));
	for (i = 0; i < NR_END; i++) {
		if (obj_check_hidden(h[i], end_sizes[i] / 8, 0xe4d + i)) {
			lost++;
			if (n < sizeof(lostl) - 16)
				n += snprintf(lostl + n, sizeof(lostl) - n,
					      " %u", end_sizes[i]);
		}
	}
	TH_LOG("%zu sizes: %u lost with only an end pointer (sizes:%s), %u with gch_size() == the request",
	       NR_END, lost, lostl, small);
	EXPECT_EQ(0, lost);
	EXPECT_EQ(0, small);
}

/* --- 4. signal handlers ---------------------------------------------------- */

#define SIG_SECONDS	6
#define SIG_RING	1024
#define SIG_HRING	256
#define SIG_MKEY	0x3a1bULL
#define SIG_HKEY	0x5c2dULL
#define SIG_WORDS	4	/* 32 bytes, one size class for both */

FIXTURE(sig) {
	int unused;
};

FIXTURE_VARIANT(sig) {
	bool no_rseq;
};

FIXTURE_VARIANT_ADD(sig, percpu) {
	.no_rseq = false,
};

FIXTURE_VARIANT_ADD(sig, per_thread) {
	.no_rseq = true,
};

FIXTURE_SETUP(sig)
{
	clean_env();
	if (variant->no_rseq)
		setenv("GCHEAP_NO_RSEQ", "1", 1);
	/* the heap always near its goal: allocations run collections */
	setenv("GCHEAP_GOGC", "1", 1);
	pin(_metadata);
}

FIXTURE_TEARDOWN(sig)
{
}

#define SIG_BALLAST	192
static void *volatile sig_ballast[SIG_BALLAST];
static uint64_t *volatile sig_hring[SIG_HRING];
static volatile unsigned long sig_hn, sig_hfail, sig_hbad, sig_large;
static volatile unsigned long sig_progress;
static int sig_stop;
static pthread_t sig_main;

static void sig_handler(int sig)
{
	unsigned long n = sig_hn++;
	uint64_t *p, *old;
	int saved = errno;

	(void)sig;
	old = sig_hring[n % SIG_HRING];
	if (old && obj_check(old, SIG_WORDS, SIG_HKEY))
		sig_hbad++;
	p = gch_malloc(SIG_WORDS * 8);
	if (!p) {
		sig_hfail++;
	} else {
		obj_fill(p, SIG_WORDS, SIG_HKEY);
		sig_hring[n % SIG_HRING] = p;
	}
	/* large objects: each one past the goal runs a collection */
	if (!(n & 3)) {
		if (gch_malloc(40 * KiB))
			sig_large++;
		else
			sig_hfail++;
	}
	errno = saved;
}

/* Signals the main thread as fast as it can; aborts if it stops moving. */
static void *sig_sender(void *arg)
{
	unsigned long last = 0, cur, sent = 0;
	uint64_t moved = now_ns();

	(void)arg;
	while (!__atomic_load_n(&sig_stop, __ATOMIC_RELAXED)) {
		pthread_kill(sig_main, SIGUSR1);
		/* yield now and then: the main thread may share our CPU */
		if (!(++sent & 15))
			sched_yield();
		cur = sig_progress;
		if (cur != last) {
			last = cur;
			moved = now_ns();
		} else if (now_ns() - moved > 10 * NSEC) {
			fprintf(stderr, "# no progress for 10 s: deadlocked (%lu handler runs)\n",
				sig_hn);
			_exit(3);
		}
	}
	return NULL;
}

TEST_F_TIMEOUT(sig, signal_alloc, 120)
{
	struct sigaction sa = { .sa_handler = sig_handler };
	uintptr_t ring[SIG_RING] = { 0 };
	unsigned long n = 0, bad = 0, fail = 0, colls = 0, dups = 0;
	unsigned long dl_fail = 0;
	char dl_path[PATH_MAX];
	sigset_t usr1;
	void *dl;
	static void *volatile keep[SIG_RING];
	uint64_t end, *p;
	unsigned int i, j;
	pthread_t t;

	/*
	 * 6 MiB live: above the 4 MiB goal floor, so with GOGC=1 nearly
	 * every large allocation of the handler finds the heap past its goal
	 * and collects, whatever the main thread is doing.
	 */
	for (i = 0; i < SIG_BALLAST; i++) {
		sig_ballast[i] = gch_malloc_atomic(32 * KiB);
		ASSERT_NE(NULL, sig_ballast[i]);
	}
	sig_main = pthread_self();
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	helper_path(dl_path, sizeof(dl_path), "libgcheap_gc_dlobj.so");
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	ASSERT_EQ(0, pthread_create(&t, NULL, sig_sender, NULL));
	end = now_ns() + SIG_SECONDS * NSEC;
	while (now_ns() < end) {
		i = n % SIG_RING;
		p = keep[i];
		if (p && obj_check(p, SIG_WORDS, SIG_MKEY + ring[i]))
			bad++;
		p = gch_malloc(SIG_WORDS * 8);
		if (!p) {
			if (!fail++)
				TH_LOG("allocation %lu: %s", n, strerror(errno));
		} else {
			obj_fill(p, SIG_WORDS, SIG_MKEY + n);
			keep[i] = p;
			ring[i] = n;
		}
		n++;
		sig_progress = n;
		if (!(n % 2048)) {
			/*
			 * A library loaded and unloaded makes the collection
			 * register the roots anew: a long window for the
			 * handler.  Signals are blocked around dlopen() and
			 * dlclose(), as userlib.rst asks.
			 */
			if (dl_path[0]) {
				pthread_sigmask(SIG_BLOCK, &usr1, NULL);
				dl = dlopen(dl_path, RTLD_NOW | RTLD_LOCAL);
				if (dl)
					dlclose(dl);
				else
					dl_fail++;
				pthread_sigmask(SIG_UNBLOCK, &usr1, NULL);
			}
			if (!gch_collect())
				colls++;
		}
	}
	__atomic_store_n(&sig_stop, 1, __ATOMIC_RELAXED);
	pthread_join(t, NULL);
	signal(SIGUSR1, SIG_IGN);
	for (i = 0; i < SIG_RING; i++) {
		if (keep[i] && obj_check(keep[i], SIG_WORDS, SIG_MKEY + ring[i]))
			bad++;
		for (j = 0; j < SIG_HRING; j++)
			dups += keep[i] && keep[i] == sig_hring[j];
	}
	TH_LOG("%lu allocations, %lu collections, %lu handler runs (%lu large): %lu objects overwritten, %lu handler objects overwritten, %lu shared, %lu + %lu failed",
	       n, colls, sig_hn, sig_large, bad, sig_hbad, dups, fail, sig_hfail);
	EXPECT_EQ(0, dl_fail);
	EXPECT_LT(20, sig_hn);
	EXPECT_EQ(0, bad);
	EXPECT_EQ(0, sig_hbad);
	EXPECT_EQ(0, dups);
	EXPECT_EQ(0, fail);
	EXPECT_EQ(0, sig_hfail);
}

/* --- 5. a small arena full of garbage -------------------------------------- */

#define OOM_LIVE	256
#define OOM_ALLOCS	(200 * 1000UL)

static noinline void oom_run(struct __test_metadata *_metadata,
			     unsigned int gc_percent)
{
	struct gch_config cfg = { .max_heap = 1 * MiB, .gc_percent = gc_percent };
	static void *volatile live[OOM_LIVE];
	unsigned long i, fails = 0, first = 0, bad = 0;
	uint64_t *p;

	clean_env();
	ASSERT_EQ(0, gch_init(&cfg)) TH_LOG("%s", strerror(errno));
	pin(_metadata);
	for (i = 0; i < OOM_ALLOCS; i++) {
		p = (i % 1000 == 999) ? gch_malloc(40 * KiB) : gch_malloc(64);
		if (!p) {
			if (!fails++)
				first = i;
			if (fails > 1000)
				break;
			continue;
		}
		obj_fill(p, 8, i);
		if (!(i % 16)) {
			if (live[(i / 16) % OOM_LIVE] &&
			    obj_check(live[(i / 16) % OOM_LIVE], 8,
				      i - 16 * OOM_LIVE))
				bad++;
			live[(i / 16) % OOM_LIVE] = p;
		}
	}
	TH_LOG("1 MiB arena, %lu allocations (%lu MiB): %lu failed, the first at %lu (errno %s); %lu live objects overwritten",
	       i, i * 64 / MiB, fails, first, strerror(errno), bad);
	EXPECT_EQ(0, fails);
	EXPECT_EQ(0, bad);
}

TEST_F_TIMEOUT(lib, enomem_collects_gc_off, 300)
{
	oom_run(_metadata, GCH_GC_PERCENT_OFF);
}

TEST_F_TIMEOUT(lib, enomem_collects_below_goal_floor, 300)
{
	oom_run(_metadata, 0);
}

/* --- 6. bad pacing values --------------------------------------------------- */

TEST_F(lib, bad_gogc_env)
{
	void *p;

	clean_env();
	setenv("GCHEAP_GOGC", "2000000", 1);
	p = gch_malloc(16);
	EXPECT_NE(NULL, p) TH_LOG("GCHEAP_GOGC=2000000: %s", strerror(errno));
	EXPECT_EQ(0, gch_collect());
}

TEST_F(lib, bad_gc_percent_init)
{
	struct gch_config cfg = { .gc_percent = 2000000 };
	struct gch_heap_stats st;
	void *p;

	clean_env();
	errno = 0;
	EXPECT_EQ(-1, gch_init(&cfg));
	EXPECT_EQ(EINVAL, errno);
	p = gch_malloc(16);
	ASSERT_NE(NULL, p) TH_LOG("after gc_percent 2000000: %s", strerror(errno));
	ASSERT_EQ(0, gch_stats(&st));
	EXPECT_EQ(100, st.gc_percent);
}

/*
 * In a child: set GCHEAP_CONCURRENT to @env (NULL: unset), gch_init() with
 * @concurrent if not 0, collect with GCHEAP_TRACE on; its stderr into @out.
 * Return: the child's exit status (0: collected).
 */
static int traced_collect(const char *env, unsigned int concurrent, char *out, size_t len)
{
	int fd[2], status;
	size_t got = 0;
	ssize_t r;
	pid_t pid;

	if (pipe(fd))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		struct gch_config cfg = { .concurrent = concurrent };
		void *volatile p;

		dup2(fd[1], 2);
		close(fd[0]);
		clean_env();
		setenv("GCHEAP_TRACE", "1", 1);
		if (env)
			setenv("GCHEAP_CONCURRENT", env, 1);
		if (concurrent && gch_init(&cfg))
			_exit(2);
		p = gch_malloc(4096);
		if (!p || gch_collect())
			_exit(3);
		_exit(0);
	}
	close(fd[1]);
	while (got + 1 < len && (r = read(fd[0], out + got, len - 1 - got)) > 0)
		got += r;
	out[got] = 0;
	close(fd[0]);
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

TEST(concurrent_choice)
{
	int (*init3)(const void *cfg);
	struct {
		size_t max_heap;
		unsigned int gc_percent, workers, finalizers;
	} cfg3 = { .gc_percent = 50 };
	struct gch_config bad = { .concurrent = 3 };
	bool mod = concurrent_mark_on();
	struct gch_heap_stats st;
	char out[4096];

	ASSERT_EQ(0, traced_collect("1", 0, out, sizeof(out))) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "gc 1 concurrent: first stop"))
		TH_LOG("GCHEAP_CONCURRENT=1, the trace: %s", out);
	ASSERT_EQ(0, traced_collect("0", 0, out, sizeof(out))) TH_LOG("%s", out);
	EXPECT_EQ(NULL, strstr(out, "concurrent"))
		TH_LOG("GCHEAP_CONCURRENT=0, the trace: %s", out);
	EXPECT_NE(NULL, strstr(out, "gc 1 @")) TH_LOG("no trace: %s", out);
	ASSERT_EQ(0, traced_collect("0", GCH_CONCURRENT_ON, out, sizeof(out))) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "gc 1 concurrent: first stop"))
		TH_LOG("gch_config.concurrent beside GCHEAP_CONCURRENT=0: %s", out);
	ASSERT_EQ(0, traced_collect("1", GCH_CONCURRENT_OFF, out, sizeof(out))) TH_LOG("%s", out);
	EXPECT_EQ(NULL, strstr(out, "concurrent"))
		TH_LOG("GCH_CONCURRENT_OFF beside GCHEAP_CONCURRENT=1: %s", out);
	ASSERT_EQ(0, traced_collect("yes", 0, out, sizeof(out))) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "GCHEAP_CONCURRENT")) TH_LOG("a bad value went unreported: %s", out);
	EXPECT_EQ(mod, strstr(out, "gc 1 concurrent") != NULL)
		TH_LOG("a bad value did not leave the module's choice (concurrent_mark=%d): %s", mod, out);

	/* in this process: a bad value refused, the old versions' structs */
	clean_env();
	errno = 0;
	EXPECT_EQ(-1, gch_init(&bad));
	EXPECT_EQ(EINVAL, errno);
	init3 = dlvsym(RTLD_DEFAULT, "gch_init", "GCHEAP_0.3");
	ASSERT_NE(NULL, init3) TH_LOG("gch_init@GCHEAP_0.3: %s", dlerror());
	ASSERT_NE(NULL, dlvsym(RTLD_DEFAULT, "gch_init", "GCHEAP_0.1"));
	ASSERT_NE(NULL, dlvsym(RTLD_DEFAULT, "gch_init", "GCHEAP_0.5"));
	ASSERT_EQ(0, init3(&cfg3)) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, gch_stats(&st));
	EXPECT_EQ(50, st.gc_percent);
}

/* --- 7. realloc, fork -------------------------------------------------------- */

static void *volatile g_realloc;

static noinline uintptr_t realloc_make(void)
{
	uint64_t *a = gch_malloc(512), *b = gch_malloc(64);

	if (!a || !b)
		return 0;
	obj_fill(b, 8, 0xb);
	a[40] = (uintptr_t)b;		/* at byte 320: the tail */
	g_realloc = a;
	return hide(b);
}

TEST_F_TIMEOUT(lib, realloc_shrink, 60)
{
	unsigned char *a;
	size_t i, nz = 0, sz;
	uintptr_t hb;

	clean_env();
	pin(_metadata);
	hb = realloc_make();
	ASSERT_NE(0, hb);
	a = gch_realloc(g_realloc, 128);
	ASSERT_EQ((void *)g_realloc, (void *)a);
	sz = gch_size(a);
	for (i = 128; i < sz; i++)
		nz += a[i] != 0;
	a = NULL;
	ASSERT_EQ(0, collect_churn(7));
	TH_LOG("after shrinking 512 -> 128 bytes: %zu nonzero bytes in the tail, the object it pointed to %s",
	       nz, gch_base(unhide(hb)) == unhide(hb) ? "kept" : "freed");
	EXPECT_EQ(0, nz);
	EXPECT_NE(unhide(hb), gch_base(unhide(hb)));
}

extern pid_t _Fork(void);

static int fork_child(void)
{
	void *p;

	errno = 0;
	p = gch_malloc(64);
	if (p)
		return 1;
	if (errno != EPERM)
		return 2;
	if (gch_collect() != -1 || errno != EPERM)
		return 3;
	p = gch_malloc_atomic(100 * KiB);
	if (p || errno != EPERM)
		return 4;
	return 0;
}

static void fork_test(struct __test_metadata *_metadata, int how)
{
	int status;
	pid_t pid;
	void *p;

	clean_env();
	pin(_metadata);
	p = gch_malloc(64);
	ASSERT_NE(NULL, p);
	pid = how ? (pid_t)syscall(SYS_fork) : _Fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(fork_child());
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	TH_LOG("%s child: %s %d", how ? "SYS_fork" : "_Fork",
	       WIFEXITED(status) ? "exit" : "signal",
	       WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	EXPECT_NE(NULL, gch_malloc(64));
}

TEST_F_TIMEOUT(lib, fork_no_atfork_Fork, 60)
{
	fork_test(_metadata, 0);
}

TEST_F_TIMEOUT(lib, fork_no_atfork_syscall, 60)
{
	fork_test(_metadata, 1);
}

TEST_HARNESS_MAIN
