// SPDX-License-Identifier: GPL-2.0
/*
 * A structured fuzzer of the gcheap ioctls and of the control area.
 *
 * ioctls: four threads call every ioctl (and unknown numbers, other sizes
 * and directions) with random, boundary and malformed arguments, on three
 * heaps of one process:
 *
 *  - F, the target: anything goes (random frees, random root ranges, arg
 *    pointers into its own arena and control area);
 *  - L, the witness: a set of live objects with content checksums, rooted
 *    through a registered range; L only gets calls that must not change
 *    its objects (malformed headers, frees of interior, freed and foreign
 *    pointers) besides the fuzzer's own valid allocations and frees, so
 *    its objects must survive every collection intact and its statistics
 *    must match the set exactly;
 *  - C (second test), the control area: random writes into the per-CPU
 *    caches between refills; each refill must do what the kernel promises
 *    from the values it was given, and hand out only zeroed objects of the
 *    right class inside the arena that are not already handed out.
 *
 * Oracles: every errno is one documented for that ioctl (uapi kernel-doc,
 * Documentation/uapi.rst), exact where the arguments decide it; L's
 * objects and statistics; no signal.  Seed and call count: GCH_FUZZ_SEED,
 * GCH_FUZZ_CALLS (default 100000 on the debug kernel, 20000 otherwise).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/gcheap.h>

#include "kselftest_harness.h"
#include "core/sizeclass.h"
#include "core/cache.c"

#define NTHREADS	4
#define MAX_ERRNO	160
#define MAX_LIVE	2048
#define MAX_FREED	512
#define MAX_FOBJS	512
#define LIVE_TAG	7
#define ARGBUF		8192
#define MAX_REPORTS	30
#define L_ARENA		(64UL << 20)
#define GCH_GC_PERCENT_MAX	1000000U
#define F_ARENA		(128UL << 20)	/* fits in the VM's memory */

static struct gch_sizeclass_table classes;
static struct gch_cache_layout layout;

/* --- random numbers, seed, call counts ----------------------------------- */

static __u64 seed;
static long total_calls;

