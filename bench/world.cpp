#include "world.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <net/if.h>
#include <netinet/in.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "traffic.hpp"
#include "xdp.hpp"

namespace bench {

namespace {
// struct drop_rule of bpf/drop_rule.h
struct DropRuleKey {
    uint8_t ip_proto;
    uint8_t pad;
    uint16_t dport;  // host order
};

void check_libbpf(int err, const std::string& what)
{
    if (err)
        throw std::runtime_error(what + ": " + std::strerror(err < 0 ? -err : errno));
}
}  // namespace

Targets::Targets(uint32_t count) : ns_(netlab::Netns::create()), sink_(netlab::open_load<frame_sink>())
{
    int sink_fd = bpf_program__fd(sink_->progs.frame_sink);
    for (uint32_t i = 0; i < count; i++) {
        auto name = "bt" + std::to_string(i);
        veths_.push_back(std::make_unique<netlab::VethPair>(name, name + "p", ns_));
        netlab::attach_xdp_in(ns_, veths_.back()->far().ifindex, sink_fd);
        devs_.push_back(dme::Interface::index(veths_.back()->near().ifindex));
    }
}

uint64_t Targets::received() const { return netlab::read_counters(bpf_map__fd(sink_->maps.counters)).packets; }

netlab::Frame bench_frame(uint32_t bytes)
{
    if (bytes < 64 || bytes > 3000)
        throw std::invalid_argument("frame sizes must be 64..3000 bytes");
    return netlab::udp4_frame(netlab::ipv4(10, 0, 0, 1), netlab::ipv4(10, 0, 0, 2), 1234, 9,
                               bytes - 42);  // 14 + 20 + 8 bytes of headers
}

std::unique_ptr<dme::DevmapEgress> make_devmap(const std::string& name, const Targets& targets, uint32_t slots,
                                               const std::function<const dme::EgressProgram*(uint32_t)>& prog)
{
    auto map = std::make_unique<dme::DevmapEgress>(dme::DevmapEgress::create(name, slots));
    for (uint32_t k = 0; k < slots; k++) {
        const dme::EgressProgram* p = prog ? prog(k) : nullptr;
        if (p)
            map->set(k, targets.dev(k), *p);
        else
            map->set(k, targets.dev(k));
    }
    return map;
}

void add_nonmatching_rules(int drop_rules_fd)
{
    const DropRuleKey rules[] = {{IPPROTO_UDP, 0, 53}, {IPPROTO_UDP, 0, 123}, {IPPROTO_TCP, 0, 22}, {IPPROTO_TCP, 0, 0}};
    uint64_t zero = 0;
    for (const auto& r : rules)
        if (bpf_map_update_elem(drop_rules_fd, &r, &zero, BPF_ANY))
            throw std::runtime_error(std::string("adding a drop rule: ") + std::strerror(errno));
}

namespace {
dme::EgressProgram load_pass()
{
    auto skel = netlab::open_load<egress_pass>();
    return dme::EgressProgram::from(skel->progs.egress_pass);
}

}  // namespace

EgressPass::EgressPass() : prog(load_pass()) {}

EgressFirewall::EgressFirewall() : EgressFirewall(netlab::open_load<egress_drop_rule>()) {}

EgressFirewall::EgressFirewall(Skel<egress_drop_rule> skel)
    : prog(dme::EgressProgram::from(skel->progs.egress_drop_rule)),
      counters(dme::Fd::dup(bpf_map__fd(skel->maps.counters)))
{
    add_nonmatching_rules(bpf_map__fd(skel->maps.drop_rules));
}

uint64_t EgressFirewall::runs() const { return netlab::read_counters(counters.get()).packets; }

uint64_t TailProgram::runs() const { return counters ? netlab::read_counters(counters.get()).packets : 0; }

TailProgram::TailProgram(uint32_t slot_key, bool shared, bool firewall, int plain_devmap_fd, int cur_key_fd)
{
    auto skel = netlab::open_only<bench_tail>();
    skel->rodata->slot_key = slot_key;
    skel->rodata->key_from_map = shared;
    skel->rodata->firewall = firewall;
    check_libbpf(bpf_map__reuse_fd(skel->maps.tx_devmap, plain_devmap_fd), "reusing the plain devmap");
    check_libbpf(bpf_map__reuse_fd(skel->maps.cur_key, cur_key_fd), "reusing cur_key");
    if (!firewall)  // the verifier drops the policy code; keep its table small
        check_libbpf(bpf_map__set_max_entries(skel->maps.drop_rules, 1), "sizing drop_rules");
    check_libbpf(bench_tail__load(skel.get()), "loading bench_tail");
    if (firewall) {
        add_nonmatching_rules(bpf_map__fd(skel->maps.drop_rules));
        counters = dme::Fd::dup(bpf_map__fd(skel->maps.counters));
    }
    prog = dme::Fd::dup(bpf_program__fd(skel->progs.bench_tail));
}

Ingress::Ingress(uint32_t slots, int devmap_fd, int cur_key_fd, bool store_key)
    : skel(netlab::open_only<bench_ingress>())
{
    skel->rodata->store_key = store_key;
    check_libbpf(bpf_map__reuse_fd(skel->maps.tx_devmap, devmap_fd), "reusing the devmap");
    check_libbpf(bpf_map__set_max_entries(skel->maps.tail_progs, slots), "sizing tail_progs");
    if (cur_key_fd >= 0)
        check_libbpf(bpf_map__reuse_fd(skel->maps.cur_key, cur_key_fd), "reusing cur_key");
    check_libbpf(bench_ingress__load(skel.get()), "loading bench_ingress");
}

void Ingress::spread_over(uint32_t slots)
{
    if (!slots || (slots & (slots - 1)))
        throw std::invalid_argument("slot counts must be powers of two");
    skel->bss->slot_mask = slots - 1;
    skel->bss->next_slot = 0;
}

int Ingress::drop_fd() const { return bpf_program__fd(skel->progs.bench_drop); }
int Ingress::redirect_fd() const { return bpf_program__fd(skel->progs.bench_redirect); }
int Ingress::broadcast_fd() const { return bpf_program__fd(skel->progs.bench_broadcast); }
int Ingress::tailcall_fd() const { return bpf_program__fd(skel->progs.bench_tailcall); }
int Ingress::prog_array_fd() const { return bpf_map__fd(skel->maps.tail_progs); }
int Ingress::cur_key_fd() const { return bpf_map__fd(skel->maps.cur_key); }

void Ingress::fill_prog_array(const std::function<int(uint32_t)>& prog_fd)
{
    for (uint32_t k = 0; k < bpf_map__max_entries(skel->maps.tail_progs); k++)
        prog_array_set(prog_array_fd(), k, prog_fd(k));
}

SkbPath::SkbPath(uint32_t fw_ifindex) : skel(netlab::open_load<bench_skb>())
{
    add_nonmatching_rules(bpf_map__fd(skel->maps.drop_rules));
    uint32_t lo = if_nametoindex("lo");
    if (!lo)
        throw std::runtime_error("no loopback device in the bench namespace");
    netlab::attach_tc(lo, BPF_TC_INGRESS, bpf_program__fd(skel->progs.skb_redirect));
    netlab::attach_tc(fw_ifindex, BPF_TC_EGRESS, bpf_program__fd(skel->progs.skb_drop_rule));
}

int SkbPath::xdp_pass_fd() const { return bpf_program__fd(skel->progs.bench_xdp_pass); }

uint64_t SkbPath::policy_runs() const { return netlab::read_counters(bpf_map__fd(skel->maps.counters)).packets; }

void prog_array_set(int prog_array_fd, uint32_t key, int prog_fd)
{
    if (bpf_map_update_elem(prog_array_fd, &key, &prog_fd, BPF_ANY))
        throw std::runtime_error("PROG_ARRAY slot " + std::to_string(key) + ": " + std::strerror(errno));
}

}  // namespace bench
