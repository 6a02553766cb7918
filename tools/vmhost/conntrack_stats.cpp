#include "conntrack_stats.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include <devmap_egress/error.hpp>

#include "vm_secgroup_types.h"

namespace vmhost {

namespace {
// The entries of a table whose keys are `Key`s.
template <typename Key>
uint64_t count_entries(int fd, const char* name)
{
    uint64_t n = 0;
    Key key{}, next{};
    const void* prev = nullptr;
    while (!bpf_map_get_next_key(fd, prev, &next)) {
        n++;
        key = next;
        prev = &key;
    }
    if (errno != ENOENT)
        dme::fail(errno, std::string("walking ") + name + " failed: " + std::strerror(errno));
    return n;
}
}  // namespace

ConntrackStats read_conntrack(int ct4_fd, int ct6_fd, int stats_fd)
{
    ConntrackStats s;
    std::vector<uint64_t> per_cpu(libbpf_num_possible_cpus());
    uint64_t* fields[VM_CT_STATS] = {&s.created, &s.expired, &s.related, &s.fragments};
    for (uint32_t k = 0; k < VM_CT_STATS; k++) {
        if (bpf_map_lookup_elem(stats_fd, &k, per_cpu.data()))
            dme::fail(errno, std::string("reading vm_ct_stats failed: ") + std::strerror(errno));
        for (uint64_t v : per_cpu)
            *fields[k] += v;
    }
    s.entries = count_entries<vm_ct4_key>(ct4_fd, "vm_ct4") + count_entries<vm_ct_key>(ct6_fd, "vm_ct6");
    uint64_t gone = s.expired + s.entries;
    s.evicted = s.created > gone ? s.created - gone : 0;
    return s;
}

}  // namespace vmhost
