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

namespace {
auto key_of(const vm_sg_member& m)
{
    return std::make_tuple(m.group, m.family, std::string(reinterpret_cast<const char*>(m.addr), sizeof(m.addr)));
}
}  // namespace

void GroupMembers::add(const VmPolicy& p)
{
    const uint8_t one = 1;
    each_member(p, ids_for(p), [&](const vm_sg_member& m) {
        int& n = holders_[key_of(m)];
        if (n == 0 && bpf_map_update_elem(fd(), &m, &one, BPF_ANY)) {
            int err = errno;
            holders_.erase(key_of(m));
            remove_added(p, m);  // all or nothing: the host stays as it was
            dme::fail(err, std::string("adding a group member failed: ") + std::strerror(err) +
                               (err == E2BIG ? " (the host's group table is full)" : ""));
        }
        n++;
    });
}

// Undoes add(p) up to, not including, the member `failed`.
void GroupMembers::remove_added(const VmPolicy& p, const vm_sg_member& failed) noexcept
{
    bool done = false;
    each_member(p, ids_, [&](const vm_sg_member& m) {
        done |= key_of(m) == key_of(failed);
        if (!done)
            drop(m);
    });
}

void GroupMembers::drop(const vm_sg_member& m) noexcept
{
    auto it = holders_.find(key_of(m));
    if (it == holders_.end() || --it->second > 0)
        return;
    holders_.erase(it);
    bpf_map_delete_elem(fd(), &m);
}

void GroupMembers::remove(const VmPolicy& p) noexcept
{
    each_member(p, ids_, [&](const vm_sg_member& m) { drop(m); });
}

}  // namespace vmhost
