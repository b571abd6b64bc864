// SPDX-License-Identifier: GPL-2.0
/*
 * Module lifetime and parameters: rmmod is refused while a heap is open
 * and accepted after the last close; max_heaps bounds open heaps, and
 * max_heaps_per_user those of one user without denying other users.
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
#include <sys/wait.h>
#include <unistd.h>

#include <linux/gcheap.h>

#include "gcheap.h"
#include "kselftest_harness.h"

#define PARAM_MAX_HEAPS "/sys/module/gcheap/parameters/max_heaps"
#define PARAM_MAX_HEAPS_PER_USER \
	"/sys/module/gcheap/parameters/max_heaps_per_user"

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

/* In a child running as @uid: 0 if a heap opens, else its errno. */
static int open_as(uid_t uid)
{
	int status, fd;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		if (setresgid(uid, uid, uid) || setresuid(uid, uid, uid))
			_exit(200);
		fd = open(GCH_DEVICE_PATH, O_RDWR);
		_exit(fd < 0 ? errno : 0);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

TEST(max_heaps_per_user_bounds_one_user)
{
	unsigned int saved, n;
	int fds[3], err;

	if (geteuid())
		SKIP(return, "needs root to change the parameter and the uid");
	ASSERT_EQ(0, read_param(PARAM_MAX_HEAPS_PER_USER, &saved))
		TH_LOG("%s: %s", PARAM_MAX_HEAPS_PER_USER, strerror(errno));
	ASSERT_EQ(256, saved);	/* the documented default */
	ASSERT_EQ(0, write_param(PARAM_MAX_HEAPS_PER_USER, 2));
	ASSERT_EQ(0, read_param(PARAM_MAX_HEAPS_PER_USER, &n));
	ASSERT_EQ(2, n);

	fds[0] = open(GCH_DEVICE_PATH, O_RDWR);
	fds[1] = open(GCH_DEVICE_PATH, O_RDWR);
	fds[2] = open(GCH_DEVICE_PATH, O_RDWR);
	err = errno;
	EXPECT_LE(0, fds[0]);
	EXPECT_LE(0, fds[1]);
	EXPECT_EQ(-1, fds[2]);
	EXPECT_EQ(EMFILE, err);
	/* another user is not denied by this one's heaps */
	EXPECT_EQ(0, open_as(65534));
	/* and a slot freed by close is this user's again */
	close(fds[1]);
	fds[1] = open(GCH_DEVICE_PATH, O_RDWR);
	EXPECT_LE(0, fds[1]);
	close(fds[0]);
	close(fds[1]);

	ASSERT_EQ(0, write_param(PARAM_MAX_HEAPS_PER_USER, saved));
	fds[0] = open(GCH_DEVICE_PATH, O_RDWR);
	EXPECT_LE(0, fds[0]);
	close(fds[0]);
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
