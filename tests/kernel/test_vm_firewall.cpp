// The per-VM policy on crafted frames: every rule and malformed-frame case,
// through the VM's devmap slot (XDP) and through its tc program (skb), with
// the same verdict and reason on both; and the anti-spoofing guard.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>

#include "fixtures.hpp"
#include "stats.hpp"
#include "vm_host.hpp"
#include "vm_paths.hpp"

#include <bpf_ext/pin.h>

using namespace netlab;

namespace {

const vmhost::Mac kVmMac{{0x02, 0, 0, 0, 0, 0x05}};
const char* kVm4 = "10.1.0.5";
const char* kVm6 = "fd00::5";

uint32_t ip4(const char* s)
{
    in_addr a{};
    inet_pton(AF_INET, s, &a);
    return a.s_addr;
}

std::array<uint8_t, 16> ip6(const char* s)
{
    std::array<uint8_t, 16> a{};
    inet_pton(AF_INET6, s, a.data());
    return a;
}

netlab::Mac to_mac(const vmhost::Mac& m)
{
    netlab::Mac out{};
    std::copy(m.b.begin(), m.b.end(), out.b);
    return out;
}

// A host with one uplink and one VM whose tap's far end counts what arrives.
struct OneVmHost {
    Target uplink{"fwnic"};  // far end: the outside world, counting
    Target tap{"fwtap"};
    vmhost::VmHost host{dme::Interface::index(uplink.near().ifindex)};
    vmhost::Vm* vm = nullptr;
    std::unique_ptr<VmPaths> paths;

    OneVmHost()
    {
        vmhost::VmPolicy p;
        p.mac = kVmMac;
        p.host_mac = vmhost::Mac{{0x02, 0xaa, 0, 0, 0, 1}};
        p.addrs = {vmhost::IpAddr::parse(kVm4), vmhost::IpAddr::parse(kVm6)};
        p.allow_src = {vmhost::Prefix::parse("198.51.100.0/24"), vmhost::Prefix::parse("2001:db8:1::/48")};
        p.allow_ports = {{IPPROTO_UDP, 8080}, {IPPROTO_TCP, 443}, {IPPROTO_ICMP, 0}};
        vm = &host.add_vm(5, tap.dev(), p);
        paths = std::make_unique<VmPaths>(host, *vm, uplink, tap);
    }

    int via_xdp(const Frame& f) { return paths->xdp(f); }
    int via_skb(const Frame& f) { return paths->skb(f); }  // a real skb: the tap's tc egress program
    int via_guard(const Frame& f, uint32_t* retval) { return paths->guard(f, retval); }
};

Frame with_ipv4_options(Frame f)
{
    // Insert 4 bytes of options (NOP x4) after the 20-byte IPv4 header.
    f.insert(f.begin() + 34, {1, 1, 1, 1});
    f[14] = 0x46;  // ihl 6
    uint16_t total = uint16_t((f[16] << 8 | f[17]) + 4);
    f[16] = uint8_t(total >> 8), f[17] = uint8_t(total);
    return f;
}

Frame with_protocol(Frame f, uint8_t proto) { return f[23] = proto, f; }

Frame arp_for(uint32_t tpa)
{
    Frame f(60, 0);
    std::fill(f.begin(), f.begin() + 6, 0xff);
    f[6] = 0x02, f[11] = 0x09;
    f[12] = 0x08, f[13] = 0x06;
    uint8_t hdr[8] = {0, 1, 8, 0, 6, 4, 0, 1};
    std::copy(hdr, hdr + 8, f.begin() + 14);
    std::memcpy(&f[38], &tpa, 4);
    return f;
}

}  // namespace

