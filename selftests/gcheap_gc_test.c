// SPDX-License-Identifier: GPL-2.0
/*
 * The collector, from userspace: what gch_collect() must keep, what it
 * must free, what it must survive, and GCH_IOC_COLLECT, GCH_IOC_ROOTS and
 * GCH_IOC_GC_STATS at the raw ioctl level.
 *
 * Roots.  Lists (nodes of several size classes, some carrying a
 * pointer-free "blob") are made reachable only from one kind of root: a
 * register of a running thread, registers of the collecting thread at its
 * system call, a frame 200 calls deep, the data and bss of the executable
 * and of a library dlopen()ed after the heap was in use
 * (libgcheap_gc_dlobj.so, found next to this program), static TLS of the
 * main thread and of another thread, interior pointers, a gch_add_roots()
 * range.  After each of five collections, with garbage allocated in
 * between (so memory freed by mistake is handed out and overwritten),
 * every node and blob must be intact and still an allocated object.  Then
 * the root is cleared and one more collection must free the lists: that
 * shows the root was their only reference, so the test tested that root.
 * To leave no other reference behind, pointers the test holds are
 * XOR-masked ("hidden"), structures are built in noinline functions whose
 * frames die, and the stack below the caller and the scratch registers are
 * wiped before collecting and before calling the helpers that collect, so
 * that their frames start clean (the kernel scans from the stack pointer
 * less the 128-byte red zone).  Those tests run with automatic collection
 * off (fixture gc): a hidden structure would not survive one.
 *
 * Then: unreachable objects, cycles, and what only pointer-free objects
 * point to are freed, the heap's first object included, though a root
 * holds the arena's address (no object is ever there); 8
 * threads mutate while a 9th collects (with per-CPU and with per-thread
 * caches, automatic collection on); threads blocked in read, nanosleep,
 * futex and poll restart correctly; a process stopped by SIGSTOP and a
 * thread stopped by a tracer; processes SIGKILLed mid-collection; freed
 * memory leaves the process; GOGC pacing; gch_add_roots(); the history of
 * collections; a forked child gets EPERM.
 *
 * Every test runs in its own process (the harness forks), so each starts
 * with a fresh heap.  Tests that fork children of their own (fixture proc)
 * never touch the heap before forking: a child forked after its parent
 * used the heap may not use one.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/gcheap.h>

#include "gcheap.h"
#include "kselftest_harness.h"
#include "test_util.h"
#include "mapping_rss.h"
#include "hidden_ptr.h"
#include "raw_heap.h"

#ifndef __x86_64__
#error "these tests hold pointers in x86-64 registers"
#endif

#define KiB		1024UL
#define MiB		(1024 * KiB)
#define NSEC		1000000000ULL
#define MSEC		1000000ULL

#define noinline	__attribute__((noinline))

#define EXITED_WITH(status, code) \
	(WIFEXITED(status) && WEXITSTATUS(status) == (code))

static pid_t gettid_(void)
{
	return (pid_t)syscall(SYS_gettid);
}

/* --- keeping pointers from the collector -------------------------------- */

/* How many of the @n hidden addresses are allocated objects. */
static noinline size_t count_allocated(const uintptr_t *addrs, size_t n)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++)
		k += is_allocated(addrs[i]);
	return k;
}

/* --- reproducible contents ----------------------------------------------- */

static uint64_t rnd64(uint64_t *s)
{
	return mix64((*s)++);
}


/* --- lists ----------------------------------------------------------------- */

/*
 * struct node - a list element: 32 to 128 bytes (several size classes);
 * one in eight carries a blob, a pointer-free object of 1 to 300 bytes.
 */
struct node {
	struct node *next;
	unsigned char *blob;
	uint64_t key;
	uint32_t idx;
	uint32_t len;
	unsigned char payload[];
};

static inline uint32_t node_len(uint64_t key)
{
	return key % 97;
}

static inline bool node_has_blob(uint64_t key)
{
	return ((key >> 20) & 7) == 0;
}

static inline uint32_t blob_len(uint64_t key)
{
	return 1 + (uint32_t)((key >> 32) % 300);
}

/*
 * Build a list of @n nodes for @seed, recording every node's hidden
 * address in @addrs (if not NULL).  Return: the head, NULL if an
 * allocation failed.
 */
static noinline struct node *list_make(uint64_t seed, uint32_t n, uintptr_t *addrs)
{
	struct node *head = NULL, *p;
	unsigned char *b;
	uint32_t i;

	for (i = n; i-- > 0;) {
		uint64_t key = key_of(seed, i);

		p = gch_malloc(sizeof(*p) + node_len(key));
		if (!p)
			return NULL;
		p->key = key;
		p->idx = i;
		p->len = node_len(key);
		fill_pat(p->payload, p->len, key);
		p->next = head;
		head = p;
		if (node_has_blob(key)) {
			b = gch_malloc_atomic(blob_len(key));
			if (!b)
				return NULL;
			fill_pat(b, blob_len(key), ~key);
			p->blob = b;
		}
		if (addrs)
			addrs[i] = hide(p);
	}
	return head;
}

/*
 * The same, returning the hidden head (0 if an allocation failed).  Until
 * the caller stores it somewhere, nothing references the list: a
 * collection meanwhile would free it, so the tests that use this turn
 * automatic collection off (the gc fixture) and have no other threads
 * allocating.
 */
static noinline uintptr_t build_list(uint64_t seed, uint32_t n, uintptr_t *addrs)
{
	struct node *head = list_make(seed, n, addrs);

	return head ? hide(head) : 0;
}

/*
 * Is the list at hidden @h, of @n nodes for @seed, intact?  With @query,
 * also ask the heap that every node and blob is still an allocated object
 * (a freed object may not have been overwritten yet).
 * Return: 0, or -1 with @why filled in.
 */
static noinline int verify_list(uintptr_t h, uint64_t seed, uint32_t n,
				bool query, char *why, size_t len)
{
	const struct node *p = unhide(h);
	uint32_t i;
	long bad;

	for (i = 0; i < n; i++, p = p->next) {
		uint64_t key = key_of(seed, i);

		if (!p) {
			snprintf(why, len, "the list ends after %u of %u nodes", i, n);
			return -1;
		}
		if (query && gch_base(p) != p) {
			snprintf(why, len, "node %u (%p) is no allocated object any more: freed while reachable (gch_base %p)",
				 i, p, gch_base(p));
			return -1;
		}
		if (p->idx != i || p->key != key || p->len != node_len(key)) {
			snprintf(why, len, "node %u (%p) was overwritten: idx %u key %#llx len %u, expected %u %#llx %u",
				 i, p, p->idx, (unsigned long long)p->key, p->len,
				 i, (unsigned long long)key, node_len(key));
			return -1;
		}
		bad = check_pat(p->payload, p->len, key);
		if (bad >= 0) {
			snprintf(why, len, "node %u (%p): payload byte %ld overwritten", i, p, bad);
			return -1;
		}
		if (!node_has_blob(key)) {
			if (p->blob) {
				snprintf(why, len, "node %u (%p): blob pointer %p where there was none",
					 i, p, p->blob);
				return -1;
			}
			continue;
		}
		if (!p->blob) {
			snprintf(why, len, "node %u (%p): its blob pointer is NULL", i, p);
			return -1;
		}
		if (query && gch_base(p->blob) != p->blob) {
			snprintf(why, len, "node %u: its blob %p is no allocated object any more: freed while reachable",
				 i, p->blob);
			return -1;
		}
		bad = check_pat(p->blob, blob_len(key), ~key);
		if (bad >= 0) {
			snprintf(why, len, "node %u: byte %ld of its blob %p overwritten",
				 i, bad, p->blob);
			return -1;
		}
	}
	if (p) {
		snprintf(why, len, "the list goes on past %u nodes (%p)", n, p);
		return -1;
	}
	return 0;
}

#define NLISTS		4
#define LIST_NODES	400
#define ROUNDS		5

/* Up to NLISTS lists, known to the test only by hidden addresses. */
struct lists {
	unsigned int count;
	uint32_t n;
	uint64_t seed[NLISTS];
	uintptr_t head[NLISTS];
	uintptr_t *addrs[NLISTS];	/* malloc()ed; hidden node addresses */
};

static int lists_build(struct lists *L, unsigned int count, uint64_t seed)
{
	unsigned int k;

	memset(L, 0, sizeof(*L));
	L->count = count;
	L->n = LIST_NODES;
	for (k = 0; k < count; k++) {
		L->seed[k] = mix64(seed * 131 + k);
		L->addrs[k] = calloc(L->n, sizeof(uintptr_t));
		if (!L->addrs[k])
			return -1;
		L->head[k] = build_list(L->seed[k], L->n, L->addrs[k]);
		if (!L->head[k])
			return -1;
	}
	return 0;
}

static int lists_verify(const struct lists *L, char *why, size_t len)
{
	char w[256];
	unsigned int k;

	for (k = 0; k < L->count; k++) {
		if (verify_list(L->head[k], L->seed[k], L->n, true, w, sizeof(w))) {
			snprintf(why, len, "list %u: %s", k, w);
			return -1;
		}
	}
	return 0;
}

/*
 * The lists of @L are reachable only from the roots the caller set up:
 * collect ROUNDS times, with garbage in between; they must stay intact.
 * @threads: other threads each collection must report stopped (or -1).
 */
static void collect_verify_(struct __test_metadata *_metadata,
			    const struct lists *L, const char *what, int threads)
{
	struct gch_collection c;
	char why[512];
	int r;

	for (r = 0; r < ROUNDS; r++) {
		scrub();
		ASSERT_EQ(0, gch_collect())
			TH_LOG("%s: collection %d: %s", what, r + 1, strerror(errno));
		ASSERT_EQ(0, gch_last_collection(&c)) TH_LOG("%s", strerror(errno));
		if (threads >= 0) {
			EXPECT_EQ(threads, c.threads)
				TH_LOG("%s: collection %llu stopped %u other threads",
				       what, (unsigned long long)c.gc_number, c.threads);
		}
		ASSERT_EQ(0, churn(2000, r)) TH_LOG("churn: %s", strerror(errno));
		ASSERT_EQ(0, lists_verify(L, why, sizeof(why)))
			TH_LOG("%s, after collection %d: %s", what, r + 1, why);
	}
}

/*
 * The roots of @L were cleared: one more collection must free the lists.
 * If it does not, the test could not show that its root was their only
 * reference (or the collector retains what it should not).
 */
static void expect_freed_(struct __test_metadata *_metadata,
			  const struct lists *L, const char *what)
{
	struct gch_heap_stats st;
	unsigned int k;
	size_t left, i;
	char *first;

	scrub();
	ASSERT_EQ(0, gch_collect()) TH_LOG("%s", strerror(errno));
	for (k = 0; k < L->count; k++) {
		left = count_allocated(L->addrs[k], L->n);
		for (i = 0; i < L->n && !is_allocated(L->addrs[k][i]); i++)
			;
		first = i < L->n ? unhide(L->addrs[k][i]) : NULL;
		if (gch_stats(&st))
			memset(&st, 0, sizeof(st));
		EXPECT_FALSE(is_allocated(L->head[k]))
			TH_LOG("%s: list %u outlived its root (%zu of %u nodes left): something else still references it",
			       what, k, left, L->n);
		EXPECT_GE(L->n / 10, left)
			TH_LOG("%s: %zu of %u nodes of list %u outlived the root, from node %zu on (%p, arena offset %#lx)",
			       what, left, L->n, k, i, first,
			       (unsigned long)(first - (char *)st.arena_start));
	}
}

/*
 * Call these from the test's frame: the scrub before them makes sure
 * their own frames do not start with stale pointers of earlier calls.
 */
#define collect_verify(md, L, what, threads) do {	\
		scrub();				\
		collect_verify_(md, L, what, threads);	\
	} while (0)

#define expect_freed(md, L, what) do {		\
		scrub();				\
		expect_freed_(md, L, what);		\
	} while (0)

static void lists_free(struct lists *L)
{
	unsigned int k;

	for (k = 0; k < NLISTS; k++)
		free(L->addrs[k]);
	memset(L, 0, sizeof(*L));
}

/* --- trees and large pointer arrays (for the mutators) ----------------------- */

struct tnode {
	struct tnode *l, *r;
	uint64_t key;
};

static struct tnode *tree_build(uint64_t seed, uint64_t idx, unsigned int depth,
				bool *failed)
{
	struct tnode *t;

	if (!depth || *failed)
		return NULL;
	t = gch_malloc(sizeof(*t));
	if (!t) {
		*failed = true;
		return NULL;
	}
	t->key = key_of(seed, idx);
	t->l = tree_build(seed, 2 * idx, depth - 1, failed);
	t->r = tree_build(seed, 2 * idx + 1, depth - 1, failed);
	return t;
}

static int tree_verify(const struct tnode *t, uint64_t seed, uint64_t idx,
		       unsigned int depth, bool query, char *why, size_t len)
{
	if (!depth) {
		if (t) {
			snprintf(why, len, "tree node %llu: a child %p below the leaves",
				 (unsigned long long)idx, t);
			return -1;
		}
		return 0;
	}
	if (!t) {
		snprintf(why, len, "tree node %llu is missing", (unsigned long long)idx);
		return -1;
	}
	if (query && gch_base(t) != t) {
		snprintf(why, len, "tree node %llu (%p) was freed while reachable",
			 (unsigned long long)idx, t);
		return -1;
	}
	if (t->key != key_of(seed, idx)) {
		snprintf(why, len, "tree node %llu (%p) overwritten: key %#llx",
			 (unsigned long long)idx, t, (unsigned long long)t->key);
		return -1;
	}
	return tree_verify(t->l, seed, 2 * idx, depth - 1, query, why, len) ||
	       tree_verify(t->r, seed, 2 * idx + 1, depth - 1, query, why, len) ? -1 : 0;
}

/* A large object: every 16th word points to a small pointer-free object. */
#define VEC_STRIDE	16

static inline uint32_t vec_blob_len(uint64_t key)
{
	return 16 + key % 48;
}

static uint64_t *vec_build(uint64_t seed, uint32_t words)
{
	uint64_t *v = gch_malloc(words * sizeof(*v));
	unsigned char *b;
	uint32_t i;

	if (!v)
		return NULL;
	for (i = 0; i < words; i++) {
		uint64_t key = key_of(seed, i);

		if (i % VEC_STRIDE) {
			v[i] = key;
			continue;
		}
		b = gch_malloc_atomic(vec_blob_len(key));
		if (!b)
			return NULL;
		fill_pat(b, vec_blob_len(key), key);
		v[i] = (uintptr_t)b;
	}
	return v;
}

static int vec_verify(const uint64_t *v, uint64_t seed, uint32_t words,
		      bool query, char *why, size_t len)
{
	const unsigned char *b;
	uint32_t i;

	if (query && gch_base(v) != v) {
		snprintf(why, len, "large object %p was freed while reachable", v);
		return -1;
	}
	for (i = 0; i < words; i++) {
		uint64_t key = key_of(seed, i);

		if (i % VEC_STRIDE) {
			if (v[i] != key) {
				snprintf(why, len, "large object %p: word %u overwritten", v, i);
				return -1;
			}
			continue;
		}
		b = (const unsigned char *)(uintptr_t)v[i];
		if (query && gch_base(b) != b) {
			snprintf(why, len, "large object %p: the object %p of word %u was freed while reachable",
				 v, b, i);
			return -1;
		}
		if (check_pat(b, vec_blob_len(key), key) >= 0) {
			snprintf(why, len, "large object %p: the object %p of word %u was overwritten",
				 v, b, i);
			return -1;
		}
	}
	return 0;
}

enum { SHAPE_LIST, SHAPE_TREE, SHAPE_VEC };

/* struct shape - a structure a mutator holds: the pointer is a root. */
struct shape {
	void *p;
	uint64_t seed;
	uint32_t size;		/* nodes, tree depth, or words */
	int kind;
};

/* A new structure (never hidden: other threads collect any time), or NULL. */
static noinline void *shape_build(int kind, uint64_t seed, uint32_t size)
{
	bool failed = false;
	void *p;

	switch (kind) {
	case SHAPE_LIST:
		return list_make(seed, size, NULL);
	case SHAPE_TREE:
		p = tree_build(seed, 1, size, &failed);
		return failed ? NULL : p;
	default:
		return vec_build(seed, size);
	}
}

static noinline int shape_verify(const struct shape *s, bool query, char *why,
				 size_t len)
{
	switch (s->kind) {
	case SHAPE_LIST:
		return verify_list(hide(s->p), s->seed, s->size, query, why, len);
	case SHAPE_TREE:
		return tree_verify(s->p, s->seed, 1, s->size, query, why, len);
	default:
		return vec_verify(s->p, s->seed, s->size, query, why, len);
	}
}

/* --- mutator threads ---------------------------------------------------------- */

#define MUTATOR_SLOTS	4

/**
 * struct mutator - a thread that builds, checks and drops structures
 * @stop:       it ends when *@stop becomes non-zero.
 * @iterations: structures built.
 * @bad:        non-zero after a failure, described in @why.
 */
struct mutator {
	pthread_t thread;
	unsigned int id;
	const int *stop;
	int *exited;		/* incremented when it ends, if not NULL */
	unsigned long iterations;
	unsigned int bad;
	char why[300];
};

static void mutator_fail(struct mutator *m, const char *what, const char *detail)
{
	if (!m->bad++)
		snprintf(m->why, sizeof(m->why), "mutator %u, iteration %lu: %s%s%.200s (errno %d)",
			 m->id, m->iterations, what, detail ? ": " : "",
			 detail ? detail : "", errno);
}

