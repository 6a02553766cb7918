// The VM host of the thread's use case: a dumb demuxer on the NIC, one
// devmap slot per VM tap whose egress program is that VM's firewall, the same
// policy on the tap's skb path (tc), and an anti-spoofing guard on the tap's
// ingress. Everything of a VM lives in its own BPF object and goes away with
// its tap.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <devmap_egress/devmap_egress.hpp>

#include "conntrack_stats.hpp"
#include "group_members.hpp"
#include "policy.hpp"
#include "vm_policy_types.h"

struct nic_demux;
struct vm_firewall;

namespace vmhost {

// Per-reason counters of one path (vm_path) of one VM: packets, and
// packets with bytes.
using ReasonCounts = std::array<uint64_t, VM_REASONS>;
using ReasonTraffic = std::array<vm_count, VM_REASONS>;

// What a VM owns in the kernel, by id: to show it all gone after the tap is.
struct VmObjects {
    std::vector<uint32_t> prog_ids;
    std::vector<uint32_t> map_ids;
    std::vector<std::string> map_names;  // the object's names, beside map_ids
};

class Vm {
public:
    ~Vm();
    Vm(const Vm&) = delete;
    Vm& operator=(const Vm&) = delete;

    uint32_t port() const noexcept { return port_; }
    const dme::Interface& tap() const noexcept { return tap_; }
    const VmPolicy& policy() const noexcept { return policy_; }
    ReasonCounts counts(vm_path path) const;
    ReasonTraffic traffic(vm_path path) const;
    ConntrackStats conntrack() const;
    int conntrack_fd() const noexcept { return ct_.get(); }
    const VmObjects& objects() const noexcept { return objects_; }

private:
    friend class VmHost;
    Vm(class VmHost& host, uint32_t port, dme::Interface tap, VmPolicy policy, dme::XdpMode mode);
    // A new object with `policy` takes the place of the running one at each
    // hook in one step (slot, tc filter, guard), keeping the VM's counters
    // and tracked flows: each frame meets the old policy or the new.
    void replace(VmHost& host, const VmPolicy& policy);
    // Takes the VM's programs off its tap, which stays.
    void detach(VmHost& host) noexcept;
    void attach_tc(int prog_fd);
    void replace_tc(int prog_fd);
    void adopt(const vm_firewall* skel);

    uint32_t port_;
    dme::Interface tap_;
    VmPolicy policy_;
    dme::XdpMode mode_;
    VmObjects objects_;
    // Only what the control plane reads later, and the programs in place so
    // a failed replace can put them back: the kernel holds the rest (slot,
    // tc filter, XDP attachment), so a thousand VMs cost few fds here.
    dme::Fd verdicts_, ct_, frags_, ct_stats_;
    dme::Fd fw_xdp_, fw_tc_;
    uint32_t tc_handle_ = 0, tc_priority_ = 0;
    std::unique_ptr<dme::XdpAttachment> guard_;
};

class VmHost {
public:
    // The uplink takes slot key 0 of the port map; VMs use keys from 1.
    static constexpr uint32_t kUplinkPort = 0;

    VmHost(const dme::Interface& uplink, dme::XdpMode mode = dme::XdpMode::native);
    ~VmHost();
    VmHost(const VmHost&) = delete;
    VmHost& operator=(const VmHost&) = delete;

    Vm& add_vm(uint32_t port, const dme::Interface& tap, const VmPolicy& policy);
    // A VM's new policy, in place (Vm::replace): its groups, MACs in the
    // demux table and programs follow. Throws dme::Error, the VM left as it
    // was, if the new policy cannot be enforced.
    void update_vm(uint32_t port, const VmPolicy& policy);
    // Forget a VM whose tap is gone: its demux entry is the host's own data.
    void forget_vm(uint32_t port);
    // A VM no longer configured whose tap stays: its programs come off too.
    void remove_vm(uint32_t port);
    Vm* vm(uint32_t port);
    const Vm* vm(uint32_t port) const;
    dme::DevmapEgress& ports() noexcept { return ports_; }
    int mac_to_port_fd() const;
    int tx_ports_fd() const;
    GroupMembers& groups() noexcept { return groups_; }

private:
    // Takes out of the demux table the MACs of `old` that `now` lacks (all
    // when null), unless another VM has taken them since.
    void drop_macs(uint32_t port, const VmPolicy& old, const VmPolicy* now) noexcept;

    nic_demux* demux_ = nullptr;
    dme::DevmapEgress ports_;
    std::unique_ptr<dme::XdpAttachment> demux_attachment_;
    dme::XdpMode mode_;
    GroupMembers groups_;
    std::map<uint32_t, std::unique_ptr<Vm>> vms_;
};

}  // namespace vmhost
