/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* A VM's traffic policy, written once and compiled into both the XDP egress
 * program (devmap slot) and the tc egress program (skb path), which share one
 * set of maps per VM. Every header read is bounds-checked; malformed frames
 * are dropped and counted, never read past data_end. */
#ifndef DEVMAP_EGRESS_BPF_VM_POLICY_H
#define DEVMAP_EGRESS_BPF_VM_POLICY_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "vm_policy_types.h"


/* The VM's identity: its MAC, and its addresses (both families). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct vm_identity);
} vm_identity SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VM_MAX_ADDRS);
	__type(key, struct vm_addr);
	__type(value, __u8);
} vm_addrs SEC(".maps");

/* Allowed sources (host -> VM), by prefix. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, VM_MAX_PREFIXES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct vm_prefix4);
	__type(value, __u8);
} allow_src4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, VM_MAX_PREFIXES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct vm_prefix6);
	__type(value, __u8);
} allow_src6 SEC(".maps");

/* Allowed (protocol, destination port); port 0 allows the whole protocol
 * (how ICMP is allowed). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VM_MAX_PORTS);
	__type(key, struct vm_port);
	__type(value, __u8);
} allow_ports SEC(".maps");

/* Verdict counters: [path][reason], per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VM_PATHS * VM_REASONS);
	__type(key, __u32);
	__type(value, struct vm_count);
} verdicts SEC(".maps");

static __always_inline void vm_count(__u32 path, __u32 reason, __u64 bytes)
{
	__u32 key = path * VM_REASONS + reason;
	struct vm_count *c = bpf_map_lookup_elem(&verdicts, &key);

	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
}

static __always_inline int mac_eq(const __u8 *a, const __u8 *b)
{
	return a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3] &&
	       a[4] == b[4] && a[5] == b[5];
}

static __always_inline int is_vm_addr4(__be32 ip)
{
	struct vm_addr k = { .family = 4 };

	__builtin_memcpy(k.addr, &ip, 4);
	return bpf_map_lookup_elem(&vm_addrs, &k) != NULL;
}

static __always_inline int is_vm_addr6(const struct in6_addr *ip)
{
	struct vm_addr k = { .family = 6 };

	__builtin_memcpy(k.addr, ip, 16);
	return bpf_map_lookup_elem(&vm_addrs, &k) != NULL;
}

static __always_inline int port_allowed(__u8 proto, __u16 port)
{
	struct vm_port k = { .proto = proto, .port = port };

	if (bpf_map_lookup_elem(&allow_ports, &k))
		return 1;
	k.port = 0;
	return bpf_map_lookup_elem(&allow_ports, &k) != NULL;
}

/* L4: protocol and destination port of a packet whose L3 header ends at l4. */
static __always_inline __u32 vm_check_l4(void *l4, void *data_end, __u8 proto)
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

