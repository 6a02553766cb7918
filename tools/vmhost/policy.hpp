// A VM's identity and allow-lists, as the control plane writes them into the
// VM's policy maps (bpf/vm_policy_types.h).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace vmhost {

struct Mac {
    std::array<uint8_t, 6> b{};
    static Mac parse(const std::string& s);  // "02:00:00:00:00:01"
    std::string str() const;
    bool operator==(const Mac&) const = default;
};

struct IpAddr {
    int family = 4;  // 4 or 6
    std::array<uint8_t, 16> bytes{};
    static IpAddr parse(const std::string& s);
    std::string str() const;
};

struct Prefix {
    IpAddr addr;
    uint8_t len = 0;
    static Prefix parse(const std::string& s);  // "10.0.0.0/24", "fd00::/64"
};

struct PortRule {
    uint8_t proto = 0;  // IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP, IPPROTO_ICMPV6
    uint16_t port = 0;  // 0: every port (the only choice for ICMP)
};

struct VmPolicy {
    Mac mac;
    Mac host_mac;  // the tap's MAC: the VM's frames to it are for the host stack
    std::vector<IpAddr> addrs;      // the VM's own addresses
    std::vector<Prefix> allow_src;  // who may send to the VM
    std::vector<PortRule> allow_ports;
};

}  // namespace vmhost
