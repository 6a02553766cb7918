#include "group_members.hpp"

#include <bpf/bpf.h>

#include <cerrno>
#include <cstring>

#include <devmap_egress/error.hpp>

namespace vmhost {

namespace {
// What a VM contributes to its groups: its own addresses (as Neutron's
// remote group does with a port's fixed IPs).
template <typename Fn>
void each_member(const VmPolicy& p, const GroupIds& ids, Fn fn)
{
    for (const auto& g : p.groups) {
        auto it = ids.find(g);
        if (it == ids.end())
            continue;
        for (const auto& a : p.addrs) {
            vm_sg_member m{};
            m.group = it->second;
            m.family = uint8_t(a.family);
            std::memcpy(m.addr, a.bytes.data(), a.family == 4 ? 4 : 16);
            fn(m);
        }
    }
}
}  // namespace

GroupMembers::GroupMembers()
    : map_(bpf_map_create(BPF_MAP_TYPE_HASH, "vm_sg_members", sizeof(vm_sg_member), 1, VM_MAX_GROUP_MEMBERS,
                          nullptr))
{
    if (!map_)
        dme::fail(errno, std::string("creating the security-group membership map failed: ") + std::strerror(errno));
}

const GroupIds& GroupMembers::ids_for(const VmPolicy& p)
{
    auto name = [&](const std::string& g) {
        if (!g.empty() && !ids_.count(g))
            ids_.emplace(g, uint32_t(ids_.size() + 1));
    };
    for (const auto& g : p.groups)
        name(g);
    for (const auto& r : p.rules)
        name(r.remote_group);
    return ids_;
}

void GroupMembers::add(const VmPolicy& p)
{
    const uint8_t one = 1;
    each_member(p, ids_for(p), [&](const vm_sg_member& m) {
        if (bpf_map_update_elem(fd(), &m, &one, BPF_ANY))
            dme::fail(errno, std::string("adding a group member failed: ") + std::strerror(errno) +
                                 (errno == E2BIG ? " (the host's group table is full)" : ""));
    });
}

void GroupMembers::remove(const VmPolicy& p) noexcept
{
    // An address two VMs claim stays while either is there: a member is
    // removed only when no other VM adds it back (VmHost re-adds the rest).
    each_member(p, ids_, [&](const vm_sg_member& m) { bpf_map_delete_elem(fd(), &m); });
}

}  // namespace vmhost
