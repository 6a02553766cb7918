// Links appearing and going in the host's network namespace, from rtnetlink
// notifications (libnl): how the VM host learns that a VM's tap exists.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "policy.hpp"

struct nl_sock;

namespace vmhost {

struct LinkEvent {
    enum class Kind { present, gone };
    Kind kind = Kind::present;
    uint32_t ifindex = 0;
    std::string name;
    Mac mac;  // all zero when the link has no Ethernet address
    std::string alias;  // IFLA_IFALIAS: vmhostd marks the taps it makes (persistent_tap.hpp)
    bool up = false;    // IFF_UP
};

class LinkWatch {
public:
    // Subscribes before anything is listed, so no change falls between the
    // list and the notifications. Throws dme::Error naming the cause.
    LinkWatch();
    ~LinkWatch();
    LinkWatch(const LinkWatch&) = delete;
    LinkWatch& operator=(const LinkWatch&) = delete;

    // Every link there is now, as `present` events.
    std::vector<LinkEvent> list() const;
    // Whether the link `ifindex` still exists, asked of rtnetlink by index
    // (a dump taken while links come and go may miss one; ioctl lookups
    // have answered ENODEV for links being registered).
    bool exists(uint32_t ifindex) const;
    // The link called `name` now, asked of rtnetlink by name; none if there
    // is no such link. Throws dme::Error if rtnetlink cannot be asked.
    std::optional<LinkEvent> named(const std::string& name) const;
    // For poll(): readable when notifications wait.
    int fd() const;
    // The notifications that wait, in order; returns without blocking.
    std::vector<LinkEvent> drain();

private:
    nl_sock* sock_ = nullptr;
};

// libvirt gives a tap the guest's MAC with its first byte set to 0xfe
// (so the bridge never takes the guest's address as its own).
Mac libvirt_tap_mac(const Mac& vm_mac);

}  // namespace vmhost
