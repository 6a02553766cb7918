// Which program a VM's tc egress filter runs: what adoption and teardown
// compare with the pinned one before they take it over or off.
#pragma once

#include <cstdint>

namespace vmhost {

// The program id of the tc egress filter at (handle, priority) on a link;
// 0 when there is none (or handle is 0).
uint32_t tc_egress_prog(uint32_t ifindex, uint32_t handle, uint32_t priority);

}  // namespace vmhost
