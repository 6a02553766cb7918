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
    // is already there. What a previous daemon left pinned in the state
    // directory is adopted: programs that are right stay as they are (same
    // ids, no frame lost), stale ones are swapped in place, and what belongs
    // to VMs no longer configured or whose taps went is removed. Throws
    // dme::Error naming the cause (no uplink, no privileges, a kernel
    // without XDP). Its destruction detaches everything, and deletes the
    // taps it made (create_tap), unless release().
    //
    // A VM with create_tap gets its tap made here, persistent and down
    // (create_persistent_tap), then held and enforced as any tap, and
    // brought up only once its policy is enforced: QEMU may open it at
    // once, what it writes before is dropped by the kernel. A tap of that
    // name made by vmhostd before (its alias, tap_mark()) is taken over,
    // not made again; one made by someone else gets the VM's policy as any
    // tap, but is never brought up or deleted here. A tap vmhostd made for
    // a VM no longer configured with it is deleted.
    Daemon(HostConfig cfg, Log log);
    ~Daemon();
    Daemon(const Daemon&) = delete;
    Daemon& operator=(const Daemon&) = delete;

    // Leaves the datapath running and pinned when the daemon goes (a stop
    // for a restart or an upgrade): the next daemon adopts it.
    void release() noexcept;

    // The link notifications' socket, for the caller's poll(); and what to
    // call when it is readable.
    int fd() const noexcept { return watch_.fd(); }
    void on_readable();
    // Waits up to `timeout` for link notifications and acts on them, and
    // makes the retries that fall due meanwhile.
    void step(std::chrono::milliseconds timeout);

    // A VM whose tap is there but whose policy could not be enforced (the
    // kernel refused a load or an attach) is tried again, 200 ms later,
    // then twice as long each time up to 10 s. How long until the next try
    // (0 when one is due; none when none is pending), for the caller's
    // poll(); and making those that are due (true if any was).
    std::optional<std::chrono::milliseconds> until_retry() const;
    bool retry_due();

    // Applies `next` as a difference from the running configuration:
    //  - a VM no longer configured has its programs taken off its tap, and
    //    the tap deleted if vmhostd made it;
    //  - a VM whose policy changed gets it in place (VmHost::update_vm):
    //    each frame meets the old policy or the new, its flows and counters
    //    stay; one matched by another tap name or MAC, or whose create_tap
    //    settings changed, starts over (a tap vmhostd made is made again);
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
        bool kept = false;  // not enforced, but the previous daemon's programs stay in force on its tap (VmHost::keep_pinned)
        std::chrono::microseconds time_to_policy{0};  // from seeing the tap to enforcing
        std::chrono::steady_clock::time_point enforced_at{};  // when it was
        std::chrono::steady_clock::time_point held_at{};      // when its tap was held (VmHost::hold), if it was
        bool tap_made = false;  // its tap is vmhostd's (create_tap): made down, brought up once enforced
        bool tap_up = false;    // vmhostd brought it up (after its policy was enforced)
        std::chrono::steady_clock::time_point up_at{};  // when
    };
    std::vector<VmStatus> status() const;
    const HostConfig& config() const noexcept { return cfg_; }
    VmHost& host() noexcept { return *host_; }
    const VmHost& host() const noexcept { return *host_; }

private:
    struct Entry {
        VmConfig cfg;
        VmStatus status;
        Mac tap_mac;                                    // the tap's, for a retry
        std::chrono::steady_clock::time_point seen_at;  // its tap, first
        std::chrono::milliseconds backoff{0};           // 0: no retry pending
        std::chrono::steady_clock::time_point retry_at;
        bool foreign_tap = false;  // create_tap, but a tap of that name not made by vmhostd was there
    };
    void on_link(const LinkEvent& e);
    // A VM's tap got another MAC: its policy's host MAC follows.
    void tap_mac_changed(Entry& v, const Mac& mac);
    void on_links(const std::vector<LinkEvent>& events);
    // The notifications waiting, or after an overflow the links listed.
    std::vector<LinkEvent> read_events();
    // Holds the taps of VMs in `events` that have none yet (VmHost::hold).
    void hold_new(const std::vector<LinkEvent>& events);
    Entry* match(const LinkEvent& e);
    void enforce(Entry& v, uint32_t ifindex, const std::string& tap, const Mac& tap_mac);
    void unenforce(Entry& v, const std::string& why);
    // create_tap: makes the VM's tap unless it is there (`links`: what is),
    // taking over one vmhostd made before. A failure is retried as a
    // policy is.
    void make_tap(Entry& v);
    // Brings a tap vmhostd made up, its VM being enforced.
    void bring_up(Entry& v);
    // Deletes the tap vmhostd made for `v`, if it did.
    void delete_tap(Entry& v, const std::string& why);
    // What a VM waits for: a try of its policy, its tap's creation or its bringing up.
    bool retry_pending(const Entry& v) const;
    void schedule_retry(Entry& v);
    static uint32_t take_port(std::set<uint32_t>& taken);
    // What the running kernel does with egress programs, for the log.
    static std::string kernel_report();

    HostConfig cfg_;
    Log log_;
    uint32_t uplink_ifindex_ = 0;
    LinkWatch watch_;  // subscribed before the first listing
    std::unique_ptr<VmHost> host_;
    std::vector<Entry> vms_;  // in the configuration's order
    bool released_ = false;
};

}  // namespace vmhost
