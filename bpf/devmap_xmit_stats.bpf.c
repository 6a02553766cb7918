// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Transmit results of devmap flushes, per target device, from the
 * xdp:xdp_devmap_xmit tracepoint: frames sent, frames not sent (dropped by
 * the slot's egress program or refused by the driver) and driver errors.
 * The tracepoint fires for every namespace, so devices are keyed by
 * (network namespace, ifindex): the BTF-typed form of the tracepoint hands
 * over the net_device itself. */
#include <linux/bpf.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

/* Only the fields read here; CO-RE finds them in the running kernel. */
struct ns_common {
	unsigned int inum;
} __attribute__((preserve_access_index));
struct net {
	struct ns_common ns;
} __attribute__((preserve_access_index));
typedef struct {
	struct net *net;
} possible_net_t;
struct net_device {
	int ifindex;
	possible_net_t nd_net;
} __attribute__((preserve_access_index));

struct dev_key {
	__u32 netns; /* inode number of the device's network namespace */
	__u32 ifindex;
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
	__type(key, struct dev_key);
	__type(value, struct xmit_counts);
} xmit_by_dev SEC(".maps");

SEC("tp_btf/xdp_devmap_xmit")
int BPF_PROG(count_devmap_xmit, const struct net_device *from_dev, const struct net_device *to_dev,
	     int sent, int drops, int err)
{
	struct dev_key key = {
		.netns = BPF_CORE_READ(to_dev, nd_net.net, ns.inum),
		.ifindex = BPF_CORE_READ(to_dev, ifindex),
	};
	struct xmit_counts *c, zero = {};

	c = bpf_map_lookup_elem(&xmit_by_dev, &key);
	if (!c) {
		bpf_map_update_elem(&xmit_by_dev, &key, &zero, BPF_NOEXIST);
		c = bpf_map_lookup_elem(&xmit_by_dev, &key);
		if (!c)
			return 0;
	}
	c->flushes++;
	c->sent += sent;
	c->not_sent += drops;
	c->errors += err != 0;
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
