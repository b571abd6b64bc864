// SPDX-License-Identifier: GPL-2.0
/*
 * Limits: what a heap may cost is bounded, and reaching a bound is ENOMEM
 * to the allocating call (gch_malloc() returns NULL), never the OOM
 * killer, a SIGBUS or a stuck process; the heap works again once a
 * collection frees space.
 *
 *  - a memory cgroup (v2) whose memory.max is smaller than the workload;
 *  - an arena smaller than the workload;
 *  - the module parameter max_heap_metadata (kernel bookkeeping per heap);
 *  - 64 processes, each with a heap, collecting at the same time.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/gcheap.h>

#include "gcheap.h"
#include "kselftest_harness.h"
#include "raw_heap.h"

#define MiB		(1UL << 20)
#define CGROOT		"/sys/fs/cgroup"
#define PARAM_META	"/sys/module/gcheap/parameters/max_heap_metadata"
#define REFCNT		"/sys/module/gcheap/refcnt"

static int write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	close(fd);
	return n == (ssize_t)strlen(val) ? 0 : -errno;
}

static long long read_num(const char *path)
{
	char buf[64] = "";
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 ? atoll(buf) : -1;
}

/* "key value" from a flat-keyed cgroup file such as memory.events. */
static long long read_key(const char *path, const char *key)
{
	char line[128];
	long long v = -1;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key)) &&
		    line[strlen(key)] == ' ')
			v = atoll(line + strlen(key) + 1);
	fclose(f);
	return v;
}

/* ---- objects kept alive through the library's roots (bss) ------------- */

#define MAXHELD 4096
static void *held[MAXHELD];

/* A chain of small objects: each holds the next and a check value. */
struct node {
	struct node *next;
	unsigned long check;
	char pad[112];
};

static struct node *chain;

/* Large objects into held[] until NULL: how many, or -1 (errno not ENOMEM). */
static long fill_large(size_t size)
{
	long n;

	for (n = 0; n < MAXHELD; n++) {
		errno = 0;
		held[n] = gch_malloc_atomic(size);
		if (!held[n])
			return errno == ENOMEM ? n : -1;
		/* touch every page: it is the process's memory now */
		for (size_t off = 0; off < size; off += 4096)
			((char *)held[n])[off] = (char)n;
	}
	return -2;	/* never ran out */
}

static long fill_chain(void)
{
	struct node *p;
	long n = 0;

	for (;;) {
		errno = 0;
		p = gch_malloc(sizeof(*p));
		if (!p)
			return errno == ENOMEM ? n : -1;
		p->check = (unsigned long)p ^ 0x5a5aUL;
		p->next = chain;
		chain = p;
		n++;
	}
}

static bool chain_ok(void)
{
	struct node *p;

	for (p = chain; p; p = p->next)
		if (p->check != ((unsigned long)p ^ 0x5a5aUL))
			return false;
	return true;
}

/*
 * The workload of the memcg and arena tests, in a child: run out of
 * memory with large objects, then with small ones; after each, drop most
 * of it and collect, and allocation works again.  Exit status: 0, or the
 * step that failed.
 */
static int exhaust(void)
{
	long n, i, again;

	n = fill_large(256 << 10);
	if (n < 0)
		return 10 - n;	/* 11: errno not ENOMEM, 12: never ran out */
	printf("# large objects before ENOMEM: %ld (%ld MiB)\n", n, n / 4);
	if (n < 8)
		return 13;
	for (i = 0; i < n; i++)
		if (((char *)held[i])[4096] != (char)i)
			return 14;
	for (i = 0; i < n; i++)
		if (i % 8)
			held[i] = NULL;
	if (gch_collect())
		return 15;
	again = fill_large(256 << 10);
	printf("# after a collection: %ld more\n", again);
	if (again < n / 2)
		return 16;
	memset(held, 0, sizeof(held));
	if (gch_collect())
		return 17;

	n = fill_chain();
	if (n < 0)
		return 18;
	printf("# small objects before ENOMEM: %ld\n", n);
	if (n < 1000 || !chain_ok())
		return 19;
	chain = NULL;
	if (gch_collect())
		return 20;
	n = fill_chain();
	if (n < 1000 || !chain_ok())
		return 21;
	return 0;
}

