// A VM's identity and allow-lists, as the control plane writes them into the
// VM's policy maps (bpf/vm_policy_types.h). The rules: docs/port-security.md.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "vm_policy_types.h"

namespace vmhost {

struct Mac {
    std::array<uint8_t, 6> b{};
    static Mac parse(const std::string& s);  // "02:00:00:00:00:01"
    std::string str() const;
    bool is_unicast() const { return !(b[0] & 1) && b != std::array<uint8_t, 6>{}; }
    bool operator==(const Mac&) const = default;
};

struct IpAddr {
    int family = 4;  // 4 or 6
    std::array<uint8_t, 16> bytes{};
    static IpAddr parse(const std::string& s);
    std::string str() const;
    bool operator==(const IpAddr&) const = default;
};

// fe80::/64 with the EUI-64 interface identifier of `mac` (RFC 4291 App. A).
IpAddr eui64_link_local(const Mac& mac);

struct Prefix {
    IpAddr addr;
    uint8_t len = 0;
    static Prefix parse(const std::string& s);  // "10.0.0.0/24", "fd00::/64"
    bool contains(const IpAddr& a) const;
    bool operator==(const Prefix&) const = default;
};

// Neutron's allowed address pair: the VM may also send as `mac` from any
// address in `prefix` (VRRP/keepalived virtual MAC and VIP). The all-zero
// MAC, the default, means the VM's own.
struct AddressPair {
    Mac mac;
    Prefix prefix;
    bool operator==(const AddressPair&) const = default;
};

struct PortRule {
    uint8_t proto = 0;  // IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP, IPPROTO_ICMPV6
    uint16_t port = 0;  // 0: every port (the only choice for ICMP)
    bool operator==(const PortRule&) const = default;
};

// A security group rule, as in Neutron (direction, ethertype, protocol, port
// range or ICMP type/code, remote prefix or remote group), stateful unless
// it says otherwise (OVN's allow-related vs allow-stateless). The semantics:
// docs/security-groups.md.
struct SgRule {
    enum class Dir { to_vm, from_vm };  // Neutron's ingress and egress
    Dir dir = Dir::to_vm;
    int family = 4;                     // ethertype: 4 or 6
    uint8_t proto = 0;                  // 0: any; IPPROTO_TCP, _UDP, _ICMP, _ICMPV6, ...
    uint16_t port_min = 0, port_max = 65535;  // TCP/UDP destination port in the rule's direction
    int icmp_type = -1, icmp_code = -1;       // ICMP/ICMPv6; -1: any
    std::optional<Prefix> remote;             // the other end; none: anywhere
    std::string remote_group;                 // or: the addresses of the VMs in this group
    bool stateful = true;
    bool operator==(const SgRule&) const = default;

    // Everything one way for one family: Neutron's default egress rules.
    static SgRule allow_all(Dir dir, int family, bool stateful = true)
    {
        SgRule r;
        r.dir = dir;
        r.family = family;
        r.stateful = stateful;
        return r;
    }
};

// Neutron's default security group: all egress, stateful; no ingress.
inline std::vector<SgRule> default_rules()
{
    return {SgRule::allow_all(SgRule::Dir::from_vm, 4), SgRule::allow_all(SgRule::Dir::from_vm, 6)};
}

// Connection tracking per VM (vm_secgroup_types.h).
struct ConntrackSettings {
    uint32_t max_flows = VM_CT_DEFAULT_FLOWS;  // the LRU table's size, fixed at attach time
    // Seconds, by vm_ct_state, then ICMP echo, then fragments.
    std::array<uint32_t, VM_CT_TIMEOUTS> timeouts = VM_CT_DEFAULT_TIMEOUTS;
    bool operator==(const ConntrackSettings&) const = default;
};

struct VmPolicy {
    // Identity: what the VM may send as (the guard) and what is for it.
    Mac mac;
    Mac host_mac;                      // the tap's MAC: the VM's frames to it are for the host stack
    std::vector<IpAddr> addrs;         // the VM's own addresses
    std::vector<Prefix> prefixes;      // any address inside these is the VM's too (routed subnet, SLAAC /64)
    std::optional<IpAddr> link_local;  // default: eui64_link_local(mac)
    std::vector<AddressPair> allowed_pairs;
    bool may_route = false;       // RAs and redirects
    bool may_serve_dhcp = false;  // DHCPv4/v6 server messages
    // Host -> VM allow-list: a compact form of stateful to-VM rules, any
    // source in allow_src to any port in allow_ports.
    std::vector<Prefix> allow_src;  // who may send to the VM
    std::vector<PortRule> allow_ports;
    // Security groups: the groups the VM is in (other VMs' rules name them
    // as remote_group), its rules in both directions, its flow table.
    std::vector<std::string> groups;
    std::vector<SgRule> rules = default_rules();
    ConntrackSettings conntrack;
    bool operator==(const VmPolicy&) const = default;
};

// The ids the host gives group names, for the rules' remote_group.
using GroupIds = std::map<std::string, uint32_t>;

// Refuses what the guard could not enforce (a group or zero MAC, a
// link-local that is not fe80::/10, a multicast address or prefix) and
// rules that cannot mean anything (validate_secgroups), naming the field and
// what is expected.
void validate(const VmPolicy& p);
void validate_secgroups(const VmPolicy& p);

// The MAC a pair sends as: its own, or the VM's when it names none.
const Mac& pair_mac(const VmPolicy& p, const AddressPair& pair);

// The MACs the VM may send as: its own first, then its pairs' (no repeats).
std::vector<Mac> allowed_macs(const VmPolicy& p);

// "pass", "malformed", ..., "ext-hdr": the names docs and tools print.
const char* reason_name(uint32_t reason);

}  // namespace vmhost
