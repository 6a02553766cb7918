// Security groups (docs/security-groups.md) on crafted frames through the
// loaded programs: a VM's flows opened by its guard (XDP) and answered
// through its slot (XDP frames) and its tc twin (real skbs), TCP states,
// timeouts, fragments, related ICMP, remote groups and a full table.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <netinet/in.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

#include "fixtures.hpp"
#include "vm_host.hpp"
#include "vm_paths.hpp"

using namespace netlab;
using vmhost::SgRule;

namespace {

const vmhost::Mac kVmMac{{0x02, 0, 0, 0, 0, 0x05}};
const Mac kVm{{0x02, 0, 0, 0, 0, 0x05}}, kExt{{0x02, 0, 0, 0, 0, 0x77}};

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

const uint32_t kMe = ip4("10.1.0.5"), kRemote = ip4("198.51.100.7"), kOther = ip4("203.0.113.9"),
               kRouter = ip4("192.0.2.1");
const auto kMe6 = ip6("fd00::5"), kRemote6 = ip6("2001:db8:1::7"), kRouter6 = ip6("2001:db8:ff::1");

enum : uint8_t { FIN = 0x01, SYN = 0x02, RST = 0x04, ACK = 0x10 };

// UDP frames to the VM (from `src`) and from it.
Frame to_vm4(uint32_t src, uint16_t sport, uint16_t dport) { return udp4_frame(src, kMe, sport, dport, 18, kVm, kExt); }
Frame from_vm4(uint32_t dst, uint16_t sport, uint16_t dport) { return udp4_frame(kMe, dst, sport, dport, 18, kExt, kVm); }
Frame to_vm6(const std::array<uint8_t, 16>& src, uint16_t sport, uint16_t dport)
{
    return udp6_frame(src.data(), kMe6.data(), sport, dport, 18, kVm, kExt);
}
Frame from_vm6(const std::array<uint8_t, 16>& dst, uint16_t sport, uint16_t dport)
{
    return udp6_frame(kMe6.data(), dst.data(), sport, dport, 18, kExt, kVm);
}

// The same with a TCP header (data offset 5) carrying `flags`.
Frame tcp(Frame f, uint8_t flags)
{
    bool v6 = f[12] == 0x86;
    size_t l4 = v6 ? 14 + 40 : 14 + 20;
    f[v6 ? 14 + 6 : 14 + 9] = IPPROTO_TCP;
    f[l4 + 12] = 0x50;
    f[l4 + 13] = flags;
    return f;
}

// An IPv4 fragment: `offset` in 8-byte units, more fragments or not.
Frame frag4(Frame f, uint16_t id, uint16_t offset, bool more)
{
    f[18] = uint8_t(id >> 8), f[19] = uint8_t(id);
    uint16_t v = uint16_t((more ? 0x2000 : 0) | offset);
    f[20] = uint8_t(v >> 8), f[21] = uint8_t(v);
    return f;
}

// An IPv6 packet with a Fragment header before its UDP header.
Frame frag6(Frame f, uint32_t id, uint16_t offset, bool more)
{
    uint8_t hdr[8] = {IPPROTO_UDP, 0, uint8_t((offset << 3) >> 8), uint8_t(((offset << 3) & 0xf8) | (more ? 1 : 0)),
                      uint8_t(id >> 24), uint8_t(id >> 16), uint8_t(id >> 8), uint8_t(id)};
    f.insert(f.begin() + 54, hdr, hdr + 8);
    f[20] = 44;
    uint16_t plen = uint16_t((f[18] << 8 | f[19]) + 8);
    f[18] = uint8_t(plen >> 8), f[19] = uint8_t(plen);
    return f;
}

// An ICMP error from a router to the VM quoting `quoted` (a frame the VM
// sent): IPv4 type 3 code 4 (fragmentation needed, MTU 1400), or ICMPv6
// type 2 (packet too big).
Frame icmp_error(const Frame& quoted)
{
    bool v6 = quoted[12] == 0x86;
    size_t ip_len = v6 ? 40 : 20;
    std::vector<uint8_t> msg = {uint8_t(v6 ? 2 : 3), uint8_t(v6 ? 0 : 4), 0, 0, 0, 0, 0x05, 0x78};
    msg.insert(msg.end(), quoted.begin() + 14, quoted.begin() + 14 + ip_len + 8);
    Frame f = v6 ? udp6_frame(kRouter6.data(), kMe6.data(), 0, 0, msg.size() - 8, kVm, kExt)
                 : udp4_frame(kRouter, kMe, 0, 0, msg.size() - 8, kVm, kExt);
    f[v6 ? 14 + 6 : 14 + 9] = uint8_t(v6 ? int(IPPROTO_ICMPV6) : int(IPPROTO_ICMP));
    std::copy(msg.begin(), msg.end(), f.begin() + 14 + ip_len);
    return f;
}

vmhost::VmPolicy policy(std::vector<SgRule> rules)
{
    vmhost::VmPolicy p;
    p.mac = kVmMac;
    p.host_mac = vmhost::Mac{{0x02, 0xaa, 0, 0, 0, 1}};
    p.addrs = {vmhost::IpAddr::parse("10.1.0.5"), vmhost::IpAddr::parse("fd00::5")};
    p.rules = std::move(rules);
    return p;
}

SgRule ingress(int family, uint8_t proto, uint16_t port, const char* remote_group = nullptr)
{
    SgRule r;
    r.dir = SgRule::Dir::to_vm;
    r.family = family;
    r.proto = proto;
    r.port_min = r.port_max = port;
    if (remote_group)
        r.remote_group = remote_group;
    return r;
}

// A host with one VM (more on request), each tap's far end counting.
struct SgHost {
    Target uplink{"sgnic"};
    Target tap{"sgtap"};
    vmhost::VmHost host{dme::Interface::index(uplink.near().ifindex)};
    vmhost::Vm* vm = nullptr;
    std::unique_ptr<VmPaths> paths;

