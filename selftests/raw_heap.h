/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A heap set up with the ioctls alone, without the library: for the tests
 * that need more than one heap in a process, or a heap the library does
 * not manage.  Also the plain ioctl wrappers those tests share.
 *
 * Error conventions: the helpers that return int return 0 or -errno and
 * leave errno set as the failed call left it, so that a caller may test
 * either the value or errno; raw_heap_open() alone returns 0 or -1 with
 * errno, and raw_heap_fd() a descriptor or -1.
 */
#ifndef _GCHEAP_SELFTESTS_RAW_HEAP_H
#define _GCHEAP_SELFTESTS_RAW_HEAP_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/gcheap.h>

/**
 * struct raw_heap - a heap's descriptor, mappings and layout
 * @fd:           the descriptor of /dev/gcheap, -1 when closed.
 * @arena:        the arena's mapping, NULL while not mapped.
 * @arena_size:   its size, as GCH_IOC_CONFIGURE reported it.
 * @control:      the control area's mapping, NULL while not mapped.
 * @control_size: its size, as GCH_IOC_CONFIGURE reported it.
 * @cpu_stride:   bytes between two CPUs' blocks in the control area.
 * @nr_cpus:      the number of CPU blocks in the control area.
 */
struct raw_heap {
	int fd;
	void *arena;
	size_t arena_size;
	void *control;
	size_t control_size;
	__u32 cpu_stride;
	__u32 nr_cpus;
};

/* What raw_heap_map() maps. */
#define RAW_MAP_ARENA	1U
#define RAW_MAP_CONTROL	2U
#define RAW_MAP_BOTH	(RAW_MAP_ARENA | RAW_MAP_CONTROL)

/**
 * raw_ioc() - a gcheap ioctl whose argument says it is @size bytes
 * @fd:   the heap's descriptor.
 * @cmd:  a GCH_IOC_* number.
 * @arg:  the argument struct; its hdr.size is set to @size, the rest is
 *        the caller's.
 * @size: the size to put in the header.
 *
 * Return: 0, or -errno (errno is set too).
 */
static inline int raw_ioc(int fd, unsigned long cmd, void *arg, __u32 size)
{
	((struct gch_ioc_hdr *)arg)->size = size;
	return ioctl(fd, cmd, arg) ? -errno : 0;
}

/**
 * raw_ioc_refill() - GCH_IOC_REFILL with a struct of its own
 * @fd:        the heap's descriptor.
 * @flags:     GCH_REFILL_* flags (0: the calling CPU's cache).
 * @spanclass: the span class to refill.
 * @buf:       with GCH_REFILL_BUFFER, where the objects go; else NULL.
 * @max:       with GCH_REFILL_BUFFER, how many @buf holds; else 0.
 * @r:         the argument, zeroed and filled in here; on return it holds
 *             what the kernel wrote back (@r->count, @r->cpu, ...).
 *
 * Return: 0, or -errno (errno is set too).
 */
static inline int raw_ioc_refill(int fd, __u32 flags, __u32 spanclass,
				 __u64 *buf, __u32 max, struct gch_refill *r)
{
	memset(r, 0, sizeof(*r));
	r->hdr.flags = flags;
	r->spanclass = spanclass;
	r->max = max;
	r->buf = (uintptr_t)buf;
	return raw_ioc(fd, GCH_IOC_REFILL, r, sizeof(*r));
}

/**
 * raw_refill_buf() - up to @max objects of @spanclass into @buf
 * @fd:        the heap's descriptor.
 * @spanclass: the span class (GCH_SPANCLASS()).
 * @buf:       where the objects' addresses go.
 * @max:       how many @buf holds.
 * @count:     out: how many objects the kernel wrote; 0 on an error.
 *
 * GCH_IOC_REFILL with GCH_REFILL_BUFFER.
 *
 * Return: 0, or -errno (errno is set too).
 */
static inline int raw_refill_buf(int fd, __u32 spanclass, __u64 *buf,
				 __u32 max, __u32 *count)
{
	struct gch_refill r;
	int err = raw_ioc_refill(fd, GCH_REFILL_BUFFER, spanclass, buf, max,
				 &r);

	*count = err ? 0 : r.count;
	return err;
}

/**
 * raw_heap_fd() - the descriptor of /dev/gcheap this process has open
 *
 * Scans /proc/self/fd for a link to GCH_DEVICE_PATH and returns the first
 * one found: meant for a process with one such descriptor (the library's
 * heap), where it is that one.
 *
 * Return: the descriptor, or -1 (none, or /proc/self/fd unreadable).
 */
