/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* A VM's connection tracking: flows by their key from the VM's side
 * (vm_flow.h) in LRU hashes (one per family) shared by the VM's slot
 * firewall, its tc twin and its guard, so a flow is one flow whether its
 * frames were XDP frames or skbs. Entries carry their last-seen time and
 * are honoured only within their state's timeout; an expired entry is
 * deleted when next met, and the LRU takes the oldest when the table is
 * full, so no sweeper is needed.
 * Semantics: docs/security-groups.md. */
#ifndef DEVMAP_EGRESS_BPF_VM_CONNTRACK_H
#define DEVMAP_EGRESS_BPF_VM_CONNTRACK_H

/* Flows by family: IPv4's keys are shorter, and so cheaper to hash. Each
 * table holds VmPolicy::conntrack_flows; a flow is always handled through
 * its struct vm_ct_key, which ct_lookup() and the others take apart. */
VM_MAP_DEF(vm_ct4, {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, VM_CT_DEFAULT_FLOWS); /* set before load */
	__type(key, struct vm_ct4_key);
	__type(value, struct vm_ct_entry);
});

VM_MAP_DEF(vm_ct6, {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, VM_CT_DEFAULT_FLOWS); /* set before load */
	__type(key, struct vm_ct_key);
	__type(value, struct vm_ct_entry);
});

/* Datagrams whose first fragment passed, by (family, protocol, direction,
 * id, addresses): value = last seen (ct_now()). */
VM_MAP_DEF(vm_frags, {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, VM_FRAG_FLOWS);
	__type(key, struct vm_frag_key);
	__type(value, __u64);
});

VM_MAP_DEF(vm_ct_config, {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct vm_ct_config);
});

VM_MAP_DEF(vm_ct_stats, {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VM_CT_STATS);
	__type(key, __u32);
	__type(value, __u64);
});

static __always_inline void ct_stat(__u32 which)
{
	__u64 *c = vm_map_lookup(vm_ct_stats, &which);

	if (c)
		(*c)++;
}

static __always_inline void ct4_key(struct vm_ct4_key *k4, const struct vm_ct_key *k)
{
	k4->proto = k->proto;
	k4->vm_port = k->vm_port;
	k4->remote_port = k->remote_port;
	k4->vm_addr = *(const __u32 *)k->vm_addr;
	k4->remote_addr = *(const __u32 *)k->remote_addr;
}

/* Each family's call stays its own: clang would otherwise merge the two
 * into one call on either map, which the verifier cannot inline (a plain
 * helper call, then an indirect one to the map's lookup). */
#define ct_call_apart() asm volatile("" ::: "memory")

/* The flow table's entry for `k`, in its family's table. */
static __always_inline struct vm_ct_entry *ct_lookup(const struct vm_ct_key *k)
{
	struct vm_ct_entry *e;

	if (k->family == 4) {
		struct vm_ct4_key k4 = {};

		ct4_key(&k4, k);
		e = vm_map_lookup(vm_ct4, &k4);
		ct_call_apart();
		return e;
	}
	return vm_map_lookup(vm_ct6, k);
}

static __always_inline long ct_insert(const struct vm_ct_key *k, const struct vm_ct_entry *e)
{
	long err;

	if (k->family == 4) {
		struct vm_ct4_key k4 = {};

		ct4_key(&k4, k);
		err = vm_map_update(vm_ct4, &k4, e, BPF_ANY);
		ct_call_apart();
		return err;
	}
	return vm_map_update(vm_ct6, k, e, BPF_ANY);
}

static __always_inline void ct_delete(const struct vm_ct_key *k)
{
	if (k->family == 4) {
		struct vm_ct4_key k4 = {};

		ct4_key(&k4, k);
		vm_map_delete(vm_ct4, &k4);
		ct_call_apart();
		return;
	}
	vm_map_delete(vm_ct6, k);
}

/* The time of a frame, in ticks (jiffies). Timeouts are seconds, so a
 * tick is fine enough, and the verifier inlines bpf_jiffies64() as one
 * load: a clock helper's call cost about a tenth of the stateless
 * firewall's whole time per frame. */
static __always_inline __u64 ct_now(void)
{
	return bpf_jiffies64();
}

static __always_inline int ct_expired(const struct vm_ct_entry *e, __u8 proto,
				      const struct vm_ct_config *cfg, __u64 now)
{
	__u32 i = e->state;

	if (proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6)
		i = VM_CT_TIMEOUT_ICMP;
	if (i >= VM_CT_TIMEOUTS)
		return 1;
	return now - e->last_seen > (__u64)cfg->timeout[i] * cfg->hz;
}

