// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "devmap_egress/devmap.hpp"

#include <net/if.h>

#include <bpf_ext/devmap.h>

namespace dme {

DevmapEgress::DevmapEgress(Fd fd)
    : SlotMap(std::move(fd), {BPF_MAP_TYPE_DEVMAP, BPF_MAP_TYPE_DEVMAP_HASH}, "a devmap or devmap_hash")
{
}

DevmapEgress DevmapEgress::make(bpf_map_type type, const std::string& name, uint32_t max_entries, int default_fd)
{
    bpfext_devmap_create_opts o{};
    o.sz = sizeof(o);
    o.default_prog_fd = default_fd;
    return DevmapEgress(Fd(check(bpfext_devmap_create(type, name.c_str(), max_entries, &o))));
}

DevmapEgress DevmapEgress::create(const std::string& name, uint32_t max_entries)
{
    return make(BPF_MAP_TYPE_DEVMAP, name, max_entries, 0);
}

DevmapEgress DevmapEgress::create_hash(const std::string& name, uint32_t max_entries)
{
    return make(BPF_MAP_TYPE_DEVMAP_HASH, name, max_entries, 0);
}

DevmapEgress DevmapEgress::create(const std::string& name, uint32_t max_entries, const EgressProgram& default_prog)
{
    return make(BPF_MAP_TYPE_DEVMAP, name, max_entries, default_prog.fd());
}

DevmapEgress DevmapEgress::create_hash(const std::string& name, uint32_t max_entries,
                                       const EgressProgram& default_prog)
{
    return make(BPF_MAP_TYPE_DEVMAP_HASH, name, max_entries, default_prog.fd());
}

DevmapEgress DevmapEgress::open(const std::string& pinned_path)
{
    return DevmapEgress(detail::open_pinned(pinned_path, detail::FdKind::map));
}

DevmapEgress DevmapEgress::from(int map_fd) { return DevmapEgress(Fd::dup(map_fd)); }

void DevmapEgress::write(uint32_t key, const Interface& dev, int prog_fd, const DevmapSetOptions& opts)
{
    bpfext_devmap_set_opts o{};
    o.sz = sizeof(o);
    o.flags = static_cast<__u64>(opts.mode);
    o.skip_xmit_check = opts.skip_xmit_check;
    o.no_default = opts.no_default;
    check(bpfext_devmap_set(fd(), key, dev.ifindex(), prog_fd, &o));
}

void DevmapEgress::set(uint32_t key, const Interface& dev, const EgressProgram& prog, DevmapSetOptions opts)
{
    write(key, dev, prog.fd(), opts);
}

void DevmapEgress::set(uint32_t key, const Interface& dev, DevmapSetOptions opts) { write(key, dev, -1, opts); }

bool DevmapEgress::erase(uint32_t key) { return erase_with(bpfext_devmap_delete, key); }

static DevmapEgress::Slot describe(const bpfext_devmap_slot& s)
{
    DevmapEgress::Slot out;
    out.key = s.key;
    out.ifindex = s.ifindex;
    char name[IF_NAMESIZE];
    if (if_indextoname(s.ifindex, name))
        out.ifname = name;
    out.prog = detail::describe_program(s.prog_id, s.flags);
    return out;
}

std::optional<DevmapEgress::Slot> DevmapEgress::get(uint32_t key) const
{
    return get_with(bpfext_devmap_get, key, describe);
}

std::vector<DevmapEgress::Slot> DevmapEgress::slots() const
{
    return list_with(bpfext_devmap_next, &bpfext_devmap_slot::key, describe);
}

}  // namespace dme
