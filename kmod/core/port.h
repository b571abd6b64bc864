/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one port header of the portable collector core.
 *
 * Everything under kmod/core/ compiles in three places: inside gcheap.ko,
 * in the hosted test build (tools/testing/hosted, ASan/UBSan/TSan) and in
 * libgcheap.  Core files include only this header and the uapi header, so
 * the difference between the kernel and a hosted C library lives here and
 * nowhere else.
 */
#ifndef _GCHEAP_CORE_PORT_H
#define _GCHEAP_CORE_PORT_H

#ifdef __KERNEL__

#include <linux/bitops.h>
#include <linux/build_bug.h>
#include <linux/bug.h>
#include <linux/container_of.h>
#include <linux/errno.h>
#include <linux/kernel.h>
#include <linux/limits.h>
#include <linux/list.h>
#include <linux/math.h>
#include <linux/minmax.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/types.h>
#include <linux/atomic.h>
#include <linux/compiler.h>
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/err.h>
#include <linux/kthread.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/spinlock.h>
#include <linux/wait.h>

/**
 * gch_zalloc() - allocate zeroed memory for the core's bookkeeping
 * @size: bytes, not 0.
 *
 * Every allocation of the core goes through this pair, so that it is
 * charged to the heap owner's memory cgroup (the architecture's contract
 * 4: bounded, accounted metadata) and so that the hosted build can make
 * any one of them fail.  kvzalloc() because span tables of large arenas
 * outgrow what kmalloc() gives reliably.  May sleep.
 *
 * Return: the memory, or NULL.
 */
static inline void *gch_zalloc(size_t size)
{
	/* failure is handled: no OOM kill, no warning (ENOMEM to the caller) */
	return kvzalloc(size, GFP_KERNEL_ACCOUNT | __GFP_RETRY_MAYFAIL |
			__GFP_NOWARN);
}

/**
 * gch_kvfree() - free memory from gch_zalloc()
 * @ptr: the memory, or NULL.
 */
static inline void gch_kvfree(const void *ptr)
{
	kvfree(ptr);
}

/* One step of waiting for other workers: see gch_backoff() below. */
static inline void gch_wait_step(unsigned int tier)
{
	if (tier == 1)
		cond_resched();
	else if (tier == 2)
		usleep_range(20, 100);
}

/*
 * A point where a worker with work lets others run: a mark beside the
 * program must not keep the program off its CPU (a kernel without full
 * preemption runs a kthread until it yields).
 */
static inline void gch_work_yield(void)
{
	cond_resched();
}

/*
 * An event count: a waiter reads it (gch_event_read()), checks what it
 * waits for, and sleeps until it moves (gch_event_wait()); whoever makes
 * the condition true bumps it (gch_event_signal()).  No wake-up is lost:
 * a bump after the read ends the sleep, one before it made the check see
 * the condition.  The timeout is a bound on a missed condition, not the
 * way it is found.
 */
struct gch_event {
	atomic_t seq;
	wait_queue_head_t wq;
};

static inline void gch_event_init(struct gch_event *ev)
{
	atomic_set(&ev->seq, 0);
	init_waitqueue_head(&ev->wq);
}

/* Fully ordered: the checks after it see what came before a bump. */
static inline int gch_event_read(struct gch_event *ev)
{
	int seq = atomic_read(&ev->seq);

	/* the caller's checks after this see what preceded a later bump */
	smp_mb();
	return seq;
}

static inline void gch_event_signal(struct gch_event *ev)
{
	atomic_inc_return(&ev->seq);
	wake_up_all(&ev->wq);
}

/* Sleep until @ev moves past @seq or @us microseconds pass. */
static inline void gch_event_wait(struct gch_event *ev, int seq,
				  unsigned int us)
{
	/* TASK_IDLE: a worker waiting for work is no load */
	wait_event_idle_timeout(ev->wq, atomic_read(&ev->seq) != seq,
				max(usecs_to_jiffies(us), 1UL));
}

