/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* A VM's traffic policy, written once and compiled into the XDP and tc
 * programs of bpf/vm_firewall.bpf.c, which share one set of maps per VM:
 *   vm_policy_to_vm()    what may reach the VM (its slot firewall);
 *   vm_policy_from_vm()  what the VM may send (the port-security guard).
 * The rules, with their RFCs: docs/port-security.md. Every header read is
 * bounds-checked; malformed frames are dropped and counted, never read past
 * data_end. */
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

#include "vm_maps.h"
#include "vm_policy_types.h"

/* The VM's identity: its MAC, the tap's MAC, what it may act as. */
VM_MAP_DEF(vm_identity, {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct vm_identity);
});

/* The MACs the VM may send as: its own and its allowed pairs'. */
VM_MAP_DEF(vm_macs, {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VM_MAX_MACS);
	__type(key, struct vm_mac);
	__type(value, __u8);
});

/* Addresses owned by (MAC, family): exact ones, then prefixes. The control
 * plane also files each under the all-zero MAC, meaning "owned by one of the
 * VM's MACs" (for frames to a group address); the guard never looks that up,
 * since a zero source MAC is never an allowed MAC. */
VM_MAP_DEF(vm_owned, {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VM_MAX_ADDRS);
	__type(key, struct vm_owned);
	__type(value, __u8);
});

VM_MAP_DEF(vm_owned_prefixes, {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, VM_MAX_OWNED_PREFIXES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct vm_owned_prefix);
	__type(value, __u8);
});

/* Verdict counters: [path][reason], per CPU. */
VM_MAP_DEF(verdicts, {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VM_PATHS * VM_REASONS);
	__type(key, __u32);
	__type(value, struct vm_count);
});

static __always_inline void vm_count(__u32 path, __u32 reason, __u64 bytes)
{
	__u32 key = path * VM_REASONS + reason;
	struct vm_count *c = vm_map_lookup(verdicts, &key);

	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
}

/* Three 16-bit loads a side: every MAC the policy compares sits at an even
 * offset (Ethernet header, ARP sha, ND options, map values). */
static __always_inline int mac_eq(const __u8 *a, const __u8 *b)
{
	const __u16 *x = (const void *)a, *y = (const void *)b;

	return !((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]));
}

/* The same, copying: clang copies a packed struct's bytes one at a time. */
static __always_inline void mac_copy(__u8 *dst, const __u8 *src)
{
	__u16 *d = (void *)dst;
	const __u16 *s = (const void *)src;

	d[0] = s[0];
	d[1] = s[1];
	d[2] = s[2];
}

static __always_inline struct vm_identity *vm_id(void)
{
	__u32 zero = 0;

	return vm_map_lookup(vm_identity, &zero);
}

/* Is `mac` one the VM may send as (or receive on)? */
static __always_inline int vm_mac_allowed(const struct vm_identity *id, const __u8 *mac)
{
	struct vm_mac k = {};

	if (mac_eq(mac, id->mac))
		return 1;
	mac_copy(k.mac, mac);
	return vm_map_lookup(vm_macs, &k) != NULL;
}

/* Is the address owned by `mac` (the all-zero MAC: by any of the VM's)? */
/* The exact lookup first (most frames come from an address of their own);
 * the prefix key is built only when it misses. */
static __always_inline int vm_owns_prefix(const struct vm_owned *key)
{
	struct vm_owned_prefix k = { .prefixlen = VM_OWNED_FIXED_BITS + 128, .key = *key };

	return vm_map_lookup(vm_owned_prefixes, &k) != NULL;
}

static __always_inline int vm_owns4(const __u8 *mac, __be32 addr)
{
	struct vm_owned k = { .family = 4 };

	mac_copy(k.mac, mac);
	__builtin_memcpy(k.addr, &addr, 4);
	if (vm_map_lookup(vm_owned, &k))
		return 1;
	return vm_owns_prefix(&k);
}

static __always_inline int vm_owns6(const __u8 *mac, const void *addr)
{
	struct vm_owned k = { .family = 6 };

	mac_copy(k.mac, mac);
	__builtin_memcpy(k.addr, addr, 16);
	if (vm_map_lookup(vm_owned, &k))
		return 1;
	return vm_owns_prefix(&k);
}

