/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* A frame to or from a VM, read as a flow for the security groups
 * (vm_secgroup.h): its conntrack key from the VM's side, TCP flags,
 * fragment, and ICMP type, with the flow an ICMP error quotes. Part of
 * vm_policy.h, after the IPv6 header walk it uses. */
#ifndef DEVMAP_EGRESS_BPF_VM_FLOW_H
#define DEVMAP_EGRESS_BPF_VM_FLOW_H

enum vm_flow_kind {
	VM_FLOW_PLAIN = 0,  /* TCP, UDP, or another protocol by its number */
	VM_FLOW_LATER_FRAG, /* a non-first fragment: no upper-layer header */
	VM_FLOW_ECHO,       /* ICMP(v6) echo request */
	VM_FLOW_ECHO_REPLY,
	VM_FLOW_ICMP_ERROR, /* `inner` is the flow of the packet it quotes */
	VM_FLOW_ICMP_OTHER, /* other ICMP: rules only, never tracked */
	VM_FLOW_EXEMPT,     /* what a VM needs to have a network at all: below */
};

#define VM_TCP_FIN 0x01
#define VM_TCP_SYN 0x02
#define VM_TCP_RST 0x04
#define VM_TCP_ACK 0x10

struct vm_flow {
	struct vm_ct_key key;
	struct vm_ct_key inner; /* VM_FLOW_ICMP_ERROR, when inner_ok */
	__u32 frag_id;
	__u32 id_flags;  /* vm_identity.flags */
	__u32 sg_rules;  /* vm_identity.sg_rules */
	__u8 dir;        /* vm_dir */
	__u8 kind;       /* vm_flow_kind */
	__u8 tcp_flags;
	__u8 first_frag; /* offset 0 with more fragments: later ones follow */
	__u8 icmp_type, icmp_code;
	__u8 inner_ok;
	__u8 no_track;   /* to a broadcast or multicast address: rules only */
	__u8 ct_missed;  /* vm_ct_fast() found no entry for `key` */
};

#define ICMP_ECHOREPLY_ 0
#define ICMP_DEST_UNREACH_ 3
#define ICMP_ECHO_ 8
#define ICMP_TIME_EXCEEDED_ 11
#define ICMP_PARAMETERPROB_ 12
#define ICMPV6_ECHO_REQUEST_ 128
#define ICMPV6_ECHO_REPLY_ 129
#define ICMPV6_MLD_QUERY_ 130
#define ICMPV6_MLD2_REPORT_ 143

/* What is never tracked or is exempt, by its headers. vm_flow_parse() and
 * the conntrack fast path (vm_ct_fast.h) both ask these, so that the fast
 * path can never track what the full reader would not. */
static __always_inline int vm_ip4_group(__be32 daddr)
{
	return daddr == 0xffffffff || (daddr & bpf_htonl(0xf0000000)) == bpf_htonl(0xe0000000);
}

static __always_inline int vm_ip6_group(const struct in6_addr *daddr)
{
	return daddr->in6_u.u6_addr8[0] == 0xff;
}

/* A DHCP (IPv4) or DHCPv6 client's message, by its UDP ports. */
static __always_inline int vm_dhcp_client(__u8 family, __be16 sport, __be16 dport)
{
	return family == 4 ? sport == bpf_htons(68) && dport == bpf_htons(67)
			   : sport == bpf_htons(546) && dport == bpf_htons(547);
}

static __always_inline int vm_addr_eq(const __u8 *a, const __u8 *b)
{
	const __u32 *x = (const void *)a, *y = (const void *)b;

	return !((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3]));
}

static __always_inline void vm_flow_ports(struct vm_ct_key *k, __u8 dir, __be16 sport, __be16 dport)
{
	k->vm_port = dir == VM_DIR_TO_VM ? dport : sport;
	k->remote_port = dir == VM_DIR_TO_VM ? sport : dport;
}

/* An address from a packet header (__be32 fields, read as such elsewhere
 * too) into a key (4-aligned): as words, where a copy through void * costs
 * four byte loads and three shifts a word. */
static __always_inline void vm_addr_copy(__u8 *dst, const void *src, __u32 alen)
{
	__u32 *d = (__u32 *)dst;
	const __u32 *s = src;

	d[0] = s[0];
	if (alen == 16) {
		d[1] = s[1];
		d[2] = s[2];
		d[3] = s[3];
	}
}

