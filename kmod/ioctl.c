// SPDX-License-Identifier: GPL-2.0
/*
 * ioctl dispatch and the extensible-struct convention every ioctl follows
 * (uapi/linux/gcheap.h, Documentation/uapi.rst).
 */
#include <linux/fs.h>
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
	v.features = GCH_FEAT_VERSION;
	v.page_shift = GCH_PAGE_SHIFT;
	v.max_small_size = GCH_MAX_SMALL_SIZE;
	v.nr_size_classes = gch_size_classes.nr_classes;
	v.sizeclass_version = GCH_SIZECLASS_VERSION;
	return gch_args_out(uarg, &v, sizeof(v), usize);
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

	if (_IOC_TYPE(cmd) != GCH_IOC_MAGIC)
		return -ENOTTY;
	err = gch_heap_check_owner(heap);
	if (err)
		return err;

	switch (cmd) {
	case GCH_IOC_VERSION:
		return gch_ioc_version(heap, uarg);
	default:
		return -ENOTTY;
	}
}
