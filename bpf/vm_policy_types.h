/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Types of the per-VM policy maps, shared by the BPF programs and userspace.
 * The rules they carry: docs/port-security.md. */
#ifndef DEVMAP_EGRESS_BPF_VM_POLICY_TYPES_H
#define DEVMAP_EGRESS_BPF_VM_POLICY_TYPES_H

#include <linux/types.h>

#include "vm_secgroup_types.h"

#define VM_MAX_ADDRS 64      /* owned addresses, exact (per VM, all MACs) */
#define VM_MAX_OWNED_PREFIXES 32
#define VM_MAX_MACS 8        /* the VM's MAC and its allowed pairs' */
#define VM_MAX_PREFIXES 64
#define VM_MAX_PORTS 64

/* The guard's bounds on what it walks (docs/port-security.md). */
#define VM_MAX_EXT_HDRS 8
#define VM_MAX_ND_OPTS 16

enum vm_path {
	VM_PATH_XDP = 0, /* devmap slot egress program (host -> VM, XDP frames) */
	VM_PATH_SKB = 1, /* tc egress program on the tap (host stack -> VM) */
	VM_PATH_GUARD = 2, /* XDP ingress on the tap (VM -> host) */
	VM_PATH_GUARD_TC = 3, /* the same guard built for tc (skbs) */
	VM_PATHS = 4,
};

/* Why a frame was dropped; names in vmhost::reason_name(). */
enum vm_reason {
	VM_PASS = 0,
	VM_DROP_MALFORMED,  /* truncated or inconsistent headers */
	VM_DROP_VLAN,       /* tagged frame on an untagged port */
	VM_DROP_DST_MAC,    /* not for this VM's MAC */
	VM_DROP_DST_IP,     /* not for one of this VM's addresses */
	VM_DROP_SRC,        /* source not in the allow-list */
	VM_DROP_PORT,       /* protocol/port not allowed */
	VM_DROP_FRAGMENT,   /* non-first IPv4 fragment (to the VM); fragmented ND */
	VM_DROP_PROTO,      /* neither IPv4, IPv6 nor ARP */
	VM_DROP_MAC_SPOOF,  /* VM -> host: Ethernet source not the VM's */
	VM_DROP_IP_SPOOF,   /* VM -> host: IP source not owned by that MAC */
	VM_DROP_ARP_SPOOF,  /* ARP sha or spa not the VM's */
	VM_DROP_ND_SPOOF,   /* ND target, SLLA or TLLA not the VM's */
	VM_DROP_UNSPEC_SRC, /* 0.0.0.0 or :: beyond DHCP, DAD, MLDv2, RS */
	VM_DROP_RA_GUARD,   /* RA or redirect from a VM that may not route */
	VM_DROP_DHCP_GUARD, /* DHCP server message from a VM that may not serve */
	VM_DROP_EXT_HDR,    /* IPv6 header chain too long or split (RFC 7112) */
	/* Security groups (docs/security-groups.md): */
	VM_DROP_NO_RULE,    /* no rule allows the flow, and it is not tracked */
	VM_DROP_CT_INVALID, /* TCP: not a SYN with no flow, or out of state */
	VM_DROP_FRAG_UNTRACKED, /* a later fragment whose first did not pass */
	VM_DROP_CT_FULL,    /* the flow could not be tracked */
	VM_REASONS,
};

/* The names tools print for each vm_reason, in enum order. */
#define VM_REASON_NAMES                                                                    \
	{                                                                                  \
		"pass", "malformed", "vlan", "dst-mac", "dst-ip", "src", "port", "fragment",  \
		"proto", "mac-spoof", "ip-spoof", "arp-spoof", "nd-spoof", "unspec-src",      \
		"ra-guard", "dhcp-guard", "ext-hdr", "no-rule", "ct-invalid",                 \
		"frag-untracked", "ct-full",                                                  \
	}

/* And for each vm_path. */
#define VM_PATH_NAMES { "xdp", "skb", "guard", "guard-tc" }

/* vm_identity.flags */
#define VM_MAY_ROUTE (1U << 0)      /* may send RAs and redirects */
#define VM_MAY_SERVE_DHCP (1U << 1) /* may send DHCP(v6) server messages */
#define VM_HAS_ALLOW_LIST (1U << 2) /* allow_src is set: its misses say src/port */

struct vm_identity {
	__u8 mac[6];      /* the VM's own MAC */
	__u8 host_mac[6]; /* the tap's host-side MAC: frames to it go to the host stack */
	__u32 flags;      /* VM_MAY_*, VM_HAS_ALLOW_LIST */
	__u32 sg_rules;   /* rules in vm_sg_rules (vm_secgroup_types.h) */
};

/* An address owned by one of the VM's MACs: exact in vm_owned, or inside a
 * prefix in vm_owned_prefixes (whose LPM key counts the MAC and family bits
 * too: prefixlen = 64 + the address prefix length). IPv4 addresses use the
 * first 4 bytes of addr, the rest zero. */
struct vm_owned {
	__u8 mac[6];
	__u8 family; /* 4 or 6 */
	__u8 pad;
	__u8 addr[16];
};

struct vm_owned_prefix {
	__u32 prefixlen;
	struct vm_owned key;
};

#define VM_OWNED_FIXED_BITS 64 /* mac, family, pad */

struct vm_mac {
	__u8 mac[6];
	__u8 pad[2];
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
