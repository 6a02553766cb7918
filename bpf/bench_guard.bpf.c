// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* devmap-bench's baselines for the port-security guard (vm_guard in
 * vm_firewall.bpf.c), each with the guard's own forwarding:
 *   guard_none  forwarding alone: what a VM's frame costs with no guard;
 *   guard_v1    the guard before port security (commit eb8e1f7): source
 *               MAC, then one exact lookup of the IP or ARP source; it
 *               counted its verdicts and looked its identity up twice, as
 *               it did then.
 * The bench runs them side by side with vm_guard on the same frames. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "host_ports.h"
#include "vm_policy_types.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct vm_identity);
} v1_identity SEC(".maps");

struct v1_addr {
	__u32 family; /* 4 or 6 */
	__u8 addr[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VM_MAX_ADDRS);
	__type(key, struct v1_addr);
	__type(value, __u8);
} v1_addrs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VM_PATHS * VM_REASONS);
	__type(key, __u32);
	__type(value, struct vm_count);
} v1_verdicts SEC(".maps");

static __always_inline int mac_eq(const __u8 *a, const __u8 *b)
{
	return a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3] &&
	       a[4] == b[4] && a[5] == b[5];
}

static __always_inline int v1_owns(__u32 family, const void *addr)
{
	struct v1_addr k = { .family = family };

	if (family == 4)
		__builtin_memcpy(k.addr, addr, 4);
	else
		__builtin_memcpy(k.addr, addr, 16);
	return bpf_map_lookup_elem(&v1_addrs, &k) != NULL;
}

/* The previous check, as it was: 0 passes, 1 drops. */
static __always_inline int v1_from_vm(struct vm_identity *id, void *data, void *data_end)
{
	struct ethhdr *eth = data;
	__u16 proto;

	if ((void *)(eth + 1) > data_end || !mac_eq(eth->h_source, id->mac))
		return 1;
	proto = bpf_ntohs(eth->h_proto);
	if (proto == ETH_P_IP) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > data_end || ip->ihl < 5)
			return 1;
		return !v1_owns(4, &ip->saddr);
	}
	if (proto == ETH_P_IPV6) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > data_end)
			return 1;
		return !v1_owns(6, &ip6->saddr);
	}
	if (proto == ETH_P_ARP) {
		__u8 *arp = (void *)(eth + 1);

		if ((void *)arp + 28 > data_end)
			return 1;
		return !v1_owns(4, arp + 14);
	}
	return 1;
}

/* vm_guard's forwarding (vm_firewall.bpf.c), unchanged. */
static __always_inline int forward(struct vm_identity *id, void *data, void *data_end)
{
	struct ethhdr *eth = data;
	struct mac_key dst = {};
	__u32 *port;

	if ((void *)(eth + 1) > data_end)
		return XDP_DROP;
	if (eth->h_dest[0] & 1)
		return bpf_redirect_map(&tx_ports, 0, BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS);
	if (mac_eq(eth->h_dest, id->host_mac))
		return XDP_PASS;
	__builtin_memcpy(dst.mac, eth->h_dest, 6);
	port = bpf_map_lookup_elem(&mac_to_port, &dst);
	return bpf_redirect_map(&tx_ports, port ? *port : 0, XDP_DROP);
}

SEC("xdp")
int guard_none(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	__u32 zero = 0;
	struct vm_identity *id = bpf_map_lookup_elem(&v1_identity, &zero);

	return id ? forward(id, data, data_end) : XDP_DROP;
}

SEC("xdp")
int guard_v1(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	__u32 zero = 0, key;
	struct vm_identity *id = bpf_map_lookup_elem(&v1_identity, &zero);
	struct vm_count *c;
	int drop = !id || v1_from_vm(id, data, data_end);

	key = VM_PATH_GUARD * VM_REASONS + (drop ? VM_DROP_IP_SPOOF : VM_PASS);
	c = bpf_map_lookup_elem(&v1_verdicts, &key);
	if (c) {
		c->packets++;
		c->bytes += data_end - data;
	}
	if (drop)
		return XDP_DROP;
	id = bpf_map_lookup_elem(&v1_identity, &zero);
	return id ? forward(id, data, data_end) : XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
