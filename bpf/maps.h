/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Map shapes shared by the programs in bpf/: userspace swaps in its own maps of
 * the same shape with bpf_map__reuse_fd(), so the definitions must agree. */
#ifndef DEVMAP_EGRESS_BPF_MAPS_H
#define DEVMAP_EGRESS_BPF_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define DEVMAP_SLOTS_DEFAULT 256
#define CPUMAP_SLOTS_DEFAULT 64

#define DEFINE_DEVMAP(name, kind)                                  \
	struct {                                                   \
		__uint(type, kind);                                \
		__uint(max_entries, DEVMAP_SLOTS_DEFAULT);         \
		__type(key, __u32);                                \
		__type(value, struct bpf_devmap_val);              \
	} name SEC(".maps")

#define DEFINE_CPUMAP(name)                                        \
	struct {                                                   \
		__uint(type, BPF_MAP_TYPE_CPUMAP);                 \
		__uint(max_entries, CPUMAP_SLOTS_DEFAULT);         \
		__type(key, __u32);                                \
		__type(value, struct bpf_cpumap_val);              \
	} name SEC(".maps")

/* Packet/verdict counters kept per CPU so the hot path never shares a line. */
struct egress_counters {
	__u64 packets;
	__u64 bytes;
	__u64 passed;
	__u64 dropped;
};

#define DEFINE_COUNTERS(name)                                      \
	struct {                                                   \
		__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);           \
		__uint(max_entries, 1);                            \
		__type(key, __u32);                                \
		__type(value, struct egress_counters);             \
	} name SEC(".maps")

static __always_inline void count_verdict(void *counters, struct xdp_md *ctx, int verdict)
{
	__u32 zero = 0;
	struct egress_counters *c = bpf_map_lookup_elem(counters, &zero);

	if (!c)
		return;
	c->packets++;
	c->bytes += ctx->data_end - ctx->data;
	if (verdict == XDP_DROP)
		c->dropped++;
	else
		c->passed++;
}

#endif
