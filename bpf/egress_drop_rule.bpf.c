// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Egress (devmap slot): drop frames that match a rule, pass the rest.
 * A rule names an IP protocol and a destination port (0 = any port). Each
 * loaded instance has its own rule table, so every slot can carry its own
 * policy and it disappears with the slot. */
#include "maps.h"
#include "parse.h"

struct drop_rule {
	__u8 ip_proto;
	__u8 pad;
	__u16 dport; /* host order; 0 matches every port of ip_proto */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, struct drop_rule);
	__type(value, __u64); /* hits */
} drop_rules SEC(".maps");

DEFINE_COUNTERS(counters);

/* Frames too short for the headers they announce are dropped too. */
__u64 truncated;

static __always_inline int match(struct drop_rule *r)
{
	__u64 *hits = bpf_map_lookup_elem(&drop_rules, r);

	if (!hits)
		return 0;
	__sync_fetch_and_add(hits, 1);
	return 1;
}

SEC("xdp/devmap")
int egress_drop_rule(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct drop_rule r = {};
	struct flow f;
	int verdict = XDP_PASS;

	switch (parse_flow(data, data_end, &f)) {
	case PARSE_TRUNCATED:
		__sync_fetch_and_add(&truncated, 1);
		verdict = XDP_DROP;
		break;
	case PARSE_OK:
		r.ip_proto = f.ip_proto;
		r.dport = f.dport;
		if (match(&r)) {
			verdict = XDP_DROP;
			break;
		}
		r.dport = 0;
		if (match(&r))
			verdict = XDP_DROP;
		break;
	default:
		break;
	}
	count_verdict(&counters, ctx, verdict);
	return verdict;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
