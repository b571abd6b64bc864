// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Setting the heap up: once per process, on first use (pthread_once), from
 * gch_init()'s parameters and the environment.
 *
 * Setup opens /dev/gcheap, checks that the module speaks our ABI, sets the
 * arena size and pacing (GCH_IOC_CONFIGURE), maps the arena, and, when
 * glibc registered rseq for our threads and GCHEAP_NO_RSEQ is not set,
 * maps the control area for the per-CPU caches.  A forked child gets no
 * copy of the mappings, so the fork handler marks the child's inherited
 * state unusable (EPERM) before anything can touch them.
 */
#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/rseq.h>
#include <unistd.h>

#include <linux/gcheap.h>

#include "gcheap.h"
#include "internal.h"

struct gch_lib gch_lib = { .fd = -1 };

static int gch_not_live;
int *gch_live = &gch_not_live;

static pthread_once_t gch_lib_once = PTHREAD_ONCE_INIT;

/* gch_init()'s parameters, and whether setup has begun; under the lock. */
static pthread_mutex_t gch_cfg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct gch_config gch_user_cfg;
static int gch_setup_begun;

/* Smallest arena the module accepts. */
#define GCH_MIN_ARENA		(16ULL * GCH_PAGE_SIZE)
#define GCH_MAX_ARENA		((u64)U32_MAX << GCH_PAGE_SHIFT)
#define GCH_MAX_WORKERS		1024U
/* Largest gc_percent the module accepts (GCH_GC_OFF aside). */
#define GCH_MAX_GC_PERCENT	1000000U

static void gch_warn_env(const char *name, const char *val, const char *want)
{
	fprintf(stderr, "libgcheap: ignoring %s=\"%s\": %s; using the default\n",
		name, val, want);
}

/* "123", "64K", "512M", "2G" (powers of 1024); 0 on a parse error. */
static u64 gch_parse_size(const char *s)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	if (!isdigit((unsigned char)s[0]))
		return 0;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return 0;
	switch (*end) {
	case 'k': case 'K':
		shift = 10;
		end++;
		break;
	case 'm': case 'M':
		shift = 20;
		end++;
		break;
	case 'g': case 'G':
		shift = 30;
		end++;
		break;
	}
	if (*end || v > (~0ULL >> shift))
		return 0;
	return (u64)v << shift;
}

/* Arena size from GCHEAP_MAX_HEAP, 0 for the default. */
static u64 gch_env_max_heap(void)
{
	const char *s = getenv("GCHEAP_MAX_HEAP");
	u64 v;

	if (!s || !*s)
		return 0;
	v = gch_parse_size(s);
	if (v < GCH_MIN_ARENA || v > GCH_MAX_ARENA) {
		gch_warn_env("GCHEAP_MAX_HEAP", s,
			     "expected bytes with an optional K, M or G suffix, from 128K to 32T");
		return 0;
	}
	return v;
}

/* GCH_FINALIZERS_* from GCHEAP_FINALIZERS; the thread by default. */
static u32 gch_env_finalizers(void)
{
	const char *s = getenv("GCHEAP_FINALIZERS");

	if (!s || !*s || !strcmp(s, "thread"))
		return GCH_FINALIZERS_THREAD;
	if (!strcmp(s, "manual"))
		return GCH_FINALIZERS_MANUAL;
	gch_warn_env("GCHEAP_FINALIZERS", s, "expected \"thread\" or \"manual\"");
	return GCH_FINALIZERS_THREAD;
}

/* gc_percent from GCHEAP_GOGC, 0 for the default. */
static u32 gch_env_gogc(void)
{
	const char *s = getenv("GCHEAP_GOGC");
	unsigned long long v;
	char *end;

	if (!s || !*s)
		return 0;
	if (!strcasecmp(s, "off"))
		return GCH_GC_OFF;
	errno = 0;
	v = isdigit((unsigned char)s[0]) ? strtoull(s, &end, 10) : 0;
	if (!isdigit((unsigned char)s[0]) || errno || *end || v == 0 ||
	    v > GCH_MAX_GC_PERCENT) {
		gch_warn_env("GCHEAP_GOGC", s,
			     "expected a percentage from 1 to 1000000, or \"off\"");
		return 0;
	}
	return v;
}

