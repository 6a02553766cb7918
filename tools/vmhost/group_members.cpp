#include "group_members.hpp"

#include <bpf/bpf.h>

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <vector>

#include <devmap_egress/error.hpp>

#include "pinned_state.hpp"

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

GroupMembers::GroupMembers(dme::Fd members, int ids_fd) : map_(std::move(members)), ids_fd_(ids_fd)
{
    if (!map_)
        map_ = dme::Fd(
            bpf_map_create(BPF_MAP_TYPE_HASH, "vm_sg_members", sizeof(vm_sg_member), 1, VM_MAX_GROUP_MEMBERS, nullptr));
    if (!map_)
        dme::fail(errno, std::string("creating the security-group membership map failed: ") + std::strerror(errno));
    if (ids_fd_ < 0)
        return;
    char key[kPinnedNameMax + 1] = {}, next[kPinnedNameMax + 1] = {};
    const void* prev = nullptr;
    while (!bpf_map_get_next_key(ids_fd_, prev, next)) {
        uint32_t id = 0;
        if (!bpf_map_lookup_elem(ids_fd_, next, &id))
            ids_.emplace(std::string(next, strnlen(next, kPinnedNameMax)), id);
        std::memcpy(key, next, sizeof(key));
        prev = key;
    }
}

const GroupIds& GroupMembers::ids_for(const VmPolicy& p)
{
    auto name = [&](const std::string& g) {
        if (g.empty() || ids_.count(g))
            return;
        uint32_t id = 1;  // 0 is "no group" in a rule
        for (const auto& [n, i] : ids_)
            id = std::max(id, i + 1);
        if (ids_fd_ >= 0) {
            char key[kPinnedNameMax + 1] = {};
            std::memcpy(key, g.data(), std::min(g.size(), kPinnedNameMax));
            if (bpf_map_update_elem(ids_fd_, key, &id, BPF_ANY))
                dme::fail(errno, "keeping the id of group '" + g + "' failed: " + std::strerror(errno));
        }
        ids_.emplace(g, id);
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

std::vector<vm_sg_member> GroupMembers::hold_existing(const std::function<bool(const vm_sg_member&)>& mine)
{
    std::vector<vm_sg_member> held;
    vm_sg_member key{}, next{};
    const void* prev = nullptr;
    while (!bpf_map_get_next_key(fd(), prev, &next)) {
        if (mine(next))
            held.push_back(next);
        key = next;
        prev = &key;
    }
    for (const auto& m : held)
        holders_[key_of(m)]++;
    return held;
}

void GroupMembers::release(const std::vector<vm_sg_member>& members) noexcept
{
    for (const auto& m : members)
        drop(m);
}

void GroupMembers::prune() noexcept
{
    std::vector<vm_sg_member> stale;
    vm_sg_member key{}, next{};
    const void* prev = nullptr;
    while (!bpf_map_get_next_key(fd(), prev, &next)) {
        if (!holders_.count(key_of(next)))
            stale.push_back(next);
        key = next;
        prev = &key;
    }
    for (const auto& m : stale)
        bpf_map_delete_elem(fd(), &m);
}

}  // namespace vmhost
