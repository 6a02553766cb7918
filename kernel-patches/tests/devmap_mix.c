// SPDX-License-Identifier: GPL-2.0
/* Reproducer for the devmap bulk-queue egress program bypass.
 *
 * Live frames (BPF_PROG_TEST_RUN, BPF_F_TEST_XDP_LIVE_FRAMES, batch 64) are
 * redirected into a veth device, alternating between two routes per frame:
 *   two_progs:  devmap slot 0 (program A) / slot 1 (program B)
 *   plain_drop: bpf_redirect(ifindex), no program / slot 2 (program: XDP_DROP)
 * Each egress program must run once per frame routed through its slot.
 *   dev_rx:     frames from two ingress devices (lo, the veth peer) are
 *               interleaved in a cpumap entry's queue; its program redirects
 *               them all to slot 3, whose program must see each frame's own
 *               ingress_ifindex.
 * Exit 0 if every program ran as often as it should, 1 if not.
 *
 * devmap_mix --flush-probe runs a different check instead: one slot whose
 * program passes the first 16 frames of every 64 and drops the rest. The
 * passed frames go out when the bulk queue fills, without XDP_XMIT_FLUSH, and
 * since the last bulk is all dropped, bq_xmit_all() never calls the driver
 * with the flag: on 6.12 (stock and with 0001) none reach the veth peer.
 * From 0008 on, programs run before frames are queued, so a dropped frame
 * never joins a bulk and the last bulk of a cycle always goes out flushed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "devmap_mix.skel.h"

#define TX_DEV "dmx0"
#define PEER_DEV "dmx1"
#define NR_FRAMES (64 * 64)

enum { CNT_PROG_A, CNT_PROG_B, CNT_PROG_DROP, CNT_PEER_RX, CNT_RX_OK, CNT_RX_WRONG, CNT_MAX };

static int read_counts(struct devmap_mix *skel, __u64 out[CNT_MAX])
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 vals[ncpu];
	__u32 k;
	int c;

	for (k = 0; k < CNT_MAX; k++) {
		if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.counts), &k, vals))
			return -errno;
		out[k] = 0;
		for (c = 0; c < ncpu; c++)
			out[k] += vals[c];
	}
	return 0;
}

static int reset_counts(struct devmap_mix *skel)
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 vals[ncpu];
	__u32 k;

	memset(vals, 0, sizeof(vals));
	for (k = 0; k < CNT_MAX; k++)
		if (bpf_map_update_elem(bpf_map__fd(skel->maps.counts), &k, vals, 0))
			return -errno;
	k = 0;
	return bpf_map_update_elem(bpf_map__fd(skel->maps.seq), &k, vals, 0) ? -errno : 0;
}

static int run_live(struct devmap_mix *skel)
{
	unsigned char pkt[64] = {
		0x02, 0, 0, 0, 0, 0x02,	/* dst */
		0x02, 0, 0, 0, 0, 0x01,	/* src */
		0x88, 0xb5,		/* local experimental ethertype */
	};
	LIBBPF_OPTS(bpf_test_run_opts, opts,
		    .data_in = pkt,
		    .data_size_in = sizeof(pkt),
		    .repeat = NR_FRAMES,
		    .batch_size = 64,
		    .flags = BPF_F_TEST_XDP_LIVE_FRAMES);
	int err;

	err = bpf_prog_test_run_opts(bpf_program__fd(skel->progs.xdp_mix), &opts);
	if (err)
		return -errno;
	usleep(200 * 1000);	/* let the peer's NAPI drain its ring */
	return 0;
}

/* One live frame per run, alternating the ingress device, so that the cpumap
 * entry's queue holds frames of both devices interleaved. Pinned to CPU 0 and
 * SCHED_FIFO, the cpumap kthread (bound to CPU 0) only runs once we sleep, and
 * then sees them in batches of eight.
 */
static int run_interleaved(struct devmap_mix *skel, int ifindex_a, int ifindex_b, int rounds)
{
	unsigned char pkt[64] = { 0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x88, 0xb5 };
	struct sched_param sp = { .sched_priority = 1 };
	struct xdp_md ctx = { .data_end = sizeof(pkt) };
	LIBBPF_OPTS(bpf_test_run_opts, opts,
		    .data_in = pkt,
		    .data_size_in = sizeof(pkt),
		    .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx),
		    .repeat = 1,
		    .batch_size = 64,
		    .flags = BPF_F_TEST_XDP_LIVE_FRAMES);
	cpu_set_t cpu0;
	int i, err = 0;

	CPU_ZERO(&cpu0);
	CPU_SET(0, &cpu0);
	if (sched_setaffinity(0, sizeof(cpu0), &cpu0) ||
	    sched_setscheduler(0, SCHED_FIFO, &sp))
		return -errno;
	for (i = 0; i < 2 * rounds && !err; i++) {
		ctx.ingress_ifindex = i & 1 ? ifindex_b : ifindex_a;
		err = bpf_prog_test_run_opts(bpf_program__fd(skel->progs.xdp_mix), &opts);
	}
	sp.sched_priority = 0;
	sched_setscheduler(0, SCHED_OTHER, &sp);
	usleep(200 * 1000);
	return err ? -errno : 0;
}