    explicit SgHost(const vmhost::VmPolicy& p)
    {
        vm = &host.add_vm(5, tap.dev(), p);
        paths = std::make_unique<VmPaths>(host, *vm, uplink, tap);
    }

    int xdp(const Frame& f) { return paths->xdp(f); }  // to the VM: an XDP frame into its slot
    int skb(const Frame& f) { return paths->skb(f); }  // to the VM: a real skb the host sends
    int out(const Frame& f) { return paths->guard(f); }  // from the VM, through its guard
};

void sleep_s(double s) { std::this_thread::sleep_for(std::chrono::duration<double>(s)); }

}  // namespace

TEST_CASE("security groups: the default rules let a VM's flows out and their replies in, on both paths",
          "[vmhost][secgroups]")
{
    SgHost h(policy(vmhost::default_rules()));
    for (bool v6 : {false, true}) {
        INFO((v6 ? "IPv6" : "IPv4"));
        auto out = [&](uint16_t sp, uint16_t dp) { return v6 ? from_vm6(kRemote6, sp, dp) : from_vm4(kRemote, sp, dp); };
        auto in = [&](uint16_t sp, uint16_t dp) { return v6 ? to_vm6(kRemote6, sp, dp) : to_vm4(kRemote, sp, dp); };
        // UDP: the query opens the flow; its answers pass either way in.
        CHECK(h.out(out(40000, 53)) == VM_PASS);
        CHECK(h.xdp(in(53, 40000)) == VM_PASS);
        CHECK(h.skb(in(53, 40000)) == VM_PASS);
        // Unsolicited: another port, another remote.
        CHECK(h.xdp(in(53, 40001)) == VM_DROP_NO_RULE);
        CHECK(h.skb(in(53, 40001)) == VM_DROP_NO_RULE);
        auto stranger = v6 ? to_vm6(ip6("2001:db8:2::9"), 53, 40000) : to_vm4(kOther, 53, 40000);
        CHECK(h.xdp(stranger) == VM_DROP_NO_RULE);
        CHECK(h.skb(stranger) == VM_DROP_NO_RULE);
        // TCP: SYN out, SYN+ACK in (XDP), ACK out, data in (skb).
        CHECK(h.out(tcp(out(41000, 443), SYN)) == VM_PASS);
        CHECK(h.xdp(tcp(in(443, 41000), SYN | ACK)) == VM_PASS);
        CHECK(h.out(tcp(out(41000, 443), ACK)) == VM_PASS);
        CHECK(h.skb(tcp(in(443, 41000), ACK)) == VM_PASS);
        // An inbound SYN: no rule lets it open a flow.
        CHECK(h.xdp(tcp(in(5000, 22), SYN)) == VM_DROP_NO_RULE);
        CHECK(h.skb(tcp(in(5000, 22), SYN)) == VM_DROP_NO_RULE);
    }
    auto ct = h.vm->conntrack();
    CHECK(ct.created == 4);  // a UDP and a TCP flow per family
    CHECK(ct.entries == 4);
}

