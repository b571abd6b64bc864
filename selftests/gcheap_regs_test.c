// SPDX-License-Identifier: GPL-2.0
/*
 * Pointers held only in registers across a window of straight-line code
 * are roots.
 *
 * Mutator threads swap groups of pointers between two arrays of their own
 * in bss (a root), never dereferencing them: load a group of A and a group
 * of B into registers, store B's into A, run a few straight-line
 * instructions, store A's into B.  Between the two stores the group that
 * was in A exists only in the registers: nowhere in memory, on no stack.
 * Meanwhile another thread allocates garbage of the nodes' size class
 * (so a node freed by mistake is handed out again and overwritten) and
 * calls gch_collect() in a loop.  At the end every node must still be an
 * allocated object with its checksum: its own address XOR a key, its
 * sequence number, a payload derived from both; and every sequence number
 * must be there exactly once.
 *
 * Variants: gpr (two general registers per pair, task_pt_regs: the
 * control), xmm (SSE, 16 bytes: what compilers emit for 16-byte struct
 * copies and glibc's memcpy does), ymm (AVX, 32 bytes: the upper halves
 * live in another xstate component than the xmm registers), zmm (AVX-512,
 * 64 bytes).  ymm and zmm are skipped, with the reason, where CPUID and
 * XCR0 say the registers are not usable.
 *
 * A thread is stopped in such a window only if an interrupt can land
 * there.  QEMU TCG takes interrupts only between translation blocks, which
 * end at jumps, so in a normal TCG run these tests pass whatever the
 * module scans; they find a missing root under tools/vm/run --anywhere
 * (one instruction per block) and on real hardware.
 *
 * GCH_REGS_SECONDS: seconds per variant (default 3; longer, up to 60 s
 * more, until the collecting thread has done 10 collections).
 * GCH_REGS_MASK_GPR=1 runs only the gpr variant, with its pointers hidden
 * (XOR a mask) during the window, so a collection there cannot see them:
 * it must then lose nodes wherever interrupts land inside the window
 * (run-in-vm.sh anywhere checks so that the mode is on), and never does
 * in a normal TCG run.
 */
#include <cpuid.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gcheap.h"
#include "kselftest_harness.h"
#include "test_util.h"

#ifndef __x86_64__
#error "these tests hold pointers in x86-64 registers"
#endif

#define NSEC		1000000000ULL

#define noinline	__attribute__((noinline))
#define MUTATORS	2
#define SLOTS		256		/* pointers per array per mutator */
#define MAX_GROUP	8		/* pointers per group: 64 bytes (zmm) */
#define NODE_KEY	0xa5c3f00dbeef0000ULL	/* top bit set: never a pointer */
#define HIDE_MASK	0x5a5a5a5a5a5a5a5aULL
#define GARBAGE_RING	512
#define GARBAGE_BATCH	256		/* garbage objects between collections */
#define MAX_REPORTS	8
/* fewer collections would test little: run longer (up to 60 s more) */
#define MIN_COLLECTIONS	10

enum width { W_GPR, W_XMM, W_YMM, W_ZMM };

static const char *const width_name[] = { "gpr", "xmm", "ymm", "zmm" };
static const unsigned int group_ptrs[] = { 2, 2, 4, 8 };

/*
 * struct node - 64 bytes, pointer-free, allocated with gch_malloc() like
 * the garbage so both share spans: what is freed by mistake is reused.
 */
struct node {
	uint64_t self;		/* its address ^ NODE_KEY */
	uint64_t seq;
	uint64_t payload[5];
	uint64_t sum;
};

/*
 * The roots under test: each mutator's two arrays, in bss (scanned as the
 * program's data), aligned for the widest group.  Nothing else holds a
 * node's address while the mutators run.
 */
static struct {
	void *a[SLOTS];
	void *b[SLOTS];
} arrays[MUTATORS] __attribute__((aligned(64)));

/* The garbage thread's ring: recent garbage stays live for a while. */
static void *garbage[GARBAGE_RING];