TEST_CASE("the VM policy gives the same verdict and reason on the XDP and skb paths", "[vmhost][firewall]")
{
    OneVmHost h;
    auto vm = to_mac(kVmMac);
    uint32_t good = ip4("198.51.100.7"), bad = ip4("203.0.113.9"), me = ip4(kVm4);
    auto good6 = ip6("2001:db8:1::7"), bad6 = ip6("2001:db8:2::7"), me6 = ip6(kVm6);
    Frame allowed = udp4_frame(good, me, 4000, 8080, 18, vm);

    struct Case {
        const char* name;
        Frame frame;
        int reason;
    };
    Frame vlan = allowed;
    vlan.insert(vlan.begin() + 12, {0x81, 0x00, 0x00, 0x0a});
    Frame frag = allowed;
    frag[20] = 0x00, frag[21] = 0x10;  // fragment offset 16 (non-first)
    Frame short_ihl = allowed;
    short_ihl[14] = 0x44;
    Frame tcp443 = with_protocol(udp4_frame(good, me, 4000, 443, 18, vm), IPPROTO_TCP);
    tcp443[14 + 20 + 12] = 0x50;  // data offset 5
    Frame tcp_ack = tcp443;
    tcp443[14 + 20 + 13] = 0x02;  // SYN: a flow starts (docs/security-groups.md)
    tcp_ack[14 + 20 + 13] = 0x10;  // ACK, of no tracked flow
    Frame tcp_cut = tcp443;
    tcp_cut.resize(14 + 20 + 10);
    Frame icmp = with_protocol(udp4_frame(good, me, 0x0800, 0, 18, vm), IPPROTO_ICMP);
    Frame ip_cut = allowed;
    ip_cut.resize(14 + 12);
    Frame ip6_cut = udp6_frame(good6.data(), me6.data(), 4000, 8080, 18, vm);
    ip6_cut.resize(14 + 30);
    Frame other_proto = raw_frame();
    std::copy(vm.b, vm.b + 6, other_proto.begin());

    std::vector<Case> cases = {
        {"allowed UDP/IPv4", allowed, VM_PASS},
        {"allowed TCP 443, SYN", tcp443, VM_PASS},
        {"allowed TCP 443, ACK of no flow", tcp_ack, VM_DROP_CT_INVALID},
        {"ICMP (whole protocol allowed)", icmp, VM_PASS},
        {"allowed UDP/IPv6", udp6_frame(good6.data(), me6.data(), 4000, 8080, 18, vm), VM_PASS},
        {"IPv4 options, allowed port", with_ipv4_options(allowed), VM_PASS},
        {"IPv4 options, denied port", with_ipv4_options(udp4_frame(good, me, 4000, 22, 18, vm)), VM_DROP_PORT},
        {"ARP for the VM's address", arp_for(me), VM_PASS},
        {"ARP for another address", arp_for(ip4("10.1.0.6")), VM_DROP_DST_IP},
        {"denied UDP port", udp4_frame(good, me, 4000, 22, 18, vm), VM_DROP_PORT},
        {"denied TCP port", with_protocol(udp4_frame(good, me, 4000, 8080, 18, vm), IPPROTO_TCP), VM_DROP_PORT},
        {"source not allowed (IPv4)", udp4_frame(bad, me, 4000, 8080, 18, vm), VM_DROP_SRC},
        {"source not allowed (IPv6)", udp6_frame(bad6.data(), me6.data(), 4000, 8080, 18, vm), VM_DROP_SRC},
        {"another VM's MAC", udp4_frame(good, me, 4000, 8080, 18, netlab::Mac{{2, 0, 0, 0, 0, 6}}), VM_DROP_DST_MAC},
        {"broadcast IPv4", udp4_frame(good, me, 4000, 8080, 18), VM_DROP_DST_MAC},
        // A DHCP reply broadcast for a client that asked for it goes on to the
        // operator's rules (here: UDP 68 not allowed); from a stranger: src.
        {"DHCP reply to 255.255.255.255", udp4_frame(good, 0xffffffff, 67, 68, 18), VM_DROP_PORT},
        {"DHCP reply to 255.255.255.255, stranger", udp4_frame(bad, 0xffffffff, 67, 68, 18), VM_DROP_SRC},
        {"broadcast to 255.255.255.255, not DHCP", udp4_frame(good, 0xffffffff, 67, 69, 18), VM_DROP_DST_MAC},
        {"not the VM's address", udp4_frame(good, ip4("10.1.0.6"), 4000, 8080, 18, vm), VM_DROP_DST_IP},
        {"VLAN-tagged", vlan, VM_DROP_VLAN},
        {"non-first fragment, its first unseen", frag, VM_DROP_FRAG_UNTRACKED},
        {"truncated IPv4 header", ip_cut, VM_DROP_MALFORMED},
        {"IPv4 ihl below 5", short_ihl, VM_DROP_MALFORMED},
        {"truncated IPv6 header", ip6_cut, VM_DROP_MALFORMED},
        {"truncated TCP header", tcp_cut, VM_DROP_MALFORMED},
        {"neither IP nor ARP", other_proto, VM_DROP_PROTO},
    };
    for (const auto& c : cases) {
        INFO(c.name);
        CHECK(h.via_skb(c.frame) == c.reason);
        CHECK(h.via_xdp(c.frame) == c.reason);
    }
    // What both paths passed reached the VM; nothing they dropped did.
    size_t passes = std::count_if(cases.begin(), cases.end(), [](auto& c) { return c.reason == VM_PASS; });
    CHECK(eventually([&] { return h.tap.received() == 2 * passes; }));
}

