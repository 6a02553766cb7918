#include "policy.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

#include <devmap_egress/error.hpp>

namespace vmhost {

Mac Mac::parse(const std::string& s)
{
    Mac m;
    unsigned v[6];
    char tail;
    if (std::sscanf(s.c_str(), "%x:%x:%x:%x:%x:%x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &tail) != 6)
        dme::fail(EINVAL, "'" + s + "' is not a MAC address (write 02:00:00:00:00:01)");
    for (int i = 0; i < 6; i++) {
        if (v[i] > 0xff)
            dme::fail(EINVAL, "'" + s + "' is not a MAC address (six bytes, 00 to ff)");
        m.b[i] = uint8_t(v[i]);
    }
    return m;
}

std::string Mac::str() const
{
    char buf[18];
    std::snprintf(buf, sizeof(buf), "%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5]);
    return buf;
}

IpAddr IpAddr::parse(const std::string& s)
{
    IpAddr a;
    if (inet_pton(AF_INET, s.c_str(), a.bytes.data()) == 1) {
        a.family = 4;
    } else if (inet_pton(AF_INET6, s.c_str(), a.bytes.data()) == 1) {
        a.family = 6;
    } else {
        dme::fail(EINVAL, "'" + s + "' is not an IPv4 or IPv6 address");
    }
    return a;
}

std::string IpAddr::str() const
{
    char buf[INET6_ADDRSTRLEN];
    inet_ntop(family == 4 ? AF_INET : AF_INET6, bytes.data(), buf, sizeof(buf));
    return buf;
}

IpAddr eui64_link_local(const Mac& mac)
{
    IpAddr a;
    a.family = 6;
    a.bytes = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, uint8_t(mac.b[0] ^ 0x02), mac.b[1], mac.b[2], 0xff, 0xfe, mac.b[3], mac.b[4], mac.b[5]};
    return a;
}

bool Prefix::contains(const IpAddr& a) const
{
    if (a.family != addr.family)
        return false;
    for (int bit = 0; bit < len; bit++) {
        uint8_t mask = uint8_t(0x80 >> (bit % 8));
        if ((a.bytes[bit / 8] & mask) != (addr.bytes[bit / 8] & mask))
            return false;
    }
    return true;
}

Prefix Prefix::parse(const std::string& s)
{
    auto slash = s.find('/');
    Prefix p;
    p.addr = IpAddr::parse(s.substr(0, slash));
    int max = p.addr.family == 4 ? 32 : 128;
    int len = max;
    if (slash != std::string::npos) {
        try {
            len = std::stoi(s.substr(slash + 1));
        } catch (const std::exception&) {
            len = -1;
        }
    }
    if (len < 0 || len > max)
        dme::fail(EINVAL, "'" + s + "': prefix length must be 0.." + std::to_string(max));
    p.len = uint8_t(len);
    return p;
}

namespace {
bool is_multicast(const IpAddr& a)
{
    return a.family == 4 ? (a.bytes[0] & 0xf0) == 0xe0 || a.bytes[0] == 0xff : a.bytes[0] == 0xff;
}

bool is_unspecified(const IpAddr& a)
{
    for (int i = 0; i < (a.family == 4 ? 4 : 16); i++)
        if (a.bytes[i])
            return false;
    return true;
}

void check_mac(const Mac& m, const std::string& field)
{
    if (!m.is_unicast())
        dme::fail(EINVAL, field + " " + m.str() + " is not a unicast MAC address: the guard could not tell it from a flood");
}

void check_owned(const IpAddr& a, uint8_t len, const std::string& field)
{
    if (is_multicast(a) || (len == (a.family == 4 ? 32 : 128) && is_unspecified(a)))
        dme::fail(EINVAL, field + " " + a.str() + " cannot be a VM's own address (multicast or unspecified)");
}
}  // namespace

void validate(const VmPolicy& p)
{
    check_mac(p.mac, "mac");
    for (const auto& a : p.addrs)
        check_owned(a, a.family == 4 ? 32 : 128, "addrs:");
    for (const auto& pr : p.prefixes)
        check_owned(pr.addr, pr.len, "prefixes:");
    if (p.link_local && (p.link_local->family != 6 || !Prefix::parse("fe80::/10").contains(*p.link_local)))
        dme::fail(EINVAL, "link_local " + p.link_local->str() + " is not an IPv6 link-local address (fe80::/10)");
    for (const auto& pair : p.allowed_pairs) {
        check_mac(pair_mac(p, pair), "allowed_pairs: mac");
        check_owned(pair.prefix.addr, pair.prefix.len, "allowed_pairs: prefix");
    }
    if (allowed_macs(p).size() > VM_MAX_MACS)
        dme::fail(E2BIG, "more than " + std::to_string(VM_MAX_MACS) + " MACs (the VM's and its pairs')");
    validate_secgroups(p);
}

namespace {
void check_rule(const SgRule& r, size_t i)
{
    const std::string at = "rules[" + std::to_string(i) + "]: ";
    if (r.family != 4 && r.family != 6)
        dme::fail(EINVAL, at + "family must be 4 or 6 (the ethertype)");
    if (r.remote && r.remote->addr.family != r.family)
        dme::fail(EINVAL, at + "remote " + r.remote->addr.str() + " is not an IPv" + std::to_string(r.family) +
                              " prefix like the rule's family");
    if (r.remote && !r.remote_group.empty())
        dme::fail(EINVAL, at + "give either remote or remote_group, not both");
    bool ports = r.proto == IPPROTO_TCP || r.proto == IPPROTO_UDP;
    bool icmp = r.family == 4 ? r.proto == IPPROTO_ICMP : r.proto == IPPROTO_ICMPV6;
    if (r.proto == IPPROTO_ICMP && r.family == 6)
        dme::fail(EINVAL, at + "IPv6 uses ICMPv6 (protocol 58), not ICMP");
    if (r.proto == IPPROTO_ICMPV6 && r.family == 4)
        dme::fail(EINVAL, at + "IPv4 uses ICMP (protocol 1), not ICMPv6");
    if (r.port_min > r.port_max)
        dme::fail(EINVAL, at + "port_min " + std::to_string(r.port_min) + " is above port_max " +
                              std::to_string(r.port_max));
    if (!ports && (r.port_min != 0 || r.port_max != 65535))
        dme::fail(EINVAL, at + "a port range needs protocol TCP or UDP");
    if (!icmp && (r.icmp_type != -1 || r.icmp_code != -1))
        dme::fail(EINVAL, at + "icmp_type and icmp_code need protocol ICMP (IPv4) or ICMPv6 (IPv6)");
    if (r.icmp_type < -1 || r.icmp_type > 255 || r.icmp_code < -1 || r.icmp_code > 255)
        dme::fail(EINVAL, at + "icmp_type and icmp_code are 0..255, or -1 for any");
    if (r.icmp_type == -1 && r.icmp_code != -1)
        dme::fail(EINVAL, at + "an icmp_code needs an icmp_type");
}
}  // namespace

void validate_secgroups(const VmPolicy& p)
{
    if (p.rules.size() > VM_MAX_SG_RULES)
        dme::fail(E2BIG, std::to_string(p.rules.size()) + " rules: a VM has at most " +
                             std::to_string(VM_MAX_SG_RULES));
    for (size_t i = 0; i < p.rules.size(); i++)
        check_rule(p.rules[i], i);
    if (p.conntrack.max_flows == 0)
        dme::fail(EINVAL, "conntrack.max_flows must be at least 1");
    for (size_t i = 0; i < p.conntrack.timeouts.size(); i++)
        if (p.conntrack.timeouts[i] == 0)
            dme::fail(EINVAL, "conntrack.timeouts[" + std::to_string(i) + "] must be at least 1 second");
}

const Mac& pair_mac(const VmPolicy& p, const AddressPair& pair)
{
    return pair.mac == Mac{} ? p.mac : pair.mac;
}

std::vector<Mac> allowed_macs(const VmPolicy& p)
{
    std::vector<Mac> out{p.mac};
    for (const auto& pair : p.allowed_pairs)
        if (std::find(out.begin(), out.end(), pair_mac(p, pair)) == out.end())
            out.push_back(pair_mac(p, pair));
    return out;
}

const char* reason_name(uint32_t reason)
{
    static const char* const names[VM_REASONS] = VM_REASON_NAMES;
    static_assert(sizeof(names) / sizeof(names[0]) == VM_REASONS);
    return reason < VM_REASONS ? names[reason] : "unknown";
}

}  // namespace vmhost
