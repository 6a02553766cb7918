// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
// A CPUMAP whose slots carry a queue size and a program that runs on that CPU.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "devmap_egress/program.hpp"
#include "devmap_egress/slot_map.hpp"

namespace dme {

struct CpumapSetOptions {
    WriteMode mode = WriteMode::any;  // create_only is refused: every CPU's slot exists
    bool allow_offline = false;       // accept a possible but offline CPU
    bool no_default = false;          // without a program: not even the map's default
};

class Cpumap : public detail::SlotMap {
public:
    struct Slot {
        uint32_t cpu = 0;
        uint32_t qsize = 0;
        SlotProgramInfo prog;
    };
    using SetOptions = CpumapSetOptions;

    // max_entries 0: one slot per possible CPU.
    static Cpumap create(const std::string& name, uint32_t max_entries = 0);
    // With a map-wide default program (patched kernels).
    static Cpumap create(const std::string& name, uint32_t max_entries, const CpumapProgram& default_prog);
    static Cpumap open(const std::string& pinned_path);
    static Cpumap from(int map_fd);

    void set(uint32_t cpu, uint32_t qsize, const CpumapProgram& prog, CpumapSetOptions opts = {});
    // A slot without a program of its own.
    void set(uint32_t cpu, uint32_t qsize, CpumapSetOptions opts = {});
    // Stops the CPU's kthread and releases its program. Returns false when
    // the slot was already empty.
    bool erase(uint32_t cpu);
    std::optional<Slot> get(uint32_t cpu) const;
    std::vector<Slot> slots() const;

    // Set or atomically replace the map-wide default program (patched kernels).
    void set_default(const CpumapProgram& prog) { set_default_fd(prog.fd()); }

private:
    explicit Cpumap(Fd fd);
    void write(uint32_t cpu, uint32_t qsize, int prog_fd, const CpumapSetOptions& opts);
};

// The earlier spelling, for existing callers; new code says Cpumap, as
// DevmapEgress, CpumapProgram and the C API do.
using CpuMap = Cpumap;

}  // namespace dme
