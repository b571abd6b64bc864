/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Small helpers the selftests share: a monotonic clock, a hash for
 * deterministic sizes and contents, bounded waits, and garbage that
 * overwrites memory freed by mistake.
 */
#ifndef _GCHEAP_SELFTESTS_TEST_UTIL_H
#define _GCHEAP_SELFTESTS_TEST_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gcheap.h"

#ifndef NSEC
#define NSEC		1000000000ULL
#endif
#ifndef MSEC
#define MSEC		1000000ULL
#endif

/* @size bytes that a forked child and the test share, zeroed; or NULL. */
static inline void *shared_map(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/*
 * Record a child's first failure in shared memory (*@failed set, the
 * message in @msg); returns @code, for the child's exit status.
 */
static inline int __attribute__((format(printf, 5, 6)))
shared_fail(int *failed, char *msg, size_t len, int code, const char *fmt, ...)
{
	va_list ap;

	if (!__atomic_exchange_n(failed, 1, __ATOMIC_ACQ_REL)) {
		va_start(ap, fmt);
		vsnprintf(msg, len, fmt, ap);
		va_end(ap);
	}
	return code;
}

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC + ts.tv_nsec;
}

/* splitmix64's finaliser: a well-mixed value for each input. */
static inline uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* Element @i of structure @seed: the top bit set, never a user address. */
static inline uint64_t key_of(uint64_t seed, uint64_t i)
{
	return mix64(seed ^ (i * 0xd1b54a32d192ed03ULL)) | (1ULL << 63);
}

/* Byte @j of the content pattern of @key. */
static inline unsigned char pat(uint64_t key, size_t j)
{
	return (unsigned char)((key >> ((j & 7) * 8)) + j);
}

static inline void fill_pat(unsigned char *p, size_t n, uint64_t key)
{
	size_t j;

	for (j = 0; j < n; j++)
		p[j] = pat(key, j);
}

/* Index of the first byte of @p that is not the pattern, or -1. */
static inline long check_pat(const unsigned char *p, size_t n, uint64_t key)
{
	size_t j;

	for (j = 0; j < n; j++)
		if (p[j] != pat(key, j))
			return j;
	return -1;
}

/* gcheap.ko's reference count (every open heap holds one), or -1. */
static inline int module_refcnt(void)
{
	FILE *f = fopen("/sys/module/gcheap/refcnt", "r");
	int n = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%d", &n) != 1)
		n = -1;
	fclose(f);
	return n;
}

/* Is gcheap.ko's boolean parameter @name on? */
static inline bool module_param_on(const char *name)
{
	char path[128];
	FILE *f;
	int c;

	snprintf(path, sizeof(path), "/sys/module/gcheap/parameters/%s", name);
	f = fopen(path, "r");
	c = f ? fgetc(f) : 'N';
	if (f)
		fclose(f);
	return c == 'Y';
}

/*
 * Does the module mark beside the program (module parameter
 * concurrent_mark)?  Then a collection stops the world twice.
 */
static inline bool concurrent_mark_on(void)
{
	return module_param_on("concurrent_mark");
}

/*
 * Does an arena mapped now by a heap that marks beside the program get
 * write-protected for the mark's last round (module parameter cmark_wp)?
 */
static inline bool cmark_wp_on(void)
{
	return module_param_on("cmark_wp");
}

/*
 * Does the kernel keep time with jiffies (a tick of 1 to 10 ms)?  Then
 * a phase shorter than a tick reads 0 ns.  The debug kernel has no HPET
 * or PM timer (no ACPI), and falls back to jiffies when its TSC
 * calibration fails, as it does on a loaded host.
 */
static inline bool coarse_clock(void)
{
	FILE *f = fopen("/sys/devices/system/clocksource/clocksource0/current_clocksource",
			"r");
	char name[64] = "";

	if (!f)
		return false;
	if (!fgets(name, sizeof(name), f))
		name[0] = 0;
	fclose(f);
	return strstr(name, "jiffies") != NULL;
}

/* Wait up to @ms for *@p to reach @v; false on timeout. */
static inline bool wait_for(const int *p, int v, unsigned int ms)
{
	uint64_t end = now_ns() + ms * MSEC;

	while (__atomic_load_n(p, __ATOMIC_ACQUIRE) < v) {
		if (now_ns() > end)
			return false;
		usleep(1000);
	}
	return true;
}

/* waitpid() for at most @ms: the pid, 0 on timeout, -1 on error. */
static inline pid_t wait_timeout(pid_t pid, int *status, int options,
				 unsigned int ms)
{
	uint64_t end = now_ns() + ms * MSEC;
	pid_t r;

	for (;;) {
		r = waitpid(pid, status, options | WNOHANG);
		if (r)
			return r;
		if (now_ns() > end)
			return 0;
		usleep(1000);
	}
}

/*
 * Allocate and drop @n objects of @lo to @lo + @span - 1 bytes, half of
 * them pointer-free, filled with 0xdb (no pointer): memory freed by
 * mistake is handed out again and overwritten.  0 or -1.
 */
static __attribute__((noinline, unused)) int
churn_sizes(unsigned int n, uint64_t seed, size_t lo, size_t span)
{
	unsigned int i;
	size_t size;
	void *p;

	for (i = 0; i < n; i++) {
		size = lo + mix64(seed * 7919 + i) % span;
		p = (i & 1) ? gch_malloc(size) : gch_malloc_atomic(size);
		if (!p)
			return -1;
		memset(p, 0xdb, size);
	}
	return 0;
}

/* The same, of the node sizes most tests use: 32 to 191 bytes. */
static inline int churn(unsigned int n, uint64_t seed)
{
	return churn_sizes(n, seed, 32, 160);
}

#endif /* _GCHEAP_SELFTESTS_TEST_UTIL_H */
