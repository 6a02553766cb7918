// What runs in the VMs' devmap slots (host.slot_programs, docs/vmhostd.md):
//   per_vm     each VM's own vm_fw_xdp, bound to its maps, in its slot;
//   shared     one program, vm_fw_shared, the host devmap's map-wide default
//              program, which every VM's slot inherits; it finds the VM's
//              own maps by the frame's egress device. Needs a kernel with
//              map-wide default programs (the project's patched kernel);
//   automatic  shared where the kernel has them, else per_vm.
#pragma once

#include <optional>
#include <string>

namespace vmhost {

enum class SlotPrograms { automatic, shared, per_vm };

inline const char* slot_programs_name(SlotPrograms s)
{
    return s == SlotPrograms::shared ? "shared" : s == SlotPrograms::per_vm ? "per-vm" : "auto";
}

// Whether the running kernel has map-wide default programs (bpfext_probe()),
// probed once per process: the daemon's start line and the slot mode ask.
bool kernel_has_default_progs();

inline std::optional<SlotPrograms> parse_slot_programs(const std::string& s)
{
    if (s == "auto")
        return SlotPrograms::automatic;
    if (s == "shared")
        return SlotPrograms::shared;
    if (s == "per-vm")
        return SlotPrograms::per_vm;
    return std::nullopt;
}

}  // namespace vmhost
