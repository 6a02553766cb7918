// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Egress (devmap slot): drop frames that match a rule, pass the rest.
 * A rule names an IP protocol and a destination port (0 = any port). Each
 * loaded instance has its own rule table, so every slot can carry its own
 * policy and it disappears with the slot. The policy code is in drop_rule.h. */
#include "maps.h"
#include "drop_rule.h"

DEFINE_DROP_RULES(drop_rules);
DEFINE_COUNTERS(counters);

/* Frames too short for the headers they announce are dropped too. */
__u64 truncated;

SEC("xdp/devmap")
int egress_drop_rule(struct xdp_md *ctx)
{
	int verdict = drop_rule_verdict(&drop_rules, ctx, &truncated);

	count_verdict(&counters, ctx, verdict);
	return verdict;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
