// vmhostd's core: the host of a configuration, following the VMs' taps as
// they appear and go (LinkWatch). A tap that matches a configured VM (by
// name, or by libvirt's tap MAC for the VM's MAC) gets the VM's guard, slot
// firewall and tc twin (VmHost::add_vm); a tap that goes takes its programs
// and maps with it, and the daemon forgets the VM's host-side state.
// One line is logged per event, with the VM's name.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config.hpp"
#include "link_watch.hpp"
#include "vm_host.hpp"

namespace vmhost {

class Daemon {
public:
    using Log = std::function<void(const std::string&)>;

    // Attaches the NIC demux to the uplink and every configured VM whose tap
    // is already there. Throws dme::Error naming the cause (no uplink, no
    // privileges, a kernel without XDP).
    Daemon(HostConfig cfg, Log log);

    // Waits up to `timeout` for link notifications and acts on them.
    void step(std::chrono::milliseconds timeout);

    struct VmStatus {
        std::string name;
        uint32_t port = 0;                     // the VM's devmap slot key
        std::optional<uint32_t> ifindex;       // its tap, while there
        bool enforced = false;                 // guard, slot firewall and tc twin attached
        std::string error;                     // why not, when its tap is there but it is not enforced
        std::chrono::microseconds time_to_policy{0};  // from seeing the tap to enforcing
    };
    std::vector<VmStatus> status() const;
    VmHost& host() noexcept { return *host_; }

private:
    void on_link(const LinkEvent& e);
    std::optional<size_t> match(const LinkEvent& e) const;

    HostConfig cfg_;
    Log log_;
    LinkWatch watch_;  // subscribed before the first listing
    std::unique_ptr<VmHost> host_;
    std::vector<VmStatus> vms_;  // by the VM's place in the configuration
};

}  // namespace vmhost
