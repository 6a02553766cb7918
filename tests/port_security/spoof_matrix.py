#!/usr/bin/python3
"""The port-security spoof matrix: frames a VM (VM1, the attacker) may or may
not send, crafted with scapy, each with the guard's expected reason and where
it must arrive. The rules: docs/port-security.md; the test that sends every
row from VM1's namespace: tests/kernel/test_port_security.cpp.

    spoof_matrix.py -o spoof_matrix.json

The JSON holds the topology (the VMs' identities and allow-lists, which the
test writes into their policies, so both sides use the same facts) and the
rows: {name, hex, reason, arrives: {uplink, vm2, vm3, host}, mtu, note}.

Where a frame arrives:
  - dropped by the guard: nowhere;
  - broadcast/multicast: the uplink, and VM2/VM3 when their own slot firewall
    passes their copy (slot_passes() below: the part of vm_policy_to_vm the
    spec fixes, "Host -> VM");
  - unicast to VM2's/VM3's MAC: that VM, if its slot firewall passes it;
  - unicast to the tap's host MAC: the host stack;
  - any other unicast: the uplink.
"""
import argparse
import ipaddress
import json
import logging
import socket
import sys

logging.getLogger("scapy").setLevel(logging.ERROR)

from scapy.layers.inet import ICMP, IP, TCP, UDP, IPOption_Router_Alert  # noqa: E402
from scapy.layers.inet6 import (  # noqa: E402
    ICMPv6EchoRequest, ICMPv6MLQuery2, ICMPv6MLReport2, ICMPv6MLDMultAddrRec,
    ICMPv6ND_NA, ICMPv6ND_NS, ICMPv6ND_RA, ICMPv6ND_RS, ICMPv6ND_Redirect,
    ICMPv6NDOptDstLLAddr, ICMPv6NDOptPrefixInfo, ICMPv6NDOptSrcLLAddr, IPv6,
    IPv6ExtHdrDestOpt, IPv6ExtHdrFragment, IPv6ExtHdrHopByHop, IPv6ExtHdrRouting,
    RouterAlert, in6_getnsma)
from scapy.layers.l2 import ARP, LLC, STP, Dot1AD, Dot1Q, Dot3, Ether  # noqa: E402
from scapy.layers.dhcp import BOOTP, DHCP  # noqa: E402
from scapy.layers.dhcp6 import DHCP6_Advertise, DHCP6_RelayReply, DHCP6_Solicit  # noqa: E402
from scapy.packet import Raw  # noqa: E402

# ---------------------------------------------------------------- topology

BCAST = "ff:ff:ff:ff:ff:ff"
ROUTER = "02:00:00:00:00:fe"  # not a VM: unicast to it goes to the uplink
STRANGER = "02:de:ad:be:ef:01"
VRRP4_MAC = "00:00:5e:00:01:0a"  # VRRP virtual MAC, VRID 10 (IPv4)
VRRP6_MAC = "00:00:5e:00:02:0a"  # VRRPv3 virtual MAC, VRID 10 (IPv6)
VRRP_VM3_MAC = "00:00:5e:00:01:14"  # VM3's own VRRP group, VRID 20


def eui64_ll(mac):
    b = bytes(int(x, 16) for x in mac.split(":"))
    iid = bytes([b[0] ^ 2, b[1], b[2], 0xFF, 0xFE, b[3], b[4], b[5]])
    return str(ipaddress.IPv6Address(b"\xfe\x80" + b"\0" * 6 + iid))


VMS = {
    # The attacker. A routed IPv4 /24 and a SLAAC /64, a VRRP VIP on each
    # family with its virtual MAC, and one extra range on its own MAC.
    "vm1": {
        "port": 1, "mac": "02:00:00:00:00:01", "host_mac": "02:aa:00:00:00:01",
        "addrs": ["10.0.0.1", "fd00::1"],
        "prefixes": ["10.1.1.0/24", "fd00:0:0:1::/64"],
        "allowed_pairs": [
            {"mac": VRRP4_MAC, "prefix": "10.0.0.10/32"},
            {"mac": VRRP6_MAC, "prefix": "fd00::10/128"},
            {"mac": "02:00:00:00:00:01", "prefix": "10.0.0.32/29"},
        ],
        "may_route": False, "may_serve_dhcp": False,
        "allow_src": ["10.0.0.0/24", "fd00::/64"],
        "allow_ports": [["udp", 8080], ["icmp", 0], ["icmpv6", 0]],
    },
    # A DHCP(v6) server VM that trusts its subnet: its copies of VM1's
    # broadcasts are judged by these allow-lists.
    "vm2": {
        "port": 2, "mac": "02:00:00:00:00:02", "host_mac": "02:aa:00:00:00:02",
        # fd00::22 and fd00::23: addresses it brings up later, with DAD (the
        # DAD denial-of-service test).
        "addrs": ["10.0.0.2", "fd00::2", "fd00::22", "fd00::23"], "prefixes": [], "allowed_pairs": [],
        "may_route": False, "may_serve_dhcp": True,
        "allow_src": ["10.0.0.0/24", "0.0.0.0/32", "fd00::/64", "fe80::/10"],
        "allow_ports": [["udp", 67], ["udp", 547], ["udp", 8080], ["icmp", 0], ["icmpv6", 0]],
    },
    # A VM that trusts nobody on this link: only what the slot firewall always
    # lets through (ARP for it, ND, MLD queries) reaches it from VM1. It has
    # a VRRP VIP of its own: frames to that MAC are for the VIP only.
    "vm3": {
        "port": 3, "mac": "02:00:00:00:00:03", "host_mac": "02:aa:00:00:00:03",
        "addrs": ["10.0.0.3", "fd00::3"], "prefixes": [],
        "allowed_pairs": [{"mac": VRRP_VM3_MAC, "prefix": "10.0.0.20/32"}],
        "may_route": False, "may_serve_dhcp": False,
        "allow_src": ["198.51.100.0/24", "2001:db8:1::/48"],
        "allow_ports": [["udp", 8080]],
    },
}
for v in VMS.values():
    v["link_local"] = eui64_ll(v["mac"])

V1, V2, V3 = VMS["vm1"], VMS["vm2"], VMS["vm3"]
M1, M2, M3, H1 = V1["mac"], V2["mac"], V3["mac"], V1["host_mac"]
LL1, LL2 = V1["link_local"], V2["link_local"]
LL_VRRP6 = eui64_ll(VRRP6_MAC)
EXT4, EXT6 = "198.51.100.7", "2001:db8:1::7"

# ------------------------------------------------- host -> VM (slot) model

PROTO = {"udp": 17, "tcp": 6, "icmp": 1, "icmpv6": 58}


def in_prefixes(addr, prefixes):
    a = ipaddress.ip_address(addr)
    return any(a in ipaddress.ip_network(p, strict=False) for p in prefixes
               if ipaddress.ip_network(p, strict=False).version == a.version)


def owned_by(vm, mac, addr):
    """Is `addr` an owned address of `vm`'s MAC `mac` (spec, "A VM's identity")?"""
    if mac == vm["mac"]:
        own = (addr in vm["addrs"] or addr == vm["link_local"] or in_prefixes(addr, vm["prefixes"])
               or in_prefixes(addr, [p["prefix"] for p in vm["allowed_pairs"] if p["mac"] == mac]))
        return own
    pairs = [p["prefix"] for p in vm["allowed_pairs"] if p["mac"] == mac]
    return bool(pairs) and (in_prefixes(addr, pairs) or addr == eui64_ll(mac))


def allowed_macs(vm):
    return [vm["mac"]] + [p["mac"] for p in vm["allowed_pairs"]]


def owned(vm, addr, mac=None):
    """Owned by `mac`, or (a group frame: mac None) by any of the VM's MACs."""
    return any(owned_by(vm, m, addr) for m in ([mac] if mac else allowed_macs(vm)))


def port_ok(vm, proto, port):
    return any(PROTO[p] == proto and (q == 0 or q == port) for p, q in vm["allow_ports"])


class Ambiguous(Exception):
    pass