static const __u8 vm_any_mac[6] = {};

#define ICMPV6_RS 133
#define ICMPV6_RA 134
#define ICMPV6_NS 135
#define ICMPV6_NA 136
#define ICMPV6_REDIRECT 137
#define ICMPV6_MLD2_REPORT 143
#define ND_OPT_SLLA 1
#define ND_OPT_TLLA 2

/* Ethernet/IPv4 ARP (RFC 826). */
struct vm_arp {
	__be16 htype;
	__be16 ptype;
	__u8 hlen;
	__u8 plen;
	__be16 op;
	__u8 sha[6];
	__u8 spa[4];
	__u8 tha[6];
	__u8 tpa[4];
} __attribute__((packed));

/* ---- The guard: VM -> anywhere (docs/port-security.md, "The guard") ---- */

/* Packet offsets are kept below this so the verifier can bound pointers
 * built from them; no XDP frame or pulled skb header is that long. */
#define VM_OFF_MAX 0x3fff

/* A 16-bit length field in host order, with its bound where the verifier
 * can see it: 6.12's verifier forgets a register's bounds across a byte
 * swap (6.18's keeps them), so a packet pointer plus tot_len was refused. */
static __always_inline __u32 vm_be16(__be16 v)
{
	__u32 x = bpf_ntohs(v);

	asm volatile("" : "+r"(x));
	return x & 0xffff;
}

/* An offset already checked against VM_OFF_MAX, masked so the verifier sees
 * the bound too: clang drops a plain mask it can prove redundant, and
 * reloads spilled offsets without their bounds. */
static __always_inline __u32 vm_off(__u32 off)
{
	asm volatile("" : "+r"(off));
	return off & VM_OFF_MAX;
}

static __always_inline __u32 guard_arp(const struct ethhdr *eth, void *data_end)
{
	struct vm_arp *arp = (void *)(eth + 1);
	__be32 spa, tpa;
	__u16 op;

	if ((void *)(arp + 1) > data_end)
		return VM_DROP_MALFORMED;
	op = bpf_ntohs(arp->op);
	if (arp->htype != bpf_htons(1) || arp->ptype != bpf_htons(ETH_P_IP) || arp->hlen != 6 ||
	    arp->plen != 4 || (op != 1 && op != 2))
		return VM_DROP_MALFORMED;
	if (!mac_eq(arp->sha, eth->h_source))
		return VM_DROP_ARP_SPOOF;
	__builtin_memcpy(&spa, arp->spa, 4);
	__builtin_memcpy(&tpa, arp->tpa, 4);
	if (!spa) /* RFC 5227 probe: only for an address of its own */
		return op == 1 && vm_owns4(eth->h_source, tpa) ? VM_PASS : VM_DROP_ARP_SPOOF;
	return vm_owns4(eth->h_source, spa) ? VM_PASS : VM_DROP_ARP_SPOOF;
}

static __always_inline __u32 guard_ip4(const struct vm_identity *id, const struct ethhdr *eth,
				       void *data_end)
{
	struct iphdr *ip = (void *)(eth + 1);
	__u32 hlen, tot, l4 = VM_PASS;
	struct udphdr *udp;
	__u16 frag;

	if ((void *)(ip + 1) > data_end || ip->version != 4 || ip->ihl < 5)
		return VM_DROP_MALFORMED;
	hlen = ip->ihl * 4;
	tot = vm_be16(ip->tot_len);
	if (tot < hlen || (void *)ip + tot > data_end)
		return VM_DROP_MALFORMED;
	frag = bpf_ntohs(ip->frag_off);
	udp = (void *)ip + hlen;
	if (!ip->saddr) {
		/* DHCP discover/request of a client with no address yet. */
		if ((frag & 0x3fff) || ip->protocol != IPPROTO_UDP || hlen + 8 > tot ||
		    (void *)(udp + 1) > data_end)
			return VM_DROP_UNSPEC_SRC;
		if (udp->source != bpf_htons(68) || udp->dest != bpf_htons(67) ||
		    ip->daddr != 0xffffffff)
			return VM_DROP_UNSPEC_SRC;
		return VM_PASS;
	}
	/* The L4 verdict first, the source's after it (it comes first in the
	 * spec): less is live across the lookup. */
	if (ip->protocol == IPPROTO_UDP && !(frag & 0x1fff)) {
		if (hlen + 8 > tot || (void *)(udp + 1) > data_end)
			l4 = VM_DROP_MALFORMED;
		else if (udp->source == bpf_htons(67) && !(id->flags & VM_MAY_SERVE_DHCP))
			l4 = VM_DROP_DHCP_GUARD;
	}
	return vm_owns4(eth->h_source, ip->saddr) ? l4 : VM_DROP_IP_SPOOF;
}

