// Real clients through the VM port-security guard (docs/port-security.md):
// a real DHCP server and IPv6 router (dnsmasq) on the uplink's segment, a real
// DHCPv4 client (busybox udhcpc) and the kernel's own SLAAC with DAD in each
// VM, then the VMs ping each other and the outside world over IPv4 and IPv6
// (global and link-local) with every neighbour learnt, none configured.
//
//   ext ns:  ext0 (dnsmasq: DHCPv4 for the VMs' MACs, RAs for a /64)
//             │ veth
//   host:    rcnic (VmHost uplink, nic_demux, native XDP)
//            rctap1, rctap2 (slots 1, 2: vm_fw_xdp; XDP ingress: the guard)
//             │ veth               │ veth
//   vm1 ns:  eth0 (udhcpc, SLAAC)  vm2 ns: eth0
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/core.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "fixtures.hpp"
#include "netcfg.hpp"
#include "vm_host.hpp"
#include "process.hpp"
#include "time_scale.hpp"

using namespace netlab;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kDhcpTimeout = 15s;  // both leases
constexpr auto kDadTimeout = 10s;   // link-local and SLAAC addresses out of "tentative"

const char* kServer4 = "10.77.0.1";
const char* kSubnet4 = "10.77.0.0/24";
const char* kRouter6 = "2001:db8:77::1";
const char* kPrefix6 = "2001:db8:77::/64";

// The modified EUI-64 interface identifier of `mac` after `prefix64` (the
// first 8 bytes), as text: what addr_gen_mode 0 makes of the MAC.
std::string eui64(const char* prefix64, const vmhost::Mac& mac)
{
    in6_addr a{};
    inet_pton(AF_INET6, prefix64, &a);
    uint8_t* b = a.s6_addr;
    b[8] = mac.b[0] ^ 0x02, b[9] = mac.b[1], b[10] = mac.b[2], b[11] = 0xff;
    b[12] = 0xfe, b[13] = mac.b[3], b[14] = mac.b[4], b[15] = mac.b[5];
    char s[INET6_ADDRSTRLEN];
    inet_ntop(AF_INET6, &a, s, sizeof(s));
    return s;
}

// The IPv6 addresses of a device as the kernel lists them in
// /proc/<self>/net/if_inet6 (read from inside the namespace).
struct Addr6 {
    std::string addr;
    unsigned scope = 0;   // 0x00 global, 0x20 link
    unsigned flags = 0;   // IFA_F_*
    bool tentative() const { return flags & 0x40; }
    bool dadfailed() const { return flags & 0x08; }
};

std::vector<Addr6> addrs6(const Netns& ns, const std::string& dev)
{
    NetnsScope in(ns);
    std::ifstream f("/proc/thread-self/net/if_inet6");
    std::vector<Addr6> out;
    std::string hex, name;
    unsigned ifindex, plen, scope, flags;
    while (f >> hex >> std::hex >> ifindex >> plen >> scope >> flags >> name >> std::dec) {
        if (name != dev || hex.size() != 32)
            continue;
        in6_addr a{};
        for (int i = 0; i < 16; i++)
            a.s6_addr[i] = uint8_t(std::stoul(hex.substr(2 * i, 2), nullptr, 16));
        char s[INET6_ADDRSTRLEN];
        inet_ntop(AF_INET6, &a, s, sizeof(s));
        out.push_back({s, scope, flags});
    }
    return out;
}

std::string describe(const std::vector<Addr6>& as)
{
    std::string s;
    for (const auto& a : as)
        s += fmt::format("{}{}{} ", a.addr, a.tentative() ? "(tentative)" : "", a.dadfailed() ? "(dadfailed)" : "");
    return s.empty() ? "none" : s;
}

std::string counts_str(const vmhost::ReasonCounts& c)
{
    std::string s;
    for (uint32_t r = 0; r < VM_REASONS; r++)
        if (c[r])
            s += fmt::format("{}={} ", vmhost::reason_name(r), c[r]);
    return s.empty() ? "nothing" : s;
}

