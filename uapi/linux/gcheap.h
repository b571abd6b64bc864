/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * gcheap - a garbage-collected heap for user processes, collected in the kernel.
 *
 * This is the whole ABI between gcheap.ko and userspace: the device name,
 * the ioctl numbers and their argument structs, and the constants of the
 * heap layout that the library and the module must agree on.
 *
 * Conventions (see Documentation/uapi.rst):
 *
 * - Every ioctl argument struct starts with struct gch_ioc_hdr.  @size is
 *   the size of the struct as the caller knows it (sizeof() in the caller's
 *   copy of this header); the kernel accepts any size from the struct's first
 *   published size (GCH_*_SIZE_VER0) up to 4096 bytes.  Bytes the kernel does
 *   not know must be zero (else -E2BIG); fields the caller does not know are
 *   taken as zero.  On return the kernel writes back at most @size bytes and
 *   sets @size to the number of bytes it filled in.
 * - @flags bits that the kernel does not know give -EINVAL.
 * - Ioctl numbers never change when a struct grows: the size encoded in the
 *   number is that of the first version, the real size travels in @size.
 * - Every heap belongs to the process (mm) that opened the device; ioctls
 *   from any other process get -EPERM.
 * - All fields are fixed-width; addresses are __u64.
 */
#ifndef _UAPI_LINUX_GCHEAP_H
#define _UAPI_LINUX_GCHEAP_H

#include <linux/ioctl.h>
#include <linux/types.h>

/** GCH_DEVICE_PATH - the character device a process opens to get a heap. */
#define GCH_DEVICE_PATH		"/dev/gcheap"

/*
 * ABI version.  The major number changes only when an existing ioctl or
 * struct changes incompatibly; the minor number when one is added.
 */
#define GCH_ABI_MAJOR		0
#define GCH_ABI_MINOR		1

/* Feature bits reported by GCH_IOC_VERSION in gch_version.features. */
#define GCH_FEAT_VERSION	(1ULL << 0)	/* GCH_IOC_VERSION itself */

/*
 * Heap layout shared by the library and the module.
 *
 * The arena is managed in heap pages of GCH_PAGE_SIZE bytes (two 4 KiB
 * kernel pages on x86-64), the unit of spans.  Objects up to
 * GCH_MAX_SMALL_SIZE bytes are rounded up to a size class; larger ones get
 * a span of their own.  Every object is GCH_MIN_ALIGN-aligned.
 * GCH_SIZECLASS_VERSION names the algorithm that builds the class table:
 * library and module must report the same one.
 */
#define GCH_PAGE_SHIFT		13
#define GCH_PAGE_SIZE		(1U << GCH_PAGE_SHIFT)
#define GCH_MAX_SMALL_SIZE	32768U
#define GCH_MIN_ALIGN		16U
#define GCH_MAX_SIZE_CLASSES	96	/* capacity; class 0 means "large" */
#define GCH_SIZECLASS_VERSION	1

/**
 * struct gch_ioc_hdr - header of every gcheap ioctl argument struct
 * @size:  in: size of the whole struct as the caller knows it;
 *         out: number of bytes the kernel filled in.
 * @flags: per-ioctl flags; unknown bits give -EINVAL.
 */
struct gch_ioc_hdr {
	__u32 size;
	__u32 flags;
};

/**
 * struct gch_version - argument of GCH_IOC_VERSION
 * @hdr:               common header; no flags are defined (must be 0).
 * @abi_major:         out: GCH_ABI_MAJOR of the running module.
 * @abi_minor:         out: GCH_ABI_MINOR of the running module.
 * @features:          out: GCH_FEAT_* bits the module supports.
 * @page_shift:        out: log2 of the heap page size (GCH_PAGE_SHIFT).
 * @max_small_size:    out: largest size served from a size class.
 * @nr_size_classes:   out: number of size classes, class 0 included.
 * @sizeclass_version: out: GCH_SIZECLASS_VERSION of the module's table.
 *
 * Input fields other than @hdr are ignored and overwritten.
 */
struct gch_version {
	struct gch_ioc_hdr hdr;
	__u32 abi_major;
	__u32 abi_minor;
	__u64 features;
	__u32 page_shift;
	__u32 max_small_size;
	__u32 nr_size_classes;
	__u32 sizeclass_version;
};

#define GCH_VERSION_SIZE_VER0	40	/* sizeof first published struct */

/* 0xC6 is unassigned in Documentation/userspace-api/ioctl/ioctl-number.rst */
#define GCH_IOC_MAGIC		0xC6

/**
 * GCH_IOC_VERSION - report the ABI version and features of the module.
 *
 * Argument: struct gch_version.  Errors: -EFAULT (bad pointer), -EINVAL
 * (@hdr.size below GCH_VERSION_SIZE_VER0, or unknown flags), -E2BIG
 * (@hdr.size above 4096, or non-zero bytes past the kernel's struct),
 * -EPERM (the heap belongs to another process).
 */
#define GCH_IOC_VERSION		_IOWR(GCH_IOC_MAGIC, 0x00, struct gch_version)

#endif /* _UAPI_LINUX_GCHEAP_H */
