// SPDX-License-Identifier: GPL-2.0
/*
 * ioctl dispatch and the extensible-struct convention every ioctl follows
 * (uapi/linux/gcheap.h, Documentation/uapi.rst).
 */
#include <linux/fs.h>
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/minmax.h>
#include <linux/uaccess.h>

#include "internal.h"

/* Largest argument struct a caller may pass, whatever its version. */
#define GCH_IOC_MAX_SIZE	4096

/**
 * gch_args_in() - copy in an extensible ioctl argument struct
 * @karg:        kernel copy, @ksize bytes; it starts with struct gch_ioc_hdr.
 * @ksize:       size of the struct this module knows.
 * @size_ver0:   size of the struct's first published version.
 * @known_flags: hdr.flags bits this ioctl accepts.
 * @uarg:        the caller's struct.
 *
 * Return: the caller's struct size (hdr.size as passed), or -EFAULT,
 * -EINVAL (too small, unknown flags) or -E2BIG (too big, or non-zero bytes
 * this module does not know).
 */
static int gch_args_in(void *karg, size_t ksize, size_t size_ver0,
		       u32 known_flags, const void __user *uarg)
{
	struct gch_ioc_hdr *hdr = karg;
	u32 usize;
	int err;

	if (get_user(usize, (const u32 __user *)uarg))
		return -EFAULT;
	if (usize < size_ver0)
		return -EINVAL;
	if (usize > GCH_IOC_MAX_SIZE)
		return -E2BIG;
	err = copy_struct_from_user(karg, ksize, uarg, usize);
	if (err)
		return err;
	if (hdr->flags & ~known_flags)
		return -EINVAL;
	return usize;
}

/**
 * gch_args_out() - copy a result struct back, as much as the caller knows
 * @uarg:  the caller's struct.
 * @karg:  the kernel's result, starting with struct gch_ioc_hdr.
 * @ksize: size of @karg.
 * @usize: the caller's struct size returned by gch_args_in().
 *
 * hdr.size is set to the number of bytes written back.
 *
 * Return: 0 or -EFAULT.
 */
static int gch_args_out(void __user *uarg, void *karg, size_t ksize,
			u32 usize)
{
	struct gch_ioc_hdr *hdr = karg;

	hdr->size = min_t(size_t, ksize, usize);
	return copy_to_user(uarg, karg, hdr->size) ? -EFAULT : 0;
}

static long gch_ioc_version(struct gch_heap *heap, void __user *uarg)
{
	struct gch_version v;
	int usize;

	usize = gch_args_in(&v, sizeof(v), GCH_VERSION_SIZE_VER0, 0, uarg);
	if (usize < 0)
		return usize;
	v.abi_major = GCH_ABI_MAJOR;
	v.abi_minor = GCH_ABI_MINOR;
	v.features = GCH_FEAT_VERSION | GCH_FEAT_HEAP | GCH_FEAT_COLLECT |
		     GCH_FEAT_SPECIALS | GCH_FEAT_SPECIALS2 |
		     GCH_FEAT_CONCURRENT;
	v.page_shift = GCH_PAGE_SHIFT;
	v.max_small_size = GCH_MAX_SMALL_SIZE;
	v.nr_size_classes = gch_size_classes.nr_classes;
	v.sizeclass_version = GCH_SIZECLASS_VERSION;
	return gch_args_out(uarg, &v, sizeof(v), usize);
}

static long gch_ioc_configure(struct gch_heap *heap, void __user *uarg)
{
	struct gch_heap_config cfg;
	int usize, err;

	usize = gch_args_in(&cfg, sizeof(cfg), GCH_CONFIG_SIZE_VER0, 0, uarg);
	if (usize < 0)
		return usize;
	err = gch_heap_configure(heap, &cfg);
	if (err)
		return err;
	return gch_args_out(uarg, &cfg, sizeof(cfg), usize);
}

static long gch_ioc_refill(struct gch_heap *heap, void __user *uarg)
{
	struct gch_refill r;
	int usize, err;

	usize = gch_args_in(&r, sizeof(r), GCH_REFILL_SIZE_VER0,
			    GCH_REFILL_BUFFER | GCH_REFILL_UNZEROED, uarg);
	if (usize < 0)
		return usize;
	err = gch_heap_refill(heap, &r, u64_to_user_ptr(r.buf));
	if (err)
		return err;
	return gch_args_out(uarg, &r, sizeof(r), usize);
}