def slot_passes(vm, frame):
    """Would `vm`'s slot firewall pass this copy of `frame` (spec, "Host ->
    VM")? Only for frames whose fate the spec fixes; raise Ambiguous
    otherwise (the generator then refuses the row: send it elsewhere)."""
    e = Ether(frame)
    group = int(e.dst.split(":")[0], 16) & 1
    if not group and e.dst not in allowed_macs(vm):
        return False  # dst-mac
    owner = None if group else e.dst
    if ARP in e:
        return owned(vm, e[ARP].pdst, owner)
    if IP in e:
        ip = e[IP]
        if ip.frag or ip.flags.MF:
            raise Ambiguous("IPv4 fragment into a VM")
        if group:
            # Of IPv4 to a group MAC only DHCP to 255.255.255.255 goes on to
            # the operator's rules: a server's reply, and for a VM that may
            # serve DHCP a client's discover or request; the rest is dst-mac.
            ports = (ip[UDP].sport, ip[UDP].dport) if UDP in ip else None
            if not (ip.dst == "255.255.255.255" and (ports == (67, 68) or (ports == (68, 67) and vm["may_serve_dhcp"]))):
                return False
        elif not owned(vm, ip.dst, owner):
            return False
        if not in_prefixes(ip.src, vm["allow_src"]):
            return False
        port = ip[UDP].dport if UDP in ip else ip[TCP].dport if TCP in ip else 0
        return port_ok(vm, ip.proto, port)
    if IPv6 in e:
        ip = e[IPv6]
        l4 = ip.payload
        ext = False
        while l4.__class__ in (IPv6ExtHdrHopByHop, IPv6ExtHdrDestOpt, IPv6ExtHdrRouting, IPv6ExtHdrFragment):
            ext = True
            l4 = l4.payload
        direct_icmp = ip.nh == 58
        mcast = ipaddress.ip_address(ip.dst).is_multicast
        icmp_type = l4.type if direct_icmp and hasattr(l4, "type") else None
        if direct_icmp and icmp_type is None:
            icmp_type = bytes(l4)[0]  # a hand-cut ICMPv6 message
        src_ok = in_prefixes(ip.src, vm["allow_src"])
        # IPv6 to a group MAC must be ICMPv6 directly after the IPv6 header,
        # or DHCPv6 to ff02::1:2 for a VM that may serve it; and a
        # destination that is not multicast must be owned, whatever MAC.
        dhcp6_server = (vm["may_serve_dhcp"] and ip.nh == 17 and ip.dst == "ff02::1:2" and l4.dport == 547)
        if group and not direct_icmp and not dhcp6_server:
            return False
        if not mcast and not owned(vm, ip.dst, owner):
            return False
        # The link's own traffic: ND (directly after the IPv6 header) with
        # hop limit 255, to an owned or a multicast address.
        if icmp_type in (133, 134, 135, 136) and ip.hlim == 255 and (mcast or owned(vm, ip.dst, owner)):
            return True
        if ext:
            # How the slot walks extension headers in unicast frames is not
            # in the spec; only a source it refuses anyway is certain.
            if src_ok:
                raise Ambiguous("extension headers into a VM")
            return False
        if not group and not owned(vm, ip.dst, owner):
            return False
        if not src_ok:
            return False
        proto = 58 if direct_icmp else ip.nh
        port = l4.dport if isinstance(l4, (UDP, TCP)) else 0
        return port_ok(vm, proto, port)
    return False


# ------------------------------------------------------------------ rows

ROWS = []


def row(name, frame, reason, mtu=None, note=None):
    frame = bytes(frame)
    dst = ":".join(f"{b:02x}" for b in frame[:6]) if len(frame) >= 6 else ""
    arrives = {"uplink": 0, "vm2": 0, "vm3": 0, "host": 0}
    if reason == "pass":
        group = int(dst.split(":")[0], 16) & 1
        if group:
            arrives["uplink"] = 1
            arrives["vm2"] = int(slot_passes(V2, frame))
            arrives["vm3"] = int(slot_passes(V3, frame))
        elif dst in allowed_macs(V2):
            arrives["vm2"] = int(slot_passes(V2, frame))
        elif dst in allowed_macs(V3):
            arrives["vm3"] = int(slot_passes(V3, frame))
        elif dst == H1:
            arrives["host"] = 1
        elif dst in allowed_macs(V1):
            raise ValueError(f"{name}: unicast to VM1 itself goes back to VM1: not observed")
        else:
            arrives["uplink"] = 1
    if any(r["name"] == name for r in ROWS):
        raise ValueError(f"duplicate row {name}")
    r = {"name": name, "hex": frame.hex(), "reason": reason, "arrives": arrives}
    if mtu:
        r["mtu"] = mtu
    if note:
        r["note"] = note
    ROWS.append(r)


def pad(pkt, to=60):
    b = bytes(pkt)
    return b + b"\0" * max(0, to - len(b))


def eth(src=M1, dst=ROUTER, type=None):
    return Ether(src=src, dst=dst) if type is None else Ether(src=src, dst=dst, type=type)


def arp(op=1, src=M1, dst=BCAST, sha=None, spa="10.0.0.1", tha="00:00:00:00:00:00", tpa="10.0.0.2", **kw):
    return Ether(src=src, dst=dst) / ARP(op=op, hwsrc=sha or src, psrc=spa, hwdst=tha, pdst=tpa, **kw)


def udp4(src="10.0.0.1", dst=EXT4, sport=5000, dport=53, smac=M1, dmac=ROUTER, payload=b"x" * 18, **ipkw):
    return Ether(src=smac, dst=dmac) / IP(src=src, dst=dst, **ipkw) / UDP(sport=sport, dport=dport) / Raw(payload)


def udp6(src="fd00::1", dst=EXT6, sport=5000, dport=53, smac=M1, dmac=ROUTER, payload=b"x" * 18, ext=()):
    p = Ether(src=smac, dst=dmac) / IPv6(src=src, dst=dst)
    for h in ext:
        p = p / h
    return p / UDP(sport=sport, dport=dport) / Raw(payload)


def mcast_mac6(addr):
    b = ipaddress.IPv6Address(addr).packed
    return "33:33:" + ":".join(f"{x:02x}" for x in b[12:])


def snma(addr):
    return socket.inet_ntop(socket.AF_INET6, in6_getnsma(socket.inet_pton(socket.AF_INET6, addr)))


def nd6(msg, src="fd00::1", dst=None, smac=M1, dmac=None, hlim=255, ext=()):
    dst = dst or "ff02::1"
    dmac = dmac or (mcast_mac6(dst) if ipaddress.ip_address(dst).is_multicast else ROUTER)
    ip = IPv6(src=src, dst=dst, hlim=hlim)
    if isinstance(msg, Raw) and not ext:
        ip.nh = 58  # a hand-cut ICMPv6 message
    p = Ether(src=smac, dst=dmac) / ip
    for h in ext:
        p = p / h
    return p / msg


def opt(type_, length, data):
    """A raw ND option: type, length in 8-byte units, then exactly
    length*8-2 bytes of data (padded or cut)."""
    body = bytes(data)[: length * 8 - 2] if length else bytes(data)
    body = body + b"\0" * max(0, length * 8 - 2 - len(body))
    return bytes([type_, length]) + body


def macb(m):
    return bytes(int(x, 16) for x in m.split(":"))


SLLA1 = ICMPv6NDOptSrcLLAddr(lladdr=M1)
TLLA1 = ICMPv6NDOptDstLLAddr(lladdr=M1)


def set_bytes(frame, offset, data):
    b = bytearray(bytes(frame))
    b[offset:offset + len(data)] = data
    return bytes(b)


