// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* devmap-bench's baseline for the security groups: the VM's slot firewall
 * before them (commit 9a246f4), stateless: the same address checks, then
 * the source allow-list, no later fragments, and the destination port. A
 * plain XDP program, on the policy maps of vm_policy.h; the bench runs it
 * beside vm_firewall.bpf.o's own vm_fw_xdp, loaded as plain XDP too. */
#include "vm_policy.h"

static __always_inline __u32 v1_l4(void *l4, void *data_end, __u8 proto)
{
	__u16 port = 0;

	if (proto == IPPROTO_TCP) {
		struct tcphdr *tcp = l4;

		if ((void *)(tcp + 1) > data_end || tcp->doff < 5)
			return VM_DROP_MALFORMED;
		port = bpf_ntohs(tcp->dest);
	} else if (proto == IPPROTO_UDP) {
		struct udphdr *udp = l4;

		if ((void *)(udp + 1) > data_end)
			return VM_DROP_MALFORMED;
		port = bpf_ntohs(udp->dest);
	} else if (proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6) {
		if (l4 + 4 > data_end)
			return VM_DROP_MALFORMED;
	}
	return port_allowed(proto, port) ? VM_PASS : VM_DROP_PORT;
}

static __always_inline __u32 v1_to_vm(void *data, void *data_end)
{
	struct vm_identity *id = vm_id();
	struct ethhdr *eth = data;
	__u32 reason;

	if (!id)
		return VM_DROP_DST_MAC;
	reason = vm_to_vm_addresses(data, data_end, id);
	if (reason != VM_TO_SECGROUPS)
		return reason;
	if ((void *)(eth + 1) > data_end)
		return VM_DROP_MALFORMED;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);
		struct vm_prefix4 src = { .prefixlen = 32 };

		if ((void *)(ip + 1) > data_end || ip->ihl < 5)
			return VM_DROP_MALFORMED;
		src.addr = ip->saddr;
		if (!bpf_map_lookup_elem(&allow_src4, &src))
			return VM_DROP_SRC;
		if (ip->frag_off & bpf_htons(0x1fff))
			return VM_DROP_FRAGMENT;
		return v1_l4((void *)ip + ip->ihl * 4, data_end, ip->protocol);
	} else {
		struct ipv6hdr *ip6 = (void *)(eth + 1);
		struct vm_prefix6 src = { .prefixlen = 128 };

		if ((void *)(ip6 + 1) > data_end)
			return VM_DROP_MALFORMED;
		__builtin_memcpy(src.addr, &ip6->saddr, 16);
		if (!bpf_map_lookup_elem(&allow_src6, &src))
			return VM_DROP_SRC;
		return v1_l4(ip6 + 1, data_end, ip6->nexthdr);
	}
}

SEC("xdp")
int fw_v1(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	__u32 reason = v1_to_vm(data, data_end);

	vm_count(VM_PATH_XDP, reason, data_end - data);
	return reason == VM_PASS ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