/* What the extension-header walk found. Offsets count from the IPv6 header. */
struct ip6_chain {
	__u32 off;      /* the upper-layer header */
	__u8 proto;     /* its protocol */
	__u8 fragmented;
	__u8 first_frag; /* a Fragment header with offset 0 and M = 1 */
	__u8 later_frag; /* offset > 0: no upper layer here */
	__u8 frag_proto; /* a later fragment's: its Fragment header's next header */
	__u32 frag_id;   /* the last Fragment header's identification */
};

static __always_inline int is_ext_hdr(__u8 nh)
{
	return nh == IPPROTO_HOPOPTS || nh == IPPROTO_ROUTING || nh == IPPROTO_FRAGMENT ||
	       nh == IPPROTO_DSTOPTS || nh == IPPROTO_AH;
}

/* Walk the extension headers of the IPv6 packet at offset l3 of the frame,
 * `end` bytes long. */
/* One step of the walk: the header at `off`, if it is an extension header.
 * A bpf_loop() callback, verified once rather than once per header. */
struct ip6_walk_state {
	void *data, *data_end;
	struct ip6_chain *c;
	__u32 l3, end, off, result;
	__u8 nh;
};

static long ip6_walk_step(__u32 i, void *arg)
{
	struct ip6_walk_state *w = arg;
	struct ip6_chain *c = w->c;
	__u32 off = w->off, len;
	__u8 *h;

	if (!is_ext_hdr(w->nh) || !c)
		return 1;
	if (i == VM_MAX_EXT_HDRS)
		goto fail_ext;
	if (off + 8 > w->end || off > VM_OFF_MAX || w->l3 > 64)
		goto fail;
	h = w->data + w->l3 + vm_off(off);
	if ((void *)(h + 8) > w->data_end)
		goto fail;
	if (w->nh == IPPROTO_FRAGMENT) {
		__u16 fo = (h[2] << 8 | h[3]);

		c->fragmented = 1;
		c->frag_id = (__u32)h[4] << 24 | (__u32)h[5] << 16 | (__u32)h[6] << 8 | h[7];
		if (fo & 0xfff8) {
			c->frag_proto = h[0];
			c->later_frag = 1;
			w->nh = 0; /* stop, with nothing after */
			return 1;
		}
		c->first_frag |= fo & 1; /* any of them, if there are several */
		len = 8;
	} else if (w->nh == IPPROTO_AH) {
		len = (h[1] + 2) * 4;
	} else {
		len = (h[1] + 1) * 8;
	}
	if (off + len > w->end)
		goto fail;
	w->nh = h[0];
	w->off = off + len;
	return 0;
fail_ext:
	w->result = VM_DROP_EXT_HDR;
	return 1;
fail:
	w->result = VM_DROP_MALFORMED;
	return 1;
}

static __always_inline __u32 ip6_walk(void *data, void *data_end, __u32 l3, __u32 end,
				      struct ip6_chain *c)
{
	struct ip6_walk_state w = {
		.data = data, .data_end = data_end, .c = c, .l3 = l3, .end = end,
		.off = sizeof(struct ipv6hdr), .result = VM_PASS,
	};

	if (l3 > 64 || data + l3 + sizeof(struct ipv6hdr) > data_end)
		return VM_DROP_MALFORMED;
	w.nh = ((struct ipv6hdr *)(data + l3))->nexthdr;
	/* Header i for i = 0..7, and an eighth that names a ninth: ext-hdr. */
	bpf_loop(VM_MAX_EXT_HDRS + 1, ip6_walk_step, &w, 0);
	if (w.result != VM_PASS || c->later_frag)
		return w.result;
	c->off = w.off;
	c->proto = w.nh;
	return VM_PASS;
}

