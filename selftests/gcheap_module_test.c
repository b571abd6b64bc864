// SPDX-License-Identifier: GPL-2.0
/*
 * Module lifetime and parameters: rmmod is refused while a heap is open
 * and accepted after the last close; max_heaps bounds open heaps.
 *
 * This test unloads and reloads gcheap.ko, so it runs alone, after the
 * others.  GCHEAP_KO names the module file to reload (the VM test script
 * sets it); without it the unload tests are skipped, saying why.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/gcheap.h>

#include "gcheap.h"
#include "kselftest_harness.h"

#define PARAM_MAX_HEAPS "/sys/module/gcheap/parameters/max_heaps"

static int delete_module(const char *name, int flags)
{
	return syscall(__NR_delete_module, name, flags);
}

static int load_module(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return -1;
	ret = syscall(__NR_finit_module, fd, "", 0);
	close(fd);
	return ret;
}

static int read_param(const char *path, unsigned int *val)
{
	FILE *f = fopen(path, "r");
	int n;

	if (!f)
		return -1;
	n = fscanf(f, "%u", val);
	fclose(f);
	return n == 1 ? 0 : -1;
}

static int write_param(const char *path, unsigned int val)
{
	FILE *f = fopen(path, "w");
	int err;

	if (!f)
		return -1;
	fprintf(f, "%u\n", val);
	err = fclose(f);
	return err ? -1 : 0;
}

static int version_ok(int fd)
{
	struct gch_version v = { .hdr.size = sizeof(v) };

	return ioctl(fd, GCH_IOC_VERSION, &v) == 0 &&
	       v.abi_major == GCH_ABI_MAJOR;
}

TEST(max_heaps_bounds_open)
{
	unsigned int saved, n;
	int fds[3], fd;

	ASSERT_EQ(0, read_param(PARAM_MAX_HEAPS, &saved))
		TH_LOG("%s: %s", PARAM_MAX_HEAPS, strerror(errno));
	ASSERT_LE(2, saved);
	ASSERT_EQ(0, write_param(PARAM_MAX_HEAPS, 2));
	ASSERT_EQ(0, read_param(PARAM_MAX_HEAPS, &n));
	ASSERT_EQ(2, n);

	fds[0] = open(GCH_DEVICE_PATH, O_RDWR);
	fds[1] = open(GCH_DEVICE_PATH, O_RDWR);
	fds[2] = open(GCH_DEVICE_PATH, O_RDWR);
	fd = errno;
	EXPECT_LE(0, fds[0]);
	EXPECT_LE(0, fds[1]);
	EXPECT_EQ(-1, fds[2]);
	EXPECT_EQ(ENFILE, fd);
	/* A slot freed by close is usable again. */
	close(fds[1]);
	fds[1] = open(GCH_DEVICE_PATH, O_RDWR);
	EXPECT_LE(0, fds[1]);
	EXPECT_TRUE(version_ok(fds[1]));
	close(fds[0]);
	close(fds[1]);

	ASSERT_EQ(0, write_param(PARAM_MAX_HEAPS, saved));
	fd = open(GCH_DEVICE_PATH, O_RDWR);
	EXPECT_LE(0, fd);
	close(fd);
}

TEST(rmmod_refused_while_open_then_accepted)
{
	const char *ko = getenv("GCHEAP_KO");
	struct gch_abi_info info;
	struct stat st;
	int fd;

	if (!ko)
		SKIP(return, "GCHEAP_KO not set: cannot reload the module after unloading it");

	fd = open(GCH_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, delete_module("gcheap", O_NONBLOCK));
	EXPECT_EQ(EWOULDBLOCK, errno) TH_LOG("%s", strerror(errno));
	/* The refused unload left the heap working. */
	EXPECT_TRUE(version_ok(fd));
	close(fd);

	ASSERT_EQ(0, delete_module("gcheap", O_NONBLOCK))
		TH_LOG("rmmod after close: %s", strerror(errno));
	/* devtmpfs removes the node with the device. */
	EXPECT_EQ(-1, stat(GCH_DEVICE_PATH, &st));
	EXPECT_EQ(ENOENT, errno);
	EXPECT_EQ(-1, open(GCH_DEVICE_PATH, O_RDWR));
	/* The library says what is wrong and how to fix it. */
	EXPECT_EQ(-1, gch_abi_info(&info));
	EXPECT_EQ(ENODEV, errno);

	ASSERT_EQ(0, load_module(ko)) TH_LOG("reload %s: %s", ko, strerror(errno));
	fd = open(GCH_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd) TH_LOG("after reload: %s", strerror(errno));
	EXPECT_TRUE(version_ok(fd));
	close(fd);
}

TEST_HARNESS_MAIN
