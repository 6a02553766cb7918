// A VM's tap made by vmhostd itself (`create_tap` in the configuration):
// persistent, so it outlives the daemon and waits for QEMU to open it (libvirt's
// <target dev='NAME' managed='no'/>), and down until the VM's policy is
// enforced. A tap that is down drops every frame written to it
// (drivers/net/tun.c, tun_get_user: -EIO), after XDP: so no frame the VM
// sends meets the host unjudged, whenever it starts sending.
//
// vmhostd marks the taps it makes with the link's alias (IFLA_IFALIAS,
// `ip link` shows it): "vmhostd vm NAME". That mark, not a file, tells a
// later vmhostd which taps are its own to bring up and to delete.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace vmhost {

struct TapSettings {
    std::optional<uint32_t> owner;  // the uid that may open the tap (QEMU's); else only CAP_NET_ADMIN may
    std::optional<uint32_t> group;  // the gid that may open it
    bool multi_queue = false;       // IFF_MULTI_QUEUE, for QEMU's queues=N
    bool operator==(const TapSettings&) const = default;
};

// The alias vmhostd gives the taps it makes, and whether a link's alias is one.
std::string tap_mark(const std::string& vm_name);
bool is_tap_mark(const std::string& alias);

// Creates the persistent tap `name` (IFF_TAP | IFF_NO_PI), with its owner
// and group, marked `alias`, down. It is made under a temporary name and
// renamed once complete: when `name` appears, the tap is persistent, owned,
// marked and no longer held open by vmhostd, so QEMU opening it the instant
// it exists neither finds it busy (a single-queue tap takes one opener) nor
// a tap a crash could leave unmarked. Never takes an existing link
// (IFF_TUN_EXCL, and the rename fails if `name` is taken). The daemon learns
// its ifindex from the link notification, as for any tap. Throws dme::Error
// naming the cause and the fix (no /dev/net/tun, a link of that name already
// there, no CAP_NET_ADMIN); nothing is left behind then.
void create_persistent_tap(const std::string& name, const TapSettings& how, const std::string& alias);

}  // namespace vmhost