TEST_CASE("security groups: TCP states, RST and FIN end a flow, an ACK of no flow is invalid", "[vmhost][secgroups]")
{
    auto p = policy(vmhost::default_rules());
    p.rules.push_back(ingress(4, IPPROTO_TCP, 22));
    p.conntrack.timeouts[VM_CT_TIME_WAIT] = 1;
    SgHost h(p);
    // A mid-stream ACK to a port a rule opens, with no flow: invalid.
    CHECK(h.xdp(tcp(to_vm4(kRemote, 5000, 22), ACK)) == VM_DROP_CT_INVALID);
    CHECK(h.skb(tcp(to_vm4(kRemote, 5000, 22), ACK)) == VM_DROP_CT_INVALID);
    // The inbound service: SYN in, SYN+ACK out, ACK in.
    CHECK(h.xdp(tcp(to_vm4(kRemote, 5001, 22), SYN)) == VM_PASS);
    CHECK(h.out(tcp(from_vm4(kRemote, 22, 5001), SYN | ACK)) == VM_PASS);
    CHECK(h.skb(tcp(to_vm4(kRemote, 5001, 22), ACK)) == VM_PASS);
    // Out of state: a SYN in an established flow, an ACK before the SYN+ACK.
    CHECK(h.xdp(tcp(to_vm4(kRemote, 5001, 22), SYN)) == VM_DROP_CT_INVALID);
    CHECK(h.out(tcp(from_vm4(kRemote, 42000, 80), SYN)) == VM_PASS);
    CHECK(h.out(tcp(from_vm4(kRemote, 42000, 80), ACK)) == VM_DROP_CT_INVALID);
    // RST ends the flow at once: what follows is invalid, a new SYN opens it again.
    CHECK(h.xdp(tcp(to_vm4(kRemote, 5001, 22), RST)) == VM_PASS);
    CHECK(h.xdp(tcp(to_vm4(kRemote, 5001, 22), ACK)) == VM_DROP_CT_INVALID);
    CHECK(h.skb(tcp(to_vm4(kRemote, 5001, 22), ACK)) == VM_DROP_CT_INVALID);
    CHECK(h.xdp(tcp(to_vm4(kRemote, 5001, 22), SYN)) == VM_PASS);
    // FIN both ways: the last ACKs pass, then time-wait (1 s here) ends it.
    CHECK(h.out(tcp(from_vm4(kRemote, 22, 5001), SYN | ACK)) == VM_PASS);
    CHECK(h.xdp(tcp(to_vm4(kRemote, 5001, 22), ACK)) == VM_PASS);
    CHECK(h.xdp(tcp(to_vm4(kRemote, 5001, 22), FIN | ACK)) == VM_PASS);
    CHECK(h.out(tcp(from_vm4(kRemote, 22, 5001), FIN | ACK)) == VM_PASS);
    CHECK(h.xdp(tcp(to_vm4(kRemote, 5001, 22), ACK)) == VM_PASS);
    sleep_s(2.2);
    CHECK(h.xdp(tcp(to_vm4(kRemote, 5001, 22), ACK)) == VM_DROP_CT_INVALID);  // expired: no flow, the rule wants a SYN
    CHECK(h.vm->conntrack().expired >= 1);
}

TEST_CASE("security groups: a UDP flow times out on the clock its settings give", "[vmhost][secgroups]")
{
    auto p = policy(vmhost::default_rules());
    p.conntrack.timeouts[VM_CT_NEW] = 1;
    p.conntrack.timeouts[VM_CT_REPLIED] = 1;
    SgHost h(p);
    CHECK(h.out(from_vm4(kRemote, 40000, 53)) == VM_PASS);
    CHECK(h.xdp(to_vm4(kRemote, 53, 40000)) == VM_PASS);
    sleep_s(2.2);
    CHECK(h.skb(to_vm4(kRemote, 53, 40000)) == VM_DROP_NO_RULE);
    CHECK(h.vm->conntrack().expired == 1);
}

