// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The host NIC's ingress program: a dumb demuxer that reads only the Ethernet
 * header. Destination MAC -> key in the devmap of VM taps -> redirect (the
 * VM's slot runs its firewall). Broadcast and multicast go to every slot but
 * the one they came in on; each slot's program decides on its own clone.
 * Unknown MACs go to the host stack. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>

#include "host_ports.h"

SEC("xdp")
int nic_demux(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct mac_key k = {};
	__u32 *port;

	if ((void *)(eth + 1) > data_end)
		return XDP_DROP;
	if (eth->h_dest[0] & 1)
		return bpf_redirect_map(&tx_ports, 0, BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS);
	__builtin_memcpy(k.mac, eth->h_dest, 6);
	port = bpf_map_lookup_elem(&mac_to_port, &k);
	if (!port)
		return XDP_PASS;
	return bpf_redirect_map(&tx_ports, *port, XDP_PASS);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