static long gch_ioc_alloc_large(struct gch_heap *heap, void __user *uarg)
{
	struct gch_alloc a;
	int usize, err;

	usize = gch_args_in(&a, sizeof(a), GCH_ALLOC_SIZE_VER0,
			    GCH_ALLOC_NOSCAN, uarg);
	if (usize < 0)
		return usize;
	err = gch_heap_alloc_large_obj(heap, a.size,
				       a.hdr.flags & GCH_ALLOC_NOSCAN, &a.addr,
				       &a.gc_due);
	if (err)
		return err;
	err = gch_args_out(uarg, &a, sizeof(a), usize);
	/* the caller cannot learn the address: do not leak the object */
	if (err)
		gch_heap_free_obj(heap, a.addr);
	return err;
}

static long gch_ioc_free(struct gch_heap *heap, void __user *uarg)
{
	struct gch_free f;
	int usize;

	usize = gch_args_in(&f, sizeof(f), GCH_FREE_SIZE_VER0, 0, uarg);
	if (usize < 0)
		return usize;
	return gch_heap_free_obj(heap, f.addr);
}

static long gch_ioc_query(struct gch_heap *heap, void __user *uarg)
{
	struct gch_query q;
	int usize, err;

	usize = gch_args_in(&q, sizeof(q), GCH_QUERY_SIZE_VER0, 0, uarg);
	if (usize < 0)
		return usize;
	err = gch_heap_query(heap, &q);
	if (err)
		return err;
	return gch_args_out(uarg, &q, sizeof(q), usize);
}

static long gch_ioc_stats(struct gch_heap *heap, void __user *uarg)
{
	struct gch_stats *st;
	int usize, err;

	/* too big for the stack */
	st = kzalloc(sizeof(*st), GFP_KERNEL);
	if (!st)
		return -ENOMEM;
	usize = gch_args_in(st, sizeof(*st), GCH_STATS_SIZE_VER0, 0, uarg);
	if (usize < 0) {
		err = usize;
	} else {
		memset((char *)st + sizeof(st->hdr), 0,
		       sizeof(*st) - sizeof(st->hdr));
		gch_heap_stats(heap, st);
		err = gch_args_out(uarg, st, sizeof(*st), usize);
	}
	kfree(st);
	return err;
}

static long gch_ioc_collect(struct file *file, void __user *uarg)
{
	struct gch_collect c;
	int usize, err;

	usize = gch_args_in(&c, sizeof(c), GCH_COLLECT_SIZE_VER0,
			    GCH_COLLECT_IF_DUE | GCH_COLLECT_ASYNC_SWEEP, uarg);
	if (usize < 0)
		return usize;
	err = gch_heap_collect(file->private_data, file, c.hdr.flags, &c);
	if (err)
		return err;
	return gch_args_out(uarg, &c, sizeof(c), usize);
}

static long gch_ioc_roots(struct gch_heap *heap, void __user *uarg)
{
	struct gch_roots r;
	int usize;

	usize = gch_args_in(&r, sizeof(r), GCH_ROOTS_SIZE_VER0, 0, uarg);
	if (usize < 0)
		return usize;
	return gch_roots_ctl(heap, &r);
}

static long gch_ioc_gc_stats(struct gch_heap *heap, void __user *uarg)
{
	struct gch_gc_stats *st;
	int usize, err;

	st = kzalloc(sizeof(*st), GFP_KERNEL);
	if (!st)
		return -ENOMEM;
	usize = gch_args_in(st, sizeof(*st), GCH_GC_STATS_SIZE_VER0, 0, uarg);
	if (usize < 0) {
		err = usize;
	} else {
		err = gch_heap_gc_stats(heap, st);
		if (!err)
			err = gch_args_out(uarg, st, sizeof(*st), usize);
	}
	kfree(st);
	return err;
}

static long gch_ioc_finalizer(struct gch_heap *heap, void __user *uarg)
{
	struct gch_finalizer a;
	int usize, err;

	usize = gch_args_in(&a, sizeof(a), GCH_FINALIZER_SIZE_VER0,
			    GCH_FINALIZER_FLAGS, uarg);
	if (usize < 0)
		return usize;
	err = gch_specials_finalizer(heap, &a);
	/* the first version had nothing to write back, and gets nothing */
	if (err || usize <= GCH_FINALIZER_SIZE_VER0)
		return err;
	return gch_args_out(uarg, &a, sizeof(a), usize);
}