/* What an entry says of a frame of its flow. */
enum ct_verdict {
	CT_PASS,
	CT_INVALID, /* out of the flow's state: drop */
	CT_REOPEN,  /* a SYN after the flow ended: judge it as a new flow */
};

/* TCP without sequence tracking: a SYN opens (one way), SYN+ACK answers
 * (the other way), an ACK establishes, FINs close, RST ends at once. */
static __always_inline enum ct_verdict ct_tcp(struct vm_ct_entry *e, __u8 flags, int orig)
{
	int syn = (flags & (VM_TCP_SYN | VM_TCP_ACK)) == VM_TCP_SYN;
	int synack = (flags & (VM_TCP_SYN | VM_TCP_ACK)) == (VM_TCP_SYN | VM_TCP_ACK);

	if ((e->state == VM_CT_TIME_WAIT || e->state == VM_CT_CLOSE) && syn && !(flags & VM_TCP_RST))
		return CT_REOPEN;
	if (flags & VM_TCP_RST) {
		if (e->state == VM_CT_CLOSE)
			return CT_INVALID;
		e->state = VM_CT_CLOSE;
		return CT_PASS;
	}
	switch (e->state) {
	case VM_CT_SYN_SENT:
		if (orig && syn)
			return CT_PASS; /* retransmitted */
		if (!orig && synack) {
			e->state = VM_CT_SYN_RECV;
			return CT_PASS;
		}
		return CT_INVALID;
	case VM_CT_SYN_RECV:
		if (!orig && synack)
			return CT_PASS;
		if (!orig || (flags & VM_TCP_SYN) || !(flags & VM_TCP_ACK))
			return CT_INVALID;
		e->state = VM_CT_ESTABLISHED;
		break;
	case VM_CT_ESTABLISHED:
	case VM_CT_FIN_WAIT:
	case VM_CT_TIME_WAIT:
		if (flags & VM_TCP_SYN)
			return CT_INVALID;
		break;
	default: /* CLOSE: only a new SYN, above */
		return CT_INVALID;
	}
	if (flags & VM_TCP_FIN) {
		e->flags |= orig ? VM_CT_FIN_ORIG : VM_CT_FIN_REPLY;
		e->state = (e->flags & (VM_CT_FIN_ORIG | VM_CT_FIN_REPLY)) ==
					   (VM_CT_FIN_ORIG | VM_CT_FIN_REPLY)
				   ? VM_CT_TIME_WAIT
				   : VM_CT_FIN_WAIT;
	}
	return CT_PASS;
}

/* A frame of a tracked flow; `e` is its live entry. */
static __always_inline enum ct_verdict ct_update(struct vm_ct_entry *e, const struct vm_flow *f,
						 __u64 now)
{
	int orig = f->dir == e->origin;
	enum ct_verdict v = CT_PASS;

	if (f->key.proto == IPPROTO_TCP) {
		v = ct_tcp(e, f->tcp_flags, orig);
	} else if (f->kind == VM_FLOW_ECHO || f->kind == VM_FLOW_ECHO_REPLY) {
		/* Requests go the way the flow was opened, replies back. */
		if (orig != (f->kind == VM_FLOW_ECHO))
			return CT_REOPEN;
	}
	/* Written only when they change: a flow's frames on several CPUs
	 * would otherwise pass its cache line around on every frame. */
	if (!orig && f->key.proto != IPPROTO_TCP && e->state != VM_CT_REPLIED)
		e->state = VM_CT_REPLIED;
	if (v == CT_PASS && e->last_seen != now)
		e->last_seen = now;
	return v;
}

static __always_inline void frag_key(struct vm_frag_key *k, const struct vm_flow *f)
{
	k->family = f->key.family;
	k->proto = f->key.proto;
	k->dir = f->dir;
	k->id = f->frag_id;
	__builtin_memcpy(k->vm_addr, f->key.vm_addr, 16);
	__builtin_memcpy(k->remote_addr, f->key.remote_addr, 16);
}

/* The first fragment passed: its datagram's later fragments may follow. */
static __always_inline void frag_remember(const struct vm_flow *f, __u64 now)
{
	struct vm_frag_key k = {};

	frag_key(&k, f);
	vm_map_update(vm_frags, &k, &now, BPF_ANY);
}

static __always_inline int frag_known(const struct vm_flow *f, const struct vm_ct_config *cfg,
				      __u64 now)
{
	struct vm_frag_key k = {};
	__u64 *seen;

	frag_key(&k, f);
	seen = vm_map_lookup(vm_frags, &k);
	if (!seen)
		return 0;
	if (now - *seen > (__u64)cfg->timeout[VM_CT_TIMEOUT_FRAG] * cfg->hz) {
		vm_map_delete(vm_frags, &k);
		return 0;
	}
	return 1;
}

#endif
