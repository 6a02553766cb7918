// Attaching receive-side XDP programs inside a namespace (test sinks).
#pragma once

#include <linux/if_link.h>

#include <cstdint>

#include "netns.hpp"

namespace netlab {

// Attach an XDP program inside `ns`. No detach: the namespace takes it along.
void attach_xdp_in(const Netns& ns, uint32_t ifindex, int prog_fd, uint32_t flags = XDP_FLAGS_DRV_MODE);

}  // namespace netlab
