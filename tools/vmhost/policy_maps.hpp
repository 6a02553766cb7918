// The per-VM policy maps of any BPF object built on bpf/vm_policy.h (the VM
// firewall, and the test programs around the same header), and how a
// VmPolicy is written into them.
#pragma once

#include <bpf/libbpf.h>

#include "policy.hpp"

namespace vmhost {

struct PolicyMaps {
    int identity = -1, macs = -1, owned = -1, owned_prefixes = -1;
    int allow_src4 = -1, allow_src6 = -1, allow_ports = -1, verdicts = -1;
    int sg_rules = -1, sg_members = -1, ct4 = -1, ct6 = -1, ct_config = -1, ct_stats = -1;
    // Finds the maps by name in a loaded object; throws if one is missing.
    static PolicyMaps of(const bpf_object* obj);
};

// Writes the whole policy (identity, owned addresses, allow-lists, rules,
// conntrack timeouts). Maps are expected empty (a new object); a rule's
// remote_group must be in `groups`. Throws dme::Error naming the map or the
// rule on failure.
void write_policy(const PolicyMaps& maps, const VmPolicy& p, const GroupIds& groups = {});

// Whether the policy maps hold exactly what write_policy(p, groups) writes:
// the policy is written into scratch maps of the same kinds and both are
// read back and compared, entry by entry. Counters and flows are not
// compared.
bool holds_policy(const PolicyMaps& maps, const VmPolicy& p, const GroupIds& groups);

// The BPF form of a rule (vm_secgroup_types.h).
vm_sg_rule to_bpf(const SgRule& r, const GroupIds& groups);

}  // namespace vmhost
