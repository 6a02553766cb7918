// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* cpumap slot program: runs on the remote CPU's kthread, records which CPU
 * ran it and the frame's original ingress device, then hands the frame on:
 * redirect again into a devmap slot (whose own egress program then runs),
 * XDP_PASS to build an skb on this CPU, or XDP_DROP. */
#include "maps.h"

enum next_hop {
	NEXT_REDIRECT = 0,
	NEXT_PASS = 1,
	NEXT_DROP = 2,
};

DEFINE_DEVMAP(tx_devmap_hash, BPF_MAP_TYPE_DEVMAP_HASH);
DEFINE_COUNTERS(counters); /* per CPU: which CPU ran the program */

__u32 next_hop = NEXT_REDIRECT;
__u32 next_key;
__u32 seen_ingress_ifindex;
__u32 seen_cpu;

SEC("xdp/cpumap")
int cpumap_redirect_again(struct xdp_md *ctx)
{
	int verdict;

	seen_ingress_ifindex = ctx->ingress_ifindex;
	seen_cpu = bpf_get_smp_processor_id();

	switch (next_hop) {
	case NEXT_REDIRECT:
		verdict = bpf_redirect_map(&tx_devmap_hash, next_key, XDP_DROP);
		break;
	case NEXT_PASS:
		verdict = XDP_PASS;
		break;
	default:
		verdict = XDP_DROP;
		break;
	}
	count_verdict(&counters, ctx, verdict);
	return verdict;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
