// A userspace reference model of the VM port-security guard (the XDP program
// on a VM's tap that judges every frame the VM sends), written from
// docs/port-security.md alone, independently of bpf/vm_policy.h: the
// differential fuzzer (guard-fuzz) holds the loaded guard to it.
//
// It parses a frame the way a careful userspace parser would (explicit
// lengths, spans, one struct per header) and returns the drop reason the spec
// names and the XDP action the guard returns: XDP_PASS for a passed frame
// unicast to the policy's host_mac (the host stack), XDP_REDIRECT for every
// other passed frame (flood, another VM, the uplink), XDP_DROP for a drop.
//
// Readings of the spec where it leaves a choice (each picks what is safest
// for the host; see the comments at the rule in guard_model.cpp):
//  R1 an IPv6 extension header must lie wholly inside the packet, even when
//     nothing after it is read; one that does not is `malformed` at the walk
//     (rule 4.1, checked where it is met in rule 4.3), also in a first
//     fragment, where rule 4.5 (`ext-hdr`) then only judges the first 8 bytes
//     of the upper-layer header;
//  R2 a ninth extension header is `ext-hdr` as soon as the eighth's
//     next-header names it, whether or not its bytes are in the packet;
//  R3 the walk goes on past atomic fragments and first fragments; a Fragment
//     header with a non-zero offset ends it wherever it is met;
//  R4 "a first fragment" is a packet any of whose Fragment headers has
//     offset 0 and M = 1;
//  R5 a pair with the all-zero MAC is a pair of the VM's own MAC ("the MAC
//     defaults to the VM's");
//  R6 with a configured link_local, the EUI-64 link-local of the VM's MAC is
//     not owned (the default is replaced, not added to);
//  R7 an ND option whose type byte is the last byte of the packet runs past
//     it (its length byte is outside): `malformed`;
//  R8 "with an SLLA option" (rules 4.7 DAD NS and RS from ::) means any
//     option of type 1, whatever its length or content.
#pragma once

#include <linux/bpf.h>  // enum xdp_action

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "policy.hpp"
#include "vm_policy_types.h"

namespace guardmodel {

using Bytes = std::span<const uint8_t>;
using MacAddr = std::array<uint8_t, 6>;
using Ip4 = std::array<uint8_t, 4>;
using Ip6 = std::array<uint8_t, 16>;

struct Verdict {
    vm_reason reason = VM_PASS;
    xdp_action action = XDP_DROP;
    bool operator==(const Verdict&) const = default;
};

// The spec's names of the reasons ("pass", "malformed", ... "ext-hdr").
const char* reason_name(int reason);

// fe80::/64 with the modified EUI-64 interface identifier of `mac`
// (RFC 4291 App. A): the model's own, not vmhost's.
Ip6 eui64_link_local(const MacAddr& mac);

// Whether `a` (of family `family`) lies in `p`: the model's own.
bool prefix_contains(const vmhost::Prefix& p, int family, Bytes a);

// What the guard knows of a VM, derived from its policy as the spec's
// "A VM's identity" says: allowed MACs and the owned addresses of each.
class Identity {
public:
    explicit Identity(const vmhost::VmPolicy& policy);

    const vmhost::VmPolicy& policy() const noexcept { return policy_; }
    bool mac_allowed(const MacAddr& m) const;
    bool owns4(const MacAddr& m, const Ip4& a) const;
    bool owns6(const MacAddr& m, const Ip6& a) const;
    const std::vector<MacAddr>& allowed_macs() const noexcept { return macs_; }

private:
    struct Owner {
        MacAddr mac{};
        std::vector<vmhost::IpAddr> exact;
        std::vector<vmhost::Prefix> prefixes;
    };
    const Owner* owner(const MacAddr& m) const;

    vmhost::VmPolicy policy_;
    std::vector<MacAddr> macs_;
    std::vector<Owner> owners_;
};

// The guard's verdict on one frame the VM sent; `rule`, when given, is set
// to the spec rule that decided ("4.7 DAD pass"), a static string.
Verdict judge(const Identity& id, Bytes frame, const char** rule = nullptr);

}  // namespace guardmodel
