// SPDX-License-Identifier: GPL-2.0
/*
 * gcsoak: a long-running correctness soak of gcheap.
 *
 *   gcsoak [-t THREADS] [-d SECONDS] [-i MS] [-n SLOTS] [-p SECONDS]
 *          [-s SEED] [-x] [-j]
 *
 * THREADS mutator threads (default 8) each own SLOTS root slots (default
 * 128) in a table reachable from the program's data.  A slot holds an
 * object graph: nodes of random size (a few bytes to a large object of
 * more than 32 KiB), 0 to 4 children, sometimes a pointer-free blob
 * (gch_malloc_atomic), and sometimes a child taken from another of the
 * thread's graphs, so graphs share subgraphs and an object outlives the
 * root that made it.  Every object carries a checksum of its own content
 * (its id, sizes, child and blob pointers, payload), verified on every
 * visit.  A mutator picks a slot at random and verifies its graph, then
 * replaces it with a new one, rewrites one node (recomputing its
 * checksum), or leaves it; meanwhile it drops garbage graphs, and frees
 * the root of every other one with gch_free() at once, racing the
 * background sweep.
 *
 * With -x, after each of those steps a mutator also swaps pairs of its
 * slots with SSE (16 bytes) and, where AVX is usable, groups of four with
 * AVX (32 bytes), as compilers copy structures and glibc's memcpy does:
 * between the two stores of a swap the old pointers are only in a vector
 * register.  That window is a race only interrupt-anywhere mode (tools/vm/run
 * --anywhere) or real hardware can hit; the collector must scan the
 * vector registers of stopped threads.  A graph lost so is freed, and its
 * memory may be handed out again as a valid node of another graph before
 * the slot is visited: so every slot also records the id of its root
 * (swapped along with the slot), and with -x every visit asks the heap
 * (gch_base(), a system call) that the root is still an allocated object.
 * The final check always does both.
 *
 * A collector thread calls gch_collect() every MS milliseconds (default
 * 100); the heap's own pacing (GOGC, default 100) adds collections as the
 * mutators allocate.  Progress every SECONDS (default 5, 0: none) on
 * stderr; at the end (after -d SECONDS, default 60) every graph is
 * verified once more and a report says the collections done (explicit
 * and in all), objects checked and corruption found.  -j prints the
 * report as one JSON object on stdout.
 *
 * Exit status: 0 if no corruption and no error; 1 otherwise (a checksum,
 * a dangling child, a collection or allocation failure); 2 usage.
 */
#include <cpuid.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gcheap.h"

#define MAX_THREADS	256
#define MAX_KIDS	4
#define NODE_MAGIC	0x50414b53ULL		/* "SKAP" */
#define BLOB_MAGIC	0x424f4c42ULL		/* "BLOB" */
/* payload words of a large node: more than GCH_MAX_SMALL_SIZE bytes */
#define LARGE_WORDS	(40 * 1024 / 8)
#define MAX_REPORTS	10

struct blob {
	uint64_t magic;
	uint64_t nwords;
	uint64_t sum;
	uint64_t words[];
};

struct node {
	uint64_t magic;
	uint64_t id;
	uint32_t nkids;
	uint32_t nwords;
	uint64_t sum;
	struct blob *blob;
	struct node *kids[MAX_KIDS];
	uint64_t words[];
};

struct mutator {
	unsigned int index;
	uint64_t rng;
	uint64_t next_id;
	struct node **slots;		/* gch_malloc'd: a heap object */
	uint64_t *ids;			/* malloc'd: id of each slot's root */
	uint64_t checked;		/* objects verified */
	uint64_t graphs;		/* graphs built */
	uint64_t rewrites;
	uint64_t bytes;
	uint64_t vswaps;		/* -x: vector swaps done */
	pthread_t thread;
};

static unsigned int nthreads = 8, nslots = 128, interval_ms = 100;
static unsigned int duration = 60, progress = 5;
static uint64_t seed0 = 1;
static int json, vector_swaps, have_avx;

