// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
// What DevmapEgress and Cpumap share: a map's identity, what runs in a slot,
// and (in detail) the one implementation of a slot map handle both use.
#pragma once

#include <cerrno>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include <linux/bpf.h>

#include "devmap_egress/error.hpp"
#include "devmap_egress/fd.hpp"

namespace dme {

// Identity and shape of a map, read once when the handle is made.
struct MapInfo {
    uint32_t id = 0;
    std::string name;
    bpf_map_type type = BPF_MAP_TYPE_UNSPEC;
    uint32_t max_entries = 0;
    uint32_t value_size = 0;
};

// Throws Error when fd is not a BPF map.
MapInfo read_map_info(int fd);

// What runs in a slot: the program's id, name and tag (empty when none).
struct SlotProgramInfo {
    uint32_t id = 0;
    std::string name;
    std::string tag;
    bool inherited = false;   // the map's default program (patched kernels)
    bool opted_out = false;   // runs no program, not even the default
};

// How a slot write treats the slot's current state (BPF_ANY, BPF_NOEXIST,
// BPF_EXIST); the library honours replace_only on every map type.
enum class WriteMode { any = BPF_ANY, create_only = BPF_NOEXIST, replace_only = BPF_EXIST };

namespace detail {

// A program tag as bpftool prints it: 16 hex digits.
std::string format_tag(const unsigned char (&tag)[BPF_TAG_SIZE]);
// `slot_flags`: BPFEXT_SLOT_* of the slot the program was read from.
SlotProgramInfo describe_program(uint32_t id, uint32_t slot_flags = 0);

// An owned map fd of one of `types`, with what every slot map does: pinning,
// the default program, and reading slots through the C library's calls.
class SlotMap {
public:
    void pin(const std::string& path) const;
    int fd() const noexcept { return fd_.get(); }
    const MapInfo& info() const noexcept { return info_; }

    // The map-wide default program (patched kernels): clear (false when
    // there was none), read (id 0: none).
    bool clear_default();
    SlotProgramInfo default_program() const;

protected:
    SlotMap(Fd fd, std::initializer_list<bpf_map_type> types, const char* what);
    void set_default_fd(int prog_fd);
    // The C calls return -ENOENT for an empty slot / the end of the slots.
    bool erase_with(int (*del)(int, __u32), uint32_t key);

    template <class CSlot, class Describe>
    auto get_with(int (*get)(int, __u32, CSlot*), uint32_t key, Describe describe) const
        -> std::optional<decltype(describe(CSlot{}))>
    {
        CSlot s{};
        int rc = get(fd(), key, &s);
        if (rc == -ENOENT)
            return std::nullopt;
        check(rc);
        return describe(s);
    }

    // `key_of`: the slot's key field, to continue the iteration from.
    template <class CSlot, class Describe>
    auto list_with(int (*next)(int, const __u32*, CSlot*), __u32 CSlot::*key_of, Describe describe) const
        -> std::vector<decltype(describe(CSlot{}))>
    {
        std::vector<decltype(describe(CSlot{}))> out;
        CSlot s{};
        __u32 prev = 0;
        int rc;
        while ((rc = next(fd(), out.empty() ? nullptr : &prev, &s)) == 0) {
            prev = s.*key_of;
            out.push_back(describe(s));
        }
        if (rc != -ENOENT)
            check(rc);
        return out;
    }

private:
    Fd fd_;
    MapInfo info_;
};

}  // namespace detail
}  // namespace dme
