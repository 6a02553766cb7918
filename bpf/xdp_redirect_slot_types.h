/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Types shared by bpf/xdp_redirect_slot.bpf.c and its userspace (the kernel
 * tests): where the program redirects, set through its .bss `target`. */
#ifndef DEVMAP_EGRESS_BPF_XDP_REDIRECT_SLOT_TYPES_H
#define DEVMAP_EGRESS_BPF_XDP_REDIRECT_SLOT_TYPES_H

enum redirect_target {
	TARGET_DEVMAP = 0,
	TARGET_DEVMAP_HASH = 1,
	TARGET_CPUMAP = 2,
	TARGET_IFINDEX = 3, /* plain bpf_redirect(), no slot, no egress program */
};

#endif
