// make demo: the thread's VM host, end to end, in namespaces of its own.
//
//   ext ns: ext0 ──veth── nic0 (host NIC: nic_demux)
//                          │ devmap "tx_ports": key 0 = nic0, key i = tap<i>
//   vm<i> ns: eth0 ──veth── tap<i> (slot i: vm_fw_xdp; tc egress: vm_fw_tc;
//                                    XDP ingress: vm_guard)
//
// It sends allowed, disallowed and spoofed traffic both ways, VM-to-VM, and
// from the host stack; checks every VM's verdict counters against what the
// traffic must produce; deletes one VM's tap and shows its slot, programs and
// maps gone while the others keep forwarding. Exit code 1 on any mismatch.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <fmt/core.h>
#include <fmt/ranges.h>

#include "frame_sink.skel.h"
#include "netcfg.hpp"
#include "tool_info.hpp"
#include "netns.hpp"
#include "traffic.hpp"
#include "veth.hpp"
#include "xdp.hpp"
#include "vm_host.hpp"

using namespace vmhost;
using netlab::Frame;
using netlab::Netns;
using netlab::NetnsScope;
using netlab::VethPair;

namespace {

constexpr uint16_t kAllowedPort = 8080, kDeniedPort = 9999, kSshPort = 22;
constexpr uint16_t kQueryPort = 6000;  // the VM's DNS queries go out from here

// A counting XDP program attached inside a namespace; only its counter map's
// fd is kept (the attachment holds the program), to spare fds at 1000 VMs.
class Sink {
public:
    enum Kind { drop, pass };
    void attach(const Netns& ns, uint32_t ifindex, Kind kind)
    {
        std::unique_ptr<frame_sink, decltype(&frame_sink__destroy)> skel(frame_sink__open_and_load(),
                                                                         frame_sink__destroy);
        if (!skel)
            throw std::runtime_error("loading frame_sink failed");
        auto* prog = kind == drop ? skel->progs.frame_sink : skel->progs.frame_count_pass;
        netlab::attach_xdp_in(ns, ifindex, bpf_program__fd(prog));
        counters_ = dme::Fd::dup(bpf_map__fd(skel->maps.counters));
    }
    uint64_t packets() const { return netlab::read_counters(counters_.get()).packets; }

private:
    dme::Fd counters_;
};

Mac vm_mac(uint32_t i) { return Mac{{0x02, 0x00, 0x00, uint8_t(i >> 16), uint8_t(i >> 8), uint8_t(i)}}; }
std::string vm_ip4(uint32_t i) { return fmt::format("10.{}.{}.{}", 1 + (i >> 16), (i >> 8) & 0xff, i & 0xff); }
std::string vm_ip6(uint32_t i) { return fmt::format("fd00::{:x}", i); }
uint32_t ip4(const std::string& s)
{
    in_addr a{};
    inet_pton(AF_INET, s.c_str(), &a);
    return a.s_addr;
}
std::array<uint8_t, 16> ip6(const std::string& s)
{
    std::array<uint8_t, 16> a{};
    inet_pton(AF_INET6, s.c_str(), a.data());
    return a;
}
netlab::Mac tm(const Mac& m)
{
    netlab::Mac out{};
    std::copy(m.b.begin(), m.b.end(), out.b);
    return out;
}

struct VmNode {
    uint32_t id;
    Netns ns = Netns::create();
    std::unique_ptr<VethPair> link;  // near: tap<i> (host), far: eth0 (VM)
    Sink delivered;                  // on the VM's eth0: what reached the VM
    dme::Fd app_socket;              // UDP :8080 inside the VM, absorbs traffic
    dme::Fd query_socket;            // UDP :6000, where the answers to its queries land
    std::unique_ptr<netlab::PacketSocket> wire;  // the VM's raw socket on eth0
};

// The counters the traffic below must produce, per VM (N VMs in all).
struct Expected {
    ReasonCounts xdp{}, skb{}, guard{};
    uint64_t delivered = 0;
    uint64_t to_uplink = 0;  // of the frames its guard passed
};

class Demo {
public:
    explicit Demo(uint32_t n) : n_(n) {}