TEST_CASE("the guard lets the VM speak only as itself", "[vmhost][firewall]")
{
    OneVmHost h;
    auto ext = netlab::Mac{{2, 0, 0, 0, 0, 0x77}};
    uint32_t me = ip4(kVm4), them = ip4("198.51.100.7");
    uint32_t ret = 0;
    CHECK(h.via_guard(udp4_frame(me, them, 4000, 53, 18, ext, to_mac(kVmMac)), &ret) == VM_PASS);
    CHECK(ret == XDP_REDIRECT);  // to the uplink's slot
    CHECK(h.via_guard(udp4_frame(ip4("10.1.0.6"), them, 4000, 53, 18, ext, to_mac(kVmMac)), &ret) == VM_DROP_IP_SPOOF);
    CHECK(ret == XDP_DROP);
    CHECK(h.via_guard(udp4_frame(me, them, 4000, 53, 18, ext, netlab::Mac{{2, 0, 0, 0, 0, 6}}), &ret) == VM_DROP_MAC_SPOOF);
    auto me6 = ip6(kVm6), other6 = ip6("fd00::6"), them6 = ip6("2001:db8:1::7");
    CHECK(h.via_guard(udp6_frame(me6.data(), them6.data(), 4000, 53, 18, ext, to_mac(kVmMac)), &ret) == VM_PASS);
    CHECK(h.via_guard(udp6_frame(other6.data(), them6.data(), 4000, 53, 18, ext, to_mac(kVmMac)), &ret) == VM_DROP_IP_SPOOF);
    Frame cut = udp4_frame(me, them, 4000, 53, 18, ext, to_mac(kVmMac));
    cut.resize(14 + 8);
    CHECK(h.via_guard(cut, &ret) == VM_DROP_MALFORMED);
}

TEST_CASE("devmapctl stats shows a VM firewall's verdicts by path and reason", "[vmhost][firewall][stats]")
{
    OneVmHost h;
    auto vm = to_mac(kVmMac);
    uint32_t good = ip4("198.51.100.7"), me = ip4(kVm4);
    REQUIRE(h.via_xdp(udp4_frame(good, me, 4000, 8080, 18, vm)) == VM_PASS);
    REQUIRE(h.via_xdp(udp4_frame(good, me, 4000, 22, 18, vm)) == VM_DROP_PORT);
    uint32_t ret = 0;
    auto ext = netlab::Mac{{2, 0, 0, 0, 0, 0x77}};
    REQUIRE(h.via_guard(udp4_frame(ip4("10.1.0.6"), good, 4000, 53, 18, ext, vm), &ret) == VM_DROP_IP_SPOOF);

    h.host.ports().pin("/sys/fs/bpf/vmfw_ports");
    devmapctl::SlotStats stats;
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& s : stats.sample("/sys/fs/bpf/vmfw_ports", std::chrono::milliseconds(50)))
        rows.push_back(s.to_json());
    REQUIRE(bpfext_unpin("/sys/fs/bpf/vmfw_ports") == 0);
    nlohmann::json vm_row, uplink_row;
    for (const auto& r : rows)
        (r["key"] == 5 ? vm_row : uplink_row) = r;
    INFO(rows.dump());
    REQUIRE(vm_row.is_object());
    CHECK(vm_row["vm_verdicts"]["xdp"]["pass"] == 1);
    CHECK(vm_row["vm_verdicts"]["xdp"]["port"] == 1);
    CHECK(vm_row["vm_verdicts"]["guard"]["ip-spoof"] == 1);
    CHECK_FALSE(vm_row["vm_verdicts"]["guard"].contains("pass"));
    CHECK(uplink_row["vm_verdicts"].is_null());  // the uplink's slot has no program
}