/* The run of gch_run_workers() (below) for one worker. */
struct gch_worker_thread {
	void (*fn)(void *arg, unsigned int index);
	void *arg;
	unsigned int index;
	struct completion *start;
	bool *abort;
	struct completion done;
};

static inline int gch_worker_thread_fn(void *data)
{
	struct gch_worker_thread *t = data;

	wait_for_completion(t->start);
	if (!READ_ONCE(*t->abort))
		t->fn(t->arg, t->index);
	complete(&t->done);
	return 0;
}

/**
 * gch_run_workers() - run @fn(@arg, i) for i in [0, @n) in @n threads, wait
 * @n:   number of threads, at least 1.
 * @fn:  the worker function; must not sleep forever.
 * @arg: passed to @fn.
 *
 * For tests and simple embedders: every thread is created (kthreads here,
 * pthreads in the hosted build) before any runs @fn, so either all @n run
 * it or none does: callers such as gch_mark_work() need all of them.
 *
 * Return: 0 once all have returned, or a negative errno if the threads
 * could not be had (then @fn ran in none).
 */
static inline int gch_run_workers(unsigned int n,
				  void (*fn)(void *arg, unsigned int index),
				  void *arg)
{
	struct gch_worker_thread *t;
	struct completion start;
	struct task_struct *task;
	bool abort = false;
	unsigned int i, made;
	int err = 0;

	t = kcalloc(n, sizeof(*t), GFP_KERNEL);
	if (!t)
		return -ENOMEM;
	init_completion(&start);
	for (made = 0; made < n; made++) {
		t[made].fn = fn;
		t[made].arg = arg;
		t[made].index = made;
		t[made].start = &start;
		t[made].abort = &abort;
		init_completion(&t[made].done);
		task = kthread_run(gch_worker_thread_fn, &t[made],
				   "gcheap-w%u", made);
		if (IS_ERR(task)) {
			err = PTR_ERR(task);
			WRITE_ONCE(abort, true);
			break;
		}
	}
	complete_all(&start);
	for (i = 0; i < made; i++)
		wait_for_completion(&t[i].done);
	kfree(t);
	return err;
}

#else /* hosted: userspace with a C11 compiler */

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/types.h>

typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;
typedef __s32 s32;
typedef __s64 s64;

#define BUILD_BUG_ON(cond)	((void)sizeof(char[1 - 2 * !!(cond)]))
#ifndef ARRAY_SIZE		/* test harnesses bring their own */
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#endif
/* __always_inline comes from glibc's <sys/cdefs.h>, through <stdio.h> */
#define likely(x)		__builtin_expect(!!(x), 1)
#define unlikely(x)		__builtin_expect(!!(x), 0)

/* Like the kernel's: report, then let the caller recover. */
#define WARN_ON(cond) ({						\
	int __gch_warn = !!(cond);					\
	if (unlikely(__gch_warn))					\
		fprintf(stderr, "WARNING: %s:%d: WARN_ON(%s)\n",	\
			__FILE__, __LINE__, #cond);			\
	__gch_warn;							\
})

#define U16_MAX			((u16)~0U)
#define U32_MAX			((u32)~0U)
#define U64_MAX			((u64)~0ULL)

#define BITS_PER_LONG		(__CHAR_BIT__ * __SIZEOF_LONG__)
#define DIV_ROUND_UP(n, d)	(((n) + (d) - 1) / (d))
#define BITS_TO_LONGS(nr)	DIV_ROUND_UP(nr, BITS_PER_LONG)
/* @y a power of two, as in the kernel */
#define round_up(x, y)		((((x) - 1) | ((__typeof__(x))((y) - 1))) + 1)
#define round_down(x, y)	((x) & ~((__typeof__(x))((y) - 1)))

