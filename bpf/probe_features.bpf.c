// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Feature probes run with BPF_PROG_TEST_RUN: what the kernel returns tells
 * what it supports. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32); /* 4-byte values: loads on every devmap kernel */
} probe_devmap SEC(".maps");

/* Kernels without BPF_F_BROADCAST reject the unknown flag with XDP_ABORTED;
 * kernels with it return XDP_REDIRECT even for an empty map. */
SEC("xdp")
int probe_broadcast(struct xdp_md *ctx)
{
	return bpf_redirect_map(&probe_devmap, 0, BPF_F_BROADCAST);
}

SEC("xdp")
int probe_drop(struct xdp_md *ctx)
{
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