/* GCH_CONCURRENT_* from GCHEAP_CONCURRENT, 0 for the module's choice. */
static u32 gch_env_concurrent(void)
{
	const char *s = getenv("GCHEAP_CONCURRENT");

	if (!s || !*s)
		return 0;
	if (!strcmp(s, "1"))
		return GCH_CONCURRENT_ON;
	if (!strcmp(s, "0"))
		return GCH_CONCURRENT_OFF;
	gch_warn_env("GCHEAP_CONCURRENT", s, "expected 1 (mark beside the program) or 0 (stop it for the mark)");
	return 0;
}

/* GCHEAP_NO_RSEQ: anything but empty or "0" turns the per-CPU path off. */
static int gch_env_no_rseq(void)
{
	const char *s = getenv("GCHEAP_NO_RSEQ");

	return s && *s && strcmp(s, "0");
}

/*
 * The fork child handler: the child has no arena nor control area, and
 * its copy of the descriptor would only keep the parent's heap (all its
 * memory) alive for as long as the child runs.
 */
static void gch_atfork_child(void)
{
	if (gch_lib.state != GCH_LIB_READY)
		return;
	gch_lib.state = GCH_LIB_FORKED;
	close(gch_lib.fd);
	gch_lib.fd = -1;
}

/*
 * The rseq descriptors live in this object: if it were unloaded while a
 * thread's rseq->rseq_cs still points at one, the kernel would fault
 * reading it.  Pin ourselves (no-op when linked statically).
 */
static void gch_pin_library(void)
{
	Dl_info info;
	void *h;

	if (!dladdr((void *)gch_pin_library, &info) || !info.dli_fname)
		return;
	h = dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
	if (h)
		dlclose(h);
}

static int gch_check_version(int fd)
{
	struct gch_version v;

	memset(&v, 0, sizeof(v));
	v.hdr.size = sizeof(v);
	if (ioctl(fd, GCH_IOC_VERSION, &v))
		return -1;
	if (v.abi_major != GCH_ABI_MAJOR ||
	    v.sizeclass_version != GCH_SIZECLASS_VERSION ||
	    v.nr_size_classes != gch_lib.classes.nr_classes ||
	    v.page_shift != GCH_PAGE_SHIFT ||
	    v.max_small_size != GCH_MAX_SMALL_SIZE ||
	    !(v.features & GCH_FEAT_HEAP)) {
		fprintf(stderr,
			"libgcheap: the loaded gcheap module (ABI %u.%u, size classes v%u/%u) does not match this library (ABI %u.%u, v%u/%u)\n",
			v.abi_major, v.abi_minor, v.sizeclass_version,
			v.nr_size_classes, GCH_ABI_MAJOR, GCH_ABI_MINOR,
			GCH_SIZECLASS_VERSION, gch_lib.classes.nr_classes);
		errno = EPROTO;
		return -1;
	}
	return 0;
}

static int gch_configure(int fd, u64 arena_size, u32 gc_percent, u32 workers,
			 u32 concurrent, struct gch_heap_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->hdr.size = sizeof(*cfg);
	cfg->arena_size = arena_size;
	cfg->gc_percent = gc_percent;
	cfg->workers = workers;
	cfg->concurrent = concurrent;
	return ioctl(fd, GCH_IOC_CONFIGURE, cfg);
}

