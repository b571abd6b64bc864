/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * examples/list.c - lists on the garbage-collected heap.
 *
 * Builds ten lists of 1000 nodes, keeping only the last one: the others
 * become garbage.  Nothing is freed by hand; gch_collect() frees them (a
 * growing heap also collects by itself).  Build with
 *   cc list.c $(pkg-config --cflags --libs gcheap)
 * and run with GCHEAP_TRACE=1 to see each collection.
 */
#include <gcheap.h>
#include <stdio.h>

struct node {
	struct node *next;
	char *name;		/* a pointer-free object */
};

static struct node *make_list(int len)
{
	struct node *head = NULL;

	for (int i = 0; i < len; i++) {
		struct node *n = gch_malloc(sizeof(*n));	/* zeroed */
		char buf[32];

		if (!n)
			return NULL;
		snprintf(buf, sizeof(buf), "node %d", i);
		n->name = gch_strdup(buf);
		if (!n->name)
			return NULL;
		n->next = head;
		head = n;
	}
	return head;
}

int main(void)
{
	struct node *list = NULL;
	struct gch_collection gc;

	for (int round = 0; round < 10; round++) {
		list = make_list(1000);		/* the previous list is garbage */
		if (!list)
			return perror("gch_malloc"), 1;
	}
	printf("%s, %zu usable bytes\n", list->name, gch_size(list));

	if (gch_collect() || gch_last_collection(&gc))
		return perror("gch_collect"), 1;
	printf("collection %llu: %llu objects freed, %llu kept\n",
	       (unsigned long long)gc.gc_number,
	       (unsigned long long)gc.objects_freed,
	       (unsigned long long)gc.objects_marked);
	return 0;
}
