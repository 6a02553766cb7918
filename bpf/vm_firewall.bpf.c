// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* One VM's programs, loaded once per VM so each VM has its own maps:
 *   vm_fw_xdp   host -> VM, in the VM's devmap slot (XDP frames)
 *   vm_fw_tc    host -> VM, tc egress on the VM's tap (skbs the host sends)
 *   vm_guard    VM -> host, XDP ingress on the tap: anti-spoofing, then
 *               redirect through the host's devmap (uplink or another VM)
 * All three read the same policy maps (vm_policy.h), so a verdict does not
 * depend on the path a frame takes. They go away with the tap. */
#include <linux/pkt_cls.h>

#include "vm_policy.h"

#include "host_ports.h"

/* The uplink's key in tx_ports: where the guard sends what is not for a VM. */
const volatile __u32 uplink_port = 0;

SEC("xdp/devmap")
int vm_fw_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	__u32 reason = vm_policy_to_vm(data, data_end);

	vm_count(VM_PATH_XDP, reason, data_end - data);
	return reason == VM_PASS ? XDP_PASS : XDP_DROP;
}

SEC("tc")
int vm_fw_tc(struct __sk_buff *skb)
{
	void *data, *data_end;
	__u32 reason, want = skb->len < 128 ? skb->len : 128;

	/* Headers may sit in paged data: make them linear first. */
	if (bpf_skb_pull_data(skb, want))
		return TC_ACT_SHOT;
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	reason = vm_policy_to_vm(data, data_end);
	vm_count(VM_PATH_SKB, reason, skb->len);
	return reason == VM_PASS ? TC_ACT_OK : TC_ACT_SHOT;
}

SEC("xdp")
int vm_guard(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	__u32 reason = vm_policy_from_vm(data, data_end);
	struct ethhdr *eth = data;
	struct mac_key dst = {};
	__u32 *port;

	struct vm_identity *id;
	__u32 zero = 0;

	vm_count(VM_PATH_GUARD, reason, data_end - data);
	if (reason != VM_PASS)
		return XDP_DROP;
	if ((void *)(eth + 1) > data_end)
		return XDP_DROP;
	/* Broadcast, multicast and frames for the host itself: host stack. */
	if (eth->h_dest[0] & 1)
		return XDP_PASS;
	id = bpf_map_lookup_elem(&vm_identity, &zero);
	if (id && mac_eq(eth->h_dest, id->host_mac))
		return XDP_PASS;
	__builtin_memcpy(dst.mac, eth->h_dest, 6);
	port = bpf_map_lookup_elem(&mac_to_port, &dst);
	/* Another VM on this host: its own egress firewall runs in its slot. */
	return bpf_redirect_map(&tx_ports, port ? *port : uplink_port, XDP_PASS);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