/* splitmix64: every thread gets its own stream of the one seed */
static __u64 rnd(__u64 *s)
{
	__u64 z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static __u64 below(__u64 *s, __u64 n)
{
	return n ? rnd(s) % n : 0;
}

/* one in @n */
static bool chance(__u64 *s, unsigned int n)
{
	return below(s, n) == 0;
}

/*
 * The debug kernel (tools/kernel/debug.config) has kmemleak; Debian's do
 * not.  It is slow under TCG but must still see 100000 calls.
 */
static bool debug_kernel(void)
{
	struct utsname u;

	if (!access("/sys/kernel/debug/kmemleak", F_OK))
		return true;
	/* debugfs may not be mounted: Debian's releases end in -amd64 */
	return !uname(&u) && !strstr(u.release, "amd64");
}

static void fuzz_params(void)
{
	const char *s = getenv("GCH_FUZZ_SEED");
	const char *c = getenv("GCH_FUZZ_CALLS");

	seed = s && *s ? strtoull(s, NULL, 0) : 0x6763686561700007ULL;
	total_calls = c && *c ? strtol(c, NULL, 0) : 0;
	if (total_calls <= 0)
		total_calls = debug_kernel() ? 100000 : 20000;
	if (!classes.nr_classes) {
		gch_sizeclass_init(&classes);
		gch_cache_layout_init(&layout, &classes);
	}
}

/* --- the ioctls, their documented errors, counters ----------------------- */

enum op {
	OP_VERSION, OP_CONFIGURE, OP_REFILL, OP_ALLOC_LARGE, OP_FREE,
	OP_QUERY, OP_STATS, OP_COLLECT, OP_ROOTS, OP_GC_STATS, OP_FINALIZER,
	OP_WEAK, OP_FIN_TAKE, OP_BADCMD, NR_OPS
};

static const struct op_desc {
	const char *name;
	unsigned int cmd;
	__u32 ksize;		/* the struct the module knows */
	__u32 ver0;
	__u32 flags;		/* known hdr.flags */
	int errs[8];		/* documented, besides EFAULT, EINVAL, E2BIG */
} ops[NR_OPS] = {
	[OP_VERSION] = { "VERSION", GCH_IOC_VERSION, sizeof(struct gch_version),
			 GCH_VERSION_SIZE_VER0, 0, { 0 } },
	[OP_CONFIGURE] = { "CONFIGURE", GCH_IOC_CONFIGURE,
			   sizeof(struct gch_heap_config), GCH_CONFIG_SIZE_VER0,
			   0, { EBUSY, ENOMEM } },
	[OP_REFILL] = { "REFILL", GCH_IOC_REFILL, sizeof(struct gch_refill),
			GCH_REFILL_SIZE_VER0,
			GCH_REFILL_BUFFER | GCH_REFILL_UNZEROED,
			{ ENXIO, ENOMEM } },
	[OP_ALLOC_LARGE] = { "ALLOC_LARGE", GCH_IOC_ALLOC_LARGE,
			     sizeof(struct gch_alloc), GCH_ALLOC_SIZE_VER0,
			     GCH_ALLOC_NOSCAN, { ENXIO, ENOMEM } },
	[OP_FREE] = { "FREE", GCH_IOC_FREE, sizeof(struct gch_free),
		      GCH_FREE_SIZE_VER0, 0, { ENXIO } },
	[OP_QUERY] = { "QUERY", GCH_IOC_QUERY, sizeof(struct gch_query),
		       GCH_QUERY_SIZE_VER0, 0, { ENOENT, ENXIO } },
	[OP_STATS] = { "STATS", GCH_IOC_STATS, sizeof(struct gch_stats),
		       GCH_STATS_SIZE_VER0, 0, { ENOMEM } },
	[OP_COLLECT] = { "COLLECT", GCH_IOC_COLLECT, sizeof(struct gch_collect),
			 GCH_COLLECT_SIZE_VER0,
			 GCH_COLLECT_IF_DUE | GCH_COLLECT_ASYNC_SWEEP,
			 { EINTR, ETIMEDOUT, EAGAIN, ENXIO, ENOMEM } },
	[OP_ROOTS] = { "ROOTS", GCH_IOC_ROOTS, sizeof(struct gch_roots),
		       GCH_ROOTS_SIZE_VER0, 0, { ENOSPC, ENOMEM } },
	[OP_GC_STATS] = { "GC_STATS", GCH_IOC_GC_STATS,
			  sizeof(struct gch_gc_stats), GCH_GC_STATS_SIZE_VER0,
			  0, { ENOMEM } },
	[OP_FINALIZER] = { "FINALIZER", GCH_IOC_FINALIZER,
			   sizeof(struct gch_finalizer), GCH_FINALIZER_SIZE_VER0,
			   GCH_FINALIZER_NO_ORDER | GCH_FINALIZER_IGNORE_SELF |
			   GCH_FINALIZER_UNREACHABLE, { ENOENT, ENXIO, ENOMEM } },
	[OP_WEAK] = { "WEAK", GCH_IOC_WEAK, sizeof(struct gch_weak),
		      GCH_WEAK_SIZE_VER0, GCH_WEAK_LONG | GCH_WEAK_REMOVE |
		      GCH_WEAK_MOVE | GCH_WEAK_KIND,
		      { EEXIST, ENOENT, ENXIO, ENOMEM } },
	[OP_FIN_TAKE] = { "FIN_TAKE", GCH_IOC_FIN_TAKE,
			  sizeof(struct gch_fin_take), GCH_FIN_TAKE_SIZE_VER0,
			  GCH_FIN_TAKE_WAIT, { ENXIO, ENOMEM } },
	[OP_BADCMD] = { "unknown-cmd", 0, 0, 0, 0, { 0 } },
};

static unsigned long op_calls[NR_OPS];
static unsigned long op_errs[NR_OPS][MAX_ERRNO];
static unsigned long failures;
static unsigned long checks;

static void count(unsigned long *p)
{
	__atomic_fetch_add(p, 1, __ATOMIC_RELAXED);
}

#define fail(fmt, ...) do {						\
	if (__atomic_fetch_add(&failures, 1, __ATOMIC_RELAXED) < MAX_REPORTS) \
		fprintf(stderr, "# FAIL %s:%d: " fmt "\n", __func__,	\
			__LINE__, ##__VA_ARGS__);			\
} while (0)

#define check(cond, fmt, ...) do {					\
	count(&checks);							\
	if (!(cond))							\
		fail("%s: " fmt, #cond, ##__VA_ARGS__);			\
} while (0)

static bool documented(enum op op, int e)
{
	unsigned int i;

	if (op == OP_BADCMD)
		return e == ENOTTY;
	if (e == EFAULT || e == EINVAL || e == E2BIG)
		return true;
	for (i = 0; i < 8 && ops[op].errs[i]; i++)
		if (ops[op].errs[i] == e)
			return true;
	return false;
}

/*
 * Every call of the fuzzer goes through here: counted, and its errno
 * checked against the ioctl's documented ones and, if the arguments
 * decide it (@want >= 0), against exactly that one.  Returns the errno.
 */
static int call(enum op op, int fd, unsigned long cmd, void *arg, int want)
{
	int e = ioctl(fd, cmd, arg) ? errno : 0;

	count(&op_calls[op]);
	count(&op_errs[op][e < MAX_ERRNO ? e : MAX_ERRNO - 1]);
	count(&checks);
	if (!documented(op, e) && e)
		fail("%s (cmd %#lx): undocumented errno %d (%s)", ops[op].name,
		     cmd, e, strerror(e));
	else if (want >= 0 && e != want)
		fail("%s (cmd %#lx): got %d (%s), want %d (%s)", ops[op].name,
		     cmd, e, strerror(e), want, strerror(want));
	return e;
}

static void print_counts(void)
{
	unsigned long total = 0;
	char line[1024];
	int op, e, n;

	for (op = 0; op < NR_OPS; op++) {
		n = snprintf(line, sizeof(line), "%-12s %7lu calls:",
			     ops[op].name, op_calls[op]);
		for (e = 0; e < MAX_ERRNO; e++)
			if (op_errs[op][e] && n < (int)sizeof(line) - 40)
				n += snprintf(line + n, sizeof(line) - n,
					      " %s %lu", e ? strerrorname_np(e) : "ok",
					      op_errs[op][e]);
		printf("# %s\n", line);
		total += op_calls[op];
	}
	printf("# total %lu ioctl calls, %lu checks, %lu failures\n", total,
	       checks, failures);
}

/* --- memory for bad pointers ------------------------------------------- */

static char *prot_none;		/* a page that faults */
static char *read_only;		/* a valid header for every ioctl, read-only */

static void bad_memory_init(void)
{
	struct gch_ioc_hdr *h;

	prot_none = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
	read_only = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (prot_none == MAP_FAILED || read_only == MAP_FAILED)
		abort();
	/* big enough for every struct, zero past the header: all valid */
	h = (void *)read_only;
	h->size = GCH_STATS_SIZE_VER0;
	mprotect(read_only, 4096, PROT_READ);
}

/* --- a heap ------------------------------------------------------------ */

struct heap {
	int fd;
	char *arena;
	__u64 arena_size;
	char *control;
	__u64 control_size;
	__u32 stride, nr_cpus;
};

static int heap_open(struct heap *h, __u64 arena_size, bool control)
{
	struct gch_heap_config cfg = { .hdr.size = sizeof(cfg) };

	memset(h, 0, sizeof(*h));
	h->fd = open(GCH_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	if (h->fd < 0)
		return -1;
	cfg.arena_size = arena_size;
	cfg.gc_percent = GCH_GC_OFF;	/* gc_due would mean nothing here */
	if (ioctl(h->fd, GCH_IOC_CONFIGURE, &cfg))
		return -1;
	h->arena_size = cfg.arena_size;
	h->arena = mmap(NULL, cfg.arena_size, PROT_READ | PROT_WRITE,
			MAP_SHARED, h->fd, GCH_MMAP_ARENA);
	if (h->arena == MAP_FAILED)
		return -1;
	h->control_size = cfg.control_size;
	h->stride = cfg.cpu_stride;
	h->nr_cpus = cfg.nr_cpus;
	if (control) {
		h->control = mmap(NULL, cfg.control_size,
				  PROT_READ | PROT_WRITE, MAP_SHARED, h->fd,
				  GCH_MMAP_CONTROL);
		if (h->control == MAP_FAILED)
			return -1;
	}
	return 0;
}

static void heap_close(struct heap *h)
{
	if (h->control && h->control != MAP_FAILED)
		munmap(h->control, h->control_size);
	if (h->arena && h->arena != MAP_FAILED)
		munmap(h->arena, h->arena_size);
	close(h->fd);
}

static bool in_arena(const struct heap *h, __u64 a)
{
	return a >= (__u64)h->arena && a - (__u64)h->arena < h->arena_size;
}

/* N: a heap never mapped, where allocation and lookups get ENXIO */
static struct heap F, L, N;

/* Objects of F seen, for frees and queries; racy on purpose, any value. */
static __u64 f_objs[MAX_FOBJS];

/* --- L: live objects with checksums ------------------------------------ */

/* The roots of L: a registered range (bss), nothing else holds them. */
static __u64 live_addr[MAX_LIVE];

static struct live {
	__u64 size;		/* usable size, from QUERY */
	__u64 tag;
	bool large;
} live[MAX_LIVE];
static unsigned int nlive;
static __u64 freed[MAX_FREED];
static unsigned int nfreed;
static pthread_mutex_t l_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long l_collections, l_timeouts, l_verified;

static __u64 pattern(__u64 addr, __u64 tag, __u64 i)
{
	__u64 s = addr ^ tag ^ (i * 0x100000001b3ULL);

	return rnd(&s);
}

static void l_fill(unsigned int i)
{
	__u64 *w = (__u64 *)live_addr[i];
	__u64 n;

	for (n = 0; n < live[i].size / 8; n++)
		w[n] = pattern(live_addr[i], live[i].tag, n);
}

static bool l_intact(unsigned int i)
{
	const __u64 *w = (const __u64 *)live_addr[i];
	__u64 n;

	for (n = 0; n < live[i].size / 8; n++)
		if (w[n] != pattern(live_addr[i], live[i].tag, n))
			return false;
	return true;
}

static bool zeroed(const void *p, __u64 n)
{
	const char *c = p;

	return !n || (!c[0] && !memcmp(c, c + 1, n - 1));
}

/* A new object of L (l_lock held): check it, fill it, root it. */
static void l_adopt(__u64 *s, __u64 addr, unsigned int sizeclass,
		    bool noscan)
{
	struct gch_query q = { .hdr.size = sizeof(q), .addr = addr };
	unsigned int i;

	check(in_arena(&L, addr) && !(addr % GCH_MIN_ALIGN),
	      "object %#llx outside L's arena", addr);
	if (call(OP_QUERY, L.fd, GCH_IOC_QUERY, &q, 0))
		return;
	check(q.base == addr && q.sizeclass == sizeclass &&
	      !!(q.oflags & GCH_OBJ_NOSCAN) == noscan,
	      "new object %#llx: base %#llx class %u (want %u) oflags %#x",
	      addr, (unsigned long long)q.base, q.sizeclass, sizeclass, q.oflags);
	check(zeroed((void *)addr, q.size), "new object %#llx not zeroed",
	      addr);
	for (i = 0; i < nlive; i++)
		check(live_addr[i] != addr, "object %#llx handed out twice",
		      addr);
	if (nlive == MAX_LIVE)
		return;	/* lost: the next collection of L reclaims it */
	i = nlive;
	live[i].size = q.size;
	live[i].tag = rnd(s);
	live[i].large = !sizeclass;
	live_addr[i] = addr;
	l_fill(i);
	/* published last: a collection meanwhile sees it on our stack */
	__atomic_store_n(&nlive, i + 1, __ATOMIC_RELEASE);
}

static void l_alloc(__u64 *s)
{
	__u64 buf[8];
	unsigned int sc, n;

	pthread_mutex_lock(&l_lock);
	if (nlive > MAX_LIVE - 16)
		goto out;
	if (chance(s, 16)) {
		struct gch_alloc a = { .hdr.size = sizeof(a) };

		a.size = GCH_MAX_SMALL_SIZE + 1 + below(s, 48 << 10);
		a.hdr.flags = chance(s, 2) ? GCH_ALLOC_NOSCAN : 0;
		if (!call(OP_ALLOC_LARGE, L.fd, GCH_IOC_ALLOC_LARGE, &a, 0)) {
			check(!(a.addr % 4096), "large %#llx",
			      (unsigned long long)a.addr);
			l_adopt(s, a.addr, 0, a.hdr.flags);
		}
	} else {
		struct gch_refill r = { .hdr.size = sizeof(r),
					.hdr.flags = GCH_REFILL_BUFFER };

		/* mostly small classes: the heap fills slower */
		sc = 2 + below(s, chance(s, 4) ? 2 * classes.nr_classes - 2 : 40);
		r.spanclass = sc;
		r.max = 1 + below(s, 8);
		r.buf = (__u64)buf;
		if (!call(OP_REFILL, L.fd, GCH_IOC_REFILL, &r, 0)) {
			check(r.count >= 1 && r.count <= r.max, "count %u max %u",
			      r.count, r.max);
			for (n = 0; n < r.count && n < 8; n++)
				l_adopt(s, buf[n], sc >> 1, sc & 1);
		}
	}
out:
	pthread_mutex_unlock(&l_lock);
}

static void l_remove(unsigned int i)
{
	unsigned int last = nlive - 1;

	/* the last entry moves into the hole before it leaves the roots */
	live_addr[i] = live_addr[last];
	live[i] = live[last];
	__atomic_store_n(&nlive, last, __ATOMIC_RELEASE);
}

/* Free a live object, or try to free an interior or freed address. */
static void l_free(__u64 *s)
{
	struct gch_free f = { .hdr.size = sizeof(f) };
	struct gch_query q = { .hdr.size = sizeof(q) };
	unsigned int i, k;

	pthread_mutex_lock(&l_lock);
	if (!nlive)
		goto out;
	i = below(s, nlive);
	switch (below(s, 5)) {
	case 2: /* another heap's object or address */
		f.addr = chance(s, 2) ? f_objs[below(s, MAX_FOBJS)] :
			 (__u64)F.arena + below(s, F.arena_size);
		q.addr = f.addr;
		call(OP_QUERY, L.fd, GCH_IOC_QUERY, &q, EINVAL);
		call(OP_FREE, L.fd, GCH_IOC_FREE, &f, EINVAL);
		break;
	case 0:	/* interior pointer: not an object start */
		if (live[i].size <= GCH_MIN_ALIGN)
			break;
		f.addr = live_addr[i] + 1 + below(s, live[i].size - 1);
		call(OP_FREE, L.fd, GCH_IOC_FREE, &f, EINVAL);
		break;
	case 1: /* a freed address: free (EINVAL) or inside another object */
		if (!nfreed)
			break;
		f.addr = freed[below(s, nfreed)];
		for (k = 0; k < nlive; k++)
			if (live_addr[k] == f.addr)
				goto out;	/* reused: it is live again */
		q.addr = f.addr;
		if (!call(OP_QUERY, L.fd, GCH_IOC_QUERY, &q, -1)) {
			for (k = 0; k < nlive; k++)
				if (live_addr[k] == q.base)
					break;
			check(k < nlive && q.addr - q.base < live[k].size,
			      "freed %#llx inside an object %#llx we do not have",
			      f.addr, (unsigned long long)q.base);
		}
		call(OP_FREE, L.fd, GCH_IOC_FREE, &f, EINVAL);
		break;
	default:
		f.addr = live_addr[i];
		check(l_intact(i), "object %#llx changed", f.addr);
		l_remove(i);
		if (!call(OP_FREE, L.fd, GCH_IOC_FREE, &f, 0))
			freed[nfreed < MAX_FREED ? nfreed++ : below(s, MAX_FREED)] =
				f.addr;
		break;
	}
out:
	pthread_mutex_unlock(&l_lock);
}

/* L's statistics must be exactly its live set (l_lock held). */
static void l_check_stats(void)
{
	static struct gch_stats st;
	__u64 large = 0;
	unsigned int i;

	st.hdr.size = sizeof(st);
	if (call(OP_STATS, L.fd, GCH_IOC_STATS, &st, 0))
		return;
	for (i = 0; i < nlive; i++)
		large += live[i].large;
	check(st.objects == nlive, "L: %llu objects, %u live",
	      (unsigned long long)st.objects, nlive);
	check(st.large_objects == large, "L: %llu large, %llu live",
	      (unsigned long long)st.large_objects, (unsigned long long)large);
	check(st.nmalloc - st.nfree == st.objects, "L: nmalloc %llu nfree %llu",
	      (unsigned long long)st.nmalloc, (unsigned long long)st.nfree);
	check(st.cached_objects == 0, "L has no control area");
	check(st.inuse_bytes <= st.mapped_bytes &&
	      st.mapped_bytes <= st.arena_size &&
	      st.spans_inuse * GCH_PAGE_SIZE <= st.mapped_bytes,
	      "L: inuse %llu mapped %llu arena %llu spans %llu",
	      (unsigned long long)st.inuse_bytes,
	      (unsigned long long)st.mapped_bytes,
	      (unsigned long long)st.arena_size,
	      (unsigned long long)st.spans_inuse);
}

/* Collect L, then every live object must be intact. */
static void l_collect(void)
{
	struct gch_collect c = { .hdr.size = sizeof(c) };
	unsigned int i;
	int e;

	/*
	 * Another thread collecting F at the same time waits for us to stop
	 * while we wait for it: both time out (documented), nothing freed.
	 */
	e = call(OP_COLLECT, L.fd, GCH_IOC_COLLECT, &c, -1);
	check(!e || e == ETIMEDOUT, "collection of L: %s", strerror(e));
	pthread_mutex_lock(&l_lock);
	if (!e)
		count(&l_collections);
	else
		count(&l_timeouts);
	for (i = 0; i < nlive; i++) {
		check(l_intact(i), "object %#llx (%llu bytes) changed by a collection",
		      live_addr[i], (unsigned long long)live[i].size);
		count(&l_verified);
	}
	l_check_stats();
	pthread_mutex_unlock(&l_lock);
}

/* --- argument generators ------------------------------------------------ */

enum ptr_kind {
	P_VALID, P_NULL, P_KERNEL, P_NONCANON, P_PROT_NONE, P_UNMAPPED,
	P_READ_ONLY, P_STRADDLE, P_ARENA, NR_PTR_KINDS
};

/* A pointer that faults (P_NULL .. P_UNMAPPED). */
static __u64 bad_ptr(__u64 *s, enum ptr_kind k)
{
	static const __u64 kernel[] = {
		0xffffffff81000000ULL, 0xffff888000000000ULL,
		0xfffffffffffff000ULL, 0xffffc90000000000ULL,
	};

	switch (k) {
	case P_NULL:
		return below(s, 4096);
	case P_KERNEL:
		return kernel[below(s, 4)] + below(s, 4096);
	case P_NONCANON:
		return 0x0000800000000000ULL + below(s, 1ULL << 40);
	case P_PROT_NONE:
		return (__u64)prot_none + below(s, 4096);
	default:	/* below mmap_min_addr: never mapped */
		return 4096 + below(s, 0xf000 - 4096);
	}
}

/* An address for FREE, QUERY and ROOTS: anything, mostly near the heaps. */
static __u64 any_addr(__u64 *s, struct heap *h)
{
	switch (below(s, 8)) {
	case 0:
		return f_objs[below(s, MAX_FOBJS)] + (chance(s, 2) ? 0 : below(s, 64));
	case 1:
		return (__u64)h->arena + below(s, h->arena_size) / 16 * 16;
	case 2:
		return (__u64)h->arena + h->arena_size - below(s, 64);
	case 3:
		return (__u64)h->arena - 1 - below(s, 64);
	case 4:
		return (__u64)L.arena + below(s, L.arena_size);
	case 5:
		return rnd(s);
	case 6:
		return bad_ptr(s, P_NULL + below(s, 5));
	default:
		return f_objs[below(s, MAX_FOBJS)];
	}
}

static __u32 any_size(__u64 *s, enum op op)
{
	const struct op_desc *d = &ops[op];

	switch (below(s, 12)) {
	case 0: return 0;
	case 1: return 1;
	case 2: return d->ver0 - 1 - below(s, d->ver0 - 1);
	case 3: return 4096;
	case 4: return 4097;
	case 5: return 0xffffffff;
	case 6: return 4097 + rnd(s) % (UINT32_MAX - 4097);
	case 7: return d->ver0 + below(s, 4096 - d->ver0 + 1);
	case 8: return d->ver0;
	default: return d->ksize;
	}
}

/*
 * Where weak links may point: this scratch memory (the collections write
 * zeros into it), pages that fault or are read-only (the links are
 * dropped unwritten), F's arena (its objects are not checked); never the
 * rest of this process, which a cleared link would corrupt, and never
 * L's arena, whose objects are checked.
 */
static __u64 weak_scratch[4096];

static __u64 any_link(__u64 *s, struct heap *h, bool on_l)
{
	switch (below(s, 6)) {
	case 0:
		return bad_ptr(s, P_NULL + below(s, 5));
	case 1:
		return (__u64)read_only + below(s, 512) * 8;
	case 2:
		if (!on_l) {
			__u64 a = any_addr(s, h);

			if (!in_arena(&L, a))
				return a;
		}
		/* fall through */
	default:
		return (__u64)&weak_scratch[below(s, 4096)] +
		       (chance(s, 8) ? below(s, 8) : 0);
	}
}

/* Flags of GCH_IOC_WEAK that go together. */
static const __u32 weak_flags[] = {
	0, GCH_WEAK_LONG, GCH_WEAK_REMOVE, GCH_WEAK_REMOVE | GCH_WEAK_KIND,
	GCH_WEAK_REMOVE | GCH_WEAK_KIND | GCH_WEAK_LONG, GCH_WEAK_MOVE,
	GCH_WEAK_MOVE | GCH_WEAK_KIND,
	GCH_WEAK_MOVE | GCH_WEAK_KIND | GCH_WEAK_LONG,
};

/* The per-ioctl body, valid or not; the heap is F or L. */
static void fill_body(__u64 *s, enum op op, void *arg, struct heap *h,
		      bool on_l)
{
	switch (op) {
	case OP_CONFIGURE: {
		struct gch_heap_config *c = arg;
		static const __u64 sz[] = { 0, 8192, 16 * 8192, 1ULL << 40,
					       (__u64)UINT32_MAX << 13, 12345 };

		c->arena_size = chance(s, 2) ? h->arena_size : sz[below(s, 6)];
		/*
		 * Valid percents would make F's IF_DUE collections run all
		 * the time (and L's gc_due mean nothing): GC stays off.
		 */
		c->gc_percent = chance(s, 3) ? 0 : chance(s, 2) ? GCH_GC_OFF :
				GCH_GC_PERCENT_MAX + 1 + below(s, 1U << 31);
		c->workers = chance(s, 2) ? 0 : below(s, 1100);
		c->tls_below = chance(s, 2) ? 0 : (__u32)rnd(s) >> below(s, 32);
		c->tls_above = chance(s, 2) ? 0 : below(s, GCH_TLS_MAX + 2);
		if (chance(s, 4)) {	/* out fields as garbage input */
			c->control_size = rnd(s);
			c->arena_start = rnd(s);
			c->nr_cpus = rnd(s);
		}
		break;
	}
	case OP_REFILL: {
		struct gch_refill *r = arg;

		r->spanclass = chance(s, 4) ? (__u32)rnd(s) >> below(s, 32) :
			       below(s, 2 * classes.nr_classes + 2);
		r->max = chance(s, 3) ? (__u32)rnd(s) >> below(s, 32) :
			 below(s, chance(s, 16) ? 4098 : 64);
		r->buf = chance(s, 2) ? (__u64)arg + 512 :
			 chance(s, 2) ? bad_ptr(s, P_NULL + below(s, 5)) :
			 chance(s, 2) ? (__u64)read_only :
			 (__u64)h->arena + below(s, h->arena_size);
		if (h->control && chance(s, 8))
			r->buf = (__u64)h->control + below(s, h->control_size);
		r->pad = chance(s, 4) ? rnd(s) : 0;
		r->cpu = chance(s, 4) ? rnd(s) : 0;
		break;
	}
	case OP_ALLOC_LARGE: {
		struct gch_alloc *a = arg;
		static const __u64 sz[] = { 0, 1, 32768, 32769, 4ULL << 30,
					       (4ULL << 30) - 8192, ~0ULL,
					       1ULL << 63 };

		a->size = chance(s, 2) ? sz[below(s, 8)] :
			  32769 + below(s, chance(s, 64) ? h->arena_size : 1 << 17);
		a->pad = chance(s, 4) ? rnd(s) : 0;
		a->addr = chance(s, 4) ? rnd(s) : 0;
		break;
	}
	case OP_FREE:
		((struct gch_free *)arg)->addr = any_addr(s, h);
		break;
	case OP_QUERY:
		((struct gch_query *)arg)->addr = any_addr(s, h);
		break;
	case OP_COLLECT:
		((struct gch_collect *)arg)->pad = chance(s, 4) ? rnd(s) : 0;
		break;
	case OP_ROOTS: {
		struct gch_roots *r = arg;

		r->op = chance(s, 8) ? (__u32)rnd(s) : 1 + below(s, 3);
		/* never L's own tag: its objects must stay rooted */
		r->tag = on_l ? 100 + below(s, 16) :
			 chance(s, 4) ? (__u32)rnd(s) : below(s, 16);
		r->addr = chance(s, 2) ? any_addr(s, h) :
			  (__u64)arg + below(s, 4096);
		r->len = chance(s, 2) ? below(s, 1 << 16) :
			 chance(s, 2) ? rnd(s) : ~0ULL - below(s, 64);
		break;
	}
	case OP_GC_STATS: {
		struct gch_gc_stats *g = arg;
		static char hist[300 * sizeof(struct gch_gc_info)];

		g->history = chance(s, 3) ? 0 : chance(s, 2) ? (__u64)hist :
			     chance(s, 2) ? bad_ptr(s, P_NULL + below(s, 5)) :
			     chance(s, 2) ? (__u64)read_only :
			     (__u64)F.arena + below(s, F.arena_size);
		g->history_max = chance(s, 3) ? 0 : chance(s, 2) ?
				 below(s, 300) : (__u32)rnd(s);
		break;
	}
	case OP_FINALIZER: {
		struct gch_finalizer *f = arg;

		/* known flags: mostly one order or none (all of them: EINVAL) */
		if (!(f->hdr.flags & ~ops[op].flags) && !chance(s, 4))
			f->hdr.flags = chance(s, 4) ? 0 : 1U << below(s, 3);
		f->obj = any_addr(s, h);
		f->fn = chance(s, 4) ? 0 : rnd(s);
		f->data = chance(s, 2) ? 0 : rnd(s);
		/* out fields as garbage input: ignored */
		f->old_fn = chance(s, 4) ? rnd(s) : 0;
		f->old_data = chance(s, 4) ? rnd(s) : 0;
		break;
	}
	case OP_WEAK: {
		struct gch_weak *w = arg;

		if (!(w->hdr.flags & ~ops[op].flags) && !chance(s, 4))
			w->hdr.flags = weak_flags[below(s, 8)];
		w->link = any_link(s, h, on_l);
		/*
		 * MOVE's @obj is the new link: where links may be, never in
		 * L's arena (on F also inside F's objects).
		 */
		if (!(w->hdr.flags & GCH_WEAK_MOVE))
			w->obj = any_addr(s, h);
		else if (!on_l && h == &F && chance(s, 4))
			w->obj = f_objs[below(s, MAX_FOBJS)] + below(s, 8) * 8;
		else
			w->obj = any_link(s, h, true);
		break;
	}
	case OP_FIN_TAKE: {
		struct gch_fin_take *t = arg;
		static struct gch_fin_ready got[GCH_FIN_TAKE_MAX + 64];

		/* nothing may be queued: never sleep for it */
		t->hdr.flags &= ~GCH_FIN_TAKE_WAIT;
		t->max = chance(s, 8) ? (__u32)rnd(s) : below(s, GCH_FIN_TAKE_MAX + 2);
		t->buf = chance(s, 2) ? (__u64)got :
			 chance(s, 2) ? bad_ptr(s, P_NULL + below(s, 5)) :
			 chance(s, 2) ? (__u64)read_only :
			 (__u64)F.arena + below(s, F.arena_size);
		t->count = chance(s, 4) ? rnd(s) : 0;
		t->pending = chance(s, 4) ? rnd(s) : 0;
		break;
	}
	default:
		break;
	}
}

/* What the header alone decides, or -1 (then any documented errno). */
static int early_errno(enum op op, enum ptr_kind k, __u32 usize,
		       bool tail_garbage, bool bad_flags)
{
	if (k >= P_NULL && k <= P_UNMAPPED)
		return EFAULT;
	if (k == P_READ_ONLY || k == P_ARENA)
		return -1;
	if (usize < ops[op].ver0)
		return EINVAL;
	if (usize > 4096)
		return E2BIG;
	if (k == P_STRADDLE)
		return EFAULT;
	if (tail_garbage)
		return E2BIG;
	if (bad_flags)
		return EINVAL;
	return -1;
}

/* Results that were written back must make sense. */
static void check_result(enum op op, const void *arg, __u32 usize,
			 struct heap *h)
{
	const struct gch_ioc_hdr *hdr = arg;
	__u32 want = usize < ops[op].ksize ? usize : ops[op].ksize;
	unsigned int i;

	/*
	 * These have nothing to write back, not even the header; nor has
	 * FINALIZER to a caller of its first version.
	 */
	if (op == OP_FREE || op == OP_ROOTS || op == OP_WEAK ||
	    (op == OP_FINALIZER && usize <= GCH_FINALIZER_SIZE_VER0))
		check(hdr->size == usize, "%s: hdr.size %u changed from %u",
		      ops[op].name, hdr->size, usize);
	else
		check(hdr->size == want, "%s: hdr.size %u, want %u",
		      ops[op].name, hdr->size, want);
	switch (op) {
	case OP_VERSION: {
		const struct gch_version *v = arg;

		check(v->abi_major == GCH_ABI_MAJOR &&
		      v->page_shift == GCH_PAGE_SHIFT &&
		      v->nr_size_classes == classes.nr_classes,
		      "version %u.%u", v->abi_major, v->abi_minor);
		break;
	}
	case OP_REFILL: {
		const struct gch_refill *r = arg;
		const __u64 *buf = (const __u64 *)r->buf;

		if (!(r->hdr.flags & GCH_REFILL_BUFFER) || usize < 24)
			break;
		check(r->count >= 1 && r->count <= r->max, "count %u", r->count);
		/* buf may be our argument page: read it before it changes */
		for (i = 0; i < r->count && (__u64)buf == (__u64)arg + 512; i++) {
			/* tagged only if asked for, and then only bit 0 */
			__u64 tag = r->hdr.flags & GCH_REFILL_UNZEROED ?
				    GCH_SLOT_UNZEROED : 0;
			__u64 obj = buf[i] & ~tag;

			check(in_arena(h, obj) && !(obj % GCH_MIN_ALIGN),
			      "refill: %#llx outside the arena", buf[i]);
			if (h == &F)
				f_objs[(obj >> 4) % MAX_FOBJS] = obj;
		}
		break;
	}
	case OP_ALLOC_LARGE: {
		const struct gch_alloc *a = arg;

		if (usize < 24)
			break;
		/* heap pages count from the arena's start (4 KiB aligned) */
		check(in_arena(h, a->addr) &&
		      !((a->addr - (__u64)h->arena) % GCH_PAGE_SIZE),
		      "large object %#llx outside the arena",
		      (unsigned long long)a->addr);
		if (h == &F)
			f_objs[(a->addr >> 13) % MAX_FOBJS] = a->addr;
		break;
	}
	case OP_STATS: {
		const struct gch_stats *st = arg;

		if (usize < sizeof(*st))
			break;
		check(st->nmalloc - st->nfree == st->objects &&
		      st->inuse_bytes <= st->mapped_bytes &&
		      st->mapped_bytes <= st->arena_size &&
		      st->large_objects == st->classes[0].spans &&
		      st->nr_classes == classes.nr_classes &&
		      st->cached_objects <= (__u64)h->nr_cpus * 128 * 2 *
					    classes.nr_classes,
		      "stats: objects %llu nmalloc %llu nfree %llu inuse %llu mapped %llu",
		      (unsigned long long)st->objects,
		      (unsigned long long)st->nmalloc,
		      (unsigned long long)st->nfree,
		      (unsigned long long)st->inuse_bytes,
		      (unsigned long long)st->mapped_bytes);
		break;
	}
	case OP_FIN_TAKE: {
		const struct gch_fin_take *t = arg;

		check(t->count <= t->max, "fin_take: %u of %u", t->count, t->max);
		break;
	}
	case OP_GC_STATS: {
		const struct gch_gc_stats *g = arg;

		check(g->nr_workers <= GCH_STATS_MAX_WORKERS &&
		      g->history_count <= g->history_max &&
		      g->history_count <= GCH_GC_HISTORY &&
		      g->history_count <= g->num_gc,
		      "gc_stats: workers %u history %u of %u", g->nr_workers,
		      g->history_count, g->history_max);
		break;
	}
	default:
		break;
	}
}

/* One random call of @op on heap @h, malformed in random ways. */
static void fuzz_one(__u64 *s, char *buf, enum op op, struct heap *h,
		     bool on_l)
{
	enum ptr_kind k = P_VALID;
	__u32 usize = ops[op].ksize, flags = 0;
	bool tail_garbage = false, bad_flags = false;
	char *arg = buf;
	int want;

	if (chance(s, 3)) {
		k = below(s, NR_PTR_KINDS);
		/*
		 * L's objects must not be written by the kernel; nor may a
		 * struct read from F's arena (any bits) sleep or name a link.
		 */
		if (k == P_ARENA &&
		    (on_l || op == OP_FIN_TAKE || op == OP_WEAK))
			k = P_VALID;
	}
	if (chance(s, 3))
		usize = any_size(s, op);
	if (chance(s, 8)) {
		flags = (__u32)rnd(s) >> below(s, 32);
		bad_flags = flags & ~ops[op].flags;
	} else if (chance(s, 2)) {
		flags = ops[op].flags;
	}
	/* F's collections: mostly only if due (rarely), they stop everyone */
	if (op == OP_COLLECT && !on_l && !chance(s, 512)) {
		flags = GCH_COLLECT_IF_DUE;
		bad_flags = false;
	}
	/* on L, only calls that cannot allocate or free */
	if (on_l && (op == OP_REFILL || op == OP_ALLOC_LARGE || op == OP_FREE ||
		     op == OP_COLLECT) && !bad_flags && usize >= ops[op].ver0 &&
	    usize <= 4096 && k != P_STRADDLE && !(k >= P_NULL && k <= P_UNMAPPED))
		bad_flags = true, flags |= 1U << 31;
	if (k == P_VALID && chance(s, 4))
		arg = buf + 1 + below(s, 15);	/* unaligned */
	memset(buf, 0, ARGBUF);
	((struct gch_ioc_hdr *)arg)->size = usize;
	((struct gch_ioc_hdr *)arg)->flags = flags;
	fill_body(s, op, arg, h, on_l);
	if (usize > ops[op].ksize && usize <= 4096 && chance(s, 3)) {
		arg[ops[op].ksize + below(s, usize - ops[op].ksize)] = 1 + below(s, 255);
		tail_garbage = true;
	}
	if (k == P_STRADDLE) {
		/* the header readable, the rest past the end into the guard */
		char *p = buf + ARGBUF - 8 - below(s, 8);

		memcpy(p, arg, 8);
		arg = p;
		if (usize <= 8)
			k = P_VALID;	/* fits */
	} else if (k == P_READ_ONLY) {
		arg = read_only;
		usize = GCH_STATS_SIZE_VER0;
	} else if (k == P_ARENA) {
		arg = F.arena + below(s, F.arena_size);
	} else if (k != P_VALID) {
		arg = (char *)bad_ptr(s, k);
	}
	want = early_errno(op, k, usize, tail_garbage, bad_flags);
	if (want < 0 && k == P_VALID && h == &N &&
	    (op == OP_FREE || op == OP_QUERY))
		want = ENXIO;
	/* another heap's objects are outside this arena */
	if (want < 0 && k == P_VALID && h == &F &&
	    (op == OP_FREE || op == OP_QUERY) &&
	    in_arena(&L, ((struct gch_free *)arg)->addr))
		want = EINVAL;
	if (!call(op, h->fd, ops[op].cmd, arg, want) && k == P_VALID)
		check_result(op, arg, usize, h);
}

/* A command number that is not ours: another number, direction or size. */
static void fuzz_badcmd(__u64 *s, char *buf, struct heap *h)
{
	unsigned long cmd;
	unsigned int i;

	do {
		enum op op = below(s, OP_BADCMD);

		switch (below(s, 4)) {
		case 0:	/* our number, another direction */
			cmd = _IOC(below(s, 4), GCH_IOC_MAGIC, _IOC_NR(ops[op].cmd),
				   _IOC_SIZE(ops[op].cmd));
			break;
		case 1: /* another size */
			cmd = _IOC(_IOC_READ | _IOC_WRITE, GCH_IOC_MAGIC,
				   _IOC_NR(ops[op].cmd), below(s, 1 << 14));
			break;
		case 2: /* an unknown number */
			cmd = _IOC(below(s, 4), GCH_IOC_MAGIC, 10 + below(s, 246),
				   below(s, 1 << 14));
			break;
		default: /* another magic: none the VFS handles itself */
			cmd = _IOC(below(s, 4), 0xA0 + below(s, 0x60), below(s, 256),
				   below(s, 1 << 14));
			break;
		}
		for (i = 0; i < OP_BADCMD; i++)
			if (cmd == ops[i].cmd)
				break;
	} while (i < OP_BADCMD);
	memset(buf, 0, 64);
	call(OP_BADCMD, h->fd, cmd,
	     chance(s, 2) ? buf : (void *)bad_ptr(s, P_NULL + below(s, 5)),
	     ENOTTY);
}

/* --- the threads --------------------------------------------------------- */

/* ioctl calls so far */
static unsigned long calls_done(void)
{
	unsigned long n = 0;
	int op;

	for (op = 0; op < NR_OPS; op++)
		n += __atomic_load_n(&op_calls[op], __ATOMIC_RELAXED);
	return n;
}

static void *fuzz_thread(void *p)
{
	__u64 s = seed ^ ((__u64)(uintptr_t)p * 0x51ed270b27ULL);
	char *mem, *buf;
	unsigned long n;

	/* an argument page with a guard after it, for P_STRADDLE */
	mem = mmap(NULL, ARGBUF + 4096, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		fail("mmap: %s", strerror(errno));
		return NULL;
	}
	mprotect(mem + ARGBUF, 4096, PROT_NONE);
	buf = mem;
	for (n = 0; (long)calls_done() < total_calls; n++) {
		unsigned int what = below(&s, 100);

		if (p == (void *)1 && n % 4096 == 0) {
			printf("# %lu calls\n", calls_done());
			fflush(stdout);
		}
		if (what < 12)
			l_alloc(&s);
		else if (what < 18)
			l_free(&s);
		else if (what < 19)
			fuzz_one(&s, buf, below(&s, OP_BADCMD), &N, false);
		else if (what < 20)
			fuzz_badcmd(&s, buf, chance(&s, 2) ? &F : &L);
		else if (what < 35)
			fuzz_one(&s, buf, below(&s, OP_BADCMD), &L, true);
		else
			fuzz_one(&s, buf, below(&s, OP_BADCMD), &F, false);
		/* collections stop every thread: rare, L's with checks */
		if (chance(&s, 6000))
			l_collect();
		if (chance(&s, 128)) {
			pthread_mutex_lock(&l_lock);
			l_check_stats();
			pthread_mutex_unlock(&l_lock);
		}
	}
	munmap(mem, ARGBUF + 4096);
	return NULL;
}

static void on_signal(int sig)
{
	char msg[64];
	int n = snprintf(msg, sizeof(msg), "# FAIL unexpected signal %d\n", sig);

	if (write(2, msg, n) < 0)
		_exit(3);
	_exit(2);
}

static void catch_signals(void)
{
	static const int sigs[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGPIPE,
				    SIGSYS, SIGXFSZ };
	struct sigaction sa = { .sa_handler = on_signal };
	unsigned int i;

	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A forked child must get EPERM, whatever it passes. */
static int child_calls(void *unused)
{
	__u64 s = seed;
	char buf[ARGBUF];
	int i, bad = 0;

	for (i = 0; i < 200; i++) {
		enum op op = below(&s, OP_BADCMD);

		memset(buf, 0, sizeof(buf));
		((struct gch_ioc_hdr *)buf)->size = ops[op].ksize;
		if (ioctl(chance(&s, 2) ? L.fd : F.fd, ops[op].cmd, buf) != -1 ||
		    errno != EPERM)
			bad++;
	}
	return bad;
}

FIXTURE(fuzz) {
	int unused;
};

FIXTURE_SETUP(fuzz)
{
	fuzz_params();
	catch_signals();
}

FIXTURE_TEARDOWN(fuzz)
{
}

TEST_F_TIMEOUT(fuzz, ioctls, 1200)
{
	struct gch_roots r = { .hdr.size = sizeof(r), .op = GCH_ROOTS_ADD,
			       .tag = LIVE_TAG };
	pthread_t th[NTHREADS];
	double t0 = now();
	int i, status;
	pid_t pid;

	printf("# seed %#llx (GCH_FUZZ_SEED), %ld calls (GCH_FUZZ_CALLS), %d threads, %s kernel\n",
	       seed, total_calls, NTHREADS, debug_kernel() ? "debug" : "stock");
	bad_memory_init();
	ASSERT_EQ(0, heap_open(&F, F_ARENA, true)) TH_LOG("F: %s", strerror(errno));
	ASSERT_EQ(0, heap_open(&L, L_ARENA, false)) TH_LOG("L: %s", strerror(errno));
	N.fd = open(GCH_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, N.fd);
	r.addr = (__u64)live_addr;
	r.len = sizeof(live_addr);
	ASSERT_EQ(0, ioctl(L.fd, GCH_IOC_ROOTS, &r)) TH_LOG("%s", strerror(errno));

	fflush(stdout);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(child_calls(NULL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
		TH_LOG("a forked child's ioctls did not all get EPERM (%#x)", status);

	for (i = 0; i < NTHREADS; i++)
		ASSERT_EQ(0, pthread_create(&th[i], NULL, fuzz_thread,
					    (void *)(uintptr_t)(i + 1)));
	for (i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);
	/* the end: one more collection of L and its checks */
	l_collect();
	print_counts();
	printf("# L: %u live objects, %lu collections (%lu timed out), %lu object checks after collections\n",
	       nlive, l_collections, l_timeouts, l_verified);
	printf("# wall time %.1f s\n", now() - t0);
	heap_close(&F);
	heap_close(&L);
	close(N.fd);
	EXPECT_EQ(0, failures) TH_LOG("%lu failed checks (seed %#llx)",
				      failures, seed);
	EXPECT_LT(0, l_collections);
}

/* --- the control area ---------------------------------------------------- */

#define C_MAX	1024

static struct heap C;
/* Objects C handed out and we took, rooted (bss), with their patterns. */
static __u64 c_out[C_MAX];
static __u64 c_tag[C_MAX], c_size[C_MAX];
static unsigned int n_out;
static unsigned long c_refills, c_taken, c_corruptions, c_resets_seen;
static volatile bool scribbling;

static struct gch_cache *cache_of(unsigned int cpu, unsigned int sc)
{
	return (struct gch_cache *)(C.control + (__u64)cpu * C.stride +
				    layout.offset[sc]);
}

static __u32 any_spanclass(__u64 *s)
{
	return 2 + below(s, chance(s, 2) ? 2 * classes.nr_classes - 2 : 24);
}

static bool c_intact(unsigned int i)
{
	const __u64 *w = (const __u64 *)c_out[i];
	__u64 n;

	for (n = 0; n < c_size[i] / 8; n++)
		if (w[n] != pattern(c_out[i], c_tag[i], n))
			return false;
	return true;
}

/*
 * An object the kernel just handed out of span class @sc: a zeroed object
 * of that class, inside the arena, not one we hold.  Then we hold it.
 */
static void c_take(__u64 *s, __u64 addr, unsigned int sc)
{
	struct gch_query q = { .hdr.size = sizeof(q), .addr = addr };
	__u64 *w = (__u64 *)addr;
	unsigned int i;
	__u64 n;

	count(&c_taken);
	check(in_arena(&C, addr) && !(addr % GCH_MIN_ALIGN),
	      "handed out %#llx, outside the arena", addr);
	if (!in_arena(&C, addr) || call(OP_QUERY, C.fd, GCH_IOC_QUERY, &q, 0))
		return;
	check(q.base == addr && q.sizeclass == sc >> 1 &&
	      !!(q.oflags & GCH_OBJ_NOSCAN) == (sc & 1),
	      "handed out %#llx of span class %u: base %#llx class %u",
	      addr, sc, (unsigned long long)q.base, q.sizeclass);
	for (i = 0; i < n_out; i++)
		if (c_out[i] == addr) {
			fail("object %#llx handed out twice", addr);
			return;
		}
	check(zeroed(w, q.size), "handed out %#llx, not zeroed", addr);
	if (n_out == C_MAX)
		return;	/* unrooted: a collection takes it back */
	c_tag[n_out] = rnd(s);
	c_size[n_out] = q.size < 512 ? q.size : 512;
	c_out[n_out] = addr;
	for (n = 0; n < c_size[n_out] / 8; n++)
		w[n] = pattern(addr, c_tag[n_out], n);
	n_out++;
}

/* Random writes into the caches: counts, pads, slots, any byte. */
static void c_corrupt(__u64 *s)
{
	unsigned int cpu = below(s, C.nr_cpus), sc = any_spanclass(s);
	struct gch_cache *c = cache_of(cpu, sc);
	unsigned int cap = layout.capacity[sc];
	static const __u32 counts[] = { 0, 1, 0x80000000, 0xffffffff };

	count(&c_corruptions);
	switch (below(s, 6)) {
	case 0:
		c->count = cap + 1 + below(s, 8);
		break;
	case 1:
		c->count = counts[below(s, 4)];
		break;
	case 2:
		c->count = below(s, cap + 1);
		break;
	case 3:
		c->pad = rnd(s);
		break;
	case 4: {
		unsigned int i = below(s, cap);

		c->slots[i] = chance(s, 3) ? rnd(s) :
			      chance(s, 2) ? (n_out ? c_out[below(s, n_out)] : 0) :
			      0xffff888000000000ULL + below(s, 1 << 30);
		break;
	}
	default:
		C.control[below(s, C.control_size)] = rnd(s);
		break;
	}
}

/* Refill the cache of this CPU, and check it from the values it had. */
static void c_refill(__u64 *s)
{
	struct gch_refill r = { .hdr.size = sizeof(r) };
	__u32 old[64], sc = any_spanclass(s), cap = layout.capacity[sc];
	__u32 base, now, i;
	struct gch_cache *c;

	for (i = 0; i < C.nr_cpus && i < 64; i++)
		old[i] = cache_of(i, sc)->count;
	r.spanclass = sc;
	if (call(OP_REFILL, C.fd, GCH_IOC_REFILL, &r, -1))
		return;
	count(&c_refills);
	if (r.cpu >= C.nr_cpus || r.cpu >= 64) {
		check(r.cpu < C.nr_cpus, "refill on cpu %u", r.cpu);
		return;
	}
	c = cache_of(r.cpu, sc);
	/* the kernel trusts a count only if it is in range */
	base = old[r.cpu] <= cap ? old[r.cpu] : 0;
	c_resets_seen += old[r.cpu] > cap;
	now = c->count;
	check(r.count <= cap - base && (base == cap || r.count >= 1),
	      "refill of %u slots from %u (was %u): %u", cap, base,
	      old[r.cpu], r.count);
	check(now == base + r.count, "cache count %u, want %u + %u", now, base,
	      r.count);
	if (now != base + r.count || now > cap)
		return;
	for (i = base; i < now; i++)
		c_take(s, c->slots[i], sc);
	/* taken; sometimes leave them in (they are roots there too) */
	c->count = chance(s, 4) ? now : base;
}

/* A buffer refill into the control area itself, or on the stack. */
static void c_refill_buffer(__u64 *s)
{
	struct gch_refill r = { .hdr.size = sizeof(r),
				.hdr.flags = GCH_REFILL_BUFFER };
	__u64 stack[64], *buf = stack;
	__u32 i;

	r.spanclass = any_spanclass(s);
	r.max = 1 + below(s, 64);
	if (!scribbling && chance(s, 2))
		buf = (__u64 *)(C.control +
				   below(s, C.control_size - 64 * 8) / 8 * 8);
	r.buf = (__u64)buf;
	if (call(OP_REFILL, C.fd, GCH_IOC_REFILL, &r, -1))
		return;
	check(r.count >= 1 && r.count <= r.max, "count %u max %u", r.count,
	      r.max);
	memcpy(stack, buf, r.count * 8);
	for (i = 0; i < r.count && i < 64; i++)
		c_take(s, stack[i], r.spanclass);
}

static void c_free(__u64 *s)
{
	struct gch_free f = { .hdr.size = sizeof(f) };
	unsigned int i;

	if (!n_out)
		return;
	i = below(s, n_out);
	f.addr = c_out[i];
	check(c_intact(i), "object %#llx changed", f.addr);
	c_out[i] = c_out[--n_out];
	c_tag[i] = c_tag[n_out];
	c_size[i] = c_size[n_out];
	call(OP_FREE, C.fd, GCH_IOC_FREE, &f, 0);
}

static void c_collect(void)
{
	struct gch_collect c = { .hdr.size = sizeof(c) };
	static struct gch_stats st;
	unsigned int i;

	if (call(OP_COLLECT, C.fd, GCH_IOC_COLLECT, &c, 0))
		return;
	for (i = 0; i < n_out; i++) {
		struct gch_query q = { .hdr.size = sizeof(q), .addr = c_out[i] };
		int e = ioctl(C.fd, GCH_IOC_QUERY, &q) ? errno : 0;

		const __u64 *w = (const __u64 *)c_out[i];
		__u64 n = 0;

		while (n < c_size[i] / 8 && w[n] == pattern(c_out[i], c_tag[i], n))
			n++;
		check(n == c_size[i] / 8, "object %#llx (%llu bytes) changed by a collection (word %llu is %#llx; query %d base %#llx class %u; %s)",
		      c_out[i], c_size[i], n, n < c_size[i] / 8 ? w[n] : 0,
		      e, q.base, q.sizeclass, scribbling ? "scribbled" : "quiet");
	}
	st.hdr.size = sizeof(st);
	if (call(OP_STATS, C.fd, GCH_IOC_STATS, &st, 0))
		return;
	check(st.objects >= n_out && st.nmalloc - st.nfree == st.objects &&
	      st.inuse_bytes <= st.mapped_bytes,
	      "C: objects %llu (we hold %u), nmalloc %llu nfree %llu",
	      (unsigned long long)st.objects, n_out,
	      (unsigned long long)st.nmalloc, (unsigned long long)st.nfree);
}

/* Another thread writing garbage while the kernel reads the caches. */
static void *scribbler(void *p)
{
	__u64 s = seed ^ 0x5c1bb1e5ULL;

	(void)p;
	while (__atomic_load_n(&scribbling, __ATOMIC_RELAXED)) {
		unsigned int cpu = below(&s, C.nr_cpus), sc = any_spanclass(&s);

		__atomic_store_n(&cache_of(cpu, sc)->count, (__u32)rnd(&s) >>
				 below(&s, 32), __ATOMIC_RELAXED);
		if (chance(&s, 64))
			sched_yield();
	}
	return NULL;
}

TEST_F_TIMEOUT(fuzz, control_area, 1200)
{
	struct gch_roots r = { .hdr.size = sizeof(r), .op = GCH_ROOTS_ADD,
			       .tag = LIVE_TAG };
	struct gch_refill rf = { .hdr.size = sizeof(rf), .spanclass = 2 };
	/* each step makes about ten calls, most of them checks */
	long steps = total_calls / 20 > 100 ? total_calls / 20 : 100, n;
	__u64 four[4];
	__u64 s = seed ^ 0xc0117201ULL;
	double t0 = now();
	pthread_t th;

	ASSERT_EQ(0, heap_open(&C, F_ARENA, true)) TH_LOG("%s", strerror(errno));
	r.addr = (__u64)c_out;
	r.len = sizeof(c_out);
	ASSERT_EQ(0, ioctl(C.fd, GCH_IOC_ROOTS, &r));
	printf("# control area: seed %#llx, %ld steps, %u CPU blocks of %u bytes\n",
	       seed, steps, C.nr_cpus, C.stride);
	for (n = 0; n < steps; n++) {
		unsigned int what = below(&s, 100);

		if (n == steps * 3 / 4) {
			/* the last quarter with garbage written meanwhile */
			scribbling = true;
			ASSERT_EQ(0, pthread_create(&th, NULL, scribbler, NULL));
		}
		if (what < 35 && !scribbling)
			c_corrupt(&s);
		else if (what < 65 && !scribbling)
			c_refill(&s);
		else if (what < 65)
			call(OP_REFILL, C.fd, GCH_IOC_REFILL,
			     &(struct gch_refill){ .hdr.size = sizeof(rf),
						   .spanclass = any_spanclass(&s) }, -1);
		else if (what < 85)
			c_refill_buffer(&s);
		else
			c_free(&s);
		if (chance(&s, 300))
			c_collect();
	}
	scribbling = false;
	pthread_join(th, NULL);
	c_collect();
	/* without the control area, cache refills fail cleanly */
	ASSERT_EQ(0, munmap(C.control, C.control_size));
	C.control = NULL;
	call(OP_REFILL, C.fd, GCH_IOC_REFILL, &rf, ENXIO);
	rf.hdr.flags = GCH_REFILL_BUFFER;
	rf.max = 4;
	rf.buf = (__u64)four;
	if (!call(OP_REFILL, C.fd, GCH_IOC_REFILL, &rf, 0))
		for (n = 0; n < rf.count && n < 4; n++)
			c_take(&s, four[n], rf.spanclass);
	c_collect();
	printf("# control area: %lu corruptions, %lu refills checked (%lu from a bad count), %lu objects handed out checked, %u held; %.1f s\n",
	       c_corruptions, c_refills, c_resets_seen, c_taken, n_out,
	       now() - t0);
	print_counts();
	heap_close(&C);
	EXPECT_EQ(0, failures) TH_LOG("%lu failed checks (seed %#llx)",
				      failures, seed);
	EXPECT_LT(0, c_refills);
}

/*
 * The harness's timeout is a constant: a long run (make fuzz) gets one in
 * proportion to its steps, the default stays a hang detector.
 */
static void __attribute__((constructor)) scale_timeouts(void)
{
	const char *c = getenv("GCH_FUZZ_CALLS");
	long calls = c ? strtol(c, NULL, 0) : 0;

	if (calls > 100000) {
		_fuzz_ioctls_object.timeout = 1200 * (calls / 100000 + 1);
		_fuzz_control_area_object.timeout = 1200 * (calls / 100000 + 1);
	}
}

TEST_HARNESS_MAIN