static void *mutator_run(void *arg)
{
	struct mutator *m = arg;
	struct shape s[MUTATOR_SLOTS];	/* on this stack: the roots */
	uint64_t rs = 0x1234567ULL + m->id * 7919ULL;
	char why[256];
	unsigned int k;

	memset(s, 0, sizeof(s));
	while (!__atomic_load_n(m->stop, __ATOMIC_ACQUIRE)) {
		uint64_t r = rnd64(&rs), seed = rnd64(&rs);
		uint32_t size;
		void *p, *old;
		int kind;

		k = r % MUTATOR_SLOTS;
		if (s[k].p && shape_verify(&s[k], false, why, sizeof(why))) {
			mutator_fail(m, "corrupted", why);
			break;
		}
		if ((r >> 8) % 16 == 0) {
			kind = SHAPE_VEC;
			size = 4200 + (r >> 16) % 2000;	/* 33 to 49 KiB: large */
		} else if ((r >> 8) % 3 == 0) {
			kind = SHAPE_TREE;
			size = 3 + (r >> 16) % 6;
		} else {
			kind = SHAPE_LIST;
			size = 20 + (r >> 16) % 180;
		}
		p = shape_build(kind, seed, size);
		if (!p) {
			mutator_fail(m, "allocation failed", NULL);
			break;
		}
		old = s[k].kind == SHAPE_LIST ? s[k].p : NULL;
		s[k].p = p;
		s[k].seed = seed;
		s[k].size = size;
		s[k].kind = kind;
		/* now and then free the dropped list's head explicitly */
		if (old && (r >> 40) % 8 == 0 && gch_free(old)) {
			mutator_fail(m, "gch_free of a dropped head failed", strerror(errno));
			break;
		}
		if (++m->iterations % 8 == 0) {
			for (k = 0; k < MUTATOR_SLOTS; k++)
				if (s[k].p && shape_verify(&s[k], false, why, sizeof(why))) {
					mutator_fail(m, "corrupted", why);
					goto out;
				}
		}
	}
	for (k = 0; k < MUTATOR_SLOTS && !m->bad; k++)
		if (s[k].p && shape_verify(&s[k], true, why, sizeof(why)))
			mutator_fail(m, "corrupted at the end", why);
out:
	if (m->exited)
		__atomic_add_fetch(m->exited, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* --- roots the test controls ------------------------------------------------- */

static void *volatile g_bss_root;				/* .bss */
static volatile uintptr_t g_data_words[4] = { 1, 2, 3, 4 };	/* .data */
static void *volatile g_data_ptr = (void *)&g_data_words;	/* .data.rel */
#define BIG_BSS_WORDS	(64 * 1024)
static void *volatile g_big_bss[BIG_BSS_WORDS];			/* 512 KiB of .bss */

/* Root @k of the executable's data and bss := hidden @h (0: NULL). */
static noinline void global_store(unsigned int k, uintptr_t h)
{
	void *p = h ? unhide(h) : NULL;

	switch (k) {
	case 0:
		g_bss_root = p;
		break;
	case 1:
		g_data_words[2] = (uintptr_t)p;
		break;
	case 2:
		g_data_ptr = p;
		break;
	default:
		g_big_bss[BIG_BSS_WORDS - 1] = p;
		break;
	}
}

static noinline uintptr_t global_load(unsigned int k)
{
	switch (k) {
	case 0:
		return hide(g_bss_root);
	case 1:
		return hide((void *)g_data_words[2]);
	case 2:
		return hide(g_data_ptr);
	default:
		return hide(g_big_bss[BIG_BSS_WORDS - 1]);
	}
}

#define TLS_BIG_WORDS	8192
static __thread void *volatile tls_bss_root;			/* .tbss */
static __thread void *volatile tls_data_root = (void *)1;	/* .tdata */
static __thread void *volatile tls_big[TLS_BIG_WORDS];		/* 64 KiB .tbss */

/* The calling thread's TLS root @k := hidden @h (0: NULL). */
static noinline void tls_store(unsigned int k, uintptr_t h)
{
	void *p = h ? unhide(h) : NULL;

	switch (k) {
	case 0:
		tls_bss_root = p;
		break;
	case 1:
		tls_data_root = p;
		break;
	case 2:
		tls_big[0] = p;
		break;
	default:
		tls_big[TLS_BIG_WORDS - 1] = p;
		break;
	}
}

static noinline uintptr_t tls_load(unsigned int k)
{
	switch (k) {
	case 0:
		return hide(tls_bss_root);
	case 1:
		return hide(tls_data_root);
	case 2:
		return hide(tls_big[0]);
	default:
		return hide(tls_big[TLS_BIG_WORDS - 1]);
	}
}

/* A SIGBUS or SIGSEGV here most likely means a live object's page was released. */
static void on_fault(int sig, siginfo_t *si, void *uc)
{
	char msg[200];
	int n;

	(void)uc;
	n = snprintf(msg, sizeof(msg),
		     "# %s at %p (an object freed while reachable, its memory released?)\n",
		     sig == SIGBUS ? "SIGBUS" : "SIGSEGV", si->si_addr);
	if (n > 0 && write(2, msg, n) < 0)
		n = 0;
	signal(sig, SIG_DFL);
	raise(sig);
}

static void __attribute__((constructor)) install_fault_report(void)
{
	struct sigaction sa = { .sa_sigaction = on_fault, .sa_flags = SA_SIGINFO };

	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
}

/* --- the fixtures ------------------------------------------------------------- */

/*
 * A live object allocated before anything else.  It used to take the
 * arena's first byte, to which every copy of the arena's address
 * (gch_stats().arena_start in a stack frame, struct raw_heap's arena) is a
 * conservative reference, so that such copies could not hide what the
 * tests check.  The module now never hands that page out (test
 * proc.arena_first_object_freed); the pin keeps the tests' heaps as they
 * were.
 */
static void *volatile g_pin;

static void pin_arena_start(struct __test_metadata *_metadata)
{
	g_pin = gch_malloc_atomic(40000);
	ASSERT_NE(NULL, g_pin) TH_LOG("%s", strerror(errno));
}

/*
 * Tests with a heap (pinned), without automatic collections: these tests
 * hold structures hidden between building and storing them in the root
 * under test, and count what each collection frees.
 */
FIXTURE(gc) {
	int unused;
};

FIXTURE_SETUP(gc)
{
	ASSERT_EQ(0, unsetenv("GCHEAP_GOGC"));
	ASSERT_EQ(0, unsetenv("GCHEAP_MAX_HEAP"));
	ASSERT_EQ(0, unsetenv("GCHEAP_NO_RSEQ"));
	pin_arena_start(_metadata);
	ASSERT_EQ(100, gch_set_gc_percent(-1));
}

FIXTURE_TEARDOWN(gc)
{
}

/* Tests that fork children of their own before they use a heap, if at all. */
FIXTURE(proc) {
	pid_t child;	/* killed at teardown if a test leaves it behind */
};

FIXTURE_SETUP(proc)
{
	ASSERT_EQ(0, unsetenv("GCHEAP_GOGC"));
	ASSERT_EQ(0, unsetenv("GCHEAP_MAX_HEAP"));
	ASSERT_EQ(0, unsetenv("GCHEAP_NO_RSEQ"));
	self->child = 0;
}

FIXTURE_TEARDOWN(proc)
{
	if (self->child > 0) {
		kill(self->child, SIGKILL);
		waitpid(self->child, NULL, 0);
	}
}

/* The hidden address of the arena; the stats die in this frame. */
static noinline uintptr_t arena_start_hidden(void)
{
	struct gch_heap_stats st;

	if (gch_stats(&st))
		return 0;
	return hide(st.arena_start);
}

static noinline uintptr_t alloc_hidden(size_t size)
{
	void *p = gch_malloc_atomic(size);

	return p ? hide(p) : 0;
}

/* The program's own copy of the arena's address, in .bss: a root. */
static void *volatile g_arena_copy;

/* Hidden @h's offset from hidden @start; the plain pointers die here. */
static noinline long hidden_offset(uintptr_t h, uintptr_t start)
{
	return (long)((char *)unhide(h) - (char *)unhide(start));
}

/*
 * No object is ever at the arena's address: the module never hands out
 * the arena's first heap page.  Every program keeps copies of that address
 * (gch_stats() in a frame, here a global), and an object there would live
 * for ever.  The heap's first object, large, starts right past that page;
 * no first object of a few small classes is at or over the arena's first
 * byte; and the object allocated first is freed once unreachable, though
 * a root holds the arena's address all along.
 */
TEST_F(proc, arena_first_object_freed)
{
	static const size_t sizes[] = { 8, 16, 100, 1000, 4000, 32000 };
	uintptr_t first, start, h;
	unsigned int i;

	first = alloc_hidden(40000);
	ASSERT_NE(0, first) TH_LOG("%s", strerror(errno));
	start = arena_start_hidden();
	ASSERT_NE(0, start);
	g_arena_copy = unhide(start);
	/* offsets, not pointers: this frame stays through the collection */
	EXPECT_EQ((long)GCH_PAGE_SIZE, hidden_offset(first, start))
		TH_LOG("the heap's first object is not right past the reserved first page");
	EXPECT_EQ(NULL, gch_base(g_arena_copy));
	EXPECT_EQ(0, gch_size(g_arena_copy));
	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		h = alloc_hidden(sizes[i]);
		ASSERT_NE(0, h) TH_LOG("%zu: %s", sizes[i], strerror(errno));
		EXPECT_LE((long)GCH_PAGE_SIZE, hidden_offset(h, start))
			TH_LOG("an object of %zu bytes in the arena's first page", sizes[i]);
	}
	scrub();
	ASSERT_EQ(0, gch_collect()) TH_LOG("%s", strerror(errno));
	EXPECT_FALSE(is_allocated(first))
		TH_LOG("the unreachable first object (%p) survived a collection with the arena's address (%p) in a root",
		       unhide(first), g_arena_copy);
	EXPECT_EQ(unhide(start), g_arena_copy);
	EXPECT_EQ(NULL, gch_base(g_arena_copy));
}

/* --- 1. roots ---------------------------------------------------------------- */

/*
 * GCH_IOC_COLLECT on the library's descriptor with two pointers held only
 * in r8 and r12 (unmasked right before the syscall instruction, masked
 * again right after): the collecting thread's own registers are roots.
 * Return: -errno, or c.collected.
 */
static noinline long collect_holding_regs(int fd, uintptr_t *h1, uintptr_t *h2)
{
	struct gch_collect c;
	register uintptr_t a asm("r8") = *h1;
	register uintptr_t b asm("r12") = *h2;
	register uintptr_t m asm("r13") = HIDE_MASK;
	long ret;

	memset(&c, 0, sizeof(c));
	c.hdr.size = sizeof(c);
	asm volatile("xorq %[m], %[a]\n\t"
		     "xorq %[m], %[b]\n\t"
		     "syscall\n\t"
		     "xorq %[m], %[a]\n\t"
		     "xorq %[m], %[b]"
		     : "=a" (ret), [a] "+r" (a), [b] "+r" (b)
		     : "0" ((long)SYS_ioctl), "D" ((long)fd),
		       "S" ((unsigned long)GCH_IOC_COLLECT), "d" (&c), [m] "r" (m)
		     : "rcx", "r11", "cc", "memory");
	*h1 = a;
	*h2 = b;
	return ret < 0 ? ret : (long)c.collected;
}

/* gch_collect() with the only pointer in a local kept in a register. */
static noinline int collect_holding_local(uintptr_t *h)
{
	void *p = unhide(*h);
	int ret;

	asm volatile("" : "+r" (p));
	ret = gch_collect();
	asm volatile("" : "+r" (p));
	*h = hide(p);
	return ret;
}

TEST_F_TIMEOUT(gc, root_registers_of_collector, 60)
{
	struct lists L, L2;
	uintptr_t h1, h2, h3;
	char why[512];
	long ret;
	int r, fd;

	/* the heap is set up, the library's roots registered */
	ASSERT_EQ(0, gch_collect()) TH_LOG("%s", strerror(errno));
	fd = raw_heap_fd();	/* the library's: the only one here */
	ASSERT_LE(0, fd) TH_LOG("no open /dev/gcheap in /proc/self/fd");
	ASSERT_EQ(0, lists_build(&L, 2, 11)) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, lists_build(&L2, 1, 12)) TH_LOG("%s", strerror(errno));

	h1 = L.head[0];
	h2 = L.head[1];
	for (r = 0; r < ROUNDS; r++) {
		scrub();
		ret = collect_holding_regs(fd, &h1, &h2);
		ASSERT_EQ(1, ret) TH_LOG("GCH_IOC_COLLECT: %s",
					 ret < 0 ? strerror(-ret) : "nothing collected");
		/* L2 was referenced from nowhere: gone (checked before churn) */
		if (!r) {
			EXPECT_FALSE(is_allocated(L2.head[0]))
				TH_LOG("a list nothing referenced survived a collection");
		}
		ASSERT_EQ(L.head[0], h1);
		ASSERT_EQ(L.head[1], h2);
		ASSERT_EQ(0, churn(2000, r));
		ASSERT_EQ(0, lists_verify(&L, why, sizeof(why)))
			TH_LOG("pointers in r8 and r12 at the syscall, after collection %d: %s",
			       r + 1, why);
	}

	/* now nothing holds them: before other objects can take their places */
	expect_freed(_metadata, &L, "registers of the collecting thread");

	lists_free(&L2);
	ASSERT_EQ(0, lists_build(&L2, 1, 13));
	h3 = L2.head[0];
	for (r = 0; r < ROUNDS; r++) {
		scrub();
		ASSERT_EQ(0, collect_holding_local(&h3)) TH_LOG("%s", strerror(errno));
		ASSERT_EQ(L2.head[0], h3);
		ASSERT_EQ(0, churn(2000, r));
		ASSERT_EQ(0, lists_verify(&L2, why, sizeof(why)))
			TH_LOG("a register-held local across gch_collect(), collection %d: %s",
			       r + 1, why);
	}
	expect_freed(_metadata, &L2, "a register-held local");
	lists_free(&L);
	lists_free(&L2);
}

/* A thread spinning in user mode with two pointers only in r9 and r14. */
struct spinner {
	pthread_t thread;
	uintptr_t h[2];		/* in: hidden heads; out: what the registers held */
	int ready;
	int stop;
};

static noinline void *spinner_run(void *arg)
{
	struct spinner *s = arg;
	register uintptr_t a asm("r9") = s->h[0];
	register uintptr_t b asm("r14") = s->h[1];
	register uintptr_t m asm("r15") = HIDE_MASK;

	asm volatile("xorq %[m], %[a]\n\t"
		     "xorq %[m], %[b]\n\t"
		     "movl $1, %[ready]\n\t"
		     "1: pause\n\t"
		     "cmpl $0, %[stop]\n\t"
		     "je 1b\n\t"
		     "xorq %[m], %[a]\n\t"
		     "xorq %[m], %[b]"
		     : [a] "+r" (a), [b] "+r" (b), [ready] "=m" (s->ready)
		     : [m] "r" (m), [stop] "m" (s->stop)
		     : "cc", "memory");
	s->h[0] = a;
	s->h[1] = b;
	return NULL;
}

TEST_F_TIMEOUT(gc, root_registers_of_running_thread, 60)
{
	static struct spinner s;
	struct lists L;

	ASSERT_EQ(0, lists_build(&L, 2, 21)) TH_LOG("%s", strerror(errno));
	s.h[0] = L.head[0];
	s.h[1] = L.head[1];
	ASSERT_EQ(0, pthread_create(&s.thread, NULL, spinner_run, &s));
	ASSERT_TRUE(wait_for(&s.ready, 1, 10000)) TH_LOG("the spinning thread did not start");

	collect_verify(_metadata, &L, "pointers only in registers of a thread running in user mode", 1);

	__atomic_store_n(&s.stop, 1, __ATOMIC_RELEASE);
	ASSERT_EQ(0, pthread_join(s.thread, NULL));
	EXPECT_EQ(L.head[0], s.h[0]) TH_LOG("r9 changed while the thread was stopped");
	EXPECT_EQ(L.head[1], s.h[1]) TH_LOG("r14 changed while the thread was stopped");
	expect_freed(_metadata, &L, "registers of a running thread");
	lists_free(&L);
}

#define DEEP	200

/* struct deep - lists held 200 frames deep (or at the top), collected from the bottom */
struct deep {
	const struct lists *L;
	bool outer;		/* the pointer in the outermost frame, else the deepest */
	int err;
	char why[512];
};

static noinline int deep_collect(struct deep *d, int depth)
{
	volatile uint64_t pad[32];	/* 256 bytes a frame: about 60 KiB in all */
	void *volatile slot = NULL;
	int r = 0, i;

	pad[0] = depth;
	pad[31] = depth;
	if (depth == (d->outer ? DEEP : 0)) {
		store_slot(&slot, d->L->head[0]);
		wipe_regs();
	}
	if (depth > 0) {
		r = deep_collect(d, depth - 1);
	} else {
		for (i = 0; i < ROUNDS && !d->err; i++) {
			scrub();
			if (gch_collect()) {
				d->err = errno;
				snprintf(d->why, sizeof(d->why), "collection %d: %s", i + 1,
					 strerror(errno));
			} else if (churn(2000, i)) {
				d->err = errno;
				snprintf(d->why, sizeof(d->why), "churn: %s", strerror(errno));
			} else if (lists_verify(d->L, d->why, sizeof(d->why))) {
				d->err = -1;
			}
		}
	}
	if (slot && load_slot(&slot) != d->L->head[0] && !d->err) {
		d->err = -1;
		snprintf(d->why, sizeof(d->why), "the stack slot at depth %d changed", depth);
	}
	slot = NULL;
	return r + (int)pad[depth & 31];
}

TEST_F_TIMEOUT(gc, root_deep_stack, 60)
{
	struct deep d = { 0 };
	struct lists L;

	ASSERT_EQ(0, gch_collect());

	/* the only pointer in the deepest of 200 frames, collecting from there */
	ASSERT_EQ(0, lists_build(&L, 1, 31)) TH_LOG("%s", strerror(errno));
	d.L = &L;
	d.outer = false;
	scrub();
	deep_collect(&d, DEEP);
	EXPECT_EQ(0, d.err) TH_LOG("pointer in the deepest frame: %s", d.why);
	expect_freed(_metadata, &L, "the deepest frame");
	lists_free(&L);

	/* in the outermost, about 60 KiB above the stack pointer */
	ASSERT_EQ(0, lists_build(&L, 1, 32)) TH_LOG("%s", strerror(errno));
	memset(&d, 0, sizeof(d));
	d.L = &L;
	d.outer = true;
	scrub();
	deep_collect(&d, DEEP);
	EXPECT_EQ(0, d.err) TH_LOG("pointer in the outermost frame, 200 frames up: %s", d.why);
	expect_freed(_metadata, &L, "the outermost frame");
	lists_free(&L);
}

/*
 * A thread parked in read() on a pipe, with roots of its own, obeying
 * one-byte commands: 'v' verify, 'c' clear its roots, 'q' quit.
 */
enum park_mode { PARK_TLS, PARK_DEEP };

struct parked {
	pthread_t thread;
	int cmd[2], ack[2];
	enum park_mode mode;
	const struct lists *L;
	void *volatile *deep_slot;
	int result;
	char why[512];
};

static int parked_verify(struct parked *pk)
{
	unsigned int k;

	for (k = 0; k < pk->L->count; k++) {
		uintptr_t held = pk->mode == PARK_TLS ? tls_load(k) :
						       load_slot(pk->deep_slot);

		if (held != pk->L->head[k]) {
			snprintf(pk->why, sizeof(pk->why), "root %u changed", k);
			return -1;
		}
	}
	return lists_verify(pk->L, pk->why, sizeof(pk->why));
}

static void parked_serve(struct parked *pk)
{
	unsigned int k;
	char c = 'r';

	for (;;) {
		scrub();
		if (write(pk->ack[1], &c, 1) != 1 || read(pk->cmd[0], &c, 1) != 1)
			return;
		if (c == 'v') {
			pk->result = parked_verify(pk);
		} else if (c == 'c') {
			if (pk->mode == PARK_DEEP)
				*pk->deep_slot = NULL;
			else
				for (k = 0; k < pk->L->count; k++)
					tls_store(k, 0);
		} else {
			return;
		}
	}
}

static noinline int parked_deep(struct parked *pk, int depth)
{
	volatile uint64_t pad[32];
	void *volatile slot = NULL;
	int r = 0;

	pad[0] = depth;
	pad[31] = depth;
	if (depth == DEEP) {
		store_slot(&slot, pk->L->head[0]);
		wipe_regs();
		pk->deep_slot = &slot;
	}
	if (depth > 0)
		r = parked_deep(pk, depth - 1);
	else
		parked_serve(pk);
	return r + (int)pad[depth & 31] + (slot != NULL);
}

static void *parked_run(void *arg)
{
	struct parked *pk = arg;
	unsigned int k;

	if (pk->mode == PARK_DEEP) {
		parked_deep(pk, DEEP);
		return NULL;
	}
	for (k = 0; k < pk->L->count; k++)
		tls_store(k, pk->L->head[k]);
	parked_serve(pk);
	return NULL;
}

/* Send @c to the parked thread and wait (10 s at most) for its ack. */
static int parked_cmd(struct parked *pk, char c)
{
	struct pollfd pfd = { .fd = pk->ack[0], .events = POLLIN };
	char a;

	if (c && write(pk->cmd[1], &c, 1) != 1)
		return -1;
	if (poll(&pfd, 1, 10000) != 1 || read(pk->ack[0], &a, 1) != 1)
		return -1;
	return 0;
}

