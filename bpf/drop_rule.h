/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The drop-rule firewall shared by the egress program (egress_drop_rule) and
 * the benchmark's tail-call alternative (bench_tail), so both run the same
 * policy code. A rule names an IP protocol and a destination port (0 = any
 * port); a frame that matches one is dropped, truncated frames too. */
#ifndef DEVMAP_EGRESS_BPF_DROP_RULE_H
#define DEVMAP_EGRESS_BPF_DROP_RULE_H

#include "parse.h"

struct drop_rule {
	__u8 ip_proto;
	__u8 pad;
	__u16 dport; /* host order; 0 matches every port of ip_proto */
};

#define DEFINE_DROP_RULES(name)                                    \
	struct {                                                   \
		__uint(type, BPF_MAP_TYPE_HASH);                   \
		__uint(max_entries, 256);                          \
		__type(key, struct drop_rule);                     \
		__type(value, __u64); /* hits */                   \
	} name SEC(".maps")

static __always_inline int drop_rule_match(void *rules, struct drop_rule *r)
{
	__u64 *hits = bpf_map_lookup_elem(rules, r);

	if (!hits)
		return 0;
	__sync_fetch_and_add(hits, 1);
	return 1;
}

/* XDP_DROP or XDP_PASS for the frame in [data, data_end); *truncated counts
 * short frames. The skb-path bench program maps the verdict to TC_ACT_*. */
static __always_inline int drop_rule_verdict_data(void *rules, void *data, void *data_end, __u64 *truncated)
{
	struct drop_rule r = {};
	struct flow f;

	switch (parse_flow(data, data_end, &f)) {
	case PARSE_TRUNCATED:
		__sync_fetch_and_add(truncated, 1);
		return XDP_DROP;
	case PARSE_OK:
		r.ip_proto = f.ip_proto;
		r.dport = f.dport;
		if (drop_rule_match(rules, &r))
			return XDP_DROP;
		r.dport = 0;
		if (drop_rule_match(rules, &r))
			return XDP_DROP;
		return XDP_PASS;
	default:
		return XDP_PASS;
	}
}

static __always_inline int drop_rule_verdict(void *rules, struct xdp_md *ctx, __u64 *truncated)
{
	return drop_rule_verdict_data(rules, (void *)(long)ctx->data, (void *)(long)ctx->data_end, truncated);
}

#endif
