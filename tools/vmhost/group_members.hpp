// The host's security-group membership: which addresses are in which group
// (the remote_group of a rule), in one BPF map every VM's firewall shares
// (vm_sg_members in bpf/vm_secgroup.h). Kept current as VMs come and go.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include <devmap_egress/fd.hpp>

#include "policy.hpp"

namespace vmhost {

class GroupMembers {
public:
    // Creates the map, or carries on with `members` and the ids kept in
    // `ids_fd` (name -> id, PinnedState) that a previous daemon left; new
    // ids are written there too. Throws dme::Error naming the cause.
    explicit GroupMembers(dme::Fd members = {}, int ids_fd = -1);

    int fd() const noexcept { return map_.get(); }
    // Ids for every group the policy is in or names in a rule (new names
    // get new ids): what write_policy() needs for its rules.
    const GroupIds& ids_for(const VmPolicy& p);
    // The VM's addresses join (leave) its groups. An address two VMs claim
    // stays a member until the last of them leaves.
    void add(const VmPolicy& p);
    void remove(const VmPolicy& p) noexcept;
    // Takes out of the map what no VM added here: members a previous daemon
    // left for VMs gone since.
    void prune() noexcept;
    // Holds the members in the map that `mine` picks, as add() holds a
    // VM's, and returns them: a VM whose previous programs stay in force
    // (VmHost::keep_pinned) keeps the memberships a previous daemon gave it.
    // release() lets go of them as remove() does.
    std::vector<vm_sg_member> hold_existing(const std::function<bool(const vm_sg_member&)>& mine);
    void release(const std::vector<vm_sg_member>& members) noexcept;

private:
    void drop(const vm_sg_member& m) noexcept;
    void remove_added(const VmPolicy& p, const vm_sg_member& failed) noexcept;

    using Member = std::tuple<uint32_t, uint8_t, std::string>;  // group, family, address bytes
    dme::Fd map_;
    int ids_fd_ = -1;
    GroupIds ids_;
    std::map<Member, int> holders_;  // how many VMs put each member in the map
};

}  // namespace vmhost
