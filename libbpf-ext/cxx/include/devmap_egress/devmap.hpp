// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
// A DEVMAP or DEVMAP_HASH whose slots carry egress programs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "devmap_egress/interface.hpp"
#include "devmap_egress/program.hpp"
#include "devmap_egress/slot_map.hpp"

namespace dme {

struct DevmapSetOptions {
    WriteMode mode = WriteMode::any;
    // Write even if the device cannot transmit XDP frames now (generic XDP).
    bool skip_xmit_check = false;
    // For a slot without a program: not even the map's default runs.
    bool no_default = false;
};

class DevmapEgress : public detail::SlotMap {
public:
    struct Slot {
        uint32_t key = 0;
        uint32_t ifindex = 0;
        std::string ifname;  // empty if the device is gone from this namespace
        SlotProgramInfo prog;
    };
    using SetOptions = DevmapSetOptions;

    static DevmapEgress create(const std::string& name, uint32_t max_entries);
    static DevmapEgress create_hash(const std::string& name, uint32_t max_entries);
    // With a map-wide default program (patched kernels; elsewhere Error says so).
    static DevmapEgress create(const std::string& name, uint32_t max_entries, const EgressProgram& default_prog);
    static DevmapEgress create_hash(const std::string& name, uint32_t max_entries,
                                    const EgressProgram& default_prog);
    static DevmapEgress open(const std::string& pinned_path);
    // Borrow-and-copy an existing map fd (e.g. a skeleton's map).
    static DevmapEgress from(int map_fd);

    void set(uint32_t key, const Interface& dev, const EgressProgram& prog, DevmapSetOptions opts = {});
    // A slot without a program of its own.
    void set(uint32_t key, const Interface& dev, DevmapSetOptions opts = {});
    // Returns false when the slot was already empty.
    bool erase(uint32_t key);
    std::optional<Slot> get(uint32_t key) const;
    std::vector<Slot> slots() const;

    // Set or atomically replace the map-wide default program (patched kernels).
    void set_default(const EgressProgram& prog) { set_default_fd(prog.fd()); }

private:
    explicit DevmapEgress(Fd fd);
    static DevmapEgress make(bpf_map_type type, const std::string& name, uint32_t max_entries, int default_fd);
    void write(uint32_t key, const Interface& dev, int prog_fd, const DevmapSetOptions& opts);
};

}  // namespace dme
