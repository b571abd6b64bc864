// SPDX-License-Identifier: GPL-2.0
/*
 * A 32-bit (i386, compat) caller of /dev/gcheap.
 *
 * The collector reads roots and objects as 8-byte words holding 64-bit
 * addresses: a 32-bit program's 4-byte pointers, two to a word, are
 * misread, and what they reference is freed.  gcheap must refuse 32-bit
 * callers with a clear error (at open() or at the first ioctl or mmap:
 * EOPNOTSUPP expected) rather than accept them.
 *
 * On a module that accepts them, this shows the loss: objects A and B
 * (GCH_IOC_ALLOC_LARGE), A's 4-byte pointer in a registered root range
 * right after a non-zero 4-byte word, B's only in A (after a 4-byte
 * field), like any 32-bit struct; one collection, then both must still be
 * allocated (GCH_IOC_QUERY).
 *
 * Built with -m32 -static -nostdlib (see the Makefile): no 32-bit libc is
 * needed, system calls go through int $0x80.  Output is KTAP; exit 0 pass,
 * 1 fail, 4 skip.
 */
#include <linux/gcheap.h>

#ifndef __i386__
#error "build with -m32 (see the Makefile)"
#endif

#define NR_exit_group	252
#define NR_write	4
#define NR_open		5
#define NR_close	6
#define NR_ioctl	54
#define NR_mmap2	192

#define O_RDWR		2
#define PROT_READ	1
#define PROT_WRITE	2
#define MAP_SHARED	1

#define ENOENT		2
#define ENODEV		19
#define ENXIO		6

static long sys3(long nr, long a, long b, long c)
{
	long ret;

	asm volatile("int $0x80" : "=a" (ret) : "a" (nr), "b" (a), "c" (b), "d" (c)
		     : "memory");
	return ret;
}

/* mmap2 with offset 0: ebp (the sixth argument) is 0 for the call */
static long sys_mmap2_0(long addr, long len, long prot, long flags, long fd)
{
	long ret;

	asm volatile("push %%ebp\n\t"
		     "xorl %%ebp, %%ebp\n\t"
		     "int $0x80\n\t"
		     "pop %%ebp"
		     : "=a" (ret)
		     : "a" (NR_mmap2), "b" (addr), "c" (len), "d" (prot), "S" (flags), "D" (fd)
		     : "memory");
	return ret;
}

void *memset(void *s, int c, unsigned int n)
{
	unsigned char *p = s;

	while (n--)
		*p++ = (unsigned char)c;
	return s;
}

void *memcpy(void *d, const void *s, unsigned int n)
{
	unsigned char *q = d;
	const unsigned char *p = s;

	while (n--)
		*q++ = *p++;
	return d;
}

static unsigned int slen(const char *s)
{
	unsigned int n = 0;

	while (s[n])
		n++;
	return n;
}

static void out(const char *s)
{
	sys3(NR_write, 1, (long)s, slen(s));
}

static void out_num(long v)
{
	char buf[16];
	int i = sizeof(buf);
	unsigned long u = v < 0 ? -v : v;

	buf[--i] = 0;
	do {
		buf[--i] = '0' + u % 10;
		u /= 10;
	} while (u && i > 1);
	if (v < 0)
		buf[--i] = '-';
	out(buf + i);
}

static void out_hex(unsigned long v)
{
	char buf[12];
	int i;

	buf[0] = '0';
	buf[1] = 'x';
	for (i = 0; i < 8; i++)
		buf[2 + i] = "0123456789abcdef"[(v >> (28 - 4 * i)) & 15];
	buf[10] = 0;
	out(buf);
}

static void __attribute__((noreturn)) finish(int code, const char *what)
{
	out(code == 0 ? "ok 1 compat_32bit_caller" :
	    code == 4 ? "ok 1 compat_32bit_caller # SKIP " :
	    "not ok 1 compat_32bit_caller");
	if (code != 4 && what[0])
		out(" # ");
	out(what);
	out("\n");
	sys3(NR_exit_group, code, 0, 0);
	for (;;)
		;
}

/*
 * A refusal is what gcheap must do: say where and with which errno.  At
 * open, VERSION, CONFIGURE or the arena's mmap any error counts as one;
 * later only EOPNOTSUPP (anything else is an error of this test).
 */
static void __attribute__((noreturn)) refused(const char *where, long err, int early)
{
	out(early || err == -95 ? "# a 32-bit caller is refused at " :
	    "# unexpected error at ");
	out(where);
	out(": errno ");
	out_num(-err);
	out(err == -95 ? " (EOPNOTSUPP)\n" : "\n");
	if (early || err == -95)
		finish(0, "");
	finish(1, "unexpected error");
}

/* The root range: 4-byte words, as a 32-bit program's data would hold. */
static unsigned int root[8] __attribute__((aligned(8)));

struct obj32 {
	unsigned int tag;	/* non-zero: with @ptr, one 8-byte word */
	unsigned int ptr;	/* a 32-bit pointer */
	unsigned int payload[30];
};

static long query(int fd, unsigned int addr)
{
	struct gch_query q;
	long r;

	memset(&q, 0, sizeof(q));
	q.hdr.size = sizeof(q);
	q.addr = addr;
	r = sys3(NR_ioctl, fd, GCH_IOC_QUERY, (long)&q);
	if (r)
		return r;
	return q.base == addr ? 0 : -1;
}

