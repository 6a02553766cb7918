// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
// A CPUMAP whose slots carry a queue size and a program that runs on that CPU.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "devmap_egress/devmap.hpp"
#include "devmap_egress/fd.hpp"
#include "devmap_egress/program.hpp"

namespace dme {

class CpuMap {
public:
    struct Slot {
        uint32_t cpu = 0;
        uint32_t qsize = 0;
        SlotProgramInfo prog;
    };
    struct SetOptions {
        bool allow_offline = false;
        bool no_default = false;  // without a program: not even the map's default
    };

    // max_entries 0: one slot per possible CPU.
    static CpuMap create(const std::string& name, uint32_t max_entries = 0);
    // With a map-wide default program (patched kernels).
    static CpuMap create(const std::string& name, uint32_t max_entries, const CpumapProgram& default_prog);
    static CpuMap open(const std::string& pinned_path);
    static CpuMap from(int map_fd);

    void set(uint32_t cpu, uint32_t qsize, const CpumapProgram& prog, SetOptions opts);
    void set(uint32_t cpu, uint32_t qsize, const CpumapProgram& prog) { set(cpu, qsize, prog, SetOptions{}); }
    void set(uint32_t cpu, uint32_t qsize, SetOptions opts);
    void set(uint32_t cpu, uint32_t qsize) { set(cpu, qsize, SetOptions{}); }
    // Stops the CPU's kthread and releases its program. Returns false when
    // the slot was already empty.
    bool erase(uint32_t cpu);
    std::optional<Slot> get(uint32_t cpu) const;
    std::vector<Slot> slots() const;

    void set_default(const CpumapProgram& prog);
    bool clear_default();
    SlotProgramInfo default_program() const;

    void pin(const std::string& path) const;
    int fd() const noexcept { return fd_.get(); }
    const MapInfo& info() const noexcept { return info_; }

private:
    explicit CpuMap(Fd fd);
    void write(uint32_t cpu, uint32_t qsize, int prog_fd, SetOptions opts);
    Fd fd_;
    MapInfo info_;
};

}  // namespace dme
