// The host's security-group membership: which addresses are in which group
// (the remote_group of a rule), in one BPF map every VM's firewall shares
// (vm_sg_members in bpf/vm_secgroup.h). Kept current as VMs come and go.
#pragma once

#include <cstdint>
#include <string>

#include <devmap_egress/fd.hpp>

#include "policy.hpp"

namespace vmhost {

class GroupMembers {
public:
    GroupMembers();  // creates the map; throws dme::Error naming the cause

    int fd() const noexcept { return map_.get(); }
    // Ids for every group the policy is in or names in a rule (new names
    // get new ids): what write_policy() needs for its rules.
    const GroupIds& ids_for(const VmPolicy& p);
    // The VM's addresses join (leave) its groups.
    void add(const VmPolicy& p);
    void remove(const VmPolicy& p) noexcept;

private:
    dme::Fd map_;
    GroupIds ids_;
};

}  // namespace vmhost
