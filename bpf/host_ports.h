/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The VM host's two shared maps: its ports (key 0 the uplink, then one slot
 * per VM tap, each carrying that VM's egress firewall) and the demux table
 * from a VM's MAC to its port. The NIC demux and every VM's guard use the same
 * maps (userspace shares them with bpf_map__reuse_fd). */
#ifndef DEVMAP_EGRESS_BPF_HOST_PORTS_H
#define DEVMAP_EGRESS_BPF_HOST_PORTS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define HOST_MAX_PORTS 4096

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, HOST_MAX_PORTS);
	__type(key, __u32);
	__type(value, struct bpf_devmap_val);
} tx_ports SEC(".maps");

struct mac_key {
	__u8 mac[6];
	__u8 pad[2];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, HOST_MAX_PORTS);
	__type(key, struct mac_key);
	__type(value, __u32); /* key in tx_ports */
} mac_to_port SEC(".maps");

#endif
