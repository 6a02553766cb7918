// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
// An opened (and, on demand, loaded) BPF ELF object.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

struct bpf_object;
struct bpf_program;
struct bpf_map;

namespace dme {

class BpfObject {
public:
    static BpfObject open_file(const std::string& path);
    // `bytes` must outlive the object (e.g. a skeleton's embedded ELF).
    static BpfObject open_memory(const std::string& name, std::span<const std::byte> bytes);

    BpfObject(BpfObject&& o) noexcept;
    BpfObject& operator=(BpfObject&& o) noexcept;
    BpfObject(const BpfObject&) = delete;
    BpfObject& operator=(const BpfObject&) = delete;
    ~BpfObject();

    // Load every program and map into the kernel; a no-op once loaded.
    void load();
    bool loaded() const noexcept { return loaded_; }
    // Throws Error(ENOENT) listing the object's programs when `name` is absent.
    bpf_program* program(const std::string& name) const;
    bpf_map* map(const std::string& name) const;
    std::vector<std::string> program_names() const;
    const std::string& name() const noexcept { return name_; }
    bpf_object* get() const noexcept { return obj_; }

private:
    BpfObject(bpf_object* obj, std::string name) : obj_(obj), name_(std::move(name)) {}
    bpf_object* obj_ = nullptr;
    std::string name_;
    bool loaded_ = false;
};

}  // namespace dme