static void parked_test(struct __test_metadata *_metadata, enum park_mode mode,
			const struct lists *L, const char *what)
{
	static struct parked pk;
	struct gch_collection c;
	int r;

	scrub();
	memset(&pk, 0, sizeof(pk));
	pk.mode = mode;
	pk.L = L;
	ASSERT_EQ(0, pipe2(pk.cmd, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(pk.ack, O_CLOEXEC));
	ASSERT_EQ(0, pthread_create(&pk.thread, NULL, parked_run, &pk));
	ASSERT_EQ(0, parked_cmd(&pk, 0)) TH_LOG("the thread did not get ready");

	for (r = 0; r < ROUNDS; r++) {
		scrub();
		ASSERT_EQ(0, gch_collect()) TH_LOG("%s: %s", what, strerror(errno));
		ASSERT_EQ(0, gch_last_collection(&c));
		EXPECT_EQ(1, c.threads);
		ASSERT_EQ(0, churn(2000, r));
		ASSERT_EQ(0, parked_cmd(&pk, 'v'));
		ASSERT_EQ(0, pk.result) TH_LOG("%s, after collection %d: %s", what, r + 1, pk.why);
	}
	ASSERT_EQ(0, parked_cmd(&pk, 'c'));
	expect_freed(_metadata, L, what);
	ASSERT_EQ(1, write(pk.cmd[1], "q", 1));
	ASSERT_EQ(0, pthread_join(pk.thread, NULL));
	close(pk.cmd[0]);
	close(pk.cmd[1]);
	close(pk.ack[0]);
	close(pk.ack[1]);
}

TEST_F_TIMEOUT(gc, root_deep_stack_of_blocked_thread, 60)
{
	struct lists L;

	ASSERT_EQ(0, gch_collect());
	ASSERT_EQ(0, lists_build(&L, 1, 33)) TH_LOG("%s", strerror(errno));
	parked_test(_metadata, PARK_DEEP, &L,
		    "a thread blocked in read() 200 frames below the frame holding the pointer");
	lists_free(&L);
}

TEST_F_TIMEOUT(gc, root_static_data_and_bss, 60)
{
	struct lists L;
	unsigned int k;

	ASSERT_EQ(0, lists_build(&L, 4, 41)) TH_LOG("%s", strerror(errno));
	for (k = 0; k < 4; k++)
		global_store(k, L.head[k]);
	collect_verify(_metadata, &L,
		       "the executable's bss, data, relocated data and a 512 KiB bss array", 0);
	for (k = 0; k < 4; k++) {
		EXPECT_EQ(L.head[k], global_load(k)) TH_LOG("root %u changed", k);
		global_store(k, 0);
	}
	expect_freed(_metadata, &L, "the executable's data and bss");
	lists_free(&L);
}

/* libgcheap_gc_dlobj.so, from this program's directory or the library path. */
static void *open_dlobj(char *err, size_t len)
{
	static const char name[] = "libgcheap_gc_dlobj.so";
	char exe[PATH_MAX], path[PATH_MAX + sizeof(name) + 1];
	ssize_t n;
	char *slash;
	void *dl;

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = 0;
		slash = strrchr(exe, '/');
		if (slash) {
			*slash = 0;
			snprintf(path, sizeof(path), "%s/%s", exe, name);
			dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
			if (dl)
				return dl;
			snprintf(err, len, "%s", dlerror());
		}
	}
	dl = dlopen(name, RTLD_NOW | RTLD_LOCAL);
	if (!dl)
		snprintf(err + strlen(err), len - strlen(err), "; %s", dlerror());
	return dl;
}

static noinline void dl_store(void (*set)(int, void *), int k, uintptr_t h)
{
	set(k, h ? unhide(h) : NULL);
}

static noinline uintptr_t dl_load(void *(*get)(int), int k)
{
	return hide(get(k));
}

TEST_F_TIMEOUT(gc, root_dlopen_library, 60)
{
	void (*set)(int, void *);
	void *(*get)(int);
	struct lists L0, L;
	char err[1024] = "";
	char why[512];
	unsigned int k;
	void *dl, *sym;

	/* the heap is in use and has collected before the library comes */
	ASSERT_EQ(0, lists_build(&L0, 1, 51)) TH_LOG("%s", strerror(errno));
	global_store(0, L0.head[0]);
	scrub();
	ASSERT_EQ(0, gch_collect()) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, lists_verify(&L0, why, sizeof(why))) TH_LOG("%s", why);

	dl = open_dlobj(err, sizeof(err));
	ASSERT_NE(NULL, dl) TH_LOG("dlopen: %s", err);
	sym = dlsym(dl, "gcheap_dlobj_set");
	ASSERT_NE(NULL, sym) TH_LOG("%s", dlerror());
	memcpy(&set, &sym, sizeof(set));
	sym = dlsym(dl, "gcheap_dlobj_get");
	ASSERT_NE(NULL, sym) TH_LOG("%s", dlerror());
	memcpy(&get, &sym, sizeof(get));

	ASSERT_EQ(0, lists_build(&L, 3, 52)) TH_LOG("%s", strerror(errno));
	for (k = 0; k < 3; k++)
		dl_store(set, k, L.head[k]);
	collect_verify(_metadata, &L,
		       "bss, data and a 1 MiB bss array of a library dlopen()ed after the heap was in use", 0);
	for (k = 0; k < 3; k++) {
		EXPECT_EQ(L.head[k], dl_load(get, k)) TH_LOG("root %u changed", k);
		dl_store(set, k, 0);
	}
	expect_freed(_metadata, &L, "a dlopen()ed library's data and bss");
	ASSERT_EQ(0, lists_verify(&L0, why, sizeof(why))) TH_LOG("%s", why);
	global_store(0, 0);
	lists_free(&L0);
	lists_free(&L);
}

TEST_F_TIMEOUT(gc, root_tls_of_main_thread, 60)
{
	struct lists L;
	unsigned int k;

	ASSERT_EQ(0, lists_build(&L, 4, 61)) TH_LOG("%s", strerror(errno));
	for (k = 0; k < 4; k++)
		tls_store(k, L.head[k]);
	collect_verify(_metadata, &L,
		       "the main thread's static TLS (.tbss, .tdata, both ends of a 64 KiB array)", 0);
	for (k = 0; k < 4; k++) {
		EXPECT_EQ(L.head[k], tls_load(k)) TH_LOG("TLS root %u changed", k);
		tls_store(k, 0);
	}
	expect_freed(_metadata, &L, "the main thread's TLS");
	lists_free(&L);
}

TEST_F_TIMEOUT(gc, root_tls_of_other_thread, 60)
{
	struct lists L;

	ASSERT_EQ(0, gch_collect());
	ASSERT_EQ(0, lists_build(&L, 4, 62)) TH_LOG("%s", strerror(errno));
	parked_test(_metadata, PARK_TLS, &L,
		    "static TLS of a thread blocked in read() (.tbss, .tdata, a 64 KiB array)");
	lists_free(&L);
}

/* A pointer @off bytes into the object at hidden @h; its size if @off < 0. */
static noinline void store_interior(void *volatile *slot, uintptr_t h, long off)
{
	char *p = unhide(h);

	*slot = p + (off < 0 ? (long)gch_size(p) + off : off);
}

/* A 100000-byte object holding @h1 in its first word and @h2 in its last. */
static noinline uintptr_t build_holder(uintptr_t h1, uintptr_t h2)
{
	void **big = gch_malloc(100000);

	if (!big)
		return 0;
	big[0] = unhide(h1);
	big[100000 / sizeof(void *) - 1] = unhide(h2);
	return hide(big);
}

static noinline bool holder_intact(uintptr_t hb, uintptr_t h1, uintptr_t h2)
{
	void **big = unhide(hb);

	return gch_base(big) == big && big[0] == unhide(h1) &&
	       big[100000 / sizeof(void *) - 1] == unhide(h2);
}

TEST_F_TIMEOUT(gc, root_interior_pointers, 60)
{
	struct lists L;
	uintptr_t holder;
	unsigned int k;
	int r;
	char why[512];

	ASSERT_EQ(0, lists_build(&L, 4, 71)) TH_LOG("%s", strerror(errno));
	holder = build_holder(L.head[2], L.head[3]);
	ASSERT_NE(0, holder);
	/* the middle and the last byte of the lists' first nodes */
	store_interior(&g_bss_root, L.head[0], sizeof(struct node) / 2 + 3);
	store_interior(&g_data_ptr, L.head[1], -1);
	/* 70000 bytes into a large object: another heap page than its start */
	store_interior(&g_big_bss[BIG_BSS_WORDS - 1], holder, 70000);

	for (r = 0; r < ROUNDS; r++) {
		scrub();
		ASSERT_EQ(0, gch_collect()) TH_LOG("%s", strerror(errno));
		ASSERT_EQ(0, churn(2000, r));
		ASSERT_EQ(0, lists_verify(&L, why, sizeof(why)))
			TH_LOG("only interior pointers, after collection %d: %s (lists 0, 1: into a small node; 2, 3: held by a large object)",
			       r + 1, why);
		ASSERT_TRUE(holder_intact(holder, L.head[2], L.head[3]))
			TH_LOG("the large object reached through an interior pointer was freed or changed");
	}
	for (k = 0; k < 4; k++)
		global_store(k, 0);
	expect_freed(_metadata, &L, "interior pointers");
	EXPECT_FALSE(is_allocated(holder));
	lists_free(&L);
}

/* --- 2. what is unreachable is freed --------------------------------------------- */

#define MIX_TOTAL	11000
#define MIX_KEEP_EVERY	11
#define RINGS		200
#define RING_LEN	5

/* struct mix - what make_mix() allocated */
struct mix {
	size_t garbage;		/* unreachable objects */
	size_t garbage_bytes;	/* their usable sizes */
	size_t kept;
	uint64_t seed;
	uint32_t *size;		/* of each kept object */
};

/*
 * MIX_TOTAL objects of 16 bytes to 54 KiB, scanned and pointer-free;
 * every MIX_KEEP_EVERY-th stored in @keep, the rest garbage; and RINGS
 * garbage cycles of RING_LEN objects.  0 or -1.
 */
static noinline int make_mix(void **keep, struct mix *m)
{
	uint64_t rs = m->seed;
	unsigned int i, k;
	void *ring[RING_LEN];
	size_t size;
	char *p;

	for (i = 0; i < MIX_TOTAL; i++) {
		uint64_t r = rnd64(&rs), key = key_of(m->seed, i);

		size = i % 500 == 7 ? 33000 + r % 20000 : 16 + r % 1000;
		p = (r & 1) ? gch_malloc_atomic(size) : gch_malloc(size);
		if (!p)
			return -1;
		if (i % MIX_KEEP_EVERY == 0) {
			fill_pat((unsigned char *)p, size, key);
			m->size[m->kept] = size;
			keep[m->kept++] = p;
		} else {
			memset(p, 0xdb, size);
			m->garbage++;
			m->garbage_bytes += gch_size(p);
		}
	}
	for (i = 0; i < RINGS; i++) {
		for (k = 0; k < RING_LEN; k++) {
			ring[k] = gch_malloc(48);
			if (!ring[k])
				return -1;
			m->garbage++;
			m->garbage_bytes += gch_size(ring[k]);
		}
		for (k = 0; k < RING_LEN; k++)
			*(void **)ring[k] = ring[(k + 1) % RING_LEN];
	}
	memset(ring, 0, sizeof(ring));
	return 0;
}

/* Are the kept objects allocated and intact?  -1 (with @why) or 0. */
static noinline int mix_verify(void *const *keep, const struct mix *m, char *why,
			       size_t len)
{
	size_t i;

	for (i = 0; i < m->kept; i++) {
		if (gch_base(keep[i]) != keep[i]) {
			snprintf(why, len, "kept object %zu (%p) was freed", i, keep[i]);
			return -1;
		}
		if (check_pat(keep[i], m->size[i],
			      key_of(m->seed, i * MIX_KEEP_EVERY)) >= 0) {
			snprintf(why, len, "kept object %zu (%p) was overwritten", i, keep[i]);
			return -1;
		}
	}
	return 0;
}

/*
 * The library's collections sweep in the background: wait (up to 10 s)
 * until the last one's sweep is done, so that the statistics and the
 * history entry are final.  Return: 0, or -1 if it did not end.
 */
static int wait_swept(void)
{
	struct gch_heap_stats st;
	int ms;

	for (ms = 0; ms < 10000; ms++) {
		if (gch_stats(&st))
			return -1;
		if (!st.unswept_spans)
			return 0;
		usleep(1000);
	}
	return -1;
}

/* gch_collect(), then wait for its sweep. */
static int collect_swept(void)
{
	return gch_collect() || wait_swept() ? -1 : 0;
}

TEST_F_TIMEOUT(gc, unreachable_freed, 90)
{
	struct gch_heap_stats s1, s2, s3;
	struct gch_collection c;
	struct mix m = { .seed = 81 }, m2 = { .seed = 82 };
	size_t nkeep = MIX_TOTAL / MIX_KEEP_EVERY + 1;
	void **keep, **keep2;
	char why[300];

	keep = gch_malloc(nkeep * sizeof(void *));
	keep2 = gch_malloc(nkeep * sizeof(void *));
	ASSERT_NE(NULL, keep);
	ASSERT_NE(NULL, keep2);
	g_bss_root = keep;
	m.size = calloc(nkeep, sizeof(uint32_t));
	m2.size = calloc(nkeep, sizeof(uint32_t));
	ASSERT_NE(NULL, m.size);
	ASSERT_NE(NULL, m2.size);
	ASSERT_EQ(0, make_mix(keep, &m)) TH_LOG("%s", strerror(errno));

	ASSERT_EQ(0, gch_stats(&s1));
	scrub();
	ASSERT_EQ(0, collect_swept()) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, gch_last_collection(&c));
	ASSERT_EQ(0, gch_stats(&s2));
	TH_LOG("%zu garbage objects (%zu bytes), %zu kept: freed %llu objects (%llu bytes), marked %llu; live %llu -> %llu; heap %llu -> %llu; pause %.3f ms, %u workers",
	       m.garbage, m.garbage_bytes, m.kept,
	       (unsigned long long)c.objects_freed, (unsigned long long)c.bytes_freed,
	       (unsigned long long)c.objects_marked,
	       (unsigned long long)s1.live_objects, (unsigned long long)s2.live_objects,
	       (unsigned long long)c.heap_before, (unsigned long long)c.heap_after,
	       c.pause_ns / 1e6, c.workers);

	EXPECT_EQ(1, c.gc_number);
	EXPECT_EQ(GCH_GC_REASON_USER, c.reason);
	EXPECT_EQ(0, c.threads);
	EXPECT_LE(1, c.workers);
	/* conservative scanning may keep a few through stale words */
	EXPECT_LE(m.garbage * 95 / 100, c.objects_freed);
	EXPECT_LE(m.garbage_bytes * 9 / 10, c.bytes_freed);
	EXPECT_LE(m.kept + 2, c.objects_marked);
	EXPECT_LE(c.heap_after + m.garbage_bytes * 9 / 10, c.heap_before);
	EXPECT_LE(s2.live_objects + m.garbage * 95 / 100, s1.live_objects);
	EXPECT_LE(s2.inuse_bytes + m.garbage_bytes * 9 / 10, s1.inuse_bytes);
	EXPECT_LE(c.objects_freed, s2.nfree - s1.nfree)
		TH_LOG("nfree %llu -> %llu", (unsigned long long)s1.nfree,
		       (unsigned long long)s2.nfree);
	EXPECT_EQ(1, s2.num_gc);
	EXPECT_EQ(c.pause_ns, s2.pause_total_ns);
	ASSERT_EQ(0, mix_verify(keep, &m, why, sizeof(why))) TH_LOG("%s", why);

	/* as much again: the freed memory is used again, the heap grows little */
	g_data_ptr = keep2;
	ASSERT_EQ(0, make_mix(keep2, &m2)) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, gch_stats(&s3));
	EXPECT_GE(s1.mapped_bytes + s1.mapped_bytes / 4 + 1 * MiB, s3.mapped_bytes)
		TH_LOG("mapped %zu after the first round, %zu after the second",
		       s1.mapped_bytes, s3.mapped_bytes);
	scrub();
	ASSERT_EQ(0, collect_swept());
	ASSERT_EQ(0, mix_verify(keep, &m, why, sizeof(why))) TH_LOG("%s", why);
	ASSERT_EQ(0, mix_verify(keep2, &m2, why, sizeof(why))) TH_LOG("%s", why);
	ASSERT_EQ(0, gch_last_collection(&c));
	EXPECT_LE(m2.garbage * 95 / 100, c.objects_freed);
	free(m.size);
	free(m2.size);
}

/* @holder (pointer-free) holds the only pointer to the list at hidden @h. */
static noinline void store_in(void *holder, uintptr_t h)
{
	*(void **)holder = unhide(h);
}

static noinline bool holds(const void *holder, uintptr_t h)
{
	return gch_base(holder) == holder && *(void *const *)holder == unhide(h);
}

TEST_F_TIMEOUT(gc, pointer_free_objects_not_scanned, 60)
{
	struct lists A, S;
	void *atomic, *scanned;
	char why[512];

	atomic = gch_malloc_atomic(64);
	scanned = gch_malloc(64);
	ASSERT_NE(NULL, atomic);
	ASSERT_NE(NULL, scanned);
	g_bss_root = atomic;
	g_data_ptr = scanned;
	ASSERT_EQ(0, lists_build(&A, 1, 91));
	ASSERT_EQ(0, lists_build(&S, 1, 92));
	store_in(atomic, A.head[0]);
	store_in(scanned, S.head[0]);
	scrub();
	ASSERT_EQ(0, gch_collect()) TH_LOG("%s", strerror(errno));
	/* the pointer-free object and its bytes stay as they were */
	EXPECT_TRUE(holds(atomic, A.head[0]));
	EXPECT_TRUE(holds(scanned, S.head[0]));
	/* what only it pointed to is gone; what a scanned one points to is not */
	EXPECT_FALSE(is_allocated(A.head[0]))
		TH_LOG("a pointer in a gch_malloc_atomic() object kept its target");
	EXPECT_GE(A.n / 10, count_allocated(A.addrs[0], A.n));
	EXPECT_EQ(0, lists_verify(&S, why, sizeof(why))) TH_LOG("%s", why);
	lists_free(&A);
	lists_free(&S);
}

/* --- 3. mutators and a collector ---------------------------------------------- */

/*
 * Collections while threads allocate, on both allocation paths: per-CPU
 * caches (rseq, where glibc registered it) and per-thread caches (whose
 * blocks are heap objects the collector must keep), with automatic
 * collection on.
 */
FIXTURE(gcv) {
	int unused;
};

FIXTURE_VARIANT(gcv) {
	bool no_rseq;
};

FIXTURE_VARIANT_ADD(gcv, percpu) {
	.no_rseq = false,
};

FIXTURE_VARIANT_ADD(gcv, per_thread) {
	.no_rseq = true,
};

FIXTURE_SETUP(gcv)
{
	ASSERT_EQ(0, unsetenv("GCHEAP_GOGC"));
	ASSERT_EQ(0, unsetenv("GCHEAP_MAX_HEAP"));
	if (variant->no_rseq) {
		ASSERT_EQ(0, setenv("GCHEAP_NO_RSEQ", "1", 1));
	} else {
		ASSERT_EQ(0, unsetenv("GCHEAP_NO_RSEQ"));
	}
	pin_arena_start(_metadata);
}

