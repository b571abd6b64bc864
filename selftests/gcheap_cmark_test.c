// SPDX-License-Identifier: GPL-2.0
/*
 * Writes, forks, unmaps and deaths while a collection marks.
 *
 * With concurrent_mark=1 the program runs between the two stops of a
 * collection, and the mark relies on the arena's PTE dirty bits and on
 * PG_dirty to see what was written meanwhile.  These tests do what a
 * program may do in that window and check that nothing reachable is lost
 * (STW mode runs the same tests: the same invariants, without the race).
 *
 * The graph: 64 chains of 240-byte nodes (a few MiB, so a mark takes a
 * while), each node with two slots; half the slots hold a payload (its
 * index, a key of the seed, a leaf).  A payload sits in exactly one slot.
 * A mover copies a payload's pointer from one slot into an empty one and
 * then erases the first: the classic hazard, the only pointer to a white
 * object copied from an unscanned object into a scanned one, but with the
 * store done by the kernel.  The mover's registers and stack hold slot
 * addresses only, never the payload's, so a register cannot keep a
 * payload alive and hide a miss.  At every instant the payload is in a
 * slot (the copy lands before the erase), so a stop at any point must find
 * it.  After every round the mover parks and every slot, payload and leaf
 * is checked: contents, an allocated object's start (gch_base()), every
 * payload found once.
 *
 *  - read_into_heap_during_mark: the copy goes through a pipe: write()
 *    from the source slot, read() into the destination (copy_to_user()
 *    through the program's PTEs).
 *  - process_vm_writev_during_mark: process_vm_writev() to the own pid:
 *    the write goes through get_user_pages(), not the user PTE; only
 *    PG_dirty shows it.
 *  - process_vm_writev_from_child_during_mark: a helper child reads the
 *    slot with process_vm_readv() and writes it into the parent with
 *    process_vm_writev(): another mm pins the page.
 *  - fork_during_mark: a thread forks again and again while another moves
 *    payloads with plain stores; fork write-protects the parent's private
 *    pages and walks its mappings during the mark.  Each child must not
 *    see the parent's objects (the arena is not inherited, or wiped) and
 *    must get EPERM from the library; it exits 0.
 *  - munmap_arena_during_mark, map_fixed_over_arena_during_mark,
 *    map_fixed_page_during_mark: a child with a big graph collects in a
 *    loop while its main thread unmaps the arena, maps over all of it, or
 *    maps over one page, at a random time in a collection.  Collections
 *    succeed or fail with a documented errno; once the arena is gone a
 *    collection fails with ENXIO; memory mapped over it reads zero; a
 *    partial overlay is refused and leaves the graph intact.  Nothing may
 *    oops (the VM runner checks the console).
 *  - killed_during_mark, exit_during_mark: a child collecting in a loop is
 *    SIGKILLed, or another of its threads calls exit_group(0), at a random
 *    time in a collection.  The status must be the expected one, every
 *    heap must go (the module's refcnt falls back: each open heap holds
 *    it), and a new heap must still open and collect.
 *
 * GCH_CMARK_BUG=1 (or a number of microseconds; 1 is 20 ms) makes the
 * movers erase the source before the copy lands, the pointer kept in the
 * pipe, in the helper, or hidden, across a sleep: a stop in that window
 * loses the payload, and the hazard tests must report it, in either mode.
 * How many collections overlapped the operations is printed, never judged.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/gcheap.h>

#include "gcheap.h"
#include "kselftest_harness.h"
#include "test_util.h"
#include "hidden_ptr.h"
#include "raw_heap.h"

#define noinline	__attribute__((noinline))

#define EXITED_WITH(status, code) \
	(WIFEXITED(status) && WEXITSTATUS(status) == (code))

#define NCHAINS		64
#define CHAIN_LEN	256	/* nodes per chain: 4 MiB of nodes */
#define CHAIN_LEN_DEBUG	64	/* the debug kernel marks 10-20 times slower */
#define NSLOT		2
#define NODE_FILL	25
#define COLLECTS	3	/* collections per round */
#define BUG_WINDOW_US	20000	/* GCH_CMARK_BUG: the pointer out of the heap */
#define CHILD_TIMEOUT_MS	60000

struct leaf {
	uint64_t idx;
	uint64_t key;
	uint64_t check;
};

struct payload {
	uint64_t idx;
	uint64_t key;
	struct leaf *leaf;
	uint64_t fill[4];
};

struct node {
	struct node *next;
	void *slot[NSLOT];
	uint64_t idx;
	uint64_t key;
	uint64_t fill[NODE_FILL];
};

/* The graph's only root (.bss). */
static struct node *heads[NCHAINS];

/*
 * The test's view of the graph, in malloc() memory (not a root): node
 * addresses (alive anyway), which slots the mover filled, and the
 * payloads' addresses hidden.
 */
struct graph {
	unsigned int len;
	unsigned int nnodes;
	unsigned int nslots;
	unsigned int npay;
	uint64_t seed;
	struct node **nodes;
	uint8_t *full;
	uintptr_t *hidden;
	uint8_t *seen;
};

static bool debug_kernel(void)
{
	return !access("/proc/lockdep", F_OK) ||
	       !access("/sys/kernel/debug/kmemleak", F_OK);
}

static unsigned int chain_len(void)
{
	return debug_kernel() ? CHAIN_LEN_DEBUG : CHAIN_LEN;
}

/* Seconds a test's loop may take (GCH_CMARK_SECONDS, default 20). */
static uint64_t budget_ns(void)
{
	const char *s = getenv("GCH_CMARK_SECONDS");
	unsigned long v = s ? strtoul(s, NULL, 10) : 0;

	return (v ? v : 20) * NSEC;
}

