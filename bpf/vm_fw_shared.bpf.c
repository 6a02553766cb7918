// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The host -> VM slot firewall shared by every VM: the host devmap's map-wide
 * default program on a kernel with default programs (kernel-patches/), so
 * each VM's slot inherits it and one call swaps it for all. The same policy
 * code as vm_fw_xdp (vm_firewall.bpf.c), built with VM_SHARED_SLOT: it
 * reaches the VM's own maps, the very ones its guard and tc twin use,
 * through the outer maps of vm_maps.h, found by the frame's egress device:
 *   vm_slot_index   tap ifindex -> the VM's index in the outer maps
 * A frame for a device with no index (not a VM vmhostd knows) is dropped and
 * counted (vm_shared_stats), as is one for a VM whose verdict counters are
 * missing (in the middle of leaving): it fails closed. */
#define VM_SHARED_SLOT 1

/* Where the VM's device is read, and the section: bench_shared_slot.bpf.c
 * builds this same program as plain XDP, which can be test-run (a devmap
 * program cannot), reading the ingress device instead. */
#ifndef VM_SHARED_DEV
#define VM_SHARED_DEV egress_ifindex
#define VM_SHARED_SEC "xdp/devmap"
#endif

#include "vm_policy.h"

#include "vm_shared_types.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VM_SHARED_MAX_VMS);
	__type(key, __u32);   /* the tap's ifindex */
	__type(value, __u32); /* the VM's index in the outer maps */
} vm_slot_index SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VM_SHARED_STATS);
	__type(key, __u32);
	__type(value, __u64);
} vm_shared_stats SEC(".maps");

static __always_inline void shared_stat(__u32 which)
{
	__u64 *c = bpf_map_lookup_elem(&vm_shared_stats, &which);

	if (c)
		(*c)++;
}

/* clang describes the inner maps' key and value types only by name (BTF
 * forward declarations), and libbpf needs their sizes to make the inner map
 * templates: these functions, never loaded, carry the types whole. */
__noinline int vm_shared_btf_a(struct vm_identity *a, struct vm_mac *b, struct vm_owned *c,
			       struct vm_owned_prefix *d, struct vm_count *e)
{
	return !!a + !!b + !!c + !!d + !!e;
}

__noinline int vm_shared_btf_b(struct vm_ct4_key *a, struct vm_ct_entry *b, struct vm_frag_key *c,
			       struct vm_ct_config *d, struct vm_sg_rule *e)
{
	return !!a + !!b + !!c + !!d + !!e;
}

__noinline int vm_shared_btf_c(struct vm_prefix4 *a, struct vm_prefix6 *b, struct vm_port *c)
{
	return !!a + !!b + !!c;
}

SEC(VM_SHARED_SEC)
int vm_fw_shared(struct xdp_md *ctx)
{
	__u32 ifindex = ctx->VM_SHARED_DEV, zero = 0, key, reason, *idx, *cur;
	struct vm_count *c;

	idx = bpf_map_lookup_elem(&vm_slot_index, &ifindex);
	cur = bpf_map_lookup_elem(&vm_shared_cur, &zero);
	if (!idx || !cur) {
		shared_stat(VM_SHARED_UNKNOWN_DEV);
		return XDP_DROP;
	}
	*cur = *idx;
	reason = vm_policy_to_vm(ctx, VM_CTX_XDP);
	/* vm_count(), knowing when the VM's counters are not there. */
	key = VM_PATH_XDP * VM_REASONS + reason;
	c = vm_map_lookup(verdicts, &key);
	if (c) {
		c->packets++;
		c->bytes += ctx->data_end - ctx->data;
	} else {
		shared_stat(VM_SHARED_INCOMPLETE);
		return XDP_DROP;
	}
	return reason == VM_PASS ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