/* Everything but the state; 0 or -1 with errno. */
static int gch_setup(const struct gch_config *ucfg)
{
	u64 arena_size = ucfg->max_heap;
	u32 gc_percent = ucfg->gc_percent;
	u32 concurrent = ucfg->concurrent ?: gch_env_concurrent();

	gch_lib.fin_mode = ucfg->finalizers ?: gch_env_finalizers();
	struct gch_heap_config cfg;
	int from_env = 0, fd, err;
	void *p;

	gch_lib.classes = *gch_lib_size_classes();
	if (!gch_lib.classes.nr_classes) {
		errno = EPROTO;
		return -1;
	}
	gch_cache_layout_init(&gch_lib.layout, &gch_lib.classes);

	if (!arena_size) {
		arena_size = gch_env_max_heap();
		from_env = arena_size != 0;
	} else {
		arena_size = round_up((u64)arena_size, (u64)GCH_PAGE_SIZE);
	}
	if (gc_percent == GCH_GC_PERCENT_OFF)
		gc_percent = GCH_GC_OFF;
	else if (!gc_percent)
		gc_percent = gch_env_gogc();

	fd = gch_dev_open();
	if (fd < 0)
		return -1;
	if (gch_check_version(fd))
		goto fail;
	err = gch_configure(fd, arena_size, gc_percent, ucfg->workers,
			    concurrent, &cfg);
	if (err && errno == E2BIG && concurrent) {
		/* a module before ABI 0.7 has no choice to offer */
		if (ucfg->concurrent) {
			errno = EOPNOTSUPP;
			goto fail;
		}
		gch_warn_env("GCHEAP_CONCURRENT", getenv("GCHEAP_CONCURRENT"),
			     "the loaded gcheap module (before ABI 0.7) cannot choose");
		concurrent = 0;
		err = gch_configure(fd, arena_size, gc_percent, ucfg->workers,
				    concurrent, &cfg);
	}
	if (err && errno == EINVAL && gc_percent && !ucfg->gc_percent) {
		/* a module stricter than we are about GCHEAP_GOGC */
		gch_warn_env("GCHEAP_GOGC", getenv("GCHEAP_GOGC"),
			     "not accepted by the module");
		gc_percent = 0;
		err = gch_configure(fd, arena_size, gc_percent, ucfg->workers,
				    concurrent, &cfg);
	}
	if (err && from_env && (errno == EINVAL || errno == ENOMEM)) {
		gch_warn_env("GCHEAP_MAX_HEAP", getenv("GCHEAP_MAX_HEAP"),
			     errno == ENOMEM ?
			     "above the module's max_arena_size" :
			     "not accepted by the module");
		err = gch_configure(fd, 0, gc_percent, ucfg->workers,
				    concurrent, &cfg);
	}
	if (err)
		goto fail;
	if (cfg.cpu_stride != gch_lib.layout.stride || !cfg.nr_cpus) {
		fprintf(stderr,
			"libgcheap: the gcheap module's cache layout (stride %u) differs from this library's (%u)\n",
			cfg.cpu_stride, gch_lib.layout.stride);
		errno = EPROTO;
		goto fail;
	}

	p = mmap(NULL, cfg.arena_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		 GCH_MMAP_ARENA);
	if (p == MAP_FAILED)
		goto fail;
	gch_lib.arena_inv = ~(uintptr_t)p;
	gch_lib.arena_size = cfg.arena_size;

	gch_lib.percpu = __rseq_size > 0 && !gch_env_no_rseq();
	if (gch_lib.percpu) {
		p = mmap(NULL, cfg.control_size, PROT_READ | PROT_WRITE,
			 MAP_SHARED, fd, GCH_MMAP_CONTROL);
		if (p == MAP_FAILED)
			goto fail_arena;
		gch_lib.control = p;
		gch_lib.control_size = cfg.control_size;
		gch_pin_library();
	}
	gch_lib.fd = fd;
	gch_lib.nr_cpus = cfg.nr_cpus;
	gch_lib.cpu_stride = cfg.cpu_stride;
	gch_lib.gc_percent = cfg.gc_percent;
	gch_lib.workers = cfg.workers;
	if (gch_tcache_setup() || gch_roots_setup())
		goto fail_control;
	if (pthread_atfork(NULL, NULL, gch_atfork_child)) {
		errno = ENOMEM;
		goto fail_control;
	}
	return 0;

fail_control:
	if (gch_lib.control)
		munmap(gch_lib.control, gch_lib.control_size);
	gch_lib.control = NULL;
	gch_lib.percpu = 0;
fail_arena:
	munmap(gch_arena(), gch_lib.arena_size);
	gch_lib.arena_inv = 0;
	gch_lib.arena_size = 0;
fail:
	err = errno;
	close(fd);
	gch_lib.fd = -1;
	errno = err;
	return -1;
}

/*
 * Publish the fast path's "ready" word, in a MADV_WIPEONFORK page: a
 * child forked by _Fork() or a raw fork system call runs no fork handler,
 * so only the kernel can tell it that the heap it inherited is not its
 * own (the arena and the control area are not in the child).  Without
 * MADV_WIPEONFORK (Linux < 4.14) such a child is not protected.
 */
static void gch_set_live(void)
{
	static int live_static;
	int *p;

	p = mmap(NULL, (size_t)sysconf(_SC_PAGESIZE), PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED ||
	    madvise(p, (size_t)sysconf(_SC_PAGESIZE), MADV_WIPEONFORK)) {
		if (p != MAP_FAILED)
			munmap(p, (size_t)sysconf(_SC_PAGESIZE));
		p = &live_static;
	}
	*p = 1;
	__atomic_store_n(&gch_live, p, __ATOMIC_RELEASE);
}