/*
 * GCH_CMARK_BUG: 0 (unset), else how many microseconds the movers keep
 * the pointer out of the heap: "1" is BUG_WINDOW_US, long enough for a
 * concurrent mark's final stop to come while a payload the mark had not
 * reached yet is out.
 */
static unsigned int bug_window_us(void)
{
	const char *s = getenv("GCH_CMARK_BUG");
	unsigned long v = s ? strtoul(s, NULL, 10) : 0;

	return v == 1 ? BUG_WINDOW_US : v;
}

static uint64_t node_key(const struct graph *g, uint64_t i)
{
	return key_of(g->seed, i);
}

static uint64_t pay_key(const struct graph *g, uint64_t i)
{
	return key_of(g->seed ^ 0x9a11, i);
}

static uint64_t leaf_key(const struct graph *g, uint64_t i)
{
	return key_of(g->seed ^ 0x1eaf, i);
}

static void **slot_at(const struct graph *g, unsigned int s)
{
	return &g->nodes[s / NSLOT]->slot[s % NSLOT];
}

static void gheap_init(void)
{
	struct gch_config cfg = { .gc_percent = GCH_GC_PERCENT_OFF };

	unsetenv("GCHEAP_GOGC");
	unsetenv("GCHEAP_MAX_HEAP");
	unsetenv("GCHEAP_NO_RSEQ");
	gch_init(&cfg);
}

/*
 * Build the graph: chains from heads[], payloads in half the slots.  Its
 * frame dies before anything collects; 0 or -1.
 */
static noinline int graph_build(struct graph *g, unsigned int len, uint64_t seed)
{
	struct node *n, *prev;
	struct payload *p;
	unsigned int c, k, i, s, j;

	memset(g, 0, sizeof(*g));
	g->len = len;
	g->nnodes = NCHAINS * len;
	g->nslots = g->nnodes * NSLOT;
	g->npay = g->nslots / 2;
	g->seed = seed;
	g->nodes = calloc(g->nnodes, sizeof(*g->nodes));
	g->full = calloc(g->nslots, 1);
	g->hidden = calloc(g->npay, sizeof(*g->hidden));
	g->seen = calloc(g->npay, 1);
	if (!g->nodes || !g->full || !g->hidden || !g->seen)
		return -1;
	for (c = 0; c < NCHAINS; c++) {
		prev = NULL;
		for (k = 0; k < len; k++) {
			i = c * len + k;
			n = gch_malloc(sizeof(*n));
			if (!n)
				return -1;
			n->idx = i;
			n->key = node_key(g, i);
			for (j = 0; j < NODE_FILL; j++)
				n->fill[j] = key_of(n->key, j);
			g->nodes[i] = n;
			if (prev)
				prev->next = n;
			else
				heads[c] = n;
			prev = n;
		}
	}
	for (i = 0; i < g->npay; i++) {
		p = gch_malloc(sizeof(*p));
		if (!p)
			return -1;
		p->leaf = gch_malloc(sizeof(*p->leaf));
		if (!p->leaf)
			return -1;
		p->idx = i;
		p->key = pay_key(g, i);
		for (j = 0; j < 4; j++)
			p->fill[j] = key_of(p->key, j);
		p->leaf->idx = i;
		p->leaf->key = leaf_key(g, i);
		p->leaf->check = ~p->leaf->key;
		for (s = mix64(seed + i) % g->nslots; g->full[s];
		     s = (s + 1) % g->nslots)
			;
		*slot_at(g, s) = p;
		g->full[s] = 1;
		g->hidden[i] = hide(p);
	}
	return 0;
}

#define VFAIL(...) do {							\
	if (!errs++)							\
		snprintf(why, len, __VA_ARGS__);			\
} while (0)

/*
 * Check the whole graph; with @nodes_too also that every node is an
 * allocated object.  Return: the number of problems (the first in @why);
 * *@lost: payloads not allocated any more.
 */