def build():
    # ---------------------------------------------------------- Ethernet
    row("eth-header-only-ipv4", eth(type=0x0800), "malformed")
    row("eth-header-only-arp", eth(dst=BCAST, type=0x0806), "malformed")
    row("eth-src-vm2-mac", udp4(smac=M2), "mac-spoof")
    row("eth-src-stranger", udp4(smac=STRANGER), "mac-spoof")
    row("eth-src-broadcast", udp4(smac=BCAST), "mac-spoof")
    row("eth-src-zero", udp4(smac="00:00:00:00:00:00"), "mac-spoof")
    row("eth-src-vrrp-mac-other-vrid", udp4(smac="00:00:5e:00:01:0b", src="10.0.0.11"), "mac-spoof")
    row("eth-src-tap-host-mac", udp4(smac=H1), "mac-spoof")
    row("eth-src-vm3-pair-mac", udp4(smac=VRRP_VM3_MAC, src="10.0.0.20"), "mac-spoof")
    row("vlan-8021q", Ether(src=M1, dst=ROUTER) / Dot1Q(vlan=10) / IP(src="10.0.0.1", dst=EXT4) / UDP() / Raw(b"x" * 18), "vlan")
    row("vlan-8021q-prio0", Ether(src=M1, dst=BCAST) / Dot1Q(vlan=0) / ARP(hwsrc=M1, psrc="10.0.0.1", pdst="10.0.0.2"), "vlan")
    row("vlan-qinq-88a8", Ether(src=M1, dst=ROUTER) / Dot1AD(vlan=100) / Dot1Q(vlan=10) / IP(src="10.0.0.1", dst=EXT4) / UDP(), "vlan")
    row("vlan-qinq-9100", Ether(src=M1, dst=ROUTER, type=0x9100) / Dot1Q(vlan=10) / IP(src="10.0.0.1", dst=EXT4) / UDP(), "vlan")
    row("vlan-with-spoofed-mac", Ether(src=M2, dst=ROUTER) / Dot1Q(vlan=10) / IP(src="10.0.0.2", dst=EXT4) / UDP(), "mac-spoof")
    row("llc-stp-bpdu", Dot3(src=M1, dst="01:80:c2:00:00:00") / LLC() / STP(), "proto")
    row("ethertype-88b5-local-exp", pad(eth(type=0x88B5) / Raw(b"\0" * 46)), "proto")
    row("ethertype-lldp-88cc", pad(eth(dst="01:80:c2:00:00:0e", type=0x88CC) / Raw(b"\x02\x07\x04" + macb(M1))), "proto")
    row("ethertype-rarp-8035", pad(eth(dst=BCAST, type=0x8035) / Raw(bytes(ARP(op=3, hwsrc=M1)))), "proto")
    row("ethertype-ipx-raw-len", pad(Dot3(src=M1, dst=BCAST) / Raw(b"\xff\xff" + b"\0" * 28)), "proto")

    # --------------------------------------------------------------- ARP
    row("arp-request-for-vm2", arp(tpa="10.0.0.2"), "pass")
    row("arp-request-for-vm3", arp(tpa="10.0.0.3"), "pass")
    row("arp-request-padded-60", pad(arp(tpa="10.0.0.3")), "pass")
    row("arp-request-for-vm3-vip", arp(tpa="10.0.0.20"), "pass")
    row("arp-request-to-vm3-pair-mac-for-vip", arp(dst=VRRP_VM3_MAC, tpa="10.0.0.20"), "pass")
    row("arp-request-to-vm3-pair-mac-for-vm3-ip", arp(dst=VRRP_VM3_MAC, tpa="10.0.0.3"), "pass",
        note="Host -> VM: a unicast frame's address must be owned by its destination MAC")
    row("arp-request-to-vm3-mac-for-vip", arp(dst=M3, tpa="10.0.0.20"), "pass")
    row("arp-request-unicast-to-vm2", arp(dst=M2, tpa="10.0.0.2"), "pass")
    row("arp-reply-unicast-to-vm2", arp(op=2, dst=M2, tha=M2, tpa="10.0.0.2"), "pass")
    row("arp-reply-to-router", arp(op=2, dst=ROUTER, tha=ROUTER, tpa="10.0.0.254"), "pass")
    row("arp-reply-to-host-mac", arp(op=2, dst=H1, tha=H1, tpa="10.0.0.254"), "pass")
    row("arp-gratuitous-request-own", arp(spa="10.0.0.1", tpa="10.0.0.1"), "pass")
    row("arp-gratuitous-reply-own", arp(op=2, spa="10.0.0.1", tha=BCAST, tpa="10.0.0.1"), "pass")
    row("arp-gratuitous-routed-prefix", arp(spa="10.1.1.7", tpa="10.1.1.7"), "pass")
    row("arp-gratuitous-pair-on-own-mac", arp(spa="10.0.0.33", tpa="10.0.0.33"), "pass")
    row("arp-gratuitous-vip-from-vrrp-mac", arp(src=VRRP4_MAC, spa="10.0.0.10", tpa="10.0.0.10"), "pass")
    row("arp-request-vip-from-vrrp-mac-for-vm2", arp(src=VRRP4_MAC, spa="10.0.0.10", tpa="10.0.0.2"), "pass")
    row("arp-vip-from-own-mac", arp(spa="10.0.0.10", tpa="10.0.0.10"), "arp-spoof")
    row("arp-own-ip-from-vrrp-mac", arp(src=VRRP4_MAC, spa="10.0.0.1", tpa="10.0.0.1"), "arp-spoof")
    row("arp-probe-own", arp(spa="0.0.0.0", tpa="10.0.0.1"), "pass")
    row("arp-probe-routed-prefix", arp(spa="0.0.0.0", tpa="10.1.1.200"), "pass")
    row("arp-probe-vip-from-vrrp-mac", arp(src=VRRP4_MAC, spa="0.0.0.0", tpa="10.0.0.10"), "pass")
    row("arp-probe-for-vm2-addr", arp(spa="0.0.0.0", tpa="10.0.0.2"), "arp-spoof")
    row("arp-probe-as-reply", arp(op=2, spa="0.0.0.0", tpa="10.0.0.1"), "arp-spoof")
    row("arp-poison-gratuitous-vm2-ip", arp(spa="10.0.0.2", tpa="10.0.0.2"), "arp-spoof")
    row("arp-poison-reply-vm2-ip-to-vm3", arp(op=2, dst=M3, spa="10.0.0.2", tha=M3, tpa="10.0.0.3"), "arp-spoof")
    row("arp-poison-reply-gateway-ip", arp(op=2, dst=BCAST, spa="10.0.0.254", tha=BCAST, tpa="10.0.0.254"), "arp-spoof")
    row("arp-spa-outside-prefix", arp(spa="10.1.2.1", tpa="10.0.0.2"), "arp-spoof")
    row("arp-spa-broadcast", arp(spa="255.255.255.255", tpa="10.0.0.2"), "arp-spoof")
    row("arp-sha-not-src", arp(sha=STRANGER), "arp-spoof")
    row("arp-sha-vm2-mac", arp(sha=M2, spa="10.0.0.1"), "arp-spoof")
    row("arp-sha-vrrp-mac-from-own-mac", arp(sha=VRRP4_MAC, spa="10.0.0.10"), "arp-spoof")
    row("arp-eth-src-vm2-sha-vm2", arp(src=M2, spa="10.0.0.2", tpa="10.0.0.3"), "mac-spoof")
    row("arp-htype-6", arp(hwtype=6), "malformed")
    row("arp-ptype-ipv6", set_bytes(arp(), 16, b"\x86\xdd"), "malformed")
    row("arp-hlen-8", set_bytes(pad(arp()), 18, b"\x08"), "malformed")
    row("arp-plen-16", set_bytes(pad(arp()), 19, b"\x10"), "malformed")
    row("arp-op-0", arp(op=0), "malformed")
    row("arp-op-3-rarp", arp(op=3), "malformed")
    row("arp-truncated-27", bytes(arp())[:14 + 27], "malformed")
    row("arp-truncated-8", bytes(arp())[:14 + 8], "malformed")

    # -------------------------------------------------------------- IPv4
    row("udp4-own-to-router", udp4(), "pass")
    row("udp4-own-to-host-mac", udp4(dst="10.0.0.254", dmac=H1), "pass")
    row("udp4-own-to-vm2-allowed", udp4(dst="10.0.0.2", dport=8080, dmac=M2), "pass")
    row("udp4-own-to-vm2-denied-port", udp4(dst="10.0.0.2", dport=9999, dmac=M2), "pass")
    row("udp4-own-to-vm3-untrusted-src", udp4(dst="10.0.0.3", dport=8080, dmac=M3), "pass")
    row("udp4-own-to-vm2-mac-vm3-ip", udp4(dst="10.0.0.3", dport=8080, dmac=M2), "pass")
    row("icmp4-echo-to-vm2", Ether(src=M1, dst=M2) / IP(src="10.0.0.1", dst="10.0.0.2") / ICMP() / Raw(b"p" * 32), "pass")
    row("tcp4-syn-own", Ether(src=M1, dst=ROUTER) / IP(src="10.0.0.1", dst=EXT4) / TCP(dport=443, flags="S"), "pass")
    row("ipv4-proto-253", Ether(src=M1, dst=ROUTER) / IP(src="10.0.0.1", dst=EXT4, proto=253) / Raw(b"z" * 26), "pass")
    row("udp4-routed-prefix-src", udp4(src="10.1.1.9"), "pass")
    row("udp4-pair-range-on-own-mac", udp4(src="10.0.0.38"), "pass")
    row("udp4-vip-from-vrrp-mac", udp4(src="10.0.0.10", smac=VRRP4_MAC), "pass")
    row("vrrp2-advert-from-vrrp-mac", Ether(src=VRRP4_MAC, dst="01:00:5e:00:00:12") / IP(src="10.0.0.10", dst="224.0.0.18", ttl=255, proto=112) / Raw(b"\x21\x0a\x64\x01\0\x01\0\0" + bytes([10, 0, 0, 10])), "pass")
    row("igmp3-report-with-router-alert", Ether(src=M1, dst="01:00:5e:00:00:16") / IP(src="10.0.0.1", dst="224.0.0.22", ttl=1, proto=2, options=[IPOption_Router_Alert()]) / Raw(b"\x22\0\xf9\xfd\0\0\0\0"), "pass")
    row("udp4-vip-from-own-mac", udp4(src="10.0.0.10"), "ip-spoof")
    row("udp4-own-ip-from-vrrp-mac", udp4(src="10.0.0.1", smac=VRRP4_MAC), "ip-spoof")
    row("udp4-spoof-vm2-ip", udp4(src="10.0.0.2"), "ip-spoof")
    row("udp4-spoof-vm2-ip-to-vm3", udp4(src="10.0.0.2", dst="10.0.0.3", dmac=M3), "ip-spoof")
    row("udp4-spoof-outside-prefix", udp4(src="10.1.2.9"), "ip-spoof")
    row("udp4-spoof-external", udp4(src="203.0.113.5"), "ip-spoof")
    row("udp4-src-broadcast", udp4(src="255.255.255.255"), "ip-spoof")
    row("ipv4-options-rr", Ether(src=M1, dst=ROUTER) / IP(src="10.0.0.1", dst=EXT4, options=b"\x07\x07\x04\0\0\0\0\x00") / UDP() / Raw(b"x" * 18), "pass")
    row("ipv4-options-spoofed-src", Ether(src=M1, dst=ROUTER) / IP(src="10.0.0.2", dst=EXT4, options=b"\x01\x01\x01\x00") / UDP(), "ip-spoof")
    good = bytes(udp4())
    row("ipv4-ihl15-in-20-bytes", set_bytes(good, 14, b"\x4f"), "malformed")
    row("ipv4-ihl4", set_bytes(good, 14, b"\x44"), "malformed")
    row("ipv4-version6-in-0800", set_bytes(good, 14, b"\x65"), "malformed")
    row("ipv4-totlen-too-big", set_bytes(good, 16, (1000).to_bytes(2, "big")), "malformed")
    row("ipv4-totlen-below-ihl", set_bytes(good, 16, (12).to_bytes(2, "big")), "malformed")
    row("ipv4-truncated-header", good[:14 + 12], "malformed")
    row("ipv4-padding-after-totlen", pad(udp4(payload=b"")), "pass")
    row("ipv4-udp-header-outside-totlen", Ether(src=M1, dst=ROUTER) / IP(src="10.0.0.1", dst=EXT4, proto=17) / Raw(b"\x13\x88\0\x35"), "malformed")
    row("ipv4-udp-header-outside-totlen-padded", pad(Ether(src=M1, dst=ROUTER) / IP(src="10.0.0.1", dst=EXT4, proto=17) / Raw(b"\x13\x88\0\x35")), "malformed")
    row("ipv4-first-fragment", udp4(flags="MF", frag=0, id=7), "pass")
    row("ipv4-nonfirst-fragment", Ether(src=M1, dst=ROUTER) / IP(src="10.0.0.1", dst=EXT4, proto=17, frag=185, id=7) / Raw(b"y" * 24), "pass")
    row("ipv4-last-fragment-sport67-bytes", Ether(src=M1, dst=ROUTER) / IP(src="10.0.0.1", dst=EXT4, proto=17, frag=3, id=8) / Raw(b"\0\x43\0\x44" + b"y" * 20), "pass")
    row("ipv4-nonfirst-fragment-spoofed", Ether(src=M1, dst=ROUTER) / IP(src="10.0.0.2", dst=EXT4, proto=17, frag=185, id=7) / Raw(b"y" * 24), "ip-spoof")
    row("ipv4-nonfirst-fragment-from-zero", Ether(src=M1, dst=BCAST) / IP(src="0.0.0.0", dst="255.255.255.255", proto=17, frag=185) / Raw(b"y" * 24), "unspec-src")
    row("ipv4-first-fragment-sport67", udp4(sport=67, dport=68, flags="MF", id=9), "dhcp-guard")
    row("ipv4-first-fragment-udp-cut", Ether(src=M1, dst=ROUTER) / IP(src="10.0.0.1", dst=EXT4, proto=17, flags="MF", id=10) / Raw(b"\0\x43\0\x44"), "malformed")

    # ------------------------------------------------------------ DHCPv4
    def dhcp4(src="0.0.0.0", dst="255.255.255.255", sport=68, dport=67, dmac=BCAST, mtype="discover", **ipkw):
        return (Ether(src=M1, dst=dmac) / IP(src=src, dst=dst, **ipkw) / UDP(sport=sport, dport=dport)
                / BOOTP(chaddr=macb(M1), xid=0x1234) / DHCP(options=[("message-type", mtype), "end"]))

    spec_group = ("Host -> VM: client DHCP(v6) to a group MAC reaches the allow-lists of a VM that may serve DHCP")
    row("dhcp4-discover", dhcp4(), "pass", note=spec_group)
    row("dhcp4-discover-dont-fragment", dhcp4(flags="DF"), "pass", note=spec_group)
    row("dhcp4-discover-sport-67", dhcp4(sport=67), "unspec-src")
    row("dhcp4-discover-dport-68", dhcp4(dport=68), "unspec-src")
    row("dhcp4-discover-unicast-dst", dhcp4(dst="10.0.0.2", dmac=M2), "unspec-src")
    row("dhcp4-discover-subnet-broadcast", dhcp4(dst="10.0.0.255"), "unspec-src")
    row("dhcp4-discover-first-fragment", dhcp4(flags="MF"), "unspec-src")
    row("dhcp4-discover-tcp", Ether(src=M1, dst=BCAST) / IP(src="0.0.0.0", dst="255.255.255.255") / TCP(sport=68, dport=67), "unspec-src")
    row("dhcp4-discover-udp-outside-totlen", pad(Ether(src=M1, dst=BCAST) / IP(src="0.0.0.0", dst="255.255.255.255", proto=17) / Raw(b"\0\x44\0\x43")), "unspec-src")
    row("udp4-from-zero-not-dhcp", udp4(src="0.0.0.0", sport=5000, dport=53), "unspec-src")
    row("dhcp4-request-renew-own-ip", dhcp4(src="10.0.0.1", dst="10.0.0.254", dmac=ROUTER, mtype="request"), "pass")
    row("dhcp4-offer-from-vm", dhcp4(src="10.0.0.1", sport=67, dport=68, mtype="offer"), "dhcp-guard")
    row("dhcp4-ack-unicast-to-vm2", dhcp4(src="10.0.0.1", dst="10.0.0.2", sport=67, dport=68, dmac=M2, mtype="ack"), "dhcp-guard")
    row("dhcp4-relay-to-server", dhcp4(src="10.0.0.1", dst=EXT4, sport=67, dport=67, dmac=ROUTER), "dhcp-guard")

    # -------------------------------------------------------------- IPv6
    row("udp6-own-to-router", udp6(), "pass")
    row("udp6-own-to-host-mac", udp6(dst="fd00::fe", dmac=H1), "pass")
    row("udp6-own-to-vm2-allowed", udp6(dst="fd00::2", dport=8080, dmac=M2), "pass")
    row("udp6-own-to-vm2-denied-port", udp6(dst="fd00::2", dport=9999, dmac=M2), "pass")
    row("echo6-own-to-vm2", Ether(src=M1, dst=M2) / IPv6(src="fd00::1", dst="fd00::2") / ICMPv6EchoRequest(data=b"p" * 32), "pass")
    row("echo6-own-to-vm3", Ether(src=M1, dst=M3) / IPv6(src="fd00::1", dst="fd00::3") / ICMPv6EchoRequest(data=b"p" * 32), "pass")
    row("echo6-link-local-to-all-nodes", Ether(src=M1, dst="33:33:00:00:00:01") / IPv6(src=LL1, dst="ff02::1") / ICMPv6EchoRequest(), "pass",
        note="Host -> VM: ICMPv6 directly after the IPv6 header to a group MAC goes on to the allow-lists")
    row("echo6-group-mac-to-vm2-address", Ether(src=M1, dst="33:33:00:00:00:01") / IPv6(src="fd00::1", dst="fd00::2") / ICMPv6EchoRequest(), "pass",
        note="Host -> VM: under a group MAC, a unicast IPv6 destination must still be owned")
    row("udp6-slaac-prefix-src", udp6(src="fd00:0:0:1::abcd"), "pass")
    row("udp6-link-local-src", udp6(src=LL1, dst="fe80::fe"), "pass")
    row("udp6-vip-from-vrrp-mac", udp6(src="fd00::10", smac=VRRP6_MAC), "pass")
    row("udp6-vrrp-mac-eui64-link-local", udp6(src=LL_VRRP6, smac=VRRP6_MAC, dst="fe80::fe"), "pass")
    row("vrrp3-advert-ipv6", Ether(src=VRRP6_MAC, dst="33:33:00:00:00:12") / IPv6(src=LL_VRRP6, dst="ff02::12", nh=112, hlim=255) / Raw(b"\x31\x0a\x64\x01\0\x64\0\0" + ipaddress.IPv6Address("fd00::10").packed), "pass")
    row("udp6-vip-from-own-mac", udp6(src="fd00::10"), "ip-spoof")
    row("udp6-own-ll-from-vrrp-mac", udp6(src=LL1, smac=VRRP6_MAC), "ip-spoof")
    row("udp6-wrong-link-local", udp6(src="fe80::1"), "ip-spoof")
    row("udp6-vm2-link-local", udp6(src=LL2), "ip-spoof")
    row("udp6-spoof-vm2", udp6(src="fd00::2"), "ip-spoof")
    row("udp6-spoof-outside-prefix", udp6(src="fd00:0:0:2::1"), "ip-spoof")
    row("udp6-multicast-src", udp6(src="ff02::1"), "ip-spoof")
    row("udp6-multicast-src-vm2-mac", udp6(src="ff0e::1", dst="fd00::2", dmac=M2), "ip-spoof")
    row("udp6-from-unspec", udp6(src="::"), "unspec-src")
    row("echo6-from-unspec", Ether(src=M1, dst="33:33:00:00:00:01") / IPv6(src="::", dst="ff02::1") / ICMPv6EchoRequest(), "unspec-src")
    good6 = bytes(udp6())
    row("ipv6-version4-in-86dd", set_bytes(good6, 14, b"\x40"), "malformed")
    row("ipv6-payload-len-too-big", set_bytes(good6, 18, (200).to_bytes(2, "big")), "malformed")
    row("ipv6-truncated-header", good6[:14 + 30], "malformed")
    row("ipv6-padding-after-payload", good6 + b"\0" * 10, "pass")
    row("udp6-header-outside-payload", Ether(src=M1, dst=ROUTER) / IPv6(src="fd00::1", dst=EXT6, nh=17) / Raw(b"\x13\x88\0\x35"), "malformed")
    row("udp6-header-outside-payload-padded", Ether(src=M1, dst=ROUTER) / IPv6(src="fd00::1", dst=EXT6, nh=17, plen=4) / Raw(b"\x13\x88\0\x35" + b"\0" * 8), "malformed")
    row("icmp6-truncated-2", Ether(src=M1, dst=ROUTER) / IPv6(src="fd00::1", dst=EXT6, nh=58) / Raw(b"\x80\0"), "malformed")
    row("ipv6-esp", Ether(src=M1, dst=ROUTER) / IPv6(src="fd00::1", dst=EXT6, nh=50) / Raw(b"\0\0\x10\x01\0\0\0\x01" + b"e" * 16), "pass")
    row("ipv6-no-next-header", Ether(src=M1, dst=ROUTER) / IPv6(src="fd00::1", dst=EXT6, nh=59), "pass")

    # ----------------------------------------------------------- DHCPv6
    row("dhcp6-solicit-link-local", Ether(src=M1, dst="33:33:00:01:00:02") / IPv6(src=LL1, dst="ff02::1:2") / UDP(sport=546, dport=547) / DHCP6_Solicit(trid=1), "pass", note=spec_group)
    row("dhcp6-advertise-from-vm", Ether(src=M1, dst=ROUTER) / IPv6(src=LL1, dst="fe80::fe") / UDP(sport=547, dport=546) / DHCP6_Advertise(trid=1), "dhcp-guard")
    row("dhcp6-relay-reply-from-vm", Ether(src=M1, dst=ROUTER) / IPv6(src="fd00::1", dst=EXT6) / UDP(sport=547, dport=547) / DHCP6_RelayReply(), "dhcp-guard")
    row("dhcp6-server-from-unspec", Ether(src=M1, dst="33:33:00:01:00:02") / IPv6(src="::", dst="ff02::1:2") / UDP(sport=547, dport=546), "unspec-src")

    # ------------------------------------------------ extension headers
    d8 = [IPv6ExtHdrDestOpt() for _ in range(8)]
    row("udp6-hop-by-hop", udp6(ext=[IPv6ExtHdrHopByHop()]), "pass")
    row("udp6-routing-header-segleft0", udp6(ext=[IPv6ExtHdrRouting(type=0, segleft=0, addresses=[])]), "pass")
    row("udp6-ah", Ether(src=M1, dst=ROUTER) / IPv6(src="fd00::1", dst=EXT6, nh=51)
        / Raw(bytes([17, 4, 0, 0]) + b"\0\0\x10\x01" + b"\0\0\0\x01" + b"\xaa" * 12) / Raw(bytes(UDP(sport=5000, dport=53, len=26, chksum=0)) + b"x" * 18), "pass")
    row("udp6-8-ext-headers", udp6(ext=d8), "pass")
    row("udp6-9-ext-headers", udp6(ext=[IPv6ExtHdrHopByHop()] + d8), "ext-hdr")
    row("udp6-12-ext-headers", udp6(ext=[IPv6ExtHdrDestOpt() for _ in range(12)]), "ext-hdr")
    row("dhcp6-server-behind-8-ext-headers", udp6(sport=547, dport=546, ext=d8), "dhcp-guard")
    row("dhcp6-server-behind-9-ext-headers", udp6(sport=547, dport=546, ext=[IPv6ExtHdrHopByHop()] + d8), "ext-hdr")
    hbh_long = bytes(udp6(ext=[IPv6ExtHdrHopByHop()]))
    row("ext-hdr-past-packet", set_bytes(hbh_long, 14 + 40 + 1, b"\x08"), "malformed")
    row("spoofed-src-behind-8-ext-headers", udp6(src="fd00::2", ext=d8), "ip-spoof")

    # ------------------------------------------------ IPv6 fragments
    F = IPv6ExtHdrFragment
    row("ipv6-atomic-fragment-udp", udp6(ext=[F(offset=0, m=0, id=1)]), "pass")
    row("ipv6-first-fragment-udp", udp6(ext=[F(offset=0, m=1, id=2)]), "pass")
    row("ipv6-nonfirst-fragment", Ether(src=M1, dst=ROUTER) / IPv6(src="fd00::1", dst=EXT6) / F(offset=100, m=0, id=2, nh=17) / Raw(b"y" * 24), "pass")
    row("ipv6-nonfirst-fragment-after-dstopts", Ether(src=M1, dst=ROUTER) / IPv6(src="fd00::1", dst=EXT6) / IPv6ExtHdrDestOpt() / F(offset=100, m=1, id=3, nh=58) / Raw(b"\x88\0" + b"y" * 22), "pass")
    row("ipv6-nonfirst-fragment-spoofed", Ether(src=M1, dst=ROUTER) / IPv6(src="fd00::2", dst=EXT6) / F(offset=100, m=0, id=2, nh=17) / Raw(b"y" * 24), "ip-spoof")
    row("ipv6-nonfirst-fragment-from-unspec", Ether(src=M1, dst=ROUTER) / IPv6(src="::", dst=EXT6) / F(offset=100, m=0, id=2, nh=17) / Raw(b"y" * 24), "unspec-src")
    row("ipv6-first-fragment-no-next-header", Ether(src=M1, dst=ROUTER) / IPv6(src="fd00::1", dst=EXT6) / F(offset=0, m=1, id=4, nh=59), "pass")
    row("rfc7112-chain-split-upper-missing", Ether(src=M1, dst=ROUTER) / IPv6(src="fd00::1", dst=EXT6) / F(offset=0, m=1, id=5) / IPv6ExtHdrDestOpt(nh=17), "ext-hdr")
    row("rfc7112-upper-header-cut", Ether(src=M1, dst=ROUTER) / IPv6(src="fd00::1", dst=EXT6) / F(offset=0, m=1, id=6, nh=17) / Raw(b"\x13\x88\0\x35"), "ext-hdr")
    row("rfc7112-icmp6-header-cut", Ether(src=M1, dst=ROUTER) / IPv6(src="fd00::1", dst=EXT6) / F(offset=0, m=1, id=7, nh=58) / Raw(b"\x80\0\0\0"), "ext-hdr")
    # Readings shared with the reference model (tests/fuzz/guard_model.hpp R1-R4).
    row("rfc7112-first-fragment-tcp-1-byte", Ether(src=M1, dst=ROUTER) / IPv6(src="fd00::1", dst=EXT6) / F(offset=0, m=1, id=18, nh=6) / Raw(b"\x01"), "ext-hdr")
    row("rfc7112-first-then-atomic-udp-2-bytes", Ether(src=M1, dst=ROUTER) / IPv6(src="fd00::1", dst=EXT6) / F(offset=0, m=1, id=19) / F(offset=0, m=0, id=19, nh=17) / Raw(b"\x13\x88"), "ext-hdr")
    row("rfc7112-atomic-then-first-tcp-1-byte", Ether(src=M1, dst=ROUTER) / IPv6(src="fd00::1", dst=EXT6) / F(offset=0, m=0, id=20) / F(offset=0, m=1, id=20, nh=6) / Raw(b"\x01"), "ext-hdr")
    row("rfc7112-first-then-atomic-from-unspec", Ether(src=M1, dst=ROUTER) / IPv6(src="::", dst=EXT6) / F(offset=0, m=1, id=21) / F(offset=0, m=0, id=21, nh=17) / Raw(b"\x02\x22"), "ext-hdr")
    row("first-fragment-dstopts-past-packet", set_bytes(Ether(src=M1, dst=ROUTER) / IPv6(src="fd00::1", dst=EXT6) / F(offset=0, m=1, id=22) / IPv6ExtHdrDestOpt(nh=17) / UDP(sport=5000, dport=53), 14 + 40 + 8 + 1, b"\x04"), "malformed")
    row("ninth-ext-header-named-not-present", Ether(src=M1, dst=ROUTER) / IPv6(src="fd00::1", dst=EXT6, nh=60) / Raw(b"".join(bytes(IPv6ExtHdrDestOpt(nh=60)) for _ in range(8))), "ext-hdr",
        note="the eighth header names a ninth that is not in the packet")
    row("dhcp6-server-in-first-fragment", udp6(sport=547, dport=546, ext=[F(offset=0, m=1, id=8)]), "dhcp-guard")

    # --------------------------------------------- Neighbor Discovery
    ns_vm2 = ICMPv6ND_NS(tgt="fd00::2")
    row("nd-ns-for-vm2-solicited-node-slla", nd6(ns_vm2 / SLLA1, dst=snma("fd00::2")), "pass")
    row("nd-ns-for-vm3-link-local", nd6(ICMPv6ND_NS(tgt=VMS["vm3"]["link_local"]) / SLLA1, src=LL1, dst=snma(VMS["vm3"]["link_local"])), "pass")
    row("nd-ns-unicast-to-vm2", nd6(ns_vm2 / SLLA1, dst="fd00::2", dmac=M2), "pass")
    row("nd-ns-unicast-to-vm3", nd6(ICMPv6ND_NS(tgt="fd00::3") / SLLA1, dst="fd00::3", dmac=M3), "pass")
    row("nd-ns-to-vm3-pair-mac-pair-link-local", nd6(ICMPv6ND_NS(tgt=eui64_ll(VRRP_VM3_MAC)) / SLLA1, src=LL1, dst=eui64_ll(VRRP_VM3_MAC), dmac=VRRP_VM3_MAC), "pass")
    row("nd-ns-to-vm3-pair-mac-vm3-addr", nd6(ICMPv6ND_NS(tgt="fd00::3") / SLLA1, dst="fd00::3", dmac=VRRP_VM3_MAC), "pass")
    row("nd-ns-hlim64-to-vm2", nd6(ns_vm2 / SLLA1, dst="fd00::2", dmac=M2, hlim=64), "pass")
    row("nd-ns-hlim64-to-vm3", nd6(ICMPv6ND_NS(tgt="fd00::3") / SLLA1, dst="fd00::3", dmac=M3, hlim=64), "pass")
    row("nd-ns-group-mac-unicast-ip-not-owned", nd6(ns_vm2 / SLLA1, dst="fd00::fe", dmac="33:33:00:00:00:01"), "pass",
        note="Host -> VM: ND passes regardless only to an owned or multicast address")
    row("nd-ns-vm2-mac-vm3-ip", nd6(ICMPv6ND_NS(tgt="fd00::3") / SLLA1, dst="fd00::3", dmac=M2), "pass")
    row("nd-ns-no-slla", nd6(ns_vm2, dst=snma("fd00::2")), "pass")
    row("nd-ns-slla-wrong", nd6(ns_vm2 / ICMPv6NDOptSrcLLAddr(lladdr=STRANGER), dst=snma("fd00::2")), "nd-spoof")
    row("nd-ns-slla-vm2-mac", nd6(ns_vm2 / ICMPv6NDOptSrcLLAddr(lladdr=M2), dst=snma("fd00::2")), "nd-spoof")
    row("nd-ns-slla-len2", nd6(ns_vm2 / Raw(opt(1, 2, macb(M1))), dst=snma("fd00::2")), "nd-spoof")
    row("nd-ns-second-slla-wrong", nd6(ns_vm2 / SLLA1 / ICMPv6NDOptSrcLLAddr(lladdr=STRANGER), dst=snma("fd00::2")), "nd-spoof")
    row("nd-ns-with-foreign-tlla-option", nd6(ns_vm2 / SLLA1 / ICMPv6NDOptDstLLAddr(lladdr=STRANGER), dst=snma("fd00::2")), "pass",
        note="an NS's TLLA option is not judged (spec 4.9: SLLA only)")
    row("nd-ns-spoofed-src", nd6(ICMPv6ND_NS(tgt="fd00::3") / ICMPv6NDOptSrcLLAddr(lladdr=M1), src="fd00::2", dst=snma("fd00::3")), "ip-spoof")
    row("nd-ns-unicast-from-unspec", nd6(ns_vm2, src="::", dst="fd00::2", dmac=M2), "unspec-src")
    row("nd-ns-fixed-part-cut", nd6(Raw(b"\x87\0\0\0\0\0\0\0" + b"\xfd" + b"\0" * 7), dst=snma("fd00::2")), "malformed")
    row("nd-ns-option-length-0", nd6(ns_vm2 / Raw(b"\x01\x00" + macb(M1)), dst=snma("fd00::2")), "malformed")
    row("nd-ns-option-past-packet", nd6(ns_vm2 / Raw(b"\x01\x02" + macb(M1)), dst=snma("fd00::2")), "malformed")
    nonce = [opt(14, 1, bytes([i]) * 6) for i in range(16)]
    row("nd-ns-16-options", nd6(ns_vm2 / Raw(opt(1, 1, macb(M1)) + b"".join(nonce[:15])), dst=snma("fd00::2")), "pass")
    row("nd-ns-17-options", nd6(ns_vm2 / Raw(opt(1, 1, macb(M1)) + b"".join(nonce)), dst=snma("fd00::2")), "malformed")
    row("nd-ns-atomic-fragment", nd6(ns_vm2 / SLLA1, dst=snma("fd00::2"), ext=[F(offset=0, m=0, id=11)]), "fragment")
    row("nd-ns-first-fragment", nd6(ns_vm2 / SLLA1, dst=snma("fd00::2"), ext=[F(offset=0, m=1, id=12)]), "fragment")
    row("nd-na-nonfirst-fragment", Ether(src=M1, dst=ROUTER) / IPv6(src="fd00::1", dst=EXT6, hlim=255) / F(offset=3, m=0, id=13, nh=58) / Raw(b"\x02\x01" + macb(M2)), "pass")

    # DAD (RFC 4862 5.4.2)
    row("nd-dad-own", nd6(ICMPv6ND_NS(tgt="fd00::1"), src="::", dst=snma("fd00::1")), "pass")
    row("nd-dad-slaac-prefix", nd6(ICMPv6ND_NS(tgt="fd00:0:0:1::abcd"), src="::", dst=snma("fd00:0:0:1::abcd")), "pass")
    row("nd-dad-link-local", nd6(ICMPv6ND_NS(tgt=LL1), src="::", dst=snma(LL1)), "pass")
    row("nd-dad-vip-from-vrrp-mac", nd6(ICMPv6ND_NS(tgt="fd00::10"), src="::", dst=snma("fd00::10"), smac=VRRP6_MAC), "pass")
    row("nd-dad-vip-from-own-mac", nd6(ICMPv6ND_NS(tgt="fd00::10"), src="::", dst=snma("fd00::10")), "nd-spoof")
    row("nd-dad-all-nodes-dst", nd6(ICMPv6ND_NS(tgt="fd00::1"), src="::", dst="ff02::1"), "unspec-src")
    row("nd-dad-wrong-solicited-node", nd6(ICMPv6ND_NS(tgt="fd00::1"), src="::", dst=snma("fd00::2")), "unspec-src")
    row("nd-dad-dst-not-solicited-node-prefix", nd6(ICMPv6ND_NS(tgt="fd00::1"), src="::", dst="ff02::2:ff00:1", dmac="33:33:ff:00:00:01"), "unspec-src")
    row("nd-dad-with-slla", nd6(ICMPv6ND_NS(tgt="fd00::1") / SLLA1, src="::", dst=snma("fd00::1")), "nd-spoof")
    row("nd-dad-for-vm2-address", nd6(ICMPv6ND_NS(tgt="fd00::2"), src="::", dst=snma("fd00::2")), "nd-spoof")
    row("nd-dad-atomic-fragment", nd6(ICMPv6ND_NS(tgt="fd00::1"), src="::", dst=snma("fd00::1"), ext=[F(offset=0, m=0, id=14)]), "fragment")

    # NA
    na_own = ICMPv6ND_NA(tgt="fd00::1", R=0, S=0, O=1)
    row("nd-na-unsolicited-own-all-nodes", nd6(na_own / TLLA1), "pass")
    row("nd-na-solicited-own-to-vm2", nd6(ICMPv6ND_NA(tgt="fd00::1", S=1, O=1) / TLLA1, dst="fd00::2", dmac=M2), "pass")
    row("nd-na-own-no-tlla-to-vm3", nd6(ICMPv6ND_NA(tgt="fd00::1", S=1, O=0), dst="fd00::3", dmac=M3), "pass")
    row("nd-na-vip-from-vrrp-mac", nd6(ICMPv6ND_NA(tgt="fd00::10", O=1) / ICMPv6NDOptDstLLAddr(lladdr=VRRP6_MAC), src=LL_VRRP6, smac=VRRP6_MAC), "pass")
    row("nd-na-poison-vm2-all-nodes", nd6(ICMPv6ND_NA(tgt="fd00::2", O=1) / TLLA1), "nd-spoof")
    row("nd-na-poison-vm2-unicast-to-vm3", nd6(ICMPv6ND_NA(tgt="fd00::2", S=1, O=1) / TLLA1, dst="fd00::3", dmac=M3), "nd-spoof")
    row("nd-na-poison-vm2-ll", nd6(ICMPv6ND_NA(tgt=LL2, O=1) / TLLA1, src=LL1), "nd-spoof")
    row("nd-na-own-link-local-target", nd6(ICMPv6ND_NA(tgt=LL1, O=1) / TLLA1, src=LL1), "pass")
    row("nd-na-own-target-from-vrrp-mac", nd6(ICMPv6ND_NA(tgt="fd00::1", O=1) / ICMPv6NDOptDstLLAddr(lladdr=VRRP6_MAC), src=LL_VRRP6, smac=VRRP6_MAC), "nd-spoof")
    row("nd-na-with-foreign-slla-option", nd6(na_own / TLLA1 / ICMPv6NDOptSrcLLAddr(lladdr=STRANGER)), "pass",
        note="an NA's SLLA option is not judged (spec 4.9: TLLA only)")
    row("nd-na-vip-from-own-mac", nd6(ICMPv6ND_NA(tgt="fd00::10", O=1) / TLLA1), "nd-spoof")
    row("nd-na-own-tlla-wrong", nd6(ICMPv6ND_NA(tgt="fd00::1", O=1) / ICMPv6NDOptDstLLAddr(lladdr=STRANGER)), "nd-spoof")
    row("nd-na-own-tlla-len2", nd6(ICMPv6ND_NA(tgt="fd00::1", O=1) / Raw(opt(2, 2, macb(M1)))), "nd-spoof")
    row("nd-na-spoofed-src", nd6(na_own / TLLA1, src="fd00::2"), "ip-spoof")
    row("nd-na-from-unspec", nd6(na_own / TLLA1, src="::"), "unspec-src")
    row("nd-na-option-lone-type-byte", nd6(na_own / TLLA1 / Raw(b"\x01")), "malformed")
    row("nd-na-fixed-part-cut", nd6(Raw(b"\x88\0\0\0\x20\0\0\0" + b"\xfd"), src="fd00::1"), "malformed")

    # RS, RA, redirect
    row("nd-rs-link-local-slla", nd6(ICMPv6ND_RS() / SLLA1, src=LL1, dst="ff02::2"), "pass")
    row("nd-rs-from-unspec", nd6(ICMPv6ND_RS(), src="::", dst="ff02::2"), "pass")
    row("nd-rs-from-unspec-slla", nd6(ICMPv6ND_RS() / SLLA1, src="::", dst="ff02::2"), "nd-spoof")
    row("nd-rs-from-unspec-slla-len2", nd6(ICMPv6ND_RS() / Raw(opt(1, 2, macb(M1))), src="::", dst="ff02::2"), "nd-spoof")
    row("nd-dad-with-slla-len2", nd6(ICMPv6ND_NS(tgt="fd00::1") / Raw(opt(1, 2, macb(M1))), src="::", dst=snma("fd00::1")), "nd-spoof")
    row("nd-rs-slla-wrong", nd6(ICMPv6ND_RS() / ICMPv6NDOptSrcLLAddr(lladdr=STRANGER), src=LL1, dst="ff02::2"), "nd-spoof")
    row("nd-rs-fixed-part-cut", nd6(Raw(b"\x85\0\0\0"), src=LL1, dst="ff02::2"), "malformed")
    row("nd-rs-fragmented", nd6(ICMPv6ND_RS(), src="::", dst="ff02::2", ext=[F(offset=0, m=0, id=15)]), "fragment")
    ra = ICMPv6ND_RA(routerlifetime=1800) / SLLA1 / ICMPv6NDOptPrefixInfo(prefix="fd00:bad::", prefixlen=64)
    row("nd-ra-from-vm", nd6(ra, src=LL1), "ra-guard")
    row("nd-ra-from-vm-wrong-slla", nd6(ICMPv6ND_RA() / ICMPv6NDOptSrcLLAddr(lladdr=STRANGER), src=LL1), "ra-guard")
    row("nd-ra-from-unspec", nd6(ra, src="::"), "unspec-src")
    row("nd-ra-spoofed-src", nd6(ra, src="fe80::1"), "ip-spoof")
    row("nd-ra-fragmented", nd6(ra, src=LL1, ext=[F(offset=0, m=0, id=16)]), "fragment")
    row("nd-redirect-from-vm", nd6(ICMPv6ND_Redirect(tgt="fe80::1", dst="fd00::2"), src=LL1, dst="fd00::3", dmac=M3), "ra-guard")
    row("nd-redirect-fixed-part-cut", nd6(Raw(b"\x89\0\0\0" + b"\0" * 20), src=LL1, dst="fd00::3", dmac=M3), "malformed")

    # MLD
    rec = ICMPv6MLDMultAddrRec(dst="ff02::1:ff00:1")
    mld_hbh = IPv6ExtHdrHopByHop(options=[RouterAlert()])
    row("mld2-report-from-unspec-hbh-router-alert", nd6(ICMPv6MLReport2(records=[rec]), src="::", dst="ff02::16", hlim=1, ext=[mld_hbh]), "pass")
    row("mld2-report-from-unspec-no-hbh", nd6(ICMPv6MLReport2(records=[rec]), src="::", dst="ff02::16", hlim=1), "pass")
    row("mld1-report-from-unspec", nd6(Raw(b"\x83\0\0\0\0\0\0\0" + ipaddress.IPv6Address("ff02::1:ff00:1").packed), src="::", dst="ff02::1:ff00:1", hlim=1), "unspec-src")
    row("mld2-report-from-unspec-wrong-dst", nd6(ICMPv6MLReport2(records=[rec]), src="::", dst="ff02::1", hlim=1, ext=[mld_hbh]), "unspec-src")
    row("mld2-report-from-unspec-fragmented", nd6(ICMPv6MLReport2(records=[rec]), src="::", dst="ff02::16", hlim=1,
                                                 ext=[IPv6ExtHdrHopByHop(options=[RouterAlert()]), F(offset=0, m=0, id=17)]), "unspec-src")
    row("mld2-report-link-local-hbh", nd6(ICMPv6MLReport2(records=[rec]), src=LL1, dst="ff02::16", dmac=ROUTER, hlim=1, ext=[mld_hbh]), "pass")
    row("mld2-query-from-vm", nd6(ICMPv6MLQuery2(), src=LL1, dst="ff02::1", hlim=1), "pass")
    row("mld2-query-hbh-router-alert", nd6(ICMPv6MLQuery2(), src=LL1, dst="ff02::1", hlim=1, ext=[mld_hbh]), "pass")

    # ------------------------------------------------------ jumbo frames
    row("jumbo-udp4-own-9000", udp4(payload=b"j" * (9000 - 14 - 28)), "pass", mtu=9000)
    row("jumbo-udp4-spoofed-9000", udp4(src="10.0.0.2", payload=b"j" * (9000 - 14 - 28)), "ip-spoof", mtu=9000)
    row("jumbo-udp6-own-to-vm2-9000", udp6(dst="fd00::2", dport=8080, dmac=M2, payload=b"j" * (9000 - 14 - 48)), "pass", mtu=9000)
    row("jumbo-udp6-8-ext-headers-spoofed", udp6(src="fd00::3", ext=d8, payload=b"j" * 8000), "ip-spoof", mtu=9000)


