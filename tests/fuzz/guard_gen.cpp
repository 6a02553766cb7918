#include "guard_gen.hpp"

#include <algorithm>

namespace guardmodel {

namespace {

// Most frames fit 1514 bytes; a big extension header or ND option makes some
// longer (a VM's tap may have a jumbo MTU), up to what BPF_PROG_TEST_RUN takes
// without fragments (a page less XDP headroom and skb_shared_info, 3520).
constexpr size_t kMaxFrame = 3500;

void put16(Frame& f, uint16_t v)
{
    f.push_back(uint8_t(v >> 8));
    f.push_back(uint8_t(v));
}

void set16(Frame& f, size_t off, uint16_t v)
{
    f[off] = uint8_t(v >> 8);
    f[off + 1] = uint8_t(v);
}

template <class A>
void put(Frame& f, const A& a)
{
    f.insert(f.end(), a.begin(), a.end());
}

Ip4 v4_of(const vmhost::IpAddr& a) { return Ip4{a.bytes[0], a.bytes[1], a.bytes[2], a.bytes[3]}; }

Ip6 solicited(const Ip6& t)
{
    return Ip6{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff, t[13], t[14], t[15]};
}

}  // namespace

FrameGen::FrameGen(const vmhost::VmPolicy& policy, std::vector<MacAddr> neighbours, uint64_t seed)
    : id_(policy), neighbours_(std::move(neighbours)), rng_(seed)
{
    own_macs_ = id_.allowed_macs();
    const MacAddr own = own_macs_.front();
    MacAddr flipped = own;
    flipped[5] ^= 1;
    MacAddr group = own;
    group[0] |= 1;
    foreign_macs_ = {MacAddr{},
                     MacAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
                     MacAddr{0x01, 0x00, 0x5e, 0x00, 0x00, 0x01},
                     MacAddr{0x33, 0x33, 0x00, 0x00, 0x00, 0x01},
                     MacAddr{0x01, 0x80, 0xc2, 0x00, 0x00, 0x00},
                     policy.host_mac.b,
                     flipped,
                     group,
                     MacAddr{0x02, 0x42, 0xde, 0xad, 0xbe, 0xef}};
    foreign_macs_.insert(foreign_macs_.end(), neighbours_.begin(), neighbours_.end());

    // Prefixes owned by some allowed MAC.
    auto add_prefix = [&](const vmhost::Prefix& p) { (p.addr.family == 4 ? prefixes4_ : prefixes6_).push_back(p); };
    for (const auto& p : policy.prefixes)
        add_prefix(p);
    for (const auto& pair : policy.allowed_pairs)
        add_prefix(pair.prefix);

    // Address pools: owned ones, their neighbours, the edges of each prefix.
    for (const auto& a : policy.addrs) {
        if (a.family == 4) {
            Ip4 x = v4_of(a);
            pool4_.push_back(x);
            x[3] ^= 1;
            pool4_.push_back(x);
        } else {
            pool6_.push_back(a.bytes);
            Ip6 x = a.bytes;
            x[15] ^= 1;
            pool6_.push_back(x);
        }
    }
    for (const auto& p : prefixes4_) {
        Ip4 net = v4_of(p.addr), last = net;
        for (int bit = p.len; bit < 32; bit++)
            last[bit / 8] |= uint8_t(0x80 >> (bit % 8));
        pool4_.push_back(net);
        pool4_.push_back(last);
        Ip4 below = net, above = last;  // just outside (wraps are fine)
        for (int i = 3; i >= 0 && below[i]-- == 0; i--) {}
        for (int i = 3; i >= 0 && ++above[i] == 0; i--) {}
        pool4_.push_back(below);
        pool4_.push_back(above);
    }
    pool4_.push_back(Ip4{});
    pool4_.push_back(Ip4{255, 255, 255, 255});
    pool4_.push_back(Ip4{224, 0, 0, 251});
    pool4_.push_back(Ip4{192, 0, 2, 1});
    pool4_.push_back(Ip4{10, 1, 0, 6});

    for (const auto& m : own_macs_)
        pool6_.push_back(eui64_link_local(m));
    if (policy.link_local)
        pool6_.push_back(policy.link_local->bytes);
    for (const auto& m : foreign_macs_)
        if (!(m[0] & 1))
            pool6_.push_back(eui64_link_local(m));
    for (const auto& p : prefixes6_) {
        Ip6 net = p.addr.bytes;
        pool6_.push_back(net);
        if (p.len > 0) {
            Ip6 out = net;
            out[(p.len - 1) / 8] ^= uint8_t(0x80 >> ((p.len - 1) % 8));
            pool6_.push_back(out);
        }
    }
    // Across families: an IPv6 address whose first bytes are an owned IPv4
    // address, an IPv4 address that is the start of an owned IPv6 one.
    for (const auto& a : pool4_)
        if (id_.owns4(own, a))
            pool6_.push_back(Ip6{a[0], a[1], a[2], a[3]});
    for (const auto& a : policy.addrs)
        if (a.family == 6)
            pool4_.push_back(Ip4{a.bytes[0], a.bytes[1], a.bytes[2], a.bytes[3]});
    for (const auto& p : prefixes6_)
        pool4_.push_back(Ip4{p.addr.bytes[0], p.addr.bytes[1], p.addr.bytes[2], p.addr.bytes[3]});
    pool6_.push_back(Ip6{});
    pool6_.push_back(Ip6{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1});
    pool6_.push_back(Ip6{0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1});
    pool6_.push_back(Ip6{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7});
    pool6_.push_back(Ip6{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 0, 5});
}

bool FrameGen::chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
size_t FrameGen::below(size_t n) { return n ? std::uniform_int_distribution<size_t>(0, n - 1)(rng_) : 0; }
int FrameGen::between(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
uint8_t FrameGen::byte() { return uint8_t(rng_()); }

void FrameGen::random_bytes(Frame& f, size_t n)
{
    for (size_t i = 0; i < n; i++)
        f.push_back(byte());
}

MacAddr FrameGen::src_mac()
{
    if (chance(0.94))
        return own_macs_.size() > 1 && chance(0.3) ? own_macs_[1 + below(own_macs_.size() - 1)] : own_macs_[0];
    return chance(0.8) ? pick(foreign_macs_) : any_mac();
}

MacAddr FrameGen::dst_mac()
{
    switch (below(8)) {
    case 0:
    case 1: return MacAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    case 2: return MacAddr{0x33, 0x33, 0x00, 0x00, 0x00, uint8_t(chance(0.5) ? 1 : 0x16)};
    case 3: return MacAddr{0x01, 0x00, 0x5e, 0x00, 0x00, byte()};
    case 4:
    case 5: return id_.policy().host_mac.b;
    case 6: return neighbours_.empty() || chance(0.3) ? own_macs_[0] : pick(neighbours_);
    default: return any_mac();
    }
}

MacAddr FrameGen::any_mac()
{
    MacAddr m;
    for (auto& b : m)
        b = byte();
    if (chance(0.7))
        m[0] &= 0xfe;  // mostly unicast
    return m;
}

Ip4 FrameGen::fresh_inside4(const vmhost::Prefix& p)
{
    Ip4 a = v4_of(p.addr);
    for (int bit = p.len; bit < 32; bit++)
        if (rng_() & 1)
            a[bit / 8] ^= uint8_t(0x80 >> (bit % 8));
    return a;
}

Ip6 FrameGen::fresh_inside6(const vmhost::Prefix& p)
{
    Ip6 a = p.addr.bytes;
    for (int bit = p.len; bit < 128; bit++)
        if (rng_() & 1)
            a[bit / 8] ^= uint8_t(0x80 >> (bit % 8));
    return a;
}

// With probability `owned`, an address owned by `src` (when it owns any).
Ip4 FrameGen::ip4_for(const MacAddr& src, double owned)
{
    if (chance(owned)) {
        std::vector<Ip4> mine;
        for (const auto& a : pool4_)
            if (id_.owns4(src, a))
                mine.push_back(a);
        for (const auto& p : prefixes4_) {
            Ip4 a = fresh_inside4(p);
            if (id_.owns4(src, a))
                mine.push_back(a);
        }
        if (!mine.empty())
            return pick(mine);
    }
    if (chance(0.15)) {
        Ip4 r;
        for (auto& b : r)
            b = byte();
        return r;
    }
    if (!prefixes4_.empty() && chance(0.2))
        return fresh_inside4(pick(prefixes4_));  // perhaps another MAC's
    return pick(pool4_);
}

Ip6 FrameGen::ip6_for(const MacAddr& src, double owned)
{
    if (chance(owned)) {
        std::vector<Ip6> mine;
        for (const auto& a : pool6_)
            if (id_.owns6(src, a))
                mine.push_back(a);
        for (const auto& p : prefixes6_) {
            Ip6 a = fresh_inside6(p);
            if (id_.owns6(src, a))
                mine.push_back(a);
        }
        if (!mine.empty())
            return pick(mine);
    }
    if (chance(0.1)) {
        Ip6 r;
        for (auto& b : r)
            b = byte();
        return r;
    }
    if (!prefixes6_.empty() && chance(0.2))
        return fresh_inside6(pick(prefixes6_));
    return pick(pool6_);
}

Frame FrameGen::next()
{
    Frame f;
    const MacAddr src = src_mac(), dst = dst_mac();
    put(f, dst);
    put(f, src);
    const size_t kind = below(100);
    if (kind < 3) {  // garbage after a plausible header
        put16(f, chance(0.5) ? 0x0800 : uint16_t(rng_()));
        random_bytes(f, below(80));
    } else if (kind < 6) {  // tagged: an access port carries none
        static const uint16_t tags[] = {0x8100, 0x88a8, 0x9100};
        put16(f, tags[below(3)]);
        put16(f, uint16_t(between(0, 4095)));
        if (chance(0.3)) {
            put16(f, 0x8100);
            put16(f, uint16_t(between(0, 4095)));
        }
        put16(f, 0x0800);
        random_bytes(f, 20 + below(40));
    } else if (kind < 9) {  // odd ethertypes, 802.3 lengths
        static const uint16_t odd[] = {0x0000, 0x002e, 0x05dc, 0x05ff, 0x0600, 0x0801, 0x0805, 0x0807,
                                       0x8035, 0x86dc, 0x86de, 0x88cc, 0x88b5, 0x88e5, 0x8847, 0xffff};
        put16(f, chance(0.8) ? odd[below(std::size(odd))] : uint16_t(rng_()));
        random_bytes(f, 28 + below(40));
    } else if (kind < 26) {
        put16(f, 0x0806);
        arp(f, src);
    } else if (kind < 56) {
        put16(f, 0x0800);
        ipv4(f, src, dst);
    } else {
        put16(f, 0x86dd);
        ipv6(f, src, dst);
    }
    if (chance(0.35))
        mutate(f);
    if (f.size() > kMaxFrame)
        f.resize(kMaxFrame);
    if (f.size() < 14)
        f.resize(14);
    return f;
}

void FrameGen::arp(Frame& f, const MacAddr& src)
{
    put16(f, chance(0.95) ? 1 : uint16_t(between(0, 6)));
    put16(f, chance(0.95) ? 0x0800 : (chance(0.5) ? 0x86dd : uint16_t(rng_())));
    f.push_back(chance(0.96) ? 6 : uint8_t(between(0, 16)));
    f.push_back(chance(0.96) ? 4 : uint8_t(between(0, 16)));
    const uint16_t op = chance(0.92) ? uint16_t(between(1, 2)) : uint16_t(chance(0.5) ? between(0, 10) : rng_());
    put16(f, op);
    put(f, chance(0.85) ? src : (chance(0.5) ? pick(foreign_macs_) : pick(own_macs_)));
    const bool probe = chance(0.25);
    put(f, probe ? Ip4{} : ip4_for(src, 0.75));
    put(f, chance(0.5) ? MacAddr{} : any_mac());
    put(f, ip4_for(src, probe ? 0.7 : 0.3));
    if (chance(0.5))
        f.resize(std::max<size_t>(f.size(), 60));  // Ethernet padding
}

void FrameGen::udp(Frame& f, uint16_t sport, uint16_t dport)
{
    const size_t start = f.size();
    put16(f, sport);
    put16(f, dport);
    put16(f, 0);
    put16(f, 0);
    random_bytes(f, below(24));
    set16(f, start + 4, uint16_t(f.size() - start));
}

void FrameGen::ipv4(Frame& f, const MacAddr& src, const MacAddr& dst_mac_)
{
    (void)dst_mac_;
    const size_t l3 = f.size();
    const int ihl = chance(0.8) ? 5 : (chance(0.9) ? between(6, 15) : between(0, 4));
    const bool dhcp_client = chance(0.2);
    f.push_back(uint8_t((chance(0.97) ? 4 : between(0, 15)) << 4 | ihl));
    f.push_back(byte());  // tos
    put16(f, 0);          // tot_len, below
    put16(f, uint16_t(rng_()));
    uint16_t frag = chance(0.5) ? 0x4000 : 0;  // DF
    if (chance(0.15)) {
        switch (below(4)) {
        case 0: frag |= 0x2000; break;                                             // first fragment
        case 1: frag |= uint16_t(between(1, 0x1fff)); break;                       // last fragment
        case 2: frag |= 0x2000 | uint16_t(between(1, 0x1fff)); break;              // middle
        default: frag = uint16_t(rng_()); break;                                   // anything
        }
    }
    put16(f, frag);
    f.push_back(chance(0.9) ? 64 : byte());
    const size_t proto_at = f.size();
    uint8_t proto = 17;
    if (!dhcp_client) {
        const size_t p = below(100);
        proto = p < 60 ? 17 : p < 75 ? 6 : p < 85 ? 1 : p < 90 ? 58 : byte();
    }
    f.push_back(proto);
    put16(f, 0);  // checksum: not judged
    const Ip4 s = dhcp_client ? (chance(0.8) ? Ip4{} : ip4_for(src, 0.8)) : (chance(0.1) ? Ip4{} : ip4_for(src, 0.8));
    put(f, s);
    put(f, dhcp_client && chance(0.85) ? Ip4{255, 255, 255, 255} : (chance(0.5) ? ip4_for(src, 0.1) : Ip4{10, 9, 8, 7}));
    for (int i = 5; i < std::max(ihl, 5); i++) {  // options
        for (int j = 0; j < 4; j++)
            f.push_back(chance(0.6) ? 1 : (chance(0.3) ? 0 : byte()));
    }
    (void)proto_at;
    if (proto == 17) {
        uint16_t sport, dport;
        if (dhcp_client) {
            sport = chance(0.9) ? 68 : 67;
            dport = chance(0.9) ? 67 : 68;
        } else {
            switch (below(6)) {
            case 0: sport = 67, dport = 68; break;
            case 1: sport = 67, dport = uint16_t(rng_()); break;
            case 2: sport = uint16_t(rng_()), dport = 67; break;
            case 3: sport = 68, dport = 67; break;
            default: sport = uint16_t(between(1024, 65535)), dport = 53; break;
            }
        }
        udp(f, sport, dport);
    } else {
        random_bytes(f, below(40));
    }
    uint16_t tot = uint16_t(f.size() - l3);
    if (chance(0.08))
        tot = uint16_t(tot + between(-12, 12));
    set16(f, l3 + 2, tot);
    if (chance(0.3))
        f.resize(std::max<size_t>(f.size(), 60));
}

void FrameGen::nd_options(Frame& f, const MacAddr& src, uint8_t icmp_type)
{
    size_t n;
    const size_t r = below(100);
    n = r < 35 ? 0 : r < 65 ? 1 : r < 85 ? size_t(between(2, 4)) : size_t(between(5, 20));
    if (r >= 95)
        n = size_t(between(15, 17));
    for (size_t i = 0; i < n && f.size() < kMaxFrame - 2100; i++) {
        const size_t t = below(100);
        uint8_t type;
        if (t < 40)
            type = 1;
        else if (t < 70)
            type = 2;
        else if (t < 78)
            type = 3;
        else if (t < 85)
            type = 5;
        else if (t < 90)
            type = 14;
        else
            type = byte();
        (void)icmp_type;
        uint8_t len;
        if (type == 1 || type == 2)
            len = chance(0.8) ? 1 : chance(0.4) ? 2 : chance(0.3) ? 0 : uint8_t(between(1, 4));
        else if (type == 3)
            len = chance(0.9) ? 4 : uint8_t(between(0, 5));
        else
            len = chance(0.9) ? 1 : chance(0.7) ? uint8_t(between(0, 3)) : uint8_t(between(16, 255));
        const size_t start = f.size();
        f.push_back(type);
        f.push_back(len);
        if (type == 1 || type == 2) {
            put(f, chance(0.75) ? src : (chance(0.5) ? pick(own_macs_) : any_mac()));
        }
        const size_t want = len ? size_t(len) * 8 : 8;
        while (f.size() - start < want)
            f.push_back(chance(0.7) ? 0 : byte());
        if (i + 1 == n && chance(0.05))  // the last one runs past the end
            f.resize(f.size() - size_t(between(1, int(want) - 1)));
    }
    if (chance(0.03))
        f.push_back(1);  // a lone type byte
}

void FrameGen::icmp6(Frame& f, const MacAddr& src, const Ip6& ip_src, Ip6& ip_dst, uint8_t type)
{
    f.push_back(type);
    f.push_back(chance(0.95) ? 0 : byte());
    put16(f, 0);  // checksum: not judged
    const bool unspec = ip_src == Ip6{};
    auto target = [&] {
        return chance(0.1) ? Ip6{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1} : ip6_for(src, unspec ? 0.7 : 0.55);
    };
    switch (type) {
    case 133:  // RS
        put16(f, 0), put16(f, 0);
        nd_options(f, src, type);
        ip_dst = Ip6{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
        break;
    case 134:  // RA
        f.push_back(64), f.push_back(byte()), put16(f, 1800);
        random_bytes(f, 8);
        nd_options(f, src, type);
        ip_dst = Ip6{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
        break;
    case 135:  // NS
    case 136: {  // NA
        put16(f, type == 136 ? 0x6000 : 0), put16(f, 0);
        const Ip6 t = target();
        put(f, t);
        nd_options(f, src, type);
        if (type == 135) {
            const size_t r = below(10);
            ip_dst = r < 6 ? solicited(t) : r < 7 ? solicited(ip6_for(src, 0.0)) : r < 8 ? t : ip6_for(src, 0.0);
            if (r < 7 && chance(0.1))
                ip_dst[12] = 0xfe;  // almost the solicited-node prefix
        } else {
            ip_dst = chance(0.5) ? Ip6{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1} : ip6_for(src, 0.0);
        }
        break;
    }
    case 137:  // Redirect
        put16(f, 0), put16(f, 0);
        put(f, target());
        put(f, ip6_for(src, 0.0));
        nd_options(f, src, type);
        break;
    case 143:  // MLDv2 report
        put16(f, 0), put16(f, 1);
        f.push_back(4), f.push_back(0), put16(f, 0);
        put(f, Ip6{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff, 0, 0, 5});
        ip_dst = chance(0.8) ? Ip6{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x16}
                             : Ip6{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x15};
        break;
    default:
        random_bytes(f, below(40));
        break;
    }
}

void FrameGen::ipv6(Frame& f, const MacAddr& src, const MacAddr& dst_mac_)
{
    (void)dst_mac_;
    const size_t l3 = f.size();
    f.push_back(uint8_t((chance(0.97) ? 6 : between(0, 15)) << 4));
    f.push_back(byte()), f.push_back(byte()), f.push_back(byte());
    put16(f, 0);                                // payload_len, below
    f.push_back(0);                             // next header, below
    f.push_back(chance(0.8) ? 255 : byte());    // hop limit: not judged
    Ip6 s;
    const size_t sr = below(100);
    if (sr < 16)
        s = Ip6{};
    else if (sr < 19)
        s = Ip6{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, uint8_t(between(1, 0x16))};
    else
        s = ip6_for(src, 0.8);
    put(f, s);
    Ip6 d = chance(0.5) ? Ip6{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1} : ip6_for(src, 0.05);
    const size_t dst_at = f.size();
    put(f, d);

    // The extension header chain.
    std::vector<uint8_t> chain;
    if (chance(0.3)) {
        const size_t r = below(100);
        const size_t n = r < 50 ? size_t(between(1, 3)) : r < 70 ? size_t(between(4, 7)) : size_t(between(8, 10));
        static const uint8_t types[] = {0, 43, 44, 60, 51};
        for (size_t i = 0; i < n; i++)
            chain.push_back(types[below(5)]);
    }
    // The upper layer.
    uint8_t upper;
    const size_t u = below(100);
    upper = u < 58 ? 58 : u < 80 ? 17 : u < 86 ? 6 : u < 90 ? 59 : u < 93 ? 50 : byte();
    uint8_t icmp_type = 0;
    if (upper == 58) {
        static const uint8_t nd[] = {133, 134, 135, 136, 137, 143};
        static const uint8_t other[] = {128, 129, 1, 2, 3, 4, 130, 131, 132, 138, 139, 255, 0};
        if (s == Ip6{} && chance(0.7))
            icmp_type = chance(0.5) ? 135 : chance(0.5) ? 143 : 133;
        else
            icmp_type = chance(0.75) ? nd[below(std::size(nd))] : (chance(0.8) ? other[below(std::size(other))] : byte());
    }

    f[l3 + 6] = chain.empty() ? upper : chain[0];
    for (size_t i = 0; i < chain.size() && f.size() < kMaxFrame; i++) {
        const uint8_t next = i + 1 < chain.size() ? chain[i + 1] : upper;
        const size_t start = f.size();
        if (chain[i] == 44) {
            f.push_back(next);
            f.push_back(0);
            uint16_t off = 0;
            bool more = false;
            const size_t k = below(10);
            if (k < 4) {
            } else if (k < 8) {
                more = true;
            } else {
                off = uint16_t(between(1, 0x1fff));
                more = chance(0.5);
            }
            put16(f, uint16_t(off << 3 | (chance(0.1) ? 6 : 0) | (more ? 1 : 0)));
            random_bytes(f, 4);
        } else if (chain[i] == 51) {
            const uint8_t len = chance(0.9) ? uint8_t(between(1, 6)) : byte();
            f.push_back(next);
            f.push_back(len);
            const size_t want = (size_t(len) + 2) * 4;
            while (f.size() - start < want && f.size() < kMaxFrame)
                f.push_back(byte());
        } else {
            const uint8_t len = chance(0.92) ? uint8_t(between(0, 3)) : byte();
            f.push_back(next);
            f.push_back(len);
            const size_t want = (size_t(len) + 1) * 8;
            while (f.size() - start < want && f.size() < kMaxFrame)
                f.push_back(chance(0.6) ? 1 : byte());  // PadN-ish
        }
    }
    if (f.size() < kMaxFrame - 200) {
        if (upper == 58) {
            icmp6(f, src, s, d, icmp_type);
        } else if (upper == 17) {
            uint16_t sport, dport;
            switch (below(5)) {
            case 0: sport = 547, dport = 546; break;
            case 1: sport = 546, dport = 547; break;
            case 2: sport = 547, dport = uint16_t(rng_()); break;
            case 3: sport = uint16_t(rng_()), dport = 547; break;
            default: sport = uint16_t(between(1024, 65535)), dport = 53; break;
            }
            udp(f, sport, dport);
        } else if (upper != 59 || chance(0.3)) {
            random_bytes(f, below(32));
        }
    }
    std::copy(d.begin(), d.end(), f.begin() + dst_at);
    if (f.size() > kMaxFrame)
        f.resize(kMaxFrame);
    size_t plen = f.size() - l3 - 40;
    if (chance(0.06))
        plen = size_t(std::max(0, int(plen) + between(-12, 12)));
    set16(f, l3 + 4, uint16_t(plen));
}

void FrameGen::mutate(Frame& f)
{
    const uint16_t type = uint16_t(f[12] << 8 | f[13]);
    const size_t l3 = 14;
    // A consistent cut: the packet ends earlier, its length field says so.
    if (chance(0.35)) {
        if (type == 0x0800 && f.size() > l3 + 21) {
            const size_t len = size_t(between(20, int(f.size() - l3) - 1));
            f.resize(l3 + len);
            set16(f, l3 + 2, uint16_t(len));
        } else if (type == 0x86dd && f.size() > l3 + 41) {
            const size_t len = size_t(between(40, int(f.size() - l3) - 1));
            f.resize(l3 + len);
            set16(f, l3 + 4, uint16_t(len - 40));
        }
    }
    if (chance(0.15) && f.size() > 15)  // the frame alone cut
        f.resize(size_t(between(14, int(f.size()) - 1)));
    if (chance(0.25)) {  // flips, mostly in the headers
        const int k = between(1, 3);
        for (int i = 0; i < k; i++) {
            // Mostly past the MACs: a flipped source MAC is only mac-spoof.
            const size_t from = chance(0.85) ? 12 : 0, to = std::min<size_t>(f.size(), chance(0.7) ? 100 : f.size());
            const size_t at = from < to ? from + below(to - from) : below(f.size());
            f[at] = chance(0.5) ? uint8_t(f[at] ^ (1u << below(8))) : byte();
        }
    }
    if (chance(0.15)) {  // length fields
        if (type == 0x0800 && f.size() >= l3 + 4) {
            if (chance(0.5))
                set16(f, l3 + 2, uint16_t(uint16_t(f[l3 + 2] << 8 | f[l3 + 3]) + between(-8, 8)));
            else
                f[l3] = uint8_t((f[l3] & 0xf0) | between(0, 15));
        } else if (type == 0x86dd && f.size() >= l3 + 6) {
            set16(f, l3 + 4, uint16_t(uint16_t(f[l3 + 4] << 8 | f[l3 + 5]) + between(-16, 16)));
        }
    }
    if (chance(0.4)) {  // Ethernet padding, or a tail after the packet
        const size_t n = size_t(between(1, 64));
        const bool zero = chance(0.5);
        for (size_t i = 0; i < n; i++)
            f.push_back(zero ? 0 : byte());
    }
}

}  // namespace guardmodel
