// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Rewrite helpers as devmap egress programs: each slot (a VM's tap, a trunk)
 * gets its own instance with its own settings.
 *   vlan_push    tag every frame with 802.1Q VLAN `vlan_id` (already tagged:
 *                dropped, no double tags on an access port)
 *   vlan_pop     strip one 802.1Q/802.1ad tag if there is one
 *   mac_rewrite  set the destination MAC (and the source, if set) */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>


struct vlan_tag {
	__be16 tci;
	__be16 inner_proto;
};

__u16 vlan_id = 1;  /* 1..4094 */
__u8 vlan_pcp;      /* priority, 0..7 */
__u8 new_dst[6];
__u8 new_src[6];    /* all zero: keep the source MAC */
__u64 rewritten;
__u64 dropped;

SEC("xdp/devmap")
int vlan_push(struct xdp_md *ctx)
{
	struct ethhdr *eth, old;
	struct vlan_tag *tag;
	void *data, *data_end;

	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = data;
	if ((void *)(eth + 1) > data_end)
		goto drop;
	if (eth->h_proto == bpf_htons(ETH_P_8021Q) || eth->h_proto == bpf_htons(ETH_P_8021AD))
		goto drop;
	__builtin_memcpy(&old, eth, sizeof(old));
	if (bpf_xdp_adjust_head(ctx, -(int)sizeof(*tag)))
		goto drop;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = data;
	tag = (void *)(eth + 1);
	if ((void *)(tag + 1) > data_end)
		goto drop;
	__builtin_memcpy(eth->h_dest, old.h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_source, old.h_source, ETH_ALEN);
	eth->h_proto = bpf_htons(ETH_P_8021Q);
	tag->tci = bpf_htons(((__u16)(vlan_pcp & 7) << 13) | (vlan_id & 0x0fff));
	tag->inner_proto = old.h_proto;
	rewritten++;
	return XDP_PASS;
drop:
	dropped++;
	return XDP_DROP;
}

SEC("xdp/devmap")
int vlan_pop(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct vlan_tag *tag = (void *)(eth + 1);
	struct ethhdr outer;

	if ((void *)(eth + 1) > data_end) {
		dropped++;
		return XDP_DROP;
	}
	if (eth->h_proto != bpf_htons(ETH_P_8021Q) && eth->h_proto != bpf_htons(ETH_P_8021AD))
		return XDP_PASS; /* untagged: nothing to do */
	if ((void *)(tag + 1) > data_end) {
		dropped++;
		return XDP_DROP;
	}
	__builtin_memcpy(&outer, eth, sizeof(outer));
	outer.h_proto = tag->inner_proto;
	if (bpf_xdp_adjust_head(ctx, (int)sizeof(*tag))) {
		dropped++;
		return XDP_DROP;
	}
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = data;
	if ((void *)(eth + 1) > data_end) {
		dropped++;
		return XDP_DROP;
	}
	__builtin_memcpy(eth, &outer, sizeof(outer));
	rewritten++;
	return XDP_PASS;
}

SEC("xdp/devmap")
int mac_rewrite(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u8 zero[6] = {};

	if ((void *)(eth + 1) > data_end) {
		dropped++;
		return XDP_DROP;
	}
	__builtin_memcpy(eth->h_dest, new_dst, ETH_ALEN);
	if (__builtin_memcmp(new_src, zero, ETH_ALEN))
		__builtin_memcpy(eth->h_source, new_src, ETH_ALEN);
	rewritten++;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
