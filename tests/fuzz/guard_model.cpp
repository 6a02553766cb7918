// The guard's rules of docs/port-security.md, one function per section.
// Rule numbers in comments are the spec's: "4.6" is rule 6 of "4. IPv6".
#include "guard_model.hpp"

#include <algorithm>
#include <cstring>
#include <optional>

namespace guardmodel {

namespace {

constexpr size_t kEthLen = 14;
constexpr uint16_t kEthArp = 0x0806, kEthIp4 = 0x0800, kEthIp6 = 0x86dd;
constexpr uint8_t kProtoIcmp4 = 1, kProtoTcp = 6, kProtoUdp = 17, kProtoIcmp6 = 58;
constexpr uint8_t kNhHopByHop = 0, kNhRouting = 43, kNhFragment = 44, kNhDestOpts = 60, kNhAuth = 51,
                  kNhNone = 59;
constexpr int kMaxExtHeaders = 8;  // the spec's bound (also VM_MAX_EXT_HDRS)
constexpr int kMaxNdOptions = 16;  // the spec's bound (also VM_MAX_ND_OPTS)
constexpr uint8_t kIcmp6Rs = 133, kIcmp6Ra = 134, kIcmp6Ns = 135, kIcmp6Na = 136, kIcmp6Redirect = 137,
                  kIcmp6Mld2Report = 143;
constexpr uint8_t kOptSlla = 1, kOptTlla = 2;

uint16_t be16(Bytes b, size_t off) { return uint16_t(b[off] << 8 | b[off + 1]); }

// A bounds-checked view: every read names its offset and length, and a read
// that does not fit is an empty optional, never a read past the end.
class View {
public:
    explicit View(Bytes b) : b_(b) {}
    size_t size() const { return b_.size(); }
    bool has(size_t off, size_t len) const { return off <= b_.size() && len <= b_.size() - off; }
    std::optional<Bytes> at(size_t off, size_t len) const
    {
        if (!has(off, len))
            return std::nullopt;
        return b_.subspan(off, len);
    }
    Bytes rest(size_t off) const { return off <= b_.size() ? b_.subspan(off) : Bytes{}; }

private:
    Bytes b_;
};

template <size_t N>
std::array<uint8_t, N> copy_array(Bytes b, size_t off)
{
    std::array<uint8_t, N> a{};
    std::copy_n(b.begin() + off, N, a.begin());
    return a;
}

struct EthHeader {
    MacAddr dst, src;
    uint16_t type;
};

struct ArpPacket {
    uint16_t htype, ptype;
    uint8_t hlen, plen;
    uint16_t op;
    MacAddr sha;
    Ip4 spa;
    MacAddr tha;
    Ip4 tpa;
};

struct Ip4Header {
    uint8_t version, ihl;
    uint16_t tot_len;
    bool mf;
    uint16_t frag_offset;  // in 8-byte units
    uint8_t protocol;
    Ip4 src, dst;
};

struct Ip6Header {
    uint8_t version;
    uint16_t payload_len;
    uint8_t next_header;
    Ip6 src, dst;
};

struct NdOption {
    uint8_t type;
    uint8_t len;  // in units of 8 bytes
    Bytes bytes;  // the whole option, type and length included
};

bool is_group(const MacAddr& m) { return m[0] & 1; }

// A reason and the rule that named it (coverage, and mismatch reports).
struct Decision {
    vm_reason reason;
    const char* rule;
};

Verdict drop(vm_reason r) { return {r, XDP_DROP}; }

MacAddr mac_of(const vmhost::Mac& m) { return m.b; }

// ---- 2. ARP ------------------------------------------------------------------
Decision judge_arp(const Identity& id, const EthHeader& eth, View l3)
{
    // 2.1: 28 bytes of ARP after the Ethernet header.
    auto raw = l3.at(0, 28);
    if (!raw)
        return {VM_DROP_MALFORMED, "2.1 ARP short"};
    Bytes b = *raw;
    ArpPacket a{be16(b, 0), be16(b, 2), b[4], b[5], be16(b, 6), copy_array<6>(b, 8), copy_array<4>(b, 14),
                copy_array<6>(b, 18), copy_array<4>(b, 24)};
    // 2.2
    if (a.htype != 1 || a.ptype != 0x0800 || a.hlen != 6 || a.plen != 4 || (a.op != 1 && a.op != 2))
        return {VM_DROP_MALFORMED, "2.2 ARP fields"};
    // 2.3
    if (a.sha != eth.src)
        return {VM_DROP_ARP_SPOOF, "2.3 sha"};
    // 2.4: an RFC 5227 probe.
    if (a.spa == Ip4{}) {
        if (a.op == 1 && id.owns4(eth.src, a.tpa))
            return {VM_PASS, "2.4 probe pass"};
        return {VM_DROP_ARP_SPOOF, "2.4 probe not for own tpa / reply"};
    }
    // 2.5
    if (!id.owns4(eth.src, a.spa))
        return {VM_DROP_ARP_SPOOF, "2.5 spa not owned"};
    return {VM_PASS, "2.6 ARP pass"};  // 2.6
}

// ---- 3. IPv4 -----------------------------------------------------------------
Decision judge_ipv4(const Identity& id, const EthHeader& eth, View l3)
{
    // 3.1
    auto fixed = l3.at(0, 20);
    if (!fixed)
        return {VM_DROP_MALFORMED, "3.1 IPv4 short"};
    Bytes b = *fixed;
    Ip4Header h{};
    h.version = b[0] >> 4;
    h.ihl = b[0] & 0x0f;
    h.tot_len = be16(b, 2);
    h.mf = b[6] & 0x20;
    h.frag_offset = be16(b, 6) & 0x1fff;
    h.protocol = b[9];
    h.src = copy_array<4>(b, 12);
    h.dst = copy_array<4>(b, 16);
    if (h.version != 4 || h.ihl < 5)
        return {VM_DROP_MALFORMED, "3.1 version/ihl"};
    const size_t hlen = size_t(h.ihl) * 4;
    if (!l3.has(0, hlen) || h.tot_len < hlen || !l3.has(0, h.tot_len))
        return {VM_DROP_MALFORMED, "3.1 ihl/tot_len outside"};
    // The packet: its first tot_len bytes; what follows is Ethernet padding.
    View pkt(l3.rest(0).first(h.tot_len));

    // 3.2
    const bool fragment = h.mf || h.frag_offset != 0;
    const bool l4_readable = h.frag_offset == 0;
    auto udp = pkt.at(hlen, 8);  // inside tot_len, hence inside the frame

    // 3.3
    if (h.src == Ip4{}) {
        if (!fragment && h.protocol == kProtoUdp && udp && be16(*udp, 0) == 68 && be16(*udp, 2) == 67 &&
            h.dst == Ip4{255, 255, 255, 255})
            return {VM_PASS, "3.3 DHCP client pass"};
        return {VM_DROP_UNSPEC_SRC, "3.3 0.0.0.0 not DHCP client"};
    }
    // 3.4
    if (!id.owns4(eth.src, h.src))
        return {VM_DROP_IP_SPOOF, "3.4 IPv4 src not owned"};
    // 3.5
    if (h.protocol == kProtoUdp && l4_readable) {
        if (!udp)
            return {VM_DROP_MALFORMED, "3.5 UDP header outside"};
        if (be16(*udp, 0) == 67 && !id.policy().may_serve_dhcp)
            return {VM_DROP_DHCP_GUARD, "3.5 DHCP server"};
    }
    // 5 (docs/security-groups.md): what goes on to the security groups
    // needs its whole upper-layer header.
    if (l4_readable && h.protocol == kProtoTcp) {
        auto tcp = pkt.at(hlen, 20);
        if (!tcp || ((*tcp)[12] >> 4) < 5)
            return {VM_DROP_MALFORMED, "5 TCP header incomplete"};
    }
    if (l4_readable && h.protocol == kProtoIcmp4 && !pkt.has(hlen, 8))
        return {VM_DROP_MALFORMED, "5 ICMP header incomplete"};
    if (h.frag_offset == 1 && h.protocol == kProtoTcp)  // RFC 1858 section 4
        return {VM_DROP_MALFORMED, "5 TCP fragment at offset 8"};
    return {VM_PASS, "3.6 IPv4 pass"};  // 3.6
}

// ---- 4. IPv6 -----------------------------------------------------------------
bool is_extension_header(uint8_t nh)
{
    return nh == kNhHopByHop || nh == kNhRouting || nh == kNhFragment || nh == kNhDestOpts || nh == kNhAuth;
}

// Fixed part of the ND messages, type code checksum included (4.6).
std::optional<size_t> nd_fixed_len(uint8_t type)
{
    switch (type) {
    case kIcmp6Rs: return 8;
    case kIcmp6Ra: return 16;
    case kIcmp6Ns: return 24;
    case kIcmp6Na: return 24;
    case kIcmp6Redirect: return 40;
    default: return std::nullopt;
    }
}

// ff02::1:ff00:0/104 with the target's low 24 bits.
Ip6 solicited_node(const Ip6& target)
{
    Ip6 a{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff, 0, 0, 0};
    a[13] = target[13], a[14] = target[14], a[15] = target[15];
    return a;
}

const Ip6 kAllMldv2Routers{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x16};

bool link_layer_option_ok(const NdOption& o, const MacAddr& src)
{
    return o.len == 1 && std::equal(src.begin(), src.end(), o.bytes.begin() + 2);
}

Decision judge_ipv6(const Identity& id, const EthHeader& eth, View l3)
{
    // 4.1
    auto fixed = l3.at(0, 40);
    if (!fixed)
        return {VM_DROP_MALFORMED, "4.1 IPv6 short"};
    Bytes b = *fixed;
    Ip6Header h{};
    h.version = b[0] >> 4;
    h.payload_len = be16(b, 4);
    h.next_header = b[6];
    h.src = copy_array<16>(b, 8);
    h.dst = copy_array<16>(b, 24);
    if (h.version != 6 || !l3.has(0, 40 + size_t(h.payload_len)))
        return {VM_DROP_MALFORMED, "4.1 version/payload_len"};
    View pkt(l3.rest(0).first(40 + size_t(h.payload_len)));

    // 4.2
    if (h.src[0] == 0xff)
        return {VM_DROP_IP_SPOOF, "4.2 multicast src"};
    const bool src_unspec = h.src == Ip6{};

    // 4.3: the extension header walk.
    size_t off = 40;
    uint8_t nh = h.next_header;
    int count = 0;
    bool fragmented = false, first_fragment = false;
    while (is_extension_header(nh)) {
        if (count == kMaxExtHeaders)  // R2: named by the eighth's next header
            return {VM_DROP_EXT_HDR, "4.3 ninth ext header"};
        size_t len = 0;
        uint8_t next = 0;
        if (nh == kNhFragment) {
            auto f = pkt.at(off, 8);
            if (!f)
                return {VM_DROP_MALFORMED, "4.3 fragment header outside"};
            next = (*f)[0];
            len = 8;
            uint16_t frag_offset = be16(*f, 2) >> 3;
            bool more = (*f)[3] & 1;
            fragmented = true;
            // 4.4 (R3): the upper layer is in an earlier fragment.
            if (frag_offset != 0) {
                if (src_unspec)
                    return {VM_DROP_UNSPEC_SRC, "4.4 later fragment from ::"};
                if (!id.owns6(eth.src, h.src))
                    return {VM_DROP_IP_SPOOF, "4.4 later fragment not owned"};
                return {VM_PASS, "4.4 later fragment pass"};
            }
            if (more)
                first_fragment = true;  // R4
        } else {
            auto f = pkt.at(off, 2);
            if (!f)
                return {VM_DROP_MALFORMED, "4.3 ext header start outside"};
            next = (*f)[0];
            len = nh == kNhAuth ? (size_t((*f)[1]) + 2) * 4 : (size_t((*f)[1]) + 1) * 8;
            if (!pkt.has(off, len))  // R1: the whole header, read or not
                return {VM_DROP_MALFORMED, "4.3 ext header body outside"};
        }
        count++;
        off += len;
        nh = next;
    }
    const uint8_t upper = nh;
    const size_t upper_off = off;

    // 4.5 (RFC 7112)
    if (first_fragment && upper != kNhNone && !pkt.has(upper_off, 8))
        return {VM_DROP_EXT_HDR, "4.5 first fragment upper cut"};

    // 4.6: ICMPv6 structure.
    std::optional<uint8_t> icmp_type;
    std::vector<NdOption> options;
    std::optional<Bytes> nd_fixed;
    if (upper == kProtoIcmp6) {
        auto head = pkt.at(upper_off, 4);
        if (!head)
            return {VM_DROP_MALFORMED, "4.6 ICMPv6 head outside"};
        icmp_type = (*head)[0];
        if (auto flen = nd_fixed_len(*icmp_type)) {
            nd_fixed = pkt.at(upper_off, *flen);  // 4.6.1
            if (!nd_fixed)
                return {VM_DROP_MALFORMED, "4.6.1 ND fixed part outside"};
            if (fragmented)  // 4.6.2 (RFC 6980)
                return {VM_DROP_FRAGMENT, "4.6.2 fragmented ND"};
            // 4.6.3: options to the end of the packet.
            size_t o = upper_off + *flen;
            while (o < pkt.size()) {
                if (options.size() == kMaxNdOptions)  // a 17th
                    return {VM_DROP_MALFORMED, "4.6.3 17th option"};
                auto tl = pkt.at(o, 2);  // R7
                if (!tl)
                    return {VM_DROP_MALFORMED, "4.6.3 option type/len outside"};
                uint8_t type = (*tl)[0], len = (*tl)[1];
                if (len == 0)
                    return {VM_DROP_MALFORMED, "4.6.3 option len 0"};
                auto whole = pkt.at(o, size_t(len) * 8);
                if (!whole)
                    return {VM_DROP_MALFORMED, "4.6.3 option past packet"};
                options.push_back({type, len, *whole});
                o += size_t(len) * 8;
            }
        }
    }
    auto has_option = [&](uint8_t type) {
        return std::any_of(options.begin(), options.end(), [&](const NdOption& o) { return o.type == type; });
    };
    auto nd_target = [&]() { return copy_array<16>(*nd_fixed, 8); };

    // 4.7: the unspecified source.
    if (src_unspec) {
        if (icmp_type == kIcmp6Ns && !fragmented) {
            if (h.dst != solicited_node(nd_target()))
                return {VM_DROP_UNSPEC_SRC, "4.7 DAD wrong destination"};
            if (has_option(kOptSlla))  // R8
                return {VM_DROP_ND_SPOOF, "4.7 DAD with SLLA"};
            if (!id.owns6(eth.src, nd_target()))
                return {VM_DROP_ND_SPOOF, "4.7 DAD target not owned"};
            return {VM_PASS, "4.7 DAD pass"};
        }
        if (icmp_type == kIcmp6Mld2Report && h.dst == kAllMldv2Routers && !fragmented)
            return {VM_PASS, "4.7 MLDv2 report pass"};
        if (icmp_type == kIcmp6Rs && !fragmented) {
            if (has_option(kOptSlla))
                return {VM_DROP_ND_SPOOF, "4.7 RS from :: with SLLA"};
            return {VM_PASS, "4.7 RS from :: pass"};
        }
        return {VM_DROP_UNSPEC_SRC, "4.7 :: other"};
    }

    // 4.8
    if (!id.owns6(eth.src, h.src))
        return {VM_DROP_IP_SPOOF, "4.8 IPv6 src not owned"};

    // 4.9: ICMPv6 meaning.
    if (icmp_type) {
        const uint8_t t = *icmp_type;
        if ((t == kIcmp6Ra || t == kIcmp6Redirect) && !id.policy().may_route)
            return {VM_DROP_RA_GUARD, "4.9 RA/redirect ra-guard"};
        if (t == kIcmp6Rs || t == kIcmp6Ra || t == kIcmp6Ns) {
            for (const auto& o : options)
                if (o.type == kOptSlla && !link_layer_option_ok(o, eth.src))
                    return {VM_DROP_ND_SPOOF, "4.9 RS/RA/NS bad SLLA"};
        }
        if (t == kIcmp6Na) {
            if (!id.owns6(eth.src, nd_target()))
                return {VM_DROP_ND_SPOOF, "4.9 NA target not owned"};
            for (const auto& o : options)
                if (o.type == kOptTlla && !link_layer_option_ok(o, eth.src))
                    return {VM_DROP_ND_SPOOF, "4.9 NA bad TLLA"};
        }
        // 5: ND and MLD stay the guard's; other ICMPv6 goes on to the
        // security groups, which need its whole header.
        const bool nd_or_mld = (t >= 130 && t <= 137) || t == kIcmp6Mld2Report;
        if (!nd_or_mld && !pkt.has(upper_off, 8))
            return {VM_DROP_MALFORMED, "5 ICMPv6 header incomplete"};
        return {VM_PASS, "4.9 ICMPv6 pass"};
    }

    // 4.10: UDP.
    if (upper == kProtoUdp) {
        auto udp = pkt.at(upper_off, 8);
        if (!udp)
            return {VM_DROP_MALFORMED, "4.10 UDP header outside"};
        if (be16(*udp, 0) == 547 && !id.policy().may_serve_dhcp)
            return {VM_DROP_DHCP_GUARD, "4.10 DHCPv6 server"};
    }
    if (upper == kProtoTcp) {  // 5
        auto tcp = pkt.at(upper_off, 20);
        if (!tcp || ((*tcp)[12] >> 4) < 5)
            return {VM_DROP_MALFORMED, "5 TCP header incomplete"};
    }
    return {VM_PASS, "4.11 IPv6 pass"};  // 4.11
}

}  // namespace

const char* reason_name(int reason)
{
    static const char* const names[VM_REASONS] = {
        "pass",      "malformed", "vlan",       "dst-mac",  "dst-ip",   "src",        "port",     "fragment",
        "proto",     "mac-spoof", "ip-spoof",   "arp-spoof", "nd-spoof", "unspec-src", "ra-guard", "dhcp-guard",
        "ext-hdr",   "no-rule",   "ct-invalid", "frag-untracked", "ct-full",
    };
    return reason >= 0 && reason < VM_REASONS ? names[reason] : "?";
}

Ip6 eui64_link_local(const MacAddr& m)
{
    return Ip6{0xfe, 0x80, 0, 0, 0, 0, 0, 0, uint8_t(m[0] ^ 0x02), m[1], m[2], 0xff, 0xfe, m[3], m[4], m[5]};
}

bool prefix_contains(const vmhost::Prefix& p, int family, Bytes a)
{
    const size_t bytes = family == 4 ? 4 : 16;
    if (p.addr.family != family || a.size() != bytes || p.len > bytes * 8)
        return false;
    for (size_t bit = 0; bit < p.len; bit++) {
        const uint8_t mask = uint8_t(0x80 >> (bit % 8));
        if ((p.addr.bytes[bit / 8] & mask) != (a[bit / 8] & mask))
            return false;
    }
    return true;
}

Identity::Identity(const vmhost::VmPolicy& policy) : policy_(policy)
{
    const MacAddr own = mac_of(policy.mac);
    macs_.push_back(own);
    Owner self{own, policy.addrs, policy.prefixes};
    vmhost::IpAddr ll{6, {}};
    if (policy.link_local)
        ll = *policy.link_local;
    else
        ll.bytes = eui64_link_local(own);  // R6: only when none is configured
    self.exact.push_back(ll);
    owners_.push_back(self);
    for (const auto& pair : policy.allowed_pairs) {
        MacAddr m = mac_of(pair.mac);
        if (m == MacAddr{})
            m = own;  // R5
        auto it = std::find_if(owners_.begin(), owners_.end(), [&](const Owner& o) { return o.mac == m; });
        if (it == owners_.end()) {
            Owner o{m, {}, {}};
            o.exact.push_back(vmhost::IpAddr{6, {}});
            o.exact.back().bytes = eui64_link_local(m);
            owners_.push_back(o);
            macs_.push_back(m);
            it = owners_.end() - 1;
        }
        it->prefixes.push_back(pair.prefix);
    }
}

bool Identity::mac_allowed(const MacAddr& m) const { return owner(m) != nullptr; }

const Identity::Owner* Identity::owner(const MacAddr& m) const
{
    for (const auto& o : owners_)
        if (o.mac == m)
            return &o;
    return nullptr;
}

bool Identity::owns4(const MacAddr& m, const Ip4& a) const
{
    const Owner* o = owner(m);
    if (!o)
        return false;
    for (const auto& x : o->exact)
        if (x.family == 4 && std::equal(a.begin(), a.end(), x.bytes.begin()))
            return true;
    for (const auto& p : o->prefixes)
        if (prefix_contains(p, 4, a))
            return true;
    return false;
}

bool Identity::owns6(const MacAddr& m, const Ip6& a) const
{
    const Owner* o = owner(m);
    if (!o)
        return false;
    for (const auto& x : o->exact)
        if (x.family == 6 && x.bytes == a)
            return true;
    for (const auto& p : o->prefixes)
        if (prefix_contains(p, 6, a))
            return true;
    return false;
}

Verdict judge(const Identity& id, Bytes frame, const char** rule)
{
    const char* unused;
    if (!rule)
        rule = &unused;
    View v(frame);
    // 1.1
    auto raw = v.at(0, kEthLen);
    if (!raw)
        return *rule = "1.1 Ethernet short", drop(VM_DROP_MALFORMED);
    const EthHeader eth{copy_array<6>(*raw, 0), copy_array<6>(*raw, 6), be16(*raw, 12)};
    // 1.2
    if (!id.mac_allowed(eth.src))
        return *rule = "1.2 source MAC", drop(VM_DROP_MAC_SPOOF);
    // 1.3
    if (eth.type == 0x8100 || eth.type == 0x88a8 || eth.type == 0x9100)
        return *rule = "1.3 VLAN tag", drop(VM_DROP_VLAN);
    View l3(v.rest(kEthLen));
    Decision d;
    switch (eth.type) {
    case kEthArp: d = judge_arp(id, eth, l3); break;
    case kEthIp4: d = judge_ipv4(id, eth, l3); break;
    case kEthIp6: d = judge_ipv6(id, eth, l3); break;
    default: return *rule = "1.4 ethertype", drop(VM_DROP_PROTO);
    }
    *rule = d.rule;
    if (d.reason != VM_PASS)
        return drop(d.reason);
    // Where a passed frame goes: only unicast to the tap's MAC is the host's.
    if (!is_group(eth.dst) && eth.dst == mac_of(id.policy().host_mac))
        return {VM_PASS, XDP_PASS};
    return {VM_PASS, XDP_REDIRECT};
}

}  // namespace guardmodel