struct mutator {
	pthread_t thread;
	unsigned int index;
	enum width w;
	bool mask;
	uint64_t swaps;
};

static int stop;
static uint64_t collections, collect_errors;
static int collect_errno;

static uint64_t node_sum(const struct node *n)
{
	uint64_t s = mix64(n->self ^ n->seq);
	unsigned int i;

	for (i = 0; i < 5; i++)
		s = mix64(s ^ n->payload[i]);
	return s;
}

static struct node *node_new(uint64_t seq)
{
	struct node *n = gch_malloc(sizeof(*n));
	unsigned int i;

	if (!n)
		return NULL;
	n->self = (uintptr_t)n ^ NODE_KEY;
	n->seq = seq;
	for (i = 0; i < 5; i++)
		n->payload[i] = mix64(seq * 5 + i) | (1ULL << 63);
	n->sum = node_sum(n);
	return n;
}

/* --- what the CPU and the kernel let us use --------------------------------- */

static uint64_t xgetbv0(void)
{
	uint32_t lo, hi;

	asm volatile("xgetbv" : "=a" (lo), "=d" (hi) : "c" (0));
	return (uint64_t)hi << 32 | lo;
}

/*
 * Can the registers of @w be used?  The CPU must have them and the kernel
 * must have enabled their state in XCR0 (OSXSAVE says XGETBV works).
 * Return: true, or false with @why filled in.
 */
static bool width_usable(enum width w, char *why, size_t len)
{
	unsigned int a, b, c, d;
	uint64_t xcr0, need;

	if (w == W_GPR || w == W_XMM)
		return true;
	if (!__get_cpuid(1, &a, &b, &c, &d)) {
		snprintf(why, len, "no CPUID leaf 1");
		return false;
	}
	if (!(c & bit_OSXSAVE)) {
		snprintf(why, len, "CPUID.1:ECX.OSXSAVE is 0: the kernel does not enable XSAVE, XCR0 cannot be read");
		return false;
	}
	xcr0 = xgetbv0();
	if (w == W_YMM) {
		need = 0x6;	/* SSE, AVX */
		if (!(c & bit_AVX)) {
			snprintf(why, len, "the CPU has no AVX (CPUID.1:ECX.AVX is 0)");
			return false;
		}
	} else {
		need = 0xe6;	/* SSE, AVX, opmask, ZMM_Hi256, Hi16_ZMM */
		if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(b & bit_AVX512F)) {
			snprintf(why, len, "the CPU has no AVX-512F (CPUID.7.0:EBX bit 16 is 0)");
			return false;
		}
	}
	if ((xcr0 & need) != need) {
		snprintf(why, len, "XCR0 is %#llx: the kernel did not enable the state of these registers (needs %#llx)",
			 (unsigned long long)xcr0, (unsigned long long)need);
		return false;
	}
	return true;
}

/* --- the windows -------------------------------------------------------------- */

/*
 * Each swap: load A's group and B's group, store B's into A, then the
 * window (four straight-line instructions: no jump, so under TCG an
 * interrupt lands there only in one-instruction-per-block mode), then
 * store A's into B.  Through the window A's group is only in the
 * registers.  The asm clobbers the registers it uses, so the compiler
 * keeps nothing of its own there; nothing else ever reads the pointers.
 */
static void swap_gpr(void **a, void **b, uint64_t *n)
{
	asm volatile("movq (%[a]), %%rax\n\t"
		     "movq 8(%[a]), %%rdx\n\t"
		     "movq (%[b]), %%rcx\n\t"
		     "movq 8(%[b]), %%rsi\n\t"
		     "movq %%rcx, (%[a])\n\t"
		     "movq %%rsi, 8(%[a])\n\t"
		     "addq $1, %[n]\n\t"
		     "movq %[n], %%rcx\n\t"
		     "xorq %%rsi, %%rsi\n\t"
		     "addq %%rcx, %%rsi\n\t"
		     "movq %%rax, (%[b])\n\t"
		     "movq %%rdx, 8(%[b])"
		     : [n] "+r" (*n)
		     : [a] "r" (a), [b] "r" (b)
		     : "rax", "rcx", "rdx", "rsi", "memory");
}

