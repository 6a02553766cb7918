// A structure-aware, seeded generator of frames a VM might send: built layer
// by layer (Ethernet, VLAN tags, ARP, IPv4, IPv6 with extension header
// chains, ICMPv6/ND with options, UDP), from pools of MACs and addresses
// around one VM's identity (its own, its pairs', its neighbours', multicast,
// unspecified), then mutated (cut, truncated, flipped, length fields
// corrupted, padded). It leans towards frames that are almost legitimate, so
// that every rule of docs/port-security.md is met on both sides of its
// boundary. Same seed, same identity: same frames.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "guard_model.hpp"

namespace guardmodel {

using Frame = std::vector<uint8_t>;

class FrameGen {
public:
    // `neighbours`: MACs of other VMs on the same host (unicast destinations
    // that are not the uplink, and sources the VM must not use).
    FrameGen(const vmhost::VmPolicy& policy, std::vector<MacAddr> neighbours, uint64_t seed);

    // The next frame: at least 14 bytes (BPF_PROG_TEST_RUN refuses less),
    // at most 3500 (mostly at most 1514).
    Frame next();

private:
    // Randomness helpers.
    bool chance(double p);
    size_t below(size_t n);  // [0, n)
    int between(int lo, int hi);  // [lo, hi]
    uint8_t byte();
    template <class T>
    const T& pick(const std::vector<T>& v) { return v[below(v.size())]; }
    void random_bytes(Frame& f, size_t n);

    // Pools.
    MacAddr src_mac();
    MacAddr dst_mac();
    MacAddr any_mac();
    Ip4 ip4_for(const MacAddr& src, double owned);
    Ip6 ip6_for(const MacAddr& src, double owned);
    Ip4 fresh_inside4(const vmhost::Prefix& p);
    Ip6 fresh_inside6(const vmhost::Prefix& p);

    // Layers; each appends to f (the Ethernet header already in it).
    void arp(Frame& f, const MacAddr& src);
    void ipv4(Frame& f, const MacAddr& src, const MacAddr& dst);
    void ipv6(Frame& f, const MacAddr& src, const MacAddr& dst);
    void icmp6(Frame& f, const MacAddr& src, const Ip6& ip_src, Ip6& ip_dst, uint8_t type);
    void nd_options(Frame& f, const MacAddr& src, uint8_t icmp_type);
    void udp(Frame& f, uint16_t sport, uint16_t dport);
    void mutate(Frame& f);

    Identity id_;
    std::vector<MacAddr> neighbours_;
    std::mt19937_64 rng_;
    std::vector<MacAddr> own_macs_, foreign_macs_;
    std::vector<Ip4> pool4_;
    std::vector<Ip6> pool6_;
    std::vector<vmhost::Prefix> prefixes4_, prefixes6_;  // owned by some allowed MAC
};

}  // namespace guardmodel
