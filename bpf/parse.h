/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Bounds-checked header parsing shared by the policy programs. Every reader
 * checks data_end first, so a truncated frame yields PARSE_TRUNCATED instead
 * of a verifier rejection or an out-of-bounds read. */
#ifndef DEVMAP_EGRESS_BPF_PARSE_H
#define DEVMAP_EGRESS_BPF_PARSE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

enum parse_result {
	PARSE_OK = 0,
	PARSE_TRUNCATED,
	PARSE_NOT_IP,
};

struct flow {
	__u16 eth_proto;  /* host order */
	__u8 ip_proto;    /* IPPROTO_* or 0 */
	__u16 dport;      /* host order, 0 when not TCP/UDP */
};

static __always_inline int parse_flow(void *data, void *data_end, struct flow *f)
{
	struct ethhdr *eth = data;
	void *l4;

	__builtin_memset(f, 0, sizeof(*f));
	if ((void *)(eth + 1) > data_end)
		return PARSE_TRUNCATED;
	f->eth_proto = bpf_ntohs(eth->h_proto);

	if (f->eth_proto == ETH_P_IP) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > data_end)
			return PARSE_TRUNCATED;
		if (ip->ihl < 5)
			return PARSE_TRUNCATED;
		f->ip_proto = ip->protocol;
		l4 = (void *)ip + ip->ihl * 4;
	} else if (f->eth_proto == ETH_P_IPV6) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > data_end)
			return PARSE_TRUNCATED;
		f->ip_proto = ip6->nexthdr;
		l4 = ip6 + 1;
	} else {
		return PARSE_NOT_IP;
	}

	if (f->ip_proto == IPPROTO_UDP) {
		struct udphdr *udp = l4;

		if ((void *)(udp + 1) > data_end)
			return PARSE_TRUNCATED;
		f->dport = bpf_ntohs(udp->dest);
	} else if (f->ip_proto == IPPROTO_TCP) {
		struct tcphdr *tcp = l4;

		if ((void *)(tcp + 1) > data_end)
			return PARSE_TRUNCATED;
		f->dport = bpf_ntohs(tcp->dest);
	}
	return PARSE_OK;
}

#endif
