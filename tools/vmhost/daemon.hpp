// vmhostd's core: the host of a configuration, following the VMs' taps as
// they appear and go (LinkWatch). A tap that matches a configured VM (by
// name, or by libvirt's tap MAC for the VM's MAC) gets the VM's guard, slot
// firewall and tc twin (VmHost::add_vm); a tap that goes takes its programs
// and maps with it, and the daemon forgets the VM's host-side state. A new
// configuration is applied as a difference (reload). One line is logged per
// event, with the VM's name.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
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

    // The link notifications' socket, for the caller's poll(); and what to
    // call when it is readable.
    int fd() const noexcept { return watch_.fd(); }
    void on_readable();
    // Waits up to `timeout` for link notifications and acts on them.
    void step(std::chrono::milliseconds timeout);

    // Applies `next` as a difference from the running configuration:
    //  - a VM no longer configured has its programs taken off its tap;
    //  - a VM whose policy changed gets it in place (VmHost::update_vm):
    //    each frame meets the old policy or the new, its flows and counters
    //    stay; one matched by another tap name or MAC starts over;
    //  - a new VM gets its slot and is enforced if its tap is there.
    // The host section cannot change (restart to move the uplink). A VM
    // whose new policy cannot be enforced keeps its old one and is named in
    // the result; the others go ahead.
    struct ReloadResult {
        bool ok = true;
        int added = 0, removed = 0, changed = 0, unchanged = 0;
        std::vector<std::string> errors;
        std::string summary() const;
    };
    ReloadResult reload(HostConfig next);

    struct VmStatus {
        std::string name;
        Mac mac;                               // the VM's, as its policy in force says
        uint32_t port = 0;                     // the VM's devmap slot key, stable across reloads
        std::optional<uint32_t> ifindex;       // its tap, while there
        std::string tap;                       // the tap's name, while there
        bool enforced = false;                 // guard, slot firewall and tc twin attached
        std::string error;                     // why not, when its tap is there but it is not enforced
        std::chrono::microseconds time_to_policy{0};  // from seeing the tap to enforcing
        std::chrono::steady_clock::time_point enforced_at{};  // when it was
    };
    std::vector<VmStatus> status() const;
    const HostConfig& config() const noexcept { return cfg_; }
    VmHost& host() noexcept { return *host_; }
    const VmHost& host() const noexcept { return *host_; }

private:
    struct Entry {
        VmConfig cfg;
        VmStatus status;
    };
    void on_link(const LinkEvent& e);
    Entry* match(const LinkEvent& e);
    void enforce(Entry& v, uint32_t ifindex, const std::string& tap, const Mac& tap_mac);
    void unenforce(Entry& v, const std::string& why);
    static uint32_t take_port(std::set<uint32_t>& taken);

    HostConfig cfg_;
    Log log_;
    LinkWatch watch_;  // subscribed before the first listing
    std::unique_ptr<VmHost> host_;
    std::vector<Entry> vms_;  // in the configuration's order
};

}  // namespace vmhost