/* The host -> VM policy. Returns a vm_reason: VM_PASS or why it dropped. */
static __always_inline __u32 vm_policy_to_vm(void *data, void *data_end)
{
	struct ethhdr *eth = data;
	struct vm_identity *id;
	__u32 zero = 0;
	__u16 proto;
	int group;

	if ((void *)(eth + 1) > data_end)
		return VM_DROP_MALFORMED;
	id = bpf_map_lookup_elem(&vm_identity, &zero);
	if (!id)
		return VM_DROP_DST_MAC;
	proto = bpf_ntohs(eth->h_proto);
	if (proto == ETH_P_8021Q || proto == ETH_P_8021AD)
		return VM_DROP_VLAN; /* the tap is an untagged access port */

	/* Unicast must be for this VM; group frames only for ARP and ICMPv6
	 * (neighbour discovery), which are checked below like the rest. */
	group = eth->h_dest[0] & 1;
	if (!group && !mac_eq(eth->h_dest, id->mac))
		return VM_DROP_DST_MAC;

	if (proto == ETH_P_ARP) {
		/* Ethernet/IPv4 ARP: 8 bytes of header, then sha, spa, tha, tpa. */
		__u8 *arp = (void *)(eth + 1);
		__be32 tpa;

		if ((void *)arp + 28 > data_end)
			return VM_DROP_MALFORMED;
		__builtin_memcpy(&tpa, arp + 24, 4);
		return is_vm_addr4(tpa) ? VM_PASS : VM_DROP_DST_IP;
	}
	if (proto == ETH_P_IP) {
		struct iphdr *ip = (void *)(eth + 1);
		struct vm_prefix4 src = { .prefixlen = 32 };

		if ((void *)(ip + 1) > data_end || ip->ihl < 5)
			return VM_DROP_MALFORMED;
		if ((void *)ip + ip->ihl * 4 > data_end)
			return VM_DROP_MALFORMED;
		if (group)
			return VM_DROP_DST_MAC;
		if (!is_vm_addr4(ip->daddr))
			return VM_DROP_DST_IP;
		src.addr = ip->saddr;
		if (!bpf_map_lookup_elem(&allow_src4, &src))
			return VM_DROP_SRC;
		if (ip->frag_off & bpf_htons(0x1fff))
			return VM_DROP_FRAGMENT; /* no ports to check */
		return vm_check_l4((void *)ip + ip->ihl * 4, data_end, ip->protocol);
	}
	if (proto == ETH_P_IPV6) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);
		struct vm_prefix6 src = { .prefixlen = 128 };

		if ((void *)(ip6 + 1) > data_end)
			return VM_DROP_MALFORMED;
		if (group && ip6->nexthdr != IPPROTO_ICMPV6)
			return VM_DROP_DST_MAC;
		/* Neighbour solicitations go to a solicited-node multicast
		 * address; everything else must name the VM. */
		if (!group && !is_vm_addr6(&ip6->daddr))
			return VM_DROP_DST_IP;
		__builtin_memcpy(src.addr, &ip6->saddr, 16);
		if (!bpf_map_lookup_elem(&allow_src6, &src))
			return VM_DROP_SRC;
		return vm_check_l4(ip6 + 1, data_end, ip6->nexthdr);
	}
	return VM_DROP_PROTO;
}

/* The VM -> host anti-spoofing check: the frame must come from the VM's own
 * MAC and, for IP and ARP, from one of its addresses. */
static __always_inline __u32 vm_policy_from_vm(void *data, void *data_end)
{
	struct ethhdr *eth = data;
	struct vm_identity *id;
	__u32 zero = 0;
	__u16 proto;

	if ((void *)(eth + 1) > data_end)
		return VM_DROP_MALFORMED;
	id = bpf_map_lookup_elem(&vm_identity, &zero);
	if (!id || !mac_eq(eth->h_source, id->mac))
		return VM_DROP_SPOOF;
	proto = bpf_ntohs(eth->h_proto);
	if (proto == ETH_P_IP) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > data_end || ip->ihl < 5)
			return VM_DROP_MALFORMED;
		return is_vm_addr4(ip->saddr) ? VM_PASS : VM_DROP_SPOOF;
	}
	if (proto == ETH_P_IPV6) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);
		__u8 unspecified[16] = {};

		if ((void *)(ip6 + 1) > data_end)
			return VM_DROP_MALFORMED;
		/* DAD probes come from :: */
		if (!__builtin_memcmp(&ip6->saddr, unspecified, 16) && ip6->nexthdr == IPPROTO_ICMPV6)
			return VM_PASS;
		return is_vm_addr6(&ip6->saddr) ? VM_PASS : VM_DROP_SPOOF;
	}
	if (proto == ETH_P_ARP) {
		__u8 *arp = (void *)(eth + 1);
		__be32 spa;

		if ((void *)arp + 28 > data_end)
			return VM_DROP_MALFORMED;
		__builtin_memcpy(&spa, arp + 14, 4);
		return is_vm_addr4(spa) ? VM_PASS : VM_DROP_SPOOF;
	}
	return VM_DROP_PROTO;
}

#endif