# --------------------------------------------------------- impact tests
# ext (the uplink's far end, the "router") and VM3 learn VM2's addresses by
# real ARP and ND; then VM1 sends these, a few times each, and their caches
# must still name VM2's MAC. For that test VM3 trusts the subnet (it must
# get VM2's echo replies).
IMPACT = {
    "ext": {"mac": ROUTER, "addrs": ["10.0.0.254/24", "fd00::fe/64"]},
    "vm_addrs": {"vm1": ["10.0.0.1/24", "fd00::1/64"], "vm2": ["10.0.0.2/24", "fd00::2/64"],
                 "vm3": ["10.0.0.3/24", "fd00::3/64"]},
    "vm3_allow_src": ["10.0.0.0/24", "fd00::/64", "fe80::/10"],
    "vm3_allow_ports": [["udp", 8080], ["icmp", 0], ["icmpv6", 0]],
    "victim": {"ipv4": "10.0.0.2", "ipv6": "fd00::2", "mac": M2},
}


def attacks():
    out = []

    def a(name, frame, reason):
        out.append({"name": name, "hex": bytes(frame).hex(), "reason": reason})

    a("arp-gratuitous-request-vm2-ip", arp(spa="10.0.0.2", tpa="10.0.0.2"), "arp-spoof")
    a("arp-gratuitous-reply-vm2-ip", arp(op=2, spa="10.0.0.2", tha=BCAST, tpa="10.0.0.2"), "arp-spoof")
    a("arp-reply-vm2-ip-to-ext", arp(op=2, dst=ROUTER, spa="10.0.0.2", tha=ROUTER, tpa="10.0.0.254"), "arp-spoof")
    a("arp-reply-vm2-ip-to-vm3", arp(op=2, dst=M3, spa="10.0.0.2", tha=M3, tpa="10.0.0.3"), "arp-spoof")
    a("arp-request-vm2-ip-unicast-to-ext", arp(dst=ROUTER, spa="10.0.0.2", tpa="10.0.0.254"), "arp-spoof")
    a("arp-request-vm2-ip-broadcast", arp(spa="10.0.0.2", tpa="10.0.0.3"), "arp-spoof")
    a("arp-reply-eth-src-vm2-sha-vm1", arp(op=2, src=M2, sha=M1, dst=ROUTER, spa="10.0.0.2", tha=ROUTER, tpa="10.0.0.254"), "mac-spoof")
    a("nd-na-unsolicited-vm2-all-nodes", nd6(ICMPv6ND_NA(tgt="fd00::2", R=0, S=0, O=1) / TLLA1), "nd-spoof")
    a("nd-na-unsolicited-vm2-all-nodes-from-ll", nd6(ICMPv6ND_NA(tgt="fd00::2", O=1) / TLLA1, src=LL1), "nd-spoof")
    a("nd-na-vm2-unicast-to-ext", nd6(ICMPv6ND_NA(tgt="fd00::2", S=1, O=1) / TLLA1, dst="fd00::fe", dmac=ROUTER), "nd-spoof")
    a("nd-na-vm2-unicast-to-vm3", nd6(ICMPv6ND_NA(tgt="fd00::2", S=1, O=1) / TLLA1, dst="fd00::3", dmac=M3), "nd-spoof")
    a("nd-na-vm2-src-vm2-to-ext", nd6(ICMPv6ND_NA(tgt="fd00::2", S=1, O=1) / TLLA1, src="fd00::2", dst="fd00::fe", dmac=ROUTER), "ip-spoof")
    a("nd-ns-src-vm2-slla-vm1-to-ext", nd6(ICMPv6ND_NS(tgt="fd00::fe") / SLLA1, src="fd00::2", dst=snma("fd00::fe")), "ip-spoof")
    a("nd-ns-src-vm2-slla-vm1-to-vm3", nd6(ICMPv6ND_NS(tgt="fd00::3") / SLLA1, src="fd00::2", dst="fd00::3", dmac=M3), "ip-spoof")
    a("nd-na-eth-src-vm2-tlla-vm1", nd6(ICMPv6ND_NA(tgt="fd00::2", O=1) / TLLA1, src="fd00::2", smac=M2), "mac-spoof")
    return out


