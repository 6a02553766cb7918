/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The conntrack fast path: most frames of a VM belong to a flow it tracks
 * already, and for the plainest of them the whole security-group judgement
 * (vm_flow_parse(), vm_sg_judge(): three global calls and a 100-byte flow
 * to fill) comes down to one lookup. Part of vm_policy.h.
 *
 * It passes a frame only where vm_sg_judge() would pass it and would change
 * nothing but what it changes here (the entry's last-seen time, a UDP
 * flow's first reply): a unicast TCP or UDP packet, IPv4 without options or
 * fragmentation, or IPv6 with the upper layer right after its header, of a
 * live flow that is a UDP flow or an established TCP flow, the segment
 * carrying no SYN, FIN or RST. Anything else, any doubt, returns 0 and the
 * frame goes the full way, which decides. */
#ifndef DEVMAP_EGRESS_BPF_VM_CT_FAST_H
#define DEVMAP_EGRESS_BPF_VM_CT_FAST_H

/* The upper layer's ports at `l4`, `len` bytes to the packet's end; 0 if
 * the fast path is not for it. */
static __always_inline int ct_fast_l4(struct vm_ct_key *k, __u8 dir, __u8 *l4, void *data_end,
				      __u32 len)
{
	__be16 sport, dport;

	/* The IP length was checked against the packet's end, and clang
	 * would take that for the pointer check below, which the verifier
	 * needs: hide where l4 came from. */
	barrier_var(l4);
	if (k->proto == IPPROTO_TCP) {
		if ((void *)(l4 + 14) > data_end || len < 20 || (l4[12] >> 4) < 5 ||
		    (l4[13] & (VM_TCP_SYN | VM_TCP_FIN | VM_TCP_RST)))
			return 0;
	} else if (k->proto == IPPROTO_UDP) {
		if ((void *)(l4 + 8) > data_end || len < 8)
			return 0;
	} else {
		return 0;
	}
	sport = ((__be16 *)l4)[0];
	dport = ((__be16 *)l4)[1];
	/* A DHCP client's messages are exempt. */
	if (k->proto == IPPROTO_UDP && dir == VM_DIR_FROM_VM && vm_dhcp_client(k->family, sport, dport))
		return 0;
	vm_flow_ports(k, dir, sport, dport);
	return 1;
}

/* The frame's flow key, as vm_flow_parse() would make it; 0 if the fast
 * path is not for it. */
static __always_inline int ct_fast_key(struct vm_ct_key *k, __u8 dir, void *data, void *data_end)
{
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return 0;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);
		__u32 tot;

		if ((void *)(ip + 1) > data_end || ip->ihl != 5 || (ip->frag_off & bpf_htons(0x3fff)))
			return 0;
		tot = vm_be16(ip->tot_len);
		if (tot < sizeof(*ip) || (void *)ip + tot > data_end)
			return 0;
		/* Broadcast and multicast are never tracked; a source of 0
		 * is a DHCP client, exempt. */
		if (vm_ip4_group(ip->daddr) || (dir == VM_DIR_FROM_VM && !ip->saddr))
			return 0;
		k->family = 4;
		k->proto = ip->protocol;
		vm_flow_roles(k, dir, &ip->saddr, &ip->daddr, 4, 0, 0);
		return ct_fast_l4(k, dir, (__u8 *)(ip + 1), data_end, tot - sizeof(*ip));
	}
	if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);
		__u32 len;

		if ((void *)(ip6 + 1) > data_end)
			return 0;
		len = vm_be16(ip6->payload_len);
		if ((void *)(ip6 + 1) + len > data_end || vm_ip6_group(&ip6->daddr))
			return 0;
		/* The unspecified source: DAD and its kind, exempt. */
		if (dir == VM_DIR_FROM_VM && ip6_unspecified(&ip6->saddr))
			return 0;
		k->family = 6;
		k->proto = ip6->nexthdr; /* an extension header is not TCP or UDP */
		vm_flow_roles(k, dir, &ip6->saddr, &ip6->daddr, 16, 0, 0);
		return ct_fast_l4(k, dir, (__u8 *)(ip6 + 1), data_end, len);
	}
	return 0;
}

/* 1: the frame is of a tracked flow and passes (its entry updated as
 * ct_update() would); 0: judge it the full way. *missed: the flow table
 * has no entry for the frame's key, which the full way need not look up
 * again. */
static __always_inline int vm_ct_fast(void *ctx, enum vm_ctx_kind kind, __u8 dir, __u8 *missed)
{
	struct vm_ct_key k = {};
	struct vm_ct_config *cfg;
	struct vm_ct_entry *e;
	__u32 zero = 0;
	int new_tick;
	__u64 now;

	if (!ct_fast_key(&k, dir, vm_ctx_data(ctx, kind), vm_ctx_data_end(ctx, kind)))
		return 0;
	e = ct_lookup(&k);
	if (!e) {
		*missed = 1;
		return 0;
	}
	now = ct_now();
	/* An entry met already in this tick is alive: ct_expired() counts
	 * whole ticks since it was last met. At any rate that matters, most
	 * frames of a flow come in a tick that has seen one before. */
	new_tick = e->last_seen != now;
	if (new_tick) {
		cfg = vm_map_lookup(vm_ct_config, &zero);
		if (!cfg || ct_expired(e, k.proto, cfg, now))
			return 0; /* the full way deletes it */
	}
	if (k.proto == IPPROTO_TCP) {
		if (e->state != VM_CT_ESTABLISHED)
			return 0;
	} else if (dir != e->origin && e->state != VM_CT_REPLIED) {
		e->state = VM_CT_REPLIED;
	}
	if (new_tick)
		e->last_seen = now;
	return 1;
}

#endif