static noinline unsigned int graph_verify(struct graph *g, bool nodes_too,
					  unsigned int *lost, char *why,
					  size_t len)
{
	unsigned int c, k, i, s, j, errs = 0;
	struct payload *p;
	struct node *n;

	*lost = 0;
	memset(g->seen, 0, g->npay);
	for (c = 0; c < NCHAINS; c++) {
		n = heads[c];
		for (k = 0; n && k < g->len; k++, n = n->next) {
			i = c * g->len + k;
			if (n != g->nodes[i]) {
				VFAIL("chain %u: node %u is %p, not %p", c, k,
				      (void *)n, (void *)g->nodes[i]);
				break;
			}
			if (nodes_too && gch_base(n) != n)
				VFAIL("node %u is not an allocated object", i);
			if (n->idx != i || n->key != node_key(g, i)) {
				VFAIL("node %u: index %llu key %#llx", i,
				      (unsigned long long)n->idx,
				      (unsigned long long)n->key);
				break;
			}
			for (j = 0; j < NODE_FILL; j++)
				if (n->fill[j] != key_of(n->key, j))
					break;
			if (j < NODE_FILL)
				VFAIL("node %u: word %u overwritten", i, j);
		}
		if (k != g->len || n)
			VFAIL("chain %u: %u nodes, not %u", c, k, g->len);
	}
	if (errs)
		return errs;	/* slot_at() needs the nodes */
	for (s = 0; s < g->nslots; s++) {
		p = *slot_at(g, s);
		if (!p != !g->full[s]) {
			VFAIL("slot %u holds %p, the mover left it %s", s,
			      (void *)p, g->full[s] ? "full" : "empty");
			continue;
		}
		if (!p)
			continue;
		if (gch_base(p) != p) {
			VFAIL("slot %u: payload %p is not an allocated object (lost)",
			      s, (void *)p);
			(*lost)++;
			continue;
		}
		if (p->idx >= g->npay || p->key != pay_key(g, p->idx)) {
			VFAIL("slot %u: payload %p holds index %llu key %#llx",
			      s, (void *)p, (unsigned long long)p->idx,
			      (unsigned long long)p->key);
			continue;
		}
		if (g->seen[p->idx]++) {
			VFAIL("payload %llu is in two slots",
			      (unsigned long long)p->idx);
			continue;
		}
		for (j = 0; j < 4; j++)
			if (p->fill[j] != key_of(p->key, j))
				break;
		if (j < 4)
			VFAIL("payload %llu: word %u overwritten",
			      (unsigned long long)p->idx, j);
		if (gch_base(p->leaf) != p->leaf) {
			VFAIL("payload %llu: its leaf is not an allocated object (lost)",
			      (unsigned long long)p->idx);
			(*lost)++;
		} else if (p->leaf->idx != p->idx ||
			   p->leaf->key != leaf_key(g, p->idx) ||
			   p->leaf->check != ~p->leaf->key) {
			VFAIL("payload %llu: leaf overwritten",
			      (unsigned long long)p->idx);
		}
	}
	for (i = 0; i < g->npay; i++) {
		if (g->seen[i])
			continue;
		if (!is_allocated(g->hidden[i])) {
			VFAIL("payload %u is in no slot and not allocated (lost)", i);
			(*lost)++;
		} else {
			VFAIL("payload %u is in no slot", i);
		}
	}
	return errs;
}

/* --- the movers -------------------------------------------------------- */

enum move_how { MOVE_PIPE, MOVE_VMW_SELF, MOVE_VMW_CHILD, MOVE_STORE };

struct helper_req {
	uint64_t addr;	/* the parent's slot to read (phase 1) or write (2) */
	int phase;
};

/*
 * A thread that moves payloads, or forks, until parked.  The main thread
 * parks it with @go 0 and a new @epoch, and waits for @parked == @epoch.
 */
struct actor {
	struct graph *g;
	enum move_how how;
	unsigned int bug;	/* GCH_CMARK_BUG: the window, us */
	bool forker;
	int go;			/* 1 run, 0 park, -1 exit */
	int epoch;
	int parked;
	uint64_t ops;		/* moves or forks done */
	uint64_t rng;
	int pfd[2];		/* MOVE_PIPE; the forker's children's pipe */
	int req[2], rep[2];	/* MOVE_VMW_CHILD: to and from the helper */
	pid_t helper;
	void **stash;		/* GCH_CMARK_BUG: a word no collection reads */
	int failed;
	char msg[256];
};

#define actor_fail(a, ...) \
	shared_fail(&(a)->failed, (a)->msg, sizeof((a)->msg), -1, __VA_ARGS__)

static unsigned int pick(struct actor *a, unsigned int n)
{
	a->rng = mix64(a->rng);
	return a->rng % n;
}

/* A random slot that is full (@want 1) or empty (0). */
static unsigned int pick_slot(struct actor *a, int want)
{
	unsigned int s;

	do
		s = pick(a, a->g->nslots);
	while (a->g->full[s] != want);
	return s;
}

static void erase(void **slot)
{
	*(void *volatile *)slot = NULL;
}

static int helper_call(struct actor *a, void **slot, int phase)
{
	struct helper_req r = { .addr = (uintptr_t)slot, .phase = phase };
	int res;

	if (write(a->req[1], &r, sizeof(r)) != sizeof(r) ||
	    read(a->rep[0], &res, sizeof(res)) != sizeof(res))
		return EPIPE;
	return res;
}

/* Copy the pointer in *@src into *@dst, then erase *@src; 0 or -1. */
static noinline int move_one(struct actor *a, void **src, void **dst)
{
	struct iovec l = { .iov_base = src, .iov_len = 8 };
	struct iovec r = { .iov_base = dst, .iov_len = 8 };
	struct iovec st = { .iov_base = a->stash, .iov_len = 8 };
	int e;

	switch (a->how) {
	case MOVE_PIPE:
		if (write(a->pfd[1], src, 8) != 8)
			return actor_fail(a, "write to the pipe: %s", strerror(errno));
		if (a->bug) {
			erase(src);
			usleep(a->bug);
		}
		if (read(a->pfd[0], dst, 8) != 8)
			return actor_fail(a, "read from the pipe: %s", strerror(errno));
		break;
	case MOVE_VMW_SELF:
		if (a->bug) {
			r.iov_base = src;
			if (process_vm_readv(getpid(), &st, 1, &r, 1, 0) != 8)
				return actor_fail(a, "process_vm_readv: %s",
						  strerror(errno));
			erase(src);
			usleep(a->bug);
			l = st;
			r.iov_base = dst;
		}
		if (process_vm_writev(getpid(), &l, 1, &r, 1, 0) != 8)
			return actor_fail(a, "process_vm_writev: %s", strerror(errno));
		break;
	case MOVE_VMW_CHILD:
		e = helper_call(a, src, 1);
		if (e)
			return actor_fail(a, "helper's process_vm_readv: %s", strerror(e));
		if (a->bug) {
			erase(src);
			usleep(a->bug);
		}
		e = helper_call(a, dst, 2);
		if (e)
			return actor_fail(a, "helper's process_vm_writev: %s", strerror(e));
		break;
	case MOVE_STORE:
		if (a->bug) {
			*a->stash = (void *)load_slot(src);
			erase(src);
			usleep(a->bug);
			store_slot(dst, (uintptr_t)*a->stash);
		} else {
			*(void *volatile *)dst = *(void *volatile *)src;
		}
		break;
	}
	erase(src);
	return 0;
}