vmhost::ReasonCounts minus(const vmhost::ReasonCounts& a, const vmhost::ReasonCounts& b)
{
    vmhost::ReasonCounts d{};
    for (uint32_t r = 0; r < VM_REASONS; r++)
        d[r] = a[r] - b[r];
    return d;
}

uint64_t drops(const vmhost::ReasonCounts& c)
{
    uint64_t n = 0;
    for (uint32_t r = 0; r < VM_REASONS; r++)
        n += r == VM_PASS ? 0 : c[r];
    return n;
}

// A command inside a namespace that must succeed: its output, or a failure
// naming the command and what it printed.
std::string must_run(const Netns& ns, const std::vector<std::string>& argv)
{
    auto r = run_in(ns, argv);
    if (!r.ok()) {
        std::string cmd;
        for (const auto& a : argv)
            cmd += a + " ";
        throw std::runtime_error(fmt::format("'{}' failed (status {}): {}", cmd, r.status, r.output));
    }
    return r.output;
}

// The last `n` lines of `text`.
std::string tail(const std::string& text, size_t n)
{
    size_t pos = text.size();
    for (size_t lines = 0; pos > 0 && lines <= n;)
        if (text[--pos] == '\n')
            lines++;
    return pos == 0 ? text : "[...]\n" + text.substr(pos + 1);
}

// A namespace's view, for failure messages.
std::string ns_state(const Netns& ns)
{
    std::string out;
    // The ICMPv6 router counters say whether a solicitation left or arrived.
    for (std::vector<std::string> cmd :
         {std::vector<std::string>{"ip", "addr"}, {"ip", "neigh"}, {"ip", "-6", "route"}, {"ip", "-s", "link"},
          {"grep", "-E", "Icmp6(In|Out)(RouterSolicits|RouterAdvertisements|NeighborSolicits)", "/proc/net/snmp6"}})
        out += run_in(ns, cmd, 3s).output;
    return out;
}

struct VmNode {
    uint32_t port;
    vmhost::Mac mac;
    std::string ip4;
    Netns ns = Netns::create();
    std::unique_ptr<VethPair> link;          // near: rctap<i> (host), far: eth0 (VM)
    Skel<frame_sink> rx = open_load<frame_sink>();  // XDP on eth0: a veth takes redirected frames only with one
    vmhost::Vm* vm = nullptr;
    std::unique_ptr<Process> dhcp;           // udhcpc
    std::string ll, global;                  // its IPv6 addresses once DAD is done
};

struct RealClients {
    TempDir dir{"dme-real-clients"};
    Netns ext = Netns::create();
    VethPair uplink{"rcnic", "ext0", ext};
    Skel<frame_sink> ext_rx = open_load<frame_sink>();
    vmhost::Mac ext_mac;
    std::vector<std::unique_ptr<VmNode>> vms;
    std::unique_ptr<vmhost::VmHost> host;  // goes before the VMs' taps do
    std::unique_ptr<Process> dnsmasq;

    RealClients()
    {
        attach_xdp_in(ext, uplink.far().ifindex, bpf_program__fd(ext_rx->progs.frame_count_pass));
        {
            NetnsScope in(ext);
            ext_mac = vmhost::netcfg::get_mac(uplink.far().ifindex);
        }
        host = std::make_unique<vmhost::VmHost>(dme::Interface::index(uplink.near().ifindex));
        for (uint32_t i = 1; i <= 2; i++)
            add_vm(i);
        setup_ext();
    }

