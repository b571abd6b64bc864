// SPDX-License-Identifier: GPL-2.0
/*
 * A small program written for bdwgc, built against Debian's gc.h and
 * linked with -lgc: the packaging layer runs it through the installed
 * gcheap-run to check that the installed drop-in serves a libgc1 client.
 * Builds lists, drops most of them, collects, and checks the kept one.
 * Prints "bdwgc-client: ok, N collections, ..." and exits 0, or says
 * what went wrong and exits 1.
 */
#include <gc/gc.h>
#include <stdio.h>

struct node {
	struct node *next;
	long value;
};

static struct node *list(long n)
{
	struct node *head = NULL, *x;
	long i;

	for (i = 0; i < n; i++) {
		x = GC_MALLOC(sizeof(*x));
		if (!x)
			return NULL;
		x->next = head;
		x->value = i;
		head = x;
	}
	return head;
}

int main(void)
{
	struct node *keep, *x;
	long sum = 0, n = 0, round;

	GC_INIT();
	keep = list(20000);
	for (round = 0; round < 50; round++)
		if (!list(20000)) {
			printf("bdwgc-client: out of memory in round %ld\n", round);
			return 1;
		}
	GC_gcollect();
	for (x = keep; x; x = x->next) {
		sum += x->value;
		n++;
	}
	if (n != 20000 || sum != 20000L * 19999 / 2) {
		printf("bdwgc-client: kept list damaged: %ld nodes, sum %ld\n", n, sum);
		return 1;
	}
	if (GC_get_gc_no() < 2) {
		printf("bdwgc-client: only %lu collections\n", (unsigned long)GC_get_gc_no());
		return 1;
	}
	printf("bdwgc-client: ok, %lu collections, heap %zu bytes\n",
	       (unsigned long)GC_get_gc_no(), GC_get_heap_size());
	return 0;
}
