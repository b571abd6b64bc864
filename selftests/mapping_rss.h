/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared by the selftests: how much of one mapping is resident.
 */
#ifndef GCHEAP_SELFTEST_MAPPING_RSS_H
#define GCHEAP_SELFTEST_MAPPING_RSS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/*
 * Resident kilobytes of the mapping at @start, from /proc/self/smaps,
 * which walks the page tables (statm's counters lag behind on 6.1).
 * Return: the kilobytes, or -1.
 */
static inline long mapping_rss_kb(const void *start)
{
	unsigned long from, to;
	long kb = -1;
	bool in = false;
	char line[256];
	FILE *f = fopen("/proc/self/smaps", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &from, &to) == 2 &&
		    strchr(line, '-') < strchr(line, ' '))
			in = from == (uintptr_t)start;
		else if (in && sscanf(line, "Rss: %ld kB", &kb) == 1)
			break;
	}
	fclose(f);
	return kb;
}

#endif /* GCHEAP_SELFTEST_MAPPING_RSS_H */
