// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
// A DEVMAP or DEVMAP_HASH whose slots carry egress programs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <linux/bpf.h>

#include "devmap_egress/fd.hpp"
#include "devmap_egress/interface.hpp"
#include "devmap_egress/program.hpp"

namespace dme {

// Identity and shape of a map, read once when the handle is made.
struct MapInfo {
    uint32_t id = 0;
    std::string name;
    bpf_map_type type = BPF_MAP_TYPE_UNSPEC;
    uint32_t max_entries = 0;
    uint32_t value_size = 0;
};

// What runs in a slot: the program's id, name and tag (empty when none).
struct SlotProgramInfo {
    uint32_t id = 0;
    std::string name;
    std::string tag;
    bool inherited = false;   // the map's default program (patched kernels)
    bool opted_out = false;   // runs no program, not even the default
};

enum class WriteMode { any = BPF_ANY, create_only = BPF_NOEXIST, replace_only = BPF_EXIST };

class DevmapEgress {
public:
    struct Slot {
        uint32_t key = 0;
        uint32_t ifindex = 0;
        std::string ifname;  // empty if the device is gone from this namespace
        SlotProgramInfo prog;
    };
    struct SetOptions {
        WriteMode mode = WriteMode::any;
        // Write even if the device cannot transmit XDP frames now (generic XDP).
        bool skip_xmit_check = false;
        // For a slot without a program: not even the map's default runs.
        bool no_default = false;
    };

    static DevmapEgress create(const std::string& name, uint32_t max_entries);
    static DevmapEgress create_hash(const std::string& name, uint32_t max_entries);
    // With a map-wide default program (patched kernels; elsewhere Error says so).
    static DevmapEgress create(const std::string& name, uint32_t max_entries, const EgressProgram& default_prog);
    static DevmapEgress create_hash(const std::string& name, uint32_t max_entries,
                                    const EgressProgram& default_prog);
    static DevmapEgress open(const std::string& pinned_path);
    // Borrow-and-copy an existing map fd (e.g. a skeleton's map).
    static DevmapEgress from(int map_fd);

    void set(uint32_t key, const Interface& dev, const EgressProgram& prog, SetOptions opts);
    void set(uint32_t key, const Interface& dev, const EgressProgram& prog) { set(key, dev, prog, SetOptions{}); }
    void set(uint32_t key, const Interface& dev, SetOptions opts);
    void set(uint32_t key, const Interface& dev) { set(key, dev, SetOptions{}); }
    // Returns false when the slot was already empty.
    bool erase(uint32_t key);
    std::optional<Slot> get(uint32_t key) const;
    std::vector<Slot> slots() const;

    // The map-wide default program (patched kernels): set or atomically
    // replace, clear (false when there was none), read (id 0: none).
    void set_default(const EgressProgram& prog);
    bool clear_default();
    SlotProgramInfo default_program() const;

    void pin(const std::string& path) const;
    int fd() const noexcept { return fd_.get(); }
    const MapInfo& info() const noexcept { return info_; }

private:
    explicit DevmapEgress(Fd fd);
    static DevmapEgress make(bpf_map_type type, const std::string& name, uint32_t max_entries, int default_fd);
    void write(uint32_t key, const Interface& dev, int prog_fd, SetOptions opts);
    Fd fd_;
    MapInfo info_;
};

// Shared by DevmapEgress and CpuMap.
MapInfo read_map_info(int fd);
// `slot_flags`: BPFEXT_SLOT_* of the slot the program was read from.
SlotProgramInfo describe_program(uint32_t id, uint32_t slot_flags = 0);
// The default-program calls, shared by DevmapEgress and CpuMap.
void set_default_program(int map_fd, int prog_fd);
bool clear_default_program(int map_fd);
SlotProgramInfo default_program_of(int map_fd);
// A program tag as bpftool prints it: 16 hex digits.
std::string format_tag(const unsigned char (&tag)[BPF_TAG_SIZE]);

}  // namespace dme