/* The same, with the two pointers hidden (XOR HIDE_MASK) in the window. */
static void swap_gpr_masked(void **a, void **b, uint64_t *n)
{
	uint64_t m = HIDE_MASK;

	asm volatile("movq (%[a]), %%rax\n\t"
		     "movq 8(%[a]), %%rdx\n\t"
		     "xorq %[m], %%rax\n\t"
		     "xorq %[m], %%rdx\n\t"
		     "movq (%[b]), %%rcx\n\t"
		     "movq 8(%[b]), %%rsi\n\t"
		     "movq %%rcx, (%[a])\n\t"
		     "movq %%rsi, 8(%[a])\n\t"
		     "addq $1, %[n]\n\t"
		     "movq %[n], %%rcx\n\t"
		     "xorq %%rsi, %%rsi\n\t"
		     "addq %%rcx, %%rsi\n\t"
		     "xorq %[m], %%rax\n\t"
		     "xorq %[m], %%rdx\n\t"
		     "movq %%rax, (%[b])\n\t"
		     "movq %%rdx, 8(%[b])"
		     : [n] "+r" (*n)
		     : [a] "r" (a), [b] "r" (b), [m] "r" (m)
		     : "rax", "rcx", "rdx", "rsi", "memory");
}

static void swap_xmm(void **a, void **b, uint64_t *n)
{
	asm volatile("movdqu (%[a]), %%xmm0\n\t"
		     "movdqu (%[b]), %%xmm1\n\t"
		     "movdqu %%xmm1, (%[a])\n\t"
		     "addq $1, %[n]\n\t"
		     "movq %[n], %%rcx\n\t"
		     "xorq %%rsi, %%rsi\n\t"
		     "addq %%rcx, %%rsi\n\t"
		     "movdqu %%xmm0, (%[b])"
		     : [n] "+r" (*n)
		     : [a] "r" (a), [b] "r" (b)
		     : "rcx", "rsi", "xmm0", "xmm1", "memory");
}

static void swap_ymm(void **a, void **b, uint64_t *n)
{
	asm volatile("vmovdqu (%[a]), %%ymm0\n\t"
		     "vmovdqu (%[b]), %%ymm1\n\t"
		     "vmovdqu %%ymm1, (%[a])\n\t"
		     "addq $1, %[n]\n\t"
		     "movq %[n], %%rcx\n\t"
		     "xorq %%rsi, %%rsi\n\t"
		     "addq %%rcx, %%rsi\n\t"
		     "vmovdqu %%ymm0, (%[b])\n\t"
		     "vzeroupper"
		     : [n] "+r" (*n)
		     : [a] "r" (a), [b] "r" (b)
		     : "rcx", "rsi", "xmm0", "xmm1", "memory");
}

static void swap_zmm(void **a, void **b, uint64_t *n)
{
	asm volatile("vmovdqu64 (%[a]), %%zmm0\n\t"
		     "vmovdqu64 (%[b]), %%zmm1\n\t"
		     "vmovdqu64 %%zmm1, (%[a])\n\t"
		     "addq $1, %[n]\n\t"
		     "movq %[n], %%rcx\n\t"
		     "xorq %%rsi, %%rsi\n\t"
		     "addq %%rcx, %%rsi\n\t"
		     "vmovdqu64 %%zmm0, (%[b])\n\t"
		     "vzeroupper"
		     : [n] "+r" (*n)
		     : [a] "r" (a), [b] "r" (b)
		     : "rcx", "rsi", "xmm0", "xmm1", "memory");
}

static void *mutator_run(void *arg)
{
	struct mutator *m = arg;
	void **a = arrays[m->index].a, **b = arrays[m->index].b;
	unsigned int k = group_ptrs[m->w], groups = SLOTS / k, g = 0, h;
	void (*swap)(void **to, void **from, uint64_t *count);
	uint64_t n = 0;

	switch (m->w) {
	case W_GPR:
		swap = m->mask ? swap_gpr_masked : swap_gpr;
		break;
	case W_XMM:
		swap = swap_xmm;
		break;
	case W_YMM:
		swap = swap_ymm;
		break;
	default:
		swap = swap_zmm;
		break;
	}
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		/* groups move between positions, each pointer keeps its lane */
		h = (g * 7 + 3) % groups;
		swap(a + g * k, b + h * k, &n);
		g = (g + 1) % groups;
	}
	m->swaps = n;
	return NULL;
}

