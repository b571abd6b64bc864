// SPDX-License-Identifier: GPL-2.0
/*
 * Fault injection: every allocation the kernel makes for one operation on
 * a heap is made to fail, one at a time, with the per-task fail-nth knob
 * (Documentation/fault-injection/fault-injection.rst): fail-nth = n makes
 * the n-th failable allocation of this thread fail.  For n = 1, 2, ...
 * the operation either succeeds or fails cleanly (ENOMEM), the process
 * keeps running and the heap stays consistent and usable; the loop ends
 * at the first n the operation does not reach (fail-nth is still armed
 * afterwards).  Leaks show in the kmemleak scan the VM runner does on the
 * debug kernel.  Needs CONFIG_FAULT_INJECTION_DEBUG_FS, FAILSLAB and
 * FAIL_PAGE_ALLOC (the debug kernel); skips elsewhere.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/gcheap.h>

#include "kselftest_harness.h"
#include "raw_heap.h"

#define ARENA_SIZE	(16UL << 20)
#define FAIL_NTH	"/proc/thread-self/fail-nth"
#define DEBUGFS		"/sys/kernel/debug"
/* more than any operation here makes allocations: a loop that never ends */
#define MAX_NTH		2000

/* A span class of small objects (class 1, scanned). */
#define SC_SMALL	GCH_SPANCLASS(1, 0)

static int write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, val, strlen(val));
	close(fd);
	return n == (ssize_t)strlen(val) ? 0 : -1;
}

/*
 * Let fail-nth fail GFP_KERNEL slab and page allocations of any order,
 * quietly (the VM runner fails a run on console splats, and a failure we
 * inject is not one).  Return NULL or why it cannot be done.
 */
static const char *setup_fault_injection(void)
{
	static const char *const knobs[][2] = {
		{ DEBUGFS "/failslab/ignore-gfp-wait", "N" },
		{ DEBUGFS "/failslab/verbose", "0" },
		{ DEBUGFS "/fail_page_alloc/ignore-gfp-wait", "N" },
		{ DEBUGFS "/fail_page_alloc/ignore-gfp-highmem", "N" },
		{ DEBUGFS "/fail_page_alloc/min-order", "0" },
		{ DEBUGFS "/fail_page_alloc/verbose", "0" },
	};
	unsigned int i;

	if (access(FAIL_NTH, W_OK))
		return "no " FAIL_NTH " (kernel without CONFIG_FAULT_INJECTION)";
	if (access(DEBUGFS "/failslab", F_OK) ||
	    access(DEBUGFS "/fail_page_alloc", F_OK))
		return "no failslab/fail_page_alloc in debugfs (kernel without CONFIG_FAILSLAB, CONFIG_FAIL_PAGE_ALLOC or CONFIG_FAULT_INJECTION_DEBUG_FS, or debugfs not mounted)";
	for (i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++)
		if (write_file(knobs[i][0], knobs[i][1]))
			return "cannot configure the fault attributes in debugfs (not root?)";
	return NULL;
}

/* The calling thread's fail-nth, as a file kept open (opening allocates). */
static int nth_fd = -1;

static void arm(unsigned int n)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%u", n);

	if (pwrite(nth_fd, buf, len, 0) != len)
		abort();
}

/* Disarm; true if the armed fault was injected (fail-nth reached 0). */
static bool disarm(void)
{
	char buf[16] = "";
	bool fired;

	if (pread(nth_fd, buf, sizeof(buf) - 1, 0) <= 0)
		abort();
	fired = atoi(buf) == 0;
	arm(0);
	return fired;
}

/* A heap, configured and (if @map) mapped, without faults.  0 or -errno. */
static int heap_open(struct raw_heap *h, bool map)
{
	struct gch_heap_config cfg = { .arena_size = ARENA_SIZE };
	int err = raw_heap_configure(h, &cfg, O_CLOEXEC);

	if (err || !map)
		return err;
	return raw_heap_map(h, RAW_MAP_BOTH);
}