/*
 * The helper child: reads a slot of the parent (phase 1), writes what it
 * read into another (phase 2), until the request pipe closes.
 */
static noinline void helper_run(struct actor *a, pid_t parent)
{
	struct helper_req r;
	uint64_t val = 0;
	struct iovec l = { .iov_base = &val, .iov_len = 8 };
	struct iovec rem = { .iov_len = 8 };
	ssize_t n;
	int res;

	close(a->req[1]);
	close(a->rep[0]);
	while (read(a->req[0], &r, sizeof(r)) == sizeof(r)) {
		rem.iov_base = (void *)(uintptr_t)r.addr;
		if (r.phase == 1)
			n = process_vm_readv(parent, &l, 1, &rem, 1, 0);
		else
			n = process_vm_writev(parent, &l, 1, &rem, 1, 0);
		res = n == 8 ? 0 : n < 0 ? errno : EIO;
		if (write(a->rep[1], &res, sizeof(res)) != sizeof(res))
			break;
	}
	_exit(0);
}

/*
 * A forked child: the library refuses it, and the parent's objects are
 * not in its address space (or read as zero).  Exit status: bit 0 the
 * library did not refuse, bit 1 it read a parent's node, bit 2 the read
 * failed otherwise than EFAULT.
 */
static noinline void fork_child(struct actor *a, const uint64_t *keyp,
				uint64_t key)
{
	uint64_t v = 0;
	int bad = 0;
	ssize_t n;

	errno = 0;
	if (gch_malloc(16) || errno != EPERM)
		bad |= 1;
	n = write(a->pfd[1], keyp, 8);
	if (n == 8) {
		if (read(a->pfd[0], &v, 8) != 8 || v == key)
			bad |= 2;
	} else if (errno != EFAULT) {
		bad |= 4;
	}
	_exit(bad);
}

/* One fork; 0 or -1. */
static noinline int fork_one(struct actor *a)
{
	unsigned int i = pick(a, a->g->nnodes);
	const uint64_t *keyp = &a->g->nodes[i]->key;
	uint64_t key = node_key(a->g, i);
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return actor_fail(a, "fork: %s", strerror(errno));
	if (!pid)
		fork_child(a, keyp, key);
	if (wait_timeout(pid, &status, 0, CHILD_TIMEOUT_MS) != pid) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return actor_fail(a, "a forked child did not exit in %d ms",
				  CHILD_TIMEOUT_MS);
	}
	if (!EXITED_WITH(status, 0))
		return actor_fail(a, "forked child: status %#x (exit 1: no EPERM, 2: it read the parent's node, 4: the read failed otherwise)",
				  status);
	return 0;
}

