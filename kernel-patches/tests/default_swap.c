// SPDX-License-Identifier: GPL-2.0
/* One policy swap for N devmap slots: replace the map's default program
 * (one BPF_PROG_ATTACH on the map) versus rewrite every slot with its own
 * program (N BPF_MAP_UPDATE_ELEM). Run it in the VM on the patched kernel:
 *
 *   ../vmtest.sh -- $(pwd)/default_swap [slots] [rounds]
 *
 * Wall time in the guest (TCG: compare the ratio, not the absolute times).
 * The guest clock may tick coarsely (jiffies), so each method repeats its
 * swap for at least `secs` seconds and reports the mean.
 * Built against Debian's libbpf-dev 1.1, so the new UAPI is spelled here.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>

#ifndef BPF_XDP_VAL_NO_DEFAULT
struct bpf_devmap_val_ext {
	__u32 ifindex;
	union {
		int fd;
		__u32 id;
	} bpf_prog;
	__u32 flags;
};
#define BPF_XDP_VAL_NO_DEFAULT	(1U << 0)
#define BPF_XDP_VAL_INHERITED	(1U << 1)
#endif

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int load_egress(int ret)
{
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_XDP_DEVMAP);
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = ret },
		{ .code = BPF_JMP | BPF_EXIT },
	};

	return bpf_prog_load(BPF_PROG_TYPE_XDP, "egress", "GPL", insns, 2, &opts);
}

static int fill(int map, __u32 slots, __u32 value_size, int prog_fd)
{
	struct bpf_devmap_val_ext val = { .ifindex = 1 /* lo */, .bpf_prog.fd = prog_fd };
	__u32 k;

	(void)value_size;
	for (k = 0; k < slots; k++)
		if (bpf_map_update_elem(map, &k, &val, 0))
			return -errno;
	return 0;
}

static double min_us;

/* Mean time of one swap: swap(round) repeated for at least min_us */
#define TIME_SWAPS(mean, rounds, expr) do {				\
	double __t0 = now_us(), __el;					\
	for (rounds = 0; ; rounds++) {					\
		if (expr) {						\
			perror(#expr);					\
			return 2;					\
		}							\
		__el = now_us() - __t0;					\
		if (__el >= min_us && rounds >= 1)			\
			break;						\
	}								\
	mean = __el / (rounds + 1);					\
} while (0)

int main(int argc, char **argv)
{
	__u32 slots = argc > 1 ? atoi(argv[1]) : 1000;
	double secs = argc > 2 ? atof(argv[2]) : 2;
	int r;
	enum bpf_map_type types[] = { BPF_MAP_TYPE_DEVMAP, BPF_MAP_TYPE_DEVMAP_HASH };
	const char *names[] = { "devmap", "devmap_hash" };
	int prog[2], t, rc = 0;

	prog[0] = load_egress(XDP_PASS);
	prog[1] = load_egress(XDP_DROP);
	if (prog[0] < 0 || prog[1] < 0) {
		perror("load egress programs");
		return 2;
	}
	min_us = secs * 1e6;
	printf("slots %u, each method repeated for >= %.1f s (mean per swap)\n", slots, secs);

	for (t = 0; t < 2; t++) {
		double upd, dflt12, dflt8;
		int n_upd, n12, n8;
		int m_own, m_def12, m_def8;
		LIBBPF_OPTS(bpf_map_create_opts, o, .map_extra = prog[0]);

		/* (a) every slot has its own program: a swap rewrites them all */
		m_own = bpf_map_create(types[t], "own", 4, 8, slots, NULL);
		if (m_own < 0 || fill(m_own, slots, 8, prog[0])) {
			perror("own-program map");
			return 2;
		}
		TIME_SWAPS(upd, n_upd, fill(m_own, slots, 8, prog[(n_upd + 1) & 1]));
		printf("%-12s %u slot updates:       %10.2f us  (%d swaps)\n",
		       names[t], slots, upd, n_upd + 1);

		/* (b) slots inherit the default: a swap is one BPF_PROG_ATTACH,
		 * 12-byte values (inherited ids are rewritten) and 8-byte ones
		 */
		m_def12 = bpf_map_create(types[t], "dflt12", 4, 12, slots, &o);
		m_def8 = bpf_map_create(types[t], "dflt8", 4, 8, slots, &o);
		if (m_def12 < 0 || m_def8 < 0) {
			printf("%-12s default program: not supported (%s)\n", names[t],
			       strerror(errno));
			rc = 1;
			continue;
		}
		if (fill(m_def12, slots, 12, 0) || fill(m_def8, slots, 8, 0)) {
			perror("inheriting slots");
			return 2;
		}
		TIME_SWAPS(dflt12, n12,
			   bpf_prog_attach(prog[(n12 + 1) & 1], m_def12, BPF_XDP_DEVMAP, 0));
		TIME_SWAPS(dflt8, n8,
			   bpf_prog_attach(prog[(n8 + 1) & 1], m_def8, BPF_XDP_DEVMAP, 0));
		printf("%-12s default replace, 12-byte: %8.2f us  (%d swaps)  ratio %.0f\n",
		       names[t], dflt12, n12 + 1, upd / dflt12);
		printf("%-12s default replace, 8-byte:  %8.2f us  (%d swaps)  ratio %.0f\n",
		       names[t], dflt8, n8 + 1, upd / dflt8);
		/* the inheriting slots really switched: read one back */
		r = 0;
		{
			struct bpf_devmap_val_ext v = {};
			__u32 k = 0;

			if (!bpf_map_lookup_elem(m_def12, &k, &v))
				r = v.flags == BPF_XDP_VAL_INHERITED && v.bpf_prog.id;
		}
		if (!r) {
			fprintf(stderr, "%s: slot 0 does not report an inherited program\n", names[t]);
			rc = 1;
		}
		close(m_own);
		close(m_def12);
		close(m_def8);
	}
	return rc;
}