    void add_vm(uint32_t i)
    {
        auto n = std::make_unique<VmNode>();
        n->port = i;
        n->mac = vmhost::Mac{{0x02, 0x00, 0x00, 0x77, 0x00, uint8_t(i)}};
        n->ip4 = fmt::format("10.77.0.{}", 10 + i);
        n->link = std::make_unique<VethPair>(fmt::format("rctap{}", i), "eth0", n->ns);
        {
            NetnsScope in(n->ns);
            vmhost::netcfg::set_mac(n->link->far().ifindex, n->mac);
        }
        attach_xdp_in(n->ns, n->link->far().ifindex, bpf_program__fd(n->rx->progs.frame_count_pass));
        must_run(n->ns, {"ip", "link", "set", "lo", "up"});
        // IPv6 as a VM has it (Netns::create() turns it off): RAs accepted,
        // SLAAC, DAD, EUI-64 interface identifiers, no temporary addresses,
        // not a router. Switched on below, once the router is up.
        for (auto [key, value] : {std::pair{"accept_ra", "1"}, {"autoconf", "1"}, {"accept_dad", "1"},
                                  {"dad_transmits", "1"}, {"addr_gen_mode", "0"}, {"use_tempaddr", "0"},
                                  {"forwarding", "0"}})
            write_sysctl(n->ns, fmt::format("net/ipv6/conf/eth0/{}", key), value);
        write_sysctl(n->ns, "net/ipv6/conf/all/use_tempaddr", "0");
        write_sysctl(n->ns, "net/ipv6/conf/all/forwarding", "0");

        uint32_t tap = n->link->near().ifindex;
        vmhost::VmPolicy p;
        p.mac = n->mac;
        p.host_mac = vmhost::netcfg::get_mac(tap);
        p.addrs = {vmhost::IpAddr::parse(n->ip4)};         // what dnsmasq hands out to this MAC
        p.prefixes = {vmhost::Prefix::parse(kPrefix6)};    // SLAAC: any interface identifier
        // link_local: the default, EUI-64 of the MAC.
        p.allow_src = {vmhost::Prefix::parse(kSubnet4), vmhost::Prefix::parse(kPrefix6),
                       vmhost::Prefix::parse("fe80::/10")};
        p.allow_ports = {{IPPROTO_UDP, 68}, {IPPROTO_ICMP, 0}, {IPPROTO_ICMPV6, 0}};
        n->vm = &host->add_vm(i, dme::Interface::index(tap), p);
        vms.push_back(std::move(n));
    }

    void setup_ext()
    {
        must_run(ext, {"ip", "link", "set", "lo", "up"});
        write_sysctl(ext, "net/ipv6/conf/ext0/accept_ra", "0");
        write_sysctl(ext, "net/ipv6/conf/ext0/accept_dad", "0");
        write_sysctl(ext, "net/ipv6/conf/all/disable_ipv6", "0");
        must_run(ext, {"ip", "addr", "add", std::string(kServer4) + "/24", "dev", "ext0"});
        must_run(ext, {"ip", "addr", "add", std::string(kRouter6) + "/64", "dev", "ext0", "nodad"});
        // A real uplink delivers complete checksums; a veth hands its peer
        // CHECKSUM_PARTIAL skbs, and XDP_REDIRECT out of the peer's XDP
        // program does not complete them (dnsmasq's UDP replies would arrive
        // with a bad checksum).
        must_run(ext, {"ethtool", "-K", "ext0", "tx", "off"});
    }

    void start_dnsmasq()
    {
        std::string conf = fmt::format(
            "port=0\n"            // no DNS
            "interface=ext0\n"
            "bind-interfaces\n"
            "no-resolv\n"
            "no-hosts\n"
            "no-ping\n"
            "log-dhcp\n"
            "dhcp-authoritative\n"
            "dhcp-leasefile={}\n"
            "dhcp-range=10.77.0.0,static,255.255.255.0,10m\n"
            "enable-ra\n"
            "dhcp-range=2001:db8:77::,ra-only,64,10m\n",
            dir.file("leases"));
        for (const auto& n : vms)
            conf += fmt::format("dhcp-host={},{}\n", n->mac.str(), n->ip4);
        dir.write("dnsmasq.conf", conf);
        dnsmasq = std::make_unique<Process>(
            ext,
            std::vector<std::string>{"dnsmasq", "--keep-in-foreground", "--conf-file=" + dir.file("dnsmasq.conf"),
                                     "--pid-file=", "--user=root", "--group=root",
                                     "--log-facility=" + dir.file("dnsmasq.log")},
            dir.file("dnsmasq.out"));
        // Up once it has logged its sockets (or gone: then say why).
        auto ready = [&] {
            return dnsmasq->poll() || dir.read("dnsmasq.log").find("router advertisement enabled") != std::string::npos;
        };
        if (!eventually(ready, 5000ms) || dnsmasq->poll())
            throw std::runtime_error("dnsmasq did not start: " + dir.read("dnsmasq.out") + dir.read("dnsmasq.log"));
    }