static int wait_child(pid_t pid, int *sig)
{
	int status;

	*sig = 0;
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	if (WIFSIGNALED(status)) {
		*sig = WTERMSIG(status);
		return -1;
	}
	return WEXITSTATUS(status);
}

/* cgroup v2 with the memory controller, mounted if need be; NULL or why not. */
static const char *cgroup_ready(void)
{
	char buf[256] = "";
	int fd;

	if (access(CGROOT "/cgroup.controllers", F_OK) &&
	    mount("cgroup2", CGROOT, "cgroup2", 0, NULL))
		return "cannot mount cgroup2 at " CGROOT;
	fd = open(CGROOT "/cgroup.controllers", O_RDONLY);
	if (fd < 0 || read(fd, buf, sizeof(buf) - 1) < 0) {
		if (fd >= 0)
			close(fd);
		return "no " CGROOT "/cgroup.controllers";
	}
	close(fd);
	if (!strstr(buf, "memory"))
		return "no memory controller (kernel without CONFIG_MEMCG, or cgroup_disable=memory)";
	if (write_file(CGROOT "/cgroup.subtree_control", "+memory"))
		return "cannot enable the memory controller for child groups";
	return NULL;
}

FIXTURE(limits) {
	long long saved_meta;
};

FIXTURE_SETUP(limits)
{
	self->saved_meta = read_num(PARAM_META);
}

FIXTURE_TEARDOWN(limits)
{
	char buf[32];

	/* the next tests (and programs) get the module's setting back */
	if (self->saved_meta >= 0) {
		snprintf(buf, sizeof(buf), "%lld", self->saved_meta);
		write_file(PARAM_META, buf);
	}
}

TEST_F_TIMEOUT(limits, memcg_limit_gives_enomem, 240)
{
	char dir[96], path[160];
	const char *why;
	int rc, sig;
	pid_t pid;

	why = cgroup_ready();
	if (why)
		SKIP(return, "%s", why);
	snprintf(dir, sizeof(dir), CGROOT "/gcheap-limits-%d", getpid());
	ASSERT_EQ(0, mkdir(dir, 0755)) TH_LOG("%s: %s", dir, strerror(errno));
	/* the process itself needs a few MiB; the heap wants 256 */
	snprintf(path, sizeof(path), "%s/memory.max", dir);
	ASSERT_EQ(0, write_file(path, "32M"));
	snprintf(path, sizeof(path), "%s/memory.swap.max", dir);
	write_file(path, "0");	/* absent without swap accounting */

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct gch_config cfg = {
			.max_heap = 256 * MiB,
			.gc_percent = GCH_GC_PERCENT_OFF,
		};

		snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
		if (write_file(path, "0"))
			_exit(2);
		if (gch_init(&cfg))
			_exit(3);
		rc = exhaust();
		fflush(stdout);
		_exit(rc);
	}
	rc = wait_child(pid, &sig);
	snprintf(path, sizeof(path), "%s/memory.events", dir);
	printf("# memcg: child exit %d, signal %d, oom %lld, oom_kill %lld, max %lld\n",
	       rc, sig, read_key(path, "oom"), read_key(path, "oom_kill"),
	       read_key(path, "max"));
	/* the process was not killed (OOM killer, SIGBUS) and did it all */
	EXPECT_EQ(0, sig);
	EXPECT_EQ(0, rc);
	EXPECT_EQ(0, read_key(path, "oom_kill"));
	/*
	 * The limit was what stopped it: the heap filled the cgroup up to
	 * the reserve it leaves the program (1/32 of the limit, at least
	 * 1 MiB), and the program's own faults never hit the limit.
	 */
	EXPECT_EQ(0, read_key(path, "oom"));
	snprintf(path, sizeof(path), "%s/memory.peak", dir);
	if (!access(path, F_OK))
		EXPECT_LE(28LL * MiB, read_num(path)) TH_LOG("peak %lld", read_num(path));
	EXPECT_EQ(0, rmdir(dir)) TH_LOG("rmdir %s: %s", dir, strerror(errno));
}

