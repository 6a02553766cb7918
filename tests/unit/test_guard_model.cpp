// The guard's reference model (tests/fuzz/guard_model.*) on hand-made frames
// whose verdicts docs/port-security.md states outright. No privileges.
#include <catch2/catch.hpp>

#include <arpa/inet.h>

#include <initializer_list>
#include <stdexcept>
#include <vector>

#include "guard_gen.hpp"
#include "guard_model.hpp"

using namespace guardmodel;

namespace {

using Frame = std::vector<uint8_t>;

const MacAddr kVm{0x02, 0, 0, 0, 0, 0x05};
const MacAddr kHost{0x02, 0xaa, 0, 0, 0, 0x01};
const MacAddr kPairMac{0x00, 0x00, 0x5e, 0x00, 0x01, 0x07};
const MacAddr kOther{0x02, 0, 0, 0, 0, 0x06};
const MacAddr kBcast{0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

vmhost::IpAddr addr(const char* s)
{
    vmhost::IpAddr a;
    // No REQUIRE: some run at static initialisation, before Catch.
    a.family = inet_pton(AF_INET, s, a.bytes.data()) == 1 ? 4 : 6;
    if (a.family == 6 && inet_pton(AF_INET6, s, a.bytes.data()) != 1)
        throw std::invalid_argument(s);
    return a;
}

Ip4 v4(const char* s)
{
    auto a = addr(s);
    return Ip4{a.bytes[0], a.bytes[1], a.bytes[2], a.bytes[3]};
}

Ip6 v6(const char* s) { return addr(s).bytes; }

vmhost::VmPolicy policy()
{
    vmhost::VmPolicy p;
    p.mac.b = kVm;
    p.host_mac.b = kHost;
    p.addrs = {addr("10.1.0.5"), addr("fd00::5")};
    p.allowed_pairs = {{vmhost::Mac{kPairMac}, vmhost::Prefix{addr("10.1.0.100"), 32}}};
    return p;
}

void put16(Frame& f, uint16_t v)
{
    f.push_back(uint8_t(v >> 8));
    f.push_back(uint8_t(v));
}

template <class A>
void put(Frame& f, const A& a)
{
    f.insert(f.end(), a.begin(), a.end());
}

Frame eth(const MacAddr& dst, const MacAddr& src, uint16_t type)
{
    Frame f;
    put(f, dst);
    put(f, src);
    put16(f, type);
    return f;
}

Frame udp(uint16_t sport, uint16_t dport, size_t payload = 8)
{
    Frame u;
    put16(u, sport);
    put16(u, dport);
    put16(u, uint16_t(8 + payload));
    put16(u, 0);
    u.resize(8 + payload);
    return u;
}

Frame ipv4(const MacAddr& src_mac, const MacAddr& dst_mac, const char* src, const char* dst, uint8_t proto,
           const Frame& l4, uint16_t frag = 0)
{
    Frame f = eth(dst_mac, src_mac, 0x0800);
    f.push_back(0x45), f.push_back(0);
    put16(f, uint16_t(20 + l4.size()));
    put16(f, 1), put16(f, frag);
    f.push_back(64), f.push_back(proto), put16(f, 0);
    put(f, v4(src));
    put(f, v4(dst));
    put(f, l4);
    return f;
}

Frame arp(const MacAddr& src_mac, uint16_t op, const MacAddr& sha, const char* spa, const char* tpa)
{
    Frame f = eth(kBcast, src_mac, 0x0806);
    put16(f, 1), put16(f, 0x0800);
    f.push_back(6), f.push_back(4);
    put16(f, op);
    put(f, sha);
    put(f, v4(spa));
    put(f, MacAddr{});
    put(f, v4(tpa));
    return f;
}

// IPv6 with `ext` (extension headers, already chained) then the upper layer.
Frame ipv6(const MacAddr& src_mac, const MacAddr& dst_mac, const Ip6& src, const Ip6& dst, uint8_t nh,
           const Frame& rest)
{
    Frame f = eth(dst_mac, src_mac, 0x86dd);
    f.push_back(0x60), f.push_back(0), f.push_back(0), f.push_back(0);
    put16(f, uint16_t(rest.size()));
    f.push_back(nh), f.push_back(255);
    put(f, src);
    put(f, dst);
    put(f, rest);
    return f;
}

Frame icmp6(uint8_t type, std::initializer_list<uint8_t> body = {})
{
    Frame m{type, 0, 0, 0};
    m.insert(m.end(), body);
    return m;
}

Frame nd(uint8_t type, const Ip6& target, const std::vector<Frame>& options = {})
{
    Frame m = icmp6(type, {0, 0, 0, 0});
    put(m, target);
    for (const auto& o : options)
        put(m, o);
    return m;
}

Frame lla(uint8_t type, const MacAddr& m, uint8_t len = 1)
{
    Frame o{type, len};
    put(o, m);
    o.resize(len ? size_t(len) * 8 : 8);
    return o;
}

Ip6 solicited(const Ip6& t) { return Ip6{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff, t[13], t[14], t[15]}; }

// `n` extension headers of `type` (8 bytes each; Fragment headers atomic)
// in front of `upper`.
Frame chain(int n, uint8_t type, uint8_t upper, const Frame& l4)
{
    Frame f;
    for (int i = 0; i < n; i++) {
        f.push_back(i + 1 < n ? type : upper);
        f.push_back(0);
        f.resize(f.size() + 6, 0);
    }
    put(f, l4);
    return f;
}

Frame frag_header(uint8_t next, uint16_t offset, bool more)
{
    Frame f{next, 0};
    put16(f, uint16_t(offset << 3 | (more ? 1 : 0)));
    put(f, std::array<uint8_t, 4>{0, 0, 0, 1});
    return f;
}

Verdict judge_with(const vmhost::VmPolicy& p, const Frame& f)
{
    Identity id(p);
    return judge(id, f);
}

vm_reason reason(const Frame& f) { return judge_with(policy(), f).reason; }

const Ip6 kUnspec{};
const Ip6 kAllNodes = v6("ff02::1");

}  // namespace

TEST_CASE("guard model: Ethernet", "[guard-model]")
{
    CHECK(reason(Frame(10, 0)) == VM_DROP_MALFORMED);
    Frame ok = ipv4(kVm, kBcast, "10.1.0.5", "10.1.0.1", 17, udp(4000, 53));
    CHECK(reason(ok) == VM_PASS);
    Frame spoofed = ok;
    spoofed[11] = 0x06;
    CHECK(reason(spoofed) == VM_DROP_MAC_SPOOF);
    Frame vlan = eth(kBcast, kVm, 0x8100);
    CHECK(reason(vlan) == VM_DROP_VLAN);
    CHECK(reason(eth(kBcast, kVm, 0x88a8)) == VM_DROP_VLAN);
    CHECK(reason(eth(kBcast, kVm, 0x002e)) == VM_DROP_PROTO);  // 802.3 length: LLC
    CHECK(reason(eth(kBcast, MacAddr{}, 0x0800)) == VM_DROP_MAC_SPOOF);
}

TEST_CASE("guard model: where a passed frame goes", "[guard-model]")
{
    auto p = policy();
    CHECK(judge_with(p, ipv4(kVm, kHost, "10.1.0.5", "10.1.0.1", 17, udp(4000, 53))) == Verdict{VM_PASS, XDP_PASS});
    CHECK(judge_with(p, ipv4(kVm, kBcast, "10.1.0.5", "10.1.0.1", 17, udp(4000, 53))) ==
          Verdict{VM_PASS, XDP_REDIRECT});
    CHECK(judge_with(p, ipv4(kVm, kOther, "10.1.0.5", "10.1.0.1", 17, udp(4000, 53))) ==
          Verdict{VM_PASS, XDP_REDIRECT});
    CHECK(judge_with(p, ipv4(kVm, kHost, "10.1.0.6", "10.1.0.1", 17, udp(4000, 53))) ==
          Verdict{VM_DROP_IP_SPOOF, XDP_DROP});
}

TEST_CASE("guard model: ARP", "[guard-model]")
{
    CHECK(reason(arp(kVm, 1, kVm, "10.1.0.5", "10.1.0.1")) == VM_PASS);
    CHECK(reason(arp(kVm, 2, kVm, "10.1.0.5", "10.1.0.1")) == VM_PASS);
    CHECK(reason(arp(kVm, 1, kVm, "10.1.0.5", "10.1.0.5")) == VM_PASS);  // gratuitous
    CHECK(reason(arp(kVm, 1, kOther, "10.1.0.5", "10.1.0.1")) == VM_DROP_ARP_SPOOF);
    CHECK(reason(arp(kVm, 1, kVm, "10.1.0.6", "10.1.0.1")) == VM_DROP_ARP_SPOOF);
    CHECK(reason(arp(kVm, 1, kVm, "0.0.0.0", "10.1.0.5")) == VM_PASS);             // RFC 5227 probe
    CHECK(reason(arp(kVm, 1, kVm, "0.0.0.0", "10.1.0.6")) == VM_DROP_ARP_SPOOF);   // someone else's
    CHECK(reason(arp(kVm, 2, kVm, "0.0.0.0", "10.1.0.5")) == VM_DROP_ARP_SPOOF);   // a reply
    CHECK(reason(arp(kVm, 3, kVm, "10.1.0.5", "10.1.0.1")) == VM_DROP_MALFORMED);  // RARP op
    Frame cut = arp(kVm, 1, kVm, "10.1.0.5", "10.1.0.1");
    cut.resize(14 + 27);
    CHECK(reason(cut) == VM_DROP_MALFORMED);
    // The pair's VIP only from the pair's MAC.
    CHECK(reason(arp(kPairMac, 2, kPairMac, "10.1.0.100", "10.1.0.1")) == VM_PASS);
    CHECK(reason(arp(kVm, 2, kVm, "10.1.0.100", "10.1.0.1")) == VM_DROP_ARP_SPOOF);
    CHECK(reason(arp(kPairMac, 2, kPairMac, "10.1.0.5", "10.1.0.1")) == VM_DROP_ARP_SPOOF);
}

TEST_CASE("guard model: IPv4", "[guard-model]")
{
    CHECK(reason(ipv4(kVm, kBcast, "0.0.0.0", "255.255.255.255", 17, udp(68, 67))) == VM_PASS);  // DHCPDISCOVER
    CHECK(reason(ipv4(kVm, kBcast, "0.0.0.0", "10.1.0.1", 17, udp(68, 67))) == VM_DROP_UNSPEC_SRC);
    CHECK(reason(ipv4(kVm, kBcast, "0.0.0.0", "255.255.255.255", 17, udp(68, 67), 0x2000)) ==
          VM_DROP_UNSPEC_SRC);  // MF
    CHECK(reason(ipv4(kVm, kBcast, "0.0.0.0", "255.255.255.255", 6, udp(68, 67))) == VM_DROP_UNSPEC_SRC);
    CHECK(reason(ipv4(kVm, kBcast, "10.1.0.5", "255.255.255.255", 17, udp(67, 68))) == VM_DROP_DHCP_GUARD);
    auto server = policy();
    server.may_serve_dhcp = true;
    CHECK(judge_with(server, ipv4(kVm, kBcast, "10.1.0.5", "255.255.255.255", 17, udp(67, 68))).reason == VM_PASS);
    CHECK(reason(ipv4(kVm, kBcast, "10.1.0.9", "10.1.0.1", 17, udp(4000, 53))) == VM_DROP_IP_SPOOF);
    // A non-first fragment: its bytes are not a UDP header.
    CHECK(reason(ipv4(kVm, kBcast, "10.1.0.5", "10.1.0.1", 17, udp(67, 68), 0x0010)) == VM_PASS);
    // A first fragment's UDP header is read.
    CHECK(reason(ipv4(kVm, kBcast, "10.1.0.5", "10.1.0.1", 17, udp(67, 68), 0x2000)) == VM_DROP_DHCP_GUARD);
    // Lengths.
    Frame f = ipv4(kVm, kBcast, "10.1.0.5", "10.1.0.1", 17, udp(4000, 53));
    Frame padded = f;
    padded.resize(f.size() + 20, 0xee);
    CHECK(reason(padded) == VM_PASS);
    Frame longer = f;
    longer[17] += 1;  // tot_len one past the frame
    CHECK(reason(longer) == VM_DROP_MALFORMED);
    Frame udp_cut = ipv4(kVm, kBcast, "10.1.0.5", "10.1.0.1", 17, Frame{0x0f, 0xa0, 0, 53});
    CHECK(reason(udp_cut) == VM_DROP_MALFORMED);
    Frame ihl4 = f;
    ihl4[14] = 0x44;
    CHECK(reason(ihl4) == VM_DROP_MALFORMED);
    Frame v6hdr = f;
    v6hdr[14] = 0x65;
    CHECK(reason(v6hdr) == VM_DROP_MALFORMED);
    Frame short_hdr = f;
    short_hdr.resize(14 + 19);
    CHECK(reason(short_hdr) == VM_DROP_MALFORMED);
}

TEST_CASE("guard model: IPv6 sources", "[guard-model]")
{
    const Ip6 me = v6("fd00::5"), ll = eui64_link_local(kVm);
    CHECK(ll == v6("fe80::ff:fe00:5"));
    CHECK(reason(ipv6(kVm, kBcast, me, kAllNodes, 17, udp(4000, 53))) == VM_PASS);
    CHECK(reason(ipv6(kVm, kBcast, ll, kAllNodes, 17, udp(4000, 53))) == VM_PASS);
    CHECK(reason(ipv6(kVm, kBcast, v6("fd00::6"), kAllNodes, 17, udp(4000, 53))) == VM_DROP_IP_SPOOF);
    CHECK(reason(ipv6(kVm, kBcast, kAllNodes, kAllNodes, 17, udp(4000, 53))) == VM_DROP_IP_SPOOF);
    CHECK(reason(ipv6(kVm, kBcast, kUnspec, kAllNodes, 17, udp(4000, 53))) == VM_DROP_UNSPEC_SRC);
    CHECK(reason(ipv6(kVm, kBcast, me, kAllNodes, 17, udp(547, 546))) == VM_DROP_DHCP_GUARD);
    CHECK(reason(ipv6(kVm, kBcast, me, kAllNodes, 17, udp(546, 547))) == VM_PASS);
    CHECK(reason(ipv6(kVm, kBcast, me, kAllNodes, 17, Frame{1, 2, 3, 4})) == VM_DROP_MALFORMED);
    // A configured link-local replaces the EUI-64 one.
    auto p = policy();
    p.link_local = addr("fe80::1234");
    CHECK(judge_with(p, ipv6(kVm, kBcast, ll, kAllNodes, 17, udp(4000, 53))).reason == VM_DROP_IP_SPOOF);
    CHECK(judge_with(p, ipv6(kVm, kBcast, v6("fe80::1234"), kAllNodes, 17, udp(4000, 53))).reason == VM_PASS);
    // A pair's MAC owns its EUI-64 link-local.
    CHECK(reason(ipv6(kPairMac, kBcast, eui64_link_local(kPairMac), kAllNodes, 17, udp(4000, 53))) == VM_PASS);
    CHECK(reason(ipv6(kPairMac, kBcast, me, kAllNodes, 17, udp(4000, 53))) == VM_DROP_IP_SPOOF);
    // The packet is 40 + payload_len bytes; what follows is padding.
    Frame f = ipv6(kVm, kBcast, me, kAllNodes, 17, udp(4000, 53));
    Frame cut = f;
    cut.pop_back();
    CHECK(reason(cut) == VM_DROP_MALFORMED);
    Frame padded = f;
    padded.resize(f.size() + 30, 0x01);
    CHECK(reason(padded) == VM_PASS);
}

TEST_CASE("guard model: Neighbor Discovery", "[guard-model]")
{
    const Ip6 me = v6("fd00::5"), ll = eui64_link_local(kVm), other = v6("fd00::6");
    // NA.
    CHECK(reason(ipv6(kVm, kBcast, ll, kAllNodes, 58, nd(136, me))) == VM_PASS);
    CHECK(reason(ipv6(kVm, kBcast, ll, kAllNodes, 58, nd(136, other))) == VM_DROP_ND_SPOOF);
    CHECK(reason(ipv6(kVm, kBcast, ll, kAllNodes, 58, nd(136, me, {lla(2, kVm)}))) == VM_PASS);
    CHECK(reason(ipv6(kVm, kBcast, ll, kAllNodes, 58, nd(136, me, {lla(2, kOther)}))) == VM_DROP_ND_SPOOF);
    CHECK(reason(ipv6(kVm, kBcast, ll, kAllNodes, 58, nd(136, me, {lla(2, kVm, 2)}))) == VM_DROP_ND_SPOOF);
    CHECK(reason(ipv6(kVm, kBcast, ll, kAllNodes, 58, nd(136, me, {lla(1, kOther)}))) == VM_PASS);  // SLLA: not judged on NA
    // NS from a real source: any target, SLLA must be the source MAC.
    CHECK(reason(ipv6(kVm, kBcast, ll, solicited(other), 58, nd(135, other, {lla(1, kVm)}))) == VM_PASS);
    CHECK(reason(ipv6(kVm, kBcast, ll, solicited(other), 58, nd(135, other, {lla(1, kOther)}))) == VM_DROP_ND_SPOOF);
    // DAD.
    CHECK(reason(ipv6(kVm, kBcast, kUnspec, solicited(me), 58, nd(135, me))) == VM_PASS);
    CHECK(reason(ipv6(kVm, kBcast, kUnspec, solicited(me), 58, nd(135, me, {lla(1, kVm)}))) == VM_DROP_ND_SPOOF);
    CHECK(reason(ipv6(kVm, kBcast, kUnspec, kAllNodes, 58, nd(135, me))) == VM_DROP_UNSPEC_SRC);
    CHECK(reason(ipv6(kVm, kBcast, kUnspec, me, 58, nd(135, me))) == VM_DROP_UNSPEC_SRC);
    CHECK(reason(ipv6(kVm, kBcast, kUnspec, solicited(other), 58, nd(135, other))) == VM_DROP_ND_SPOOF);
    // RS.
    Frame rs = icmp6(133, {0, 0, 0, 0});
    CHECK(reason(ipv6(kVm, kBcast, kUnspec, v6("ff02::2"), 58, rs)) == VM_PASS);
    Frame rs_slla = rs;
    put(rs_slla, lla(1, kVm));
    CHECK(reason(ipv6(kVm, kBcast, kUnspec, v6("ff02::2"), 58, rs_slla)) == VM_DROP_ND_SPOOF);
    CHECK(reason(ipv6(kVm, kBcast, ll, v6("ff02::2"), 58, rs_slla)) == VM_PASS);
    // MLDv2 reports from ::.
    Frame report = icmp6(143, {0, 0, 0, 0});
    CHECK(reason(ipv6(kVm, kBcast, kUnspec, v6("ff02::16"), 58, report)) == VM_PASS);
    CHECK(reason(ipv6(kVm, kBcast, kUnspec, kAllNodes, 58, report)) == VM_DROP_UNSPEC_SRC);
    CHECK(reason(ipv6(kVm, kBcast, kUnspec, kAllNodes, 58, icmp6(128, {0, 1, 0, 1}))) == VM_DROP_UNSPEC_SRC);
    // RA-Guard.
    Frame ra = icmp6(134, {64, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
    CHECK(reason(ipv6(kVm, kBcast, ll, kAllNodes, 58, ra)) == VM_DROP_RA_GUARD);
    auto router = policy();
    router.may_route = true;
    CHECK(judge_with(router, ipv6(kVm, kBcast, ll, kAllNodes, 58, ra)).reason == VM_PASS);
    CHECK(reason(ipv6(kVm, kBcast, kUnspec, kAllNodes, 58, ra)) == VM_DROP_UNSPEC_SRC);
    // Options: structure.
    Frame zero_len = lla(1, kVm, 0);
    CHECK(reason(ipv6(kVm, kBcast, ll, kAllNodes, 58, nd(136, me, {zero_len}))) == VM_DROP_MALFORMED);
    std::vector<Frame> sixteen(16, Frame{14, 1, 0, 0, 0, 0, 0, 0});
    CHECK(reason(ipv6(kVm, kBcast, ll, kAllNodes, 58, nd(136, me, sixteen))) == VM_PASS);
    sixteen.push_back(Frame{14, 1, 0, 0, 0, 0, 0, 0});
    CHECK(reason(ipv6(kVm, kBcast, ll, kAllNodes, 58, nd(136, me, sixteen))) == VM_DROP_MALFORMED);
    Frame na_cut = nd(136, me);
    na_cut.resize(20);
    CHECK(reason(ipv6(kVm, kBcast, ll, kAllNodes, 58, na_cut)) == VM_DROP_MALFORMED);
    // Options end at the packet's end, not the frame's.
    Frame padded = ipv6(kVm, kBcast, ll, kAllNodes, 58, nd(136, me));
    padded.resize(padded.size() + 8, 0);
    CHECK(reason(padded) == VM_PASS);
    // Fragmented ND (RFC 6980), even atomic.
    Frame atomic = frag_header(58, 0, false);
    put(atomic, nd(136, me));
    CHECK(reason(ipv6(kVm, kBcast, ll, kAllNodes, 44, atomic)) == VM_DROP_FRAGMENT);
}

TEST_CASE("guard model: IPv6 extension headers", "[guard-model]")
{
    const Ip6 me = v6("fd00::5");
    CHECK(reason(ipv6(kVm, kBcast, me, kAllNodes, 60, chain(8, 60, 17, udp(4000, 53)))) == VM_PASS);
    CHECK(reason(ipv6(kVm, kBcast, me, kAllNodes, 60, chain(9, 60, 17, udp(4000, 53)))) == VM_DROP_EXT_HDR);
    CHECK(reason(ipv6(kVm, kBcast, me, kAllNodes, 60, chain(8, 60, 17, udp(547, 546)))) == VM_DROP_DHCP_GUARD);
    CHECK(reason(ipv6(kVm, kBcast, me, kAllNodes, 0, chain(2, 0, 59, {}))) == VM_PASS);
    // A Hop-by-Hop header running past the packet.
    Frame hbh{59, 1, 0, 0, 0, 0, 0, 0};
    CHECK(reason(ipv6(kVm, kBcast, me, kAllNodes, 0, hbh)) == VM_DROP_MALFORMED);
    // First fragment: the first 8 bytes of the upper layer (RFC 7112).
    Frame first = frag_header(17, 0, true);
    Frame whole = first;
    put(whole, udp(4000, 53));
    CHECK(reason(ipv6(kVm, kBcast, me, kAllNodes, 44, whole)) == VM_PASS);
    Frame split = first;
    put(split, Frame{0x0f, 0xa0, 0, 53});
    CHECK(reason(ipv6(kVm, kBcast, me, kAllNodes, 44, split)) == VM_DROP_EXT_HDR);
    // Non-first fragments: judged by their source.
    Frame later = frag_header(17, 100, false);
    put(later, Frame{1, 2, 3});
    CHECK(reason(ipv6(kVm, kBcast, me, kAllNodes, 44, later)) == VM_PASS);
    CHECK(reason(ipv6(kVm, kBcast, kUnspec, kAllNodes, 44, later)) == VM_DROP_UNSPEC_SRC);
    CHECK(reason(ipv6(kVm, kBcast, v6("fd00::6"), kAllNodes, 44, later)) == VM_DROP_IP_SPOOF);
}

TEST_CASE("guard model: the generator is reproducible and reaches every guard reason", "[guard-model]")
{
    auto p = policy();
    FrameGen a(p, {kOther}, 42), b(p, {kOther}, 42);
    Identity id(p);
    std::array<int, VM_REASONS> hist{};
    for (int i = 0; i < 20000; i++) {
        Frame f = a.next();
        REQUIRE(f == b.next());
        REQUIRE(f.size() >= 14);
        hist[judge(id, f).reason]++;
    }
    for (int r : {VM_PASS, VM_DROP_MALFORMED, VM_DROP_VLAN, VM_DROP_FRAGMENT, VM_DROP_PROTO, VM_DROP_MAC_SPOOF,
                  VM_DROP_IP_SPOOF, VM_DROP_ARP_SPOOF, VM_DROP_ND_SPOOF, VM_DROP_UNSPEC_SRC, VM_DROP_RA_GUARD,
                  VM_DROP_DHCP_GUARD, VM_DROP_EXT_HDR}) {
        INFO(reason_name(r));
        CHECK(hist[r] > 20);
    }
}