/*
 * min() and max() insist on operands of one type, like the kernel's (the
 * pointer comparison warns otherwise), so hosted -Werror builds catch what
 * a kernel build would.
 */
#define min(x, y) ({						\
	__typeof__(x) __x = (x);					\
	__typeof__(y) __y = (y);					\
	(void)(&__x == &__y);						\
	__x < __y ? __x : __y;						\
})
#define max(x, y) ({						\
	__typeof__(x) __x = (x);					\
	__typeof__(y) __y = (y);					\
	(void)(&__x == &__y);						\
	__x > __y ? __x : __y;						\
})
#define min_t(type, x, y)	min((type)(x), (type)(y))
#define max_t(type, x, y)	max((type)(x), (type)(y))

#define container_of(ptr, type, member)					\
	((type *)((char *)(ptr) - offsetof(type, member)))

/* The bit operations the core uses, with the kernel's names. */
static inline unsigned long __ffs(unsigned long word)
{
	return __builtin_ctzl(word);	/* undefined for 0, as in the kernel */
}

static inline unsigned int hweight_long(unsigned long w)
{
	return __builtin_popcountl(w);
}

/* Fully ordered, like the kernel's value-returning atomic RMW ops. */
static inline bool test_and_set_bit(long nr, unsigned long *addr)
{
	unsigned long mask = 1UL << (nr % BITS_PER_LONG);

	return __atomic_fetch_or(addr + nr / BITS_PER_LONG, mask,
				 __ATOMIC_SEQ_CST) & mask;
}

/* A plain read of one bit that may be set concurrently by another thread. */
static inline bool test_bit(long nr, const unsigned long *addr)
{
	return (__atomic_load_n(addr + nr / BITS_PER_LONG, __ATOMIC_RELAXED) >>
		(nr % BITS_PER_LONG)) & 1;
}

/*
 * Atomics, with the kernel's names and orderings: plain reads and sets are
 * relaxed (READ_ONCE/WRITE_ONCE), value-returning read-modify-writes are
 * fully ordered, atomic_inc()/atomic_dec() and friends are relaxed.
 */
#define READ_ONCE(x)		__atomic_load_n(&(x), __ATOMIC_RELAXED)
#define WRITE_ONCE(x, v)	__atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
/* publication: a store-release pairs with a load-acquire of the value */
#define smp_load_acquire(p)	__atomic_load_n((p), __ATOMIC_ACQUIRE)
/* everything before it is seen by a load-acquire that reads it */
#define smp_store_release(p, v)	__atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define xchg(p, v)		__atomic_exchange_n((p), (v), __ATOMIC_SEQ_CST)

/* the kernel's typedef names, spelt as macros for checkpatch */
struct gch_hosted_atomic {
	int counter;
};

struct gch_hosted_atomic64 {
	s64 counter;
};

#define atomic_t		struct gch_hosted_atomic
#define atomic64_t		struct gch_hosted_atomic64

#define ATOMIC_INIT(i)		{ (i) }
#define ATOMIC64_INIT(i)	{ (i) }

static inline int atomic_read(const atomic_t *v)
{
	return __atomic_load_n(&v->counter, __ATOMIC_RELAXED);
}

static inline void atomic_set(atomic_t *v, int i)
{
	__atomic_store_n(&v->counter, i, __ATOMIC_RELAXED);
}

static inline void atomic_inc(atomic_t *v)
{
	__atomic_fetch_add(&v->counter, 1, __ATOMIC_RELAXED);
}

static inline void atomic_dec(atomic_t *v)
{
	__atomic_fetch_sub(&v->counter, 1, __ATOMIC_RELAXED);
}

static inline int atomic_add_return(int i, atomic_t *v)
{
	return __atomic_add_fetch(&v->counter, i, __ATOMIC_SEQ_CST);
}

static inline int atomic_inc_return(atomic_t *v)
{
	return atomic_add_return(1, v);
}

