// SPDX-License-Identifier: GPL-2.0
/*
 * Isolation: a heap belongs to the address space (mm) that opened it.
 * Another process holding the file -- a forked child, a process that
 * received the descriptor over a unix socket (SCM_RIGHTS), a program
 * exec()ed with the descriptor inherited -- gets EPERM from every ioctl
 * and from mmap, and never sees the owner's objects.  Statistics never
 * carry kernel addresses (or addresses of other mappings), and memory a
 * heap hands out is zero, whatever an earlier heap left in those pages.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/gcheap.h>

#include "kselftest_harness.h"
#include "raw_heap.h"

#define ARENA_SIZE	(64UL << 20)
#define PATTERN		0xa5a5a5a5a5a5a5a5ULL
#define EXEC_ENV	"GCHEAP_ISOLATION_EXEC_FD"

/*
 * A heap of ARENA_SIZE, mapped; its descriptor is inherited across exec.
 * What GCH_IOC_CONFIGURE wrote back goes to *@cfg if @cfg is not NULL.
 * 0 or -errno.
 */
static int heap_open(struct raw_heap *h, struct gch_heap_config *cfg)
{
	struct gch_heap_config c = { .arena_size = ARENA_SIZE };
	int err = raw_heap_configure(h, &c, 0);

	if (cfg)
		*cfg = c;
	return err ?: raw_heap_map(h, RAW_MAP_BOTH);
}

static int alloc_large(int fd, __u64 size, __u64 *addr)
{
	struct gch_alloc a;
	int err;

	memset(&a, 0, sizeof(a));
	a.size = size;
	err = raw_ioc(fd, GCH_IOC_ALLOC_LARGE, &a, sizeof(a));
	*addr = a.addr;
	return err;
}

static __u64 obj_size(int fd, __u64 addr)
{
	struct gch_query q;

	memset(&q, 0, sizeof(q));
	q.addr = addr;
	return raw_ioc(fd, GCH_IOC_QUERY, &q, sizeof(q)) ? 0 : q.size;
}

/*
 * Everything a non-owner may try with the heap's descriptor; each must
 * give EPERM.  Return the number of calls that did not (printed).
 */
static int try_everything(int fd, __u64 obj)
{
	struct {
		const char *name;
		unsigned long cmd;
		__u32 size;
	} calls[] = {
		{ "VERSION", GCH_IOC_VERSION, sizeof(struct gch_version) },
		{ "CONFIGURE", GCH_IOC_CONFIGURE, sizeof(struct gch_heap_config) },
		{ "REFILL", GCH_IOC_REFILL, sizeof(struct gch_refill) },
		{ "ALLOC_LARGE", GCH_IOC_ALLOC_LARGE, sizeof(struct gch_alloc) },
		{ "FREE", GCH_IOC_FREE, sizeof(struct gch_free) },
		{ "QUERY", GCH_IOC_QUERY, sizeof(struct gch_query) },
		{ "STATS", GCH_IOC_STATS, sizeof(struct gch_stats) },
		{ "COLLECT", GCH_IOC_COLLECT, sizeof(struct gch_collect) },
		{ "ROOTS", GCH_IOC_ROOTS, sizeof(struct gch_roots) },
		{ "GC_STATS", GCH_IOC_GC_STATS, sizeof(struct gch_gc_stats) },
	};
	static union {
		struct gch_refill r;
		struct gch_alloc a;
		struct gch_free f;
		struct gch_query q;
		struct gch_roots ro;
		struct gch_stats st;
		char raw[8192];
	} arg;
	unsigned int i;
	int bad = 0, err;
	void *p;

	for (i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		/* valid arguments: only ownership can refuse them */
		memset(&arg, 0, sizeof(arg));
		arg.r.spanclass = GCH_SPANCLASS(1, 0);	/* REFILL */
		arg.a.size = 1 << 20;			/* ALLOC_LARGE */
		arg.f.addr = obj;			/* FREE */
		arg.q.addr = obj;			/* QUERY */
		if (calls[i].cmd == GCH_IOC_ROOTS) {
			arg.ro.op = GCH_ROOTS_ADD;
			arg.ro.addr = (uintptr_t)&arg;
			arg.ro.len = 64;
		}
		if (calls[i].cmd == GCH_IOC_ALLOC_LARGE)
			arg.a.size = 1 << 20;
		err = raw_ioc(fd, calls[i].cmd, &arg, calls[i].size);
		if (err != -EPERM) {
			printf("# non-owner %s: %d (%s), not EPERM\n",
			       calls[i].name, err, strerror(-err));
			bad++;
		}
	}
	p = mmap(NULL, ARENA_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		 GCH_MMAP_ARENA);
	if (p != MAP_FAILED || errno != EPERM) {
		printf("# non-owner mmap of the arena: %s\n",
		       p == MAP_FAILED ? strerror(errno) : "succeeded");
		bad++;
	}
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		 GCH_MMAP_CONTROL);
	if (p != MAP_FAILED || errno != EPERM) {
		printf("# non-owner mmap of the control area: %s\n",
		       p == MAP_FAILED ? strerror(errno) : "succeeded");
		bad++;
	}
	return bad;
}