TEST_CASE("a VM identity the guard could not enforce is refused, and the host is left as it was", "[vmhost][firewall]")
{
    Target uplink{"bpnic"}, tap{"bptap"};
    vmhost::VmHost host{dme::Interface::index(uplink.near().ifindex)};
    auto good = [] {
        vmhost::VmPolicy p;
        p.mac = kVmMac;
        p.addrs = {vmhost::IpAddr::parse(kVm4)};
        return p;
    };
    struct Bad {
        const char* what;
        std::function<void(vmhost::VmPolicy&)> spoil;
        const char* message;
    };
    std::vector<Bad> bad = {
        {"multicast MAC", [](auto& p) { p.mac = vmhost::Mac::parse("01:00:5e:00:00:01"); }, "mac 01:00:5e:00:00:01 is not a unicast MAC"},
        {"zero MAC", [](auto& p) { p.mac = vmhost::Mac{}; }, "mac 00:00:00:00:00:00 is not a unicast MAC"},
        {"multicast address", [](auto& p) { p.addrs.push_back(vmhost::IpAddr::parse("224.0.0.1")); }, "addrs: 224.0.0.1 cannot be a VM's own address"},
        {"unspecified address", [](auto& p) { p.addrs.push_back(vmhost::IpAddr::parse("::")); }, "addrs: :: cannot be a VM's own address"},
        {"multicast prefix", [](auto& p) { p.prefixes.push_back(vmhost::Prefix::parse("ff00::/8")); }, "prefixes: ff00:: cannot be"},
        {"link-local outside fe80::/10", [](auto& p) { p.link_local = vmhost::IpAddr::parse("fd00::1"); }, "link_local fd00::1 is not an IPv6 link-local address"},
        {"group MAC in a pair", [](auto& p) { p.allowed_pairs.push_back({vmhost::Mac::parse("ff:ff:ff:ff:ff:ff"), vmhost::Prefix::parse("10.1.0.9/32")}); }, "allowed_pairs: mac ff:ff:ff:ff:ff:ff is not a unicast MAC"},
        {"too many MACs", [](auto& p) { for (int i = 0; i < VM_MAX_MACS; i++) p.allowed_pairs.push_back({vmhost::Mac{{2, 9, 9, 9, 9, uint8_t(i)}}, vmhost::Prefix::parse("10.1.0.9/32")}); }, "more than 8 MACs"},
    };
    for (const auto& b : bad) {
        INFO(b.what);
        auto p = good();
        b.spoil(p);
        try {
            host.add_vm(5, tap.dev(), p);
            FAIL("accepted");
        } catch (const dme::Error& e) {
            CHECK_THAT(e.what(), Catch::Contains(b.message));
            CHECK((e.code() == EINVAL || e.code() == E2BIG));
        }
        CHECK(host.vm(5) == nullptr);
        CHECK_FALSE(host.ports().get(5).has_value());
        struct {
            uint8_t mac[6], pad[2];
        } k{};  // host_ports.h's mac_key
        uint32_t port = 0;
        std::memcpy(k.mac, p.mac.b.data(), 6);
        CHECK(bpf_map_lookup_elem(host.mac_to_port_fd(), &k, &port) != 0);
    }
    // The same host then takes a good VM.
    CHECK(host.add_vm(5, tap.dev(), good()).port() == 5);
}
