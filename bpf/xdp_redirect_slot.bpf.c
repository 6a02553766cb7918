// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Ingress: redirect every frame into one slot of a devmap, devmap_hash or
 * cpumap. The kernel tests pick the map and key through the .bss variables
 * (target: enum redirect_target), so one object serves all of them. */
#include "maps.h"
#include "xdp_redirect_slot_types.h"

DEFINE_DEVMAP(tx_devmap, BPF_MAP_TYPE_DEVMAP);
DEFINE_DEVMAP(tx_devmap_hash, BPF_MAP_TYPE_DEVMAP_HASH);
DEFINE_CPUMAP(tx_cpumap);

__u32 target = TARGET_DEVMAP;
__u32 target_key;      /* slot key, CPU number, or ifindex for TARGET_IFINDEX */
__u64 redirect_flags;  /* low bits: action when the slot is empty; BPF_F_BROADCAST... */

SEC("xdp")
int xdp_redirect_slot(struct xdp_md *ctx)
{
	switch (target) {
	case TARGET_DEVMAP:
		return bpf_redirect_map(&tx_devmap, target_key, redirect_flags);
	case TARGET_DEVMAP_HASH:
		return bpf_redirect_map(&tx_devmap_hash, target_key, redirect_flags);
	case TARGET_CPUMAP:
		return bpf_redirect_map(&tx_cpumap, target_key, redirect_flags);
	case TARGET_IFINDEX:
		return bpf_redirect(target_key, 0);
	}
	return XDP_ABORTED;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
