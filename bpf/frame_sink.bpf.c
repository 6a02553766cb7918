// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Receive side of a test or bench link: count and drop. Attaching it also
 * turns on the veth peer's NAPI, without which veth refuses redirected frames. */
#include <linux/pkt_cls.h>
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

/* Count, keep the first bytes of the last frame for the test to inspect,
 * and drop: what a rewriting egress program produced, as it arrived. */
__u8 last_frame[64];
__u32 last_len;

SEC("xdp")
int frame_peek(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;

	last_len = data_end - data;
	if (data + sizeof(last_frame) <= data_end)
		__builtin_memcpy(last_frame, data, sizeof(last_frame));
	count_verdict(&counters, ctx, XDP_DROP);
	return XDP_DROP;
}

/* The stack's side: count and drop an skb at tc ingress, where frames an
 * XDP program passed arrive once built into skbs. */
SEC("tc")
int skb_sink(struct __sk_buff *skb)
{
	__u32 zero = 0;
	struct egress_counters *c = bpf_map_lookup_elem(&counters, &zero);

	if (c) {
		c->packets++;
		c->bytes += skb->len;
		c->dropped++;
	}
	return TC_ACT_SHOT;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
