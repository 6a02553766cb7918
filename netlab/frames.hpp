// Hand-built Ethernet frames for tests: exact bytes, so every header length
// and field is under the test's control (truncation, options, VLAN tags).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace netlab {

using Frame = std::vector<uint8_t>;

struct Mac {
    uint8_t b[6];
};

inline constexpr Mac kBroadcast{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};
inline constexpr Mac kSrcMac{{0x02, 0, 0, 0, 0, 0x01}};

// Ethernet + IPv4 + UDP, checksums filled in, padded to at least 60 bytes.
Frame udp4_frame(uint32_t src_ip, uint32_t dst_ip, uint16_t sport, uint16_t dport,
                 size_t payload = 18, Mac dst = kBroadcast, Mac src = kSrcMac);
// Ethernet + IPv6 + UDP.
Frame udp6_frame(const uint8_t src[16], const uint8_t dst[16], uint16_t sport, uint16_t dport,
                 size_t payload = 18, Mac dst_mac = kBroadcast, Mac src_mac = kSrcMac);
// Ethernet header with an IEEE local-experimental ethertype and a payload.
Frame raw_frame(size_t len = 64);

uint32_t ipv4(uint8_t a, uint8_t b, uint8_t c, uint8_t d);

}  // namespace netlab