// An IPv4 packet with 4 bytes of options (NOPs) after its header.
Frame ip4_options(Frame f)
{
    const uint8_t nops[4] = {1, 1, 1, 1};
    f.insert(f.begin() + 34, nops, nops + 4);
    f[14] = 0x46;
    uint16_t tot = uint16_t((f[16] << 8 | f[17]) + 4);
    f[16] = uint8_t(tot >> 8), f[17] = uint8_t(tot);
    return f;
}

// An IPv6 packet with an empty Hop-by-Hop Options header before its upper layer.
Frame ip6_hop_by_hop(Frame f)
{
    const uint8_t hbh[8] = {f[20], 0, 1, 4, 0, 0, 0, 0};  // next header, length 0, PadN
    f.insert(f.begin() + 54, hbh, hbh + 8);
    f[20] = 0;
    uint16_t plen = uint16_t((f[18] << 8 | f[19]) + 8);
    f[18] = uint8_t(plen >> 8), f[19] = uint8_t(plen);
    return f;
}

// Most frames of tracked flows take the conntrack fast path (bpf/vm_ct_fast.h),
// the rest the full judgement: both must mean the same. The fast path also
// writes what the full one would (a UDP flow's first reply makes it replied,
// with its longer timeout), and never passes what the full one drops.
TEST_CASE("security groups: the conntrack fast path and the full judgement agree", "[vmhost][secgroups]")
{
    auto p = policy(vmhost::default_rules());
    p.conntrack.timeouts[VM_CT_NEW] = 1;
    p.conntrack.timeouts[VM_CT_REPLIED] = 60;
    p.rules.push_back(ingress(4, IPPROTO_TCP, 22));
    SgHost h(p);
    // UDP, both families: the reply (fast path) makes the flow replied, so
    // it outlives the 1 s a flow seen one way has.
    CHECK(h.out(from_vm4(kRemote, 40000, 53)) == VM_PASS);
    CHECK(h.out(from_vm6(kRemote6, 40000, 53)) == VM_PASS);
    CHECK(h.xdp(to_vm4(kRemote, 53, 40000)) == VM_PASS);
    CHECK(h.skb(to_vm6(kRemote6, 53, 40000)) == VM_PASS);
    // A flow the VM opened and no reply came for: it expires after 1 s.
    CHECK(h.out(from_vm4(kRemote, 40001, 53)) == VM_PASS);
    CHECK(h.out(from_vm4(kRemote, 40001, 53)) == VM_PASS);  // its own frames again: not a reply
    sleep_s(2.2);
    CHECK(h.xdp(to_vm4(kRemote, 53, 40000)) == VM_PASS);
    CHECK(h.xdp(to_vm6(kRemote6, 53, 40000)) == VM_PASS);
    CHECK(h.skb(to_vm4(kRemote, 53, 40001)) == VM_DROP_NO_RULE);
    CHECK(h.vm->conntrack().expired == 1);
    // What the fast path leaves to the full way: IPv4 options, an IPv6
    // extension header. Same verdicts, tracked or not.
    CHECK(h.xdp(ip4_options(to_vm4(kRemote, 53, 40000))) == VM_PASS);
    CHECK(h.skb(ip4_options(to_vm4(kRemote, 53, 40000))) == VM_PASS);
    CHECK(h.xdp(ip4_options(to_vm4(kRemote, 53, 40002))) == VM_DROP_NO_RULE);
    CHECK(h.xdp(ip6_hop_by_hop(to_vm6(kRemote6, 53, 40000))) == VM_PASS);
    CHECK(h.xdp(ip6_hop_by_hop(to_vm6(kRemote6, 53, 40002))) == VM_DROP_NO_RULE);
    // TCP: only an established flow's segments without SYN, FIN or RST go
    // the fast way; the others still change the flow's state.
    CHECK(h.xdp(tcp(to_vm4(kRemote, 5001, 22), SYN)) == VM_PASS);
    CHECK(h.xdp(tcp(to_vm4(kRemote, 5001, 22), ACK)) == VM_DROP_CT_INVALID);  // before the SYN+ACK
    CHECK(h.out(tcp(from_vm4(kRemote, 22, 5001), SYN | ACK)) == VM_PASS);
    CHECK(h.xdp(tcp(to_vm4(kRemote, 5001, 22), ACK)) == VM_PASS);                // established
    CHECK(h.xdp(tcp(to_vm4(kRemote, 5001, 22), ACK | 0x08 | 0xc0)) == VM_PASS);  // PSH, ECE, CWR
    CHECK(h.out(tcp(from_vm4(kRemote, 22, 5001), ACK)) == VM_PASS);
    CHECK(h.xdp(tcp(to_vm4(kRemote, 5001, 22), SYN)) == VM_DROP_CT_INVALID);
    CHECK(h.xdp(tcp(to_vm4(kRemote, 5001, 22), RST)) == VM_PASS);
    CHECK(h.xdp(tcp(to_vm4(kRemote, 5001, 22), ACK)) == VM_DROP_CT_INVALID);  // the RST closed it
    CHECK(h.skb(tcp(to_vm4(kRemote, 5001, 22), ACK)) == VM_DROP_CT_INVALID);
    // The VM's own DHCP client messages stay exempt (never tracked).
    CHECK(h.out(from_vm4(kRemote, 68, 67)) == VM_PASS);
    CHECK(h.xdp(to_vm4(kRemote, 67, 68)) == VM_DROP_NO_RULE);
}

