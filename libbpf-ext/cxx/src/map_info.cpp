// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
// Reading a map's identity and naming the program that sits in a slot.
#include <bpf/bpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "devmap_egress/devmap.hpp"
#include "devmap_egress/error.hpp"

#include <bpf_ext/default_prog.h>

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

void set_default_program(int map_fd, int prog_fd) { check(bpfext_map_set_default_prog(map_fd, prog_fd)); }

bool clear_default_program(int map_fd)
{
    int rc = bpfext_map_clear_default_prog(map_fd);
    if (rc == -ENOENT)
        return false;
    check(rc);
    return true;
}

SlotProgramInfo default_program_of(int map_fd)
{
    __u32 id = 0;
    check(bpfext_map_get_default_prog(map_fd, &id));
    return describe_program(id);
}

}  // namespace dme
