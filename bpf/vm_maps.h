/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* How the policy (vm_policy.h and the headers it includes) reaches a VM's
 * maps, so that the same code builds two ways:
 *   - per VM (vm_firewall.bpf.c, the default): each map is the object's own,
 *     declared as always and reached by name; the generated code is what it
 *     was before this header;
 *   - shared (vm_fw_shared.bpf.c, VM_SHARED_SLOT): one program for every
 *     VM's devmap slot, the host devmap's map-wide default program on a
 *     patched kernel. Each per-VM map becomes an ARRAY_OF_MAPS of the same
 *     name whose inner maps are the VMs' very own maps (those their guard
 *     and tc twin use): the program finds the VM's index from the frame's
 *     egress ifindex once (vm_fw_shared.bpf.c), keeps it in vm_shared_cur
 *     for the frame's time (per CPU: an XDP program runs to its end with
 *     bottom halves off, so no other frame runs on this CPU meanwhile), and
 *     every access looks the map up there. A missing map reads as empty
 *     and refuses updates, so a VM half there fails closed.
 * Only the per-VM maps go through this; the host-wide ones (vm_sg_members,
 * tx_ports, mac_to_port) are plain maps both ways. */
#ifndef DEVMAP_EGRESS_BPF_VM_MAPS_H
#define DEVMAP_EGRESS_BPF_VM_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#ifndef VM_SHARED_SLOT

#define VM_MAP_DEF(name, ...) struct __VA_ARGS__ name SEC(".maps")
#define vm_map_lookup(name, key) bpf_map_lookup_elem(&name, key)
#define vm_map_update(name, key, val, flags) bpf_map_update_elem(&name, key, val, flags)
#define vm_map_delete(name, key) bpf_map_delete_elem(&name, key)

#else

/* Indexes in the outer maps: two per devmap slot key (HOST_MAX_PORTS), so
 * that a VM's new maps (a changed policy) are put in beside the old ones
 * and switched to in one update of vm_slot_index. */
#define VM_SHARED_INDEXES (2 * 4096)

/* The inner map's definition is the per-VM one: the kernel takes a VM's
 * map as inner map when its type, key and value sizes and flags are the
 * template's, and for arrays its max_entries too (fixed sizes here, so no
 * BPF_F_INNER_MAP, which would cost the per-VM arrays their inlined
 * lookups); hashes may differ in max_entries (vm_ct4, vm_ct6). */
#define VM_MAP_DEF(name, ...)                                                      \
	struct name##_inner __VA_ARGS__;                                           \
	struct {                                                                   \
		__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);                          \
		__uint(max_entries, VM_SHARED_INDEXES);                            \
		__type(key, __u32);                                                \
		__array(values, struct name##_inner);                              \
	} name SEC(".maps")

/* The index of the VM whose frame this CPU is judging. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} vm_shared_cur SEC(".maps");

static __always_inline void *vm_inner(void *outer)
{
	__u32 zero = 0, *cur = bpf_map_lookup_elem(&vm_shared_cur, &zero);

	return cur ? bpf_map_lookup_elem(outer, cur) : NULL;
}

#define vm_map_lookup(name, key)                                                   \
	({                                                                         \
		void *__m = vm_inner(&name);                                       \
		__m ? bpf_map_lookup_elem(__m, key) : NULL;                        \
	})
#define vm_map_update(name, key, val, flags)                                       \
	({                                                                         \
		void *__m = vm_inner(&name);                                       \
		__m ? bpf_map_update_elem(__m, key, val, flags) : -2L /* ENOENT */; \
	})
#define vm_map_delete(name, key)                                                   \
	({                                                                         \
		void *__m = vm_inner(&name);                                       \
		__m ? bpf_map_delete_elem(__m, key) : -2L;                          \
	})

#endif
#endif
