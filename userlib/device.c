// SPDX-License-Identifier: LGPL-2.1-or-later
/* Opening /dev/gcheap, with an error a user can act on. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <linux/gcheap.h>

#include "internal.h"

/**
 * gch_dev_open() - open the gcheap device
 *
 * Return: a close-on-exec file descriptor, or -1 with errno; ENODEV when
 * the device node does not exist, after telling the user how to load the
 * module.
 */
int gch_dev_open(void)
{
	int fd = open(GCH_DEVICE_PATH, O_RDWR | O_CLOEXEC);

	if (fd < 0 && (errno == ENOENT || errno == ENXIO || errno == ENODEV)) {
		fprintf(stderr,
			"libgcheap: %s is missing: the gcheap kernel module is not loaded; load it with 'modprobe gcheap' (or 'insmod gcheap.ko')\n",
			GCH_DEVICE_PATH);
		errno = ENODEV;
	}
	return fd;
}