static int stats(struct raw_heap *h, struct gch_stats *st)
{
	memset(st, 0, sizeof(*st));
	return raw_ioc(h->fd, GCH_IOC_STATS, st, sizeof(*st));
}

static int collect(struct raw_heap *h, struct gch_collect *c)
{
	memset(c, 0, sizeof(*c));
	return raw_ioc(h->fd, GCH_IOC_COLLECT, c, sizeof(*c));
}

static int add_roots(struct raw_heap *h, void *p, size_t len)
{
	struct gch_roots r = {
		.op = GCH_ROOTS_ADD, .tag = 7,
		.addr = (uintptr_t)p, .len = len,
	};

	return raw_ioc(h->fd, GCH_IOC_ROOTS, &r, sizeof(r));
}

/* The heap's counters agree with each other.  NULL or what is wrong. */
static const char *stats_consistent(struct raw_heap *h)
{
	struct gch_stats st;
	__u64 spans = 0, c;

	if (stats(h, &st))
		return "GCH_IOC_STATS failed";
	if (st.nmalloc - st.nfree != st.objects)
		return "nmalloc - nfree != objects";
	if (st.inuse_bytes > st.mapped_bytes)
		return "inuse_bytes > mapped_bytes";
	if (st.mapped_bytes > st.arena_size)
		return "mapped_bytes > arena_size";
	for (c = 0; c < st.nr_classes && c < GCH_MAX_SIZE_CLASSES; c++)
		spans += st.classes[c].spans;
	if (spans != st.spans_inuse)
		return "class spans do not add up";
	if (st.objects && !st.metadata_bytes)
		return "objects but no metadata";
	return NULL;
}

/*
 * Rooted objects kept over the checks: a registered root range holds
 * pointers to them, each object holds a pattern derived from its address.
 */
#define NROOTED 64
static __u64 rooted[NROOTED];

static void fill(void *p, size_t len)
{
	__u64 *w = p;
	size_t i;

	for (i = 0; i < len / 8; i++)
		w[i] = (uintptr_t)p * 31 + i;
}

static bool check_fill(const void *p, size_t len)
{
	const __u64 *w = p;
	size_t i;

	for (i = 0; i < len / 8; i++)
		if (w[i] != (uintptr_t)p * 31 + i)
			return false;
	return true;
}

/* Size of the small objects of class 1 (16 bytes). */
#define SMALL	16

/*
 * The heap works: allocate (objects zeroed), root some, collect, the
 * rooted ones survive intact and the others are freed.  No faults armed.
 * NULL or what failed.
 */
static const char *heap_usable(struct raw_heap *h)
{
	static __u64 objs[256];
	struct gch_collect c;
	struct gch_stats st;
	const char *why;
	__u32 n, i;

	if (raw_refill_buf(h->fd, SC_SMALL, objs, 256, &n) || n != 256)
		return "refill after the fault failed";
	for (i = 0; i < n; i++) {
		const __u64 *o = (const __u64 *)(uintptr_t)objs[i];

		if (o[0] || o[1])
			return "a new object is not zeroed";
	}
	for (i = 0; i < NROOTED; i++) {
		rooted[i] = objs[i];
		fill((void *)(uintptr_t)rooted[i], SMALL);
	}
	memset(objs, 0, sizeof(objs));	/* the rest is garbage */
	if (add_roots(h, rooted, sizeof(rooted)))
		return "GCH_IOC_ROOTS failed";
	if (collect(h, &c) || !c.collected)
		return "collection after the fault failed";
	for (i = 0; i < NROOTED; i++)
		if (!check_fill((void *)(uintptr_t)rooted[i], SMALL))
			return "a rooted object lost its content";
	if (stats(h, &st))
		return "stats failed";
	/* conservative: a few garbage objects may be held by stray words */
	if (st.objects < NROOTED || c.info.objects_freed < 256 - NROOTED - 32)
		return "the collection did not free the garbage";
	why = stats_consistent(h);
	return why;
}

