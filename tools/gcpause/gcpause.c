// SPDX-License-Identifier: GPL-2.0
/*
 * gcpause: how long gcheap's collections stopped each process, as log2
 * histograms (in the style of libbpf-tools' biolatency), or one line per
 * collection.  Reads the gcheap:gcheap_gc_end tracepoint with BPF, and
 * gcheap_concurrent_mark (if the module has it) for -P and -e.
 *
 * Documentation/tracing.rst describes the output; `gcpause -h` the options.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/gcheap.h>

#include "gcpause.h"
#include "gcpause.skel.h"

#define GCP_MAX_ENTRIES	10240	/* the hists map's max_entries */

enum gcp_attach { GCP_ATTACH_AUTO, GCP_ATTACH_BTF, GCP_ATTACH_RAW };

static struct {
	pid_t pid;
	bool ms;
	bool phases;
	bool events;
	bool json;
	bool timestamp;
	bool verbose;
	enum gcp_attach attach;
	long interval;		/* seconds; 0: until Ctrl-C */
	long count;		/* intervals; 0: no limit */
} opt;

static volatile sig_atomic_t exiting;
static bool libbpf_quiet;	/* an attempt whose failure is expected */

static const char *const phase_names[GCP_NR_HISTS] = {
	[GCP_PAUSE] = "pause", [GCP_STOP] = "stop", [GCP_ROOTS] = "roots",
	[GCP_MARK] = "mark", [GCP_SWEEP] = "sweep", [GCP_FINAL] = "finalize",
	[GCP_CM_INITIAL] = "initial", [GCP_CM_CONCURRENT] = "concurrent",
	[GCP_CM_FINAL] = "final",
};

/* After the name in a text histogram's title: pause or not. */
static const char *const phase_notes[GCP_NR_HISTS] = {
	[GCP_CM_INITIAL] = " (the first pause)",
	[GCP_CM_CONCURRENT] = " (marking beside the program: not a pause)",
	[GCP_CM_FINAL] = " (the final pause)",
};

#define CM_TRACEPOINT	"gcheap_concurrent_mark"

static void usage(FILE *f)
{
	fprintf(f,
"Usage: gcpause [-mPTej] [-p PID] [-a auto|tp_btf|raw_tp] [interval [count]]\n"
"\n"
"Summarize gcheap garbage-collection pauses as log2 histograms, per process.\n"
"\n"
"  -p, --pid PID     only this process (the heap owner's tgid); stop when it exits\n"
"  -m, --milliseconds  histograms in ms (default us)\n"
"  -P, --phases      also histograms of the pause's phases: stop, roots,\n"
"                    mark, sweep, and finalize (the finalizer and weak\n"
"                    phases, part of mark; heaps that have them only);\n"
"                    with concurrent_mark=1 also initial and final (the\n"
"                    two pauses) and concurrent (the mark beside the\n"
"                    program, not a pause)\n"
"  -T, --timestamp   print a timestamp with each output\n"
"  -e, --events      one line per collection instead of histograms\n"
"  -j, --json        machine-readable output: one JSON object per line\n"
"  -a, --attach MODE tp_btf (needs the module's BTF), raw_tp, or auto\n"
"                    (default: tp_btf when /sys/kernel/btf/gcheap exists)\n"
"  -v, --verbose     libbpf's debug messages\n"
"  -h, --help        this help\n"
"\n"
"  interval          print (and reset) the histograms every interval seconds\n"
"  count             stop after count intervals\n"
"\n"
"Examples:\n"
"  gcpause              # histograms when Ctrl-C is hit\n"
"  gcpause -P -p 1234   # process 1234 only, with phases, until it exits\n"
"  gcpause -e           # one line per collection\n"
"  gcpause -mT 1 10     # ms, with timestamps, every second, 10 times\n");
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list args)
{
	if ((level == LIBBPF_DEBUG || libbpf_quiet) && !opt.verbose)
		return 0;
	return vfprintf(stderr, fmt, args);
}

static long parse_num(const char *s, const char *what, long min)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min) {
		fprintf(stderr, "gcpause: invalid %s: '%s'\n", what, s);
		usage(stderr);
		exit(2);
	}
	return v;
}