/* Reads of another process's arena address: a fault, or no pattern. */
static sigjmp_buf read_env;

static void read_fault(int sig)
{
	siglongjmp(read_env, sig);
}

/* 1 if @p holds the pattern, 0 if not, -signal if it faulted. */
static int sees_pattern(volatile const __u64 *p)
{
	struct sigaction sa = { .sa_handler = read_fault };
	int sig;

	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
	sig = sigsetjmp(read_env, 1);
	if (sig)
		return -sig;
	return *p == PATTERN;
}

/* The owner's heap with one object full of the pattern. */
static __u64 make_object(struct __test_metadata *_metadata,
			 struct raw_heap *h)
{
	__u64 obj, i;

	ASSERT_EQ(0, heap_open(h, NULL));
	ASSERT_EQ(0, alloc_large(h->fd, 64 << 10, &obj));
	for (i = 0; i < (64 << 10) / 8; i++)
		((__u64 *)(uintptr_t)obj)[i] = PATTERN;
	return obj;
}

/* The owner still has its heap, whatever the others tried. */
static void owner_intact(struct __test_metadata *_metadata,
			 struct raw_heap *h, __u64 obj)
{
	struct gch_collect c;
	__u64 i;

	EXPECT_EQ(64 << 10, obj_size(h->fd, obj));
	for (i = 0; i < (64 << 10) / 8; i++)
		if (((__u64 *)(uintptr_t)obj)[i] != PATTERN)
			break;
	EXPECT_EQ((64 << 10) / 8, i);
	memset(&c, 0, sizeof(c));
	EXPECT_EQ(0, raw_ioc(h->fd, GCH_IOC_COLLECT, &c, sizeof(c)));
}

TEST(forked_child_gets_eperm)
{
	struct raw_heap h;
	__u64 obj = make_object(_metadata, &h);
	int status;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int bad = try_everything(h.fd, obj);

		/* VM_DONTCOPY: the arena is not even mapped in the child */
		if (sees_pattern((const __u64 *)(uintptr_t)obj) == 1) {
			printf("# forked child reads the parent's object\n");
			bad++;
		}
		_exit(bad);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	owner_intact(_metadata, &h, obj);
	raw_heap_close(&h);
}

TEST(fork_with_madv_dofork_sees_no_object)
{
	struct raw_heap h;
	__u64 obj = make_object(_metadata, &h);
	int status;
	pid_t pid;

	/* undo VM_DONTCOPY: the child inherits the mapping, not the pages */
	ASSERT_EQ(0, madvise(h.arena, ARENA_SIZE, MADV_DOFORK));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int r = sees_pattern((const __u64 *)(uintptr_t)obj);

		_exit(r == 1 ? 1 : 0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	owner_intact(_metadata, &h, obj);
	raw_heap_close(&h);
}

TEST(descriptor_over_unix_socket_gets_eperm)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct msghdr msg = { 0 };
	struct cmsghdr *cm;
	struct iovec iov;
	struct raw_heap h;
	int sv[2], status;
	__u64 obj;
	char c = 'h';
	pid_t pid;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	/* the receiver exists before the heap: an unrelated process */
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		__u64 addr;
		int fd, bad;

		close(sv[0]);
		iov.iov_base = &c;
		iov.iov_len = 1;
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = cbuf;
		msg.msg_controllen = sizeof(cbuf);
		if (recvmsg(sv[1], &msg, 0) != 1)
			_exit(100);
		cm = CMSG_FIRSTHDR(&msg);
		if (!cm || cm->cmsg_type != SCM_RIGHTS)
			_exit(101);
		memcpy(&fd, CMSG_DATA(cm), sizeof(fd));
		if (read(sv[1], &addr, sizeof(addr)) != sizeof(addr))
			_exit(102);
		bad = try_everything(fd, addr);
		close(fd);
		_exit(bad);
	}
	close(sv[1]);
	obj = make_object(_metadata, &h);
	iov.iov_base = &c;
	iov.iov_len = 1;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cbuf;
	msg.msg_controllen = sizeof(cbuf);
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &h.fd, sizeof(int));
	ASSERT_EQ(1, sendmsg(sv[0], &msg, 0));
	ASSERT_EQ(sizeof(obj), write(sv[0], &obj, sizeof(obj)));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	close(sv[0]);
	owner_intact(_metadata, &h, obj);
	raw_heap_close(&h);
}