def dad_attacks(target):
    """What VM1 sends to make VM2's DAD for `target` fail (RFC 4862 5.4.3,
    5.4.4): an NA claiming it, and a DAD probe of its own for it."""
    return [
        {"name": f"nd-na-claiming-{target}", "hex": bytes(nd6(ICMPv6ND_NA(tgt=target, O=1) / TLLA1)).hex(),
         "reason": "nd-spoof"},
        {"name": f"nd-dad-probe-for-{target}",
         "hex": bytes(nd6(ICMPv6ND_NS(tgt=target), src="::", dst=snma(target))).hex(), "reason": "nd-spoof"},
    ]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-o", "--output", default="-")
    args = ap.parse_args()
    build()
    doc = {"topology": {"vms": VMS, "router_mac": ROUTER}, "rows": ROWS,
           "impact": dict(IMPACT, attacks=attacks(),
                          dad={"through_guard": "fd00::22", "control": "fd00::23",
                               "attacks": dad_attacks("fd00::22"), "control_frames": dad_attacks("fd00::23")})}
    text = json.dumps(doc, indent=1)
    if args.output == "-":
        sys.stdout.write(text + "\n")
    else:
        with open(args.output, "w") as f:
            f.write(text + "\n")
        reasons = {}
        for r in ROWS:
            reasons[r["reason"]] = reasons.get(r["reason"], 0) + 1
        print(f"spoof_matrix: {len(ROWS)} rows ({', '.join(f'{k} {v}' for k, v in sorted(reasons.items()))})")


if __name__ == "__main__":
    main()