/* Roots: the table of mutators (each holds its slot table) is in bss. */
static struct mutator muts[MAX_THREADS];
static atomic_int stop;
static atomic_ulong corruption, errors, explicit_gc, collect_errors, frees;
static atomic_int reports;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static uint64_t rnd(struct mutator *m)
{
	m->rng = mix(m->rng);
	return m->rng;
}

static void complain(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void complain(const char *fmt, ...)
{
	va_list ap;

	if (atomic_fetch_add(&reports, 1) >= MAX_REPORTS)
		return;
	va_start(ap, fmt);
	fprintf(stderr, "gcsoak: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static uint64_t blob_sum(const struct blob *b)
{
	uint64_t s = mix(b->nwords ^ BLOB_MAGIC);
	uint64_t i;

	for (i = 0; i < b->nwords; i++)
		s = mix(s ^ b->words[i]);
	return s;
}

static uint64_t node_sum(const struct node *n)
{
	uint64_t s = mix(n->id ^ ((uint64_t)n->nkids << 32 | n->nwords));
	unsigned int i;

	s = mix(s ^ (uintptr_t)n->blob);
	for (i = 0; i < MAX_KIDS; i++)
		s = mix(s ^ (uintptr_t)n->kids[i]);
	for (i = 0; i < n->nwords; i++)
		s = mix(s ^ n->words[i]);
	return s;
}

static struct blob *blob_new(struct mutator *m)
{
	uint64_t nw = 1 + rnd(m) % 500, i;
	struct blob *b = gch_malloc_atomic(sizeof(*b) + nw * 8);

	if (!b)
		return NULL;
	b->magic = BLOB_MAGIC;
	b->nwords = nw;
	for (i = 0; i < nw; i++)
		b->words[i] = rnd(m);
	b->sum = blob_sum(b);
	m->bytes += sizeof(*b) + nw * 8;
	return b;
}

/* A node's payload, children and checksum; children must be set first. */
static void node_seal(struct mutator *m, struct node *n)
{
	unsigned int i;

	for (i = 0; i < n->nwords; i++)
		n->words[i] = rnd(m);
	n->sum = node_sum(n);
}

/*
 * A leaf of one of the thread's live graphs, or NULL: for sharing.  Only
 * leaves, so that graphs stay as deep as they were built.
 */
static struct node *some_node(struct mutator *m)
{
	struct node *n = m->slots[rnd(m) % nslots];

	while (n && n->nkids)
		n = n->kids[rnd(m) % n->nkids];
	return n;
}

static struct node *graph_new(struct mutator *m, unsigned int depth)
{
	uint64_t r = rnd(m);
	unsigned int nw, nk, i;
	struct node *n;

	nw = r % 1000 == 0 ? LARGE_WORDS : (unsigned int)(r >> 10) % 48;
	nk = depth ? (unsigned int)(r >> 20) % (MAX_KIDS + 1) : 0;
	n = gch_malloc(sizeof(*n) + nw * 8);
	if (!n)
		return NULL;
	m->bytes += sizeof(*n) + nw * 8;
	n->magic = NODE_MAGIC;
	n->id = ((uint64_t)m->index << 48) | m->next_id++;
	n->nwords = nw;
	n->nkids = nk;
	for (i = 0; i < nk; i++) {
		/* a shared leaf now and then: it outlives its first root */
		if ((r >> (30 + i)) % 8 == 0)
			n->kids[i] = some_node(m);
		if (!n->kids[i])
			n->kids[i] = graph_new(m, depth - 1);
		if (!n->kids[i])
			return NULL;
	}
	if ((r >> 40) % 3 == 0) {
		n->blob = blob_new(m);
		if (!n->blob)
			return NULL;
	}
	node_seal(m, n);
	return n;
}

/* Verify a graph; returns how many problems were found. */
static unsigned long graph_check(struct mutator *m, const struct node *n,
				 unsigned int depth)
{
	unsigned long bad = 0;
	unsigned int i;

	if (depth > 64) {
		complain("thread %u: graph deeper than 64: a cycle made by corruption",
			 m->index);
		return 1;
	}
	m->checked++;
	if (n->magic != NODE_MAGIC || n->nkids > MAX_KIDS ||
	    n->nwords > LARGE_WORDS || n->sum != node_sum(n)) {
		complain("thread %u: node %p (id %#" PRIx64 "): magic %#" PRIx64
			 ", %u kids, %u words, checksum %s",
			 m->index, (const void *)n, n->id, n->magic, n->nkids,
			 n->nwords, n->sum == node_sum(n) ? "ok" : "wrong");
		return 1;
	}
	if (n->blob) {
		m->checked++;
		if (n->blob->magic != BLOB_MAGIC || n->blob->nwords > 500 ||
		    n->blob->sum != blob_sum(n->blob)) {
			complain("thread %u: blob %p of node %#" PRIx64 " is corrupt",
				 m->index, (const void *)n->blob, n->id);
			bad++;
		}
	}
	for (i = 0; i < n->nkids; i++) {
		if (!n->kids[i]) {
			complain("thread %u: node %#" PRIx64 ": child %u is NULL",
				 m->index, n->id, i);
			bad++;
			continue;
		}
		bad += graph_check(m, n->kids[i], depth + 1);
	}
	return bad;
}

/* AVX usable: the CPU has it and the kernel enabled its state in XCR0. */
static int avx_usable(void)
{
	unsigned int a, b, c, d;
	uint32_t lo, hi;

	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_OSXSAVE) ||
	    !(c & bit_AVX))
		return 0;
	asm volatile("xgetbv" : "=a" (lo), "=d" (hi) : "c" (0));
	return (lo & 6) == 6;
}

/*
 * Swap the 16 bytes at @a and @b through %xmm0/%xmm1: after the first
 * store, @a's pointers are only in %xmm0 for a few straight-line
 * instructions.  The asm clobbers what it uses, so the compiler keeps no
 * copy of its own there.
 */
static inline void swap16(void *a, void *b, uint64_t *n)
{
	asm volatile("movdqu (%[a]), %%xmm0\n\t"
		     "movdqu (%[b]), %%xmm1\n\t"
		     "movdqu %%xmm1, (%[a])\n\t"
		     "addq $1, %[n]\n\t"
		     "movq %[n], %%rcx\n\t"
		     "xorq %%rdx, %%rdx\n\t"
		     "addq %%rcx, %%rdx\n\t"
		     "movdqu %%xmm0, (%[b])"
		     : [n] "+r" (*n)
		     : [a] "r" (a), [b] "r" (b)
		     : "rcx", "rdx", "xmm0", "xmm1", "memory");
}

/* The same for 32 bytes through %ymm0/%ymm1. */
static inline void swap32(void *a, void *b, uint64_t *n)
{
	asm volatile("vmovdqu (%[a]), %%ymm0\n\t"
		     "vmovdqu (%[b]), %%ymm1\n\t"
		     "vmovdqu %%ymm1, (%[a])\n\t"
		     "addq $1, %[n]\n\t"
		     "movq %[n], %%rcx\n\t"
		     "xorq %%rdx, %%rdx\n\t"
		     "addq %%rcx, %%rdx\n\t"
		     "vmovdqu %%ymm0, (%[b])\n\t"
		     "vzeroupper"
		     : [n] "+r" (*n)
		     : [a] "r" (a), [b] "r" (b)
		     : "rcx", "rdx", "xmm0", "xmm1", "memory");
}

/* -x: passes over the slot table after each step of a mutator */
#define VECTOR_PASSES	8

/*
 * -x: shuffle the slot table in groups of @k (2: SSE, 4: AVX), group g
 * with group (7g + 3) mod groups; graphs stay reachable from the table,
 * only their slots change (their ids move along, in C).
 */
static void vector_shuffle(struct mutator *m, unsigned int k)
{
	unsigned int groups = nslots / k, g, h, i, pass;
	uint64_t id;

	for (pass = 0; pass < VECTOR_PASSES; pass++) {
		for (g = 0; g < groups; g++) {
			h = (g * 7 + 3) % groups;
			if (h == g)
				continue;
			if (k == 2)
				swap16(&m->slots[g * 2], &m->slots[h * 2], &m->vswaps);
			else
				swap32(&m->slots[g * 4], &m->slots[h * 4], &m->vswaps);
			for (i = 0; i < k; i++) {
				id = m->ids[g * k + i];
				m->ids[g * k + i] = m->ids[h * k + i];
				m->ids[h * k + i] = id;
			}
		}
	}
}

/*
 * Is the graph in slot @s the one put there?  Its root must be an
 * allocated object (asked with @query) with the recorded id.
 * Return: 0, or 1 after complaining.
 */
static unsigned long slot_check(struct mutator *m, unsigned int s, int query)
{
	const struct node *n = m->slots[s];

	if (query && gch_base(n) != n) {
		complain("thread %u: slot %u: graph root %p is no allocated object: freed while reachable",
			 m->index, s, (const void *)n);
		return 1;
	}
	if (n->id != m->ids[s]) {
		complain("thread %u: slot %u: root %p has id %#" PRIx64 ", not %#" PRIx64
			 ": the graph was freed while reachable and its memory reused",
			 m->index, s, (const void *)n, n->id, m->ids[s]);
		return 1;
	}
	return 0;
}

static void *mutator_main(void *arg)
{
	struct mutator *m = arg;
	unsigned long bad;
	unsigned int s;
	struct node *n;
	uint64_t r;

	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		r = rnd(m);
		s = r % nslots;
		n = m->slots[s];
		if (n && slot_check(m, s, vector_swaps)) {
			atomic_fetch_add(&corruption, 1);
			m->slots[s] = NULL;	/* report each once */
			continue;
		}
		if (n) {
			bad = graph_check(m, n, 0);
			if (bad) {
				atomic_fetch_add(&corruption, bad);
				m->slots[s] = NULL;	/* report each once */
				continue;
			}
		}
		switch ((r >> 32) % 4) {
		case 0:
		case 1:
			/* replace: the old graph becomes garbage, unless shared */
			n = graph_new(m, 3);
			if (!n) {
				complain("thread %u: allocation failed: %s",
					 m->index, strerror(errno));
				atomic_fetch_add(&errors, 1);
				return NULL;
			}
			m->slots[s] = n;
			m->ids[s] = n->id;
			m->graphs++;
			break;
		case 2:
			/* rewrite one node in place */
			if (n) {
				node_seal(m, n);
				m->rewrites++;
			}
			break;
		default:
			/* pure garbage */
			n = graph_new(m, 2);
			if (!n) {
				complain("thread %u: allocation failed: %s",
					 m->index, strerror(errno));
				atomic_fetch_add(&errors, 1);
				return NULL;
			}
			/*
			 * Every other time its root (never shared: only
			 * children are taken from other graphs) is freed at
			 * once, racing the background sweep and the other
			 * threads' refills over the same spans.
			 */
			if (r & (1ULL << 40)) {
				if (gch_free(n)) {
					complain("thread %u: gch_free: %s",
						 m->index, strerror(errno));
					atomic_fetch_add(&errors, 1);
				}
				atomic_fetch_add(&frees, 1);
			}
			break;
		}
		if (vector_swaps)
			vector_shuffle(m, have_avx && (r & (1ULL << 60)) ? 4 : 2);
	}
	return NULL;
}