    void start_dhcp_clients()
    {
        std::string script = dir.write("udhcpc.sh",
                                       "#!/bin/sh\n"
                                       "PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH\n"
                                       "echo \"$1 ${ip:-} ${mask:-}\"\n"
                                       "case \"$1\" in\n"
                                       "bound|renew) ip addr add \"$ip/$mask\" dev \"$interface\" ;;\n"
                                       "esac\n"
                                       "exit 0\n",
                                       true);
        // Foreground, quit once leased (-q) or after 10 discovers 1 s apart
        // (-n -t 10 -T 1; further apart on a slow kernel, time_scale.hpp);
        // no ARP probe of the offer.
        const std::string apart = std::to_string(std::lround(std::ceil(time_scale())));
        for (auto& n : vms)
            n->dhcp = std::make_unique<Process>(
                n->ns,
                std::vector<std::string>{"busybox", "udhcpc", "-f", "-q", "-n", "-t", "10", "-T", apart, "-i", "eth0",
                                         "-s", script},
                dir.file(fmt::format("udhcpc{}.log", n->port)));
    }

    void enable_ipv6()
    {
        for (auto& n : vms) {
            write_sysctl(n->ns, "net/ipv6/conf/default/disable_ipv6", "0");
            write_sysctl(n->ns, "net/ipv6/conf/all/disable_ipv6", "0");  // lo and eth0: addrconf starts
        }
    }

    // Everything a failure message needs.
    std::string state()
    {
        std::string s = "--- dnsmasq log ---\n" + dir.read("dnsmasq.out") + tail(dir.read("dnsmasq.log"), 30);
        s += "--- leases ---\n" + dir.read("leases");
        s += "--- ext ---\n" + ns_state(ext);
        for (auto& n : vms) {
            s += fmt::format("--- vm{} ({}) ---\n", n->port, n->mac.str());
            s += "udhcpc: " + dir.read(fmt::format("udhcpc{}.log", n->port));
            s += ns_state(n->ns);
            s += fmt::format("guard: {}\nslot (xdp): {}\ntc (skb): {}\n", counts_str(n->vm->counts(VM_PATH_GUARD)),
                             counts_str(n->vm->counts(VM_PATH_XDP)), counts_str(n->vm->counts(VM_PATH_SKB)));
        }
        return s;
    }
};

struct Neighbour {
    std::string dst, lladdr;
    std::vector<std::string> state;
};

std::vector<Neighbour> neighbours(const Netns& ns, const std::string& dev)
{
    auto j = nlohmann::json::parse(must_run(ns, {"ip", "-j", "neigh", "show", "dev", dev}));
    std::vector<Neighbour> out;
    for (const auto& e : j) {
        Neighbour n;
        n.dst = e.value("dst", "");
        n.lladdr = e.value("lladdr", "");
        if (e.contains("state"))
            for (const auto& s : e["state"])
                n.state.push_back(s.get<std::string>());
        out.push_back(n);
    }
    return out;
}

}  // namespace

