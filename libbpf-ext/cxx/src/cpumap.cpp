// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "devmap_egress/cpumap.hpp"

#include <bpf_ext/cpumap.h>

namespace dme {

Cpumap::Cpumap(Fd fd) : SlotMap(std::move(fd), {BPF_MAP_TYPE_CPUMAP}, "a cpumap") {}

Cpumap Cpumap::create(const std::string& name, uint32_t max_entries)
{
    return Cpumap(Fd(check(bpfext_cpumap_create(name.c_str(), max_entries, nullptr))));
}

Cpumap Cpumap::create(const std::string& name, uint32_t max_entries, const CpumapProgram& default_prog)
{
    bpfext_cpumap_create_opts o{};
    o.sz = sizeof(o);
    o.default_prog_fd = default_prog.fd();
    return Cpumap(Fd(check(bpfext_cpumap_create(name.c_str(), max_entries, &o))));
}

Cpumap Cpumap::open(const std::string& pinned_path)
{
    return Cpumap(detail::open_pinned(pinned_path, detail::FdKind::map));
}

Cpumap Cpumap::from(int map_fd) { return Cpumap(Fd::dup(map_fd)); }

void Cpumap::write(uint32_t cpu, uint32_t qsize, int prog_fd, const CpumapSetOptions& opts)
{
    bpfext_cpumap_set_opts o{};
    o.sz = sizeof(o);
    o.flags = static_cast<__u64>(opts.mode);
    o.allow_offline = opts.allow_offline;
    o.no_default = opts.no_default;
    check(bpfext_cpumap_set(fd(), cpu, qsize, prog_fd, &o));
}

void Cpumap::set(uint32_t cpu, uint32_t qsize, const CpumapProgram& prog, CpumapSetOptions opts)
{
    write(cpu, qsize, prog.fd(), opts);
}

void Cpumap::set(uint32_t cpu, uint32_t qsize, CpumapSetOptions opts) { write(cpu, qsize, -1, opts); }

bool Cpumap::erase(uint32_t cpu) { return erase_with(bpfext_cpumap_delete, cpu); }

static Cpumap::Slot describe(const bpfext_cpumap_slot& s)
{
    return Cpumap::Slot{s.cpu, s.qsize, detail::describe_program(s.prog_id, s.flags)};
}

std::optional<Cpumap::Slot> Cpumap::get(uint32_t cpu) const { return get_with(bpfext_cpumap_get, cpu, describe); }

std::vector<Cpumap::Slot> Cpumap::slots() const
{
    return list_with(bpfext_cpumap_next, &bpfext_cpumap_slot::cpu, describe);
}

}  // namespace dme