/* Sleep @ms, in slices of at most 100 ms: false if told to stop meanwhile. */
static bool nap(unsigned int ms)
{
	while (ms && !atomic_load(&stop)) {
		unsigned int slice = ms < 100 ? ms : 100;
		struct timespec ts = { 0, slice * 1000000L };

		nanosleep(&ts, NULL);
		ms -= slice;
	}
	return !atomic_load(&stop);
}

static void *collector_main(void *arg)
{
	(void)arg;
	while (nap(interval_ms)) {
		if (gch_collect()) {
			complain("gch_collect: %s", strerror(errno));
			atomic_fetch_add(&collect_errors, 1);
			if (errno != EAGAIN && errno != ETIMEDOUT)
				return NULL;
			continue;
		}
		atomic_fetch_add(&explicit_gc, 1);
	}
	return NULL;
}

static void totals(uint64_t *checked, uint64_t *graphs, uint64_t *rewrites,
		   uint64_t *bytes, uint64_t *vswaps)
{
	unsigned int i;

	*checked = *graphs = *rewrites = *bytes = *vswaps = 0;
	/* racy reads of counters: only for progress; final ones are joined */
	for (i = 0; i < nthreads; i++) {
		*checked += muts[i].checked;
		*graphs += muts[i].graphs;
		*rewrites += muts[i].rewrites;
		*bytes += muts[i].bytes;
		*vswaps += muts[i].vswaps;
	}
}