/* SIGBUS/SIGSEGV on a touch of heap memory is a failure, not a crash. */
static sigjmp_buf touch_env;

static void touch_fault(int sig)
{
	siglongjmp(touch_env, sig);
}

/* Read one byte of @p; 0 or the signal it raised. */
static int touch(volatile const char *p, char *out)
{
	struct sigaction sa = { .sa_handler = touch_fault }, obus, osegv;
	int sig;

	sigaction(SIGBUS, &sa, &obus);
	sigaction(SIGSEGV, &sa, &osegv);
	sig = sigsetjmp(touch_env, 1);
	if (!sig)
		*out = *p;
	sigaction(SIGBUS, &obus, NULL);
	sigaction(SIGSEGV, &osegv, NULL);
	return sig;
}

/* One operation under test, run with fail-nth armed: 0 or -errno. */
struct fault_op {
	const char *name;
	/* without faults, before the armed call; 0 or -errno */
	int (*prepare)(struct raw_heap *h);
	int (*run)(struct raw_heap *h);
	/* after a successful run, without faults: NULL or what is wrong */
	const char *(*after)(struct raw_heap *h);
	/* a fresh heap for every n (else one heap for the whole loop) */
	bool fresh;
	bool mapped;
};

/* ---- the operations ---------------------------------------------------- */