TEST_F_TIMEOUT(limits, arena_exhausted_gives_enomem, 120)
{
	struct gch_config cfg = {
		.max_heap = 8 * MiB,
		.gc_percent = GCH_GC_PERCENT_OFF,
	};

	ASSERT_EQ(0, gch_init(&cfg)) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(0, exhaust());
}

/* ---- max_heap_metadata, on a heap driven through the raw ABI ---------- */

/*
 * Open and configure a heap of @arena_size, gc_percent left at the
 * default (nothing mapped yet).  0 or -errno.
 */
static int raw_open(struct raw_heap *h, __u64 arena_size)
{
	struct gch_heap_config cfg = { .arena_size = arena_size };

	return raw_heap_configure(h, &cfg, O_CLOEXEC);
}

/* Objects of 16 bytes, the class with the most metadata: 0 or -errno. */
static int raw_refill(struct raw_heap *h, __u64 *buf, __u32 max, __u32 *n)
{
	return raw_refill_buf(h->fd, GCH_SPANCLASS(1, 0), buf, max, n);
}

static int set_meta(unsigned long bytes)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%lu", bytes);
	return write_file(PARAM_META, buf);
}

#define META_CAP	(256UL << 10)
/* what may pass the cap: a span-table chunk, one span's bookkeeping */
#define META_SLACK	(8UL << 10)

TEST_F_TIMEOUT(limits, max_heap_metadata, 120)
{
	static __u64 buf[4096];
	struct gch_collect c;
	struct gch_stats st;
	struct gch_roots r;
	struct raw_heap h;
	__u64 objects = 0;
	__u32 n;
	int err;

	ASSERT_LE(0, self->saved_meta) TH_LOG("no " PARAM_META);
	ASSERT_EQ(0, set_meta(META_CAP));
	ASSERT_EQ(0, raw_open(&h, 256 * MiB));
	ASSERT_EQ(0, raw_heap_map(&h, RAW_MAP_BOTH));
	/* 16-byte objects, held by nothing the collector sees: until refused */
	while (!(err = raw_refill(&h, buf, 4096, &n)))
		objects += n;
	EXPECT_EQ(-ENOMEM, err);
	memset(&st, 0, sizeof(st));
	ASSERT_EQ(0, raw_ioc(h.fd, GCH_IOC_STATS, &st, sizeof(st)));
	printf("# metadata cap %lu: %llu objects, %llu bytes of metadata for %llu MiB mapped\n",
	       META_CAP, (unsigned long long)objects,
	       (unsigned long long)st.metadata_bytes,
	       (unsigned long long)st.mapped_bytes >> 20);
	EXPECT_EQ(objects, st.objects);
	EXPECT_GE(META_CAP, st.metadata_bytes);
	EXPECT_LE(META_CAP - META_SLACK, st.metadata_bytes);
	/* the cap stopped it, not the arena */
	EXPECT_GT(h.arena_size / 2, st.mapped_bytes);

	/* a collection frees the spans and their bookkeeping: room again */
	memset(buf, 0, sizeof(buf));
	memset(&c, 0, sizeof(c));
	ASSERT_EQ(0, raw_ioc(h.fd, GCH_IOC_COLLECT, &c, sizeof(c)));
	EXPECT_LT(objects / 2, c.info.objects_freed);
	EXPECT_EQ(0, raw_refill(&h, buf, 4096, &n));
	EXPECT_EQ(4096, n);

	/* root ranges are bookkeeping too: their table does not fit */
	ASSERT_EQ(0, set_meta(16UL << 10));
	memset(&r, 0, sizeof(r));
	r.op = GCH_ROOTS_ADD;
	r.addr = (uintptr_t)buf;
	r.len = sizeof(buf);
	EXPECT_EQ(-ENOMEM, raw_ioc(h.fd, GCH_IOC_ROOTS, &r, sizeof(r)));
	raw_heap_close(&h);

	/* an arena whose span table alone passes the cap cannot be mapped */
	ASSERT_EQ(0, set_meta(1024));
	ASSERT_EQ(0, raw_open(&h, 1024 * MiB));	/* 2 KiB of table */
	EXPECT_EQ(-ENOMEM, raw_heap_map(&h, RAW_MAP_BOTH));
	/* a failed mmap leaves the heap as it was: without the cap it maps */
	ASSERT_EQ(0, set_meta(0));
	EXPECT_EQ(0, raw_heap_map(&h, RAW_MAP_BOTH));
	EXPECT_EQ(0, raw_refill(&h, buf, 16, &n));
	raw_heap_close(&h);
}

