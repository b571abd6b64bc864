// SPDX-License-Identifier: GPL-2.0
/*
 * The device and its ioctl conventions, from userspace: the node, open and
 * close, GCH_IOC_VERSION, and every way of getting an ioctl wrong.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/gcheap.h>

#include "kselftest_harness.h"
#include "core/sizeclass.h"

#define MISC_MAJOR 10

/* A struct that a newer library might pass: ours plus fields we lack. */
struct gch_version_next {
	struct gch_version v;
	__u64 future[3];
};

static int version_ioctl(int fd, void *arg, __u32 size)
{
	((struct gch_ioc_hdr *)arg)->size = size;
	return ioctl(fd, GCH_IOC_VERSION, arg);
}

TEST(device_node)
{
	struct stat st;

	ASSERT_EQ(0, stat(GCH_DEVICE_PATH, &st)) TH_LOG("%s", strerror(errno));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0666, st.st_mode & 0777);
	EXPECT_EQ(MISC_MAJOR, major(st.st_rdev));
}

TEST(open_close_many)
{
	int i, fd;

	for (i = 0; i < 200; i++) {
		fd = open(GCH_DEVICE_PATH, O_RDWR | O_CLOEXEC);
		ASSERT_LE(0, fd) TH_LOG("open #%d: %s", i, strerror(errno));
		ASSERT_EQ(0, close(fd));
	}
}

TEST(open_readonly_and_writeonly)
{
	int fd;

	/* The heap is the file; the access mode does not matter. */
	fd = open(GCH_DEVICE_PATH, O_RDONLY);
	ASSERT_LE(0, fd);
	close(fd);
	fd = open(GCH_DEVICE_PATH, O_WRONLY);
	ASSERT_LE(0, fd);
	close(fd);
}

FIXTURE(dev) {
	int fd;
};

FIXTURE_SETUP(dev)
{
	self->fd = open(GCH_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->fd) TH_LOG("open: %s", strerror(errno));
}

FIXTURE_TEARDOWN(dev)
{
	close(self->fd);
}

TEST_F(dev, version)
{
	struct gch_sizeclass_table classes;
	struct gch_version v;

	memset(&v, 0xff, sizeof(v));	/* output fields must be overwritten */
	v.hdr.flags = 0;
	ASSERT_EQ(0, version_ioctl(self->fd, &v, sizeof(v)))
		TH_LOG("%s", strerror(errno));
	EXPECT_EQ(sizeof(v), v.hdr.size);
	EXPECT_EQ(GCH_ABI_MAJOR, v.abi_major);
	EXPECT_EQ(GCH_ABI_MINOR, v.abi_minor);
	EXPECT_TRUE(v.features & GCH_FEAT_VERSION);
	EXPECT_EQ(GCH_PAGE_SHIFT, v.page_shift);
	EXPECT_EQ(GCH_MAX_SMALL_SIZE, v.max_small_size);
	EXPECT_EQ(GCH_SIZECLASS_VERSION, v.sizeclass_version);
	/* The module's table is the one this test computes itself. */
	ASSERT_EQ(0, gch_sizeclass_init(&classes));
	EXPECT_EQ(classes.nr_classes, v.nr_size_classes);
}

TEST_F(dev, version_from_newer_caller)
{
	struct gch_version_next n;

	memset(&n, 0, sizeof(n));
	ASSERT_EQ(0, version_ioctl(self->fd, &n, sizeof(n)));
	/* The kernel fills what it knows and says how much that was. */
	EXPECT_EQ(sizeof(struct gch_version), n.v.hdr.size);
	EXPECT_EQ(GCH_ABI_MAJOR, n.v.abi_major);
	EXPECT_EQ(0, n.future[0]);
	EXPECT_EQ(0, n.future[2]);

	/* Fields it does not know must be zero: it cannot honour them. */
	memset(&n, 0, sizeof(n));
	n.future[2] = 1;
	EXPECT_EQ(-1, version_ioctl(self->fd, &n, sizeof(n)));
	EXPECT_EQ(E2BIG, errno);
}

TEST_F(dev, version_bad_sizes)
{
	static const __u32 short_sizes[] = {
		0, 1, 4, 8, GCH_VERSION_SIZE_VER0 - 1,
	};
	static const __u32 huge_sizes[] = { 4097, 65536, 0x7fffffff, UINT32_MAX };
	struct gch_version v;
	unsigned int i;
	char *big;

	for (i = 0; i < ARRAY_SIZE(short_sizes); i++) {
		memset(&v, 0, sizeof(v));
		EXPECT_EQ(-1, version_ioctl(self->fd, &v, short_sizes[i]));
		EXPECT_EQ(EINVAL, errno) TH_LOG("size %u", short_sizes[i]);
	}
	/* Sizes beyond the limit fail before any byte past hdr is read. */
	for (i = 0; i < ARRAY_SIZE(huge_sizes); i++) {
		memset(&v, 0, sizeof(v));
		EXPECT_EQ(-1, version_ioctl(self->fd, &v, huge_sizes[i]));
		EXPECT_EQ(E2BIG, errno) TH_LOG("size %u", huge_sizes[i]);
	}
	/* The largest accepted size, all zero past our struct: fine. */
	big = calloc(1, 4096);
	ASSERT_NE(NULL, big);
	EXPECT_EQ(0, version_ioctl(self->fd, big, 4096));
	EXPECT_EQ(sizeof(struct gch_version), ((struct gch_ioc_hdr *)big)->size);
	big[4095] = 1;
	EXPECT_EQ(-1, version_ioctl(self->fd, big, 4096));
	EXPECT_EQ(E2BIG, errno);
	free(big);
}