static int op_open(struct raw_heap *h)
{
	int fd = open(GCH_DEVICE_PATH, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

/* The configuration heap_open() made, again. */
static int op_configure(struct raw_heap *h)
{
	struct gch_heap_config cfg = { .arena_size = ARENA_SIZE };

	return raw_ioc(h->fd, GCH_IOC_CONFIGURE, &cfg, sizeof(cfg));
}

static int op_mmap_arena(struct raw_heap *h)
{
	return raw_heap_map(h, RAW_MAP_ARENA);
}

static int op_mmap_control(struct raw_heap *h)
{
	return raw_heap_map(h, RAW_MAP_CONTROL);
}

static int prep_arena(struct raw_heap *h)
{
	return raw_heap_map(h, RAW_MAP_ARENA);
}

/* Fault in a fresh control area page (the CPU's block is made then). */
static int op_fault_control(struct raw_heap *h)
{
	char c = 1;
	int sig = touch(h->control, &c);

	if (sig)
		return -1000 - sig;
	return c ? -EIO : 0;	/* fresh caches are zero */
}

static __u64 one_obj;

static int prep_arena_obj(struct raw_heap *h)
{
	__u32 n;
	int err = raw_refill_buf(h->fd, SC_SMALL, &one_obj, 1, &n);

	return err ?: (n == 1 ? 0 : -EIO);
}

static int op_fault_arena(struct raw_heap *h)
{
	char c = 1;
	int sig = touch((const char *)(uintptr_t)one_obj, &c);

	if (sig)
		return -1000 - sig;
	return c ? -EIO : 0;
}

static int op_refill_cache(struct raw_heap *h)
{
	struct gch_refill r;

	return raw_ioc_refill(h->fd, 0, SC_SMALL, NULL, 0, &r);
}

static const char *after_refill_cache(struct raw_heap *h)
{
	struct gch_stats st;

	if (stats(h, &st))
		return "stats failed";
	/* everything the refill took is in a cache */
	if (!st.objects || st.cached_objects != st.objects)
		return "refill's objects are not all in the cache";
	return NULL;
}

static int op_refill_buf(struct raw_heap *h)
{
	static __u64 buf[512];
	__u32 n;
	int err = raw_refill_buf(h->fd, GCH_SPANCLASS(3, 1), buf, 512, &n);

	return err ?: (n ? 0 : -EIO);
}

static __u64 large_obj;

static int op_alloc_large(struct raw_heap *h)
{
	struct gch_alloc a;
	int err;

	memset(&a, 0, sizeof(a));
	a.size = 256 << 10;
	err = raw_ioc(h->fd, GCH_IOC_ALLOC_LARGE, &a, sizeof(a));
	if (!err)
		large_obj = a.addr;
	return err;
}

static const char *after_alloc_large(struct raw_heap *h)
{
	const __u64 *p = (const __u64 *)(uintptr_t)large_obj;
	size_t i;

	for (i = 0; i < (256 << 10) / 8; i += 512)
		if (p[i])
			return "large object not zeroed";
	return NULL;
}

static int prep_large(struct raw_heap *h)
{
	int err = op_alloc_large(h);

	if (!err)
		memset((void *)(uintptr_t)large_obj, 0x5a, 256 << 10);
	return err;
}

static int op_free(struct raw_heap *h)
{
	struct gch_free f;

	memset(&f, 0, sizeof(f));
	f.addr = large_obj;
	return raw_ioc(h->fd, GCH_IOC_FREE, &f, sizeof(f));
}

static const char *after_free(struct raw_heap *h)
{
	struct gch_query q;

	memset(&q, 0, sizeof(q));
	q.addr = large_obj;
	if (raw_ioc(h->fd, GCH_IOC_QUERY, &q, sizeof(q)) != -ENOENT)
		return "the freed object is still allocated";
	return NULL;
}

/* Garbage and rooted objects for a collection. */
static __u64 gc_objs[1024];
static __u32 gc_nobjs;
/* two of the garbage objects, for finalizers and weak links */
static __u64 gc_spare[2];
static __u64 gc_objects_before;

static int prep_collect(struct raw_heap *h)
{
	struct gch_stats st;
	__u32 i;
	int err;

	err = raw_refill_buf(h->fd, SC_SMALL, gc_objs, 1024, &gc_nobjs);
	if (err)
		return err;
	for (i = 0; i < NROOTED; i++) {
		rooted[i] = gc_objs[i];
		fill((void *)(uintptr_t)rooted[i], SMALL);
	}
	err = add_roots(h, rooted, sizeof(rooted));
	if (err)
		return err;
	gc_spare[0] = gc_objs[NROOTED];
	gc_spare[1] = gc_objs[NROOTED + 1];
	memset(gc_objs, 0, sizeof(gc_objs));
	err = stats(h, &st);
	gc_objects_before = st.objects;
	return err;
}

/* The same, after one collection ran already (no more first-time setup). */
static int prep_collect_again(struct raw_heap *h)
{
	struct gch_collect c;
	int err = prep_collect(h);

	err = err ?: collect(h, &c);
	if (!err) {
		struct gch_stats st;

		/* what that collection left is the baseline */
		err = stats(h, &st);
		gc_objects_before = st.objects;
	}
	return err;
}

static int op_collect(struct raw_heap *h)
{
	struct gch_collect c;

	return collect(h, &c);
}

static const char *after_collect(struct raw_heap *h)
{
	unsigned int i;

	for (i = 0; i < NROOTED; i++)
		if (!check_fill((void *)(uintptr_t)rooted[i], SMALL))
			return "a rooted object lost its content";
	return NULL;
}

/* On a failed collection nothing may have been freed. */
static const char *failed_collect(struct raw_heap *h)
{
	struct gch_stats st;
	unsigned int i;

	if (stats(h, &st))
		return "stats failed";
	if (st.objects != gc_objects_before)
		return "a failed collection freed objects";
	/*
	 * The next collection, without a fault and without registering the
	 * roots again, keeps the rooted objects: the failure lost no root.
	 */
	if (op_collect(h))
		return "the collection after a failed one failed";
	for (i = 0; i < NROOTED; i++) {
		struct gch_query q;

		memset(&q, 0, sizeof(q));
		q.addr = rooted[i];
		if (raw_ioc(h->fd, GCH_IOC_QUERY, &q, sizeof(q)))
			return "a rooted object was freed after a failed collection";
	}
	return after_collect(h);
}

/* ---- finalizers and weak links ---- */

/* A weak link outside the arena; not a root (no range names it). */
static __u64 weak_link;

static int op_finalizer(struct raw_heap *h)
{
	struct gch_finalizer f;

	memset(&f, 0, sizeof(f));
	f.obj = large_obj;
	f.fn = 1;
	return raw_ioc(h->fd, GCH_IOC_FINALIZER, &f, sizeof(f));
}

static int op_weak(struct raw_heap *h)
{
	struct gch_weak w;

	memset(&w, 0, sizeof(w));
	w.link = (uintptr_t)&weak_link;
	w.obj = large_obj;
	return raw_ioc(h->fd, GCH_IOC_WEAK, &w, sizeof(w));
}

static const char *after_specials(struct raw_heap *h, __u64 fins, __u64 links)
{
	struct gch_stats st;

	if (stats(h, &st))
		return "stats failed";
	if (st.finalizers != fins || st.weak_links != links)
		return "the registration is not counted";
	return NULL;
}

static const char *after_finalizer(struct raw_heap *h)
{
	return after_specials(h, 1, 0);
}

/* With an order flag, in the struct with old_fn: none was registered. */
static int op_finalizer_flags(struct raw_heap *h)
{
	struct gch_finalizer f;
	int err;

	memset(&f, 0, sizeof(f));
	f.hdr.flags = GCH_FINALIZER_IGNORE_SELF;
	f.obj = large_obj;
	f.fn = 2;
	f.data = 3;
	err = raw_ioc(h->fd, GCH_IOC_FINALIZER, &f, sizeof(f));
	if (!err && (f.old_fn || f.old_data || f.hdr.size != sizeof(f)))
		return -EIO;
	return err;
}

static const char *after_weak(struct raw_heap *h)
{
	return after_specials(h, 0, 1);
}

/*
 * Where op_weak_move() moves weak_link's registration: into the large
 * object, far from weak_link, so that the table needs a new node.
 */
#define WEAK_LINK2	(large_obj + 4096)

static int prep_weak_move(struct raw_heap *h)
{
	return prep_large(h) ?: op_weak(h);
}

static int op_weak_move(struct raw_heap *h)
{
	struct gch_weak w;

	memset(&w, 0, sizeof(w));
	w.hdr.flags = GCH_WEAK_MOVE | GCH_WEAK_KIND;
	w.link = (uintptr_t)&weak_link;
	w.obj = WEAK_LINK2;
	return raw_ioc(h->fd, GCH_IOC_WEAK, &w, sizeof(w));
}

static const char *after_weak_move(struct raw_heap *h)
{
	struct gch_weak w;

	memset(&w, 0, sizeof(w));
	w.hdr.flags = GCH_WEAK_REMOVE;
	w.link = (uintptr_t)&weak_link;
	if (raw_ioc(h->fd, GCH_IOC_WEAK, &w, sizeof(w)) != -ENOENT)
		return "the link is still at its old address";
	w.link = WEAK_LINK2;
	if (raw_ioc(h->fd, GCH_IOC_WEAK, &w, sizeof(w)))
		return "the link is not at its new address";
	return after_specials(h, 0, 0);
}

/*
 * A collection with a finalizer on one garbage object and a weak link to
 * another: it queues the one and clears the link.
 */
static int prep_collect_specials(struct raw_heap *h)
{
	int err = prep_collect(h);

	large_obj = gc_spare[0];
	err = err ?: op_finalizer(h);
	weak_link = gc_spare[1];
	large_obj = gc_spare[1];
	return err ?: op_weak(h);
}

static const char *after_collect_specials(struct raw_heap *h)
{
	const char *why = after_collect(h);
	struct gch_stats st;

	if (why)
		return why;
	if (stats(h, &st))
		return "stats failed";
	if (st.finalizers || st.finalizers_ready != 1)
		return "the finalizer was not queued";
	if (st.weak_links || st.weak_cleared != 1 || weak_link)
		return "the weak link was not cleared";
	return NULL;
}

/*
 * A collection with a NO_ORDER finalizer on a garbage object that points
 * to another with an UNREACHABLE one: the first is queued, the other
 * waits (the extra marks of the finalizer phase).
 */
static int prep_collect_ordered(struct raw_heap *h)
{
	struct gch_finalizer f;
	int err = prep_collect(h);

	if (err)
		return err;
	*(__u64 *)(uintptr_t)gc_spare[0] = gc_spare[1];
	memset(&f, 0, sizeof(f));
	f.hdr.flags = GCH_FINALIZER_NO_ORDER;
	f.obj = gc_spare[0];
	f.fn = 1;
	err = raw_ioc(h->fd, GCH_IOC_FINALIZER, &f, sizeof(f));
	memset(&f, 0, sizeof(f));
	f.hdr.flags = GCH_FINALIZER_UNREACHABLE;
	f.obj = gc_spare[1];
	f.fn = 1;
	return err ?: raw_ioc(h->fd, GCH_IOC_FINALIZER, &f, sizeof(f));
}

static const char *after_collect_ordered(struct raw_heap *h)
{
	const char *why = after_collect(h);
	struct gch_stats st;

	if (why)
		return why;
	if (stats(h, &st))
		return "stats failed";
	if (st.finalizers_ready != 1 || st.finalizers != 1 ||
	    st.finalizers_waiting != 1)
		return "not the NO_ORDER object queued and the UNREACHABLE one waiting";
	return NULL;
}

static struct gch_fin_ready fin_got[4];

static int prep_fin_take(struct raw_heap *h)
{
	struct gch_collect c;
	int err = prep_collect_specials(h);

	return err ?: collect(h, &c);
}

static int op_fin_take(struct raw_heap *h)
{
	struct gch_fin_take t;

	memset(&t, 0, sizeof(t));
	memset(fin_got, 0, sizeof(fin_got));
	t.buf = (uintptr_t)fin_got;
	t.max = 4;
	return raw_ioc(h->fd, GCH_IOC_FIN_TAKE, &t, sizeof(t));
}

static const char *after_fin_take(struct raw_heap *h)
{
	struct gch_stats st;

	if (stats(h, &st))
		return "stats failed";
	if (st.finalizers_ready || fin_got[0].obj != gc_spare[0] ||
	    fin_got[0].fn != 1)
		return "the queued finalizer was not handed out";
	return NULL;
}

static int op_roots(struct raw_heap *h)
{
	static __u64 range[16];

	return add_roots(h, range, sizeof(range));
}

static int prep_history(struct raw_heap *h)
{
	struct gch_collect c;
	int i, err = 0;

	for (i = 0; i < 3 && !err; i++)
		err = collect(h, &c);
	return err;
}

static int op_gc_stats(struct raw_heap *h)
{
	static struct gch_gc_info hist[8];
	struct gch_gc_stats st;
	int err;

	memset(&st, 0, sizeof(st));
	st.history = (uintptr_t)hist;
	st.history_max = 8;
	err = raw_ioc(h->fd, GCH_IOC_GC_STATS, &st, sizeof(st));
	if (!err && (st.num_gc != 3 || st.history_count != 3 ||
		     hist[2].gc_number != 3))
		return -EIO;
	return err;
}

static int op_stats(struct raw_heap *h)
{
	struct gch_stats st;

	return stats(h, &st);
}

static int op_close(struct raw_heap *h)
{
	int err = 0;

	/* munmap may need memory (splitting nothing, but the VMA tree) */
	if (munmap(h->arena, h->arena_size))
		err = -errno;
	else
		h->arena = NULL;
	if (munmap(h->control, h->control_size))
		err = err ?: -errno;
	else
		h->control = NULL;
	if (close(h->fd))
		err = err ?: -errno;
	h->fd = -1;
	return err;
}

/* a stand-in for the heap after close: a new one must work */
static const char *after_close(struct raw_heap *h)
{
	struct raw_heap n;
	const char *why;

	if (heap_open(&n, true))
		return "a new heap after close failed";
	why = heap_usable(&n);
	raw_heap_close(&n);
	return why;
}

/* ---- the loop ----------------------------------------------------------- */

/* Other threads of the process, blocked, for the collection to stop. */
static int block_pipe[2];

static void *blocker(void *arg)
{
	char c;

	while (read(block_pipe[0], &c, 1) < 0 && errno == EINTR)
		;
	return NULL;
}

static void wake_handler(int sig)
{
	(void)sig;
}

/*
 * A collection leaves a park queued on each blocker, holding a reference
 * on the heap's file until that thread returns to user mode (kmod/stw.c):
 * every heap an operation collected stays open, and counts against
 * max_heaps_per_user (256), until then.  A signal (no SA_RESTART) brings
 * the blockers out of read() for a moment, so the heaps closed so far go.
 */
static void wake_blockers(const pthread_t *threads, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		pthread_kill(threads[i], SIGUSR1);
}

/*
 * Run @op with fail-nth = 1, 2, ... until it no longer reaches the fault.
 * Every failure must be ENOMEM; a heap that failed an operation must still
 * be usable.  Return the number of faults injected, or -1 (logged).
 */
static int fault_loop(struct __test_metadata *_metadata,
		      const struct fault_op *op, int *failures)
{
	struct raw_heap h = { .fd = -1 };
	const char *why = NULL;
	unsigned int n;
	int injected = 0, err;
	bool fired;

	*failures = 0;
	for (n = 1; n <= MAX_NTH; n++) {
		if (op->fresh || n == 1) {
			if (n > 1)
				raw_heap_close(&h);
			err = heap_open(&h, op->mapped);
			if (!err && op->prepare)
				err = op->prepare(&h);
			if (err) {
				TH_LOG("%s: setup without faults failed: %s",
				       op->name, strerror(-err));
				return -1;
			}
		}
		arm(n);
		err = op->run(&h);
		fired = disarm();
		if (!fired) {
			/* it did not get as far as the n-th allocation */
			if (err) {
				TH_LOG("%s: failed without a fault: %d", op->name,
				       err);
				return -1;
			}
			why = op->after ? op->after(&h) : NULL;
			if (!why && op->run != op_close)
				why = stats_consistent(&h);
			if (!why && op->mapped && op->run != op_close)
				why = heap_usable(&h);
			if (why) {
				TH_LOG("%s: after the last run: %s", op->name,
				       why);
				return -1;
			}
			raw_heap_close(&h);
			return injected;
		}
		injected++;
		if (err && err != -ENOMEM) {
			TH_LOG("%s: fault %u gave %d (%s), not ENOMEM", op->name,
			       n, err, err > -1000 ? strerror(-err) : "signal");
			raw_heap_close(&h);
			return -1;
		}
		if (err)
			(*failures)++;
		if (op->run == op_close || op->run == op_open)
			why = after_close(&h);
		else if (err && op->run == op_collect)
			why = failed_collect(&h);
		else if (!err && op->after)
			why = op->after(&h);
		if (!why && h.fd >= 0 && h.arena)
			why = stats_consistent(&h);
		if (!why && err && (op->run == op_mmap_arena ||
				    op->run == op_mmap_control)) {
			/* a failed mmap leaves the heap as it was: retry */
			if (op->run(&h))
				why = "mmap again after a failed one failed";
		}
		if (why) {
			TH_LOG("%s: fault %u (%s): %s", op->name, n,
			       err ? strerror(-err) : "succeeded", why);
			raw_heap_close(&h);
			return -1;
		}
		if (op->fresh && op->mapped && h.fd >= 0 && n % 8 == 1) {
			/* now and then, the whole heap: allocate, collect */
			why = heap_usable(&h);
			if (why) {
				TH_LOG("%s: fault %u: heap unusable: %s",
				       op->name, n, why);
				raw_heap_close(&h);
				return -1;
			}
		}
	}
	TH_LOG("%s: still reaching fault %u: endless?", op->name, n);
	raw_heap_close(&h);
	return -1;
}

static const struct fault_op ops[] = {
	{ "open", NULL, op_open, NULL, false, false },
	{ "CONFIGURE", NULL, op_configure, NULL, true, false },
	{ "mmap arena", NULL, op_mmap_arena, NULL, true, false },
	{ "mmap control", prep_arena, op_mmap_control, NULL, true, false },
	{ "fault control page", NULL, op_fault_control, NULL, true, true },
	{ "fault arena page", prep_arena_obj, op_fault_arena, NULL, true, true },
	{ "REFILL cache", NULL, op_refill_cache, after_refill_cache, true, true },
	{ "REFILL buffer", NULL, op_refill_buf, NULL, true, true },
	{ "ALLOC_LARGE", NULL, op_alloc_large, after_alloc_large, true, true },
	{ "FREE", prep_large, op_free, after_free, true, true },
	{ "COLLECT first", prep_collect, op_collect, after_collect, true, true },
	{ "COLLECT again", prep_collect_again, op_collect, after_collect, true, true },
	{ "ROOTS", NULL, op_roots, NULL, true, true },
	{ "FINALIZER", prep_large, op_finalizer, after_finalizer, true, true },
	{ "WEAK", prep_large, op_weak, after_weak, true, true },
	{ "FINALIZER flags", prep_large, op_finalizer_flags,
	  after_finalizer, true, true },
	{ "WEAK MOVE", prep_weak_move, op_weak_move, after_weak_move, true, true },
	{ "COLLECT specials", prep_collect_specials, op_collect,
	  after_collect_specials, true, true },
	{ "COLLECT ordered", prep_collect_ordered, op_collect,
	  after_collect_ordered, true, true },
	{ "FIN_TAKE", prep_fin_take, op_fin_take, after_fin_take, true, true },
	{ "GC_STATS", prep_history, op_gc_stats, NULL, true, true },
	{ "STATS", NULL, op_stats, NULL, true, true },
	{ "close", NULL, op_close, NULL, true, true },
};

/*
 * The harness's default 30 s is too short for all of it on the debug
 * kernel under TCG (about 31 s for the operations up to WEAK alone).
 */
FIXTURE(fault) {
	int unused;
};

FIXTURE_SETUP(fault)
{
}

FIXTURE_TEARDOWN(fault)
{
}

TEST_F_TIMEOUT(fault, every_allocation_fails_once, 300)
{
	pthread_t threads[2];
	const char *why;
	unsigned int i, total = 0;
	int injected, failures, bad = 0;

	why = setup_fault_injection();
	if (why)
		SKIP(return, "%s", why);
	nth_fd = open(FAIL_NTH, O_RDWR);
	ASSERT_LE(0, nth_fd);
	/* a collection stops these too: its per-thread paths are covered */
	ASSERT_EQ(0, sigaction(SIGUSR1, &(struct sigaction){ .sa_handler = wake_handler },
			       NULL));
	ASSERT_EQ(0, pipe(block_pipe));
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_create(&threads[i], NULL, blocker, NULL));

	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		injected = fault_loop(_metadata, &ops[i], &failures);
		wake_blockers(threads, 2);
		if (injected < 0) {
			bad++;
			continue;
		}
		/* TAP diagnostics: the figures for Documentation/ */
		printf("# %-20s %4d faults injected, %4d gave ENOMEM\n",
		       ops[i].name, injected, failures);
		total += injected;
	}
	printf("# total: %u faults injected\n", total);
	EXPECT_EQ(0, bad);
	/* the heap machinery reached the allocator at all: no silent pass */
	EXPECT_LT(20, total);

	close(block_pipe[1]);
	for (i = 0; i < 2; i++)
		pthread_join(threads[i], NULL);
	close(nth_fd);
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