static inline int atomic_dec_return(atomic_t *v)
{
	return atomic_add_return(-1, v);
}

static inline int atomic_fetch_inc(atomic_t *v)
{
	return __atomic_fetch_add(&v->counter, 1, __ATOMIC_SEQ_CST);
}

static inline int atomic_cmpxchg(atomic_t *v, int old, int new)
{
	__atomic_compare_exchange_n(&v->counter, &old, new, false,
				    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
	return old;
}

static inline s64 atomic64_read(const atomic64_t *v)
{
	return __atomic_load_n(&v->counter, __ATOMIC_RELAXED);
}

static inline void atomic64_set(atomic64_t *v, s64 i)
{
	__atomic_store_n(&v->counter, i, __ATOMIC_RELAXED);
}

static inline void atomic64_add(s64 i, atomic64_t *v)
{
	__atomic_fetch_add(&v->counter, i, __ATOMIC_RELAXED);
}

static inline s64 atomic64_add_return(s64 i, atomic64_t *v)
{
	return __atomic_add_fetch(&v->counter, i, __ATOMIC_SEQ_CST);
}

static inline s64 atomic64_fetch_inc(atomic64_t *v)
{
	return __atomic_fetch_add(&v->counter, 1, __ATOMIC_SEQ_CST);
}

/* A pause in a busy-wait loop. */
static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#else
	__asm__ __volatile__("" ::: "memory");
#endif
}

/* One step of waiting for other workers: see gch_backoff() below. */
static inline void gch_wait_step(unsigned int tier)
{
	struct timespec ts = { .tv_nsec = 50 * 1000 };

	if (tier == 1)
		sched_yield();
	else if (tier == 2)
		nanosleep(&ts, NULL);
}

/* Threads are preempted here: nothing to do. */
static inline void gch_work_yield(void)
{
}

/*
 * Locks, with the kernel's names.  Both are pthread mutexes here: what
 * matters in the hosted build is that ASan and TSan see real locks.  In
 * the kernel a spinlock_t never sleeps (nor may its holder), a struct
 * mutex may.
 */
struct gch_hosted_spinlock {
	pthread_mutex_t m;
};

#define spinlock_t		struct gch_hosted_spinlock

struct mutex {
	pthread_mutex_t m;
};

static inline void spin_lock_init(spinlock_t *l)
{
	pthread_mutex_init(&l->m, NULL);
}

static inline void spin_lock(spinlock_t *l)
{
	pthread_mutex_lock(&l->m);
}

static inline void spin_unlock(spinlock_t *l)
{
	pthread_mutex_unlock(&l->m);
}

static inline void mutex_init(struct mutex *l)
{
	pthread_mutex_init(&l->m, NULL);
}

static inline void mutex_destroy(struct mutex *l)
{
	pthread_mutex_destroy(&l->m);
}

static inline void mutex_lock(struct mutex *l)
{
	pthread_mutex_lock(&l->m);
}

static inline void mutex_unlock(struct mutex *l)
{
	pthread_mutex_unlock(&l->m);
}

/* The event count of the kernel side, with a condition variable. */
struct gch_event {
	atomic_t seq;
	pthread_mutex_t lock;
	pthread_cond_t cond;
};

static inline void gch_event_init(struct gch_event *ev)
{
	atomic_set(&ev->seq, 0);
	pthread_mutex_init(&ev->lock, NULL);
	pthread_cond_init(&ev->cond, NULL);
}

static inline int gch_event_read(struct gch_event *ev)
{
	return __atomic_load_n(&ev->seq.counter, __ATOMIC_SEQ_CST);
}

static inline void gch_event_signal(struct gch_event *ev)
{
	atomic_inc_return(&ev->seq);
	pthread_mutex_lock(&ev->lock);
	pthread_cond_broadcast(&ev->cond);
	pthread_mutex_unlock(&ev->lock);
}

