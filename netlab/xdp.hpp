// Attaching receive-side XDP programs inside a namespace (test sinks), and
// tc programs in the current one.
#pragma once

#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include <cstdint>

#include "netns.hpp"

namespace netlab {

// Attach an XDP program inside `ns`. No detach: the namespace takes it along.
void attach_xdp_in(const Netns& ns, uint32_t ifindex, int prog_fd, uint32_t flags = XDP_FLAGS_DRV_MODE);

// Attach a tc program at `point` (a clsact qdisc is added if missing). No
// detach: the device, in a namespace of the caller's, takes it along.
void attach_tc(uint32_t ifindex, bpf_tc_attach_point point, int prog_fd);

}  // namespace netlab
