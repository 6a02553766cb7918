// What vmhostd keeps on bpffs so that the datapath outlives the daemon (a
// crash, kill -9, an upgrade) and the next daemon finds it, as Cilium's agent
// does: the host's program and maps, the security-group ids, and for each VM
// its programs, the maps it keeps across policies (counters, flows), and a
// record of where it is attached. Under DIR (host.state_dir):
//   nic_demux tx_ports mac_to_port sg_members   the host's program and maps
//   sg_ids                                      group name -> id
//   vms                                         slot key -> VmRecord
//   vm<KEY>/guard fw_xdp fw_tc, and its maps by name (kVmMaps, vm_host.cpp;
//                no fw_xdp when the VMs share the slot program)
//   shared/fw vm_slot_index vm_shared_stats, and the outer maps by the VM
//                maps' names: the shared slot firewall (host.slot_programs)
// An empty DIR pins nothing: the datapath then lives as long as its owner.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include <devmap_egress/fd.hpp>

namespace vmhost {

// Names are at most this long (VM names and group names, config.cpp).
constexpr size_t kPinnedNameMax = 63;

struct VmRecord {
    char name[kPinnedNameMax + 1];
    uint32_t ifindex;                  // the tap it was enforced on
    uint32_t tc_handle, tc_priority;   // its tc egress filter there
    uint32_t pad;
};

class PinnedState {
public:
    // Creates DIR when missing (its parent must be on bpffs) and locks it:
    // one vmhostd per state directory. Throws dme::Error naming the cause
    // and the fix. A DIR this created is removed again on destruction
    // unless keep() was called: a daemon that fails to start leaves nothing.
    explicit PinnedState(std::string dir);
    ~PinnedState();
    PinnedState(const PinnedState&) = delete;
    PinnedState& operator=(const PinnedState&) = delete;

    void keep() noexcept { created_ = false; }

    bool enabled() const noexcept { return !dir_.empty(); }
    const std::string& dir() const noexcept { return dir_; }

    // The object pinned at DIR/NAME, or an empty Fd when nothing is.
    dme::Fd open(const std::string& name) const;
    // Pins `fd` at DIR/NAME in place of what is there, in one step.
    void pin(int fd, const std::string& name) const;
    void unpin(const std::string& name) const noexcept;

    // A VM's directory, and its objects, by its slot key (relative to DIR).
    static std::string vm_dir(uint32_t port) { return "vm" + std::to_string(port); }
    static std::string vm_pin(uint32_t port, const char* object);
    void make_vm_dir(uint32_t port) const;
    void make_dir(const std::string& name) const;  // DIR/NAME, if missing
    void remove_vm(uint32_t port) noexcept;  // its pins, directory and record
    // Everything under DIR, and DIR itself: what a teardown leaves.
    void remove_all() noexcept;

    std::map<uint32_t, VmRecord> records() const;
    // One VM's record: one lookup, where records() reads them all.
    std::optional<VmRecord> record(uint32_t port) const;
    void put_record(uint32_t port, const VmRecord& r);

    // Group name -> id, as GroupMembers hands them out (-1 when disabled).
    int group_ids_fd() const noexcept { return sg_ids_.get(); }

private:
    dme::Fd open_or_create(const std::string& name, uint32_t key_size, uint32_t value_size, uint32_t max_entries);

    std::string dir_;
    bool created_ = false;
    dme::Fd lock_, vms_, sg_ids_;
};

}  // namespace vmhost
