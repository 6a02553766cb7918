/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Types of a VM's security groups (rules in both directions) and of its
 * connection tracking, shared by the BPF programs and userspace. The
 * semantics: docs/security-groups.md. */
#ifndef DEVMAP_EGRESS_BPF_VM_SECGROUP_TYPES_H
#define DEVMAP_EGRESS_BPF_VM_SECGROUP_TYPES_H

#include <linux/types.h>

#define VM_MAX_SG_RULES 64
#define VM_CT_DEFAULT_FLOWS 8192 /* per VM; VmPolicy::conntrack_flows */
#define VM_FRAG_FLOWS 1024       /* fragmented datagrams in flight, per VM */
#define VM_MAX_GROUP_MEMBERS 65536 /* addresses in remote groups, per host */

/* Which way a frame goes, seen from the VM. */
enum vm_dir {
	VM_DIR_TO_VM = 0,   /* ingress, in Neutron's terms */
	VM_DIR_FROM_VM = 1, /* egress */
};

/* vm_sg_rule.flags */
#define VM_SG_STATELESS (1U << 0)    /* pass without tracking (OVN allow-stateless) */
#define VM_SG_REMOTE_GROUP (1U << 1) /* remote is a group id, not a prefix */
#define VM_SG_ANY 0xffff             /* icmp_type / icmp_code wildcard */

/* One rule. The remote end is the source of a frame to the VM and the
 * destination of one from it; the port range is the destination port in
 * the rule's direction. Addresses are stored masked, with their mask. */
struct vm_sg_rule {
	__u8 dir;    /* vm_dir */
	__u8 family; /* 4 or 6 */
	__u8 proto;  /* 0: any */
	__u8 flags;  /* VM_SG_* */
	__u16 port_min, port_max; /* TCP, UDP: host order, inclusive */
	__u16 icmp_type, icmp_code; /* ICMP, ICMPv6: a value or VM_SG_ANY */
	__u32 remote_group;          /* with VM_SG_REMOTE_GROUP */
	__u8 remote[16];             /* IPv4 in the first 4 bytes */
	__u8 remote_mask[16];
};

/* An address in a remote group (host-wide map, kept by the control plane). */
struct vm_sg_member {
	__u32 group;
	__u8 family;
	__u8 pad[3];
	__u8 addr[16];
};

/* A tracked flow, the same key whichever way its frames go. ICMP echo
 * flows use the echo identifier as both ports. 4-aligned: its addresses
 * are copied as words. */
struct __attribute__((aligned(4))) vm_ct_key {
	__u8 family;
	__u8 proto;
	__u16 vm_port;     /* network order */
	__u16 remote_port; /* network order */
	__u16 pad;
	__u8 vm_addr[16];
	__u8 remote_addr[16];
};

/* The key of an IPv4 flow in its own table (vm_ct4): the same fields,
 * 16 bytes, which hash as 4 words where the full key takes 10 (about 100
 * instructions of a lookup's 270). */
struct vm_ct4_key {
	__u8 proto;
	__u8 pad;
	__u16 vm_port;     /* network order */
	__u16 remote_port; /* network order */
	__u16 pad2;
	__u32 vm_addr;
	__u32 remote_addr;
};

/* TCP states, after the kernel's conntrack, reduced to what a filter that
 * does not track sequence numbers can tell apart. */
enum vm_ct_state {
	VM_CT_NEW = 0,     /* UDP/ICMP: seen one way only */
	VM_CT_REPLIED,     /* UDP/ICMP: seen both ways */
	VM_CT_SYN_SENT,
	VM_CT_SYN_RECV,
	VM_CT_ESTABLISHED,
	VM_CT_FIN_WAIT,    /* one side sent FIN */
	VM_CT_TIME_WAIT,   /* both did */
	VM_CT_CLOSE,       /* RST */
	VM_CT_STATES,
};

/* vm_ct_entry.flags */
#define VM_CT_FIN_ORIG (1U << 0)
#define VM_CT_FIN_REPLY (1U << 1)

struct vm_ct_entry {
	__u64 last_seen; /* bpf_jiffies64(): the kernel's tick count */
	__u8 state;      /* vm_ct_state */
	__u8 origin;     /* vm_dir of the frame that opened the flow */
	__u8 flags;      /* VM_CT_FIN_* */
	__u8 pad[5];
};

/* Timeouts in seconds: vm_ct_config.timeout[], by vm_ct_state, then for
 * ICMP echo flows and for fragments. The defaults follow the kernel's
 * nf_conntrack (udp_timeout, udp_timeout_stream, tcp_timeout_*,
 * icmp_timeout) and ipfrag_time. */
#define VM_CT_TIMEOUT_ICMP VM_CT_STATES
#define VM_CT_TIMEOUT_FRAG (VM_CT_STATES + 1)
#define VM_CT_TIMEOUTS (VM_CT_STATES + 2)
#define VM_CT_DEFAULT_TIMEOUTS { 30, 120, 120, 60, 432000, 120, 120, 10, 30, 30 }

struct vm_ct_config {
	__u32 timeout[VM_CT_TIMEOUTS];
	__u32 hz; /* ticks a second (the kernel's CONFIG_HZ): times are in ticks */
};

/* A fragmented datagram whose first fragment passed: its later ones may. */
struct vm_frag_key {
	__u8 family;
	__u8 proto;
	__u8 dir; /* vm_dir */
	__u8 pad;
	__u32 id; /* IPv4: the 16-bit identification; IPv6: the Fragment header's */
	__u8 vm_addr[16];
	__u8 remote_addr[16];
};

/* Per-CPU counters of the tracker: vm_ct_stats[]. Evictions are what the
 * LRU took: created - expired - removed - live (userspace counts live). */
enum vm_ct_stat {
	VM_CT_STAT_CREATED = 0, /* entries inserted */
	VM_CT_STAT_EXPIRED,     /* found past their timeout and deleted */
	VM_CT_STAT_RELATED,     /* ICMP errors let through for a tracked flow */
	VM_CT_STAT_FRAGS,       /* later fragments let through */
	VM_CT_STATS,
};

#endif
