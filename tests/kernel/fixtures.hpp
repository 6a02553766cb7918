// Building blocks of the kernel tests: a target link whose far end counts
// what arrives, and skeleton handles that free themselves.
#pragma once

#include <linux/if_link.h>

#include <memory>
#include <string>

#include <devmap_egress/devmap_egress.hpp>

#include "cpumap_redirect_again.skel.h"
#include "egress_count.skel.h"
#include "egress_drop_rule.skel.h"
#include "frame_sink.skel.h"
#include "xdp_redirect_slot.skel.h"
#include "xdp_redirect_slot_types.h"
#include "netns.hpp"
#include "skel.hpp"
#include "traffic.hpp"
#include "veth.hpp"
#include "xdp.hpp"

namespace netlab {

TESTING_SKEL(egress_count)
TESTING_SKEL(egress_drop_rule)
TESTING_SKEL(frame_sink)
TESTING_SKEL(xdp_redirect_slot)
TESTING_SKEL(cpumap_redirect_again)

// A veth whose far end lives in its own namespace with frame_sink attached:
// frames sent on near() arrive there and are counted, then dropped.
class Target {
public:
    explicit Target(const std::string& name, uint32_t sink_flags = XDP_FLAGS_DRV_MODE);
    const VethEnd& near() const { return veth_.near(); }
    dme::Interface dev() const { return dme::Interface::index(veth_.near().ifindex); }
    uint64_t received() const { return read_counters(bpf_map__fd(sink_->maps.counters)).packets; }
    VethPair& veth() { return veth_; }

private:
    Netns ns_;
    VethPair veth_;
    Skel<frame_sink> sink_;
};

// An ingress program that redirects into a slot, ready for live frames.
struct Redirector {
    Skel<xdp_redirect_slot> skel = open_load<xdp_redirect_slot>();
    void to_devmap(uint32_t key) { skel->bss->target = TARGET_DEVMAP, skel->bss->target_key = key; }
    void to_devmap_hash(uint32_t key) { skel->bss->target = TARGET_DEVMAP_HASH, skel->bss->target_key = key; }
    void to_cpumap(uint32_t cpu) { skel->bss->target = TARGET_CPUMAP, skel->bss->target_key = cpu; }
    void to_ifindex(uint32_t ifindex) { skel->bss->target = TARGET_IFINDEX, skel->bss->target_key = ifindex; }
    int fd() const { return bpf_program__fd(skel->progs.xdp_redirect_slot); }
    dme::DevmapEgress devmap() const { return dme::DevmapEgress::from(bpf_map__fd(skel->maps.tx_devmap)); }
    dme::DevmapEgress devmap_hash() const { return dme::DevmapEgress::from(bpf_map__fd(skel->maps.tx_devmap_hash)); }
    dme::Cpumap cpumap() const { return dme::Cpumap::from(bpf_map__fd(skel->maps.tx_cpumap)); }
};

// A counting egress program; its verdict can be switched at run time.
struct Counter {
    Skel<egress_count> skel = open_load<egress_count>();
    dme::EgressProgram prog = dme::EgressProgram::from(skel->progs.egress_count);
    Counters counts() const { return read_counters(bpf_map__fd(skel->maps.counters)); }
    void verdict(uint32_t v) { skel->data->verdict = v; }
};

}  // namespace netlab