/* The exec()ed image: the inherited heap descriptor is in EXEC_ENV. */
static void __attribute__((constructor)) exec_child(void)
{
	const char *s = getenv(EXEC_ENV);
	int fd;

	if (!s)
		return;
	fd = atoi(s);
	_exit(try_everything(fd, strtoull(strchr(s, ':') + 1, NULL, 0)));
}

TEST(exec_inheriting_the_descriptor_gets_eperm)
{
	char env[64], *argv[] = { "gcheap_isolation_test", NULL };
	char *envp[] = { env, NULL };
	struct raw_heap h;
	__u64 obj = make_object(_metadata, &h);
	int status;
	pid_t pid;

	snprintf(env, sizeof(env), EXEC_ENV "=%d:%llu", h.fd,
		 (unsigned long long)obj);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		execve("/proc/self/exe", argv, envp);
		_exit(127);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	owner_intact(_metadata, &h, obj);
	raw_heap_close(&h);
}

/* ---- no addresses in the statistics ------------------------------------ */

static unsigned long words_scanned;

struct range {
	unsigned long start, end;
};

/* This process's mappings other than @skip (the arena). */
static int read_maps(struct range *r, int max, unsigned long skip)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	int n = 0;

	if (!f)
		return -1;
	while (n < max && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx", &r[n].start, &r[n].end) != 2)
			continue;
		if (r[n].start != skip)
			n++;
	}
	fclose(f);
	return n;
}

/*
 * Words that are kernel addresses, or addresses in one of this process's
 * mappings other than the arena; printed with @what.  Return how many.
 */
static int scan_words(const char *what, const void *p, size_t len,
		      const struct range *maps, int nmaps)
{
	const __u64 *w = p;
	size_t i;
	int j, bad = 0;

	words_scanned += len / 8;
	for (i = 0; i < len / 8; i++) {
		if (w[i] >= 0xffff800000000000ULL) {
			printf("# %s word %zu: %#llx is a kernel address\n",
			       what, i, (unsigned long long)w[i]);
			bad++;
			continue;
		}
		for (j = 0; j < nmaps; j++)
			if (w[i] >= maps[j].start && w[i] < maps[j].end) {
				printf("# %s word %zu: %#llx points into a mapping\n",
				       what, i, (unsigned long long)w[i]);
				bad++;
			}
	}
	return bad;
}

TEST(stats_hold_no_addresses)
{
	static struct gch_gc_info hist[GCH_GC_HISTORY];
	static __u64 objs[4096], keep[64];
	struct gch_gc_stats gs;
	struct gch_stats st;
	struct gch_collect c;
	struct gch_version v;
	struct gch_query q;
	struct range maps[512];
	struct gch_heap_config cfg;
	struct gch_roots r;
	struct raw_heap h;
	__u64 large;
	__u32 n, i;
	int nmaps, bad = 0;

	ASSERT_EQ(0, heap_open(&h, &cfg));
	/* a heap with history: objects, roots, garbage, collections */
	ASSERT_EQ(0, raw_refill_buf(h.fd, GCH_SPANCLASS(2, 0), objs, 4096, &n));
	ASSERT_EQ(0, alloc_large(h.fd, 1 << 20, &large));
	for (i = 0; i < 64; i++)
		keep[i] = objs[i];
	memset(&r, 0, sizeof(r));
	r.op = GCH_ROOTS_ADD;
	r.addr = (uintptr_t)keep;
	r.len = sizeof(keep);
	ASSERT_EQ(0, raw_ioc(h.fd, GCH_IOC_ROOTS, &r, sizeof(r)));
	memset(objs, 0, sizeof(objs));
	for (i = 0; i < 5; i++) {
		memset(&c, 0, sizeof(c));
		ASSERT_EQ(0, raw_ioc(h.fd, GCH_IOC_COLLECT, &c, sizeof(c)));
	}

	nmaps = read_maps(maps, 512, (unsigned long)h.arena);
	ASSERT_LT(0, nmaps);
	bad += scan_words("COLLECT", &c, sizeof(c), maps, nmaps);
	memset(&st, 0, sizeof(st));
	ASSERT_EQ(0, raw_ioc(h.fd, GCH_IOC_STATS, &st, sizeof(st)));
	bad += scan_words("STATS", &st, sizeof(st), maps, nmaps);
	memset(&gs, 0, sizeof(gs));
	gs.history = (uintptr_t)hist;
	gs.history_max = GCH_GC_HISTORY;
	ASSERT_EQ(0, raw_ioc(h.fd, GCH_IOC_GC_STATS, &gs, sizeof(gs)));
	EXPECT_EQ(5, gs.history_count);
	/* @history is our own buffer's address, given in: not a leak */
	gs.history = 0;
	bad += scan_words("GC_STATS", &gs, sizeof(gs), maps, nmaps);
	bad += scan_words("history", hist, sizeof(hist), maps, nmaps);
	memset(&v, 0, sizeof(v));
	ASSERT_EQ(0, raw_ioc(h.fd, GCH_IOC_VERSION, &v, sizeof(v)));
	bad += scan_words("VERSION", &v, sizeof(v), maps, nmaps);
	/* CONFIGURE and QUERY report arena addresses: only those */
	bad += scan_words("CONFIGURE", &cfg, sizeof(cfg), maps, nmaps);
	memset(&q, 0, sizeof(q));
	q.addr = keep[3] + 8;
	ASSERT_EQ(0, raw_ioc(h.fd, GCH_IOC_QUERY, &q, sizeof(q)));
	EXPECT_EQ(keep[3], q.base);
	bad += scan_words("QUERY", &q, sizeof(q), maps, nmaps);
	/* the objects in the control area are arena addresses too */
	bad += scan_words("control area", h.control, h.control_size > 65536 ?
			  65536 : h.control_size, maps, nmaps);
	printf("# %lu words of ioctl output scanned, %d mappings\n",
	       words_scanned, nmaps);
	EXPECT_EQ(0, bad);
	raw_heap_close(&h);
}

