// The VM identities guard-fuzz (and the libFuzzer harness) run: the flags
// on and off, with and without pairs and prefixes, the default and a
// configured link-local. Index = the VM's place on the fuzzer's host.
#pragma once

#include <arpa/inet.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "policy.hpp"

namespace guardmodel {

namespace detail {

inline vmhost::IpAddr addr(const char* s)
{
    vmhost::IpAddr a;
    if (inet_pton(AF_INET, s, a.bytes.data()) == 1)
        a.family = 4;
    else if (inet_pton(AF_INET6, s, a.bytes.data()) == 1)
        a.family = 6;
    else
        throw std::invalid_argument(std::string("not an address: ") + s);
    return a;
}

inline vmhost::Prefix prefix(const char* s, uint8_t len) { return vmhost::Prefix{addr(s), len}; }

inline vmhost::Mac mac(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint8_t e, uint8_t f)
{
    return vmhost::Mac{{a, b, c, d, e, f}};
}

}  // namespace detail

inline std::vector<vmhost::VmPolicy> identities()
{
    using namespace detail;
    std::vector<vmhost::VmPolicy> out;
    {  // 0: plain: two addresses, nothing else, default link-local
        vmhost::VmPolicy p;
        p.mac = mac(0x02, 0, 0, 0, 0, 0x05);
        p.host_mac = mac(0x02, 0xaa, 0, 0, 0, 0x01);
        p.addrs = {addr("10.1.0.5"), addr("fd00::5")};
        out.push_back(p);
    }
    {  // 1: may route and serve DHCP; prefixes, pairs, configured link-local
        vmhost::VmPolicy p;
        p.mac = mac(0x02, 0, 0, 0, 0, 0x06);
        p.host_mac = mac(0x02, 0xaa, 0, 0, 0, 0x02);
        p.addrs = {addr("10.1.0.6"), addr("2001:db8:1::6")};
        p.prefixes = {prefix("10.20.0.0", 24), prefix("2001:db8:20::", 64)};
        p.link_local = addr("fe80::1234");
        p.allowed_pairs = {{mac(0x00, 0x00, 0x5e, 0x00, 0x01, 0x07), prefix("10.1.0.100", 32)},
                           {mac(0x02, 0, 0, 0, 0, 0x06), prefix("10.1.1.0", 28)},
                           {mac(0x00, 0x00, 0x5e, 0x00, 0x02, 0x07), prefix("fd00:100::", 64)}};
        p.may_route = true;
        p.may_serve_dhcp = true;
        out.push_back(p);
    }
    {  // 2: may route only; IPv6 pairs; default link-local
        vmhost::VmPolicy p;
        p.mac = mac(0x02, 0, 0, 0, 0, 0x07);
        p.host_mac = mac(0x02, 0xaa, 0, 0, 0, 0x03);
        p.addrs = {addr("10.1.0.7"), addr("fd00::7"), addr("fd00::77")};
        p.allowed_pairs = {{mac(0x02, 0x11, 0, 0, 0, 0x07), prefix("fd00:7::", 48)},
                           {mac(0x02, 0x11, 0, 0, 0, 0x07), prefix("10.7.0.0", 16)}};
        p.may_route = true;
        out.push_back(p);
    }
    {  // 3: may serve DHCP only; prefixes only, no exact addresses
        vmhost::VmPolicy p;
        p.mac = mac(0x02, 0, 0, 0, 0, 0x08);
        p.host_mac = mac(0x02, 0xaa, 0, 0, 0, 0x04);
        p.prefixes = {prefix("192.168.8.0", 25), prefix("fd00:8::", 64), prefix("10.8.0.8", 32)};
        p.may_serve_dhcp = true;
        out.push_back(p);
    }
    {  // 4: a configured link-local and a pair of the VM's own MAC only
        vmhost::VmPolicy p;
        p.mac = mac(0x02, 0, 0, 0, 0, 0x09);
        p.host_mac = mac(0x02, 0xaa, 0, 0, 0, 0x05);
        p.addrs = {addr("10.1.0.9")};
        p.link_local = addr("fe80::9:1");
        p.allowed_pairs = {{mac(0x02, 0, 0, 0, 0, 0x09), prefix("fd00:9::", 120)}};
        out.push_back(p);
    }
    {  // 5: at the bounds: 8 MACs (its own and 7 pairs'), 16 exact addresses
        vmhost::VmPolicy p;
        p.mac = mac(0x02, 0, 0, 0, 0, 0x0a);
        p.host_mac = mac(0x02, 0xaa, 0, 0, 0, 0x06);
        for (int i = 0; i < 8; i++) {
            const std::string v4 = "10.10.0." + std::to_string(10 + i), v6 = "fd00:a::" + std::to_string(10 + i);
            p.addrs.push_back(addr(v4.c_str()));
            p.addrs.push_back(addr(v6.c_str()));
        }
        for (int i = 1; i <= 7; i++) {
            const std::string v4 = "10.10." + std::to_string(i) + ".0", v6 = "fd00:a:" + std::to_string(i) + "::";
            const auto m = mac(0x02, 0x22, 0, 0, 0, uint8_t(i));
            p.allowed_pairs.push_back({m, prefix(v4.c_str(), 24)});
            p.allowed_pairs.push_back({m, prefix(v6.c_str(), 64)});
        }
        out.push_back(p);
    }
    // The model is of port security alone: the security groups behind it
    // let through everything it passes (stateless, so that no flow state
    // of an earlier frame changes a later one's verdict).
    for (auto& p : out)
        p.rules = {vmhost::SgRule::allow_all(vmhost::SgRule::Dir::from_vm, 4, false),
                   vmhost::SgRule::allow_all(vmhost::SgRule::Dir::from_vm, 6, false)};
    return out;
}

}  // namespace guardmodel
