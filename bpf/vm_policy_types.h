/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Types of the per-VM policy maps, shared by the BPF programs and userspace. */
#ifndef DEVMAP_EGRESS_BPF_VM_POLICY_TYPES_H
#define DEVMAP_EGRESS_BPF_VM_POLICY_TYPES_H

#include <linux/types.h>

#define VM_MAX_ADDRS 16
#define VM_MAX_PREFIXES 64
#define VM_MAX_PORTS 64

enum vm_path {
	VM_PATH_XDP = 0, /* devmap slot egress program (host -> VM, XDP frames) */
	VM_PATH_SKB = 1, /* tc egress program on the tap (host stack -> VM) */
	VM_PATH_GUARD = 2, /* XDP ingress on the tap (VM -> host) */
	VM_PATHS = 3,
};

enum vm_reason {
	VM_PASS = 0,
	VM_DROP_MALFORMED, /* truncated or inconsistent headers */
	VM_DROP_VLAN,      /* tagged frame on an untagged port */
	VM_DROP_DST_MAC,   /* not for this VM's MAC */
	VM_DROP_DST_IP,    /* not for one of this VM's addresses */
	VM_DROP_SRC,       /* source not in the allow-list */
	VM_DROP_PORT,      /* protocol/port not allowed */
	VM_DROP_FRAGMENT,  /* non-first IPv4 fragment */
	VM_DROP_PROTO,     /* neither IPv4, IPv6 nor ARP */
	VM_DROP_SPOOF,     /* VM -> host: not the VM's own MAC or address */
	VM_REASONS,
};

struct vm_identity {
	__u8 mac[6];      /* the VM's own MAC */
	__u8 host_mac[6]; /* the tap's host-side MAC: frames to it go to the host stack */
	__u8 pad[4];
};

struct vm_addr {
	__u32 family; /* 4 or 6 */
	__u8 addr[16];
};

struct vm_prefix4 {
	__u32 prefixlen;
	__u32 addr; /* network order */
};

struct vm_prefix6 {
	__u32 prefixlen;
	__u8 addr[16];
};

struct vm_port {
	__u8 proto;
	__u8 pad;
	__u16 port; /* host order; 0 = every port of proto */
};

struct vm_count {
	__u64 packets;
	__u64 bytes;
};

#endif
