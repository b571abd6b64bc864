/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libgcheap - a garbage-collected heap for C programs, collected in the
 * kernel by gcheap.ko.
 *
 * Functions return 0 on success and -1 with errno set on failure, unless
 * their comment says otherwise.  See Documentation/userlib.rst.
 */
#ifndef GCHEAP_H
#define GCHEAP_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * struct gch_abi_info - the interface the loaded module speaks
 * @abi_major:         module ABI major version (must equal the library's).
 * @abi_minor:         module ABI minor version.
 * @features:          GCH_FEAT_* bits of <linux/gcheap.h>.
 * @page_size:         heap page size in bytes.
 * @max_small_size:    largest object served from a size class.
 * @nr_size_classes:   number of size classes, class 0 (large) included.
 * @sizeclass_version: version of the size-class construction.
 */
struct gch_abi_info {
	unsigned int abi_major;
	unsigned int abi_minor;
	uint64_t features;
	unsigned int page_size;
	unsigned int max_small_size;
	unsigned int nr_size_classes;
	unsigned int sizeclass_version;
};

/**
 * gch_abi_info() - ask the loaded module which interface it speaks
 * @info: filled in on success.
 *
 * Opens /dev/gcheap, queries it and checks that the module and this
 * library agree on the ABI major version and on the size-class table.
 *
 * Return: 0, or -1 with errno ENODEV (module not loaded: a message on
 * stderr says how to load it), EPROTO (module and library disagree; @info
 * is still filled in), or an error of open(2) or ioctl(2).
 */
int gch_abi_info(struct gch_abi_info *info);

#ifdef __cplusplus
}
#endif

#endif /* GCHEAP_H */
