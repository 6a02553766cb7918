// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Receive side of a test or bench link: count and drop. Attaching it also
 * turns on the veth peer's NAPI, without which veth refuses redirected frames. */
#include "maps.h"

DEFINE_COUNTERS(counters);

SEC("xdp")
int frame_sink(struct xdp_md *ctx)
{
	count_verdict(&counters, ctx, XDP_DROP);
	return XDP_DROP;
}

/* Same count, but let the frame continue to the stack. */
SEC("xdp")
int frame_count_pass(struct xdp_md *ctx)
{
	count_verdict(&counters, ctx, XDP_PASS);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
