// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Egress (devmap slot) that does nothing: the cost of having a program in the
 * slot at all. No maps, so loading many copies is cheap. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp/devmap")
int egress_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
