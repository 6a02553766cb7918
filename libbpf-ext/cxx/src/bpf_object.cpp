// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "devmap_egress/bpf_object.hpp"

#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "devmap_egress/error.hpp"

#include <bpf_ext/cpumap.h>

namespace dme {

BpfObject BpfObject::open_file(const std::string& path)
{
    bpf_object* obj = bpf_object__open_file(path.c_str(), nullptr);
    if (!obj) {
        int err = errno;
        fail(err, "cannot open BPF object " + path + ": " + std::strerror(err) +
                      (err == ENOENT ? " (no such file)" : " (is it a BPF ELF built with clang -target bpf?)"));
    }
    return BpfObject(obj, path);
}

BpfObject BpfObject::open_memory(const std::string& name, std::span<const std::byte> bytes)
{
    LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = name.c_str());
    bpf_object* obj = bpf_object__open_mem(bytes.data(), bytes.size(), &opts);
    if (!obj)
        fail(errno, "cannot open embedded BPF object " + name + ": " + std::strerror(errno));
    return BpfObject(obj, name);
}

BpfObject::BpfObject(BpfObject&& o) noexcept
    : obj_(std::exchange(o.obj_, nullptr)), name_(std::move(o.name_)), loaded_(o.loaded_)
{
}

BpfObject& BpfObject::operator=(BpfObject&& o) noexcept
{
    if (this != &o) {
        bpf_object__close(obj_);
        obj_ = std::exchange(o.obj_, nullptr);
        name_ = std::move(o.name_);
        loaded_ = o.loaded_;
    }
    return *this;
}

BpfObject::~BpfObject() { bpf_object__close(obj_); }

void BpfObject::load()
{
    if (loaded_)
        return;
    check(bpfext_cpumap_fit_object(obj_));
    int err = bpf_object__load(obj_);
    if (err) {
        std::string why = err == -EPERM ? " (loading BPF needs CAP_BPF and CAP_NET_ADMIN: run as root)"
                                        : " (the verifier log above says why)";
        fail(-err, "loading BPF object " + name_ + " failed: " + std::strerror(-err) + why);
    }
    loaded_ = true;
}

std::vector<std::string> BpfObject::program_names() const
{
    std::vector<std::string> names;
    bpf_program* p = nullptr;
    bpf_object__for_each_program(p, obj_) names.emplace_back(bpf_program__name(p));
    return names;
}

bpf_program* BpfObject::program(const std::string& name) const
{
    bpf_program* p = bpf_object__find_program_by_name(obj_, name.c_str());
    if (!p) {
        std::string have;
        for (const auto& n : program_names())
            have += (have.empty() ? "" : ", ") + n;
        fail(ENOENT, "BPF object " + name_ + " has no program '" + name + "' (it has: " + have + ")");
    }
    return p;
}

bpf_map* BpfObject::map(const std::string& name) const
{
    bpf_map* m = bpf_object__find_map_by_name(obj_, name.c_str());
    if (!m)
        fail(ENOENT, "BPF object " + name_ + " has no map '" + name + "'");
    return m;
}

}  // namespace dme
