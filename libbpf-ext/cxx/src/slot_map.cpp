// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
// Reading a map's identity, naming the program that sits in a slot, and the
// slot map handle DevmapEgress and Cpumap share.
#include "devmap_egress/slot_map.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <bpf_ext/default_prog.h>
#include <bpf_ext/pin.h>

namespace dme {

MapInfo read_map_info(int fd)
{
    if (auto kind = detail::fd_kind(fd); kind != detail::FdKind::map)
        fail(kind == detail::FdKind::closed ? EBADF : EINVAL,
             "fd " + std::to_string(fd) +
                 (kind == detail::FdKind::closed ? " is not open"
                  : kind == detail::FdKind::prog ? " is a BPF program, not a map"
                                                 : " is not a BPF map"));
    bpf_map_info info{};
    uint32_t len = sizeof(info);
    if (bpf_obj_get_info_by_fd(fd, &info, &len))
        fail(errno, "cannot read map info of fd " + std::to_string(fd) + ": " + std::strerror(errno));
    return MapInfo{info.id, info.name, static_cast<bpf_map_type>(info.type), info.max_entries, info.value_size};
}

namespace detail {

std::string format_tag(const unsigned char (&tag)[BPF_TAG_SIZE])
{
    char hex[2 * BPF_TAG_SIZE + 1];
    for (int i = 0; i < BPF_TAG_SIZE; i++)
        std::snprintf(hex + 2 * i, 3, "%02x", tag[i]);
    return hex;
}

SlotProgramInfo describe_program(uint32_t id, uint32_t slot_flags)
{
    SlotProgramInfo p;
    p.id = id;
    p.inherited = slot_flags & BPFEXT_SLOT_INHERITED;
    p.opted_out = slot_flags & BPFEXT_SLOT_NO_DEFAULT;
    if (!id)
        return p;
    int fd = bpf_prog_get_fd_by_id(id);
    if (fd < 0)
        return p;  // unloaded between the lookup and now: keep the id alone
    bpf_prog_info info{};
    uint32_t len = sizeof(info);
    if (!bpf_obj_get_info_by_fd(fd, &info, &len)) {
        p.name = info.name;
        p.tag = format_tag(info.tag);
    }
    ::close(fd);
    return p;
}

SlotMap::SlotMap(Fd fd, std::initializer_list<bpf_map_type> types, const char* what)
    : fd_(std::move(fd)), info_(read_map_info(fd_.get()))
{
    for (auto t : types)
        if (info_.type == t)
            return;
    const char* type = libbpf_bpf_map_type_str(info_.type);
    fail(EINVAL, "map '" + info_.name + "' (id " + std::to_string(info_.id) + ") is a " + (type ? type : "unknown") +
                     " map, not " + what);
}

void SlotMap::pin(const std::string& path) const { check(bpfext_pin(fd(), path.c_str())); }

void SlotMap::set_default_fd(int prog_fd) { check(bpfext_map_set_default_prog(fd(), prog_fd)); }

bool SlotMap::clear_default()
{
    int rc = bpfext_map_clear_default_prog(fd());
    if (rc == -ENOENT)
        return false;
    check(rc);
    return true;
}

SlotProgramInfo SlotMap::default_program() const
{
    __u32 id = 0;
    check(bpfext_map_get_default_prog(fd(), &id));
    return describe_program(id);
}

bool SlotMap::erase_with(int (*del)(int, __u32), uint32_t key)
{
    int rc = del(fd(), key);
    if (rc == -ENOENT)
        return false;
    check(rc);
    return true;
}

}  // namespace detail
}  // namespace dme
