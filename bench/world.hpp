// The benchmark's datapath fixture: veth targets whose far ends drop with
// XDP_DROP in a sink namespace, a plain devmap (slots without programs), and
// pools of loaded programs that the cases put into devmap or PROG_ARRAY slots.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <devmap_egress/devmap_egress.hpp>

#include "bench_ingress.skel.h"
#include "bench_skb.skel.h"
#include "bench_tail.skel.h"
#include "egress_drop_rule.skel.h"
#include "egress_pass.skel.h"
#include "frame_sink.skel.h"
#include "frames.hpp"
#include "netns.hpp"
#include "skel.hpp"
#include "veth.hpp"

namespace netlab {
TESTING_SKEL(bench_ingress)
TESTING_SKEL(bench_skb)
TESTING_SKEL(bench_tail)
TESTING_SKEL(egress_drop_rule)
TESTING_SKEL(egress_pass)
TESTING_SKEL(frame_sink)
}  // namespace netlab

namespace bench {

using netlab::Skel;

// `count` veth pairs; every far end is in one namespace with frame_sink
// attached in native mode (which also lets veth accept redirected frames).
class Targets {
public:
    explicit Targets(uint32_t count);
    uint32_t size() const { return uint32_t(veths_.size()); }
    const dme::Interface& dev(uint32_t i) const { return devs_[i % devs_.size()]; }
    uint64_t received() const;  // frames the sinks saw, all targets, all CPUs

private:
    netlab::Netns ns_;
    Skel<frame_sink> sink_;
    std::vector<std::unique_ptr<netlab::VethPair>> veths_;
    std::vector<dme::Interface> devs_;
};

// The bench's frame: IPv4/UDP from 10.0.0.1:1234 to 10.0.0.2:9 (a port no
// drop rule matches), `bytes` long in all (64..3000).
netlab::Frame bench_frame(uint32_t bytes);

// A devmap of `slots` slots named `name`; slot k sends to targets.dev(k),
// through the egress program *prog(k) (none: no `prog`, or it gives nullptr).
std::unique_ptr<dme::DevmapEgress> make_devmap(const std::string& name, const Targets& targets, uint32_t slots,
                                               const std::function<const dme::EgressProgram*(uint32_t)>& prog = {});

// The drop rules every firewall instance carries: none matches the bench's
// UDP frames (dport 9), so every frame is checked against the table twice
// (exact port, then any port) and passes.
void add_nonmatching_rules(int drop_rules_fd);

// Loaded program instances keep only their program fd: the program holds its
// own maps, and the thousands of instances must fit the fd limit (20000 here).
struct EgressPass {
    dme::EgressProgram prog;
    EgressPass();
};

// Loaded with its rule table filled (add_nonmatching_rules). runs() reads its
// counters: how many frames the program has seen.
struct EgressFirewall {
    dme::EgressProgram prog;
    dme::Fd counters;
    EgressFirewall();
    uint64_t runs() const;

private:
    explicit EgressFirewall(Skel<egress_drop_rule> skel);
};

// A bench_tail instance: a per-slot program (key in .rodata) or one shared
// by every slot (key_from_map), with or without the firewall. Redirects into
// `plain_devmap_fd`; reads the ingress's key from `cur_key_fd` when shared.
struct TailProgram {
    dme::Fd prog, counters;  // counters: firewall instances only
    TailProgram(uint32_t slot_key, bool shared, bool firewall, int plain_devmap_fd, int cur_key_fd);
    int fd() const { return prog.get(); }
    uint64_t runs() const;  // frames the firewall has seen
};

// A bench_ingress instance redirecting into `devmap_fd`, with its own
// PROG_ARRAY of `slots` entries; cur_key is shared when `cur_key_fd` >= 0.
// `store_key`: bench_tailcall leaves the slot key in cur_key for a shared
// tail program (per-slot tail programs know theirs and skip the store).
struct Ingress {
    Skel<bench_ingress> skel;
    Ingress(uint32_t slots, int devmap_fd, int cur_key_fd, bool store_key = true);
    void spread_over(uint32_t slots);  // power of two
    int drop_fd() const;
    int redirect_fd() const;
    int broadcast_fd() const;
    int tailcall_fd() const;
    int prog_array_fd() const;
    int cur_key_fd() const;
    // Every slot k of the PROG_ARRAY gets the program prog_fd(k).
    void fill_prog_array(const std::function<int(uint32_t)>& prog_fd);
    uint64_t tail_missed() const { return skel->bss->tail_missed; }
};

// The skb-path equivalent: bench_xdp_pass hands live frames to the stack on
// the loopback device, whose tc ingress program redirects them to a target's
// egress; `fw_ifindex`'s tc (clsact) egress runs the drop rules.
struct SkbPath {
    Skel<bench_skb> skel;
    explicit SkbPath(uint32_t fw_ifindex);
    void redirect_to(uint32_t ifindex) { skel->bss->target_ifindex = ifindex; }
    int xdp_pass_fd() const;
    uint64_t policy_runs() const;  // frames the tc firewall saw
};

// PROG_ARRAY slot write of the tail-call alternative (not a devmap slot).
void prog_array_set(int prog_array_fd, uint32_t key, int prog_fd);

}  // namespace bench