    int run()
    {
        auto t0 = std::chrono::steady_clock::now();
        build();
        auto t1 = std::chrono::steady_clock::now();
        fmt::print("built host with {} VMs in {:.2f} s\n", n_, secs(t0, t1));
        send_all();
        auto t2 = std::chrono::steady_clock::now();
        fmt::print("sent the traffic in {:.2f} s\n", secs(t1, t2));
        bool ok = check("after traffic", expected_all());
        ok &= terminate_one();
        fmt::print("total {:.2f} s\n", secs(t0, std::chrono::steady_clock::now()));
        std::puts(ok ? "demo: all counters match the policy" : "demo: MISMATCH (see above)");
        return ok ? 0 : 1;
    }

private:
    static double secs(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b)
    {
        return std::chrono::duration<double>(b - a).count();
    }

    void build()
    {
        uplink_ = std::make_unique<VethPair>("nic0", "ext0", ext_ns_);
        ext_wire_ = std::make_unique<netlab::PacketSocket>(ext_ns_);
        ext_sink_.attach(ext_ns_, uplink_->far().ifindex, Sink::drop);
        {
            NetnsScope in(ext_ns_);
            ext_mac_ = netcfg::get_mac(uplink_->far().ifindex);
        }
        host_ = std::make_unique<VmHost>(dme::Interface::index(uplink_->near().ifindex));
        // The host stack's own address, for host -> VM traffic over the taps.
        netcfg::add_address(1, "10.0.0.1/32");
        for (uint32_t i = 1; i <= n_; i++) {
            add_vm(i);
            if (n_ >= 100 && i % 100 == 0)
                fmt::print("  {} VMs up\n", i);
        }
    }

    void add_vm(uint32_t i)
    {
        auto node = std::make_unique<VmNode>();
        node->id = i;
        std::string tap = fmt::format("tap{}", i);
        node->link = std::make_unique<VethPair>(tap, "eth0", node->ns);
        {
            NetnsScope in(node->ns);
            uint32_t eth0 = node->link->far().ifindex;
            netcfg::set_mac(eth0, vm_mac(i));
            netcfg::add_address(eth0, vm_ip4(i) + "/8");
            // The VM's application: a UDP socket on the allowed port.
            node->app_socket = dme::Fd(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
            sockaddr_in a{};
            a.sin_family = AF_INET;
            a.sin_port = htons(kAllowedPort);
            if (!node->app_socket || bind(node->app_socket.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)))
                throw std::runtime_error("binding the VM's UDP socket failed");
            node->query_socket = dme::Fd(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
            a.sin_port = htons(kQueryPort);
            if (!node->query_socket || bind(node->query_socket.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)))
                throw std::runtime_error("binding the VM's query socket failed");
        }
        node->wire = std::make_unique<netlab::PacketSocket>(node->ns);
        node->delivered.attach(node->ns, node->link->far().ifindex, Sink::pass);
        uint32_t tap_ifindex = node->link->near().ifindex;
        VmPolicy p;
        p.mac = vm_mac(i);
        p.host_mac = netcfg::get_mac(tap_ifindex);
        p.addrs = {IpAddr::parse(vm_ip4(i)), IpAddr::parse(vm_ip6(i))};
        p.allow_src = {Prefix::parse("198.51.100.0/24"), Prefix::parse("2001:db8:1::/48"), Prefix::parse("10.0.0.0/8")};
        p.allow_ports = {{IPPROTO_UDP, kAllowedPort}, {IPPROTO_TCP, 443}, {IPPROTO_ICMP, 0}};
        host_->add_vm(i, dme::Interface::index(tap_ifindex), p);
        // Host stack -> VM: a route over the tap and a fixed neighbour entry.
        netcfg::add_route(vm_ip4(i) + "/32", tap_ifindex);
        netcfg::add_neighbor(tap_ifindex, IpAddr::parse(vm_ip4(i)), vm_mac(i));
        vms_.emplace(i, std::move(node));
    }

