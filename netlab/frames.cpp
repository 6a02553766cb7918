#include "frames.hpp"

#include <arpa/inet.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/udp.h>

#include <cstring>

namespace netlab {

uint32_t ipv4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
    return htonl(uint32_t(a) << 24 | uint32_t(b) << 16 | uint32_t(c) << 8 | d);
}

namespace {
void put_eth(Frame& f, Mac dst, Mac src, uint16_t proto)
{
    f.insert(f.end(), dst.b, dst.b + 6);
    f.insert(f.end(), src.b, src.b + 6);
    f.push_back(proto >> 8);
    f.push_back(proto & 0xff);
}

uint16_t csum(const void* data, size_t len)
{
    uint32_t sum = 0;
    auto p = static_cast<const uint8_t*>(data);
    for (size_t i = 0; i + 1 < len; i += 2)
        sum += uint32_t(p[i]) << 8 | p[i + 1];
    if (len & 1)
        sum += uint32_t(p[len - 1]) << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return htons(uint16_t(~sum));
}

// IP header bytes, then UDP header and payload, padded to the Ethernet minimum.
void append_udp(Frame& f, const void* ip, size_t ip_len, uint16_t sport, uint16_t dport, size_t payload)
{
    udphdr udp{};
    udp.source = htons(sport);
    udp.dest = htons(dport);
    udp.len = htons(uint16_t(sizeof(udphdr) + payload));
    auto at = f.size();
    f.resize(at + ip_len + sizeof(udp) + payload, 0x5a);
    std::memcpy(&f[at], ip, ip_len);
    std::memcpy(&f[at + ip_len], &udp, sizeof(udp));
    if (f.size() < 60)
        f.resize(60, 0);
}
}  // namespace

Frame udp4_frame(uint32_t src_ip, uint32_t dst_ip, uint16_t sport, uint16_t dport, size_t payload, Mac dst,
                 Mac src)
{
    Frame f;
    put_eth(f, dst, src, 0x0800);
    iphdr ip{};
    ip.version = 4;
    ip.ihl = 5;
    ip.ttl = 64;
    ip.protocol = IPPROTO_UDP;
    ip.tot_len = htons(uint16_t(sizeof(iphdr) + sizeof(udphdr) + payload));
    ip.saddr = src_ip;
    ip.daddr = dst_ip;
    ip.check = csum(&ip, sizeof(ip));
    append_udp(f, &ip, sizeof(ip), sport, dport, payload);
    return f;
}

Frame udp6_frame(const uint8_t src[16], const uint8_t dst[16], uint16_t sport, uint16_t dport, size_t payload,
                 Mac dst_mac, Mac src_mac)
{
    Frame f;
    put_eth(f, dst_mac, src_mac, 0x86dd);
    ip6_hdr ip{};
    ip.ip6_flow = htonl(6u << 28);
    ip.ip6_plen = htons(uint16_t(sizeof(udphdr) + payload));
    ip.ip6_nxt = IPPROTO_UDP;
    ip.ip6_hlim = 64;
    std::memcpy(&ip.ip6_src, src, 16);
    std::memcpy(&ip.ip6_dst, dst, 16);
    append_udp(f, &ip, sizeof(ip), sport, dport, payload);
    return f;
}

Frame raw_frame(size_t len)
{
    Frame f;
    put_eth(f, kBroadcast, kSrcMac, 0x88b5);
    f.resize(len < 60 ? 60 : len, 0xa5);
    return f;
}

}  // namespace netlab