/* The ND option walk's input (the frame's source MAC) and findings. */
struct nd_opts {
	__u8 src_mac[6];
	__u8 slla;      /* an SLLA option is present */
	__u8 bad_slla;  /* one is not length 1 or not the source MAC */
	__u8 bad_tlla;
	__u8 pad[3];
};

static __always_inline int nd_fixed_len(__u8 type)
{
	switch (type) {
	case ICMPV6_RS: return 8;
	case ICMPV6_RA: return 16;
	case ICMPV6_NS: return 24;
	case ICMPV6_NA: return 24;
	case ICMPV6_REDIRECT: return 40;
	}
	return 0;
}

/* Options from frame offset `off` to `end` (RFC 4861 section 4.6). */
/* One option of the walk, a bpf_loop() callback as ip6_walk_step(). */
struct nd_walk_state {
	void *data, *data_end;
	struct nd_opts *o;
	__u32 off, end, result;
};

static long nd_walk_step(__u32 i, void *arg)
{
	struct nd_walk_state *w = arg;
	struct nd_opts *o = w->o;
	__u32 off = w->off, len;
	__u8 *opt;

	if (off >= w->end) {
		w->result = VM_PASS;
		return 1;
	}
	if (!o || i == VM_MAX_ND_OPTS || off + 2 > w->end || off > VM_OFF_MAX)
		return 1; /* result stays malformed */
	opt = w->data + vm_off(off);
	if ((void *)(opt + 2) > w->data_end)
		return 1;
	len = opt[1] * 8;
	if (!len || off + len > w->end)
		return 1;
	if (opt[0] == ND_OPT_SLLA || opt[0] == ND_OPT_TLLA) {
		__u8 bad = len != 8 || (void *)(opt + 8) > w->data_end || !mac_eq(opt + 2, o->src_mac);

		if (opt[0] == ND_OPT_SLLA) {
			o->slla = 1;
			o->bad_slla |= bad;
		} else {
			o->bad_tlla |= bad;
		}
	}
	w->off = off + len;
	return 0;
}

/* Options from frame offset `off` to `end` (RFC 4861 section 4.6): at most
 * VM_MAX_ND_OPTS, then the end. */
static __always_inline __u32 nd_walk(void *data, void *data_end, __u32 off, __u32 end,
				     struct nd_opts *o)
{
	struct nd_walk_state w = {
		.data = data, .data_end = data_end, .o = o, .off = off, .end = end,
		.result = VM_DROP_MALFORMED,
	};

	bpf_loop(VM_MAX_ND_OPTS + 1, nd_walk_step, &w, 0);
	return w.result;
}

/* The walks are global functions, verified once on their own: inlined,
 * their loops multiply each other's verifier states past the limit. They
 * take the context, since a packet pointer cannot cross a global call. */
#define VM_DEFINE_WALKS(ctx_type, name)                                                       \
	__noinline __u32 vm_ip6_walk_##name(ctx_type *ctx, __u32 l3, __u32 end,                 \
					    struct ip6_chain *c)                               \
	{                                                                                     \
		if (!c)                                                                       \
			return VM_DROP_MALFORMED;                                             \
		return ip6_walk((void *)(long)ctx->data, (void *)(long)ctx->data_end, l3, end, c); \
	}                                                                                     \
	__noinline __u32 vm_nd_walk_##name(ctx_type *ctx, __u32 off, __u32 end,                 \
					   struct nd_opts *o)                                  \
	{                                                                                     \
		if (!o)                                                                       \
			return VM_DROP_MALFORMED;                                             \
		return nd_walk((void *)(long)ctx->data, (void *)(long)ctx->data_end, off, end, o); \
	}

VM_DEFINE_WALKS(struct xdp_md, xdp)
VM_DEFINE_WALKS(struct __sk_buff, skb)

/* Which program kind calls the policy: picks the walks built for its ctx. */
enum vm_ctx_kind { VM_CTX_XDP, VM_CTX_SKB };

static __always_inline __u32 vm_ip6_walk(void *ctx, enum vm_ctx_kind kind, __u32 l3, __u32 end,
					 struct ip6_chain *c)
{
	return kind == VM_CTX_SKB ? vm_ip6_walk_skb(ctx, l3, end, c) : vm_ip6_walk_xdp(ctx, l3, end, c);
}