static int check_obj(unsigned int addr, unsigned int seed)
{
	struct obj32 *o = (struct obj32 *)addr;
	unsigned int i;

	for (i = 0; i < 30; i++)
		if (o->payload[i] != seed * 2654435761u + i)
			return -1;
	return 0;
}

static void fill_obj(unsigned int addr, unsigned int seed, unsigned int ptr)
{
	struct obj32 *o = (struct obj32 *)addr;
	unsigned int i;

	o->tag = 0x13572468;
	o->ptr = ptr;
	for (i = 0; i < 30; i++)
		o->payload[i] = seed * 2654435761u + i;
}

static unsigned int large_size;

static long alloc_large(int fd, unsigned int *addr)
{
	struct gch_alloc a;
	long r;

	memset(&a, 0, sizeof(a));
	a.hdr.size = sizeof(a);
	a.size = large_size;
	r = sys3(NR_ioctl, fd, GCH_IOC_ALLOC_LARGE, (long)&a);
	if (!r) {
		if (a.addr >> 32)
			return -1000;
		*addr = (unsigned int)a.addr;
	}
	return r;
}

static void __attribute__((noreturn, used)) cmain(void)
{
	struct gch_version v;
	struct gch_heap_config cfg;
	struct gch_roots rr;
	struct gch_collect c;
	unsigned int a, b, pin;
	long fd, r, arena;
	int bad = 0;

	out("TAP version 13\n1..1\n");
	fd = sys3(NR_open, (long)GCH_DEVICE_PATH, O_RDWR, 0);
	if (fd == -ENOENT || fd == -ENODEV || fd == -ENXIO)
		finish(4, "no /dev/gcheap (module not loaded)");
	if (fd < 0)
		refused("open()", fd, 1);

	memset(&v, 0, sizeof(v));
	v.hdr.size = sizeof(v);
	r = sys3(NR_ioctl, fd, GCH_IOC_VERSION, (long)&v);
	if (r)
		refused("GCH_IOC_VERSION", r, 1);
	large_size = v.max_small_size + 4096;
	memset(&cfg, 0, sizeof(cfg));
	cfg.hdr.size = sizeof(cfg);
	cfg.arena_size = 8 << 20;
	cfg.gc_percent = 0xffffffffu;	/* GCH_GC_OFF */
	r = sys3(NR_ioctl, fd, GCH_IOC_CONFIGURE, (long)&cfg);
	if (r)
		refused("GCH_IOC_CONFIGURE", r, 1);
	arena = sys_mmap2_0(0, (long)cfg.arena_size, PROT_READ | PROT_WRITE,
			    MAP_SHARED, fd);
	if (arena < 0 && arena > -4096)
		refused("mmap() of the arena", arena, 1);
	out("# a 32-bit caller was accepted: open, VERSION, CONFIGURE and the arena's mmap at ");
	out_hex(arena);
	out(" succeeded\n");

	/* the arena's first object, so that @arena's value references nothing */
	r = alloc_large(fd, &pin);
	if (!r)
		r = alloc_large(fd, &a);
	if (!r)
		r = alloc_large(fd, &b);
	if (r)
		refused("GCH_IOC_ALLOC_LARGE", r, 0);
	fill_obj(b, 2, 0);
	fill_obj(a, 1, b);		/* B only from A, a 4-byte pointer */
	root[0] = 0x2468ace1;		/* with root[1]: one word, no address */
	root[1] = a;
	memset(&rr, 0, sizeof(rr));
	rr.hdr.size = sizeof(rr);
	rr.op = GCH_ROOTS_ADD;
	rr.tag = 1;
	rr.addr = (unsigned int)root;
	rr.len = sizeof(root);
	r = sys3(NR_ioctl, fd, GCH_IOC_ROOTS, (long)&rr);
	if (r)
		refused("GCH_IOC_ROOTS", r, 0);
	a = b = 0;	/* no copies left in registers or on this stack */

	memset(&c, 0, sizeof(c));
	c.hdr.size = sizeof(c);
	r = sys3(NR_ioctl, fd, GCH_IOC_COLLECT, (long)&c);
	if (r)
		refused("GCH_IOC_COLLECT", r, 0);
	out("# collection ");
	out_num((long)c.info.gc_number);
	out(": ");
	out_num((long)c.info.objects_freed);
	out(" objects freed\n");

	a = root[1];
	if (query(fd, a) || check_obj(a, 1)) {
		out("# object A, referenced by a 4-byte pointer in a registered root range, was freed\n");
		bad = 1;
	} else {
		b = ((struct obj32 *)a)->ptr;
		if (query(fd, b) || check_obj(b, 2)) {
			out("# object B, referenced only by a 4-byte pointer in object A, was freed\n");
			bad = 1;
		}
	}
	if (bad)
		finish(1, "a 32-bit caller is accepted and its 4-byte pointers are misread: reachable objects freed (expected: refused with EOPNOTSUPP)");
	finish(1, "a 32-bit caller is accepted (expected: refused with EOPNOTSUPP at open or the first ioctl); its objects happened to survive");
}

asm(".globl _start\n"
    "_start:\n\t"
    "xorl %ebp, %ebp\n\t"
    "andl $-16, %esp\n\t"
    "call cmain\n\t"
    "hlt\n");