static inline void gch_event_wait(struct gch_event *ev, int seq,
				  unsigned int us)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += (long)us * 1000;
	ts.tv_sec += ts.tv_nsec / 1000000000;
	ts.tv_nsec %= 1000000000;
	pthread_mutex_lock(&ev->lock);
	/* checked under the lock the signal takes: no wake-up in between */
	if (atomic_read(&ev->seq) == seq)
		pthread_cond_timedwait(&ev->cond, &ev->lock, &ts);
	pthread_mutex_unlock(&ev->lock);
}

/*
 * gch_run_workers(), hosted: pthreads, held at a gate until all exist so
 * that, as in the kernel version, either every worker runs or none does.
 */
struct gch_worker_gate {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int state;		/* 0 wait, 1 go, -1 abort */
};

struct gch_worker_thread {
	void (*fn)(void *arg, unsigned int index);
	void *arg;
	unsigned int index;
	pthread_t tid;
	struct gch_worker_gate *gate;
};

static inline void *gch_worker_thread_fn(void *data)
{
	struct gch_worker_thread *t = data;
	int state;

	pthread_mutex_lock(&t->gate->lock);
	while (!t->gate->state)
		pthread_cond_wait(&t->gate->cond, &t->gate->lock);
	state = t->gate->state;
	pthread_mutex_unlock(&t->gate->lock);
	if (state > 0)
		t->fn(t->arg, t->index);
	return NULL;
}

static inline int gch_run_workers(unsigned int n,
				  void (*fn)(void *arg, unsigned int index),
				  void *arg)
{
	struct gch_worker_gate gate = { .state = 0 };
	struct gch_worker_thread *g;
	unsigned int i, made;
	int err = 0;

	g = calloc(n, sizeof(*g));
	if (!g)
		return -ENOMEM;
	pthread_mutex_init(&gate.lock, NULL);
	pthread_cond_init(&gate.cond, NULL);
	for (made = 0; made < n; made++) {
		g[made].fn = fn;
		g[made].arg = arg;
		g[made].index = made;
		g[made].gate = &gate;
		err = -pthread_create(&g[made].tid, NULL,
				      gch_worker_thread_fn, &g[made]);
		if (err)
			break;
	}
	pthread_mutex_lock(&gate.lock);
	gate.state = err ? -1 : 1;
	pthread_cond_broadcast(&gate.cond);
	pthread_mutex_unlock(&gate.lock);
	for (i = 0; i < made; i++)
		pthread_join(g[i].tid, NULL);
	pthread_cond_destroy(&gate.cond);
	pthread_mutex_destroy(&gate.lock);
	free(g);
	return err;
}

/*
 * Circular doubly linked lists: the part of <linux/list.h> the core uses,
 * with the same names and semantics (list_del() poisons the entry).
 */
struct list_head {
	struct list_head *next, *prev;
};

#define LIST_POISON1		((struct list_head *)0x100)
#define LIST_POISON2		((struct list_head *)0x122)

static inline void INIT_LIST_HEAD(struct list_head *list)
{
	list->next = list;
	list->prev = list;
}

static inline void __list_add(struct list_head *entry,
			      struct list_head *prev, struct list_head *next)
{
	next->prev = entry;
	entry->next = next;
	entry->prev = prev;
	prev->next = entry;
}

static inline void list_add(struct list_head *entry, struct list_head *head)
{
	__list_add(entry, head, head->next);
}

static inline void list_add_tail(struct list_head *entry,
				 struct list_head *head)
{
	__list_add(entry, head->prev, head);
}

static inline void __list_del_entry(struct list_head *entry)
{
	entry->next->prev = entry->prev;
	entry->prev->next = entry->next;
}

static inline void list_del(struct list_head *entry)
{
	__list_del_entry(entry);
	entry->next = LIST_POISON1;
	entry->prev = LIST_POISON2;
}

