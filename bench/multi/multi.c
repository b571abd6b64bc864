// SPDX-License-Identifier: GPL-2.0
/*
 * bench/multi: N processes of one benchmark at once, as a machine running
 * several programs on one collector would; the whole run's numbers.
 *
 *   multi -n N -b NAME -B CONTENDER -- COMMAND [ARG...]
 *
 * Starts N copies of COMMAND together, waits for every one, and prints
 * one JSON object: "benchmark" NAME, "backend" CONTENDER, "procs" N,
 * "args" (COMMAND's arguments), the wall time from the first start to
 * the last exit ("wall_s"), the CPU time of the N processes added up
 * (user + system, from wait4(): "cpu_s"), the whole machine's busy CPU
 * time meanwhile ("machine_cpu_s", which also counts gcheap's kernel
 * workers), the largest and the summed peak RSS of the processes
 * ("peak_rss_kib", "rss_sum_kib"), and from the processes' own JSON
 * output (bench/lib/contender.h's fields) their collections and total
 * pause added up and the longest pause ("collections", "pause_total_ms",
 * "pause_max_ms": null if the processes report none) and the longest
 * single process's wall time ("proc_wall_max_s").
 *
 * Each COMMAND must print one JSON object on stdout: give it -j (the
 * benchmark suite's run() appends -j to the command line, which is the
 * last argument, COMMAND's).  If any process fails, its output goes to
 * stderr and multi exits 1.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "contender.h"

#define MAX_PROCS 64
#define OUT_MAX (1 << 20)

struct proc {
	pid_t pid;
	FILE *out;		/* its stdout, an unlinked temporary file */
	int status;
	struct rusage ru;
};

static void __attribute__((noreturn)) fail(const char *what)
{
	fprintf(stderr, "multi: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* The number after "KEY": in @json, or -1 if absent or null. */
static double field(const char *json, const char *key)
{
	char pat[64];
	const char *p;
	char *end;
	double v;

	snprintf(pat, sizeof(pat), "\"%s\": ", key);
	p = strstr(json, pat);
	if (!p)
		return -1;
	v = strtod(p + strlen(pat), &end);
	return end == p + strlen(pat) ? -1 : v;
}

static void usage(void)
{
	fprintf(stderr, "usage: multi -n N -b NAME -B CONTENDER -- COMMAND [ARG...]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static struct proc procs[MAX_PROCS];
	static char buf[OUT_MAX];
	const char *name = NULL, *contender = NULL;
	double wall0, wall1, mach0, mach1, cpu = 0, v;
	double gcs = -1, pause_tot = -1, pause_max = -1, proc_wall = 0;
	long rss_max = 0, rss_sum = 0;
	int n = 0, opt, i, failed = 0;
	size_t len;

	while ((opt = getopt(argc, argv, "+n:b:B:")) != -1) {
		switch (opt) {
		case 'n':
			n = atoi(optarg);
			break;
		case 'b':
			name = optarg;
			break;
		case 'B':
			contender = optarg;
			break;
		default:
			usage();
		}
	}
	if (n < 1 || n > MAX_PROCS || !name || !contender || optind >= argc)
		usage();

	for (i = 0; i < n; i++) {
		procs[i].out = tmpfile();
		if (!procs[i].out)
			fail("tmpfile");
	}
	fflush(NULL);
	mach0 = bench_machine_cpu_s();
	wall0 = bench_now_s();
	for (i = 0; i < n; i++) {
		procs[i].pid = fork();
		if (procs[i].pid < 0)
			fail("fork");
		if (!procs[i].pid) {
			if (dup2(fileno(procs[i].out), 1) < 0)
				fail("dup2");
			execvp(argv[optind], argv + optind);
			fprintf(stderr, "multi: %s: %s\n", argv[optind],
				strerror(errno));
			_exit(127);
		}
	}
	for (i = 0; i < n; i++)
		if (wait4(procs[i].pid, &procs[i].status, 0, &procs[i].ru) < 0)
			fail("wait4");
	wall1 = bench_now_s();
	mach1 = bench_machine_cpu_s();

	for (i = 0; i < n; i++) {
		struct proc *p = &procs[i];

		rewind(p->out);
		len = fread(buf, 1, sizeof(buf) - 1, p->out);
		buf[len] = 0;
		fclose(p->out);
		if (!WIFEXITED(p->status) || WEXITSTATUS(p->status)) {
			fprintf(stderr, "multi: process %d of %d (%s) failed (status 0x%x); its output:\n%s\n",
				i + 1, n, argv[optind], p->status, buf);
			failed = 1;
			continue;
		}
		cpu += p->ru.ru_utime.tv_sec + p->ru.ru_utime.tv_usec / 1e6 +
		       p->ru.ru_stime.tv_sec + p->ru.ru_stime.tv_usec / 1e6;
		rss_sum += p->ru.ru_maxrss;
		if (p->ru.ru_maxrss > rss_max)
			rss_max = p->ru.ru_maxrss;
		v = field(buf, "wall_s");
		if (v < 0) {
			fprintf(stderr, "multi: process %d of %d printed no JSON (no -j?):\n%s\n",
				i + 1, n, buf);
			failed = 1;
			continue;
		}
		if (v > proc_wall)
			proc_wall = v;
		v = field(buf, "collections");
		if (v >= 0)
			gcs = (gcs < 0 ? 0 : gcs) + v;
		v = field(buf, "pause_total_ms");
		if (v >= 0)
			pause_tot = (pause_tot < 0 ? 0 : pause_tot) + v;
		v = field(buf, "pause_max_ms");
		if (v > pause_max)
			pause_max = v;
	}
	if (failed)
		return 1;

	printf("{\"benchmark\": \"%s\", \"backend\": \"%s\", \"procs\": %d, \"args\": \"",
	       name, contender, n);
	for (i = optind + 1; i < argc; i++)
		if (strcmp(argv[i], "-j"))	/* ours, not the workload's */
			printf("%s%s", i > optind + 1 ? " " : "", argv[i]);
	printf("\", \"wall_s\": %.6f, \"cpu_s\": %.3f, \"machine_cpu_s\": %.3f",
	       wall1 - wall0, cpu, mach1 - mach0);
	printf(", \"peak_rss_kib\": %ld, \"rss_sum_kib\": %ld, \"proc_wall_max_s\": %.6f",
	       rss_max, rss_sum, proc_wall);
	if (gcs < 0)
		printf(", \"collections\": null, \"pause_total_ms\": null, \"pause_max_ms\": null}\n");
	else
		printf(", \"collections\": %.0f, \"pause_total_ms\": %.3f, \"pause_max_ms\": %.3f}\n",
		       gcs, pause_tot, pause_max);
	return 0;
}
