/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Types shared by bpf/cpumap_pipeline.bpf.c and its userspace (tests, the
 * espressobin demo): policy rules and the per-CPU statistics. */
#ifndef DEVMAP_EGRESS_BPF_CPUMAP_PIPELINE_TYPES_H
#define DEVMAP_EGRESS_BPF_CPUMAP_PIPELINE_TYPES_H

#include <linux/types.h>

/* What the policy does with a frame. */
enum pipeline_action {
	PIPE_REDIRECT = 0, /* into slot `key` of the devmap_hash tx_ports */
	PIPE_PASS = 1,     /* XDP_PASS: an skb is built on the running CPU */
	PIPE_DROP = 2,
};

/* Rule key: L4 protocol and destination port (host order); 0/0 is unused. */
struct pipeline_rule_key {
	__u8 ip_proto;
	__u8 pad;
	__u16 dport;
};

struct pipeline_rule {
	__u32 action; /* enum pipeline_action */
	__u32 key;    /* tx_ports slot for PIPE_REDIRECT */
};

/* Per CPU, per program: which CPU ran what, and what it decided. */
struct pipeline_stats {
	__u64 packets;
	__u64 redirected;   /* bpf_redirect_map() returned XDP_REDIRECT */
	__u64 passed;       /* XDP_PASS */
	__u64 dropped;      /* XDP_DROP by policy, or an empty slot */
	__u64 rule_hits;    /* frames that matched a rule (not the default) */
	__u64 hash;         /* sum of the work loop's results: keeps it honest */
	__u64 first_ns;     /* bpf_ktime_get_ns() at the first frame (0: none yet) */
	__u64 last_ns;      /* ... at the latest frame counted a multiple of 64 */
};

/* Upper bound of the per-packet work loop (userspace sets work_rounds). */
#define PIPELINE_MAX_ROUNDS 4096

#endif