FIXTURE_TEARDOWN(gcv)
{
}

#define MUTATORS	8
#define STRESS_ROUNDS	50

struct collector {
	pthread_t thread;
	int *stop;
	int *exited;
	unsigned int rounds;
	unsigned int errors;
	int err;
	unsigned int bad_threads;
	unsigned int seen_threads;
};

static void *collector_run(void *arg)
{
	struct collector *co = arg;
	struct gch_collection c;
	unsigned int i;

	for (i = 0; i < STRESS_ROUNDS; i++) {
		int gone = __atomic_load_n(co->exited, __ATOMIC_ACQUIRE);

		if (gch_collect()) {
			if (!co->errors++)
				co->err = errno;
			continue;
		}
		co->rounds++;
		/*
		 * The last collection may be another thread's, but stops as
		 * many: the main thread and the other mutators (as long as
		 * none ended meanwhile, which only a failing one does).
		 */
		if (!gch_last_collection(&c) &&
		    gone == __atomic_load_n(co->exited, __ATOMIC_ACQUIRE) &&
		    c.threads != MUTATORS + 1 - gone) {
			co->bad_threads++;
			co->seen_threads = c.threads;
		}
		usleep(2000);
	}
	__atomic_store_n(co->stop, 1, __ATOMIC_RELEASE);
	return NULL;
}

TEST_F_TIMEOUT(gcv, mutators_and_collector, 600)
{
	static struct mutator m[MUTATORS];
	static struct collector co;
	static int stop, exited;
	struct gch_heap_stats st;
	struct timespec deadline;
	unsigned long total = 0;
	uint64_t t0 = now_ns();
	unsigned int i;

	ASSERT_EQ(0, gch_stats(&st));
	if (variant->no_rseq) {
		ASSERT_EQ(0, st.percpu) TH_LOG("GCHEAP_NO_RSEQ=1, yet per-CPU caches");
	}
	co.stop = &stop;
	co.exited = &exited;
	for (i = 0; i < MUTATORS; i++) {
		m[i].id = i;
		m[i].stop = &stop;
		m[i].exited = &exited;
		ASSERT_EQ(0, pthread_create(&m[i].thread, NULL, mutator_run, &m[i]));
	}
	ASSERT_EQ(0, pthread_create(&co.thread, NULL, collector_run, &co));
	/*
	 * A hang detector, not a timing: the debug kernel with
	 * concurrent_mark=1 took 150 s for 49 of the 50.
	 */
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 500;
	ASSERT_EQ(0, pthread_timedjoin_np(co.thread, NULL, &deadline))
		TH_LOG("the collecting thread did not finish %d collections in 500 s (%u done)",
		       STRESS_ROUNDS, co.rounds);
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 20;
	for (i = 0; i < MUTATORS; i++) {
		ASSERT_EQ(0, pthread_timedjoin_np(m[i].thread, NULL, &deadline))
			TH_LOG("mutator %u did not finish", i);
	}
	ASSERT_EQ(0, gch_stats(&st));
	for (i = 0; i < MUTATORS; i++) {
		EXPECT_EQ(0, m[i].bad) TH_LOG("%s", m[i].why);
		EXPECT_LT(0, m[i].iterations) TH_LOG("mutator %u never got to build anything", i);
		total += m[i].iterations;
	}
	TH_LOG("%.1f s: %u collections by the collecting thread, %llu in all (the others paced), %lu structures built; pauses %.1f ms in all",
	       (now_ns() - t0) / 1e9, co.rounds, (unsigned long long)st.num_gc,
	       total, st.pause_total_ns / 1e6);
	EXPECT_EQ(0, co.errors) TH_LOG("gch_collect failed %u times, first: %s",
				       co.errors, strerror(co.err));
	EXPECT_EQ(STRESS_ROUNDS, co.rounds);
	EXPECT_EQ(0, co.bad_threads)
		TH_LOG("%u collections stopped another number of threads than were there (e.g. %u)",
		       co.bad_threads, co.seen_threads);
	EXPECT_LE(STRESS_ROUNDS, st.num_gc);
}

/* --- 4. blocked system calls ------------------------------------------------------- */

enum { BLK_READ, BLK_SLEEP, BLK_FUTEX, BLK_POLL, NBLK };
static const char *const blk_name[NBLK] = { "read", "nanosleep", "futex", "poll" };

#define SLEEP_NS	(2 * NSEC)

struct blocker {
	pthread_t thread;
	int kind;
	int tid;
	int started;
	int fd;
	int *futex_word;
	const struct lists *L;
	long ret;
	int err;
	short revents;
	uint64_t t0, t1;
	char buf[32];
	int verified;
	char why[512];
};

static noinline void *blocker_run(void *arg)
{
	struct blocker *b = arg;
	struct timespec ts = { SLEEP_NS / NSEC, SLEEP_NS % NSEC }, rem;
	struct pollfd pfd = { .fd = b->fd, .events = POLLIN };
	void *volatile mine = NULL;
	unsigned int k = b->kind;

	/* a list only this frame references, across the blocking call */
	store_slot(&mine, b->L->head[k]);
	scrub();
	__atomic_store_n(&b->tid, gettid_(), __ATOMIC_RELAXED);
	b->t0 = now_ns();
	__atomic_store_n(&b->started, 1, __ATOMIC_RELEASE);
	errno = 0;
	switch (b->kind) {
	case BLK_READ:
		b->ret = read(b->fd, b->buf, 16);
		break;
	case BLK_SLEEP:
		b->ret = nanosleep(&ts, &rem);
		break;
	case BLK_FUTEX:
		b->ret = syscall(SYS_futex, b->futex_word, FUTEX_WAIT_PRIVATE, 0,
				 NULL, NULL, 0);
		break;
	default:
		b->ret = poll(&pfd, 1, -1);
		b->revents = pfd.revents;
		break;
	}
	b->err = errno;
	b->t1 = now_ns();
	if (load_slot(&mine) != b->L->head[k]) {
		snprintf(b->why, sizeof(b->why), "the stack slot changed");
		b->verified = -1;
	} else {
		b->verified = verify_list(b->L->head[k], b->L->seed[k], b->L->n,
					  true, b->why, sizeof(b->why));
	}
	mine = NULL;
	return NULL;
}

/*
 * The system call thread @tid is blocked in (/proc/self/task/TID/syscall),
 * -1 if it is running or not in one, -2 if the file cannot be read.
 */
static long blocked_in(int tid)
{
	char path[64], line[256];
	long nr = -2;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", tid);
	f = fopen(path, "r");
	if (!f)
		return -2;
	if (fgets(line, sizeof(line), f))
		nr = strncmp(line, "running", 7) ? strtol(line, NULL, 10) : -1;
	fclose(f);
	return nr < 0 && nr != -2 ? -1 : nr;
}

static bool blocked_as_expected(int kind, long nr)
{
	switch (kind) {
	case BLK_READ:
		return nr == SYS_read;
	case BLK_SLEEP:
		return nr == SYS_nanosleep || nr == SYS_clock_nanosleep ||
		       nr == SYS_restart_syscall;
	case BLK_FUTEX:
		return nr == SYS_futex;
	default:
		return nr == SYS_poll || nr == SYS_ppoll || nr == SYS_restart_syscall;
	}
}

/* Wait (up to @ms) until every blocker in @mask sits in its system call. */
static int wait_blocked(struct blocker *b, unsigned int mask, unsigned int ms,
			long *last)
{
	uint64_t end = now_ns() + ms * MSEC;
	unsigned int k, ok;

	for (;;) {
		ok = 0;
		for (k = 0; k < NBLK; k++) {
			if (!(mask & (1U << k)))
				continue;
			last[k] = blocked_in(b[k].tid);
			if (last[k] == -2)
				return -2;
			ok += blocked_as_expected(k, last[k]);
		}
		if (ok == (unsigned int)__builtin_popcount(mask))
			return 0;
		if (now_ns() > end)
			return -1;
		usleep(2000);
	}
}

TEST_F_TIMEOUT(gc, blocked_syscalls_restart, 60)
{
	static struct blocker b[NBLK];
	static int futex_word;
	struct gch_collection c;
	struct timespec deadline;
	int rp[2], pp[2], err;
	unsigned int k, n = 0;
	long last[NBLK] = { -3, -3, -3, -3 };
	struct lists L;
	uint64_t elapsed;

	ASSERT_EQ(0, gch_collect());
	ASSERT_EQ(0, lists_build(&L, NBLK, 101)) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, pipe2(rp, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(pp, O_CLOEXEC));
	for (k = 0; k < NBLK; k++) {
		b[k].kind = k;
		b[k].L = &L;
		b[k].fd = k == BLK_READ ? rp[0] : pp[0];
		b[k].futex_word = &futex_word;
		ASSERT_EQ(0, pthread_create(&b[k].thread, NULL, blocker_run, &b[k]));
	}
	for (k = 0; k < NBLK; k++) {
		ASSERT_TRUE(wait_for(&b[k].started, 1, 10000));
	}
	err = wait_blocked(b, (1U << NBLK) - 1, 10000, last);
	if (err == -2) {
		TH_LOG("/proc/self/task/*/syscall unreadable: cannot check where the threads block");
		usleep(300000);
	} else {
		ASSERT_EQ(0, err) TH_LOG("threads not blocked in their calls: read %ld, sleep %ld, futex %ld, poll %ld",
					 last[0], last[1], last[2], last[3]);
	}

	/* collect every 100 ms until 1.8 s into the 2 s sleep */
	while (now_ns() - b[BLK_SLEEP].t0 < SLEEP_NS - 200 * MSEC) {
		scrub();
		ASSERT_EQ(0, gch_collect()) TH_LOG("collection %u: %s", n + 1, strerror(errno));
		ASSERT_EQ(0, gch_last_collection(&c));
		EXPECT_EQ(NBLK, c.threads) TH_LOG("collection %u", n + 1);
		n++;
		usleep(100000);
	}
	EXPECT_LE(3, n) TH_LOG("only %u collections during the sleep", n);
	for (k = 0; k < NBLK; k++)
		if (k != BLK_SLEEP) {
			EXPECT_EQ(0, b[k].t1) TH_LOG("%s returned during the collections (%ld, %s)",
						     blk_name[k], b[k].ret, strerror(b[k].err));
		}
	/* back in their calls, not returned */
	if (err != -2) {
		EXPECT_EQ(0, wait_blocked(b, (1U << BLK_READ) | (1U << BLK_FUTEX) |
					  (1U << BLK_POLL), 5000, last))
			TH_LOG("after %u collections: read %ld, futex %ld, poll %ld",
			       n, last[BLK_READ], last[BLK_FUTEX], last[BLK_POLL]);
	}

	/* wake them */
	ASSERT_EQ(16, write(rp[1], "0123456789abcdef", 16));
	__atomic_store_n(&futex_word, 1, __ATOMIC_RELEASE);
	ASSERT_LE(0, syscall(SYS_futex, &futex_word, FUTEX_WAKE_PRIVATE, INT_MAX,
			     NULL, NULL, 0));
	ASSERT_EQ(1, write(pp[1], "x", 1));
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 10;
	for (k = 0; k < NBLK; k++) {
		ASSERT_EQ(0, pthread_timedjoin_np(b[k].thread, NULL, &deadline))
			TH_LOG("the %s thread did not wake", blk_name[k]);
	}

	EXPECT_EQ(16, b[BLK_READ].ret) TH_LOG("read: %ld, %s", b[BLK_READ].ret,
					      strerror(b[BLK_READ].err));
	EXPECT_EQ(0, memcmp(b[BLK_READ].buf, "0123456789abcdef", 16));
	EXPECT_EQ(0, b[BLK_SLEEP].ret) TH_LOG("nanosleep: %s", strerror(b[BLK_SLEEP].err));
	elapsed = b[BLK_SLEEP].t1 - b[BLK_SLEEP].t0;
	TH_LOG("%u collections; nanosleep(2 s) took %.3f s", n, elapsed / 1e9);
	EXPECT_LE(SLEEP_NS, elapsed) TH_LOG("nanosleep came back early");
	/* restarting from the full time at the last collection would take 3.8 s */
	EXPECT_GT(SLEEP_NS + 1400 * MSEC, elapsed)
		TH_LOG("nanosleep took %.3f s: restarted with its whole time?", elapsed / 1e9);
	EXPECT_EQ(0, b[BLK_FUTEX].ret) TH_LOG("futex wait: %s", strerror(b[BLK_FUTEX].err));
	EXPECT_EQ(1, b[BLK_POLL].ret) TH_LOG("poll: %ld, %s", b[BLK_POLL].ret,
					     strerror(b[BLK_POLL].err));
	EXPECT_TRUE(b[BLK_POLL].revents & POLLIN);
	for (k = 0; k < NBLK; k++) {
		EXPECT_EQ(0, b[k].verified) TH_LOG("the list on the %s thread's stack: %s",
						   blk_name[k], b[k].why);
	}
	expect_freed(_metadata, &L, "the blocked threads' stacks");
	lists_free(&L);
}

/* --- 5, 6. stopped, traced and killed processes ------------------------------------- */

/* What a child process and the test share (MAP_SHARED). */
struct shared {
	int ready;
	int collections;
	int traced;
	int collected;
	int release;
	int tid;
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

/* Start a child that runs @fn(@sh); exits with what it returns. */
static pid_t start_child(int (*fn)(struct shared *), struct shared *sh)
{
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0)
		_exit(fn(sh));
	return pid;
}

/* A child: one mutator, the main thread collecting until released. */
static int stopped_child(struct shared *sh)
{
	struct mutator m;
	struct lists L;
	char why[512];
	int i;

	alarm(100);
	memset(&m, 0, sizeof(m));
	if (lists_build(&L, 1, 111))
		return sh_fail(sh, 10, "lists_build: %s", strerror(errno));
	global_store(0, L.head[0]);
	m.stop = &sh->release;
	if (pthread_create(&m.thread, NULL, mutator_run, &m))
		return sh_fail(sh, 10, "pthread_create failed");
	for (i = 0; !__atomic_load_n(&sh->release, __ATOMIC_ACQUIRE); i++) {
		scrub();
		if (gch_collect())
			return sh_fail(sh, 11, "collection %d: %s", i + 1, strerror(errno));
		__atomic_add_fetch(&sh->collections, 1, __ATOMIC_RELEASE);
		if (lists_verify(&L, why, sizeof(why)))
			return sh_fail(sh, 12, "after collection %d: %s", i + 1, why);
		usleep(5000);
	}
	pthread_join(m.thread, NULL);
	if (m.bad)
		return sh_fail(sh, 13, "%s", m.why);
	if (!m.iterations)
		return sh_fail(sh, 14, "the mutator built nothing");
	return 0;
}

TEST_F_TIMEOUT(proc, sigstop_process, 120)
{
	struct shared *sh = shared_new();
	int status, cycle, n;
	pid_t pid, w;

	ASSERT_NE(NULL, sh);
	pid = start_child(stopped_child, sh);
	ASSERT_LT(0, pid);
	self->child = pid;
	ASSERT_TRUE(wait_for(&sh->collections, 2, 30000))
		TH_LOG("the child did not collect: %s", sh->msg);

	for (cycle = 0; cycle < 4; cycle++) {
		usleep(20000 + cycle * 7000);
		ASSERT_EQ(0, kill(pid, SIGSTOP));
		w = wait_timeout(pid, &status, WUNTRACED, 10000);
		ASSERT_EQ(pid, w) TH_LOG("stop %d: the child did not stop within 10 s", cycle + 1);
		ASSERT_TRUE(WIFSTOPPED(status)) TH_LOG("status %#x: %s", status, sh->msg);
		n = __atomic_load_n(&sh->collections, __ATOMIC_ACQUIRE);
		usleep(100000);
		EXPECT_EQ(n, __atomic_load_n(&sh->collections, __ATOMIC_ACQUIRE))
			TH_LOG("the stopped child went on collecting");
		ASSERT_EQ(0, kill(pid, SIGCONT));
		w = wait_timeout(pid, &status, WCONTINUED, 10000);
		ASSERT_EQ(pid, w);
		EXPECT_TRUE(WIFCONTINUED(status)) TH_LOG("status %#x: %s", status, sh->msg);
		EXPECT_TRUE(wait_for(&sh->collections, n + 2, 20000))
			TH_LOG("stop %d: no collections after SIGCONT (%d): %s", cycle + 1,
			       __atomic_load_n(&sh->collections, __ATOMIC_ACQUIRE), sh->msg);
	}
	__atomic_store_n(&sh->release, 1, __ATOMIC_RELEASE);
	w = wait_timeout(pid, &status, 0, 30000);
	ASSERT_EQ(pid, w) TH_LOG("the child did not finish within 30 s: %s", sh->msg);
	self->child = 0;
	EXPECT_TRUE(EXITED_WITH(status, 0)) TH_LOG("child status %#x: %s", status, sh->msg);
	TH_LOG("%d collections in the child", sh->collections);
}

/* The traced thread: a list on its stack, spinning in user mode. */
static void *traced_run(void *arg)
{
	struct shared *sh = arg;
	void *volatile mine = NULL;
	struct lists L;
	char why[256];

	if (lists_build(&L, 1, 121)) {
		sh_fail(sh, 20, "lists_build: %s", strerror(errno));
		return NULL;
	}
	store_slot(&mine, L.head[0]);
	scrub();
	__atomic_store_n(&sh->tid, gettid_(), __ATOMIC_RELAXED);
	__atomic_store_n(&sh->ready, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&sh->release, __ATOMIC_ACQUIRE))
		asm volatile("pause");
	if (load_slot(&mine) != L.head[0])
		sh_fail(sh, 21, "the traced thread's stack slot changed");
	else if (verify_list(L.head[0], L.seed[0], L.n, true, why, sizeof(why)))
		sh_fail(sh, 22, "the traced thread's list: %s", why);
	mine = NULL;
	return NULL;
}