static void gch_lib_init(void)
{
	struct gch_config cfg;
	int saved = errno;

	pthread_mutex_lock(&gch_cfg_lock);
	gch_setup_begun = 1;
	cfg = gch_user_cfg;
	pthread_mutex_unlock(&gch_cfg_lock);

	if (gch_setup(&cfg)) {
		gch_lib.init_errno = errno;
		__atomic_store_n(&gch_lib.state, GCH_LIB_FAILED, __ATOMIC_RELEASE);
	} else {
		__atomic_store_n(&gch_lib.state, GCH_LIB_READY, __ATOMIC_RELEASE);
		gch_set_live();
	}
	errno = saved;
}

/**
 * gch_lib_start() - set the heap up if it is not, and say if it is usable
 *
 * Return: 0, or -1 with errno: the setup's error, or EPERM in a forked
 * child of a process that had set the heap up.
 */
int gch_lib_start(void)
{
	pthread_once(&gch_lib_once, gch_lib_init);
	switch (__atomic_load_n(&gch_lib.state, __ATOMIC_ACQUIRE)) {
	case GCH_LIB_READY:
		if (*__atomic_load_n(&gch_live, __ATOMIC_ACQUIRE))
			return 0;
		/* forked without the fork handlers: as gch_atfork_child() */
		gch_atfork_child();
		errno = EPERM;
		return -1;
	case GCH_LIB_FAILED:
		errno = gch_lib.init_errno;
		return -1;
	case GCH_LIB_FORKED:
	default:
		errno = EPERM;
		return -1;
	}
}

/*
 * gch_init@@GCHEAP_0.5 takes struct gch_config with @concurrent; programs
 * built before it call gch_init@GCHEAP_0.3 (no @concurrent) or
 * gch_init@GCHEAP_0.1 (the first three fields only).
 */
__asm__(".symver gch_init_v5, gch_init@@GCHEAP_0.5");
__asm__(".symver gch_init_v3, gch_init@GCHEAP_0.3");
__asm__(".symver gch_init_v1, gch_init@GCHEAP_0.1");

/* struct gch_config as GCHEAP_0.3 had it. */
struct gch_config_v3 {
	size_t max_heap;
	unsigned int gc_percent;
	unsigned int workers;
	unsigned int finalizers;
};

/* struct gch_config as GCHEAP_0.1 had it. */
struct gch_config_v1 {
	size_t max_heap;
	unsigned int gc_percent;
	unsigned int workers;
};

GCH_API int gch_init_v5(const struct gch_config *cfg)
{
	struct gch_config c = { 0 };

	if (cfg)
		c = *cfg;
	if ((c.max_heap && (c.max_heap < GCH_MIN_ARENA ||
			    c.max_heap > GCH_MAX_ARENA)) ||
	    (c.gc_percent > GCH_MAX_GC_PERCENT &&
	     c.gc_percent != GCH_GC_PERCENT_OFF) ||
	    c.workers > GCH_MAX_WORKERS ||
	    c.finalizers > GCH_FINALIZERS_MANUAL ||
	    c.concurrent > GCH_CONCURRENT_OFF) {
		errno = EINVAL;
		return -1;
	}
	pthread_mutex_lock(&gch_cfg_lock);
	if (gch_setup_begun) {
		pthread_mutex_unlock(&gch_cfg_lock);
		errno = EBUSY;
		return -1;
	}
	/* claim the setup: a later gch_init() is EBUSY */
	gch_setup_begun = 1;
	gch_user_cfg = c;
	pthread_mutex_unlock(&gch_cfg_lock);
	/*
	 * Another thread's first allocation may run the setup before we do;
	 * it reads our parameters, so the result is ours either way.
	 */
	return gch_lib_start();
}

GCH_API int gch_init_v3(const struct gch_config_v3 *cfg)
{
	struct gch_config c = { 0 };

	if (cfg) {
		c.max_heap = cfg->max_heap;
		c.gc_percent = cfg->gc_percent;
		c.workers = cfg->workers;
		c.finalizers = cfg->finalizers;
	}
	return gch_init_v5(cfg ? &c : NULL);
}

GCH_API int gch_init_v1(const struct gch_config_v1 *cfg)
{
	struct gch_config c = { 0 };

	if (cfg) {
		c.max_heap = cfg->max_heap;
		c.gc_percent = cfg->gc_percent;
		c.workers = cfg->workers;
	}
	return gch_init_v5(cfg ? &c : NULL);
}
