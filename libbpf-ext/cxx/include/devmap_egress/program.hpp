// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
// XDP programs typed by where they may run, so the compiler stops a cpumap
// program from going into a devmap slot and vice versa:
//   IngressProgram  SEC("xdp")         attached to a device's receive path
//   EgressProgram   SEC("xdp/devmap")  held by a devmap slot
//   CpumapProgram   SEC("xdp/cpumap")  held by a cpumap slot
#pragma once

#include <cstdint>
#include <string>

#include <linux/bpf.h>

#include "devmap_egress/bpf_object.hpp"
#include "devmap_egress/fd.hpp"

namespace dme {

namespace detail {
// Owns a program fd; checks what can be checked before the kernel sees it.
class ProgramHandle {
public:
    int fd() const noexcept { return fd_.get(); }
    uint32_t id() const noexcept { return id_; }
    const std::string& name() const noexcept { return name_; }
    const std::string& tag() const noexcept { return tag_; }

protected:
    ProgramHandle() = default;
    static ProgramHandle load(BpfObject& obj, const std::string& name, bpf_attach_type want);
    static ProgramHandle from(const bpf_program* prog, bpf_attach_type want);
    static ProgramHandle adopt(Fd fd);  // type checked; attach type checked by the kernel

private:
    Fd fd_;
    uint32_t id_ = 0;
    std::string name_, tag_;
};
}  // namespace detail

template <bpf_attach_type Attach>
class XdpProgram : public detail::ProgramHandle {
public:
    static constexpr bpf_attach_type attach_type = Attach;

    // Load `name` from `obj` (loading the object if needed). Refuses, before
    // loading, a program whose section gives another attach type.
    static XdpProgram load(BpfObject& obj, const std::string& name)
    {
        return XdpProgram(ProgramHandle::load(obj, name, Attach));
    }
    // A program of an already loaded libbpf object (e.g. a skeleton's).
    static XdpProgram from(const bpf_program* prog) { return XdpProgram(ProgramHandle::from(prog, Attach)); }
    // Take a copy of a loaded program's fd, or open one by id or pin. The
    // kernel does not report attach types, so a mismatch shows at slot write.
    static XdpProgram from_fd(int fd) { return XdpProgram(ProgramHandle::adopt(Fd::dup(fd))); }
    static XdpProgram from_id(uint32_t id);
    static XdpProgram from_pinned(const std::string& path);

private:
    explicit XdpProgram(ProgramHandle h) : ProgramHandle(std::move(h)) {}
};

using IngressProgram = XdpProgram<BPF_XDP>;
using EgressProgram = XdpProgram<BPF_XDP_DEVMAP>;
using CpumapProgram = XdpProgram<BPF_XDP_CPUMAP>;

// A new fd of the program with this id; Error names id 0 and unknown ids.
Fd open_program_by_id(uint32_t id);

template <bpf_attach_type A>
XdpProgram<A> XdpProgram<A>::from_id(uint32_t id)
{
    return XdpProgram(ProgramHandle::adopt(open_program_by_id(id)));
}

template <bpf_attach_type A>
XdpProgram<A> XdpProgram<A>::from_pinned(const std::string& path)
{
    return XdpProgram(ProgramHandle::adopt(detail::open_pinned(path, detail::FdKind::prog)));
}

}  // namespace dme