static void usage(const char *prog, int status)
{
	fprintf(status ? stderr : stdout,
		"usage: %s [-t THREADS] [-d SECONDS] [-i MS] [-n SLOTS] [-p SECONDS] [-s SEED] [-x] [-j]\n"
		"  -t    mutator threads (default 8, at most %d)\n"
		"  -d    duration in seconds (default 60)\n"
		"  -i    milliseconds between explicit collections (default 100)\n"
		"  -n    root slots per thread (default 128)\n"
		"  -p    seconds between progress lines on stderr (default 5, 0: none)\n"
		"  -s    random seed (default 1)\n"
		"  -x    mutators also swap slots through SSE/AVX registers (SLOTS >= 8)\n"
		"  -j    the report as one JSON object on stdout\n",
		prog, MAX_THREADS);
	exit(status);
}

static unsigned long number(const char *s, const char *prog)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end)
		usage(prog, 2);
	return v;
}

int main(int argc, char **argv)
{
	uint64_t t0, next, checked, graphs, rewrites, bytes, vswaps, pause_ns;
	struct gch_heap_stats st;
	unsigned long bad = 0;
	pthread_t collector;
	unsigned int i, s;
	int opt;

	while ((opt = getopt(argc, argv, "t:d:i:n:p:s:xjh")) != -1) {
		switch (opt) {
		case 't':
			nthreads = number(optarg, argv[0]);
			break;
		case 'd':
			duration = number(optarg, argv[0]);
			break;
		case 'i':
			interval_ms = number(optarg, argv[0]);
			break;
		case 'n':
			nslots = number(optarg, argv[0]);
			break;
		case 'p':
			progress = number(optarg, argv[0]);
			break;
		case 's':
			seed0 = number(optarg, argv[0]);
			break;
		case 'x':
			vector_swaps = 1;
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			usage(argv[0], 0);
			break;
		default:
			usage(argv[0], 2);
		}
	}
	if (optind != argc || !nthreads || nthreads > MAX_THREADS || !nslots ||
	    !interval_ms || (vector_swaps && nslots < 8))
		usage(argv[0], 2);
	if (vector_swaps) {
		have_avx = avx_usable();
		fprintf(stderr, "gcsoak: -x: mutators swap slots with SSE%s\n",
			have_avx ? " and AVX" : " (AVX not usable: CPUID or XCR0)");
	}

	for (i = 0; i < nthreads; i++) {
		muts[i].index = i;
		muts[i].rng = mix(seed0 * 1000003ULL + i);
		muts[i].slots = gch_calloc(nslots, sizeof(struct node *));
		muts[i].ids = calloc(nslots, sizeof(uint64_t));
		if (!muts[i].slots || !muts[i].ids) {
			fprintf(stderr, "gcsoak: slot tables: %s\n", strerror(errno));
			return 1;
		}
	}
	t0 = now_ns();
	for (i = 0; i < nthreads; i++)
		if (pthread_create(&muts[i].thread, NULL, mutator_main, &muts[i])) {
			fprintf(stderr, "gcsoak: pthread_create failed\n");
			return 1;
		}
	if (pthread_create(&collector, NULL, collector_main, NULL)) {
		fprintf(stderr, "gcsoak: pthread_create failed\n");
		return 1;
	}
	next = t0 + (uint64_t)progress * 1000000000ULL;
	while (now_ns() - t0 < (uint64_t)duration * 1000000000ULL &&
	       !atomic_load(&errors)) {
		usleep(100000);
		if (progress && now_ns() >= next) {
			totals(&checked, &graphs, &rewrites, &bytes, &vswaps);
			if (gch_stats(&st))
				memset(&st, 0, sizeof(st));
			fprintf(stderr, "gcsoak: %3" PRIu64 " s: %lu collections (%" PRIu64
				" in all), %" PRIu64 " objects checked, %" PRIu64
				" graphs, heap %.1f MiB, corruption %lu\n",
				(uint64_t)((now_ns() - t0) / 1000000000ULL),
				atomic_load(&explicit_gc), st.num_gc, checked,
				graphs, st.inuse_bytes / 1048576.0,
				atomic_load(&corruption));
			next += (uint64_t)progress * 1000000000ULL;
		}
	}
	atomic_store(&stop, 1);
	for (i = 0; i < nthreads; i++)
		pthread_join(muts[i].thread, NULL);
	pthread_join(collector, NULL);

	/* one last collection, then every graph once more */
	if (gch_collect()) {
		complain("final gch_collect: %s", strerror(errno));
		atomic_fetch_add(&collect_errors, 1);
	} else {
		atomic_fetch_add(&explicit_gc, 1);
	}
	for (i = 0; i < nthreads; i++) {
		for (s = 0; s < nslots; s++) {
			struct node *n = muts[i].slots[s];

			if (!n)
				continue;
			if (slot_check(&muts[i], s, 1)) {
				bad++;
				continue;
			}
			bad += graph_check(&muts[i], n, 0);
		}
	}
	atomic_fetch_add(&corruption, bad);
	totals(&checked, &graphs, &rewrites, &bytes, &vswaps);
	if (gch_stats(&st))
		memset(&st, 0, sizeof(st));
	pause_ns = st.pause_total_ns;

	if (json) {
		printf("{\"tool\": \"gcsoak\", \"threads\": %u, \"slots\": %u, "
		       "\"seconds\": %.1f, \"collections\": %" PRIu64 ", "
		       "\"explicit_collections\": %lu, \"collect_errors\": %lu, "
		       "\"objects_checked\": %" PRIu64 ", \"graphs\": %" PRIu64
		       ", \"rewrites\": %" PRIu64 ", \"bytes_allocated\": %" PRIu64
		       ", \"pause_total_ns\": %" PRIu64 ", \"corruption\": %lu, "
		       "\"vector_swaps\": %" PRIu64 ", \"explicit_frees\": %lu, "
		       "\"errors\": %lu}\n",
		       nthreads, nslots, (now_ns() - t0) / 1e9, st.num_gc,
		       atomic_load(&explicit_gc), atomic_load(&collect_errors),
		       checked, graphs, rewrites, bytes, pause_ns,
		       atomic_load(&corruption), vswaps, atomic_load(&frees),
		       atomic_load(&errors));
	} else {
		char vtxt[48] = "";

		if (vector_swaps)
			snprintf(vtxt, sizeof(vtxt), "%" PRIu64 " vector swaps, ",
				 vswaps);
		printf("gcsoak: %u threads, %.1f s: %" PRIu64 " collections (%lu explicit, %"
		       PRIu64 " paced), %" PRIu64 " objects checked, %" PRIu64
		       " graphs, %.1f MiB allocated, %lu freed explicitly, %scorruption %lu, errors %lu\n",
		       nthreads, (now_ns() - t0) / 1e9, st.num_gc,
		       atomic_load(&explicit_gc),
		       st.num_gc > atomic_load(&explicit_gc) ?
		       st.num_gc - atomic_load(&explicit_gc) : 0,
		       checked, graphs, bytes / 1048576.0, atomic_load(&frees),
		       vtxt,
		       atomic_load(&corruption),
		       atomic_load(&errors) + atomic_load(&collect_errors));
	}
	return atomic_load(&corruption) || atomic_load(&errors) ||
	       atomic_load(&collect_errors) ? 1 : 0;
}