static __always_inline __u32 vm_nd_walk(void *ctx, enum vm_ctx_kind kind, __u32 off, __u32 end,
					struct nd_opts *o)
{
	return kind == VM_CTX_SKB ? vm_nd_walk_skb(ctx, off, end, o) : vm_nd_walk_xdp(ctx, off, end, o);
}

/* Is `dst` the solicited-node multicast address of `target` (RFC 4291)? */
static __always_inline int is_solicited_node(const __u8 *dst, const __u8 *target)
{
	static const __u8 prefix[13] = { 0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff };
	int i;

	for (i = 0; i < 13; i++)
		if (dst[i] != prefix[i])
			return 0;
	return dst[13] == target[13] && dst[14] == target[14] && dst[15] == target[15];
}

static __always_inline int ip6_unspecified(const struct in6_addr *a)
{
	return !(a->in6_u.u6_addr32[0] | a->in6_u.u6_addr32[1] | a->in6_u.u6_addr32[2] |
		 a->in6_u.u6_addr32[3]);
}

static __always_inline void *vm_ctx_data(void *ctx, enum vm_ctx_kind kind)
{
	return kind == VM_CTX_SKB ? (void *)(long)((struct __sk_buff *)ctx)->data
				  : (void *)(long)((struct xdp_md *)ctx)->data;
}

static __always_inline void *vm_ctx_data_end(void *ctx, enum vm_ctx_kind kind)
{
	return kind == VM_CTX_SKB ? (void *)(long)((struct __sk_buff *)ctx)->data_end
				  : (void *)(long)((struct xdp_md *)ctx)->data_end;
}

/* A global call invalidates packet pointers: get the IPv6 header again. */
static __always_inline struct ipv6hdr *vm_reload_ip6(void *ctx, enum vm_ctx_kind kind, void **data_end)
{
	struct ipv6hdr *ip6 = vm_ctx_data(ctx, kind) + sizeof(struct ethhdr);

	*data_end = vm_ctx_data_end(ctx, kind);
	return (void *)(ip6 + 1) > *data_end ? NULL : ip6;
}