/* Copy the (vm, remote) roles of a packet going `dir` from its (src, dst). */
static __always_inline void vm_flow_roles(struct vm_ct_key *k, __u8 dir, const void *src,
					  const void *dst, __u32 alen, __be16 sport, __be16 dport)
{
	vm_addr_copy(k->vm_addr, dir == VM_DIR_TO_VM ? dst : src, alen);
	vm_addr_copy(k->remote_addr, dir == VM_DIR_TO_VM ? src : dst, alen);
	vm_flow_ports(k, dir, sport, dport);
}

/* The quoted packet of an ICMP error at frame offset `off`: it went the
 * other way, and must be the VM's own (its VM address is the error's). */
static __always_inline void vm_flow_inner(struct vm_flow *f, void *data, void *data_end, __u32 off)
{
	__u8 back = f->dir == VM_DIR_TO_VM ? VM_DIR_FROM_VM : VM_DIR_TO_VM;
	__u32 alen, l4;
	__u8 proto, *p, h[8];
	void *src, *dst;
	__be16 ports[2];

	if (off > VM_OFF_MAX)
		return;
	p = data + vm_off(off);
	if (f->key.family == 4) {
		struct iphdr *ip = (void *)p;

		if ((void *)(ip + 1) > data_end || ip->version != 4 || ip->ihl < 5 ||
		    (ip->frag_off & bpf_htons(0x1fff)))
			return;
		l4 = off + ip->ihl * 4;
		proto = ip->protocol;
		src = &ip->saddr;
		dst = &ip->daddr;
		alen = 4;
	} else {
		struct ipv6hdr *ip6 = (void *)p;

		if ((void *)(ip6 + 1) > data_end || ip6->version != 6)
			return;
		l4 = off + sizeof(*ip6);
		proto = ip6->nexthdr; /* a quoted header chain is not followed */
		src = &ip6->saddr;
		dst = &ip6->daddr;
		alen = 16;
	}
	if (l4 > VM_OFF_MAX)
		return;
	p = data + vm_off(l4);
	if ((void *)(p + 8) > data_end)
		return;
	__builtin_memcpy(h, p, 8); /* read once checked: see vm_flow_l4() */
	__builtin_memcpy(ports, h, 4);
	if (proto == (alen == 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6)) {
		__u8 req = alen == 4 ? ICMP_ECHO_ : ICMPV6_ECHO_REQUEST_;

		if (h[0] != req)
			return;
		__builtin_memcpy(&ports[0], h + 4, 2); /* the echo id */
		ports[1] = ports[0];
	} else if (proto != IPPROTO_TCP && proto != IPPROTO_UDP) {
		ports[0] = ports[1] = 0;
	}
	f->inner.family = f->key.family;
	f->inner.proto = proto;
	vm_flow_roles(&f->inner, back, src, dst, alen, ports[0], ports[1]);
	if (!vm_addr_eq(f->inner.vm_addr, f->key.vm_addr))
		return;
	f->inner_ok = 1;
}

/* The upper layer at frame offset `l4`, `end` the end of the IP packet. Its
 * first bytes are copied out once checked: clang may otherwise rebuild the
 * pointer from the offset after the check, and the verifier refuses that. */
static __always_inline __u32 vm_flow_l4(struct vm_flow *f, void *data, void *data_end, __u32 l4,
					__u32 end)
{
	__be16 ports[2] = {};
	__u8 h[16];
	__u8 *p;

	if (l4 > VM_OFF_MAX)
		return VM_DROP_MALFORMED;
	p = data + vm_off(l4);
	if (f->key.proto == IPPROTO_TCP) {
		if (l4 + 20 > end || (void *)(p + 16) > data_end)
			return VM_DROP_MALFORMED;
		__builtin_memcpy(h, p, 16);
		if ((h[12] >> 4) < 5)
			return VM_DROP_MALFORMED;
		__builtin_memcpy(ports, h, 4);
		f->tcp_flags = h[13];
	} else if (f->key.proto == IPPROTO_UDP) {
		if (l4 + 8 > end || (void *)(p + 8) > data_end)
			return VM_DROP_MALFORMED;
		__builtin_memcpy(ports, p, 4);
	} else if (f->key.proto == (f->key.family == 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6)) {
		int v6 = f->key.family == 6;
		__u8 type;

		if (l4 + 8 > end || (void *)(p + 8) > data_end)
			return VM_DROP_MALFORMED;
		__builtin_memcpy(h, p, 8);
		type = h[0];
		f->icmp_type = type;
		f->icmp_code = h[1];
		f->kind = VM_FLOW_ICMP_OTHER;
		if (type == (v6 ? ICMPV6_ECHO_REQUEST_ : ICMP_ECHO_) ||
		    type == (v6 ? ICMPV6_ECHO_REPLY_ : ICMP_ECHOREPLY_)) {
			f->kind = type == (v6 ? ICMPV6_ECHO_REQUEST_ : ICMP_ECHO_) ? VM_FLOW_ECHO
										  : VM_FLOW_ECHO_REPLY;
			__builtin_memcpy(&ports[0], h + 4, 2);
			ports[1] = ports[0];
		} else if (v6 ? type >= 1 && type <= 4
			      : type == ICMP_DEST_UNREACH_ || type == ICMP_TIME_EXCEEDED_ ||
					type == ICMP_PARAMETERPROB_) {
			f->kind = VM_FLOW_ICMP_ERROR;
		}
	}
	vm_flow_ports(&f->key, f->dir, ports[0], ports[1]);
	return VM_PASS;
}

