// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The tail-call alternative's per-target program: applies the policy (none,
 * or the drop-rule firewall of egress_drop_rule, counters included) and then
 * redirects into a devmap slot that has no egress program. A per-slot
 * instance has its key in .rodata (slot_key); a shared instance reads the key
 * bench_tailcall left in cur_key. */
#include "maps.h"
#include "drop_rule.h"

DEFINE_DEVMAP(tx_devmap, BPF_MAP_TYPE_DEVMAP);

#include "bench_cur_key.h"

DEFINE_DROP_RULES(drop_rules);
DEFINE_COUNTERS(counters);

const volatile __u32 slot_key;
const volatile __u32 key_from_map; /* 1: shared by every slot */
const volatile __u32 firewall;     /* 1: run the drop rules first */
__u64 truncated;

SEC("xdp")
int bench_tail(struct xdp_md *ctx)
{
	__u32 key = slot_key;

	if (key_from_map) {
		__u32 zero = 0;
		__u32 *cur = bpf_map_lookup_elem(&cur_key, &zero);

		if (!cur)
			return XDP_ABORTED;
		key = *cur;
	}
	if (firewall) {
		int verdict = drop_rule_verdict(&drop_rules, ctx, &truncated);

		count_verdict(&counters, ctx, verdict);
		if (verdict == XDP_DROP)
			return XDP_DROP;
	}
	return bpf_redirect_map(&tx_devmap, key, XDP_DROP);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