TEST_CASE("security groups: later fragments pass after their first, a lone one does not", "[vmhost][secgroups]")
{
    SgHost h(policy(vmhost::default_rules()));
    CHECK(h.out(from_vm4(kRemote, 40000, 53)) == VM_PASS);
    CHECK(h.xdp(frag4(to_vm4(kRemote, 53, 40000), 0x77, 0, true)) == VM_PASS);
    CHECK(h.xdp(frag4(to_vm4(kRemote, 53, 40000), 0x77, 185, true)) == VM_PASS);
    CHECK(h.skb(frag4(to_vm4(kRemote, 53, 40000), 0x77, 370, false)) == VM_PASS);
    CHECK(h.xdp(frag4(to_vm4(kRemote, 53, 40000), 0x78, 185, false)) == VM_DROP_FRAG_UNTRACKED);
    CHECK(h.skb(frag4(to_vm4(kRemote, 53, 40000), 0x78, 185, false)) == VM_DROP_FRAG_UNTRACKED);
    // An unsolicited datagram's first fragment is dropped, so its rest are too.
    CHECK(h.xdp(frag4(to_vm4(kRemote, 53, 40001), 0x79, 0, true)) == VM_DROP_NO_RULE);
    CHECK(h.xdp(frag4(to_vm4(kRemote, 53, 40001), 0x79, 185, false)) == VM_DROP_FRAG_UNTRACKED);
    // RFC 1858: a TCP fragment at offset 8 bytes.
    CHECK(h.xdp(tcp(frag4(to_vm4(kRemote, 53, 40000), 0x7a, 1, false), ACK)) == VM_DROP_MALFORMED);
    // IPv6, by the Fragment header's id.
    CHECK(h.out(from_vm6(kRemote6, 40000, 53)) == VM_PASS);
    CHECK(h.xdp(frag6(to_vm6(kRemote6, 53, 40000), 0x1234, 0, true)) == VM_PASS);
    CHECK(h.skb(frag6(to_vm6(kRemote6, 53, 40000), 0x1234, 181, false)) == VM_PASS);
    CHECK(h.xdp(frag6(to_vm6(kRemote6, 53, 40000), 0x1235, 181, false)) == VM_DROP_FRAG_UNTRACKED);
    CHECK(h.vm->conntrack().fragments == 3);
}