/* Global functions, one per context type, each verified once on its own:
 * inlined into one, the readers' branches multiply each other's verifier
 * states (the firewall went from 2,000 to 42,000 verified instructions). */
#define VM_DEFINE_FLOW_READERS(ctx_type, name)                                               \
	__noinline __u32 vm_flow_l4_##name(ctx_type *ctx, __u32 l4, __u32 end, struct vm_flow *f) \
	{                                                                                     \
		__u32 r;                                                                      \
		if (!f)                                                                       \
			return VM_DROP_MALFORMED;                                             \
		r = vm_flow_l4(f, (void *)(long)ctx->data, (void *)(long)ctx->data_end, l4, end); \
		return r;                                                                     \
	}                                                                                     \
	__noinline __u32 vm_flow_inner_##name(ctx_type *ctx, __u32 off, struct vm_flow *f)      \
	{                                                                                     \
		if (f)                                                                        \
			vm_flow_inner(f, (void *)(long)ctx->data, (void *)(long)ctx->data_end, off); \
		return 0;                                                                     \
	}

VM_DEFINE_FLOW_READERS(struct xdp_md, xdp)
VM_DEFINE_FLOW_READERS(struct __sk_buff, skb)

/* The upper layer, and an ICMP error's quoted packet: global calls. */
static __always_inline __u32 vm_flow_upper(void *ctx, enum vm_ctx_kind kind, struct vm_flow *f,
					   __u32 l4, __u32 end)
{
	__u32 r = kind == VM_CTX_SKB ? vm_flow_l4_skb(ctx, l4, end, f) : vm_flow_l4_xdp(ctx, l4, end, f);

	if (r == VM_PASS && f->kind == VM_FLOW_ICMP_ERROR) {
		if (kind == VM_CTX_SKB)
			vm_flow_inner_skb(ctx, l4 + 8, f);
		else
			vm_flow_inner_xdp(ctx, l4 + 8, f);
	}
	return r;
}

static __always_inline __u32 vm_flow_ip4(void *ctx, enum vm_ctx_kind kind, struct vm_flow *f,
					 void *data, void *data_end)
{
	struct iphdr *ip = data + sizeof(struct ethhdr);
	__u32 hlen, tot;
	__u16 frag;

	if ((void *)(ip + 1) > data_end || ip->ihl < 5)
		return VM_DROP_MALFORMED;
	hlen = ip->ihl * 4;
	tot = vm_be16(ip->tot_len);
	if (tot < hlen || (void *)ip + tot > data_end)
		return VM_DROP_MALFORMED;
	f->key.family = 4;
	f->key.proto = ip->protocol;
	f->no_track = vm_ip4_group(ip->daddr);
	if (f->dir == VM_DIR_FROM_VM && ip->protocol == IPPROTO_UDP) {
		struct udphdr *udp = (void *)ip + hlen;

		/* A DHCP client's messages: the guard judged them already. */
		if ((void *)(udp + 1) <= data_end && vm_dhcp_client(4, udp->source, udp->dest))
			f->kind = VM_FLOW_EXEMPT;
	}
	if (f->dir == VM_DIR_FROM_VM && !ip->saddr)
		f->kind = VM_FLOW_EXEMPT; /* the guard let only DHCP through */
	frag = bpf_ntohs(ip->frag_off);
	f->frag_id = bpf_ntohs(ip->id);
	vm_flow_roles(&f->key, f->dir, &ip->saddr, &ip->daddr, 4, 0, 0);
	/* RFC 1858 section 4: a TCP fragment at offset 8 bytes could rewrite
	 * the flags of the header the rules judged. */
	if ((frag & 0x1fff) == 1 && ip->protocol == IPPROTO_TCP)
		return VM_DROP_MALFORMED;
	if (frag & 0x1fff) {
		f->kind = VM_FLOW_LATER_FRAG;
		return VM_PASS;
	}
	f->first_frag = !!(frag & 0x2000);
	if (f->kind == VM_FLOW_EXEMPT)
		return VM_PASS;
	return vm_flow_upper(ctx, kind, f, sizeof(struct ethhdr) + hlen, sizeof(struct ethhdr) + tot);
}

