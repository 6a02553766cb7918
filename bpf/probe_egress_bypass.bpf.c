// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Probe for the shared-device egress-program bypass: frames alternate between
 * two devmap slots that point at the same device and carry different egress
 * programs. A kernel that batches per (device, CPU) and keeps only the first
 * frame's program runs one program on all frames; a fixed kernel runs each
 * slot's own program on exactly its half. */
#include "maps.h"

DEFINE_DEVMAP(slots, BPF_MAP_TYPE_DEVMAP);

__u64 sent[2];
__u64 ran[2];

SEC("xdp")
int probe_alternate(struct xdp_md *ctx)
{
	__u32 key = sent[0] > sent[1] ? 1 : 0;

	sent[key]++;
	return bpf_redirect_map(&slots, key, XDP_ABORTED);
}

SEC("xdp/devmap")
int probe_slot0(struct xdp_md *ctx)
{
	ran[0]++;
	return XDP_DROP;
}

SEC("xdp/devmap")
int probe_slot1(struct xdp_md *ctx)
{
	ran[1]++;
	return XDP_DROP;
}

/* Attached to the target's veth peer only so that veth accepts frames. */
SEC("xdp")
int probe_sink(struct xdp_md *ctx)
{
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