static int traced_child(struct shared *sh)
{
	struct gch_collection c;
	pthread_t t;
	int i;

	alarm(100);
	prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);
	if (gch_collect())
		return sh_fail(sh, 30, "first collection: %s", strerror(errno));
	if (pthread_create(&t, NULL, traced_run, sh))
		return sh_fail(sh, 30, "pthread_create failed");
	while (!__atomic_load_n(&sh->traced, __ATOMIC_ACQUIRE))
		usleep(1000);
	for (i = 0; i < ROUNDS; i++) {
		scrub();
		if (gch_collect())
			return sh_fail(sh, 31, "collection %d with a thread in a ptrace stop: %s",
				       i + 1, strerror(errno));
		if (gch_last_collection(&c))
			return sh_fail(sh, 32, "gch_last_collection: %s", strerror(errno));
		if (c.threads != 1)
			return sh_fail(sh, 33, "the collection stopped %u other threads, not 1",
				       c.threads);
		if (churn(2000, i))
			return sh_fail(sh, 34, "churn: %s", strerror(errno));
		__atomic_add_fetch(&sh->collections, 1, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&sh->collected, 1, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	return sh->failed ? 35 : 0;
}

TEST_F_TIMEOUT(proc, ptrace_stopped_thread, 120)
{
	struct shared *sh = shared_new();
	int status, tid;
	pid_t pid, w;

	ASSERT_NE(NULL, sh);
	pid = start_child(traced_child, sh);
	ASSERT_LT(0, pid);
	self->child = pid;
	ASSERT_TRUE(wait_for(&sh->ready, 1, 30000)) TH_LOG("child: %s", sh->msg);
	tid = sh->tid;
	if (ptrace(PTRACE_SEIZE, tid, NULL, NULL)) {
		int e = errno;

		if (e == EPERM)
			SKIP(return, "PTRACE_SEIZE of the child's thread: %s (ptrace restricted)",
			     strerror(e));
		ASSERT_EQ(0, e) TH_LOG("PTRACE_SEIZE: %s", strerror(e));
	}
	ASSERT_EQ(0, ptrace(PTRACE_INTERRUPT, tid, NULL, NULL)) TH_LOG("%s", strerror(errno));
	w = wait_timeout(tid, &status, __WALL, 10000);
	ASSERT_EQ(tid, w) TH_LOG("the thread did not stop for the tracer");
	ASSERT_TRUE(WIFSTOPPED(status) && status >> 16 == PTRACE_EVENT_STOP)
		TH_LOG("status %#x", status);

	/* the child collects while one of its threads sits in a ptrace stop */
	__atomic_store_n(&sh->traced, 1, __ATOMIC_RELEASE);
	EXPECT_TRUE(wait_for(&sh->collected, 1, 60000))
		TH_LOG("the child did not finish %d collections in 60 s (%d done): %s",
		       ROUNDS, sh->collections, sh->msg);
	EXPECT_EQ(0, ptrace(PTRACE_DETACH, tid, NULL, NULL)) TH_LOG("%s", strerror(errno));
	__atomic_store_n(&sh->release, 1, __ATOMIC_RELEASE);
	w = wait_timeout(pid, &status, 0, 30000);
	ASSERT_EQ(pid, w) TH_LOG("the child did not finish: %s", sh->msg);
	self->child = 0;
	EXPECT_TRUE(EXITED_WITH(status, 0)) TH_LOG("child status %#x: %s", status, sh->msg);
}

/* A child: 8 mutators and a thread collecting without end. */
static void *endless_collector(void *arg)
{
	struct shared *sh = arg;

	for (;;) {
		if (gch_collect())
			sh_fail(sh, 40, "gch_collect: %s", strerror(errno));
		__atomic_add_fetch(&sh->collections, 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

static int killed_child(struct shared *sh)
{
	static struct mutator m[MUTATORS];
	static int never;
	pthread_t t;
	unsigned int i;

	alarm(60);
	for (i = 0; i < MUTATORS; i++) {
		m[i].id = i;
		m[i].stop = &never;
		if (pthread_create(&m[i].thread, NULL, mutator_run, &m[i]))
			return sh_fail(sh, 41, "pthread_create failed");
	}
	if (pthread_create(&t, NULL, endless_collector, sh))
		return sh_fail(sh, 41, "pthread_create failed");
	__atomic_store_n(&sh->ready, 1, __ATOMIC_RELEASE);
	for (;;) {
		pause();
		for (i = 0; i < MUTATORS; i++)
			if (m[i].bad)
				sh_fail(sh, 42, "%s", m[i].why);
	}
	return 0;
}

/* --- a thread that cannot stop ----------------------------------------------- */

#define STW_TIMEOUT_PARAM "/sys/module/gcheap/parameters/stw_timeout_ms"

/*
 * Set a module parameter for a test, keeping its old value in @old (a
 * string of @*n bytes, written back with pwrite(fd, old, n, 0) at the
 * end).  Return: the open parameter file, or -1 (not root, no module).
 */
static int param_swap(const char *path, const char *val, char *old,
		      size_t size, ssize_t *n)
{
	int fd = open(path, O_RDWR);

	if (fd < 0)
		return -1;
	*n = read(fd, old, size - 1);
	if (*n <= 0 || pwrite(fd, val, strlen(val), 0) != (ssize_t)strlen(val)) {
		close(fd);
		return -1;
	}
	return fd;
}

static int vfork_state;
static void *vfork_list;	/* a root: the executable's bss */

/* vfork(): this thread waits, not interruptibly, until the child exits. */
static void *vfork_waiter(void *arg)
{
	pid_t pid;

	__atomic_store_n(&vfork_state, 1, __ATOMIC_RELEASE);
	pid = vfork();
	if (pid == 0) {
		struct timespec ts = { .tv_sec = 2 };

		nanosleep(&ts, NULL);
		_exit(0);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
	return NULL;
}

/*
 * Child of uninterruptible_thread_times_out: 0 if a collection while a
 * thread sits in vfork() fails with ETIMEDOUT, frees nothing and leaves the
 * process working, and one after the vfork() ends succeeds.
 */
static int vfork_child(void)
{
	struct gch_heap_stats before, after;
	char why[256];
	uintptr_t h;
	pthread_t t;
	int ret = 0;

	h = build_list(7, 2000, NULL);
	vfork_list = unhide(h);
	if (!h || gch_stats(&before))
		return 1;
	if (pthread_create(&t, NULL, vfork_waiter, NULL))
		return 2;
	if (!wait_for(&vfork_state, 1, 5000))
		return 3;
	usleep(200 * 1000);	/* into vfork() */
	if (gch_collect() == 0 || errno != ETIMEDOUT)
		ret = 4;
	else if (gch_stats(&after) || after.num_gc != before.num_gc)
		ret = 5;
	else if (verify_list(hide(vfork_list), 7, 2000, true, why, sizeof(why)))
		ret = 6;
	pthread_join(t, NULL);
	if (!ret && (gch_collect() ||
		     verify_list(hide(vfork_list), 7, 2000, true, why,
				 sizeof(why))))
		ret = 7;
	return ret;
}

/*
 * A thread in uninterruptible sleep (a vfork() parent) cannot park: the
 * collection ends with ETIMEDOUT after stw_timeout_ms, every thread runs
 * on, nothing is freed, and the next collection works.
 */
TEST_F(proc, uninterruptible_thread_times_out)
{
	char old[32] = "";
	int fd, status;
	ssize_t n;

	fd = param_swap(STW_TIMEOUT_PARAM, "300\n", old, sizeof(old), &n);
	if (fd < 0)
		SKIP(return, "%s: %s (needs root and the module)",
		     STW_TIMEOUT_PARAM, strerror(errno));
	self->child = fork();
	ASSERT_LE(0, self->child);
	if (self->child == 0)
		_exit(vfork_child());
	ASSERT_EQ(self->child, wait_timeout(self->child, &status, 0, 30000));
	self->child = 0;
	EXPECT_EQ(n, pwrite(fd, old, n, 0));
	close(fd);
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status))
		TH_LOG("step %d failed (4: no ETIMEDOUT, 5: a collection was counted, 6: the list was damaged, 7: no collection afterwards)",
		       WEXITSTATUS(status));
}

/* A child with a heap of its own: collect, keep a list, free garbage. */
static int fresh_child(struct shared *sh)
{
	struct lists L, G;
	char why[512];

	g_pin = gch_malloc_atomic(40000);	/* see pin_arena_start() */
	if (!g_pin || gch_set_gc_percent(-1) != 100 ||
	    lists_build(&L, 1, 131) || lists_build(&G, 1, 132))
		return sh_fail(sh, 50, "lists_build: %s", strerror(errno));
	global_store(0, L.head[0]);
	scrub();
	if (gch_collect())
		return sh_fail(sh, 51, "gch_collect: %s", strerror(errno));
	if (lists_verify(&L, why, sizeof(why)))
		return sh_fail(sh, 52, "%s", why);
	if (is_allocated(G.head[0]))
		return sh_fail(sh, 53, "garbage survived");
	return 0;
}

TEST_F_TIMEOUT(proc, sigkill_mid_collection, 180)
{
	struct shared *sh = shared_new();
	unsigned int seed = 1, i, delay;
	struct lists L;
	char why[512];
	int status;
	pid_t pid, w;

	ASSERT_NE(NULL, sh);
	for (i = 0; i < 16; i++) {
		memset(sh, 0, sizeof(*sh));
		pid = start_child(killed_child, sh);
		ASSERT_LT(0, pid);
		self->child = pid;
		ASSERT_TRUE(wait_for(&sh->ready, 1, 20000)) TH_LOG("child %u: %s", i, sh->msg);
		/* mostly while collections run; now and then during the first */
		if (i % 4) {
			ASSERT_TRUE(wait_for(&sh->collections, 1 + i % 2, 30000))
				TH_LOG("child %u did not collect: %s", i, sh->msg);
		}
		delay = rand_r(&seed) % 15000;
		usleep(delay);
		ASSERT_EQ(0, kill(pid, SIGKILL));
		w = wait_timeout(pid, &status, 0, 10000);
		ASSERT_EQ(pid, w) TH_LOG("child %u, killed after %u collections + %u us, did not die within 10 s",
					 i, sh->collections, delay);
		self->child = 0;
		EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
			TH_LOG("child %u: status %#x: %s", i, status, sh->msg);
		EXPECT_EQ(0, sh->failed) TH_LOG("child %u: %s", i, sh->msg);
	}

	/* a new process still gets a working heap and collector */
	memset(sh, 0, sizeof(*sh));
	pid = start_child(fresh_child, sh);
	ASSERT_LT(0, pid);
	self->child = pid;
	w = wait_timeout(pid, &status, 0, 30000);
	ASSERT_EQ(pid, w);
	self->child = 0;
	EXPECT_TRUE(EXITED_WITH(status, 0)) TH_LOG("status %#x: %s", status, sh->msg);

	/* and so does this one (it never used the heap before) */
	pin_arena_start(_metadata);
	ASSERT_EQ(100, gch_set_gc_percent(-1));
	ASSERT_EQ(0, lists_build(&L, 1, 133));
	global_store(0, L.head[0]);
	scrub();
	ASSERT_EQ(0, gch_collect()) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(0, lists_verify(&L, why, sizeof(why))) TH_LOG("%s", why);
	global_store(0, 0);
	expect_freed(_metadata, &L, "after the killed children");
	lists_free(&L);
}

/* --- 7. memory goes back ------------------------------------------------------------- */

#define FILL_BYTES	(64 * MiB)
#define FILL_MAX	200000

/* FILL_BYTES in objects of 16 bytes to 256 KiB, held from @g_bss_root. */
static noinline int fill_heap(size_t *objects, size_t *bytes)
{
	void **v = gch_malloc(FILL_MAX * sizeof(void *));
	uint64_t rs = 141;
	size_t total = 0, i, size;
	char *p;

	if (!v)
		return -1;
	g_bss_root = v;
	for (i = 0; total < FILL_BYTES && i < FILL_MAX; i++) {
		uint64_t r = rnd64(&rs);

		size = i % 64 == 63 ? 33 * KiB + r % (224 * KiB) : 16 + r % 2032;
		p = (r & 1) ? gch_malloc_atomic(size) : gch_malloc(size);
		if (!p)
			return -1;
		memset(p, 0x5a, size);
		v[i] = p;
		total += size;
	}
	*objects = i;
	*bytes = total;
	return 0;
}

/*
 * What a program without signal handlers sees in a call the kernel does
 * not restart: a thread asleep in epoll_wait() when a collection begins
 * is taken as stopped where it sleeps and is not woken, so the call does
 * not return EINTR (bdwgc's suspend signal makes it, SA_RESTART does not
 * apply to epoll_wait).  Only a collection that finds the thread between
 * two calls kicks it (TWA_SIGNAL), and its next call may return EINTR.
 * Documented in design.rst; this measures it so the documentation stays
 * true.
 */
struct epoll_waiter {
	int epfd;
	int started;
	int stop;
	unsigned int calls, eintr, other;
};

static void *epoll_waiter_run(void *arg)
{
	struct epoll_waiter *e = arg;
	struct epoll_event ev;
	int r;

	__atomic_store_n(&e->started, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&e->stop, __ATOMIC_ACQUIRE)) {
		r = epoll_wait(e->epfd, &ev, 1, 200);
		e->calls++;
		if (r < 0 && errno == EINTR)
			e->eintr++;
		else if (r != 0)
			e->other++;
	}
	return NULL;
}

TEST_F_TIMEOUT(gc, epoll_wait_eintr, 60)
{
	struct epoll_waiter e = { 0 };
	pthread_t t;
	unsigned int n;

	e.epfd = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, e.epfd);
	ASSERT_EQ(0, pthread_create(&t, NULL, epoll_waiter_run, &e));
	ASSERT_TRUE(wait_for(&e.started, 1, 10000));
	for (n = 0; n < 10; n++) {
		usleep(50000);
		ASSERT_EQ(0, gch_collect()) TH_LOG("%s", strerror(errno));
	}
	__atomic_store_n(&e.stop, 1, __ATOMIC_RELEASE);
	ASSERT_EQ(0, pthread_join(t, NULL));
	close(e.epfd);
	TH_LOG("%u collections: epoll_wait returned %u times, %u with EINTR",
	       n, e.calls, e.eintr);
	EXPECT_EQ(0, e.other);
	/* it is asleep in epoll_wait for nearly all of each collection */
	EXPECT_GE(1, e.eintr);
}

/*
 * The sweep runs in the background and emptied spans keep their pages,
 * idle, until the scavenger returns them: within two scavenge_delay_ms
 * periods (1 s by default) once nothing reuses them.  Allow ten.
 */
#define SCAVENGE_BOUND_MS	10000

TEST_F_TIMEOUT(gc, memory_returned, 120)
{
	struct gch_heap_stats peak, after;
	struct gch_collection c[2];
	size_t objects, bytes;
	long rss_peak, rss_after;
	uint64_t t0, waited;
	int i;

	ASSERT_EQ(0, fill_heap(&objects, &bytes)) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, gch_stats(&peak));
	rss_peak = mapping_rss_kb(peak.arena_start);
	ASSERT_LE((long)(FILL_BYTES / KiB * 9 / 10), rss_peak)
		TH_LOG("arena RSS %ld kB with %zu bytes live: cannot measure", rss_peak, bytes);

	g_bss_root = NULL;
	for (i = 0; i < 2; i++) {
		scrub();
		ASSERT_EQ(0, gch_collect()) TH_LOG("%s", strerror(errno));
	}
	t0 = now_ns();
	do {
		ASSERT_EQ(0, gch_stats(&after));
		rss_after = mapping_rss_kb(after.arena_start);
		if (!after.unswept_spans && !after.idle_bytes)
			break;
		usleep(10000);
	} while (now_ns() - t0 < SCAVENGE_BOUND_MS * 1000000ULL);
	waited = (now_ns() - t0) / 1000000;
	/* the history has the final numbers once the sweep is done */
	ASSERT_EQ(2, gch_collections(c, 2));
	TH_LOG("%zu objects, %zu MiB: arena RSS %ld -> %ld kB after %llu ms, mapped %zu -> %zu kB, in use %zu -> %zu kB, idle %zu kB, scavenged %llu kB; freed %llu + %llu objects, %llu + %llu pages released",
	       objects, bytes / MiB, rss_peak, rss_after, (unsigned long long)waited,
	       peak.mapped_bytes / KiB, after.mapped_bytes / KiB, peak.inuse_bytes / KiB,
	       after.inuse_bytes / KiB, after.idle_bytes / KiB,
	       (unsigned long long)(after.scavenged_bytes - peak.scavenged_bytes) / KiB,
	       (unsigned long long)c[0].objects_freed, (unsigned long long)c[1].objects_freed,
	       (unsigned long long)c[0].pages_released, (unsigned long long)c[1].pages_released);
	EXPECT_EQ(0, after.unswept_spans);
	EXPECT_EQ(0, after.idle_bytes) TH_LOG("the scavenger kept pages for %d ms",
					      SCAVENGE_BOUND_MS);
	EXPECT_LE(objects * 95 / 100, c[0].objects_freed + c[1].objects_freed);
	EXPECT_GE(rss_peak / 10, rss_after)
		TH_LOG("freed memory stayed in the process for %d ms", SCAVENGE_BOUND_MS);
	EXPECT_GE(peak.mapped_bytes / 10, after.mapped_bytes);
	EXPECT_LT(0, c[0].pages_released + c[1].pages_released);
	EXPECT_LT(0, c[0].spans_released + c[1].spans_released);
	EXPECT_LE((rss_peak - rss_after) * KiB * 9 / 10,
		  after.scavenged_bytes - peak.scavenged_bytes)
		TH_LOG("scavenged_bytes does not account for the RSS that went");
}

#define SCAVENGE_PARAM "/sys/module/gcheap/parameters/scavenge_delay_ms"

static long minor_faults(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

/*
 * After a collection the emptied spans' pages are idle, not gone: filling
 * the heap again reuses them, still mapped, with hardly a page fault.
 * The scavenger is held off (a minute's period) so that it cannot return
 * them first.  An arena the collection write-protected (cmark_wp) takes
 * one write fault a page; a page faulted in again would take two.
 */
TEST_F_TIMEOUT(gc, freed_pages_kept_for_reuse, 120)
{
	struct gch_heap_stats peak, after, again;
	struct gch_collection last;
	bool wp;
	size_t objects, bytes;
	long flt, pages;
	char old[32] = "";
	ssize_t n;
	int fd;

	fd = param_swap(SCAVENGE_PARAM, "60000\n", old, sizeof(old), &n);
	if (fd < 0)
		SKIP(return, "%s: %s (needs root and the module)",
		     SCAVENGE_PARAM, strerror(errno));

	ASSERT_EQ(0, fill_heap(&objects, &bytes)) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, gch_stats(&peak));
	g_bss_root = NULL;
	scrub();
	ASSERT_EQ(0, collect_swept()) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, gch_stats(&after));
	ASSERT_EQ(0, gch_last_collection(&last));
	wp = last.phases & GCH_PHASES_WRITE_PROTECT;
	flt = minor_faults();
	ASSERT_EQ(0, fill_heap(&objects, &bytes)) TH_LOG("%s", strerror(errno));
	flt = minor_faults() - flt;
	ASSERT_EQ(0, gch_stats(&again));
	EXPECT_EQ(n, pwrite(fd, old, n, 0));
	close(fd);
	pages = bytes / 4096;
	TH_LOG("%zu MiB mapped at the peak; after the sweep %zu MiB idle; refilled %zu MiB with %ld page faults (%ld pages), %zu MiB idle left",
	       peak.mapped_bytes / MiB, after.idle_bytes / MiB, bytes / MiB, flt, pages,
	       again.idle_bytes / MiB);
	EXPECT_EQ(0, after.unswept_spans);
	EXPECT_EQ(peak.scavenged_bytes, again.scavenged_bytes);
	EXPECT_LE(peak.mapped_bytes / 2, after.idle_bytes);
	EXPECT_GE(after.idle_bytes / 4, again.idle_bytes) TH_LOG("idle pages were not reused");
	/* a write-protected arena: one write fault a page, no more */
	EXPECT_GE(wp ? pages + pages / 4 : pages / 4, flt)
		TH_LOG("the refill faulted its pages in again");
}

/*
 * The goal bounds what the heap keeps idle: with collection on, a sweep
 * that leaves the heap far above its new goal returns the idle pages
 * beyond half the goal above it at once, at the sweep's end, not at the
 * scavenger's next tick (held off a minute here).  (The fixture turns
 * collection off, which keeps every idle page until the tick: the test
 * above.)
 */