static void parse_args(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "milliseconds", no_argument, NULL, 'm' },
		{ "phases", no_argument, NULL, 'P' },
		{ "timestamp", no_argument, NULL, 'T' },
		{ "events", no_argument, NULL, 'e' },
		{ "json", no_argument, NULL, 'j' },
		{ "attach", required_argument, NULL, 'a' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	int c;

	while ((c = getopt_long(argc, argv, "p:mPTeja:vh", longopts,
				NULL)) != -1) {
		switch (c) {
		case 'p':
			opt.pid = parse_num(optarg, "PID", 1);
			break;
		case 'm':
			opt.ms = true;
			break;
		case 'P':
			opt.phases = true;
			break;
		case 'T':
			opt.timestamp = true;
			break;
		case 'e':
			opt.events = true;
			break;
		case 'j':
			opt.json = true;
			break;
		case 'a':
			if (!strcmp(optarg, "auto")) {
				opt.attach = GCP_ATTACH_AUTO;
			} else if (!strcmp(optarg, "tp_btf")) {
				opt.attach = GCP_ATTACH_BTF;
			} else if (!strcmp(optarg, "raw_tp")) {
				opt.attach = GCP_ATTACH_RAW;
			} else {
				fprintf(stderr, "gcpause: invalid attach mode: '%s' (auto, tp_btf or raw_tp)\n",
					optarg);
				exit(2);
			}
			break;
		case 'v':
			opt.verbose = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
	}
	if (optind < argc)
		opt.interval = parse_num(argv[optind++], "interval", 1);
	if (optind < argc)
		opt.count = parse_num(argv[optind++], "count", 1);
	if (optind < argc) {
		fprintf(stderr, "gcpause: unexpected argument: '%s'\n",
			argv[optind]);
		usage(stderr);
		exit(2);
	}
	if (opt.events && (opt.interval || opt.phases || opt.ms)) {
		fprintf(stderr, "gcpause: -e prints every collection: no interval, -P or -m\n");
		exit(2);
	}
}

static void on_signal(int sig)
{
	(void)sig;
	exiting = 1;
}

/* Clear errors for what is most often wrong, before libbpf's own. */
static int check_environment(void)
{
	if (geteuid() != 0) {
		fprintf(stderr, "gcpause: must run as root (loading BPF programs needs CAP_BPF and CAP_PERFMON)\n");
		return 1;
	}
	if (opt.pid && kill(opt.pid, 0) && errno == ESRCH) {
		fprintf(stderr, "gcpause: no process %d\n", opt.pid);
		return 1;
	}
	if (access("/sys/module/gcheap", F_OK)) {
		fprintf(stderr, "gcpause: the gcheap module is not loaded (modprobe gcheap)\n");
		return 1;
	}
	/* only when tracefs is mounted there can its absence be seen */
	if (!access("/sys/kernel/tracing/events/gcheap", F_OK) &&
	    access("/sys/kernel/tracing/events/gcheap/gcheap_gc_end", F_OK)) {
		fprintf(stderr, "gcpause: the loaded gcheap module has no gcheap_gc_end tracepoint (too old?)\n");
		return 1;
	}
	return 0;
}

/* tp_btf needs the module's BTF (and the kernel's). */
static bool module_has_btf(void)
{
	return !access("/sys/kernel/btf/gcheap", R_OK) &&
	       !access("/sys/kernel/btf/vmlinux", R_OK);
}

/* Does the module's BTF have the tracepoint @tp (for tp_btf)? */
static bool module_btf_has(const char *tp)
{
	struct btf *vmlinux, *mod;
	char name[128];
	bool found;

	vmlinux = btf__load_vmlinux_btf();
	if (!vmlinux)
		return false;
	mod = btf__load_module_btf("gcheap", vmlinux);
	snprintf(name, sizeof(name), "btf_trace_%s", tp);
	found = mod && btf__find_by_name_kind(mod, name, BTF_KIND_TYPEDEF) > 0;
	btf__free(mod);
	btf__free(vmlinux);
	return found;
}

static void print_time(FILE *f)
{
	char buf[32];
	time_t t = time(NULL);

	strftime(buf, sizeof(buf), "%H:%M:%S", localtime(&t));
	if (opt.json)
		fprintf(f, "\"time\":\"%s\",", buf);
	else
		fprintf(f, "%-8s\n", buf);
}

/* The process name: the BPF side's, else /proc's, else "?". */
static void comm_of(pid_t tgid, const char *bpf_comm, char *out, size_t len)
{
	char path[64];
	FILE *f;

	if (bpf_comm[0]) {
		snprintf(out, len, "%.*s", GCP_COMM_LEN, bpf_comm);
		return;
	}
	snprintf(out, len, "?");
	snprintf(path, sizeof(path), "/proc/%d/comm", tgid);
	f = fopen(path, "r");
	if (!f)
		return;
	if (fgets(out, len, f))
		out[strcspn(out, "\n")] = 0;
	fclose(f);
}

/* Characters that need escaping in a JSON string: the comm may hold any. */
static void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

static void print_stars(unsigned int val, unsigned int max, int width)
{
	int n = max ? (int)((unsigned long long)val * width / max) : 0;
	int i;

	for (i = 0; i < width; i++)
		putchar(i < n ? '*' : ' ');
}

/*
 * @cm: the process has collections that marked beside the program: its
 * mark histogram holds the mark's part inside the pauses for those.
 */
static void print_hist_text(const struct gcp_hist_key *k,
			    const struct gcp_hist *h, const char *comm,
			    bool cm)
{
	const char *unit = opt.ms ? "msecs" : "usecs";
	unsigned int max = 0;
	int i, last = -1;

	for (i = 0; i < GCP_MAX_SLOTS; i++) {
		if (h->slots[i] > max)
			max = h->slots[i];
		if (h->slots[i])
			last = i;
	}
	printf("\ntgid = %u [%s] %s%s\n", k->tgid, comm, phase_names[k->phase],
	       cm && k->phase == GCP_MARK ? " (inside the pauses)" :
	       phase_notes[k->phase] ?: "");
	printf("%*s%-*s : count    distribution\n", 16, "", 12, unit);
	for (i = 0; i <= last; i++) {
		unsigned long long low = i ? 1ULL << i : 0;
		unsigned long long high = (1ULL << (i + 1)) - 1;

		printf("%12llu -> %-12llu : %-8u |", low, high, h->slots[i]);
		print_stars(h->slots[i], max, 40);
		printf("|\n");
	}
	printf("collections %llu, total %.3f ms, mean %.3f ms, max %.3f ms\n",
	       (unsigned long long)h->count, h->sum_ns / 1e6,
	       h->count ? h->sum_ns / 1e6 / h->count : 0.0, h->max_ns / 1e6);
	if (k->phase == GCP_CM_CONCURRENT || k->phase == GCP_CM_FINAL)
		printf("%s per collection: mean %.1f, max %llu\n",
		       k->phase == GCP_CM_FINAL ? "dirty pages rescanned" :
						  "pre-cleaning rounds",
		       h->count ? (double)h->aux_sum / h->count : 0.0,
		       (unsigned long long)h->aux_max);
}

static void print_hist_json(const struct gcp_hist_key *k,
			    const struct gcp_hist *h, const char *comm,
			    bool first)
{
	int i, last = -1;
	bool sep = false;

	for (i = 0; i < GCP_MAX_SLOTS; i++)
		if (h->slots[i])
			last = i;
	printf("%s{\"tgid\":%u,\"comm\":", first ? "" : ",", k->tgid);
	json_string(comm);
	printf(",\"phase\":\"%s\",\"count\":%llu,\"sum_ns\":%llu,\"max_ns\":%llu,",
	       phase_names[k->phase], (unsigned long long)h->count,
	       (unsigned long long)h->sum_ns, (unsigned long long)h->max_ns);
	if (k->phase == GCP_CM_CONCURRENT || k->phase == GCP_CM_FINAL)
		printf("\"%s_sum\":%llu,\"%s_max\":%llu,",
		       k->phase == GCP_CM_FINAL ? "dirty_pages" : "precleans",
		       (unsigned long long)h->aux_sum,
		       k->phase == GCP_CM_FINAL ? "dirty_pages" : "precleans",
		       (unsigned long long)h->aux_max);
	printf("\"buckets\":[");
	for (i = 0; i <= last; i++) {
		if (!h->slots[i])
			continue;
		printf("%s{\"low\":%llu,\"high\":%llu,\"count\":%u}",
		       sep ? "," : "", i ? 1ULL << i : 0ULL,
		       (1ULL << (i + 1)) - 1, h->slots[i]);
		sep = true;
	}
	printf("]}");
}

static int key_cmp(const void *a, const void *b)
{
	const struct gcp_hist_key *x = a, *y = b;

	if (x->tgid != y->tgid)
		return x->tgid < y->tgid ? -1 : 1;
	return (int)x->phase - (int)y->phase;
}

/* Print every histogram, sorted by process and phase, and clear them. */
static int print_hists(int fd)
{
	static struct gcp_hist_key keys[GCP_MAX_ENTRIES];
	struct gcp_hist_key *prev = NULL, next;
	struct gcp_hist h;
	char comm[64];
	int i, j, n = 0;
	bool cm = false;

	while (n < GCP_MAX_ENTRIES && !bpf_map_get_next_key(fd, prev, &next)) {
		keys[n] = next;
		prev = &keys[n++];
	}
	qsort(keys, n, sizeof(keys[0]), key_cmp);
	if (opt.json) {
		printf("{");
		if (opt.timestamp)
			print_time(stdout);
		printf("\"unit\":\"%s\",\"processes\":[", opt.ms ? "msecs" :
								  "usecs");
	} else if (opt.timestamp) {
		printf("\n");
		print_time(stdout);
	}
	for (i = 0; i < n; i++) {
		if (bpf_map_lookup_elem(fd, &keys[i], &h)) {
			fprintf(stderr, "gcpause: reading a histogram: %s\n",
				strerror(errno));
			return -1;
		}
		comm_of(keys[i].tgid, h.comm, comm, sizeof(comm));
		/* a process's first key: has it concurrent collections? */
		if (!i || keys[i].tgid != keys[i - 1].tgid) {
			cm = false;
			for (j = i; j < n && keys[j].tgid == keys[i].tgid; j++)
				cm |= keys[j].phase == GCP_CM_INITIAL;
		}
		if (opt.json)
			print_hist_json(&keys[i], &h, comm, i == 0);
		else
			print_hist_text(&keys[i], &h, comm, cm);
	}
	if (opt.json)
		printf("]}\n");
	else if (!n)
		printf("\nno collections\n");
	for (i = 0; i < n; i++)
		bpf_map_delete_elem(fd, &keys[i]);
	fflush(stdout);
	return 0;
}

static const char *reason_name(__u32 reason)
{
	switch (reason) {
	case GCH_GC_REASON_USER:
		return "user";
	case GCH_GC_REASON_GOAL:
		return "goal";
	default:
		return "?";
	}
}

static int on_event(void *ctx, void *data, size_t len)
{
	const struct gcp_event *e = data;
	char comm[64];
	int i;

	(void)ctx;
	if (len < sizeof(*e))
		return 0;
	comm_of(e->tgid, e->comm, comm, sizeof(comm));
	if (opt.json) {
		printf("{");
		if (opt.timestamp)
			print_time(stdout);
		printf("\"tgid\":%u,\"comm\":", e->tgid);
		json_string(comm);
		printf(",\"gc\":%llu,\"reason\":\"%s\",\"threads\":%u,\"workers\":%u",
		       (unsigned long long)e->gc, reason_name(e->reason),
		       e->threads, e->workers);
		for (i = 0; i < GCP_NR_PHASES; i++)
			printf(",\"%s_ns\":%llu", phase_names[i],
			       (unsigned long long)e->phase_ns[i]);
		printf(",\"heap_before\":%llu,\"heap_after\":%llu,\"heap_goal\":%llu",
		       (unsigned long long)e->heap_before,
		       (unsigned long long)e->heap_after,
		       (unsigned long long)e->heap_goal);
		if (e->concurrent)
			printf(",\"concurrent\":true,\"initial_ns\":%llu,\"concurrent_ns\":%llu,\"final_ns\":%llu,\"precleans\":%u,\"dirty_pages\":%llu",
			       (unsigned long long)e->cm.initial_ns,
			       (unsigned long long)e->cm.concurrent_ns,
			       (unsigned long long)e->cm.final_ns,
			       e->cm.precleans,
			       (unsigned long long)e->cm.dirty_pages);
		printf("}\n");
	} else {
		if (opt.timestamp) {
			char buf[32];
			time_t t = time(NULL);

			strftime(buf, sizeof(buf), "%H:%M:%S",
				 localtime(&t));
			printf("%-8s ", buf);
		}
		printf("%-7u %-16s %6llu %-4s %7u %10.3f %8.3f %8.3f %9.3f %8.3f %8.3f %8llu -> %-8llu %8llu",
		       e->tgid, comm, (unsigned long long)e->gc,
		       reason_name(e->reason), e->threads,
		       e->phase_ns[GCP_PAUSE] / 1e6,
		       e->phase_ns[GCP_STOP] / 1e6,
		       e->phase_ns[GCP_ROOTS] / 1e6,
		       e->phase_ns[GCP_MARK] / 1e6,
		       e->phase_ns[GCP_SWEEP] / 1e6,
		       e->phase_ns[GCP_FINAL] / 1e6,
		       (unsigned long long)e->heap_before >> 10,
		       (unsigned long long)e->heap_after >> 10,
		       (unsigned long long)e->heap_goal >> 10);
		/* a mark beside the program: its parts, in ms */
		if (e->concurrent)
			printf(" initial=%.3f concurrent=%.3f final=%.3f precleans=%u dirty_pages=%llu",
			       e->cm.initial_ns / 1e6,
			       e->cm.concurrent_ns / 1e6,
			       e->cm.final_ns / 1e6, e->cm.precleans,
			       (unsigned long long)e->cm.dirty_pages);
		putchar('\n');
	}
	fflush(stdout);
	return 0;
}

/* -p's process is gone: nothing more will come. */
static bool target_gone(void)
{
	return opt.pid && kill(opt.pid, 0) && errno == ESRCH;
}

int main(int argc, char **argv)
{
	struct ring_buffer *rb = NULL;
	struct gcpause_bpf *skel;
	struct bpf_link *link;
	const char *mode;
	bool btf, cm;
	long intervals = 0;
	int err;

	parse_args(argc, argv);
	if (check_environment())
		return 1;
	libbpf_set_print(libbpf_print);

	btf = module_has_btf();
	if (opt.attach == GCP_ATTACH_BTF && !btf) {
		fprintf(stderr, "gcpause: tp_btf needs BTF of the kernel and of the gcheap module (/sys/kernel/btf/vmlinux, /sys/kernel/btf/gcheap); use -a raw_tp\n");
		return 1;
	}
	if (opt.attach == GCP_ATTACH_AUTO)
		opt.attach = btf ? GCP_ATTACH_BTF : GCP_ATTACH_RAW;
	mode = opt.attach == GCP_ATTACH_BTF ? "tp_btf" : "raw_tp";

	skel = gcpause_bpf__open();
	if (!skel) {
		fprintf(stderr, "gcpause: cannot open the BPF object: %s\n",
			strerror(errno));
		return 1;
	}
	skel->rodata->targ_tgid = opt.pid;
	skel->rodata->targ_ms = opt.ms;
	skel->rodata->targ_phases = opt.phases;
	skel->rodata->targ_events = opt.events;
	bpf_program__set_autoload(skel->progs.gc_end_btf,
				  opt.attach == GCP_ATTACH_BTF);
	bpf_program__set_autoload(skel->progs.gc_end_raw,
				  opt.attach == GCP_ATTACH_RAW);
	bpf_program__set_autoload(skel->progs.finalize_btf,
				  opt.attach == GCP_ATTACH_BTF);
	bpf_program__set_autoload(skel->progs.finalize_raw,
				  opt.attach == GCP_ATTACH_RAW);
	/*
	 * gcheap_concurrent_mark, for -P and -e: modules older than the
	 * concurrent mark lack it.  tp_btf cannot even load without it, so
	 * the module's BTF is asked first; raw_tp loads anyway and is
	 * attached apart, where a missing tracepoint is -ENOENT.
	 */
	cm = (opt.phases || opt.events) &&
	     (opt.attach == GCP_ATTACH_RAW || module_btf_has(CM_TRACEPOINT));
	bpf_program__set_autoload(skel->progs.cmark_btf,
				  cm && opt.attach == GCP_ATTACH_BTF);
	bpf_program__set_autoload(skel->progs.cmark_raw,
				  cm && opt.attach == GCP_ATTACH_RAW);
	bpf_program__set_autoattach(skel->progs.cmark_raw, false);

	err = gcpause_bpf__load(skel);
	if (err) {
		fprintf(stderr, "gcpause: cannot load the BPF program (%s): %s%s\n",
			mode, strerror(-err),
			err == -EPERM ? " (BPF disabled? see kernel.unprivileged_bpf_disabled, lockdown)" :
			err == -ENOSYS ? " (kernel without CONFIG_BPF_SYSCALL)" : "");
		goto out;
	}
	err = gcpause_bpf__attach(skel);
	if (err) {
		fprintf(stderr, "gcpause: cannot attach to gcheap:gcheap_gc_end (%s): %s\n",
			mode, strerror(-err));
		goto out;
	}
	if (cm && opt.attach == GCP_ATTACH_RAW) {
		libbpf_quiet = true;
		link = bpf_program__attach(skel->progs.cmark_raw);
		libbpf_quiet = false;
		if (link) {
			skel->links.cmark_raw = link;
		} else if (errno == ENOENT) {
			cm = false;
		} else {
			err = -errno;
			fprintf(stderr, "gcpause: cannot attach to gcheap:%s (%s): %s\n",
				CM_TRACEPOINT, mode, strerror(-err));
			goto out;
		}
	}
	if ((opt.phases || opt.events) && !cm && opt.verbose)
		fprintf(stderr, "gcpause: the module has no %s tracepoint (it predates the concurrent mark): every collection is taken as stop-the-world\n",
			CM_TRACEPOINT);
	if (opt.events) {
		rb = ring_buffer__new(bpf_map__fd(skel->maps.events), on_event,
				      NULL, NULL);
		if (!rb) {
			err = -errno;
			fprintf(stderr, "gcpause: cannot open the ring buffer: %s\n",
				strerror(errno));
			goto out;
		}
	}

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	/* the line scripts wait for: attached from here on */
	fprintf(stderr, "gcpause: tracing gcheap collections%s (%s)... Hit Ctrl-C to end.\n",
		opt.pid ? " of one process" : "", mode);
	if (opt.events && !opt.json)
		printf("%s%-7s %-16s %6s %-4s %7s %10s %8s %8s %9s %8s %8s %21s %8s\n",
		       opt.timestamp ? "TIME     " : "", "TGID", "COMM", "GC",
		       "WHY", "THREADS", "PAUSE(ms)", "STOP", "ROOTS",
		       "MARK", "SWEEP", "FINALIZE", "HEAP KiB before -> after",
		       "GOAL");
	fflush(stdout);

	while (!exiting) {
		struct timespec start, now;

		clock_gettime(CLOCK_MONOTONIC, &start);
		/* wake up every 100 ms: Ctrl-C, the end of -p's process */
		for (;;) {
			if (rb) {
				err = ring_buffer__poll(rb, 100);
				if (err < 0 && err != -EINTR) {
					fprintf(stderr, "gcpause: reading the ring buffer: %s\n",
						strerror(-err));
					goto out;
				}
			} else {
				usleep(100000);
			}
			if (exiting || target_gone())
				break;
			clock_gettime(CLOCK_MONOTONIC, &now);
			if (opt.interval && now.tv_sec - start.tv_sec >=
			    opt.interval)
				break;
		}
		if (target_gone())
			exiting = 1;
		if (rb) {
			/* what came in before the end */
			ring_buffer__consume(rb);
			continue;
		}
		if (print_hists(bpf_map__fd(skel->maps.hists))) {
			err = -1;
			goto out;
		}
		if (opt.count && ++intervals >= opt.count)
			break;
	}
	err = 0;
out:
	ring_buffer__free(rb);
	gcpause_bpf__destroy(skel);
	return err ? 1 : 0;
}