TEST_F(dev, version_garbage_flags)
{
	static const __u32 bad_flags[] = { 1, 2, 0x80000000, UINT32_MAX };
	struct gch_version v;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bad_flags); i++) {
		memset(&v, 0, sizeof(v));
		v.hdr.flags = bad_flags[i];
		EXPECT_EQ(-1, version_ioctl(self->fd, &v, sizeof(v)));
		EXPECT_EQ(EINVAL, errno) TH_LOG("flags 0x%x", bad_flags[i]);
	}
}

TEST_F(dev, version_bad_pointers)
{
	long page = sysconf(_SC_PAGESIZE);
	struct gch_version *v;
	char *map;

	EXPECT_EQ(-1, ioctl(self->fd, GCH_IOC_VERSION, NULL));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(self->fd, GCH_IOC_VERSION, (void *)1));
	EXPECT_EQ(EFAULT, errno);
	/* A kernel address. */
	EXPECT_EQ(-1, ioctl(self->fd, GCH_IOC_VERSION,
			    (void *)0xffffffff81000000UL));
	EXPECT_EQ(EFAULT, errno);

	/* A struct whose claimed size runs into an inaccessible page. */
	map = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, map);
	ASSERT_EQ(0, mprotect(map + page, page, PROT_NONE));
	v = (struct gch_version *)(map + page - sizeof(*v));
	memset(v, 0, sizeof(*v));
	EXPECT_EQ(-1, version_ioctl(self->fd, v, sizeof(*v) + 64));
	EXPECT_EQ(EFAULT, errno);
	/* Exactly up to the edge is fine. */
	EXPECT_EQ(0, version_ioctl(self->fd, v, sizeof(*v)));
	EXPECT_EQ(GCH_ABI_MAJOR, v->abi_major);

	/* Read-only memory: the result cannot be written back. */
	v = (struct gch_version *)map;
	memset(v, 0, sizeof(*v));
	v->hdr.size = sizeof(*v);
	ASSERT_EQ(0, mprotect(map, page, PROT_READ));
	EXPECT_EQ(-1, ioctl(self->fd, GCH_IOC_VERSION, v));
	EXPECT_EQ(EFAULT, errno);
	munmap(map, 2 * page);
}

TEST_F(dev, bad_ioctl_numbers)
{
	const unsigned long cmds[] = {
		0,
		_IOWR('x', 0x00, struct gch_version),		/* not our magic */
		_IOWR(GCH_IOC_MAGIC, 0x7f, struct gch_version),	/* unknown nr */
		_IOWR(GCH_IOC_MAGIC, 0xff, struct gch_version),
		_IOR(GCH_IOC_MAGIC, 0x00, struct gch_version),	/* wrong direction */
		_IOW(GCH_IOC_MAGIC, 0x00, struct gch_version),
		_IO(GCH_IOC_MAGIC, 0x00),
		_IOWR(GCH_IOC_MAGIC, 0x00, __u64),		/* wrong size */
	};
	struct gch_version v;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cmds); i++) {
		memset(&v, 0, sizeof(v));
		v.hdr.size = sizeof(v);
		EXPECT_EQ(-1, ioctl(self->fd, cmds[i], &v));
		EXPECT_EQ(ENOTTY, errno) TH_LOG("cmd 0x%lx", cmds[i]);
	}
}

TEST_F(dev, read_write_mmap_unsupported)
{
	char buf[16];

	/* Nothing but ioctl and (later) mmap: no hidden interface. */
	EXPECT_EQ(-1, read(self->fd, buf, sizeof(buf)));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, write(self->fd, buf, sizeof(buf)));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(dev, two_heaps_in_one_process)
{
	struct gch_version v = { 0 };
	int fd2 = open(GCH_DEVICE_PATH, O_RDWR | O_CLOEXEC);

	ASSERT_LE(0, fd2);
	EXPECT_EQ(0, version_ioctl(fd2, &v, sizeof(v)));
	close(fd2);
	memset(&v, 0, sizeof(v));
	EXPECT_EQ(0, version_ioctl(self->fd, &v, sizeof(v)));
}

/* Contract 1: a heap belongs to the mm that opened it. */
TEST_F(dev, forked_child_gets_eperm)
{
	struct gch_version v;
	int status;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int fd2;

		memset(&v, 0, sizeof(v));
		if (version_ioctl(self->fd, &v, sizeof(v)) != -1 ||
		    errno != EPERM)
			_exit(10);
		/* Its own heap works. */
		fd2 = open(GCH_DEVICE_PATH, O_RDWR);
		if (fd2 < 0)
			_exit(11);
		memset(&v, 0, sizeof(v));
		if (version_ioctl(fd2, &v, sizeof(v)) != 0)
			_exit(12);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status))
		TH_LOG("child: 10 = inherited fd usable, 11/12 = own heap broken");
	/* The parent's heap is unaffected. */
	memset(&v, 0, sizeof(v));
	EXPECT_EQ(0, version_ioctl(self->fd, &v, sizeof(v)));
}

TEST_HARNESS_MAIN