TEST_CASE("security groups: ICMP errors for a tracked flow pass (PMTUD), unrelated ones do not", "[vmhost][secgroups]")
{
    SgHost h(policy(vmhost::default_rules()));
    Frame q4 = from_vm4(kRemote, 40000, 53), q6 = from_vm6(kRemote6, 40000, 53);
    Frame t4 = tcp(from_vm4(kRemote, 41000, 443), SYN);
    CHECK(h.out(q4) == VM_PASS);
    CHECK(h.out(q6) == VM_PASS);
    CHECK(h.out(t4) == VM_PASS);
    CHECK(h.xdp(icmp_error(q4)) == VM_PASS);  // fragmentation needed
    CHECK(h.skb(icmp_error(q4)) == VM_PASS);
    CHECK(h.xdp(icmp_error(t4)) == VM_PASS);
    CHECK(h.xdp(icmp_error(q6)) == VM_PASS);  // packet too big
    CHECK(h.skb(icmp_error(q6)) == VM_PASS);
    CHECK(h.vm->conntrack().related == 5);
    // Quoting packets of no flow, or another VM address's: dropped.
    CHECK(h.xdp(icmp_error(from_vm4(kRemote, 40099, 53))) == VM_DROP_NO_RULE);
    CHECK(h.skb(icmp_error(from_vm6(kRemote6, 40099, 53))) == VM_DROP_NO_RULE);
    Frame forged = icmp_error(q4);
    std::memcpy(&forged[14 + 28 + 12], &kOther, 4);  // the quoted source is not the VM
    CHECK(h.xdp(forged) == VM_DROP_NO_RULE);
    // Echo: the VM's ping gets its reply; a ping to the VM gets nowhere.
    Frame ping = from_vm4(kRemote, 0x0800, 0x0001), reply = to_vm4(kRemote, 0, 0x0001);
    ping[14 + 9] = IPPROTO_ICMP, reply[14 + 9] = IPPROTO_ICMP;  // type 8 (from the port), id 1
    reply[34] = 0, reply[35] = 0, reply[36] = 0, reply[37] = 0, reply[38] = 0, reply[39] = 1;
    ping[38] = 0, ping[39] = 1;
    CHECK(h.out(ping) == VM_PASS);
    CHECK(h.xdp(reply) == VM_PASS);
    Frame ping_in = reply;
    ping_in[34] = 8;
    CHECK(h.xdp(ping_in) == VM_DROP_NO_RULE);
}

TEST_CASE("security groups: a remote group follows its members as VMs come and go", "[vmhost][secgroups]")
{
    auto p = policy(vmhost::default_rules());
    p.rules.push_back(ingress(4, IPPROTO_TCP, 5432, "web"));
    SgHost h(p);
    Target web_tap("sgweb");
    vmhost::VmPolicy web;
    web.mac = vmhost::Mac{{0x02, 0, 0, 0, 0, 0x09}};
    web.host_mac = vmhost::Mac{{0x02, 0xaa, 0, 0, 0, 9}};
    web.addrs = {vmhost::IpAddr::parse("10.1.0.9")};
    web.groups = {"web"};
    h.host.add_vm(9, web_tap.dev(), web);
    const uint32_t web4 = ip4("10.1.0.9"), other4 = ip4("10.1.0.10");
    CHECK(h.xdp(tcp(to_vm4(web4, 6000, 5432), SYN)) == VM_PASS);
    CHECK(h.skb(tcp(to_vm4(web4, 6001, 5432), SYN)) == VM_PASS);
    CHECK(h.xdp(tcp(to_vm4(other4, 6000, 5432), SYN)) == VM_DROP_NO_RULE);
    CHECK(h.xdp(tcp(to_vm4(web4, 6002, 5433), SYN)) == VM_DROP_NO_RULE);
    // A second web VM claims the same address (a failover pair): the
    // address stays in the group until both are gone.
    Target web2_tap("sgweb2");
    vmhost::VmPolicy web2 = web;
    web2.mac = vmhost::Mac{{0x02, 0, 0, 0, 0, 0x0a}};
    h.host.add_vm(10, web2_tap.dev(), web2);
    h.host.forget_vm(9);
    CHECK(h.xdp(tcp(to_vm4(web4, 6003, 5432), SYN)) == VM_PASS);
    h.host.forget_vm(10);  // the last web VM goes: its address leaves the group
    CHECK(h.xdp(tcp(to_vm4(web4, 6004, 5432), SYN)) == VM_DROP_NO_RULE);
}

TEST_CASE("security groups: stateless rules pass without tracking, so replies need rules of their own",
          "[vmhost][secgroups]")
{
    SgHost h(policy({SgRule::allow_all(SgRule::Dir::from_vm, 4, false)}));
    CHECK(h.out(from_vm4(kRemote, 40000, 53)) == VM_PASS);
    CHECK(h.xdp(to_vm4(kRemote, 53, 40000)) == VM_DROP_NO_RULE);
    CHECK(h.out(from_vm6(kRemote6, 40000, 53)) == VM_DROP_NO_RULE);  // no IPv6 rule at all
    CHECK(h.vm->conntrack().created == 0);
}