/* ---- 64 processes collecting at once ------------------------------------ */

#define NPROC	64
#define DEPTH	9

struct tree {
	struct tree *left, *right;
	unsigned long check;
};

static struct tree *make_tree(int depth, unsigned long *seq)
{
	struct tree *t = gch_malloc(sizeof(*t));

	if (!t)
		return NULL;
	t->check = (*seq)++ * 2654435761UL;
	if (depth > 0) {
		t->left = make_tree(depth - 1, seq);
		t->right = make_tree(depth - 1, seq);
		if (!t->left || !t->right)
			return NULL;
	}
	return t;
}

static bool check_tree(const struct tree *t, int depth, unsigned long *seq)
{
	if (t->check != (*seq)++ * 2654435761UL)
		return false;
	if (depth > 0)
		return check_tree(t->left, depth - 1, seq) &&
		       check_tree(t->right, depth - 1, seq);
	return !t->left && !t->right;
}

static struct tree *root;

/* One process: a tree that must survive, garbage, collections. */
static int one_process(int go)
{
	unsigned long seq = 0;
	struct gch_heap_stats st;
	char c;
	int i, j;

	if (read(go, &c, 1) < 0)	/* all start together */
		return 2;
	root = make_tree(DEPTH, &seq);
	if (!root)
		return 3;
	for (i = 0; i < 3; i++) {
		for (j = 0; j < 2000; j++)
			if (!gch_malloc(48))
				return 4;
		if (gch_collect())
			return 5;
		seq = 0;
		if (!check_tree(root, DEPTH, &seq))
			return 6;
	}
	if (gch_stats(&st))
		return 7;
	return 0;
}

TEST_F_TIMEOUT(limits, many_processes_collecting, 300)
{
	long long before = read_num(REFCNT), after;
	int go[2], i, ok = 0, sig, rc;
	pid_t pids[NPROC];

	ASSERT_LE(0, before) TH_LOG("no " REFCNT);
	ASSERT_EQ(0, pipe(go));
	for (i = 0; i < NPROC; i++) {
		pids[i] = fork();
		ASSERT_LE(0, pids[i]);
		if (pids[i] == 0) {
			close(go[1]);
			_exit(one_process(go[0]));
		}
	}
	close(go[0]);
	close(go[1]);	/* every read() returns: go */
	for (i = 0; i < NPROC; i++) {
		rc = wait_child(pids[i], &sig);
		if (rc == 0)
			ok++;
		else
			TH_LOG("process %d: exit %d, signal %d", i, rc, sig);
	}
	printf("# %d of %d processes collected and kept their trees\n", ok,
	       NPROC);
	EXPECT_EQ(NPROC, ok);
	/* every heap is gone: the module holds no more references than before */
	after = read_num(REFCNT);
	EXPECT_EQ(before, after);
}

/*
 * Diagnostics are printed from the harness's child, which ends with
 * _exit(): unbuffered by line, they are not lost when stdout is a pipe.
 */
static void __attribute__((constructor)) line_buffered(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
}

TEST_HARNESS_MAIN