static void *actor_run(void *arg)
{
	struct actor *a = arg;
	unsigned int s, d;
	int e, go;

	for (;;) {
		e = __atomic_load_n(&a->epoch, __ATOMIC_ACQUIRE);
		go = __atomic_load_n(&a->go, __ATOMIC_ACQUIRE);
		if (go < 0)
			break;
		if (!go || a->failed) {
			__atomic_store_n(&a->parked, e, __ATOMIC_RELEASE);
			usleep(200);
			continue;
		}
		if (a->forker) {
			if (fork_one(a))
				continue;
		} else {
			s = pick_slot(a, 1);
			d = pick_slot(a, 0);
			if (move_one(a, slot_at(a->g, s), slot_at(a->g, d)))
				continue;
			a->g->full[s] = 0;
			a->g->full[d] = 1;
		}
		__atomic_add_fetch(&a->ops, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void actor_go(struct actor *a)
{
	__atomic_store_n(&a->go, 1, __ATOMIC_RELEASE);
}

/* Park @a; false if it does not within 30 s. */
static bool actor_park(struct actor *a)
{
	int e;

	__atomic_store_n(&a->go, 0, __ATOMIC_RELEASE);
	e = __atomic_add_fetch(&a->epoch, 1, __ATOMIC_RELEASE);
	return wait_for(&a->parked, e, 30000);
}

/* --- the hazard tests ---------------------------------------------------- */

FIXTURE(cm) {
	pid_t child;	/* killed at teardown if a test leaves it behind */
};

FIXTURE_SETUP(cm)
{
	self->child = 0;
}

FIXTURE_TEARDOWN(cm)
{
	if (self->child > 0) {
		kill(self->child, SIGKILL);
		waitpid(self->child, NULL, 0);
	}
}

/* Mean mark time of the last @n collections, in us. */
static uint64_t mark_us(unsigned int n)
{
	struct gch_collection c[256];
	uint64_t sum = 0;
	int got, i;

	got = gch_collections(c, 256);
	if (got <= 0 || !n)
		return 0;
	for (i = got > (int)n ? got - (int)n : 0; i < got; i++)
		sum += c[i].mark_ns;
	return sum / (got > (int)n ? n : (unsigned int)got) / 1000;
}

/*
 * Rounds of: the actors run while this thread collects COLLECTS times
 * (garbage between), the actors park, the graph is checked.  @na actors.
 */
static void hazard_run(struct __test_metadata *_metadata, struct graph *g,
		       struct actor *act, unsigned int na, const char *what)
{
	uint64_t t0 = now_ns(), end = t0 + budget_ns(), before, ops = 0;
	unsigned int round, k, i, errs = 0, lost = 0, ncoll = 0, overlap = 0;
	unsigned int retries = 0;
	pthread_t th[2];
	char why[256] = "";
	int r;

	ASSERT_LE(na, 2);
	scrub();
	for (i = 0; i < na; i++)
		ASSERT_EQ(0, pthread_create(&th[i], NULL, actor_run, &act[i]));
	for (round = 0; round < 200 && (round < 3 || now_ns() < end); round++) {
		for (i = 0; i < na; i++)
			actor_go(&act[i]);
		for (k = 0; k < COLLECTS; k++) {
			before = 0;
			for (i = 0; i < na; i++)
				before += __atomic_load_n(&act[i].ops, __ATOMIC_RELAXED);
			scrub();
			r = gch_collect();
			if (r && (errno == EAGAIN || errno == EINTR)) {
				retries++;
				continue;
			}
			ASSERT_EQ(0, r) TH_LOG("%s: gch_collect: %s", what, strerror(errno));
			ncoll++;
			for (i = 0; i < na; i++)
				before -= __atomic_load_n(&act[i].ops, __ATOMIC_RELAXED);
			if (before)
				overlap++;
			ASSERT_EQ(0, churn(300, round * COLLECTS + k));
		}
		for (i = 0; i < na; i++)
			ASSERT_TRUE(actor_park(&act[i]))
				TH_LOG("%s: actor %u does not park", what, i);
		for (i = 0; i < na; i++)
			ASSERT_EQ(0, act[i].failed) TH_LOG("%s: %s", what, act[i].msg);
		errs = graph_verify(g, false, &lost, why, sizeof(why));
		if (errs)
			break;
	}
	for (i = 0; i < na; i++) {
		ops += act[i].ops;
		__atomic_store_n(&act[i].go, -1, __ATOMIC_RELEASE);
		pthread_join(th[i], NULL);
	}
	TH_LOG("%s (%s mark%s): %u rounds, %u collections, %u of them overlapping operations; %llu moves%s, %llu forks; mean mark %llu us; %u retried; %.1f s",
	       what, concurrent_mark_on() ? "concurrent" : "stop-the-world",
	       act[0].bug ? ", GCH_CMARK_BUG" : "", round, ncoll, overlap,
	       (unsigned long long)(ops - (na > 1 ? act[1].ops : 0)),
	       act[0].bug ? " (buggy)" : "",
	       (unsigned long long)(na > 1 ? act[1].ops : 0),
	       (unsigned long long)mark_us(ncoll), retries,
	       (now_ns() - t0) / 1e9);
	ASSERT_EQ(0, errs) TH_LOG("%s: after round %u: %u problems, %u payloads lost; first: %s",
				  what, round + 1, errs, lost, why);
	errs = graph_verify(g, true, &lost, why, sizeof(why));
	ASSERT_EQ(0, errs) TH_LOG("%s: at the end: %u problems, %u payloads lost; first: %s",
				  what, errs, lost, why);
	ASSERT_LT(0, overlap) TH_LOG("%s: no collection ran while the actors did", what);
}

static void actor_init(struct actor *a, struct graph *g, enum move_how how,
		       uint64_t seed)
{
	memset(a, 0, sizeof(*a));
	a->g = g;
	a->how = how;
	a->bug = bug_window_us();
	a->rng = seed;
	a->pfd[0] = a->pfd[1] = -1;
	a->req[0] = a->req[1] = a->rep[0] = a->rep[1] = -1;
}

static void actor_close(struct actor *a)
{
	int i;

	for (i = 0; i < 2; i++) {
		if (a->pfd[i] >= 0)
			close(a->pfd[i]);
		if (a->req[i] >= 0)
			close(a->req[i]);
		if (a->rep[i] >= 0)
			close(a->rep[i]);
	}
}

/*
 * A word for GCH_CMARK_BUG that no collection reads: 8 KiB into a mapping
 * of its own, as a thread's stack may be mapped right below it and the
 * collector reads 4 KiB above a thread pointer (libgcheap's tls_above),
 * past the top of the stack.
 */
static void *stash_word(void)
{
	char *p = mmap(NULL, 16384, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p + 8192;
}

static void hazard_setup(struct __test_metadata *_metadata, struct graph *g,
			 uint64_t seed)
{
	gheap_init();
	ASSERT_EQ(0, graph_build(g, chain_len(), seed)) TH_LOG("%s", strerror(errno));
	scrub();
	ASSERT_EQ(0, gch_collect()) TH_LOG("%s", strerror(errno));
}

TEST_F_TIMEOUT(cm, read_into_heap_during_mark, 300)
{
	struct actor a;
	struct graph g;

	hazard_setup(_metadata, &g, 101);
	actor_init(&a, &g, MOVE_PIPE, 1);
	ASSERT_EQ(0, pipe2(a.pfd, O_CLOEXEC));
	hazard_run(_metadata, &g, &a, 1, "pipe");
	actor_close(&a);
}

TEST_F_TIMEOUT(cm, process_vm_writev_during_mark, 300)
{
	struct iovec l, r;
	struct actor a;
	struct graph g;
	uint64_t x = 1, y = 0;

	l.iov_base = &x;
	l.iov_len = 8;
	r.iov_base = &y;
	r.iov_len = 8;
	if (process_vm_writev(getpid(), &l, 1, &r, 1, 0) != 8)
		SKIP(return, "process_vm_writev() to the own pid: %s", strerror(errno));
	hazard_setup(_metadata, &g, 202);
	actor_init(&a, &g, MOVE_VMW_SELF, 2);
	a.stash = stash_word();
	ASSERT_NE(NULL, a.stash);
	hazard_run(_metadata, &g, &a, 1, "process_vm_writev");
}

TEST_F_TIMEOUT(cm, process_vm_writev_from_child_during_mark, 300)
{
	struct actor a;
	struct graph g;
	int e;

	hazard_setup(_metadata, &g, 303);
	actor_init(&a, &g, MOVE_VMW_CHILD, 3);
	ASSERT_EQ(0, pipe2(a.req, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(a.rep, O_CLOEXEC));
	fflush(stdout);
	fflush(stderr);
	self->child = fork();
	ASSERT_LE(0, self->child);
	if (!self->child)
		helper_run(&a, getppid());
	close(a.req[0]);
	close(a.rep[1]);
	a.req[0] = a.rep[1] = -1;
	prctl(PR_SET_PTRACER, self->child, 0, 0, 0);
	/* a first read tells whether the helper may reach us at all */
	e = helper_call(&a, slot_at(&g, 0), 1);
	if (e == EPERM)
		SKIP(return, "the helper may not process_vm_readv() its parent (ptrace restricted)");
	ASSERT_EQ(0, e) TH_LOG("helper: %s", strerror(e));
	hazard_run(_metadata, &g, &a, 1, "process_vm_writev from a child");
	actor_close(&a);
	ASSERT_EQ(self->child, wait_timeout(self->child, &e, 0, 10000));
	self->child = 0;
	EXPECT_TRUE(EXITED_WITH(e, 0)) TH_LOG("helper status %#x", e);
}

TEST_F_TIMEOUT(cm, fork_during_mark, 300)
{
	struct actor a[2];
	struct graph g;

	hazard_setup(_metadata, &g, 404);
	actor_init(&a[0], &g, MOVE_STORE, 4);
	a[0].stash = stash_word();
	ASSERT_NE(NULL, a[0].stash);
	actor_init(&a[1], &g, MOVE_STORE, 5);
	a[1].forker = true;
	ASSERT_EQ(0, pipe2(a[1].pfd, O_CLOEXEC));
	hazard_run(_metadata, &g, a, 2, "fork");
	EXPECT_LT(0, a[1].ops) TH_LOG("no fork done");
	actor_close(&a[1]);
}

/* --- children whose heap goes away during a mark ------------------------ */

/* What a victim child reports through shared memory. */
struct vshared {
	int failed;
	char msg[256];
	int ready;		/* the first collection is done */
	int collecting;		/* a collection is in gch_collect() now */
	int stop;
	uint64_t coll_ns;	/* the last collection's duration */
	unsigned int ok;	/* collections that returned 0 */
	unsigned int ok_after;	/* ... of them, ending after the arena went */
	unsigned int errs;	/* collections that failed with a documented errno */
	int gone;		/* the arena is unmapped or mapped over */
	int in_flight;		/* a collection ran when it went */
	int overlay_refused;
};

#define vfail(sh, ...) \
	shared_fail(&(sh)->failed, (sh)->msg, sizeof((sh)->msg), 1, __VA_ARGS__)

/* Collect until told to stop; count, and check each result. */
static void *victim_collector(void *arg)
{
	struct vshared *sh = arg;
	uint64_t t0;
	int r, e;

	while (!__atomic_load_n(&sh->stop, __ATOMIC_ACQUIRE)) {
		t0 = now_ns();
		__atomic_store_n(&sh->collecting, 1, __ATOMIC_RELEASE);
		r = gch_collect();
		e = errno;
		__atomic_store_n(&sh->collecting, 0, __ATOMIC_RELEASE);
		if (!r) {
			__atomic_store_n(&sh->coll_ns, now_ns() - t0, __ATOMIC_RELAXED);
			__atomic_add_fetch(&sh->ok, 1, __ATOMIC_RELEASE);
			if (__atomic_load_n(&sh->gone, __ATOMIC_ACQUIRE))
				sh->ok_after++;
			__atomic_store_n(&sh->ready, 1, __ATOMIC_RELEASE);
		} else if (e == EINTR || e == EAGAIN || e == ETIMEDOUT ||
			   (e == ENXIO && __atomic_load_n(&sh->gone, __ATOMIC_ACQUIRE))) {
			sh->errs++;
			usleep(100);
		} else {
			vfail(sh, "gch_collect: %s (arena %s)", strerror(e),
			      sh->gone ? "gone" : "mapped");
			break;
		}
	}
	return NULL;
}

/* Garbage, and payload moves with plain stores, until the victim ends. */
static void *victim_mutator(void *arg)
{
	struct actor *a = arg;
	unsigned int s, d, i;

	for (i = 0;; i++) {
		if (churn(100, i))
			return NULL;
		s = pick_slot(a, 1);
		d = pick_slot(a, 0);
		move_one(a, slot_at(a->g, s), slot_at(a->g, d));
		a->g->full[s] = 0;
		a->g->full[d] = 1;
	}
	return NULL;
}

/* A random delay within about one collection, at least 1 ms. */
static uint64_t victim_delay(struct vshared *sh, uint64_t seed)
{
	uint64_t d = __atomic_load_n(&sh->coll_ns, __ATOMIC_RELAXED);

	d = d < MSEC ? MSEC : d;
	return MSEC + mix64(seed) % (d + d / 2);
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = { .tv_sec = ns / NSEC, .tv_nsec = ns % NSEC };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* Build the graph and start collecting; the collector's thread. */
static int victim_start(struct vshared *sh, struct graph *g, uint64_t seed,
			pthread_t *th)
{
	gheap_init();
	if (graph_build(g, chain_len(), seed))
		return vfail(sh, "graph_build: %s", strerror(errno));
	scrub();
	if (pthread_create(th, NULL, victim_collector, sh))
		return vfail(sh, "pthread_create failed");
	if (!wait_for(&sh->ready, 1, 30000))
		return vfail(sh, "no collection in 30 s");
	return 0;
}

enum unmap_how { UNMAP_ARENA, MAP_FIXED_ARENA, MAP_FIXED_PAGE, NR_UNMAP };

static const char *const unmap_name[NR_UNMAP] = {
	"munmap(arena)", "mmap(MAP_FIXED) over the arena",
	"mmap(MAP_FIXED) over one arena page",
};

/*
 * The victim: its main thread unmaps the arena (or maps over it) at a
 * random time in a collection, and touches the arena no more unless the
 * change was refused.
 */
static noinline void unmap_victim(struct vshared *sh, enum unmap_how how,
				  uint64_t seed)
{
	struct gch_heap_stats st;
	unsigned int lost;
	char why[256];
	struct graph g;
	pthread_t th;
	char *arena, *page, *p;
	size_t size;

	alarm(120);
	if (victim_start(sh, &g, seed, &th))
		_exit(1);
	if (gch_stats(&st))
		_exit(vfail(sh, "gch_stats: %s", strerror(errno)));
	arena = st.arena_start;
	size = st.arena_size;
	/* a page in the middle of the nodes */
	page = (char *)((uintptr_t)g.nodes[g.nnodes / 2] & ~4095UL);
	while (!__atomic_load_n(&sh->collecting, __ATOMIC_ACQUIRE))
		sched_yield();
	sleep_ns(victim_delay(sh, seed));
	sh->in_flight = __atomic_load_n(&sh->collecting, __ATOMIC_ACQUIRE);
	switch (how) {
	case UNMAP_ARENA:
		__atomic_store_n(&sh->gone, 1, __ATOMIC_RELEASE);
		if (munmap(arena, size))
			_exit(vfail(sh, "munmap(arena): %s", strerror(errno)));
		break;
	case MAP_FIXED_ARENA:
		__atomic_store_n(&sh->gone, 1, __ATOMIC_RELEASE);
		p = mmap(arena, size, PROT_READ | PROT_WRITE,
			 MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p != arena)
			_exit(vfail(sh, "mmap(MAP_FIXED) over the arena: %s",
				    strerror(errno)));
		break;
	case MAP_FIXED_PAGE:
		p = mmap(page, 4096, PROT_READ | PROT_WRITE,
			 MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			sh->overlay_refused = 1;
		else
			__atomic_store_n(&sh->gone, 1, __ATOMIC_RELEASE);
		break;
	default:
		break;
	}
	sleep_ns(2 * victim_delay(sh, seed + 1));
	__atomic_store_n(&sh->stop, 1, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	if (sh->failed)
		_exit(1);
	if (sh->gone) {
		errno = 0;
		if (gch_collect() != -1 || errno != ENXIO)
			_exit(vfail(sh, "a collection after the arena went: %s, not ENXIO",
				    strerror(errno)));
		/* the new memory is the program's, not the heap's */
		if (how == MAP_FIXED_ARENA &&
		    *(volatile uint64_t *)&g.nodes[0]->key != 0)
			_exit(vfail(sh, "the anonymous memory over the arena shows a node"));
		if (how == MAP_FIXED_PAGE && *(volatile uint64_t *)page != 0)
			_exit(vfail(sh, "the page mapped over the arena shows the heap"));
		_exit(0);
	}
	/* refused: the heap goes on, the graph intact */
	scrub();
	if (gch_collect())
		_exit(vfail(sh, "a collection after the refused overlay: %s",
			    strerror(errno)));
	if (graph_verify(&g, true, &lost, why, sizeof(why)))
		_exit(vfail(sh, "after the refused overlay: %s", why));
	_exit(0);
}

/* Fork a victim; the test process has no heap of its own. */
static pid_t victim_fork(struct vshared *sh)
{
	memset(sh, 0, sizeof(*sh));
	fflush(stdout);
	fflush(stderr);
	return fork();
}

static void unmap_race(struct __test_metadata *_metadata, pid_t *child,
		       enum unmap_how how)
{
	struct vshared *sh = shared_map(sizeof(*sh));
	uint64_t t0 = now_ns(), end = t0 + budget_ns();
	unsigned int i, in_flight = 0, ok = 0, ok_after = 0, errs = 0;
	unsigned int refused = 0;
	int status;

	ASSERT_NE(NULL, sh);
	for (i = 0; i < 100 && (i < 5 || now_ns() < end); i++) {
		*child = victim_fork(sh);
		ASSERT_LE(0, *child);
		if (!*child)
			unmap_victim(sh, how, mix64(i + 1000 * how));
		ASSERT_EQ(*child, wait_timeout(*child, &status, 0, CHILD_TIMEOUT_MS))
			TH_LOG("%s: round %u: the child hung", unmap_name[how], i);
		*child = 0;
		ASSERT_EQ(0, sh->failed) TH_LOG("%s: round %u: %s", unmap_name[how], i,
						sh->msg);
		ASSERT_TRUE(EXITED_WITH(status, 0))
			TH_LOG("%s: round %u: status %#x", unmap_name[how], i, status);
		in_flight += sh->in_flight;
		ok += sh->ok;
		ok_after += sh->ok_after;
		errs += sh->errs;
		refused += sh->overlay_refused;
	}
	TH_LOG("%s (%s mark): %u rounds, %u with a collection in flight; %u collections succeeded (%u ending after the change), %u failed cleanly; %u refused; %.1f s",
	       unmap_name[how], concurrent_mark_on() ? "concurrent" : "stop-the-world",
	       i, in_flight, ok, ok_after, errs, refused, (now_ns() - t0) / 1e9);
	if (how == MAP_FIXED_PAGE)
		EXPECT_EQ(i, refused) TH_LOG("a one-page overlay split the arena");
	munmap(sh, sizeof(*sh));
}

TEST_F_TIMEOUT(cm, munmap_arena_during_mark, 300)
{
	unmap_race(_metadata, &self->child, UNMAP_ARENA);
}

TEST_F_TIMEOUT(cm, map_fixed_over_arena_during_mark, 300)
{
	unmap_race(_metadata, &self->child, MAP_FIXED_ARENA);
}

TEST_F_TIMEOUT(cm, map_fixed_page_during_mark, 300)
{
	unmap_race(_metadata, &self->child, MAP_FIXED_PAGE);
}

/* --- children killed or exiting during a mark ---------------------------- */


/* The victim: collects, allocates and moves until killed, or exits. */
static noinline void death_victim(struct vshared *sh, bool exits, uint64_t seed)
{
	struct actor a;
	struct graph g;
	pthread_t th, mt;

	alarm(120);
	if (victim_start(sh, &g, seed, &th))
		_exit(1);
	actor_init(&a, &g, MOVE_STORE, seed);
	a.bug = 0;
	if (pthread_create(&mt, NULL, victim_mutator, &a))
		_exit(vfail(sh, "pthread_create failed"));
	while (!__atomic_load_n(&sh->collecting, __ATOMIC_ACQUIRE))
		sched_yield();
	if (!exits) {
		__atomic_store_n(&sh->in_flight, 1, __ATOMIC_RELEASE);
		for (;;)
			pause();
	}
	sleep_ns(victim_delay(sh, seed));
	sh->in_flight = __atomic_load_n(&sh->collecting, __ATOMIC_ACQUIRE);
	syscall(SYS_exit_group, 0);
	_exit(2);
}

static void death_race(struct __test_metadata *_metadata, pid_t *child,
		       bool exits)
{
	const char *what = exits ? "exit_group(0)" : "SIGKILL";
	struct vshared *sh = shared_map(sizeof(*sh));
	uint64_t t0 = now_ns(), end = t0 + budget_ns(), d;
	unsigned int i, in_flight = 0, ok = 0;
	int base = module_refcnt(), status, n;
	struct gch_collect c = { .hdr.size = sizeof(c) };
	struct raw_heap h;
	__u64 buf[8];
	__u32 got;

	ASSERT_NE(NULL, sh);
	for (i = 0; i < 200 && (i < 5 || now_ns() < end); i++) {
		*child = victim_fork(sh);
		ASSERT_LE(0, *child);
		if (!*child)
			death_victim(sh, exits, mix64(i + 77));
		if (!exits) {
			ASSERT_TRUE(wait_for(&sh->in_flight, 1, 60000))
				TH_LOG("round %u: the child did not start: %s", i, sh->msg);
			d = victim_delay(sh, i);
			sleep_ns(d);
			in_flight += __atomic_load_n(&sh->collecting, __ATOMIC_ACQUIRE);
			ASSERT_EQ(0, kill(*child, SIGKILL));
		}
		ASSERT_EQ(*child, wait_timeout(*child, &status, 0, CHILD_TIMEOUT_MS))
			TH_LOG("%s: round %u: the child hung", what, i);
		*child = 0;
		ASSERT_EQ(0, sh->failed) TH_LOG("%s: round %u: %s", what, i, sh->msg);
		if (exits) {
			ASSERT_TRUE(EXITED_WITH(status, 0))
				TH_LOG("round %u: status %#x", i, status);
			in_flight += sh->in_flight;
		} else {
			ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
				TH_LOG("round %u: status %#x", i, status);
		}
		ok += sh->ok;
	}
	TH_LOG("%s (%s mark): %u rounds, %u with a collection in flight, %u collections before; %.1f s",
	       what, concurrent_mark_on() ? "concurrent" : "stop-the-world", i,
	       in_flight, ok, (now_ns() - t0) / 1e9);
	munmap(sh, sizeof(*sh));

	/* every victim's heap went: each open heap holds a module reference */
	if (base >= 0) {
		uint64_t until = now_ns() + 10 * NSEC;

		while ((n = module_refcnt()) > base && now_ns() < until)
			usleep(10000);
		ASSERT_GE(base, n) TH_LOG("module refcnt %d, %d before the victims: a heap stayed",
					  n, base);
	} else {
		TH_LOG("no /sys/module/gcheap/refcnt: checking only that a new heap works");
	}
	/* and a new heap opens, allocates and collects */
	ASSERT_EQ(0, raw_heap_open(&h, 16UL << 20, 0)) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, raw_refill_buf(h.fd, GCH_SPANCLASS(3, 0), buf, 8, &got));
	ASSERT_LT(0, got);
	ASSERT_EQ(0, raw_ioc(h.fd, GCH_IOC_COLLECT, &c, sizeof(c)))
		TH_LOG("%s", strerror(errno));
	ASSERT_EQ(1, c.collected);
	raw_heap_close(&h);
}

TEST_F_TIMEOUT(cm, killed_during_mark, 300)
{
	death_race(_metadata, &self->child, false);
}

TEST_F_TIMEOUT(cm, exit_during_mark, 300)
{
	death_race(_metadata, &self->child, true);
}

TEST_HARNESS_MAIN