static __always_inline __u32 guard_ip6(void *ctx, enum vm_ctx_kind kind, const struct vm_identity *id,
				       const struct ethhdr *eth, void *data_end)
{
	struct ipv6hdr *ip6 = (void *)(eth + 1);
	struct ip6_chain c = {};
	struct nd_opts o = {};
	__u8 src_mac[6], type = 0, *icmp = NULL;
	__u32 end, reason, l4 = VM_PASS;
	int unspec, fixed = 0;

	if ((void *)(ip6 + 1) > data_end || ip6->version != 6)
		return VM_DROP_MALFORMED;
	end = sizeof(*ip6) + vm_be16(ip6->payload_len);
	if ((void *)ip6 + end > data_end)
		return VM_DROP_MALFORMED;
	if (ip6->saddr.in6_u.u6_addr8[0] == 0xff)
		return VM_DROP_IP_SPOOF;
	mac_copy(src_mac, eth->h_source);
	if (is_ext_hdr(ip6->nexthdr)) {
		reason = vm_ip6_walk(ctx, kind, sizeof(*eth), end, &c);
		if (reason != VM_PASS)
			return reason;
		ip6 = vm_reload_ip6(ctx, kind, &data_end);
		if (!ip6)
			return VM_DROP_MALFORMED;
	} else { /* most packets: no call to walk what is not there */
		c.off = sizeof(*ip6);
		c.proto = ip6->nexthdr;
	}
	unspec = ip6_unspecified(&ip6->saddr);
	if (c.later_frag) {
		if (unspec)
			return VM_DROP_UNSPEC_SRC;
		return vm_owns6(src_mac, &ip6->saddr) ? VM_PASS : VM_DROP_IP_SPOOF;
	}
	if (c.first_frag && c.proto != IPPROTO_NONE && c.off + 8 > end)
		return VM_DROP_EXT_HDR; /* RFC 7112 */
	if (c.off > VM_OFF_MAX)
		return VM_DROP_MALFORMED;

	if (c.proto == IPPROTO_ICMPV6) {
		if (c.off + 4 > end)
			return VM_DROP_MALFORMED;
		icmp = (void *)ip6 + vm_off(c.off);
		if ((void *)(icmp + 4) > data_end)
			return VM_DROP_MALFORMED;
		type = icmp[0];
		fixed = nd_fixed_len(type);
		if (fixed) {
			if (c.off + fixed > end)
				return VM_DROP_MALFORMED;
			if (c.fragmented)
				return VM_DROP_FRAGMENT; /* RFC 6980 */
			mac_copy(o.src_mac, src_mac);
			reason = vm_nd_walk(ctx, kind, sizeof(*eth) + c.off + fixed, sizeof(*eth) + end, &o);
			if (reason != VM_PASS)
				return reason;
			ip6 = vm_reload_ip6(ctx, kind, &data_end);
			if (!ip6)
				return VM_DROP_MALFORMED;
			icmp = (void *)ip6 + vm_off(c.off);
			/* NS and NA: their target is read below. */
			if (fixed >= 24 && (void *)(icmp + 24) > data_end)
				return VM_DROP_MALFORMED;
		}
	}

	if (unspec) {
		if (c.proto != IPPROTO_ICMPV6 || c.fragmented || !icmp)
			return VM_DROP_UNSPEC_SRC;
		if (type == ICMPV6_NS) {
			if ((void *)(icmp + 24) > data_end)
				return VM_DROP_MALFORMED;
			if (!is_solicited_node(ip6->daddr.in6_u.u6_addr8, icmp + 8))
				return VM_DROP_UNSPEC_SRC;
			if (o.slla || !vm_owns6(src_mac, icmp + 8))
				return VM_DROP_ND_SPOOF;
			return VM_PASS;
		}
		if (type == ICMPV6_MLD2_REPORT) /* to ff02::16, all MLDv2 routers */
			return ip6->daddr.in6_u.u6_addr32[0] == bpf_htonl(0xff020000) &&
			       !ip6->daddr.in6_u.u6_addr32[1] && !ip6->daddr.in6_u.u6_addr32[2] &&
			       ip6->daddr.in6_u.u6_addr32[3] == bpf_htonl(0x16) ? VM_PASS : VM_DROP_UNSPEC_SRC;
		if (type == ICMPV6_RS)
			return o.slla ? VM_DROP_ND_SPOOF : VM_PASS;
		return VM_DROP_UNSPEC_SRC;
	}
	/* The UDP verdict before the source lookup, as for IPv4. */
	if (c.proto == IPPROTO_UDP) {
		struct udphdr *udp = (void *)ip6 + vm_off(c.off);

		if (c.off + 8 > end || (void *)(udp + 1) > data_end)
			l4 = VM_DROP_MALFORMED;
		else if (udp->source == bpf_htons(547) && !(id->flags & VM_MAY_SERVE_DHCP))
			l4 = VM_DROP_DHCP_GUARD;
	}
	if (!vm_owns6(src_mac, &ip6->saddr))
		return VM_DROP_IP_SPOOF;

	if (fixed) {
		if ((type == ICMPV6_RA || type == ICMPV6_REDIRECT) && !(id->flags & VM_MAY_ROUTE))
			return VM_DROP_RA_GUARD; /* RFC 6105 */
		if (type == ICMPV6_RS || type == ICMPV6_RA || type == ICMPV6_NS)
			return o.bad_slla ? VM_DROP_ND_SPOOF : VM_PASS;
		if (type == ICMPV6_NA) {
			if (!icmp || (void *)(icmp + 24) > data_end)
				return VM_DROP_MALFORMED;
			if (!vm_owns6(src_mac, icmp + 8) || o.bad_tlla)
				return VM_DROP_ND_SPOOF;
		}
		return VM_PASS;
	}
	return l4;
}

/* The VM -> anywhere port security: the frame must come from one of the
 * VM's MACs and claim, at every layer, only what that MAC owns. `id` is
 * vm_id(), looked up by the caller, which forwards with it too. */