/* Allocate garbage of the nodes' class and collect, until told to stop. */
static void *collector_run(void *arg)
{
	unsigned int i = 0, j;
	uint64_t *p;

	(void)arg;
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		for (j = 0; j < GARBAGE_BATCH; j++, i++) {
			p = gch_malloc(sizeof(struct node));
			if (p)
				memset(p, 0xdb, sizeof(struct node));
			garbage[i % GARBAGE_RING] = p;
		}
		if (gch_collect()) {
			if (!collect_errors++)
				collect_errno = errno;
		} else {
			__atomic_fetch_add(&collections, 1, __ATOMIC_RELAXED);
		}
	}
	return NULL;
}

static unsigned int seconds(void)
{
	const char *s = getenv("GCH_REGS_SECONDS");
	unsigned long v;

	if (!s || !*s)
		return 3;
	v = strtoul(s, NULL, 10);
	return v < 1 ? 1 : v > 600 ? 600 : v;
}

FIXTURE(regs) {
	int unused;
};

FIXTURE_VARIANT(regs) {
	enum width w;
};

FIXTURE_VARIANT_ADD(regs, gpr) {
	.w = W_GPR,
};

FIXTURE_VARIANT_ADD(regs, xmm) {
	.w = W_XMM,
};

FIXTURE_VARIANT_ADD(regs, ymm) {
	.w = W_YMM,
};

FIXTURE_VARIANT_ADD(regs, zmm) {
	.w = W_ZMM,
};

FIXTURE_SETUP(regs)
{
	ASSERT_EQ(0, unsetenv("GCHEAP_GOGC"));
	ASSERT_EQ(0, unsetenv("GCHEAP_MAX_HEAP"));
}

FIXTURE_TEARDOWN(regs)
{
}

/*
 * Check every node of the arrays.  Return: the bad ones; @freed of them
 * were no allocated object any more, the others overwritten or repeated.
 */
static noinline unsigned int verify(struct __test_metadata *_metadata,
				    unsigned int k, uint64_t total,
				    unsigned int *freed, unsigned int *lanes)
{
	unsigned char *seen = calloc(total, 1);
	unsigned int i, j, bad = 0, reports = 0;
	const struct node *n;
	void **arr;

	*freed = 0;
	if (!seen)
		return ~0U;
	for (i = 0; i < MUTATORS; i++) {
		for (j = 0; j < 2 * SLOTS; j++) {
			arr = j < SLOTS ? arrays[i].a : arrays[i].b;
			n = arr[j % SLOTS];
			if (gch_base(n) != n) {
				(*freed)++;
			} else if (n->self == ((uintptr_t)n ^ NODE_KEY) &&
				   n->seq < total && !seen[n->seq] &&
				   n->sum == node_sum(n)) {
				seen[n->seq] = 1;
				continue;
			}
			bad++;
			lanes[j % k]++;
			if (reports++ < MAX_REPORTS)
				TH_LOG("mutator %u, %s[%u]: node %p %s", i,
				       j < SLOTS ? "a" : "b", j % SLOTS, n,
				       gch_base(n) != n ? "is no allocated object: freed while reachable" :
				       "was overwritten (or is there twice)");
		}
	}
	free(seen);
	return bad;
}

