/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* A VM's security groups: rules in both directions, stateful unless a rule
 * says otherwise, over the connection tracking of vm_conntrack.h. Part of
 * vm_policy.h. What a frame meets, in order (docs/security-groups.md):
 *   1. a later fragment passes if its first fragment did;
 *   2. an ICMP error passes if it quotes a tracked flow (related);
 *   3. a frame of a tracked flow passes if the flow's state allows it;
 *   4. otherwise the first rule that matches decides: a stateful rule opens
 *      a flow (TCP: only with a SYN), a stateless one passes the frame;
 *   5. nothing matched: dropped. */
#ifndef DEVMAP_EGRESS_BPF_VM_SECGROUP_H
#define DEVMAP_EGRESS_BPF_VM_SECGROUP_H

VM_MAP_DEF(vm_sg_rules, {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, VM_MAX_SG_RULES);
	__type(key, __u32);
	__type(value, struct vm_sg_rule);
});

/* Remote groups' addresses. One map for the whole host: the control plane
 * shares it between the VMs' objects and keeps it current. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VM_MAX_GROUP_MEMBERS);
	__type(key, struct vm_sg_member);
	__type(value, __u8);
} vm_sg_members SEC(".maps");

/* The to-VM allow-list, a compact form of stateful ingress rules: any
 * source in allow_src4/6 to any (protocol, destination port) in
 * allow_ports. Port 0 allows the whole protocol (how ICMP is allowed). */
VM_MAP_DEF(allow_src4, {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, VM_MAX_PREFIXES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct vm_prefix4);
	__type(value, __u8);
});

VM_MAP_DEF(allow_src6, {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, VM_MAX_PREFIXES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct vm_prefix6);
	__type(value, __u8);
});

VM_MAP_DEF(allow_ports, {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VM_MAX_PORTS);
	__type(key, struct vm_port);
	__type(value, __u8);
});

static __always_inline int port_allowed(__u8 proto, __u16 port)
{
	struct vm_port k = { .proto = proto, .port = port };

	if (vm_map_lookup(allow_ports, &k))
		return 1;
	k.port = 0;
	return vm_map_lookup(allow_ports, &k) != NULL;
}

/* The allow-list's verdict on a frame to the VM: VM_PASS, or which half
 * failed (VM_DROP_SRC, VM_DROP_PORT). */
static __always_inline __u32 allow_list(const struct vm_flow *f)
{
	__u16 port = 0;

	if (f->key.family == 4) {
		struct vm_prefix4 k = { .prefixlen = 32 };

		__builtin_memcpy(&k.addr, f->key.remote_addr, 4);
		if (!vm_map_lookup(allow_src4, &k))
			return VM_DROP_SRC;
	} else {
		struct vm_prefix6 k = { .prefixlen = 128 };

		__builtin_memcpy(k.addr, f->key.remote_addr, 16);
		if (!vm_map_lookup(allow_src6, &k))
			return VM_DROP_SRC;
	}
	if (f->kind == VM_FLOW_LATER_FRAG)
		return VM_DROP_PORT; /* no port to check */
	if (f->key.proto == IPPROTO_TCP || f->key.proto == IPPROTO_UDP)
		port = bpf_ntohs(f->key.vm_port);
	return port_allowed(f->key.proto, port) ? VM_PASS : VM_DROP_PORT;
}

static __always_inline int sg_remote_match(const struct vm_sg_rule *r, const struct vm_flow *f)
{
	const __u32 *a = (const void *)f->key.remote_addr, *net = (const void *)r->remote,
		    *mask = (const void *)r->remote_mask;

	if (r->flags & VM_SG_REMOTE_GROUP) {
		struct vm_sg_member m = { .group = r->remote_group, .family = f->key.family };

		__builtin_memcpy(m.addr, f->key.remote_addr, 16);
		return bpf_map_lookup_elem(&vm_sg_members, &m) != NULL;
	}
	return !(((a[0] & mask[0]) ^ net[0]) | ((a[1] & mask[1]) ^ net[1]) |
		 ((a[2] & mask[2]) ^ net[2]) | ((a[3] & mask[3]) ^ net[3]));
}

static __always_inline int sg_rule_match(const struct vm_sg_rule *r, const struct vm_flow *f)
{
	if (r->dir != f->dir || r->family != f->key.family)
		return 0;
	if (r->proto) {
		if (r->proto != f->key.proto)
			return 0;
		if (r->proto == IPPROTO_TCP || r->proto == IPPROTO_UDP) {
			__u16 port = bpf_ntohs(f->dir == VM_DIR_TO_VM ? f->key.vm_port : f->key.remote_port);

			if (f->kind == VM_FLOW_LATER_FRAG)
				return r->port_min == 0 && r->port_max == 0xffff;
			if (port < r->port_min || port > r->port_max)
				return 0;
		} else if (r->proto == IPPROTO_ICMP || r->proto == IPPROTO_ICMPV6) {
			if (f->kind == VM_FLOW_LATER_FRAG)
				return r->icmp_type == VM_SG_ANY && r->icmp_code == VM_SG_ANY;
			if (r->icmp_type != VM_SG_ANY && r->icmp_type != f->icmp_type)
				return 0;
			if (r->icmp_code != VM_SG_ANY && r->icmp_code != f->icmp_code)
				return 0;
		}
	}
	return sg_remote_match(r, f);
}

