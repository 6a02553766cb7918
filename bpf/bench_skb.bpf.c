// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The skb-path equivalent, for scale: live frames are passed to the stack
 * (bench_xdp_pass builds an skb for each), a tc ingress program redirects
 * them to the target veth's egress, where a tc (clsact) egress program may
 * apply the same drop rules as egress_drop_rule. */
#include <linux/pkt_cls.h>
#include "maps.h"
#include "drop_rule.h"

DEFINE_DROP_RULES(drop_rules);
DEFINE_COUNTERS(counters);

__u32 target_ifindex;
__u64 truncated;

SEC("xdp")
int bench_xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("tc")
int skb_redirect(struct __sk_buff *skb)
{
	return bpf_redirect(target_ifindex, 0);
}

SEC("tc")
int skb_drop_rule(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	int verdict = drop_rule_verdict_data(&drop_rules, data, data_end, &truncated);
	__u32 zero = 0;
	struct egress_counters *c = bpf_map_lookup_elem(&counters, &zero);

	if (c) {
		c->packets++;
		c->bytes += skb->len;
		if (verdict == XDP_DROP)
			c->dropped++;
		else
			c->passed++;
	}
	return verdict == XDP_DROP ? TC_ACT_SHOT : TC_ACT_OK;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