TEST_F_TIMEOUT(gc, sweep_trims_idle_to_goal, 120)
{
	struct gch_heap_stats peak, after;
	size_t objects, bytes, bound;
	char old[32] = "";
	ssize_t n;
	int fd;

	fd = param_swap(SCAVENGE_PARAM, "60000\n", old, sizeof(old), &n);
	if (fd < 0)
		SKIP(return, "%s: %s (needs root and the module)",
		     SCAVENGE_PARAM, strerror(errno));

	ASSERT_EQ(-1, gch_set_gc_percent(100));
	ASSERT_EQ(0, fill_heap(&objects, &bytes)) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, gch_stats(&peak));
	g_bss_root = NULL;
	scrub();
	ASSERT_EQ(0, collect_swept()) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, gch_stats(&after));
	EXPECT_EQ(n, pwrite(fd, old, n, 0));
	close(fd);
	bound = after.heap_goal + after.heap_goal / 2;
	TH_LOG("%zu MiB mapped at the peak; after the sweep: goal %llu kB, mapped %zu kB, idle %zu kB, %llu kB scavenged",
	       peak.mapped_bytes / MiB, (unsigned long long)after.heap_goal / KiB,
	       after.mapped_bytes / KiB, after.idle_bytes / KiB,
	       (unsigned long long)(after.scavenged_bytes - peak.scavenged_bytes) / KiB);
	ASSERT_NE(0, after.heap_goal);
	EXPECT_EQ(0, after.unswept_spans);
	EXPECT_LE(peak.mapped_bytes / 2, after.scavenged_bytes - peak.scavenged_bytes)
		TH_LOG("the sweep's end returned no pages");
	if (after.idle_bytes)
		EXPECT_GE(bound, after.mapped_bytes + after.idle_bytes)
			TH_LOG("idle pages kept beyond 1.5 x the goal");
}

/* --- 8. pacing ------------------------------------------------------------------------- */

/* Allocate @n dropped objects of @size; the largest inuse_bytes seen. */
static noinline int garbage(unsigned int n, size_t size, size_t *max_inuse,
			    uint64_t stop_when_num_gc)
{
	struct gch_heap_stats st;
	unsigned int i;
	char *p;

	for (i = 0; i < n; i++) {
		p = gch_malloc(size);
		if (!p)
			return -1;
		memset(p, 1, 64);
		if (i % 64 == 0) {
			if (gch_stats(&st))
				return -1;
			if (st.inuse_bytes > *max_inuse)
				*max_inuse = st.inuse_bytes;
			if (stop_when_num_gc && st.num_gc >= stop_when_num_gc)
				break;
		}
	}
	return 0;
}

TEST_F_TIMEOUT(proc, gc_percent, 120)
{
	struct gch_heap_stats s0, s1, s2, s3;
	struct gch_collection c;
	size_t max_inuse = 0;
	struct lists L;
	char why[512];

	pin_arena_start(_metadata);
	/* the setting */
	EXPECT_EQ(100, gch_set_gc_percent(100)) TH_LOG("the default is 100");
	EXPECT_EQ(100, gch_set_gc_percent(50));
	ASSERT_EQ(0, gch_stats(&s0));
	EXPECT_EQ(50, s0.gc_percent);
	EXPECT_EQ(50, gch_set_gc_percent(-1));
	EXPECT_EQ(-1, gch_set_gc_percent(-7));
	ASSERT_EQ(0, gch_stats(&s0));
	EXPECT_EQ(GCH_GC_PERCENT_OFF, s0.gc_percent);
	EXPECT_EQ(0, s0.heap_goal);
	EXPECT_EQ(-1, gch_set_gc_percent(1000000));
	errno = 0;
	EXPECT_EQ(-2, gch_set_gc_percent(1000001));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(1000000, gch_set_gc_percent(100)) TH_LOG("a refused value changed the setting");

	/* 100: garbage makes collections by itself, the heap stays small */
	ASSERT_EQ(0, lists_build(&L, 1, 151));
	global_store(0, L.head[0]);
	ASSERT_EQ(0, gch_stats(&s0));
	ASSERT_EQ(0, garbage(2048, 8192, &max_inuse, 0)) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, gch_stats(&s1));
	TH_LOG("16 MiB of garbage with 100%%: %llu collections, in use at most %zu kB, goal %llu kB",
	       (unsigned long long)(s1.num_gc - s0.num_gc), max_inuse / KiB,
	       (unsigned long long)s1.heap_goal / KiB);
	EXPECT_LE(s0.num_gc + 2, s1.num_gc) TH_LOG("no automatic collections");
	EXPECT_GE(12 * MiB, max_inuse) TH_LOG("the heap was not kept in bounds");
	EXPECT_LT(0, s1.heap_goal);
	ASSERT_EQ(0, gch_last_collection(&c));
	EXPECT_EQ(GCH_GC_REASON_GOAL, c.reason);
	EXPECT_LT(c.heap_after, c.heap_goal);
	EXPECT_EQ(0, lists_verify(&L, why, sizeof(why))) TH_LOG("%s", why);

	/* off: none */
	EXPECT_EQ(100, gch_set_gc_percent(-1));
	ASSERT_EQ(0, wait_swept());	/* no sweep shrinks the heap meanwhile */
	ASSERT_EQ(0, gch_stats(&s2));
	EXPECT_EQ(0, s2.heap_goal);
	ASSERT_EQ(0, garbage(1024, 8192, &max_inuse, 0)) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, gch_stats(&s3));
	EXPECT_EQ(s2.num_gc, s3.num_gc) TH_LOG("collections with automatic collection off");
	EXPECT_LE(s2.inuse_bytes + 7 * MiB, s3.inuse_bytes);

	/* on again: the heap is far past its goal, a collection comes soon */
	EXPECT_EQ(-1, gch_set_gc_percent(100));
	ASSERT_EQ(0, garbage(1024, 8192, &max_inuse, s3.num_gc + 1)) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, gch_stats(&s2));
	EXPECT_LT(s3.num_gc, s2.num_gc) TH_LOG("no collection after turning pacing back on");
	EXPECT_EQ(0, lists_verify(&L, why, sizeof(why))) TH_LOG("%s", why);
	global_store(0, 0);
	lists_free(&L);
}

/* --- 9. gch_add_roots() -------------------------------------------------------------- */

TEST_F_TIMEOUT(gc, add_remove_roots, 60)
{
	const long page = sysconf(_SC_PAGESIZE);
	struct gch_heap_stats st;
	struct lists L, M;
	void *volatile *block;
	void **ranges;
	char *map;
	int i, n;

	block = calloc(512, sizeof(void *));	/* 4 KiB of malloc() memory */
	ASSERT_NE(NULL, block);

	/* bad input */
	errno = 0;
	EXPECT_EQ(-1, gch_add_roots((void *)block, (void *)block));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, gch_add_roots((void *)(block + 1), (void *)block));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, gch_remove_roots((void *)(block + 1), (void *)block));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, gch_add_roots((void *)0xffff888000000000UL,
				    (void *)0xffff888000001000UL));
	EXPECT_EQ(EINVAL, errno) TH_LOG("a kernel address");
	errno = 0;
	EXPECT_EQ(-1, gch_add_roots((void *)0xfffffffffff000UL, (void *)0x100000000001000UL));
	EXPECT_EQ(EINVAL, errno) TH_LOG("a range past the user address space (2^56)");

	/* a malloc()ed block holding the only pointers, in two ranges */
	ASSERT_EQ(0, lists_build(&L, 1, 161));
	ASSERT_EQ(0, lists_build(&M, 1, 162));
	store_slot(&block[100], L.head[0]);
	store_slot(&block[400], M.head[0]);
	ASSERT_EQ(0, gch_add_roots((void *)block, (void *)(block + 256)))
		TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, gch_add_roots((void *)(block + 256), (void *)(block + 512)))
		TH_LOG("%s", strerror(errno));
	collect_verify(_metadata, &L, "a gch_add_roots() range of malloc() memory", 0);
	collect_verify(_metadata, &M, "a second gch_add_roots() range", 0);
	/* only the first range goes */
	ASSERT_EQ(0, gch_remove_roots((void *)block, (void *)(block + 256)));
	expect_freed(_metadata, &L, "a removed root range");
	collect_verify(_metadata, &M, "the root range that stayed", 0);
	ASSERT_EQ(0, gch_remove_roots((void *)block, (void *)(block + 512)));
	expect_freed(_metadata, &M, "both ranges removed");
	lists_free(&L);
	lists_free(&M);

	/* parts unmapped or unreadable at collection time are skipped */
	map = mmap(NULL, 3 * page, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, map);
	ASSERT_EQ(0, lists_build(&L, 1, 163));
	store_slot((void *volatile *)map, L.head[0]);
	ASSERT_EQ(0, gch_add_roots(map, map + 3 * page));
	ASSERT_EQ(0, munmap(map + page, page));
	ASSERT_EQ(0, mprotect(map + 2 * page, page, PROT_NONE));
	collect_verify(_metadata, &L, "a root range with a hole and a PROT_NONE page", 0);
	ASSERT_EQ(0, gch_remove_roots(map, map + 3 * page));
	expect_freed(_metadata, &L, "the range removed");
	lists_free(&L);

	/* the arena itself as a root range: skipped, garbage is still freed */
	ASSERT_EQ(0, gch_stats(&st));
	ASSERT_EQ(0, gch_add_roots(st.arena_start, (char *)st.arena_start + st.arena_size))
		TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, lists_build(&L, 1, 164));
	expect_freed(_metadata, &L, "the arena registered as a root range");
	ASSERT_EQ(0, gch_remove_roots(st.arena_start, (char *)st.arena_start + st.arena_size));
	lists_free(&L);

	/* GCH_ROOTS_MAX ranges in all (the library's own among them) */
	ranges = calloc(GCH_ROOTS_MAX + 16, 2 * sizeof(void *));
	ASSERT_NE(NULL, ranges);
	for (n = 0; n < GCH_ROOTS_MAX + 16; n++)
		if (gch_add_roots(&ranges[2 * n], &ranges[2 * n + 1]))
			break;
	EXPECT_EQ(ENOSPC, errno) TH_LOG("%d ranges added", n);
	EXPECT_GT(GCH_ROOTS_MAX + 16, n);
	EXPECT_LE(GCH_ROOTS_MAX - 64, n) TH_LOG("only %d ranges", n);
	ASSERT_EQ(0, gch_remove_roots(ranges, &ranges[2 * (GCH_ROOTS_MAX + 16)]));
	for (i = 0; i < 16; i++) {
		EXPECT_EQ(0, gch_add_roots(&ranges[2 * i], &ranges[2 * i + 1]))
			TH_LOG("after removing them: %s", strerror(errno));
	}
	EXPECT_EQ(0, gch_collect()) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(0, gch_remove_roots(ranges, &ranges[32]));
	free(ranges);
	free((void *)block);
}

/* --- 10. the history ------------------------------------------------------------------- */

TEST_F_TIMEOUT(gc, collection_history, 120)
{
	static struct gch_collection h[GCH_GC_HISTORY + 10];
	struct gch_collection last;
	struct gch_heap_stats st;
	bool coarse = coarse_clock();
	uint64_t sum = 0;
	int i, n;

	if (coarse)
		TH_LOG("the kernel keeps time with jiffies: a stop shorter than a tick reads 0 ns, not checked");
	errno = 0;
	EXPECT_EQ(-1, gch_last_collection(&last));
	EXPECT_EQ(ENOENT, errno);
	EXPECT_EQ(0, gch_collections(h, GCH_GC_HISTORY));
	for (i = 0; i < 5; i++) {
		ASSERT_EQ(0, gch_collect()) TH_LOG("%s", strerror(errno));
	}

	n = gch_collections(h, GCH_GC_HISTORY);
	ASSERT_EQ(5, n) TH_LOG("%s", n < 0 ? strerror(errno) : "");
	for (i = 0; i < n; i++) {
		EXPECT_EQ(i + 1, h[i].gc_number);
		EXPECT_EQ(GCH_GC_REASON_USER, h[i].reason);
		EXPECT_EQ(0, h[i].threads);
		/*
		 * The pause contains the stop and the root gathering, and
		 * takes time on every kernel, measured unless the clock is
		 * jiffies (the debug kernel's is the TSC, tools/vm/run, if
		 * its calibration worked).
		 */
		if (!coarse) {
			EXPECT_LT(0, h[i].pause_ns) TH_LOG("collection %d", i + 1);
			EXPECT_LT(0, h[i].stw_ns) TH_LOG("collection %d", i + 1);
		}
		EXPECT_LE(h[i].stw_ns + h[i].roots_ns, h[i].pause_ns)
			TH_LOG("collection %d", i + 1);
		EXPECT_LT(0, h[i].workers);
		if (i) {
			EXPECT_LE(h[i - 1].start_ns, h[i].start_ns);
		}
		sum += h[i].pause_ns;
	}
	ASSERT_EQ(0, gch_stats(&st));
	EXPECT_EQ(5, st.num_gc);
	EXPECT_EQ(sum, st.pause_total_ns);
	ASSERT_EQ(0, gch_last_collection(&last));
	EXPECT_EQ(0, memcmp(&last, &h[4], sizeof(last)));

	/* fewer asked: the most recent, oldest first */
	EXPECT_EQ(2, gch_collections(h, 2));
	EXPECT_EQ(4, h[0].gc_number);
	EXPECT_EQ(5, h[1].gc_number);
	EXPECT_EQ(0, gch_collections(h, 0));

	/* the module keeps the last GCH_GC_HISTORY */
	for (i = 5; i < GCH_GC_HISTORY + 5; i++) {
		ASSERT_EQ(0, gch_collect()) TH_LOG("collection %d: %s", i + 1, strerror(errno));
	}
	n = gch_collections(h, GCH_GC_HISTORY + 10);
	ASSERT_EQ(GCH_GC_HISTORY, n);
	for (i = 0; i < n; i++) {
		EXPECT_EQ(i + 6, h[i].gc_number) TH_LOG("entry %d", i);
	}
	ASSERT_EQ(0, gch_stats(&st));
	EXPECT_EQ(GCH_GC_HISTORY + 5, st.num_gc);
}

/* --- the library in a forked child ------------------------------------------------------- */

static int forked_lib_child(struct shared *sh)
{
	struct gch_collection c;
	char b[64];

	errno = 0;
	if (gch_collect() != -1 || errno != EPERM)
		return sh_fail(sh, 60, "gch_collect: %s", strerror(errno));
	errno = 0;
	if (gch_last_collection(&c) != -1 || errno != EPERM)
		return sh_fail(sh, 61, "gch_last_collection: %s", strerror(errno));
	errno = 0;
	if (gch_collections(&c, 1) != -1 || errno != EPERM)
		return sh_fail(sh, 62, "gch_collections: %s", strerror(errno));
	errno = 0;
	if (gch_set_gc_percent(50) != -2 || errno != EPERM)
		return sh_fail(sh, 63, "gch_set_gc_percent: %s", strerror(errno));
	errno = 0;
	if (gch_add_roots(b, b + 64) != -1 || errno != EPERM)
		return sh_fail(sh, 64, "gch_add_roots: %s", strerror(errno));
	errno = 0;
	if (gch_remove_roots(b, b + 64) != -1 || errno != EPERM)
		return sh_fail(sh, 65, "gch_remove_roots: %s", strerror(errno));
	return 0;
}

TEST_F_TIMEOUT(gc, forked_child_eperm, 60)
{
	struct shared *sh = shared_new();
	struct lists L;
	char why[512];
	int status;
	pid_t pid;

	ASSERT_NE(NULL, sh);
	ASSERT_EQ(0, lists_build(&L, 1, 171));
	global_store(0, L.head[0]);
	ASSERT_EQ(0, gch_collect());
	pid = start_child(forked_lib_child, sh);
	ASSERT_LT(0, pid);
	ASSERT_EQ(pid, wait_timeout(pid, &status, 0, 30000));
	EXPECT_TRUE(EXITED_WITH(status, 0)) TH_LOG("child status %#x: %s", status, sh->msg);
	/* the parent's heap is unaffected */
	scrub();
	ASSERT_EQ(0, gch_collect());
	EXPECT_EQ(0, lists_verify(&L, why, sizeof(why))) TH_LOG("%s", why);
	global_store(0, 0);
	lists_free(&L);
}

/* --- 11. the raw ABI ---------------------------------------------------------------------- */

/*
 * Open a heap of @arena_size (gc_percent the default); map its arena (not
 * the control area) if @map.  0 or -1 with errno.
 */
static int raw_open(struct raw_heap *h, __u64 arena_size, bool map)
{
	struct gch_heap_config cfg = { .arena_size = arena_size };

	if (raw_heap_configure(h, &cfg, O_CLOEXEC) ||
	    (map && raw_heap_map(h, RAW_MAP_ARENA)))
		return -1;
	return 0;
}

/* GCH_IOC_COLLECT with @flags, @size; 0 or -errno. */
static noinline int raw_collect(int fd, __u32 flags, __u32 size, struct gch_collect *c)
{
	__u64 buf[4200 / 8];
	struct gch_collect *a = (struct gch_collect *)buf;

	memset(buf, 0, sizeof(buf));
	a->hdr.size = size;
	a->hdr.flags = flags;
	if (ioctl(fd, GCH_IOC_COLLECT, a))
		return -errno;
	if (c)
		memcpy(c, a, sizeof(*c));
	return 0;
}

static int raw_roots(int fd, __u32 op, __u32 tag, __u64 addr, __u64 len)
{
	struct gch_roots r = { .hdr.size = sizeof(r), .op = op, .tag = tag,
			       .addr = addr, .len = len };

	return ioctl(fd, GCH_IOC_ROOTS, &r) ? -errno : 0;
}

static int raw_gc_stats(int fd, struct gch_gc_stats *st, void *hist, __u32 max)
{
	memset(st, 0, sizeof(*st));
	st->hdr.size = sizeof(*st);
	st->history = (uintptr_t)hist;
	st->history_max = max;
	return ioctl(fd, GCH_IOC_GC_STATS, st) ? -errno : 0;
}

/* 0 if the hidden @h is an allocated object of the heap, else -errno. */
static noinline int raw_query(int fd, uintptr_t h)
{
	struct gch_query q = { .hdr.size = sizeof(q) };

	q.addr = (uintptr_t)unhide(h);
	if (ioctl(fd, GCH_IOC_QUERY, &q))
		return -errno;
	return q.base == q.addr ? 0 : -EINVAL;
}

/* Objects from a buffer refill, returned hidden; the buffer is wiped. */
static noinline int raw_objects(int fd, uintptr_t *out, unsigned int n)
{
	static __u64 buf[64];
	unsigned int i;
	__u32 count;
	int err;

	err = raw_refill_buf(fd, GCH_SPANCLASS(2, 0), buf, 64, &count);
	if (err)
		return err;
	if (count < n)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		out[i] = hide((void *)(uintptr_t)buf[i]);
	memset(buf, 0, sizeof(buf));
	return 0;
}

/* The raw heap's only root: a range of this bss nobody else registers. */
static __u64 raw_root[4];

static noinline void raw_root_store(unsigned int i, uintptr_t h)
{
	raw_root[i] = (uintptr_t)unhide(h);
}

/* Store the hidden @h into the object at hidden @obj (its first word). */
static noinline void raw_link(uintptr_t obj, uintptr_t h)
{
	*(void **)unhide(obj) = unhide(h);
}