TEST_CASE("security groups: a full table evicts the oldest flows and counts them", "[vmhost][secgroups]")
{
    auto p = policy(vmhost::default_rules());
    p.conntrack.max_flows = 64;
    SgHost h(p);
    CHECK(h.out(from_vm4(kRemote, 39999, 53)) == VM_PASS);  // the first flow
    const int kFlood = 1000;
    int passed = 0;
    for (int i = 0; i < kFlood; i++)
        passed += h.out(from_vm4(kRemote, uint16_t(20000 + i), 53)) == VM_PASS;
    CHECK(passed == kFlood);  // new flows are never refused: the LRU makes room
    auto ct = h.vm->conntrack();
    std::printf("full table: %llu flows created, %llu entries, %llu evicted\n", (unsigned long long)ct.created,
                (unsigned long long)ct.entries, (unsigned long long)ct.evicted);
    CHECK(ct.created == kFlood + 1);
    CHECK(ct.entries <= 64);  // an LRU hash is preallocated: never more
    CHECK(ct.evicted == ct.created - ct.expired - ct.entries);
    CHECK(ct.evicted >= kFlood - 128);
    // The most recent flows are kept; the first was the oldest and is gone.
    CHECK(h.xdp(to_vm4(kRemote, 53, uint16_t(20000 + kFlood - 1))) == VM_PASS);
    CHECK(h.xdp(to_vm4(kRemote, 53, 39999)) == VM_DROP_NO_RULE);
}

TEST_CASE("security groups: rules that cannot mean anything are refused, naming the rule", "[vmhost][secgroups]")
{
    Target uplink("sgbnic"), tap("sgbtap");
    vmhost::VmHost host(dme::Interface::index(uplink.near().ifindex));
    struct Case {
        SgRule rule;
        const char* want;
    };
    SgRule ports_icmp = ingress(4, IPPROTO_ICMP, 80), icmp6_in_4 = ingress(4, IPPROTO_ICMPV6, 0),
           both_remotes = ingress(4, IPPROTO_TCP, 22, "web"), wrong_family = ingress(4, IPPROTO_TCP, 22),
           backwards = ingress(4, IPPROTO_UDP, 0), code_alone = ingress(4, IPPROTO_ICMP, 0);
    icmp6_in_4.port_min = 0, icmp6_in_4.port_max = 65535;
    both_remotes.remote = vmhost::Prefix::parse("10.0.0.0/8");
    wrong_family.remote = vmhost::Prefix::parse("fd00::/64");
    backwards.port_min = 100, backwards.port_max = 10;
    code_alone.port_min = 0, code_alone.port_max = 65535, code_alone.icmp_code = 4;
    SgRule bad_family = SgRule::allow_all(SgRule::Dir::from_vm, 5);
    std::vector<Case> cases = {
        {ports_icmp, "rules[2]: a port range needs protocol TCP or UDP"},
        {icmp6_in_4, "rules[2]: IPv4 uses ICMP (protocol 1), not ICMPv6"},
        {both_remotes, "rules[2]: give either remote or remote_group, not both"},
        {wrong_family, "rules[2]: remote fd00:: is not an IPv4 prefix"},
        {backwards, "rules[2]: port_min 100 is above port_max 10"},
        {code_alone, "rules[2]: an icmp_code needs an icmp_type"},
        {bad_family, "rules[2]: family must be 4 or 6"},
    };
    for (const auto& c : cases) {
        INFO(c.want);
        auto p = policy(vmhost::default_rules());
        p.rules.push_back(c.rule);
        CHECK_THROWS_WITH(host.add_vm(5, tap.dev(), p), Catch::Contains(c.want));
        CHECK(host.vm(5) == nullptr);  // the host as it was
        CHECK_FALSE(host.ports().get(5).has_value());
    }
    auto many = policy(std::vector<SgRule>(65, SgRule::allow_all(SgRule::Dir::from_vm, 4)));
    CHECK_THROWS_WITH(host.add_vm(5, tap.dev(), many), Catch::Contains("65 rules: a VM has at most 64"));
    CHECK(host.vm(5) == nullptr);
}