static int check(const char *name, const char *what, __u64 got, __u64 want)
{
	int ok = got == want;

	printf("  %-10s %-28s %6llu (expected %llu)%s\n", name, what,
	       (unsigned long long)got, (unsigned long long)want, ok ? "" : "  <-- WRONG");
	return ok;
}

int main(int argc, char **argv)
{
	int flush_probe = argc > 1 && !strcmp(argv[1], "--flush-probe");
	struct bpf_devmap_val val = {};
	struct devmap_mix *skel;
	__u64 c[CNT_MAX];
	int tx_ifindex, peer_ifindex, fails = 0, err;
	__u32 k;

	setvbuf(stdout, NULL, _IOLBF, 0);
	system("ip link del " TX_DEV " 2>/dev/null");
	if (system("ip link add " TX_DEV " type veth peer name " PEER_DEV) ||
	    system("ip link set " TX_DEV " up") || system("ip link set " PEER_DEV " up")) {
		fprintf(stderr, "cannot create veth pair\n");
		return 2;
	}
	tx_ifindex = if_nametoindex(TX_DEV);
	peer_ifindex = if_nametoindex(PEER_DEV);

	skel = devmap_mix__open_and_load();
	if (!skel) {
		fprintf(stderr, "cannot load BPF object: %d\n", -errno);
		return 2;
	}
	skel->bss->tx_ifindex = tx_ifindex;

	/* The peer needs an XDP program for veth to accept redirected frames. */
	err = bpf_xdp_attach(peer_ifindex, bpf_program__fd(skel->progs.xdp_peer), 0, NULL);
	if (err) {
		fprintf(stderr, "cannot attach XDP to %s: %d\n", PEER_DEV, err);
		return 2;
	}

	val.ifindex = tx_ifindex;
	for (k = 0; k < 5; k++) {
		struct bpf_program *p = k == 0 ? skel->progs.egress_a :
					k == 1 ? skel->progs.egress_b :
					k == 2 ? skel->progs.egress_drop :
					k == 3 ? skel->progs.egress_rxcheck : skel->progs.egress_first16;

		val.bpf_prog.fd = bpf_program__fd(p);
		if (bpf_map_update_elem(bpf_map__fd(skel->maps.tx_slots), &k, &val, 0)) {
			fprintf(stderr, "cannot set devmap slot %u: %d\n", k, -errno);
			return 2;
		}
	}

	{
		struct bpf_cpumap_val cval = {
			.qsize = 2048,
			.bpf_prog.fd = bpf_program__fd(skel->progs.cpumap_to_slot3),
		};

		k = 0;
		if (bpf_map_update_elem(bpf_map__fd(skel->maps.cpus), &k, &cval, 0)) {
			fprintf(stderr, "cannot set cpumap entry: %d\n", -errno);
			return 2;
		}
	}

	if (flush_probe) {
		skel->bss->mode = 3;
		if (reset_counts(skel) || run_live(skel) || read_counts(skel, c))
			return 2;
		printf("flush_probe: one slot, program passes the first 16 of every 64 frames\n");
		fails += !check("flush", "frames at peer", c[CNT_PEER_RX], NR_FRAMES / 4);
		goto out;
	}

	printf("%d live frames, batch 64, alternating routes into %s\n", NR_FRAMES, TX_DEV);

	skel->bss->mode = 0;
	if (reset_counts(skel) || run_live(skel) || read_counts(skel, c))
		return 2;
	printf("two_progs: slot 0 (prog A) / slot 1 (prog B)\n");
	fails += !check("two_progs", "prog A runs", c[CNT_PROG_A], NR_FRAMES / 2);
	fails += !check("two_progs", "prog B runs", c[CNT_PROG_B], NR_FRAMES / 2);
	fails += !check("two_progs", "frames at peer", c[CNT_PEER_RX], NR_FRAMES);

	skel->bss->mode = 1;
	if (reset_counts(skel) || run_live(skel) || read_counts(skel, c))
		return 2;
	printf("plain_drop: bpf_redirect(ifindex) / slot 2 (prog DROP)\n");
	fails += !check("plain_drop", "DROP prog runs", c[CNT_PROG_DROP], NR_FRAMES / 2);
	fails += !check("plain_drop", "frames at peer", c[CNT_PEER_RX], NR_FRAMES / 2);

	skel->bss->mode = 2;
	if (reset_counts(skel) || run_interleaved(skel, 1, peer_ifindex, 256) ||
	    read_counts(skel, c))
		return 2;
	printf("dev_rx: cpumap entry 0 -> slot 3, ingress lo / %s interleaved\n", PEER_DEV);
	fails += !check("dev_rx", "right ingress_ifindex", c[CNT_RX_OK], 512);
	fails += !check("dev_rx", "wrong ingress_ifindex", c[CNT_RX_WRONG], 0);

out:
	bpf_xdp_detach(peer_ifindex, 0, NULL);
	devmap_mix__destroy(skel);
	system("ip link del " TX_DEV " 2>/dev/null");
	if (!fails)
		printf("PASS\n");
	else if (flush_probe)
		printf("FAIL: frames passed by the egress program never reached the peer\n");
	else
		printf("FAIL: egress programs were bypassed or mixed up\n");
	return fails ? 1 : 0;
}