TEST(raw_collect_semantics)
{
	struct gch_version v = { .hdr.size = sizeof(v) };
	struct gch_alloc pin = { .hdr.size = sizeof(pin), .size = 40000 };
	struct gch_gc_info hist[8];
	struct gch_gc_stats st;
	struct gch_collect c;
	struct raw_heap h;
	uintptr_t o[4];
	int i;

	ASSERT_EQ(0, raw_open(&h, 8 * MiB, false)) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, ioctl(h.fd, GCH_IOC_VERSION, &v));
	EXPECT_TRUE(v.features & GCH_FEAT_COLLECT);
	EXPECT_LE(3, v.abi_minor);
	/* no arena yet */
	EXPECT_EQ(-ENXIO, raw_collect(h.fd, 0, sizeof(c), NULL));
	ASSERT_EQ(0, raw_gc_stats(h.fd, &st, NULL, 0));
	EXPECT_EQ(0, st.num_gc);

	h.arena = mmap(NULL, h.arena_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		       h.fd, GCH_MMAP_ARENA);
	ASSERT_NE(MAP_FAILED, h.arena);
	EXPECT_EQ(0, raw_gc_stats(h.fd, &st, NULL, 0));
	EXPECT_EQ(0, st.last.gc_number);
	/* the arena's first object: h.arena on this stack points to it */
	ASSERT_EQ(0, ioctl(h.fd, GCH_IOC_ALLOC_LARGE, &pin)) TH_LOG("%s", strerror(errno));

	/* A in the root range, B only in A, C nowhere */
	ASSERT_EQ(0, raw_objects(h.fd, o, 3));
	raw_root_store(0, o[0]);
	raw_link(o[0], o[1]);
	ASSERT_EQ(0, raw_roots(h.fd, GCH_ROOTS_ADD, 7, (uintptr_t)raw_root, sizeof(raw_root)));
	scrub();
	ASSERT_EQ(0, raw_collect(h.fd, 0, sizeof(c), &c));
	EXPECT_EQ(1, c.collected);
	EXPECT_EQ(sizeof(c), c.hdr.size);
	EXPECT_EQ(1, c.info.gc_number);
	EXPECT_EQ(GCH_GC_REASON_USER, c.info.reason);
	EXPECT_EQ(0, c.info.threads);
	EXPECT_LE(1, c.info.objects_freed);
	EXPECT_LE(2, c.info.objects_marked);
	EXPECT_EQ(0, raw_query(h.fd, o[0])) TH_LOG("the object in the root range was freed");
	EXPECT_EQ(0, raw_query(h.fd, o[1])) TH_LOG("the object only it points to was freed");
	EXPECT_EQ(-ENOENT, raw_query(h.fd, o[2])) TH_LOG("the unreferenced object survived");
	/* not due right after a collection */
	ASSERT_EQ(0, raw_collect(h.fd, GCH_COLLECT_IF_DUE, sizeof(c), &c));
	EXPECT_EQ(0, c.collected);

	/* the range removed: both go */
	ASSERT_EQ(0, raw_roots(h.fd, GCH_ROOTS_REMOVE, 7, (uintptr_t)raw_root, sizeof(raw_root)));
	scrub();
	ASSERT_EQ(0, raw_collect(h.fd, 0, sizeof(c), &c));
	EXPECT_EQ(-ENOENT, raw_query(h.fd, o[0]));
	EXPECT_EQ(-ENOENT, raw_query(h.fd, o[1]));

	/* tags are independent: clearing one keeps the other's */
	ASSERT_EQ(0, raw_objects(h.fd, o, 1));
	raw_root_store(1, o[0]);
	ASSERT_EQ(0, raw_roots(h.fd, GCH_ROOTS_ADD, 7, (uintptr_t)raw_root, sizeof(raw_root)));
	ASSERT_EQ(0, raw_roots(h.fd, GCH_ROOTS_ADD, 8, (uintptr_t)raw_root, sizeof(raw_root)));
	ASSERT_EQ(0, raw_roots(h.fd, GCH_ROOTS_CLEAR, 7, 0, 0));
	scrub();
	ASSERT_EQ(0, raw_collect(h.fd, 0, sizeof(c), &c));
	EXPECT_EQ(0, raw_query(h.fd, o[0])) TH_LOG("clearing tag 7 dropped tag 8's range");
	ASSERT_EQ(0, raw_roots(h.fd, GCH_ROOTS_CLEAR, 8, 0, 0));
	scrub();
	ASSERT_EQ(0, raw_collect(h.fd, 0, sizeof(c), &c));
	EXPECT_EQ(-ENOENT, raw_query(h.fd, o[0]));
	memset(raw_root, 0, sizeof(raw_root));

	/* statistics and history */
	memset(hist, 0xff, sizeof(hist));
	ASSERT_EQ(0, raw_gc_stats(h.fd, &st, hist, 8));
	EXPECT_EQ(sizeof(st), st.hdr.size);
	EXPECT_EQ(4, st.num_gc);
	EXPECT_EQ(4, st.history_count);
	for (i = 0; i < 4; i++) {
		EXPECT_EQ(i + 1, hist[i].gc_number);
	}
	EXPECT_EQ(4, st.last.gc_number);
	EXPECT_EQ(0, memcmp(&st.last, &hist[3], sizeof(st.last)));
	EXPECT_EQ(st.last.heap_after, st.heap_live);
	EXPECT_LE(1, st.nr_workers);
	EXPECT_GE(GCH_STATS_MAX_WORKERS, st.nr_workers);
	EXPECT_EQ(0xffffffffffffffffULL, hist[4].gc_number) TH_LOG("written past history_count");
	ASSERT_EQ(0, raw_gc_stats(h.fd, &st, hist, 2));
	EXPECT_EQ(2, st.history_count);
	EXPECT_EQ(3, hist[0].gc_number);
	EXPECT_EQ(4, hist[1].gc_number);
	/* history_max without a buffer (the kernel's rule; uapi says "0 for none") */
	EXPECT_EQ(-EINVAL, raw_gc_stats(h.fd, &st, NULL, 5));
	ASSERT_EQ(0, raw_gc_stats(h.fd, &st, hist, 0));
	EXPECT_EQ(0, st.history_count);

	/* the arena unmapped: no collection */
	ASSERT_EQ(0, munmap(h.arena, h.arena_size));
	EXPECT_EQ(-ENXIO, raw_collect(h.fd, 0, sizeof(c), NULL));
	close(h.fd);
}

TEST(raw_bad_input)
{
	struct {
		struct gch_collect c;
		__u64 more[2];
	} big;
	struct {
		struct gch_gc_stats s;
		__u64 more;
	} bigs;
	struct gch_gc_info hist[2];
	struct gch_gc_stats st;
	struct gch_roots r;
	struct raw_heap h;
	__u64 user = (uintptr_t)raw_root;
	int n;

	EXPECT_EQ(GCH_COLLECT_SIZE_VER1, sizeof(struct gch_collect));
	EXPECT_EQ(GCH_ROOTS_SIZE_VER0, sizeof(struct gch_roots));
	EXPECT_EQ(GCH_GC_STATS_SIZE_VER1, sizeof(struct gch_gc_stats));
	ASSERT_EQ(0, raw_open(&h, 4 * MiB, true)) TH_LOG("%s", strerror(errno));

	/* COLLECT */
	EXPECT_EQ(-EINVAL, raw_collect(h.fd, 4, sizeof(struct gch_collect), NULL));
	EXPECT_EQ(-EINVAL, raw_collect(h.fd, 0x80000000U, sizeof(struct gch_collect), NULL));
	EXPECT_EQ(-EINVAL, raw_collect(h.fd, 0, GCH_COLLECT_SIZE_VER0 - 1, NULL));
	EXPECT_EQ(-EINVAL, raw_collect(h.fd, 0, 16, NULL));
	EXPECT_EQ(-EINVAL, raw_collect(h.fd, 0, 0, NULL));
	EXPECT_EQ(-E2BIG, raw_collect(h.fd, 0, 4097, NULL));
	errno = 0;
	EXPECT_EQ(-1, ioctl(h.fd, GCH_IOC_COLLECT, NULL));
	EXPECT_EQ(EFAULT, errno);
	memset(&big, 0, sizeof(big));
	big.c.hdr.size = sizeof(big);
	big.more[1] = 1;
	errno = 0;
	EXPECT_EQ(-1, ioctl(h.fd, GCH_IOC_COLLECT, &big));
	EXPECT_EQ(E2BIG, errno) TH_LOG("non-zero bytes past the struct");
	big.more[1] = 0;
	EXPECT_EQ(0, ioctl(h.fd, GCH_IOC_COLLECT, &big)) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(sizeof(struct gch_collect), big.c.hdr.size);
	EXPECT_EQ(1, big.c.collected);

	/* ROOTS */
	EXPECT_EQ(0, raw_roots(h.fd, GCH_ROOTS_ADD, 1, user, 32));
	EXPECT_EQ(-EINVAL, raw_roots(h.fd, 0, 1, user, 32));
	EXPECT_EQ(-EINVAL, raw_roots(h.fd, 4, 1, user, 32));
	EXPECT_EQ(-EINVAL, raw_roots(h.fd, 0xffffffffU, 1, user, 32));
	EXPECT_EQ(-EINVAL, raw_roots(h.fd, GCH_ROOTS_ADD, 1, user, 0));
	EXPECT_EQ(-EINVAL, raw_roots(h.fd, GCH_ROOTS_REMOVE, 1, user, 0));
	EXPECT_EQ(-EINVAL, raw_roots(h.fd, GCH_ROOTS_ADD, 1, 0xffff888000000000ULL, 4096))
		TH_LOG("a kernel address");
	EXPECT_EQ(-EINVAL, raw_roots(h.fd, GCH_ROOTS_ADD, 1, 0xfffffffffff000ULL, 0x10000))
		TH_LOG("past the end of user space (2^56 with 5-level paging)");
	EXPECT_EQ(-EINVAL, raw_roots(h.fd, GCH_ROOTS_ADD, 1, user, ~0ULL - 8))
		TH_LOG("a wrapping range");
	memset(&r, 0, sizeof(r));
	r.hdr.size = sizeof(r);
	r.hdr.flags = 1;
	r.op = GCH_ROOTS_ADD;
	r.addr = user;
	r.len = 32;
	errno = 0;
	EXPECT_EQ(-1, ioctl(h.fd, GCH_IOC_ROOTS, &r));
	EXPECT_EQ(EINVAL, errno) TH_LOG("unknown flags");
	r.hdr.flags = 0;
	r.hdr.size = GCH_ROOTS_SIZE_VER0 - 1;
	errno = 0;
	EXPECT_EQ(-1, ioctl(h.fd, GCH_IOC_ROOTS, &r));
	EXPECT_EQ(EINVAL, errno) TH_LOG("short size");
	r.hdr.size = 4097;
	errno = 0;
	EXPECT_EQ(-1, ioctl(h.fd, GCH_IOC_ROOTS, &r));
	EXPECT_EQ(E2BIG, errno);
	EXPECT_EQ(0, raw_roots(h.fd, GCH_ROOTS_CLEAR, 1, 0, 0));
	/* GCH_ROOTS_MAX ranges, then ENOSPC; clearing makes room */
	for (n = 0; n < GCH_ROOTS_MAX + 1; n++)
		if (raw_roots(h.fd, GCH_ROOTS_ADD, 3, user + 8 * (n % 4), 8))
			break;
	EXPECT_EQ(GCH_ROOTS_MAX, n);
	EXPECT_EQ(-ENOSPC, raw_roots(h.fd, GCH_ROOTS_ADD, 4, user, 8));
	EXPECT_EQ(0, raw_collect(h.fd, 0, sizeof(struct gch_collect), NULL))
		TH_LOG("collecting with %d root ranges", n);
	EXPECT_EQ(0, raw_roots(h.fd, GCH_ROOTS_CLEAR, 3, 0, 0));
	EXPECT_EQ(0, raw_roots(h.fd, GCH_ROOTS_ADD, 4, user, 8));

	/* GC_STATS */
	memset(&st, 0, sizeof(st));
	st.hdr.size = sizeof(st);
	st.hdr.flags = 1;
	errno = 0;
	EXPECT_EQ(-1, ioctl(h.fd, GCH_IOC_GC_STATS, &st));
	EXPECT_EQ(EINVAL, errno) TH_LOG("unknown flags");
	st.hdr.flags = 0;
	st.hdr.size = GCH_GC_STATS_SIZE_VER0 - 1;
	errno = 0;
	EXPECT_EQ(-1, ioctl(h.fd, GCH_IOC_GC_STATS, &st));
	EXPECT_EQ(EINVAL, errno) TH_LOG("short size");
	st.hdr.size = 0;
	errno = 0;
	EXPECT_EQ(-1, ioctl(h.fd, GCH_IOC_GC_STATS, &st));
	EXPECT_EQ(EINVAL, errno);
	memset(&bigs, 0, sizeof(bigs));
	bigs.s.hdr.size = sizeof(bigs);
	bigs.more = 1;
	errno = 0;
	EXPECT_EQ(-1, ioctl(h.fd, GCH_IOC_GC_STATS, &bigs));
	EXPECT_EQ(E2BIG, errno);
	EXPECT_EQ(-EFAULT, raw_gc_stats(h.fd, &st, (void *)8, 2))
		TH_LOG("history at an unmapped address");
	EXPECT_EQ(-EFAULT, raw_gc_stats(h.fd, &st, (void *)0xffff888000000000ULL, 2))
		TH_LOG("history at a kernel address");
	EXPECT_EQ(0, raw_gc_stats(h.fd, &st, hist, 2));
	EXPECT_EQ(2, st.num_gc);
	close(h.fd);
}

/* In a forked child, the parent's descriptor is not the child's heap. */
static struct raw_heap fork_raw;

static int raw_child(struct shared *sh)
{
	struct gch_gc_stats st;

	if (raw_collect(fork_raw.fd, 0, sizeof(struct gch_collect), NULL) != -EPERM)
		return sh_fail(sh, 70, "COLLECT did not fail with EPERM");
	if (raw_roots(fork_raw.fd, GCH_ROOTS_ADD, 5, (uintptr_t)raw_root, 8) != -EPERM)
		return sh_fail(sh, 71, "ROOTS did not fail with EPERM");
	if (raw_gc_stats(fork_raw.fd, &st, NULL, 0) != -EPERM)
		return sh_fail(sh, 72, "GC_STATS did not fail with EPERM");
	return 0;
}

TEST(raw_forked_child)
{
	struct shared *sh = shared_new();
	struct gch_gc_stats st;
	int status;
	pid_t pid;

	ASSERT_NE(NULL, sh);
	ASSERT_EQ(0, raw_open(&fork_raw, 4 * MiB, true)) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, raw_collect(fork_raw.fd, 0, sizeof(struct gch_collect), NULL));
	pid = start_child(raw_child, sh);
	ASSERT_LT(0, pid);
	ASSERT_EQ(pid, wait_timeout(pid, &status, 0, 30000));
	EXPECT_TRUE(EXITED_WITH(status, 0)) TH_LOG("child status %#x: %s", status, sh->msg);
	/* the owner is unaffected */
	EXPECT_EQ(0, raw_collect(fork_raw.fd, 0, sizeof(struct gch_collect), NULL));
	EXPECT_EQ(0, raw_gc_stats(fork_raw.fd, &st, NULL, 0));
	EXPECT_EQ(2, st.num_gc);
	close(fork_raw.fd);
}

/*
 * gch_gc_hold(): while a thread holds the gate no collection starts: the
 * holder's own gch_collect() fails with EDEADLK, another thread's waits
 * for the release; a release without a hold is EPERM.
 */
static void *hold_collector(void *arg)
{
	int *ret = arg;

	*ret = gch_collect();
	return NULL;
}

static uint64_t num_gc(void)
{
	struct gch_heap_stats st;

	return gch_stats(&st) ? 0 : st.num_gc;
}

TEST_F_TIMEOUT(gc, hold_keeps_collections_out, 60)
{
	uint64_t before;
	pthread_t t;
	int ret = -2;

	ASSERT_EQ(-1, gch_gc_release());
	EXPECT_EQ(EPERM, errno);
	ASSERT_EQ(0, gch_collect());
	before = num_gc();
	ASSERT_EQ(0, gch_gc_hold());
	ASSERT_EQ(0, gch_gc_hold());	/* nested */
	EXPECT_EQ(-1, gch_collect());
	EXPECT_EQ(EDEADLK, errno);
	ASSERT_EQ(0, pthread_create(&t, NULL, hold_collector, &ret));
	usleep(300 * 1000);
	EXPECT_EQ(-2, __atomic_load_n(&ret, __ATOMIC_ACQUIRE))
		TH_LOG("another thread's collection did not wait for the hold");
	EXPECT_EQ(before, num_gc());
	ASSERT_EQ(0, gch_gc_release());
	usleep(100 * 1000);
	EXPECT_EQ(-2, __atomic_load_n(&ret, __ATOMIC_ACQUIRE))
		TH_LOG("one release of two ended the hold");
	ASSERT_EQ(0, gch_gc_release());
	ASSERT_EQ(0, pthread_join(t, NULL));
	EXPECT_EQ(0, ret);
	EXPECT_EQ(before + 1, num_gc());
}

/* GCH_IOC_CONFIGURE's @concurrent: set @mode (0 keeps); the heap's setting, or -errno. */
static int raw_concurrent(int fd, __u32 mode)
{
	struct gch_heap_config cfg = { .hdr.size = sizeof(cfg), .concurrent = mode };

	return ioctl(fd, GCH_IOC_CONFIGURE, &cfg) ? -errno : (int)cfg.concurrent;
}

/* A collection's stops must add up to its pause and lie inside it. */
static void check_phases(struct __test_metadata *_metadata, const struct gch_collect *c,
			 __u32 flags)
{
	const struct gch_gc_phases *ph = &c->phases;

	EXPECT_EQ(flags, ph->flags) TH_LOG("collection %llu", (unsigned long long)c->info.gc_number);
	if (!flags) {
		EXPECT_EQ(0, ph->initial_ns + ph->concurrent_ns + ph->final_ns +
			     ph->final_start_ns + ph->dirty_pages + ph->precleans)
			TH_LOG("a stop-the-world collection reports phases");
		return;
	}
	EXPECT_EQ(c->info.pause_ns, ph->initial_ns + ph->final_ns);
	EXPECT_LT(0, ph->initial_ns);
	EXPECT_LT(0, ph->final_ns);
	EXPECT_LE(c->info.start_ns + ph->initial_ns, ph->final_start_ns)
		TH_LOG("the final stop began before the first ended");
	/* four rounds at most, and the write-protecting one */
	EXPECT_GE(4 + !!(flags & GCH_PHASES_WRITE_PROTECT), ph->precleans);
}

/*
 * ABI 0.7: a heap's own concurrent setting (GCH_IOC_CONFIGURE) and the
 * two stops of each collection (struct gch_gc_phases in GCH_IOC_COLLECT
 * and GCH_IOC_GC_STATS).  A collection the pacing asks for
 * (GCH_COLLECT_IF_DUE | GCH_COLLECT_ASYNC_SWEEP) on a concurrent heap
 * returns at once and a later one finishes it.  Checked whatever the
 * module parameter says: the heap's setting wins.
 */