static long gch_ioc_weak(struct gch_heap *heap, void __user *uarg)
{
	struct gch_weak a;
	int usize;

	usize = gch_args_in(&a, sizeof(a), GCH_WEAK_SIZE_VER0, GCH_WEAK_FLAGS,
			    uarg);
	if (usize < 0)
		return usize;
	return gch_specials_weak(heap, &a);
}

static long gch_ioc_fin_take(struct gch_heap *heap, void __user *uarg)
{
	struct gch_fin_take t;
	int usize, err;

	usize = gch_args_in(&t, sizeof(t), GCH_FIN_TAKE_SIZE_VER0,
			    GCH_FIN_TAKE_WAIT, uarg);
	if (usize < 0)
		return usize;
	err = gch_specials_take(heap, &t);
	if (err)
		return err;
	return gch_args_out(uarg, &t, sizeof(t), usize);
}

/**
 * gch_ioctl() - the device's ioctl entry point
 * @file: an open /dev/gcheap; its private data is the heap.
 * @cmd:  a GCH_IOC_* number, matched exactly.
 * @arg:  the user address of the argument struct.
 *
 * Return: 0 or a negative errno; -ENOTTY for numbers that are not ours.
 */
long gch_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct gch_heap *heap = file->private_data;
	void __user *uarg = (void __user *)arg;
	int err;

	BUILD_BUG_ON(sizeof(struct gch_version) != GCH_VERSION_SIZE_VER0);
	BUILD_BUG_ON(sizeof(struct gch_heap_config) != GCH_CONFIG_SIZE_VER2);
	BUILD_BUG_ON(sizeof(struct gch_refill) != GCH_REFILL_SIZE_VER0 + 8);
	BUILD_BUG_ON(sizeof(struct gch_alloc) != GCH_ALLOC_SIZE_VER0 + 8);
	BUILD_BUG_ON(sizeof(struct gch_collect) != GCH_COLLECT_SIZE_VER1);
	BUILD_BUG_ON(sizeof(struct gch_roots) != GCH_ROOTS_SIZE_VER0);
	BUILD_BUG_ON(sizeof(struct gch_gc_stats) != GCH_GC_STATS_SIZE_VER1);
	BUILD_BUG_ON(sizeof(struct gch_free) != GCH_FREE_SIZE_VER0);
	BUILD_BUG_ON(sizeof(struct gch_query) != GCH_QUERY_SIZE_VER0);
	BUILD_BUG_ON(sizeof(struct gch_stats) != GCH_STATS_SIZE_VER2);
	BUILD_BUG_ON(sizeof(struct gch_finalizer) != GCH_FINALIZER_SIZE_VER1);
	/* numbers keep the first version's size (Documentation/uapi.rst) */
	BUILD_BUG_ON(_IOC_SIZE(GCH_IOC_FINALIZER) != GCH_FINALIZER_SIZE_VER0);
	BUILD_BUG_ON(sizeof(struct gch_weak) != GCH_WEAK_SIZE_VER0);
	BUILD_BUG_ON(sizeof(struct gch_fin_take) != GCH_FIN_TAKE_SIZE_VER0);

	if (_IOC_TYPE(cmd) != GCH_IOC_MAGIC)
		return -ENOTTY;
	err = gch_heap_check_owner(heap);
	if (err)
		return err;

	switch (cmd) {
	case GCH_IOC_VERSION:
		return gch_ioc_version(heap, uarg);
	case GCH_IOC_CONFIGURE:
		return gch_ioc_configure(heap, uarg);
	case GCH_IOC_REFILL:
		return gch_ioc_refill(heap, uarg);
	case GCH_IOC_ALLOC_LARGE:
		return gch_ioc_alloc_large(heap, uarg);
	case GCH_IOC_FREE:
		return gch_ioc_free(heap, uarg);
	case GCH_IOC_QUERY:
		return gch_ioc_query(heap, uarg);
	case GCH_IOC_STATS:
		return gch_ioc_stats(heap, uarg);
	case GCH_IOC_COLLECT:
		return gch_ioc_collect(file, uarg);
	case GCH_IOC_ROOTS:
		return gch_ioc_roots(heap, uarg);
	case GCH_IOC_GC_STATS:
		return gch_ioc_gc_stats(heap, uarg);
	case GCH_IOC_FINALIZER:
		return gch_ioc_finalizer(heap, uarg);
	case GCH_IOC_WEAK:
		return gch_ioc_weak(heap, uarg);
	case GCH_IOC_FIN_TAKE:
		return gch_ioc_fin_take(heap, uarg);
	default:
		return -ENOTTY;
	}
}