TEST_CASE("real DHCP and SLAAC clients get their addresses through the guard, and the VMs reach each other and the LAN",
          "[vmhost][real-clients]")
{
    auto t0 = Clock::now();
    RealClients t;
    auto& vm1 = *t.vms[0];
    auto& vm2 = *t.vms[1];
    auto guard = [](VmNode& n) { return n.vm->counts(VM_PATH_GUARD); };
    t.start_dnsmasq();

    // DHCPv4 first, alone: all the guard sees is the clients' DISCOVER and
    // REQUEST from 0.0.0.0 (IPv6 is still off in the VMs).
    vmhost::ReasonCounts before[2] = {guard(vm1), guard(vm2)};
    auto dhcp_start = Clock::now();
    t.start_dhcp_clients();
    auto dhcp_end = Clock::now() + scaled(kDhcpTimeout);
    for (auto* n : {&vm1, &vm2}) {
        auto st = n->dhcp->wait_until(dhcp_end);
        if (!st || *st != 0)
            FAIL(fmt::format("vm{}: no DHCP lease within {} s ({})\n{}", n->port, scaled(kDhcpTimeout).count() / 1000,
                             st ? Process::describe(*st) : "still running", t.state()));
    }
    auto dhcp_time = Clock::now() - dhcp_start;
    for (auto* n : {&vm1, &vm2}) {
        INFO("vm" << n->port);
        auto d = minus(guard(*n), before[n->port - 1]);
        INFO("guard during DHCP: " << counts_str(d));
        CHECK(d[VM_PASS] >= 2);  // DISCOVER, REQUEST
        CHECK(drops(d) == 0);
        // The server saw the broadcast exchange and gave the identity's
        // address, and that is on eth0.
        auto log = t.dir.read("dnsmasq.log");
        CHECK(log.find("DHCPDISCOVER(ext0) " + n->mac.str()) != std::string::npos);
        CHECK(log.find("DHCPACK(ext0) " + n->ip4 + " " + n->mac.str()) != std::string::npos);
        CHECK(t.dir.read("leases").find(n->mac.str() + " " + n->ip4 + " ") != std::string::npos);
        auto j = nlohmann::json::parse(must_run(n->ns, {"ip", "-j", "-4", "addr", "show", "dev", "eth0"}));
        std::string got;
        for (const auto& a : j.at(0).at("addr_info"))
            got += a.value("local", "") + " ";
        CHECK(got == n->ip4 + " ");
    }

    // SLAAC: link-local DAD, RS, the router's RA, DAD of the /64 address.
    before[0] = guard(vm1), before[1] = guard(vm2);
    auto slaac_start = Clock::now();
    t.enable_ipv6();
    auto done = [&](VmNode& n) {
        auto as = addrs6(n.ns, "eth0");
        n.ll.clear(), n.global.clear();
        for (const auto& a : as) {
            if (a.tentative() || a.dadfailed())
                return false;
            (a.scope == 0x20 ? n.ll : n.global) = a.addr;
        }
        return !n.ll.empty() && !n.global.empty();
    };
    bool dad = eventually([&] { return done(vm1) && done(vm2); }, kDadTimeout);
    if (!dad)
        FAIL(fmt::format("DAD not done within {} s: vm1 {}, vm2 {}\n{}", scaled(kDadTimeout).count() / 1000,
                         describe(addrs6(vm1.ns, "eth0")), describe(addrs6(vm2.ns, "eth0")), t.state()));
    auto slaac_time = Clock::now() - slaac_start;
    for (auto* n : {&vm1, &vm2}) {
        INFO("vm" << n->port << ": " << describe(addrs6(n->ns, "eth0")));
        // EUI-64 interface identifiers: the identity's default link-local.
        CHECK(n->ll == eui64("fe80::", n->mac));
        CHECK(n->global == eui64("2001:db8:77::", n->mac));
        // The router heard the VM's solicitation through the guard. (Under
        // TCG this has failed twice, the VM addressed by the RA another's
        // solicitation drew: docs/NOTES.md. The state says what was seen.)
        if (t.dir.read("dnsmasq.log").find("RTR-SOLICIT(ext0) " + n->mac.str()) == std::string::npos)
            FAIL_CHECK("dnsmasq did not log vm" << n->port << "'s router solicitation\n" << t.state());
        auto d = minus(guard(*n), before[n->port - 1]);
        INFO("guard during SLAAC: " << counts_str(d));
        CHECK(d[VM_PASS] >= 3);  // DAD NS for both addresses, RS (and MLD reports)
        CHECK(drops(d) == 0);
    }

    // Pings, every neighbour learnt on the way.
    auto ping = [&](VmNode& from, const std::string& to, bool v6) {
        auto r = run_in(from.ns, {"ping", v6 ? "-6" : "-4", "-n", "-c", "3", "-i", "0.2", "-w", "5", to}, 8s);
        INFO("vm" << from.port << " -> " << to << ":\n" << r.output);
        if (!r.ok())
            FAIL_CHECK(t.state());
        return r.ok();
    };
    auto ping_start = Clock::now();
    for (auto [a, b] : {std::pair{&vm1, &vm2}, {&vm2, &vm1}}) {
        CHECK(ping(*a, b->ip4, false));
        CHECK(ping(*a, b->global, true));
        CHECK(ping(*a, b->ll + "%eth0", true));
        CHECK(ping(*a, kServer4, false));
        CHECK(ping(*a, kRouter6, true));
    }
    auto ping_time = Clock::now() - ping_start;

    // The neighbours were learnt (ARP, ND through the guard), not configured:
    // each VM knows the other and the LAN's host by their true MACs, and
    // the LAN's host knows both VMs.
    auto learnt = [](const std::vector<Neighbour>& ns, const std::string& dst, const vmhost::Mac& mac) {
        for (const auto& n : ns)
            if (n.dst == dst) {
                bool ok = n.lladdr == mac.str() && n.state.size() == 1;
                for (const auto& s : n.state)
                    ok &= s == "REACHABLE" || s == "STALE" || s == "DELAY" || s == "PROBE";
                return ok;
            }
        return false;
    };
    auto show = [](const std::vector<Neighbour>& ns) {
        std::string all;
        for (const auto& n : ns)
            all += fmt::format("{} {} {}\n", n.dst, n.lladdr, fmt::join(n.state, ","));
        return all;
    };
    for (auto [a, b] : {std::pair{&vm1, &vm2}, {&vm2, &vm1}}) {
        auto ns = neighbours(a->ns, "eth0");
        INFO("vm" << a->port << " neighbours:\n" << show(ns));
        CHECK(learnt(ns, b->ip4, b->mac));
        CHECK(learnt(ns, b->global, b->mac));
        CHECK(learnt(ns, b->ll, b->mac));
        CHECK(learnt(ns, kServer4, t.ext_mac));
        CHECK(learnt(ns, kRouter6, t.ext_mac));
    }
    {
        auto ns = neighbours(t.ext, "ext0");
        INFO("ext neighbours:\n" << show(ns));
        for (auto* n : {&vm1, &vm2}) {
            CHECK(learnt(ns, n->ip4, n->mac));
            CHECK(learnt(ns, n->global, n->mac));
        }
    }
    // No static entries anywhere (the host's own namespace included).
    for (const Netns* ns : {&vm1.ns, &vm2.ns, &t.ext})
        CHECK(must_run(*ns, {"ip", "-j", "neigh", "show", "nud", "permanent"}).find("dst") == std::string::npos);
    CHECK(must_run(Netns::current(), {"ip", "-j", "neigh", "show", "nud", "permanent"}).find("dst") == std::string::npos);

    // Nothing these legitimate clients sent was taken for a spoof.
    for (auto* n : {&vm1, &vm2}) {
        auto g = guard(*n);
        INFO("vm" << n->port << " guard: " << counts_str(g));
        CHECK(drops(g) == 0);
        // At least: DHCP 2, DAD 2, RS 1, 15 echo requests, 9 echo replies.
        CHECK(g[VM_PASS] >= 29);
    }
    auto total = Clock::now() - t0;
    auto ms = [](auto d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); };
    std::printf("real clients: DHCP %lld ms, SLAAC+DAD %lld ms, pings %lld ms, total %lld ms\n", (long long)ms(dhcp_time),
                (long long)ms(slaac_time), (long long)ms(ping_time), (long long)ms(total));
    for (auto* n : {&vm1, &vm2})
        std::printf("  vm%u guard: %s; slot: %s\n", n->port, counts_str(guard(*n)).c_str(),
                    counts_str(n->vm->counts(VM_PATH_XDP)).c_str());
}