struct sg_scan {
	const struct vm_flow *f;
	__u32 match;
};

static long sg_scan_one(__u32 i, void *arg)
{
	struct sg_scan *s = arg;
	struct vm_sg_rule *r = vm_map_lookup(vm_sg_rules, &i);

	if (r && sg_rule_match(r, s->f)) {
		s->match = 1 + r->flags;
		return 1; /* stop */
	}
	return 0;
}

/* The first rule that matches: 0 none, else 1 + its flags. bpf_loop(): its
 * callback is verified once, where a loop would be verified per rule. */
static __always_inline __u32 sg_rules_match(const struct vm_flow *f)
{
	struct sg_scan s = { .f = f };
	__u32 n = f->sg_rules < VM_MAX_SG_RULES ? f->sg_rules : VM_MAX_SG_RULES;

	bpf_loop(n, sg_scan_one, &s, 0);
	return s.match;
}

/* Opens a tracked flow for a frame a stateful rule allowed. */
static __always_inline __u32 ct_open(const struct vm_flow *f, int had_entry, __u64 now)
{
	struct vm_ct_entry e = { .last_seen = now, .origin = f->dir };

	if (f->key.proto == IPPROTO_TCP) {
		if ((f->tcp_flags & (VM_TCP_SYN | VM_TCP_ACK | VM_TCP_RST | VM_TCP_FIN)) != VM_TCP_SYN)
			return VM_DROP_CT_INVALID; /* a flow starts with a SYN */
		e.state = VM_CT_SYN_SENT;
	}
	if (ct_insert(&f->key, &e))
		return VM_DROP_CT_FULL;
	if (!had_entry)
		ct_stat(VM_CT_STAT_CREATED);
	return VM_PASS;
}

/* The security groups' verdict on a frame, after the address checks of its
 * direction. A global function: verified once, whatever calls it. */
__noinline __u32 vm_sg_judge(struct vm_flow *f)
{
	struct vm_ct_config *cfg;
	struct vm_ct_entry *e;
	__u32 zero = 0, match, reason;
	int had_entry = 0;
	__u64 now;

	if (!f)
		return VM_DROP_MALFORMED;
	if (f->kind == VM_FLOW_EXEMPT)
		return VM_PASS;
	cfg = vm_map_lookup(vm_ct_config, &zero);
	if (!cfg)
		return VM_DROP_NO_RULE;
	now = ct_now();

	if (f->kind == VM_FLOW_LATER_FRAG) {
		if (frag_known(f, cfg, now)) {
			ct_stat(VM_CT_STAT_FRAGS);
			return VM_PASS;
		}
		/* A stateless rule for the whole protocol needs no first. */
		match = sg_rules_match(f);
		return match && ((match - 1) & VM_SG_STATELESS) ? VM_PASS : VM_DROP_FRAG_UNTRACKED;
	}

	if (f->kind == VM_FLOW_ICMP_ERROR && f->inner_ok) {
		e = ct_lookup(&f->inner);
		if (e && !ct_expired(e, f->inner.proto, cfg, now)) {
			ct_stat(VM_CT_STAT_RELATED);
			return VM_PASS;
		}
	}

	if (!f->no_track && f->kind != VM_FLOW_ICMP_ERROR && f->kind != VM_FLOW_ICMP_OTHER) {
		e = f->ct_missed ? NULL : ct_lookup(&f->key);
		if (e && ct_expired(e, f->key.proto, cfg, now)) {
			ct_delete(&f->key);
			ct_stat(VM_CT_STAT_EXPIRED);
			e = NULL;
		}
		if (e) {
			enum ct_verdict v = ct_update(e, f, now);

			if (v == CT_INVALID)
				return VM_DROP_CT_INVALID;
			if (v == CT_PASS) {
				if (f->first_frag)
					frag_remember(f, now);
				return VM_PASS;
			}
			had_entry = 1; /* CT_REOPEN: judged as new below */
		}
	}

	match = sg_rules_match(f);
	if (!match) {
		if (f->dir != VM_DIR_TO_VM)
			return VM_DROP_NO_RULE;
		reason = allow_list(f);
		if (reason != VM_PASS)
			return f->id_flags & VM_HAS_ALLOW_LIST ? reason : VM_DROP_NO_RULE;
		match = 1; /* the allow-list is stateful */
	}
	/* Stateless rules, and what never opens a flow: an error or other
	 * ICMP, an echo reply, a frame to a group address. */
	if (((match - 1) & VM_SG_STATELESS) || f->no_track || f->kind == VM_FLOW_ICMP_ERROR ||
	    f->kind == VM_FLOW_ICMP_OTHER || f->kind == VM_FLOW_ECHO_REPLY)
		reason = VM_PASS;
	else
		reason = ct_open(f, had_entry, now);
	if (reason == VM_PASS && f->first_frag)
		frag_remember(f, now);
	return reason;
}

#endif