static __always_inline __u32 vm_policy_from_vm(void *ctx, enum vm_ctx_kind kind,
					       const struct vm_identity *id, void *data,
					       void *data_end)
{
	struct ethhdr *eth = data;
	__u16 proto;

	if ((void *)(eth + 1) > data_end)
		return VM_DROP_MALFORMED;
	if (!id || !vm_mac_allowed(id, eth->h_source))
		return VM_DROP_MAC_SPOOF;
	proto = bpf_ntohs(eth->h_proto);
	if (proto == ETH_P_8021Q || proto == ETH_P_8021AD || proto == 0x9100)
		return VM_DROP_VLAN;
	if (proto == ETH_P_ARP)
		return guard_arp(eth, data_end);
	if (proto == ETH_P_IP)
		return guard_ip4(id, eth, data_end);
	if (proto == ETH_P_IPV6)
		return guard_ip6(ctx, kind, id, eth, data_end);
	return VM_DROP_PROTO;
}

/* Returned by vm_to_vm_addresses(): the addresses are the VM's, the
 * security groups decide. */
#define VM_TO_SECGROUPS VM_REASONS

/* What may reach the VM by its addresses: the Ethernet destination one of
 * its MACs (or a group), the IP or ARP target owned by that MAC. */
static __always_inline __u32 vm_to_vm_addresses(void *data, void *data_end,
						const struct vm_identity *id)
{
	struct ethhdr *eth = data;
	const __u8 *owner;
	__u16 proto;
	int group;

	if ((void *)(eth + 1) > data_end)
		return VM_DROP_MALFORMED;
	proto = bpf_ntohs(eth->h_proto);
	if (proto == ETH_P_8021Q || proto == ETH_P_8021AD)
		return VM_DROP_VLAN; /* the tap is an untagged access port */

	/* Unicast must be for one of the VM's MACs, and its address owned by
	 * that MAC; a group frame's target by any of them. Group frames pass
	 * only for ARP and ICMPv6 (neighbour discovery). */
	group = eth->h_dest[0] & 1;
	if (!group && !vm_mac_allowed(id, eth->h_dest))
		return VM_DROP_DST_MAC;
	owner = group ? vm_any_mac : eth->h_dest;

	if (proto == ETH_P_ARP) {
		struct vm_arp *arp = (void *)(eth + 1);
		__be32 tpa;

		if ((void *)(arp + 1) > data_end)
			return VM_DROP_MALFORMED;
		__builtin_memcpy(&tpa, arp->tpa, 4);
		return vm_owns4(owner, tpa) ? VM_PASS : VM_DROP_DST_IP;
	}
	if (proto == ETH_P_IP) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > data_end || ip->ihl < 5)
			return VM_DROP_MALFORMED;
		if ((void *)ip + ip->ihl * 4 > data_end)
			return VM_DROP_MALFORMED;
		if (group) {
			/* Only DHCP goes on to the rules: a server's reply to a
			 * client that asked for broadcast replies (RFC 2131
			 * 4.1), and a client's discover to a VM that serves. */
			struct udphdr *udp = (void *)ip + ip->ihl * 4;
			int reply, discover;

			if (ip->daddr != 0xffffffff || ip->protocol != IPPROTO_UDP ||
			    (void *)(udp + 1) > data_end)
				return VM_DROP_DST_MAC;
			reply = udp->source == bpf_htons(67) && udp->dest == bpf_htons(68);
			discover = udp->source == bpf_htons(68) && udp->dest == bpf_htons(67) &&
				   (id->flags & VM_MAY_SERVE_DHCP);
			if (!reply && !discover)
				return VM_DROP_DST_MAC;
		} else if (!vm_owns4(owner, ip->daddr)) {
			return VM_DROP_DST_IP;
		}
		return VM_TO_SECGROUPS;
	}
	if (proto == ETH_P_IPV6) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);
		__u8 *icmp = (void *)(ip6 + 1);

		if ((void *)(ip6 + 1) > data_end)
			return VM_DROP_MALFORMED;
		/* To a group MAC: ICMPv6 (neighbour discovery), or a DHCPv6
		 * client's message to All_DHCP_Relay_Agents_and_Servers
		 * (ff02::1:2) for a VM that serves. */
		if (group && ip6->nexthdr != IPPROTO_ICMPV6) {
			struct udphdr *udp = (void *)(ip6 + 1);

			if (!(id->flags & VM_MAY_SERVE_DHCP) || ip6->nexthdr != IPPROTO_UDP ||
			    (void *)(udp + 1) > data_end || udp->dest != bpf_htons(547) ||
			    ip6->daddr.in6_u.u6_addr32[0] != bpf_htonl(0xff020000) ||
			    ip6->daddr.in6_u.u6_addr32[1] || ip6->daddr.in6_u.u6_addr32[2] ||
			    ip6->daddr.in6_u.u6_addr32[3] != bpf_htonl(0x00010002))
				return VM_DROP_DST_MAC;
		}
		/* A multicast address names a group; any other must be the
		 * VM's, whatever MAC carried it. */
		if (ip6->daddr.in6_u.u6_addr8[0] != 0xff && !vm_owns6(owner, &ip6->daddr))
			return VM_DROP_DST_IP;
		/* Neighbour discovery from the link passes whatever the
		 * allow-lists say: without it the VM has no IPv6. */
		if (ip6->nexthdr == IPPROTO_ICMPV6 && ip6->hop_limit == 255 &&
		    (void *)(icmp + 1) <= data_end && icmp[0] >= ICMPV6_RS && icmp[0] <= ICMPV6_NA)
			return VM_PASS;
		return VM_TO_SECGROUPS;
	}
	return VM_DROP_PROTO;
}


