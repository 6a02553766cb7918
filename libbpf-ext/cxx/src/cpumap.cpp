// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "devmap_egress/cpumap.hpp"

#include <cerrno>

#include <bpf_ext/cpumap.h>
#include <bpf_ext/pin.h>

#include "devmap_egress/error.hpp"

namespace dme {

CpuMap::CpuMap(Fd fd) : fd_(std::move(fd))
{
    info_ = read_map_info(fd_.get());
    if (info_.type != BPF_MAP_TYPE_CPUMAP)
        fail(EINVAL, "map '" + info_.name + "' (id " + std::to_string(info_.id) + ") is not a CPUMAP");
}

CpuMap CpuMap::create(const std::string& name, uint32_t max_entries)
{
    return CpuMap(Fd(check(bpfext_cpumap_create(name.c_str(), max_entries, nullptr))));
}

CpuMap CpuMap::create(const std::string& name, uint32_t max_entries, const CpumapProgram& default_prog)
{
    bpfext_cpumap_create_opts o{};
    o.sz = sizeof(o);
    o.default_prog_fd = default_prog.fd();
    return CpuMap(Fd(check(bpfext_cpumap_create(name.c_str(), max_entries, &o))));
}

void CpuMap::set_default(const CpumapProgram& prog) { set_default_program(fd_.get(), prog.fd()); }
bool CpuMap::clear_default() { return clear_default_program(fd_.get()); }
SlotProgramInfo CpuMap::default_program() const { return default_program_of(fd_.get()); }

CpuMap CpuMap::open(const std::string& pinned_path)
{
    return CpuMap(detail::open_pinned(pinned_path, detail::FdKind::map));
}

CpuMap CpuMap::from(int map_fd) { return CpuMap(Fd::dup(map_fd)); }

void CpuMap::write(uint32_t cpu, uint32_t qsize, int prog_fd, SetOptions opts)
{
    bpfext_cpumap_set_opts o{};
    o.sz = sizeof(o);
    o.allow_offline = opts.allow_offline;
    o.no_default = opts.no_default;
    check(bpfext_cpumap_set(fd_.get(), cpu, qsize, prog_fd, &o));
}

void CpuMap::set(uint32_t cpu, uint32_t qsize, const CpumapProgram& prog, SetOptions opts)
{
    write(cpu, qsize, prog.fd(), opts);
}

void CpuMap::set(uint32_t cpu, uint32_t qsize, SetOptions opts) { write(cpu, qsize, -1, opts); }

bool CpuMap::erase(uint32_t cpu)
{
    int rc = bpfext_cpumap_delete(fd_.get(), cpu);
    if (rc == -ENOENT)
        return false;
    check(rc);
    return true;
}

static CpuMap::Slot describe(const bpfext_cpumap_slot& s)
{
    return CpuMap::Slot{s.cpu, s.qsize, describe_program(s.prog_id, s.flags)};
}

std::optional<CpuMap::Slot> CpuMap::get(uint32_t cpu) const
{
    bpfext_cpumap_slot s{};
    int rc = bpfext_cpumap_get(fd_.get(), cpu, &s);
    if (rc == -ENOENT)
        return std::nullopt;
    check(rc);
    return describe(s);
}

std::vector<CpuMap::Slot> CpuMap::slots() const
{
    std::vector<Slot> out;
    bpfext_cpumap_slot s{};
    const __u32* prev = nullptr;
    int rc;
    while ((rc = bpfext_cpumap_next(fd_.get(), prev, &s)) == 0) {
        out.push_back(describe(s));
        prev = &out.back().cpu;
    }
    if (rc != -ENOENT)
        check(rc);
    return out;
}

void CpuMap::pin(const std::string& path) const { check(bpfext_pin(fd_.get(), path.c_str())); }

}  // namespace dme