TEST_F_TIMEOUT(gc, raw_phases, 120)
{
	struct gch_alloc pin = { .hdr.size = sizeof(pin), .size = 40000 };
	__u32 ifdue = GCH_COLLECT_IF_DUE | GCH_COLLECT_ASYNC_SWEEP;
	struct gch_gc_phases phist[8];
	struct gch_gc_info hist[8];
	struct gch_gc_stats st;
	struct gch_collect c;
	struct raw_heap h;
	uint64_t deadline;
	unsigned int tries = 0;
	uintptr_t o[3];
	int i, n;

	/* the arena is mapped for write-protection if the module marks beside */
	__u32 wp = concurrent_mark_on() && cmark_wp_on() ? GCH_PHASES_WRITE_PROTECT : 0;

	ASSERT_EQ(0, raw_open(&h, 64 * MiB, true)) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, ioctl(h.fd, GCH_IOC_ALLOC_LARGE, &pin)) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(GCH_CONCURRENT_MODULE, raw_concurrent(h.fd, 0)) TH_LOG("the default");
	EXPECT_EQ(-EINVAL, raw_concurrent(h.fd, GCH_CONCURRENT_MODULE + 1));
	EXPECT_EQ(-EINVAL, raw_concurrent(h.fd, 0x80000000U));
	EXPECT_EQ(GCH_CONCURRENT_MODULE, raw_concurrent(h.fd, 0)) TH_LOG("a refused value changed it");

	/* A in the root range, B only in A, C nowhere */
	ASSERT_EQ(0, raw_objects(h.fd, o, 3));
	raw_root_store(0, o[0]);
	raw_link(o[0], o[1]);
	ASSERT_EQ(0, raw_roots(h.fd, GCH_ROOTS_ADD, 7, (uintptr_t)raw_root, sizeof(raw_root)));
	scrub();

	EXPECT_EQ(GCH_CONCURRENT_OFF, raw_concurrent(h.fd, GCH_CONCURRENT_OFF));
	ASSERT_EQ(0, raw_collect(h.fd, 0, sizeof(c), &c));
	EXPECT_EQ(1, c.collected);
	EXPECT_EQ(sizeof(c), c.hdr.size);
	check_phases(_metadata, &c, 0);
	EXPECT_EQ(-ENOENT, raw_query(h.fd, o[2]));

	EXPECT_EQ(GCH_CONCURRENT_ON, raw_concurrent(h.fd, GCH_CONCURRENT_ON));
	ASSERT_EQ(0, raw_objects(h.fd, &o[2], 1));
	ASSERT_EQ(0, raw_collect(h.fd, 0, sizeof(c), &c));
	EXPECT_EQ(1, c.collected);
	check_phases(_metadata, &c, GCH_PHASES_CONCURRENT | wp);
	EXPECT_EQ(0, raw_query(h.fd, o[0])) TH_LOG("the root's object was freed");
	EXPECT_EQ(0, raw_query(h.fd, o[1])) TH_LOG("the object only it points to was freed");
	EXPECT_EQ(-ENOENT, raw_query(h.fd, o[2]));

	/* past the goal (at least min_heap_goal): garbage, large objects */
	for (n = 0; n < 1024; n++) {
		struct gch_alloc a = { .hdr.size = sizeof(a), .size = 65536 };

		ASSERT_EQ(0, ioctl(h.fd, GCH_IOC_ALLOC_LARGE, &a)) TH_LOG("%s", strerror(errno));
		if (a.gc_due)
			break;
	}
	ASSERT_GT(1024, n) TH_LOG("64 MiB allocated and no collection due");
	ASSERT_EQ(0, raw_collect(h.fd, ifdue, sizeof(c), &c));
	EXPECT_EQ(0, c.collected) TH_LOG("a paced collection on a concurrent heap did not go to the background");
	/* done when its rounds are: then the next asking takes the final stop */
	deadline = now_ns() + 60 * NSEC;
	do {
		tries++;
		ASSERT_EQ(0, raw_collect(h.fd, ifdue, sizeof(c), &c));
		if (!c.collected)
			usleep(2000);
	} while (!c.collected && now_ns() < deadline);
	ASSERT_EQ(1, c.collected) TH_LOG("the background mark never finished (%u calls)", tries);
	EXPECT_EQ(GCH_GC_REASON_GOAL, c.info.reason);
	check_phases(_metadata, &c, GCH_PHASES_CONCURRENT | GCH_PHASES_BACKGROUND | wp);
	EXPECT_EQ(0, raw_query(h.fd, o[0]));
	EXPECT_EQ(0, raw_query(h.fd, o[1]));
	TH_LOG("background mark: first pause %.3f ms, marked beside %.3f ms, %u pre-cleaning rounds, %llu dirty pages, final pause %.3f ms; finished at the %u-th call",
	       c.phases.initial_ns / 1e6, c.phases.concurrent_ns / 1e6, c.phases.precleans,
	       (unsigned long long)c.phases.dirty_pages, c.phases.final_ns / 1e6, tries);

	/* a background mark is finished by an explicit collection, which then runs */
	for (n = 0; n < 1024; n++) {
		struct gch_alloc a = { .hdr.size = sizeof(a), .size = 65536 };

		ASSERT_EQ(0, ioctl(h.fd, GCH_IOC_ALLOC_LARGE, &a));
		if (a.gc_due)
			break;
	}
	ASSERT_EQ(0, raw_collect(h.fd, ifdue, sizeof(c), &c));
	EXPECT_EQ(0, c.collected);
	ASSERT_EQ(0, raw_collect(h.fd, 0, sizeof(c), &c));
	EXPECT_EQ(1, c.collected);
	EXPECT_EQ(GCH_GC_REASON_USER, c.info.reason);
	EXPECT_EQ(5, c.info.gc_number) TH_LOG("the background collection did not end first");
	check_phases(_metadata, &c, GCH_PHASES_CONCURRENT | wp);

	/* the module's choice */
	EXPECT_EQ(GCH_CONCURRENT_MODULE, raw_concurrent(h.fd, GCH_CONCURRENT_MODULE));
	ASSERT_EQ(0, raw_collect(h.fd, 0, sizeof(c), &c));
	check_phases(_metadata, &c, concurrent_mark_on() ? GCH_PHASES_CONCURRENT | wp : 0);

	/* the history of the stops, entry by entry with the collections' */
	memset(phist, 0xff, sizeof(phist));
	memset(&st, 0, sizeof(st));
	st.hdr.size = sizeof(st);
	st.history = (uintptr_t)hist;
	st.phase_history = (uintptr_t)phist;
	st.history_max = 8;
	ASSERT_EQ(0, ioctl(h.fd, GCH_IOC_GC_STATS, &st)) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(6, st.history_count);
	EXPECT_EQ(0, phist[0].flags);
	EXPECT_EQ(GCH_PHASES_CONCURRENT | wp, phist[1].flags);
	EXPECT_EQ(GCH_PHASES_CONCURRENT | GCH_PHASES_BACKGROUND | wp, phist[2].flags);
	EXPECT_EQ(GCH_PHASES_CONCURRENT | GCH_PHASES_BACKGROUND | wp, phist[3].flags);
	EXPECT_EQ(GCH_PHASES_CONCURRENT | wp, phist[4].flags);
	for (i = 1; i < 5; i++)
		EXPECT_EQ(hist[i].pause_ns, phist[i].initial_ns + phist[i].final_ns);
	EXPECT_EQ(0, memcmp(&st.last_phases, &phist[5], sizeof(st.last_phases)));
	EXPECT_EQ(0xffffffffU, phist[6].flags) TH_LOG("written past history_count");
	/* the phases without the collections: refused */
	st.history = 0;
	st.history_max = 0;
	errno = 0;
	EXPECT_EQ(-1, ioctl(h.fd, GCH_IOC_GC_STATS, &st));
	EXPECT_EQ(EINVAL, errno);
	/* callers of ABI 0.6 and before get what they knew */
	ASSERT_EQ(0, raw_collect(h.fd, 0, GCH_COLLECT_SIZE_VER0, &c));
	EXPECT_EQ(GCH_COLLECT_SIZE_VER0, c.hdr.size);
	memset(&st, 0, sizeof(st));
	st.hdr.size = GCH_GC_STATS_SIZE_VER0;
	ASSERT_EQ(0, ioctl(h.fd, GCH_IOC_GC_STATS, &st));
	EXPECT_EQ(GCH_GC_STATS_SIZE_VER0, st.hdr.size);
	EXPECT_EQ(0, st.last_phases.flags) TH_LOG("written past the caller's struct");
	memset(raw_root, 0, sizeof(raw_root));
	raw_heap_close(&h);
}

/* Is a background mark waiting for its final stop?  A refill says gc_due. */
static int raw_bg_ready(int fd)
{
	struct gch_refill r;
	__u64 one;

	if (raw_ioc_refill(fd, GCH_REFILL_BUFFER, GCH_SPANCLASS(2, 0), &one, 1, &r))
		return -errno;
	return r.gc_due;
}

/* Start a background mark: past the goal, then a paced call; 0 or -errno. */
static int raw_bg_start(int fd)
{
	struct gch_collect c;
	int n, err;

	for (n = 0; n < 1024; n++) {
		struct gch_alloc a = { .hdr.size = sizeof(a), .size = 65536 };

		if (ioctl(fd, GCH_IOC_ALLOC_LARGE, &a))
			return -errno;
		if (a.gc_due)
			break;
	}
	err = raw_collect(fd, GCH_COLLECT_IF_DUE | GCH_COLLECT_ASYNC_SWEEP, sizeof(c), &c);
	if (!err && c.collected)
		err = -EALREADY;
	return err;
}

/* Wait (up to a minute) for the background mark to be ready; 1 if it is. */
static int raw_bg_wait(int fd)
{
	uint64_t deadline = now_ns() + 60 * NSEC;
	int r;

	while ((r = raw_bg_ready(fd)) == 0 && now_ns() < deadline)
		usleep(2000);
	return r;
}

/*
 * The write-protected end of a mark (module parameter cmark_wp, a heap
 * that marks beside the program from before its arena is mapped): once a
 * background mark's rounds are done (a refill reports gc_due), every page
 * the program writes must reach the final stop through its write fault.
 * 64 objects on pages of their own are written then: the final stop must
 * scan at least 64 more pages than after a mark with no such writes.
 * Meanwhile the only pointer to W moves from A into B, both long scanned:
 * W must survive.  Fails with a module that does not record the faults.
 */
#define WP_OBJS 64
TEST_F_TIMEOUT(gc, raw_write_protect, 120)
{
	struct gch_heap_config cfg = {
		.hdr.size = sizeof(cfg), .arena_size = 64 * MiB,
		.concurrent = GCH_CONCURRENT_ON,
	};
	uintptr_t o[WP_OBJS], w, a, b;
	struct gch_collect c;
	__u64 quiet;
	struct raw_heap h;
	int i;

	if (!cmark_wp_on())
		SKIP(return, "module parameter cmark_wp is off: nothing is write-protected");
	ASSERT_EQ(0, raw_heap_configure(&h, &cfg, O_CLOEXEC)) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, raw_heap_map(&h, RAW_MAP_ARENA)) TH_LOG("%s", strerror(errno));
	/* a chain of 64 large objects from the root range, then A -> W and B */
	for (i = 0; i < WP_OBJS; i++) {
		struct gch_alloc al = { .hdr.size = sizeof(al), .size = 40000 };

		ASSERT_EQ(0, ioctl(h.fd, GCH_IOC_ALLOC_LARGE, &al)) TH_LOG("%s", strerror(errno));
		o[i] = hide((void *)(uintptr_t)al.addr);
		if (i)
			raw_link(o[i - 1], o[i]);
	}
	ASSERT_EQ(0, raw_objects(h.fd, &w, 1));
	a = o[1];
	b = o[2];
	/* A's second word -> W */
	((void **)unhide(a))[1] = unhide(w);
	raw_root_store(0, o[0]);
	ASSERT_EQ(0, raw_roots(h.fd, GCH_ROOTS_ADD, 7, (uintptr_t)raw_root, sizeof(raw_root)));
	scrub();

	ASSERT_EQ(0, raw_collect(h.fd, 0, sizeof(c), &c));
	check_phases(_metadata, &c, GCH_PHASES_CONCURRENT | GCH_PHASES_WRITE_PROTECT);

	/* a background mark with no writes after its rounds: the baseline */
	ASSERT_EQ(0, raw_bg_start(h.fd));
	ASSERT_EQ(1, raw_bg_wait(h.fd)) TH_LOG("the background mark never got ready");
	ASSERT_EQ(0, raw_collect(h.fd, GCH_COLLECT_IF_DUE | GCH_COLLECT_ASYNC_SWEEP,
				 sizeof(c), &c));
	ASSERT_EQ(1, c.collected);
	check_phases(_metadata, &c, GCH_PHASES_CONCURRENT | GCH_PHASES_BACKGROUND |
		     GCH_PHASES_WRITE_PROTECT);
	quiet = c.phases.dirty_pages;

	/* again, writing each object's page once the rounds are done */
	ASSERT_EQ(0, raw_bg_start(h.fd));
	ASSERT_EQ(1, raw_bg_wait(h.fd)) TH_LOG("the background mark never got ready");
	for (i = 3; i < WP_OBJS; i++)
		((volatile __u64 *)unhide(o[i]))[2] = i;
	((void **)unhide(b))[1] = ((void **)unhide(a))[1];
	((void **)unhide(a))[1] = NULL;
	((volatile __u64 *)unhide(o[0]))[2] = 1;
	scrub();
	ASSERT_EQ(0, raw_collect(h.fd, GCH_COLLECT_IF_DUE | GCH_COLLECT_ASYNC_SWEEP,
				 sizeof(c), &c));
	ASSERT_EQ(1, c.collected);
	check_phases(_metadata, &c, GCH_PHASES_CONCURRENT | GCH_PHASES_BACKGROUND |
		     GCH_PHASES_WRITE_PROTECT);
	TH_LOG("final stop: %llu dirty pages after no writes, %llu after writing %d pages; final pause %.3f ms",
	       (unsigned long long)quiet, (unsigned long long)c.phases.dirty_pages, WP_OBJS,
	       c.phases.final_ns / 1e6);
	EXPECT_LE(quiet + WP_OBJS, c.phases.dirty_pages)
		TH_LOG("writes after the protection did not reach the final stop");
	EXPECT_EQ(0, raw_query(h.fd, w)) TH_LOG("W, moved into B after B was scanned, was freed");
	for (i = 0; i < WP_OBJS; i++)
		EXPECT_EQ(0, raw_query(h.fd, o[i]));
	memset(raw_root, 0, sizeof(raw_root));
	raw_heap_close(&h);
}

/* --- a collection beside the one thread of the program ------------------- */

#define BG_NODES	4096
#define BG_RING		4096	/* iteration times kept */
#define BG_SWAPS	32	/* pointer moves per iteration */

/* struct bgnode - holds the only pointer to one payload, which moves */
struct bgnode {
	uint64_t idx;
	struct bgpay *pay;
};

/* struct bgpay - a payload: its own number and key, and bulk */
struct bgpay {
	uint64_t key;
	uint64_t idx;
	uint64_t bulk[30];
};

static struct bgnode **g_bg;	/* the nodes, the only root */

static noinline int bg_make(uint64_t seed)
{
	struct bgnode **v = gch_malloc(BG_NODES * sizeof(*v));
	size_t i;

	if (!v)
		return -1;
	for (i = 0; i < BG_NODES; i++) {
		v[i] = gch_malloc(sizeof(*v[i]));
		if (!v[i])
			return -1;
		v[i]->idx = i;
		v[i]->pay = gch_malloc_atomic(sizeof(struct bgpay));
		if (!v[i]->pay)
			return -1;
		v[i]->pay->key = key_of(seed, i);
		v[i]->pay->idx = i;
	}
	g_bg = v;
	return 0;
}

/* Payloads that are not intact, allocated and each held once; 0 if none. */
static noinline size_t bg_check(uint64_t seed, size_t *first)
{
	static unsigned char seen[BG_NODES];
	size_t i, bad = 0;

	memset(seen, 0, sizeof(seen));
	*first = BG_NODES;
	for (i = 0; i < BG_NODES; i++) {
		struct bgpay *p = g_bg[i]->pay;
		bool ok = g_bg[i]->idx == i && gch_base(p) == p &&
			  p->idx < BG_NODES && p->key == key_of(seed, p->idx) &&
			  !seen[p->idx]++;

		if (!ok && !bad++)
			*first = i;
	}
	return bad;
}

/*
 * With concurrent_mark on, a collection the allocation pacing asks for
 * marks in a kernel worker: the program's one thread runs between the
 * first stop and the final one (which it takes itself, at a later
 * allocation), and meanwhile moves the only pointers to objects from node
 * to node, erasing them where they were (the hazard the final stop's
 * dirty pages answer).  Every payload must stay.  With it off, the
 * thread never runs inside a collection.
 */
TEST_F_TIMEOUT(gc, background_mark_single_thread, 300)
{
	static uint64_t ring[BG_RING];
	uint64_t seed = 0xb9, last, deadline, rnd = 1;
	unsigned int inside_total = 0, goal = 0, beside = 0, iters = 0, bgd = 0;
	bool conc = concurrent_mark_on();
	/* the debug kernel (lockdep) is 5 to 60 times slower: fewer */
	unsigned int want = access("/proc/lockdep", F_OK) ? 20 : 6;
	void *garbage[16] = { 0 };
	struct gch_collection c;
	size_t bad, first;

	ASSERT_EQ(0, bg_make(seed));
	ASSERT_EQ(0, gch_collect());
	ASSERT_EQ(0, gch_last_collection(&c));
	last = c.gc_number;
	ASSERT_EQ(-1, gch_set_gc_percent(50));
	deadline = now_ns() + 60 * NSEC;
	while (goal < want && now_ns() < deadline) {
		unsigned int k, inside = 0;

		ring[iters++ % BG_RING] = now_ns();
		for (k = 0; k < BG_SWAPS; k++) {
			size_t i, j;
			struct bgpay *p;

			rnd = rnd * 6364136223846793005ULL + 1442695040888963407ULL;
			i = (rnd >> 33) % BG_NODES;
			j = (rnd >> 13) % BG_NODES;
			p = g_bg[i]->pay;
			g_bg[i]->pay = g_bg[j]->pay;
			g_bg[j]->pay = p;
		}
		garbage[iters % 16] = gch_malloc(2048);
		ASSERT_NE(NULL, garbage[iters % 16]);
		ASSERT_EQ(0, gch_last_collection(&c));
		if (c.gc_number == last)
			continue;
		last = c.gc_number;
		if (c.reason != GCH_GC_REASON_GOAL)
			continue;
		goal++;
		/* this thread's iterations that began after the start */
		for (k = 0; k < BG_RING && k < iters; k++)
			inside += ring[k] > c.start_ns;
		inside_total += inside;
		beside += inside > 0;
		bgd += !!(c.phases & GCH_PHASES_BACKGROUND);
		bad = bg_check(seed, &first);
		ASSERT_EQ(0, bad)
			TH_LOG("after collection %llu (%u iterations beside it): %zu payloads lost or damaged, the first at node %zu",
			       (unsigned long long)c.gc_number, inside, bad, first);
	}
	TH_LOG("%u iterations, %u collections by the pacing, %u marked by a kernel worker, %u of them ran beside this thread (%u iterations in them)",
	       iters, goal, bgd, beside, inside_total);
	ASSERT_LE(3, goal) TH_LOG("the pacing collected too seldom to judge");
	if (conc) {
		/*
		 * Every one is marked by a kernel worker.  The thread runs
		 * between the stops of nearly all: one whose rounds end
		 * before the same allocation's next refill (a CPU change
		 * mid-allocation) is finished by that refill.
		 */
		EXPECT_EQ(goal, bgd)
			TH_LOG("concurrent_mark=1: a collection the pacing asked for did not mark in the background");
		EXPECT_LE(goal / 2, beside)
			TH_LOG("concurrent_mark=1: collections the pacing asked for held the allocating thread until they ended");
	} else {
		EXPECT_EQ(0, beside)
			TH_LOG("concurrent_mark=0: the one thread ran inside a collection");
		EXPECT_EQ(0, bgd);
	}
	ASSERT_EQ(0, gch_collect());
	bad = bg_check(seed, &first);
	EXPECT_EQ(0, bad) TH_LOG("%zu payloads lost, the first at node %zu", bad, first);
}

TEST_HARNESS_MAIN