/* ---- pages reach a new heap zeroed ------------------------------------- */

/* The span classes and large sizes both processes allocate. */
static const __u32 zclasses[] = { 1, 4, 9, 17, 30, 45 };
#define ZLARGE		24
#define ZLARGE_SIZE	(256U << 10)
#define ZPER_CLASS	1024

/*
 * Allocate the same objects as the other process; fill them with the
 * pattern, or check they are zero.  Return words found non-zero, or -1.
 */
static long zero_round(bool fill)
{
	static __u64 objs[ZPER_CLASS];
	struct raw_heap h;
	long dirty = 0;
	__u64 size, addr, k, bytes = 0;
	__u32 i, j, n;

	if (heap_open(&h, NULL))
		return -1;
	for (i = 0; i < sizeof(zclasses) / sizeof(zclasses[0]); i++) {
		for (j = 0; j < 2; j++) {	/* scanned and noscan spans */
			if (raw_refill_buf(h.fd, GCH_SPANCLASS(zclasses[i], j),
					   objs, ZPER_CLASS, &n) || !n)
				return -1;
			size = obj_size(h.fd, objs[0]);
			if (!size)
				return -1;
			bytes += n * size;
			for (k = 0; k < n; k++) {
				__u64 *o = (__u64 *)(uintptr_t)objs[k], w;

				for (w = 0; w < size / 8; w++) {
					if (fill)
						o[w] = PATTERN;
					else
						dirty += o[w] != 0;
				}
			}
		}
	}
	for (i = 0; i < ZLARGE; i++) {
		if (alloc_large(h.fd, ZLARGE_SIZE, &addr))
			return -1;
		bytes += ZLARGE_SIZE;
		for (k = 0; k < ZLARGE_SIZE / 8; k++) {
			__u64 *o = (__u64 *)(uintptr_t)addr;

			if (fill)
				o[k] = PATTERN;
			else
				dirty += o[k] != 0;
		}
	}
	raw_heap_close(&h);
	printf("# %s %llu bytes in %zu span classes and %u large objects\n",
	       fill ? "filled" : "checked", (unsigned long long)bytes,
	       2 * sizeof(zclasses) / sizeof(zclasses[0]), ZLARGE);
	return dirty;
}

static long in_child(bool fill)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		long r = zero_round(fill);

		_exit(r < 0 ? 255 : r > 254 ? 254 : r);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status) == 255 ? -1 : WEXITSTATUS(status);
}

/* a fixture only for the timeout: 3 x 2 x 22 MiB is slow on the debug kernel */
FIXTURE(zeros) {
	int unused;
};

FIXTURE_SETUP(zeros)
{
}

FIXTURE_TEARDOWN(zeros)
{
}

TEST_F_TIMEOUT(zeros, new_heap_sees_only_zeros, 180)
{
	int round;

	/* a few rounds: the freed pages go back to the allocator each time */
	for (round = 0; round < 3; round++) {
		ASSERT_EQ(0, in_child(true)) TH_LOG("filling, round %d", round);
		ASSERT_EQ(0, in_child(false))
			TH_LOG("round %d: a new heap's objects are not zero",
			       round);
	}
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