    void from_ext(const Frame& f, uint32_t count) { ext_wire_->send(uplink_->far().ifindex, f, count); }

    void send_all()
    {
        const uint32_t ext4 = ip4("198.51.100.7"), stranger4 = ip4("203.0.113.9");
        const auto ext6 = ip6("2001:db8:1::7");
        for (auto& [i, vm] : vms_) {
            Mac mac = vm_mac(i);
            auto dst = tm(mac), src = tm(ext_mac_);
            from_ext(netlab::udp4_frame(ext4, ip4(vm_ip4(i)), 5000, kAllowedPort, 18, dst, src), 20);
            from_ext(netlab::udp4_frame(ext4, ip4(vm_ip4(i)), 5000, kDeniedPort, 18, dst, src), 10);
            from_ext(netlab::udp4_frame(stranger4, ip4(vm_ip4(i)), 5000, kAllowedPort, 18, dst, src), 10);
            auto d6 = ip6(vm_ip6(i));
            from_ext(netlab::udp6_frame(ext6.data(), d6.data(), 5000, kAllowedPort, 18, dst, src), 10);
            uint32_t other = i % n_ + 1;
            from_ext(netlab::udp4_frame(ext4, ip4(vm_ip4(other)), 5000, kAllowedPort, 18, dst, src), 5);
            // Broadcast: every VM's slot gets a clone; only the owner passes it.
            from_ext(arp_request(ext_mac_, ext4, ip4(vm_ip4(i))), 1);
        }
        for (auto& [i, vm] : vms_) {
            uint32_t next = i % n_ + 1;
            auto me = tm(vm_mac(i));
            uint32_t my4 = ip4(vm_ip4(i));
            uint32_t eth0 = vm->link->far().ifindex;
            auto send = [&](const Frame& f, uint32_t count) { vm->wire->send(eth0, f, count); };
            // To the outside world, legit and spoofed.
            send(netlab::udp4_frame(my4, ip4("198.51.100.7"), 6000, 53, 18, tm(ext_mac_), me), 10);
            send(netlab::udp4_frame(ip4("10.200.0.1"), ip4("198.51.100.7"), 6000, 53, 18, tm(ext_mac_), me), 5);
            send(netlab::udp4_frame(my4, ip4("198.51.100.7"), 6000, 53, 18, tm(ext_mac_), tm(vm_mac(next + 7777))), 5);
            // To the next VM on this host: allowed port, then a denied one.
            if (next != i) {
                auto to = tm(vm_mac(next));
                send(netlab::udp4_frame(my4, ip4(vm_ip4(next)), 6000, kAllowedPort, 18, to, me), 10);
                send(netlab::udp4_frame(my4, ip4(vm_ip4(next)), 6000, kSshPort, 18, to, me), 5);
            }
        }
        // Security groups (docs/security-groups.md): the answers to each
        // VM's queries come back on the flow its queries opened, though no
        // rule names port 6000; a TCP SYN to 443 opens a flow; ACKs of no
        // flow are dropped.
        for (auto& [i, vm] : vms_) {
            auto dst = tm(vm_mac(i)), src = tm(ext_mac_);
            from_ext(netlab::udp4_frame(ext4, ip4(vm_ip4(i)), 53, kQueryPort, 18, dst, src), 5);
            from_ext(tcp4(ext4, ip4(vm_ip4(i)), 5100, 443, 0x02, dst, src), 1);
            from_ext(tcp4(ext4, ip4(vm_ip4(i)), 5101, 443, 0x10, dst, src), 3);
        }
        // What a compromised VM tries (docs/port-security.md): poisoning the
        // next VM's ARP and ND entries, acting as a router and as a DHCP
        // server, speaking from ::. The guard drops each for its reason.
        for (auto& [i, vm] : vms_) {
            uint32_t next = i % n_ + 1;
            Mac me = vm_mac(i);
            uint32_t eth0 = vm->link->far().ifindex;
            auto send = [&](const Frame& f) { vm->wire->send(eth0, f, 1); };
            auto victim4 = ip4(vm_ip4(next == i ? i + 1 : next));
            auto victim6 = ip6(vm_ip6(next == i ? i + 1 : next));
            auto all_nodes = ip6("ff02::1"), unspecified = ip6("::"), own6 = ip6(vm_ip6(i));
            send(arp(2, me, ext_mac_, victim4, ip4("198.51.100.7")));            // arp-spoof: reply
            send(arp(1, me, Mac{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}, victim4, victim4));  // gratuitous
            send(neighbor_advert(me, own6, all_nodes, victim6));                  // nd-spoof, twice
            send(neighbor_advert(me, own6, ip6(vm_ip6(i % n_ + 1)), victim6));
            send(icmp6(me, own6, all_nodes, {134, 0, 0, 0, 64, 0, 0x07, 0x08, 0, 0, 0, 0, 0, 0, 0, 0}));  // ra-guard
            send(netlab::udp4_frame(ip4(vm_ip4(i)), 0xffffffff, 67, 68, 240, netlab::kBroadcast, tm(me)));  // dhcp-guard
            send(icmp6(me, unspecified, ip6("2001:db8:1::7"), {128, 0, 0, 0, 0, 1, 0, 1}));  // unspec-src: an echo
        }
        // VM-to-VM address resolution: VM 1's ARP request floods to every
        // other port; VM 2's slot passes its copy, VM 2 answers VM 1.
        if (n_ > 1) {
            auto& vm = *vms_.at(1);
            vm.wire->send(vm.link->far().ifindex, arp(1, vm_mac(1), Mac{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
                                                      ip4(vm_ip4(1)), ip4(vm_ip4(2))), 1);
        }
        // From the host stack itself: the tc program on each tap decides.
        int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        for (auto& [i, vm] : vms_) {
            for (auto [port, count] : {std::pair{kAllowedPort, 10}, std::pair{kDeniedPort, 5}}) {
                sockaddr_in to{};
                to.sin_family = AF_INET;
                to.sin_port = htons(port);
                to.sin_addr.s_addr = ip4(vm_ip4(i));
                for (int k = 0; k < count; k++)
                    if (sendto(s, "demo", 4, 0, reinterpret_cast<sockaddr*>(&to), sizeof(to)) < 0)
                        throw std::runtime_error("host stack sendto failed");
            }
        }
        close(s);
    }

    // Ethernet + IPv4 + a 20-byte TCP header with `flags` (no checksum: the
    // firewall judges before the VM's stack would check it).
    static Frame tcp4(uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport, uint8_t flags, netlab::Mac to,
                      netlab::Mac from)
    {
        Frame f = netlab::udp4_frame(src, dst, sport, dport, 18, to, from);
        f[14 + 9] = IPPROTO_TCP;
        f[14 + 20 + 12] = 0x50;  // data offset 5
        f[14 + 20 + 13] = flags;
        return f;
    }

    static Frame arp_request(const Mac& from, uint32_t spa, uint32_t tpa)
    {
        Frame f(14 + 28, 0);
        std::fill(f.begin(), f.begin() + 6, 0xff);
        std::copy(from.b.begin(), from.b.end(), f.begin() + 6);
        f[12] = 0x08, f[13] = 0x06;
        uint8_t hdr[8] = {0, 1, 8, 0, 6, 4, 0, 1};
        std::copy(hdr, hdr + 8, f.begin() + 14);
        std::copy(from.b.begin(), from.b.end(), f.begin() + 22);
        std::memcpy(&f[28], &spa, 4);
        std::memcpy(&f[38], &tpa, 4);
        f.resize(60, 0);
        return f;
    }

    // Ethernet/IPv4 ARP, op 1 (request) or 2 (reply), sha = the frame's source.
    static Frame arp(uint16_t op, const Mac& from, const Mac& to, uint32_t spa, uint32_t tpa)
    {
        Frame f = arp_request(from, spa, tpa);
        std::copy(to.b.begin(), to.b.end(), f.begin());
        f[21] = uint8_t(op);
        return f;
    }

    // Ethernet + IPv6 (hop limit 255) + the given ICMPv6 message, no checksum
    // (the guard judges before any receiver would check it).
    static Frame icmp6(const Mac& from, const std::array<uint8_t, 16>& src, const std::array<uint8_t, 16>& dst,
                       std::vector<uint8_t> msg)
    {
        Frame f(14 + 40, 0);
        f[0] = 0x33, f[1] = 0x33;
        std::copy(dst.begin() + 12, dst.end(), f.begin() + 2);
        std::copy(from.b.begin(), from.b.end(), f.begin() + 6);
        f[12] = 0x86, f[13] = 0xdd;
        f[14] = 0x60;
        f[18] = uint8_t(msg.size() >> 8), f[19] = uint8_t(msg.size());
        f[20] = 58, f[21] = 255;
        std::copy(src.begin(), src.end(), f.begin() + 22);
        std::copy(dst.begin(), dst.end(), f.begin() + 38);
        f.insert(f.end(), msg.begin(), msg.end());
        return f;
    }

    // A Neighbor Advertisement (override) for `target`, its TLLA the sender's MAC.
    static Frame neighbor_advert(const Mac& from, const std::array<uint8_t, 16>& src,
                                 const std::array<uint8_t, 16>& dst, const std::array<uint8_t, 16>& target)
    {
        std::vector<uint8_t> msg = {136, 0, 0, 0, 0x20, 0, 0, 0};
        msg.insert(msg.end(), target.begin(), target.end());
        msg.insert(msg.end(), {2, 1});
        msg.insert(msg.end(), from.b.begin(), from.b.end());
        return icmp6(from, src, dst, msg);
    }

    std::map<uint32_t, Expected> expected_all() const
    {
        std::map<uint32_t, Expected> out;
        bool alone = n_ == 1;
        for (auto& [i, vm] : vms_) {
            Expected e;
            e.xdp[VM_PASS] = 20 + 10 + 1 + (alone ? 0 : 10) + 5 + 1;  // + answers, SYN
            e.xdp[VM_DROP_CT_INVALID] = 3;
            e.xdp[VM_DROP_PORT] = 10 + (alone ? 0 : 5);
            e.xdp[VM_DROP_SRC] = 10;
            e.xdp[VM_DROP_DST_IP] = (alone ? 5 : 5) + (n_ - 1);
            e.skb[VM_PASS] = 10;
            e.skb[VM_DROP_PORT] = 5;
            e.guard[VM_PASS] = 10 + (alone ? 0 : 15) + 1;  // + the ARP reply to ext
            e.guard[VM_DROP_IP_SPOOF] = 5;
            e.guard[VM_DROP_MAC_SPOOF] = 5;
            e.guard[VM_DROP_ARP_SPOOF] = 2;
            e.guard[VM_DROP_ND_SPOOF] = 2;
            e.guard[VM_DROP_RA_GUARD] = 1;
            e.guard[VM_DROP_DHCP_GUARD] = 1;
            e.guard[VM_DROP_UNSPEC_SRC] = 1;
            e.to_uplink = 10 + 1;  // DNS out, and the ARP reply to ext
            e.delivered = e.xdp[VM_PASS] + e.skb[VM_PASS];
            out[i] = e;
        }
        if (!alone) {  // VM 1's ARP request for VM 2, flooded, and VM 2's answer
            for (auto& [i, e] : out)
                if (i > 2)
                    e.xdp[VM_DROP_DST_IP] += 1;
            for (uint32_t i : {1u, 2u}) {
                out[i].xdp[VM_PASS] += 1, out[i].delivered += 1, out[i].guard[VM_PASS] += 1;
            }
            out[1].to_uplink += 1;  // the flood's copy to the uplink
        }
        if (alone)  // with one VM, the "other VM's address" frames name itself
            for (auto& [i, e] : out) {
                e.xdp[VM_PASS] += 5;
                e.xdp[VM_DROP_DST_IP] -= 5;
                e.delivered += 5;
            }
        return out;
    }

    bool check(const char* when, const std::map<uint32_t, Expected>& want)
    {
        bool ok = true;
        uint64_t ext_want = 0;
        fmt::print("\n{}: per-VM counts (actual; * = differs from the policy's prediction)\n", when);
        fmt::print("{:>5} {:>9} {:>9} {:>9} {:>9} {:>10} {:>8} {:>8} {:>9} {:>9} {:>9} {:>6}\n", "vm", "xdp pass",
                   "xdp port", "xdp src", "xdp dstip", "xdp ct-inv", "skb pass", "skb port", "out pass", "out spoof",
                   "delivered", "flows");
        for (auto& [i, e] : want) {
            Vm* vm = host_->vm(i);
            auto& node = *vms_.at(i);
            // Delivery and transmit are asynchronous (NAPI, veth): wait a little.
            netlab::eventually([&] { return node.delivered.packets() >= e.delivered; });
            auto x = vm->counts(VM_PATH_XDP), s = vm->counts(VM_PATH_SKB), g = vm->counts(VM_PATH_GUARD);
            uint64_t got = node.delivered.packets();
            bool row = x == e.xdp && s == e.skb && g == e.guard && got == e.delivered;
            ok &= row;
            ext_want += e.to_uplink;
            auto cell = [](uint64_t a, uint64_t b) { return fmt::format("{}{}", a, a == b ? "" : "*"); };
            if (n_ <= 16 || !row)
                fmt::print("{:>5} {:>9} {:>9} {:>9} {:>9} {:>10} {:>8} {:>8} {:>9} {:>9} {:>9} {:>6}\n", i,
                           cell(x[VM_PASS], e.xdp[VM_PASS]), cell(x[VM_DROP_PORT], e.xdp[VM_DROP_PORT]),
                           cell(x[VM_DROP_SRC], e.xdp[VM_DROP_SRC]), cell(x[VM_DROP_DST_IP], e.xdp[VM_DROP_DST_IP]),
                           cell(x[VM_DROP_CT_INVALID], e.xdp[VM_DROP_CT_INVALID]),
                           cell(s[VM_PASS], e.skb[VM_PASS]), cell(s[VM_DROP_PORT], e.skb[VM_DROP_PORT]),
                           cell(g[VM_PASS], e.guard[VM_PASS]),
                           cell(g[VM_DROP_IP_SPOOF] + g[VM_DROP_MAC_SPOOF], e.guard[VM_DROP_IP_SPOOF] + e.guard[VM_DROP_MAC_SPOOF]),
                           cell(got, e.delivered), vm->conntrack().entries);
            if (!row)
                for (uint32_t r = 0; r < VM_REASONS; r++)
                    if (x[r] != e.xdp[r] || s[r] != e.skb[r] || g[r] != e.guard[r])
                        fmt::print("      {}: xdp {} (want {}), skb {} (want {}), guard {} (want {})\n", reason_name(r),
                                   x[r], e.xdp[r], s[r], e.skb[r], g[r], e.guard[r]);
        }
        // The guard's drops by reason, over all VMs.
        ReasonCounts guard_all{}, guard_want{};
        for (auto& [i, e] : want) {
            auto g = host_->vm(i)->counts(VM_PATH_GUARD);
            for (uint32_t r = 0; r < VM_REASONS; r++)
                guard_all[r] += g[r], guard_want[r] += e.guard[r];
        }
        std::string drops;
        for (uint32_t r = VM_PASS + 1; r < VM_REASONS; r++)
            if (guard_all[r] || guard_want[r])
                drops += fmt::format("{}{} {}{}", drops.empty() ? "" : ", ", reason_name(r), guard_all[r],
                                     guard_all[r] == guard_want[r] ? "" : "*");
        fmt::print("guard drops by reason (all VMs): {}\n", drops);
        netlab::eventually([&] { return ext_sink_.packets() >= ext_seen_ + ext_want; });
        uint64_t ext_got = ext_sink_.packets() - ext_seen_;
        ext_seen_ = ext_sink_.packets();
        fmt::print("uplink received {} frames from the VMs (want {})\n", ext_got, ext_want);
        ok &= ext_got == ext_want;
        return ok;
    }

    bool terminate_one()
    {
        uint32_t victim = n_;
        Vm* vm = host_->vm(victim);
        VmObjects objs = vm->objects();  // ids only: the kernel's to free
        fmt::print("\nterminating VM {}: deleting {} (slot {}, {} programs, {} maps)\n", victim, vm->tap().name(),
                   victim, objs.prog_ids.size(), objs.map_ids.size());
        vms_.at(victim)->link->remove();
        host_->forget_vm(victim);  // the host's demux entry; drops our own handles
        bool gone = netlab::eventually([&] {
            for (auto id : objs.prog_ids)
                if (netlab::prog_exists(id))
                    return false;
            for (auto id : objs.map_ids) {
                int fd = bpf_map_get_fd_by_id(id);
                if (fd >= 0) {
                    close(fd);
                    return false;
                }
            }
            return !host_->ports().get(victim).has_value();
        });
        fmt::print("slot {}: {}; programs {}: {}; maps: {}\n", victim,
                   host_->ports().get(victim) ? "STILL THERE" : "gone", fmt::format("{}", fmt::join(objs.prog_ids, ",")),
                   gone ? "gone" : "STILL THERE", gone ? "gone" : "STILL THERE");
        vms_.erase(victim);
        if (vms_.empty())
            return gone;
        // The others keep forwarding.
        uint64_t before = 0, after = 0;
        for (auto& [i, node] : vms_) {
            before += node->delivered.packets();
            auto f = netlab::udp4_frame(ip4("198.51.100.7"), ip4(vm_ip4(i)), 5000, kAllowedPort, 18, tm(vm_mac(i)), tm(ext_mac_));
            from_ext(f, 5);
        }
        uint64_t want = before + 5 * vms_.size();
        netlab::eventually([&] {
            after = 0;
            for (auto& [i, node] : vms_)
                after += node->delivered.packets();
            return after >= want;
        });
        fmt::print("the other {} VMs received {} of {} new frames\n", vms_.size(), after - before, want - before);
        return gone && after == want;
    }

    uint32_t n_;
    Netns ext_ns_ = Netns::create();
    std::unique_ptr<VethPair> uplink_;
    std::unique_ptr<netlab::PacketSocket> ext_wire_;
    Sink ext_sink_;
    Mac ext_mac_;
    uint64_t ext_seen_ = 0;
    std::unique_ptr<VmHost> host_;
    std::map<uint32_t, std::unique_ptr<VmNode>> vms_;
};

}  // namespace

int main(int argc, char** argv)
{
    if (argc > 1 && (!std::strcmp(argv[1], "--version") || !std::strcmp(argv[1], "-V"))) {
        std::puts(dme_tools::version_text(dme_tools::version_info("vmhost-demo")).c_str());
        return 0;
    }
    if (argc > 1 && (!std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h"))) {
        std::puts("usage: vmhost-demo [N]   the VM host with N VMs (1..4000; default 8, or $VMS), in namespaces "
                  "of its own (root)\n       vmhost-demo --version");
        return 0;
    }
    uint32_t n = 8;
    if (const char* env = std::getenv("VMS"))
        n = uint32_t(std::strtoul(env, nullptr, 10));
    if (argc > 1)
        n = uint32_t(std::strtoul(argv[1], nullptr, 10));
    if (n < 1 || n > 4000) {
        std::fprintf(stderr, "demo: VMS must be 1..4000\n");
        return 2;
    }
    if (geteuid() != 0) {
        std::fprintf(stderr, "demo: needs root (BPF, network namespaces): run 'sudo make demo'\n");
        return 1;
    }
    try {
        // Everything lives in namespaces of this process: nothing survives it.
        netlab::isolate_process();
        return Demo(n).run();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "demo: %s\n", e.what());
        return 1;
    }
}
