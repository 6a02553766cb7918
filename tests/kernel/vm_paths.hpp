// One VM's three paths, for frames the tests craft: into its devmap slot as
// XDP frames (straight in, not through the NIC demux, so the slot's program
// must hold on its own), as real skbs the host sends on its tap (the tc
// twin), and out through its guard (a test run). Each says which verdict
// counter (vm_reason) the frame moved, or -1 if not exactly one.
#pragma once

#include <cstdint>
#include <functional>

#include "fixtures.hpp"
#include "vm_host.hpp"

namespace netlab {

class VmPaths {
public:
    // `uplink` carries the live frames; `tap` is the VM's.
    VmPaths(vmhost::VmHost& host, vmhost::Vm& vm, const Target& uplink, const Target& tap);

    int xdp(const Frame& f);
    int skb(const Frame& f);
    int guard(const Frame& f, uint32_t* retval = nullptr);

private:
    int reason_of(vm_path path, const std::function<void()>& send);

    vmhost::Vm& vm_;
    uint32_t uplink_ifindex_, tap_ifindex_;
    Skel<xdp_redirect_slot> into_slot_ = open_only<xdp_redirect_slot>();
    PacketSocket wire_{Netns::current()};
    dme::Fd guard_;
};

}  // namespace netlab