/* The caller has taken the IPv6 header chain apart into `c`. */
static __always_inline __u32 vm_flow_ip6(void *ctx, enum vm_ctx_kind kind, struct vm_flow *f,
					 void *data, void *data_end, const struct ip6_chain *c)
{
	struct ipv6hdr *ip6 = data + sizeof(struct ethhdr);
	__u32 end;

	if ((void *)(ip6 + 1) > data_end)
		return VM_DROP_MALFORMED;
	end = sizeof(struct ethhdr) + sizeof(*ip6) + vm_be16(ip6->payload_len);
	f->key.family = 6;
	f->key.proto = c->proto;
	f->no_track = vm_ip6_group(&ip6->daddr);
	f->frag_id = c->frag_id;
	vm_flow_roles(&f->key, f->dir, &ip6->saddr, &ip6->daddr, 16, 0, 0);
	if (c->later_frag) {
		f->kind = VM_FLOW_LATER_FRAG;
		f->key.proto = c->frag_proto;
		return VM_PASS;
	}
	f->first_frag = c->first_frag;
	if (f->dir == VM_DIR_FROM_VM && ip6_unspecified(&ip6->saddr))
		f->kind = VM_FLOW_EXEMPT; /* DAD, RS, MLD: judged by the guard */
	if (f->dir == VM_DIR_FROM_VM && c->proto == IPPROTO_ICMPV6 && sizeof(struct ethhdr) + c->off + 1 <= end) {
		__u8 *icmp = (void *)ip6 + vm_off(c->off);

		/* Neighbour discovery and MLD: judged by the guard. */
		if ((void *)(icmp + 1) <= data_end &&
		    ((icmp[0] >= ICMPV6_MLD_QUERY_ && icmp[0] <= ICMPV6_REDIRECT) ||
		     icmp[0] == ICMPV6_MLD2_REPORT_))
			f->kind = VM_FLOW_EXEMPT;
	}
	if (f->dir == VM_DIR_FROM_VM && c->proto == IPPROTO_UDP) {
		struct udphdr *udp = (void *)ip6 + vm_off(c->off);

		/* A DHCPv6 client's messages. */
		if ((void *)(udp + 1) <= data_end && vm_dhcp_client(6, udp->source, udp->dest))
			f->kind = VM_FLOW_EXEMPT;
	}
	if (f->kind == VM_FLOW_EXEMPT)
		return VM_PASS;
	if (c->proto == IPPROTO_NONE)
		return VM_PASS; /* a first fragment with nothing after: rules by protocol */
	return vm_flow_upper(ctx, kind, f, sizeof(struct ethhdr) + c->off, end);
}

/* The flow of the frame at ctx, going `dir`; the caller has checked its
 * Ethernet and IP headers for the direction (the slot firewall's address
 * checks, or the guard). Anything neither IPv4 nor IPv6 is exempt (ARP). */
static __always_inline __u32 vm_flow_parse(void *ctx, enum vm_ctx_kind kind, struct vm_flow *f)
{
	void *data = vm_ctx_data(ctx, kind), *data_end = vm_ctx_data_end(ctx, kind);
	struct ethhdr *eth = data;
	struct ip6_chain c = {};
	struct ipv6hdr *ip6;
	__u32 reason, end;

	if ((void *)(eth + 1) > data_end)
		return VM_DROP_MALFORMED;
	if (eth->h_proto == bpf_htons(ETH_P_IP))
		return vm_flow_ip4(ctx, kind, f, data, data_end);
	if (eth->h_proto != bpf_htons(ETH_P_IPV6)) {
		f->kind = VM_FLOW_EXEMPT;
		return VM_PASS;
	}
	ip6 = (void *)(eth + 1);
	if ((void *)(ip6 + 1) > data_end)
		return VM_DROP_MALFORMED;
	end = sizeof(*ip6) + vm_be16(ip6->payload_len);
	if ((void *)ip6 + end > data_end)
		return VM_DROP_MALFORMED;
	if (is_ext_hdr(ip6->nexthdr)) {
		reason = vm_ip6_walk(ctx, kind, sizeof(*eth), end, &c);
		if (reason != VM_PASS)
			return reason;
		data = vm_ctx_data(ctx, kind);
		data_end = vm_ctx_data_end(ctx, kind);
	} else {
		c.off = sizeof(*ip6);
		c.proto = ip6->nexthdr;
	}
	return vm_flow_ip6(ctx, kind, f, data, data_end, &c);
}

#endif
