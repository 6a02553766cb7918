// What a VM's connection tracker holds and has done (bpf/vm_conntrack.h).
#pragma once

#include <cstdint>

namespace vmhost {

struct ConntrackStats {
    uint64_t entries = 0;    // in the table now (an expired one stays until met again or evicted)
    uint64_t created = 0;    // flows opened
    uint64_t expired = 0;    // found past their timeout and deleted
    uint64_t related = 0;    // ICMP errors let through for a tracked flow
    uint64_t fragments = 0;  // later fragments let through
    uint64_t evicted = 0;    // taken by the LRU when full: created - expired - entries
};

// Reads the tables (vm_ct4, vm_ct6) and the per-CPU counters
// (vm_ct_stats); throws dme::Error naming the map on failure.
ConntrackStats read_conntrack(int ct4_fd, int ct6_fd, int stats_fd);

}  // namespace vmhost
