// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Egress (devmap slot): count every frame, remember what the program saw of
 * its context, and return a verdict chosen by userspace (XDP_PASS by default). */
#include "maps.h"

DEFINE_COUNTERS(counters);

__u32 verdict = XDP_PASS;
/* Last context seen: proves the kernel fills egress_ifindex and keeps the
 * original ingress_ifindex for redirected frames. */
__u32 seen_egress_ifindex;
__u32 seen_ingress_ifindex;

SEC("xdp/devmap")
int egress_count(struct xdp_md *ctx)
{
	__u32 v = verdict;

	seen_egress_ifindex = ctx->egress_ifindex;
	seen_ingress_ifindex = ctx->ingress_ifindex;
	count_verdict(&counters, ctx, v);
	return v;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