static inline int raw_heap_fd(void)
{
	char path[300], target[64];
	struct dirent *e;
	int fd = -1;
	ssize_t n;
	DIR *d;

	d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	while ((e = readdir(d))) {
		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		n = readlink(path, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = 0;
		if (!strcmp(target, GCH_DEVICE_PATH)) {
			fd = atoi(e->d_name);
			break;
		}
	}
	closedir(d);
	return fd;
}

/**
 * raw_heap_configure() - open a heap and configure it
 * @h:      the heap; zeroed first (nothing mapped), then filled in.
 * @cfg:    in: what to set (arena_size, gc_percent, workers, ...; 0 keeps
 *          the default), hdr.size is set here; out: what GCH_IOC_CONFIGURE
 *          wrote back, for a caller that wants more than @h keeps.
 * @oflags: open(2) flags besides O_RDWR: O_CLOEXEC, or 0 for a
 *          descriptor kept across exec.
 *
 * On success @h->arena_size, @h->control_size, @h->cpu_stride and
 * @h->nr_cpus hold the kernel's values.  On an error @h->fd is -1 if the
 * open failed, else the descriptor stays open (raw_heap_close() closes it).
 *
 * Return: 0, or -errno (errno is set too).
 */
static inline int raw_heap_configure(struct raw_heap *h,
				     struct gch_heap_config *cfg, int oflags)
{
	int err;

	memset(h, 0, sizeof(*h));
	h->fd = open(GCH_DEVICE_PATH, O_RDWR | oflags);
	if (h->fd < 0)
		return -errno;
	err = raw_ioc(h->fd, GCH_IOC_CONFIGURE, cfg, sizeof(*cfg));
	if (err)
		return err;
	h->arena_size = cfg->arena_size;
	h->control_size = cfg->control_size;
	h->cpu_stride = cfg->cpu_stride;
	h->nr_cpus = cfg->nr_cpus;
	return 0;
}

/**
 * raw_heap_mmap() - one shared read-write mapping of a heap's descriptor
 * @fd:     the heap's descriptor.
 * @p:      out: the mapping, or NULL if it failed.
 * @size:   its size.
 * @offset: GCH_MMAP_ARENA or GCH_MMAP_CONTROL.
 *
 * Return: 0, or -errno (errno is set too).
 */
static inline int raw_heap_mmap(int fd, void **p, size_t size, off_t offset)
{
	*p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, offset);
	if (*p == MAP_FAILED) {
		*p = NULL;
		return -errno;
	}
	return 0;
}

/**
 * raw_heap_map() - map a configured heap's arena and/or control area
 * @h:    the heap, from raw_heap_configure().
 * @what: RAW_MAP_ARENA, RAW_MAP_CONTROL or RAW_MAP_BOTH (arena first).
 *
 * Each is one mmap() of the size GCH_IOC_CONFIGURE reported.  A mapping
 * that failed leaves its pointer NULL, so that it may be tried again (a
 * failed mmap leaves the heap as it was); one made before it stays.
 *
 * Return: 0, or -errno of the first mmap() that failed (errno is set too).
 */
static inline int raw_heap_map(struct raw_heap *h, unsigned int what)
{
	int err = 0;

	if (what & RAW_MAP_ARENA)
		err = raw_heap_mmap(h->fd, &h->arena, h->arena_size,
				    GCH_MMAP_ARENA);
	if (!err && (what & RAW_MAP_CONTROL))
		err = raw_heap_mmap(h->fd, &h->control, h->control_size,
				    GCH_MMAP_CONTROL);
	return err;
}

/**
 * raw_heap_close() - unmap what is mapped and close the descriptor
 * @h: the heap; afterwards nothing is mapped and @h->fd is -1.
 *
 * Errors of munmap() and close() are ignored (and may change errno).
 */
static inline void raw_heap_close(struct raw_heap *h)
{
	if (h->arena)
		munmap(h->arena, h->arena_size);
	if (h->control)
		munmap(h->control, h->control_size);
	if (h->fd >= 0)
		close(h->fd);
	h->arena = NULL;
	h->control = NULL;
	h->fd = -1;
}

/**
 * raw_heap_open() - open, configure and map a heap for a test
 * @h:       the heap.
 * @arena:   the arena's size in bytes.
 * @workers: collector worker threads, 0 for the pool's.
 *
 * Collection is off (GCH_GC_OFF); both mappings are made.  On an error
 * what was set up stays, for raw_heap_close().
 *
 * Return: 0, or -1 with errno.
 */
static inline int raw_heap_open(struct raw_heap *h, size_t arena,
				unsigned int workers)
{
	struct gch_heap_config cfg = {
		.arena_size = arena,
		.gc_percent = GCH_GC_OFF,
		.workers = workers,
	};

	if (raw_heap_configure(h, &cfg, O_CLOEXEC) ||
	    raw_heap_map(h, RAW_MAP_BOTH))
		return -1;
	return 0;
}

#endif /* _GCHEAP_SELFTESTS_RAW_HEAP_H */
