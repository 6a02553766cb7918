// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* One VM's programs, loaded once per VM so each VM has its own maps:
 *   vm_fw_xdp    host -> VM, in the VM's devmap slot (XDP frames)
 *   vm_fw_tc     host -> VM, tc egress on the VM's tap (skbs the host sends)
 *   vm_guard     VM -> anywhere, XDP ingress on the tap: port security
 *                (docs/port-security.md), then forwarding through the
 *                host's devmap (another VM, the uplink, or a flood to all)
 *   vm_guard_tc  the same port security built for skbs (tc ingress): the
 *                tests hold it to the guard's verdicts; VmHost does not
 *                load it (load this object with PolicyMaps to use it)
 * All read the same policy maps (vm_policy.h), so a verdict does not depend
 * on the path a frame takes. They go away with the tap. */
#include <linux/pkt_cls.h>

#include "vm_policy.h"

#include "host_ports.h"

/* The uplink's key in tx_ports: where the guard sends what is not for a VM. */
const volatile __u32 uplink_port = 0;

/* Headers the policies read must be in the skb's linear part. */
static __always_inline int skb_linearize_headers(struct __sk_buff *skb, __u32 max)
{
	return bpf_skb_pull_data(skb, skb->len < max ? skb->len : max);
}

SEC("xdp/devmap")
int vm_fw_xdp(struct xdp_md *ctx)
{
	__u32 reason = vm_policy_to_vm(ctx, VM_CTX_XDP);

	vm_count(VM_PATH_XDP, reason, ctx->data_end - ctx->data);
	return reason == VM_PASS ? XDP_PASS : XDP_DROP;
}

SEC("tc")
int vm_fw_tc(struct __sk_buff *skb)
{
	__u32 reason;

	/* Headers, an IPv6 header chain, an ICMP error's quoted packet. */
	if (skb_linearize_headers(skb, 256))
		return TC_ACT_SHOT;
	reason = vm_policy_to_vm(skb, VM_CTX_SKB);
	vm_count(VM_PATH_SKB, reason, skb->len);
	return reason == VM_PASS ? TC_ACT_OK : TC_ACT_SHOT;
}

SEC("xdp")
int vm_guard(struct xdp_md *ctx)
{
	struct vm_identity *id = vm_id();
	__u32 reason = vm_policy_from_vm_sg(ctx, VM_CTX_XDP, id);
	/* The walks are calls: packet pointers are taken after them. */
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct mac_key dst = {};
	__u32 *port;

	vm_count(VM_PATH_GUARD, reason, data_end - data);
	if (reason != VM_PASS || !id || (void *)(eth + 1) > data_end)
		return XDP_DROP;
	/* Broadcast and multicast: to every other port, as a bridge floods;
	 * each VM's slot firewall judges its own copy. */
	if (eth->h_dest[0] & 1)
		return bpf_redirect_map(&tx_ports, 0, BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS);
	if (mac_eq(eth->h_dest, id->host_mac))
		return XDP_PASS; /* for the host itself */
	__builtin_memcpy(dst.mac, eth->h_dest, 6);
	port = bpf_map_lookup_elem(&mac_to_port, &dst);
	/* Another VM on this host: its own egress firewall runs in its slot. */
	return bpf_redirect_map(&tx_ports, port ? *port : uplink_port, XDP_DROP);
}

SEC("tc")
int vm_guard_tc(struct __sk_buff *skb)
{
	__u32 reason;

	/* Everything the guard may walk (header chains, ND options). */
	if (skb_linearize_headers(skb, VM_OFF_MAX))
		return TC_ACT_SHOT;
	reason = vm_policy_from_vm_sg(skb, VM_CTX_SKB, vm_id());
	vm_count(VM_PATH_GUARD_TC, reason, skb->len);
	return reason == VM_PASS ? TC_ACT_OK : TC_ACT_SHOT;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