TEST_F_TIMEOUT(regs, swap_window, 900)
{
	static struct mutator m[MUTATORS];
	unsigned int i, j, k = group_ptrs[variant->w], bad, freed, secs = seconds();
	unsigned int lanes[MAX_GROUP] = { 0 };
	uint64_t total = (uint64_t)MUTATORS * 2 * SLOTS, swaps = 0, t0, gc0;
	bool mask = false;
	struct gch_heap_stats st;
	pthread_t collector;
	const char *e;
	char why[256], lane_txt[128];
	int len;

	if (!width_usable(variant->w, why, sizeof(why)))
		SKIP(return, "%s registers: %s", width_name[variant->w], why);
	e = getenv("GCH_REGS_MASK_GPR");
	if (e && !strcmp(e, "1")) {
		if (variant->w != W_GPR)
			SKIP(return, "GCH_REGS_MASK_GPR=1 runs the gpr variant only");
		mask = true;
		TH_LOG("GCH_REGS_MASK_GPR=1: the pointers are hidden in the window; this must fail under --anywhere");
	}

	for (i = 0; i < MUTATORS; i++) {
		for (j = 0; j < 2 * SLOTS; j++) {
			struct node *n = node_new(i * 2 * SLOTS + j);

			ASSERT_NE(NULL, n) TH_LOG("gch_malloc: %s", strerror(errno));
			if (j < SLOTS)
				arrays[i].a[j] = n;
			else
				arrays[i].b[j - SLOTS] = n;
		}
	}
	ASSERT_EQ(0, gch_stats(&st));
	gc0 = st.num_gc;

	t0 = now_ns();
	for (i = 0; i < MUTATORS; i++) {
		m[i].index = i;
		m[i].w = variant->w;
		m[i].mask = mask;
		ASSERT_EQ(0, pthread_create(&m[i].thread, NULL, mutator_run, &m[i]));
	}
	ASSERT_EQ(0, pthread_create(&collector, NULL, collector_run, NULL));
	while (now_ns() - t0 < secs * NSEC ||
	       (__atomic_load_n(&collections, __ATOMIC_RELAXED) < MIN_COLLECTIONS &&
		now_ns() - t0 < (secs + 60) * NSEC))
		usleep(100000);
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < MUTATORS; i++) {
		ASSERT_EQ(0, pthread_join(m[i].thread, NULL));
		swaps += m[i].swaps;
	}
	ASSERT_EQ(0, pthread_join(collector, NULL));
	/* every mistake swept, its memory handed out again and overwritten */
	ASSERT_EQ(0, gch_collect()) TH_LOG("%s", strerror(errno));
	for (i = 0; i < GARBAGE_RING; i++)
		garbage[i] = NULL;
	for (i = 0; i < 4 * GARBAGE_RING; i++) {
		uint64_t *p = gch_malloc(sizeof(struct node));

		ASSERT_NE(NULL, p);
		memset(p, 0xdb, sizeof(struct node));
	}
	ASSERT_EQ(0, gch_stats(&st));

	bad = verify(_metadata, k, total, &freed, lanes);
	ASSERT_NE(~0U, bad) TH_LOG("calloc failed");
	len = 0;
	for (i = 0; i < k; i++)
		len += snprintf(lane_txt + len, sizeof(lane_txt) - len, "%s%u",
				i ? " " : "", lanes[i]);
	TH_LOG("%s: %.1f s, %llu swaps, %llu collections by the collecting thread (%llu in all); %u of %llu nodes corrupt (%u freed, %u overwritten), by lane: %s",
	       width_name[variant->w], (now_ns() - t0) / 1e9,
	       (unsigned long long)swaps, (unsigned long long)collections,
	       (unsigned long long)(st.num_gc - gc0), bad,
	       (unsigned long long)total, freed, bad - freed, lane_txt);
	EXPECT_EQ(0, collect_errors) TH_LOG("gch_collect failed %llu times, first: %s",
					    (unsigned long long)collect_errors,
					    strerror(collect_errno));
	/* otherwise the test tested nothing */
	EXPECT_LE(MIN_COLLECTIONS, collections);
	EXPECT_LE(1000, swaps);
	EXPECT_EQ(0, bad)
		TH_LOG("%u of %llu nodes whose pointers were only in %s registers between two stores were lost",
		       bad, (unsigned long long)total, width_name[variant->w]);
}

static void __attribute__((constructor)) line_buffered(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
}

TEST_HARNESS_MAIN
