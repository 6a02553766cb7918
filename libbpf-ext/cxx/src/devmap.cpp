// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "devmap_egress/devmap.hpp"

#include <net/if.h>

#include <cerrno>

#include <bpf_ext/devmap.h>
#include <bpf_ext/pin.h>

#include "devmap_egress/error.hpp"

namespace dme {

DevmapEgress::DevmapEgress(Fd fd) : fd_(std::move(fd))
{
    info_ = read_map_info(fd_.get());
    if (info_.type != BPF_MAP_TYPE_DEVMAP && info_.type != BPF_MAP_TYPE_DEVMAP_HASH)
        fail(EINVAL, "map '" + info_.name + "' (id " + std::to_string(info_.id) +
                         ") is not a DEVMAP or DEVMAP_HASH");
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

void DevmapEgress::set_default(const EgressProgram& prog) { set_default_program(fd_.get(), prog.fd()); }
bool DevmapEgress::clear_default() { return clear_default_program(fd_.get()); }
SlotProgramInfo DevmapEgress::default_program() const { return default_program_of(fd_.get()); }

DevmapEgress DevmapEgress::open(const std::string& pinned_path)
{
    return DevmapEgress(detail::open_pinned(pinned_path, detail::FdKind::map));
}

DevmapEgress DevmapEgress::from(int map_fd) { return DevmapEgress(Fd::dup(map_fd)); }

void DevmapEgress::write(uint32_t key, const Interface& dev, int prog_fd, SetOptions opts)
{
    bpfext_devmap_set_opts o{};
    o.sz = sizeof(o);
    o.flags = static_cast<__u64>(opts.mode);
    o.skip_xmit_check = opts.skip_xmit_check;
    o.no_default = opts.no_default;
    check(bpfext_devmap_set(fd_.get(), key, dev.ifindex(), prog_fd, &o));
}

void DevmapEgress::set(uint32_t key, const Interface& dev, const EgressProgram& prog, SetOptions opts)
{
    write(key, dev, prog.fd(), opts);
}

void DevmapEgress::set(uint32_t key, const Interface& dev, SetOptions opts) { write(key, dev, -1, opts); }

bool DevmapEgress::erase(uint32_t key)
{
    int rc = bpfext_devmap_delete(fd_.get(), key);
    if (rc == -ENOENT)
        return false;
    check(rc);
    return true;
}

static DevmapEgress::Slot describe(const bpfext_devmap_slot& s)
{
    DevmapEgress::Slot out;
    out.key = s.key;
    out.ifindex = s.ifindex;
    char name[IF_NAMESIZE];
    if (if_indextoname(s.ifindex, name))
        out.ifname = name;
    out.prog = describe_program(s.prog_id, s.flags);
    return out;
}

std::optional<DevmapEgress::Slot> DevmapEgress::get(uint32_t key) const
{
    bpfext_devmap_slot s{};
    int rc = bpfext_devmap_get(fd_.get(), key, &s);
    if (rc == -ENOENT)
        return std::nullopt;
    check(rc);
    return describe(s);
}

std::vector<DevmapEgress::Slot> DevmapEgress::slots() const
{
    std::vector<Slot> out;
    bpfext_devmap_slot s{};
    const __u32* prev = nullptr;
    int rc;
    while ((rc = bpfext_devmap_next(fd_.get(), prev, &s)) == 0) {
        out.push_back(describe(s));
        prev = &out.back().key;
    }
    if (rc != -ENOENT)
        check(rc);
    return out;
}

void DevmapEgress::pin(const std::string& path) const { check(bpfext_pin(fd_.get(), path.c_str())); }

}  // namespace dme
