// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "devmap_egress/program.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <bpf_ext/pin.h>

#include "devmap_egress/slot_map.hpp"
#include "devmap_egress/error.hpp"

namespace dme {

namespace {

const char* role_of(bpf_attach_type t)
{
    switch (t) {
    case BPF_XDP_DEVMAP:
        return "devmap egress (SEC(\"xdp/devmap\"))";
    case BPF_XDP_CPUMAP:
        return "cpumap (SEC(\"xdp/cpumap\"))";
    default:
        return "ingress XDP (SEC(\"xdp\"))";
    }
}

std::string attach_str(bpf_attach_type t)
{
    const char* s = libbpf_bpf_attach_type_str(t);
    return s ? s : "unknown";
}

}  // namespace

namespace detail {

ProgramHandle ProgramHandle::adopt(Fd fd)
{
    if (detail::fd_kind(fd.get()) == FdKind::map)
        fail(EINVAL, "fd " + std::to_string(fd.get()) + " is a BPF map, not a program");
    bpf_prog_info info{};
    uint32_t len = sizeof(info);
    if (bpf_obj_get_info_by_fd(fd.get(), &info, &len))
        fail(errno, "fd " + std::to_string(fd.get()) + " is not a BPF program: " + std::strerror(errno));
    if (info.type != BPF_PROG_TYPE_XDP) {
        const char* t = libbpf_bpf_prog_type_str(static_cast<bpf_prog_type>(info.type));
        fail(EINVAL, std::string("program '") + info.name + "' (id " + std::to_string(info.id) + ") is a " +
                         (t ? t : "unknown") + " program, not XDP");
    }
    ProgramHandle h;
    h.fd_ = std::move(fd);
    h.id_ = info.id;
    h.name_ = info.name;
    h.tag_ = format_tag(info.tag);
    return h;
}

ProgramHandle ProgramHandle::from(const bpf_program* prog, bpf_attach_type want)
{
    std::string name = bpf_program__name(prog);
    if (bpf_program__type(prog) != BPF_PROG_TYPE_XDP || bpf_program__expected_attach_type(prog) != want)
        fail(EINVAL, "program '" + name + "' (section \"" + bpf_program__section_name(prog) +
                         "\", attach type " + attach_str(bpf_program__expected_attach_type(prog)) +
                         ") is not a " + role_of(want) + " program: put it in the right section");
    int fd = bpf_program__fd(prog);
    if (fd < 0)
        fail(EINVAL, "program '" + name + "' is not loaded yet: load its object first");
    return adopt(Fd::dup(fd));
}

ProgramHandle ProgramHandle::load(BpfObject& obj, const std::string& name, bpf_attach_type want)
{
    bpf_program* prog = obj.program(name);
    // Refuse before loading: a wrong program should not cost a verifier run.
    if (bpf_program__type(prog) != BPF_PROG_TYPE_XDP || bpf_program__expected_attach_type(prog) != want)
        fail(EINVAL, "program '" + name + "' in " + obj.name() + " (section \"" +
                         bpf_program__section_name(prog) + "\") is not a " + role_of(want) +
                         " program: put it in the right section, or load it with the matching type");
    obj.load();
    return from(prog, want);
}

}  // namespace detail

Fd open_program_by_id(uint32_t id)
{
    if (!id)
        fail(EINVAL, "program id 0 names no program: ids start at 1 (see 'bpftool prog show')");
    int fd = bpf_prog_get_fd_by_id(id);
    if (fd < 0)
        fail(errno, "no BPF program with id " + std::to_string(id) +
                        (errno == ENOENT ? " (see 'bpftool prog show')" : std::string(": ") + std::strerror(errno)));
    return Fd(fd);
}

}  // namespace dme
