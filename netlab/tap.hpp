// A tap device as QEMU holds one: made by opening /dev/net/tun (IFF_TAP,
// IFF_NO_PI), not persistent, so it goes when the handle is closed, as a
// VM's tap goes when QEMU exits. Frames written to it are what the VM
// sends: they enter the host through the tap's receive path (XDP first).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <devmap_egress/fd.hpp>

namespace netlab {

class Tap {
public:
    // Creates the tap `name` with the Ethernet address `mac` (6 bytes) and
    // brings it up. Throws std::runtime_error naming the cause.
    Tap(const std::string& name, const uint8_t mac[6]);
    const std::string& name() const noexcept { return name_; }
    uint32_t ifindex() const noexcept { return ifindex_; }
    // Writes one frame as the VM would; false if the kernel refused it.
    bool send(const std::vector<uint8_t>& frame) const;
    void close() { fd_.reset(); }  // the tap goes, as when QEMU exits

private:
    std::string name_;
    uint32_t ifindex_ = 0;
    dme::Fd fd_;
};

}  // namespace netlab