/* ---- Security groups: both directions (docs/security-groups.md) ---- */

#include "vm_flow.h"
#include "vm_conntrack.h"
#include "vm_secgroup.h"
#include "vm_ct_fast.h"

/* The flow reader, a global function per context type like the walks. */
#define VM_DEFINE_FLOW_PARSE(ctx_type, name, kind)                                            \
	__noinline __u32 vm_flow_parse_##name(ctx_type *ctx, struct vm_flow *f)                  \
	{                                                                                     \
		if (!f)                                                                       \
			return VM_DROP_MALFORMED;                                             \
		return vm_flow_parse(ctx, kind, f);                                           \
	}

VM_DEFINE_FLOW_PARSE(struct xdp_md, xdp, VM_CTX_XDP)
VM_DEFINE_FLOW_PARSE(struct __sk_buff, skb, VM_CTX_SKB)

/* The security groups' verdict on the frame at ctx going `dir`. */
static __always_inline __u32 vm_secgroups(void *ctx, enum vm_ctx_kind kind, __u8 dir,
					  const struct vm_identity *id)
{
	struct vm_flow f;
	__u8 missed = 0;
	__u32 reason;

	if (vm_ct_fast(ctx, kind, dir, &missed))
		return VM_PASS;
	f = (struct vm_flow){
		.dir = dir, .id_flags = id->flags, .sg_rules = id->sg_rules, .ct_missed = missed
	};
	reason = kind == VM_CTX_SKB ? vm_flow_parse_skb(ctx, &f) : vm_flow_parse_xdp(ctx, &f);
	if (reason != VM_PASS)
		return reason;
	return vm_sg_judge(&f);
}

/* The host -> VM policy: the addresses, then the security groups. Returns
 * a vm_reason: VM_PASS or why it dropped. */
static __always_inline __u32 vm_policy_to_vm(void *ctx, enum vm_ctx_kind kind)
{
	struct vm_identity *id = vm_id();
	__u32 reason;

	if (!id)
		return VM_DROP_DST_MAC;
	reason = vm_to_vm_addresses(vm_ctx_data(ctx, kind), vm_ctx_data_end(ctx, kind), id);
	if (reason != VM_TO_SECGROUPS)
		return reason;
	return vm_secgroups(ctx, kind, VM_DIR_TO_VM, id);
}

/* The VM -> anywhere policy: port security, then the security groups. */
static __always_inline __u32 vm_policy_from_vm_sg(void *ctx, enum vm_ctx_kind kind,
						  const struct vm_identity *id)
{
	__u32 reason = vm_policy_from_vm(ctx, kind, id, vm_ctx_data(ctx, kind),
					 vm_ctx_data_end(ctx, kind));

	if (reason != VM_PASS || !id)
		return reason;
	return vm_secgroups(ctx, kind, VM_DIR_FROM_VM, id);
}

#endif