static inline void list_del_init(struct list_head *entry)
{
	__list_del_entry(entry);
	INIT_LIST_HEAD(entry);
}

static inline void list_move(struct list_head *entry, struct list_head *head)
{
	__list_del_entry(entry);
	list_add(entry, head);
}

static inline void list_move_tail(struct list_head *entry,
				  struct list_head *head)
{
	__list_del_entry(entry);
	list_add_tail(entry, head);
}

static inline bool list_empty(const struct list_head *head)
{
	return head->next == head;
}

/* Join @list at the front of @head and empty @list (the kernel's). */
static inline void list_splice_init(struct list_head *list,
				    struct list_head *head)
{
	if (list_empty(list))
		return;
	list->next->prev = head;
	list->prev->next = head->next;
	head->next->prev = list->prev;
	head->next = list->next;
	INIT_LIST_HEAD(list);
}

static inline bool list_is_singular(const struct list_head *head)
{
	return !list_empty(head) && head->next == head->prev;
}

#define list_entry(ptr, type, member)	container_of(ptr, type, member)
#define list_first_entry(ptr, type, member)				\
	list_entry((ptr)->next, type, member)
#define list_next_entry(pos, member)					\
	list_entry((pos)->member.next, __typeof__(*(pos)), member)
#define list_for_each_entry(pos, head, member)				\
	for (pos = list_first_entry(head, __typeof__(*pos), member);	\
	     &pos->member != (head);					\
	     pos = list_next_entry(pos, member))
#define list_for_each_entry_safe(pos, n, head, member)			\
	for (pos = list_first_entry(head, __typeof__(*pos), member),	\
	     n = list_next_entry(pos, member);				\
	     &pos->member != (head);					\
	     pos = n, n = list_next_entry(n, member))

/*
 * Failure injection for the hosted tests: while gch_hosted_fail_alloc_after
 * is N > 0, each gch_zalloc() counts it down and the one that brings it to
 * 0 (the Nth from when it was set) returns NULL; later ones succeed again.
 * 0 (the default) never fails.  Defined in pageheap.c; the kernel build
 * has no such thing.
 */
extern int gch_hosted_fail_alloc_after;

static inline void *gch_zalloc(size_t size)
{
	if (__atomic_load_n(&gch_hosted_fail_alloc_after, __ATOMIC_RELAXED) > 0 &&
	    __atomic_sub_fetch(&gch_hosted_fail_alloc_after, 1,
			       __ATOMIC_RELAXED) == 0)
		return NULL;
	return calloc(1, size);
}

static inline void gch_kvfree(const void *ptr)
{
	free((void *)ptr);
}

#endif /* __KERNEL__ */

/*
 * Backoff for workers waiting on each other (the mark's termination):
 * spin with cpu_relax() for GCH_SPIN_ROUNDS calls, then yield the CPU for
 * GCH_YIELD_ROUNDS more, then sleep a few tens of microseconds per call,
 * the Go collector's procyield / osyield / usleep ladder.  Spinning is
 * what a worker should do when work is about to appear; sleeping bounds
 * the CPU wasted when it does not (more workers than CPUs, a slow VM).
 * @round counts the caller's calls; it starts at 0 and is reset when the
 * wait ends.
 */
#define GCH_SPIN_ROUNDS		16
#define GCH_YIELD_ROUNDS	16
#define GCH_SPIN_RELAX		32	/* cpu_relax() per spinning round */

static inline void gch_backoff(unsigned int *round)
{
	unsigned int i, r = *round;

	if (r < GCH_SPIN_ROUNDS) {
		for (i = 0; i < GCH_SPIN_RELAX; i++)
			cpu_relax();
	} else {
		gch_wait_step(r < GCH_SPIN_ROUNDS + GCH_YIELD_ROUNDS ? 1 : 2);
	}
	if (r < U32_MAX)
		*round = r + 1;
}

#endif /* _GCHEAP_CORE_PORT_H */
