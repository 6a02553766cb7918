// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Transmit results of devmap flushes, per target device, from the
 * xdp:xdp_devmap_xmit tracepoint: frames sent, frames not sent (dropped by
 * the slot's egress program or refused by the driver) and driver errors. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* Layout of the tracepoint's record (events/xdp/xdp_devmap_xmit/format). */
struct devmap_xmit_args {
	__u64 common;
	int from_ifindex;
	__u32 act;
	int to_ifindex;
	int drops;
	int sent;
	int err;
};

struct xmit_counts {
	__u64 flushes;
	__u64 sent;
	__u64 not_sent;
	__u64 errors;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32); /* to_ifindex */
	__type(value, struct xmit_counts);
} xmit_by_dev SEC(".maps");

SEC("tracepoint/xdp/xdp_devmap_xmit")
int count_devmap_xmit(struct devmap_xmit_args *args)
{
	__u32 dev = args->to_ifindex;
	struct xmit_counts *c, zero = {};

	c = bpf_map_lookup_elem(&xmit_by_dev, &dev);
	if (!c) {
		bpf_map_update_elem(&xmit_by_dev, &dev, &zero, BPF_NOEXIST);
		c = bpf_map_lookup_elem(&xmit_by_dev, &dev);
		if (!c)
			return 0;
	}
	c->flushes++;
	c->sent += args->sent;
	c->not_sent += args->drops;
	c->errors += args->err != 0;
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
