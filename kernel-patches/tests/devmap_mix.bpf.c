// SPDX-License-Identifier: GPL-2.0
/* Frames that reach one device through devmap slots with different egress
 * programs (or through plain bpf_redirect() with none) must each run their
 * own slot's program. See devmap_mix.c.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

enum {
	CNT_PROG_A,	/* slot 0's egress program ran */
	CNT_PROG_B,	/* slot 1's egress program ran */
	CNT_PROG_DROP,	/* slot 2's egress program (XDP_DROP) ran */
	CNT_PEER_RX,	/* frames that arrived at the veth peer */
	CNT_RX_OK,	/* slot 3's program saw the frame's own ingress_ifindex */
	CNT_RX_WRONG,	/* ... saw another frame's ingress_ifindex */
	CNT_MAX,
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} seq SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 5);
	__type(key, __u32);
	__type(value, struct bpf_devmap_val);
} tx_slots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_CPUMAP);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bpf_cpumap_val);
} cpus SEC(".maps");

/* 0: alternate slot 0 / slot 1
 * 1: alternate bpf_redirect(tx_ifindex) / slot 2
 * 2: tag the frame with its ingress_ifindex, redirect to cpumap entry 0,
 *    whose program redirects it to slot 3
 * 3: everything to slot 4 (program passes the first 16 of every 64 frames)
 */
__u32 mode;
__u32 tx_ifindex;

static __always_inline void count(__u32 key)
{
	__u64 *n = bpf_map_lookup_elem(&counts, &key);

	if (n)
		(*n)++;
}

SEC("xdp")
int xdp_mix(struct xdp_md *ctx)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&seq, &zero);
	__u64 i;

	if (!n)
		return XDP_ABORTED;
	i = (*n)++;
	if (mode == 2) {
		void *data = (void *)(long)ctx->data;
		__u32 *tag = data + 14;

		if ((void *)(tag + 1) > (void *)(long)ctx->data_end)
			return XDP_ABORTED;
		*tag = ctx->ingress_ifindex;
		return bpf_redirect_map(&cpus, 0, 0);
	}
	if (mode == 0)
		return bpf_redirect_map(&tx_slots, i & 1, 0);
	if (mode == 3)
		return bpf_redirect_map(&tx_slots, 4, 0);
	if (i & 1)
		return bpf_redirect_map(&tx_slots, 2, 0);
	return bpf_redirect(tx_ifindex, 0);
}

SEC("xdp/devmap")
int egress_a(struct xdp_md *ctx)
{
	count(CNT_PROG_A);
	return XDP_PASS;
}

SEC("xdp/devmap")
int egress_b(struct xdp_md *ctx)
{
	count(CNT_PROG_B);
	return XDP_PASS;
}

SEC("xdp/devmap")
int egress_drop(struct xdp_md *ctx)
{
	count(CNT_PROG_DROP);
	return XDP_DROP;
}

SEC("xdp/cpumap")
int cpumap_to_slot3(struct xdp_md *ctx)
{
	return bpf_redirect_map(&tx_slots, 3, 0);
}

SEC("xdp/devmap")
int egress_rxcheck(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	__u32 *tag = data + 14;

	if ((void *)(tag + 1) > (void *)(long)ctx->data_end)
		return XDP_ABORTED;
	count(*tag == ctx->ingress_ifindex ? CNT_RX_OK : CNT_RX_WRONG);
	return XDP_PASS;
}

__u64 first16_runs;

/* With live frames in batches of 64, the first bulk (16 frames) of each batch
 * is transmitted without XDP_XMIT_FLUSH, and the remaining bulks are dropped.
 */
SEC("xdp/devmap")
int egress_first16(struct xdp_md *ctx)
{
	__u64 n = first16_runs++;

	return (n % 64) < 16 ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int xdp_peer(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = (void *)(long)ctx->data;

	/* count only the test's frames, not the stack's (e.g. IPv6 ND) */
	if ((void *)(eth + 1) <= data_end && eth->h_proto == bpf_htons(0x88b5))
		count(CNT_PEER_RX);
	return XDP_DROP;
}

char _license[] SEC("license") = "GPL";
