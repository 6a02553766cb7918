// devmap-bench's security-groups section: what the stateful slot firewall
// (vm_fw_xdp, docs/security-groups.md) costs per frame to a VM for a flow it
// tracks, for a frame a stateless rule passes and for a new flow, against
// the stateless firewall before security groups (bench_secgroups.bpf.c),
// plus the flow table's memory at a million flows.
#pragma once

#include <cstdint>

#include <nlohmann/json.hpp>

namespace bench {

// `repeat`: runs of a program per sample; `runs`: interleaved samples;
// `flows`: distinct new flows timed one run each.
nlohmann::json secgroups_section(uint32_t repeat, int runs, uint32_t flows);

}  // namespace bench
