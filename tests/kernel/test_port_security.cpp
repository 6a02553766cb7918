// VM port security (docs/port-security.md), end to end on real frames:
//
//   ext ns: ext0 ──veth── psnic (host uplink: nic_demux)
//   vm<i> ns: eth0 ──veth── pstap<i> (slot i: vm_fw_xdp; XDP ingress: vm_guard)
//
// 1. The spoof matrix (tests/port_security/spoof_matrix.py, crafted with
//    scapy at build time): every row is sent from VM1's namespace as a real
//    frame and counted where it arrives (the uplink's far end, VM2's and
//    VM3's eth0, the host stack on VM1's tap), with the guard's reason; the
//    tc build of the guard (vm_guard_tc) must give every row the same reason
//    on an skb (BPF_PROG_TEST_RUN; a real skb through a tc hook for frames
//    too big for a test run).
// 2. The impact: ext and VM3 learn VM2's addresses by real ARP and ND, VM1
//    tries to poison their caches, and they must still name VM2's MAC, and
//    VM2 must still answer their pings.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/pkt_cls.h>
#include <netinet/in.h>
#include <net/if.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "fixtures.hpp"
#include "netcfg.hpp"
#include "policy_maps.hpp"
#include "process.hpp"
#include "vm_firewall.skel.h"
#include "vm_host.hpp"

using namespace netlab;
using json = nlohmann::json;

namespace {

// ------------------------------------------------------------ helpers

json load_matrix()
{
    std::ifstream f(SPOOF_MATRIX_JSON);
    if (!f)
        throw std::runtime_error(std::string("cannot read ") + SPOOF_MATRIX_JSON +
                                 " (built from tests/port_security/spoof_matrix.py: needs python3-scapy)");
    return json::parse(f);
}

Frame unhex(const std::string& s)
{
    Frame f(s.size() / 2);
    for (size_t i = 0; i < f.size(); i++)
        f[i] = uint8_t(std::stoul(s.substr(2 * i, 2), nullptr, 16));
    return f;
}

uint8_t proto_number(const std::string& p)
{
    if (p == "udp")
        return IPPROTO_UDP;
    if (p == "tcp")
        return IPPROTO_TCP;
    if (p == "icmp")
        return IPPROTO_ICMP;
    if (p == "icmpv6")
        return IPPROTO_ICMPV6;
    throw std::runtime_error("unknown protocol " + p);
}

vmhost::VmPolicy policy_of(const json& vm)
{
    vmhost::VmPolicy p;
    p.mac = vmhost::Mac::parse(vm["mac"]);
    p.host_mac = vmhost::Mac::parse(vm["host_mac"]);
    for (const auto& a : vm["addrs"])
        p.addrs.push_back(vmhost::IpAddr::parse(a));
    for (const auto& a : vm["prefixes"])
        p.prefixes.push_back(vmhost::Prefix::parse(a));
    p.link_local = vmhost::IpAddr::parse(vm["link_local"]);
    for (const auto& pair : vm["allowed_pairs"])
        p.allowed_pairs.push_back({vmhost::Mac::parse(pair["mac"]), vmhost::Prefix::parse(pair["prefix"])});
    p.may_route = vm["may_route"];
    p.may_serve_dhcp = vm["may_serve_dhcp"];
    for (const auto& a : vm["allow_src"])
        p.allow_src.push_back(vmhost::Prefix::parse(a));
    for (const auto& r : vm["allow_ports"])
        p.allow_ports.push_back({proto_number(r[0]), uint16_t(r[1].get<int>())});
    // The matrix is of port security: the security groups behind the guard
    // pass all it passes, without state (docs/security-groups.md).
    p.rules = {vmhost::SgRule::allow_all(vmhost::SgRule::Dir::from_vm, 4, false),
               vmhost::SgRule::allow_all(vmhost::SgRule::Dir::from_vm, 6, false)};
    return p;
}

void sh_in(const Netns& ns, const std::vector<std::string>& argv)
{
    auto r = run_in(ns, argv);
    if (r.status != 0) {
        std::string cmd;
        for (const auto& a : argv)
            cmd += a + " ";
        throw std::runtime_error(cmd + "failed: " + r.output);
    }
}

// Sets a device's MTU (ip link: its error carries the kernel's reason);
// returns "" or that refusal.
std::string set_mtu(const Netns& ns, uint32_t ifindex, uint32_t mtu)
{
    char name[IF_NAMESIZE] = {};
    {
        NetnsScope in(ns);
        if (!if_indextoname(ifindex, name))
            return "no device with ifindex " + std::to_string(ifindex);
    }
    auto r = run_in(ns, {"ip", "link", "set", "dev", name, "mtu", std::to_string(mtu)});
    if (r.status == 0)
        return "";
    while (!r.output.empty() && r.output.back() == '\n')
        r.output.pop_back();
    return r.output;
}

// Counts what arrives on a device.
class Sink {
public:
    virtual ~Sink() = default;
    virtual uint64_t packets() = 0;
};

// frame_sink's counting program in pass mode (frames continue to the
// namespace's stack); it also gives the veth the NAPI that native XDP
// redirects into it need.
class XdpSink : public Sink {
public:
    XdpSink(const Netns& ns, uint32_t ifindex) : skel_(open_load<frame_sink>())
    {
        attach_xdp_in(ns, ifindex, bpf_program__fd(skel_->progs.frame_count_pass));
    }
    uint64_t packets() override { return read_counters(bpf_map__fd(skel_->maps.counters)).packets; }

private:
    Skel<frame_sink> skel_;
};

// An AF_PACKET socket on the device, for links that carry frames bigger
// than an XDP program without frags support may see (frames the namespace
// sends itself are left out).
class PacketSink : public Sink {
public:
    PacketSink(const Netns& ns, uint32_t ifindex)
    {
        NetnsScope in(ns);
        fd_ = dme::Fd(socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL)));
        sockaddr_ll a{};
        a.sll_family = AF_PACKET;
        a.sll_protocol = htons(ETH_P_ALL);
        a.sll_ifindex = int(ifindex);
        if (!fd_ || bind(fd_.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)))
            throw std::runtime_error("AF_PACKET counter socket failed");
    }
    uint64_t packets() override
    {
        static uint8_t buf[65536];
        for (;;) {
            sockaddr_ll from{};
            socklen_t len = sizeof(from);
            if (recvfrom(fd_.get(), buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &len) < 0)
                break;
            if (from.sll_pkttype != PACKET_OUTGOING)
                seen_++;
        }
        return seen_;
    }

private:
    dme::Fd fd_;
    uint64_t seen_ = 0;
};

// What the guard passed to the host stack on a tap: an AF_PACKET socket on
// the tap in the host's namespace (frames the host sends are left out).
class HostStackTap {
public:
    explicit HostStackTap(uint32_t ifindex)
    {
        fd_ = dme::Fd(socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL)));
        if (!fd_)
            throw std::runtime_error("AF_PACKET socket on the tap failed");
        sockaddr_ll a{};
        a.sll_family = AF_PACKET;
        a.sll_protocol = htons(ETH_P_ALL);
        a.sll_ifindex = int(ifindex);
        if (bind(fd_.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)))
            throw std::runtime_error("binding the AF_PACKET socket to the tap failed");
    }
    // Frames received since the last call.
    uint64_t drain()
    {
        static uint8_t buf[65536];
        for (;;) {
            sockaddr_ll from{};
            socklen_t len = sizeof(from);
            ssize_t n = recvfrom(fd_.get(), buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &len);
            if (n < 0)
                break;
            if (from.sll_pkttype != PACKET_OUTGOING)
                seen_++;
        }
        return seen_;
    }

private:
    dme::Fd fd_;
    uint64_t seen_ = 0;
};

vmhost::ReasonCounts read_reasons(int verdicts_fd, uint32_t path)
{
    int ncpu = libbpf_num_possible_cpus();
    std::vector<vm_count> per_cpu(ncpu);
    vmhost::ReasonCounts out{};
    for (uint32_t r = 0; r < VM_REASONS; r++) {
        uint32_t key = path * VM_REASONS + r;
        if (bpf_map_lookup_elem(verdicts_fd, &key, per_cpu.data()))
            throw std::runtime_error("reading verdict counters failed");
        for (const auto& c : per_cpu)
            out[r] += c.packets;
    }
    return out;
}

// The one reason that changed between two snapshots: its name, "none" (no
// count), or "a+b" when several did.
std::string reason_diff(const vmhost::ReasonCounts& before, const vmhost::ReasonCounts& after)
{
    std::string out;
    for (uint32_t r = 0; r < VM_REASONS; r++)
        for (uint64_t k = before[r]; k < after[r]; k++)
            out += (out.empty() ? "" : "+") + std::string(vmhost::reason_name(r));
    return out.empty() ? "none" : out;
}

uint64_t total(const vmhost::ReasonCounts& c)
{
    uint64_t t = 0;
    for (auto v : c)
        t += v;
    return t;
}

using FirewallSkel = std::unique_ptr<vm_firewall, decltype(&vm_firewall__destroy)>;

// ------------------------------------------------------------ the host

struct VmNode {
    Netns ns = Netns::create();
    std::unique_ptr<VethPair> link;  // near: pstap<i> (host), far: eth0 (VM)
    std::unique_ptr<Sink> sink;      // on the VM's eth0
    vmhost::Vm* vm = nullptr;
    uint32_t eth0() const { return link->far().ifindex; }
    uint32_t tap() const { return link->near().ifindex; }
};

struct PortSecurityHost {
    Netns ext_ns = Netns::create();
    std::unique_ptr<VethPair> uplink;
    std::unique_ptr<Sink> ext_sink;
    std::map<std::string, VmNode> vms;
    // Declared last, so it goes first: the guards and slots are taken down
    // while the taps still exist.
    std::unique_ptr<vmhost::VmHost> host;

    // `live`: the namespaces' IPv6 on, for stacks that speak ARP and ND.
    // `mode`: the guard's and demux's XDP mode; in generic mode the VMs and
    // ext count with AF_PACKET sockets, and every link can take MTU 9000.
    PortSecurityHost(const json& topo, bool live, const json* impact = nullptr,
                     dme::XdpMode mode = dme::XdpMode::native)
    {
        const bool native = mode == dme::XdpMode::native;
        auto sink = [&](const Netns& ns, uint32_t ifindex) -> std::unique_ptr<Sink> {
            if (native)
                return std::make_unique<XdpSink>(ns, ifindex);
            return std::make_unique<PacketSink>(ns, ifindex);
        };
        uplink = std::make_unique<VethPair>("psnic", "ext0", ext_ns);
        if (live) {
            enable_ipv6(ext_ns, "ext0");
            NetnsScope in(ext_ns);
            vmhost::netcfg::set_mac(uplink->far().ifindex, vmhost::Mac::parse((*impact)["ext"]["mac"]));
        }
        ext_sink = sink(ext_ns, uplink->far().ifindex);
        host = std::make_unique<vmhost::VmHost>(dme::Interface::index(uplink->near().ifindex), mode);
        for (const auto& [name, v] : topo["vms"].items()) {
            VmNode& n = vms[name];
            uint32_t port = v["port"];
            n.link = std::make_unique<VethPair>(fmt::format("pstap{}", port), "eth0", n.ns);
            vmhost::VmPolicy p = policy_of(v);
            if (live && name == "vm3") {
                p.allow_src.clear();
                for (const auto& a : (*impact)["vm3_allow_src"])
                    p.allow_src.push_back(vmhost::Prefix::parse(a));
                p.allow_ports.clear();
                for (const auto& r : (*impact)["vm3_allow_ports"])
                    p.allow_ports.push_back({proto_number(r[0]), uint16_t(r[1].get<int>())});
            }
            vmhost::netcfg::set_mac(n.tap(), p.host_mac);
            {
                NetnsScope in(n.ns);
                vmhost::netcfg::set_mac(n.eth0(), p.mac);
            }
            if (live)
                enable_ipv6(n.ns, "eth0");  // after the MAC: the link-local is its EUI-64
            // The attacker's own eth0 gets a sink only where it must receive
            // (a sink without frags support would cap its tap's MTU); GRO
            // gives its veth the NAPI that its devmap slot needs instead.
            if (live || name != "vm1")
                n.sink = sink(n.ns, n.eth0());
            else if (native)
                sh_in(n.ns, {"ethtool", "-K", "eth0", "gro", "on"});
            n.vm = &host->add_vm(port, dme::Interface::index(n.tap()), p);
        }
    }

    static void enable_ipv6(const Netns& ns, const std::string& dev)
    {
        for (const char* conf : {"all", "default"})
            write_sysctl(ns, fmt::format("net/ipv6/conf/{}/disable_ipv6", conf), "0");
        write_sysctl(ns, "net/ipv6/conf/" + dev + "/disable_ipv6", "0");
    }

    VmNode& vm(const std::string& name) { return vms.at(name); }
};

// ------------------------------------------------------------ the matrix

struct Arrivals {
    uint64_t uplink = 0, vm2 = 0, vm3 = 0, host = 0;
    bool operator==(const Arrivals&) const = default;
    std::string str() const { return fmt::format("{} {} {} {}", uplink, vm2, vm3, host); }
};

struct RowResult {
    std::string name, want_reason, got_reason, tc_reason;
    Arrivals want, got;
    std::string error;    // could not send, or not measurable
    std::string skipped;  // why the row was not sent (not a failure)
    std::string slots;    // VM2's and VM3's slot reasons, for the table
    bool ok() const
    {
        return !skipped.empty() ||
               (error.empty() && want_reason == got_reason && tc_reason == want_reason && want == got);
    }
};

// The tc build of the guard, in an instance of its own with VM1's policy
// (the VM host's own instance keeps only what it attaches): BPF_PROG_TEST_RUN
// on an skb, or a real skb through a tc ingress hook on a scratch veth for
// frames larger than a test run takes.
class TcGuard {
public:
    TcGuard(vmhost::VmHost& host, const vmhost::VmPolicy& policy) : skel_(vm_firewall__open(), vm_firewall__destroy)
    {
        if (!skel_)
            throw std::runtime_error("opening vm_firewall failed");
        if (bpf_map__reuse_fd(skel_->maps.tx_ports, host.tx_ports_fd()) ||
            bpf_map__reuse_fd(skel_->maps.mac_to_port, host.mac_to_port_fd()))
            throw std::runtime_error("sharing the host's maps failed");
        skel_->rodata->uplink_port = vmhost::VmHost::kUplinkPort;
        if (int err = vm_firewall__load(skel_.get()))
            throw std::runtime_error("loading vm_firewall failed: " + std::to_string(err));
        vmhost::write_policy(vmhost::PolicyMaps::of(skel_->obj), policy);
    }

    int prog_fd() const { return bpf_program__fd(skel_->progs.vm_guard_tc); }
    uint32_t test_runs = 0, real_skbs = 0;  // how the rows reached it
    vmhost::ReasonCounts counts() const { return read_reasons(bpf_map__fd(skel_->maps.verdicts), VM_PATH_GUARD_TC); }

    std::string reason_of(const Frame& f)
    {
        auto before = counts();
        LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = f.data(), .data_size_in = uint32_t(f.size()), .repeat = 1);
        if (bpf_prog_test_run_opts(prog_fd(), &run)) {
            // The kernel refuses test runs on skbs too big for a page, and
            // on short IPv4/IPv6 headers: those go through a real skb.
            if (errno != EINVAL)
                return std::string("test run failed: ") + std::strerror(errno);
            real_skbs++;
            return through_hook(f);
        }
        test_runs++;
        return reason_diff(before, counts());
    }

private:
    std::string through_hook(const Frame& f)
    {
        if (!scratch_) {
            scratch_ = std::make_unique<VethPair>("psgtc0", "psgtc1", scratch_ns_);
            for (auto [ns, idx] : {std::pair{&self_ns_, scratch_->near().ifindex}, std::pair{&scratch_ns_, scratch_->far().ifindex}})
                if (auto err = set_mtu(*ns, idx, 9000); !err.empty())
                    throw std::runtime_error("scratch veth MTU 9000: " + err);
            LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = int(scratch_->near().ifindex), .attach_point = BPF_TC_INGRESS);
            int err = bpf_tc_hook_create(&hook);
            if (err && err != -EEXIST)
                throw std::runtime_error("clsact on the scratch veth failed");
            LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = prog_fd());
            if (bpf_tc_attach(&hook, &opts))
                throw std::runtime_error("attaching vm_guard_tc to the scratch veth failed");
            wire_ = std::make_unique<PacketSocket>(scratch_ns_);
        }
        auto before = counts();
        if (wire_->send(scratch_->far().ifindex, f, 1) != 1)
            return "scratch send refused";
        eventually([&] { return total(counts()) > total(before); }, std::chrono::milliseconds(2000));
        return reason_diff(before, counts()) + " (real skb)";
    }

    FirewallSkel skel_;
    Netns self_ns_ = Netns::current();
    Netns scratch_ns_ = Netns::create();
    std::unique_ptr<VethPair> scratch_;
    std::unique_ptr<PacketSocket> wire_;
};

std::string strip_note(const std::string& s)
{
    auto p = s.find(" (real skb)");
    return p == std::string::npos ? s : s.substr(0, p);
}

}  // namespace

namespace {

// Every row of `rows` that `take` accepts, sent from VM1's namespace one by
// one: the guard's reason, the tc guard's, and where copies arrived. Rows
// with an "mtu" are skipped with `mtu_skip` when that is set (links refused
// the MTU; the tc guard still judges them).
std::vector<RowResult> run_rows(PortSecurityHost& h, TcGuard& tc, const json& rows,
                                const std::function<bool(const json&)>& take, const std::string& mtu_skip)
{
    VmNode &vm1 = h.vm("vm1"), &vm2 = h.vm("vm2"), &vm3 = h.vm("vm3");
    PacketSocket attacker(vm1.ns);
    HostStackTap host_stack(vm1.tap());
    auto arrivals = [&] {
        return Arrivals{h.ext_sink->packets(), vm2.sink->packets(), vm3.sink->packets(), host_stack.drain()};
    };
    auto minus = [](const Arrivals& a, const Arrivals& b) {
        return Arrivals{a.uplink - b.uplink, a.vm2 - b.vm2, a.vm3 - b.vm3, a.host - b.host};
    };

    std::vector<RowResult> results;
    for (const auto& r : rows) {
        if (!take(r))
            continue;
        RowResult res;
        res.name = r["name"];
        res.want_reason = r["reason"];
        const auto& a = r["arrives"];
        res.want = {a["uplink"], a["vm2"], a["vm3"], a["host"]};
        Frame f = unhex(r["hex"]);
        res.tc_reason = strip_note(tc.reason_of(f));

        // Settle: nothing of the previous row still in flight.
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        auto g0 = vm1.vm->counts(VM_PATH_GUARD);
        auto s2 = vm2.vm->counts(VM_PATH_XDP), s3 = vm3.vm->counts(VM_PATH_XDP);
        Arrivals before = arrivals();
        if (r.contains("mtu") && !mtu_skip.empty()) {
            res.skipped = mtu_skip;
            res.got_reason = "skipped";
            results.push_back(res);
            continue;
        }
        try {
            if (attacker.send(vm1.eth0(), f, 1) != 1)
                res.error = "the VM's device refused the frame";
        } catch (const std::exception& e) {
            res.error = e.what();
        }
        if (res.error.empty()) {
            eventually([&] { return total(vm1.vm->counts(VM_PATH_GUARD)) > total(g0); }, std::chrono::milliseconds(1000));
            eventually([&] {
                auto d = minus(arrivals(), before);
                return d.uplink >= res.want.uplink && d.vm2 >= res.want.vm2 && d.vm3 >= res.want.vm3 &&
                       d.host >= res.want.host;
            }, std::chrono::milliseconds(300));
            // Then a moment for copies that should not come.
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        res.got_reason = res.error.empty() ? reason_diff(g0, vm1.vm->counts(VM_PATH_GUARD)) : "not sent";
        res.got = minus(arrivals(), before);
        res.slots = fmt::format("slot firewalls: vm2 {}, vm3 {}", reason_diff(s2, vm2.vm->counts(VM_PATH_XDP)),
                                reason_diff(s3, vm3.vm->counts(VM_PATH_XDP)));
        results.push_back(res);
    }
    return results;
}

// Prints the table (expected/got reason of the XDP and tc guards, arrivals
// as uplink vm2 vm3 host) and its summary; one CHECK per row.
void report(const char* title, const std::vector<RowResult>& results, double secs, const TcGuard& tc)
{
    size_t bad = 0, skipped = 0;
    std::map<std::string, int> per_reason;
    std::string table = fmt::format("{:>3} {:<46} {:<11} {:<11} {:<11} {:<8} {:<8}\n{:>104}\n", "#", "row", "want",
                                    "xdp got", "tc got", "want", "got", "(arrivals: uplink vm2 vm3 host)");
    for (size_t i = 0; i < results.size(); i++) {
        const auto& r = results[i];
        per_reason[r.want_reason]++;
        bool ok = r.ok();
        bad += !ok;
        skipped += !r.skipped.empty();
        table += fmt::format("{:>3} {:<46} {:<11} {:<11} {:<11} {:<8} {:<8}{}\n", i + 1, r.name, r.want_reason,
                             r.got_reason, r.tc_reason, r.want.str(), r.got.str(),
                             !r.skipped.empty() ? "  (skipped)" : ok ? "" : "  <-- MISMATCH");
        if (!r.skipped.empty())
            table += fmt::format("      {}\n", r.skipped);
        else if (!r.error.empty())
            table += fmt::format("      {}\n", r.error);
        else if (!ok)
            table += fmt::format("      {}\n", r.slots);
    }
    std::string summary = fmt::format(
        "{}: {} rows, {} match, {} differ, {} skipped ({:.1f} s; tc guard: {} test runs, {} real skbs);", title,
        results.size(), results.size() - bad - skipped, bad, skipped, secs, tc.test_runs, tc.real_skbs);
    for (const auto& [reason, n] : per_reason)
        summary += fmt::format(" {} {}", reason, n);
    fmt::print("{}{}\n", table, summary);
    for (const auto& r : results) {
        INFO(r.name << ": want reason " << r.want_reason << ", XDP guard " << r.got_reason << ", tc guard "
                    << r.tc_reason << "; arrivals (uplink vm2 vm3 host) want " << r.want.str() << ", got "
                    << r.got.str() << "; " << (r.error.empty() ? r.slots : r.error));
        CHECK(r.ok());
        if (!r.skipped.empty() && r.tc_reason != r.want_reason) {
            INFO(r.name << " (skipped on XDP): the tc guard gave " << r.tc_reason);
            CHECK(r.tc_reason == r.want_reason);
        }
    }
}

double seconds_since(std::chrono::steady_clock::time_point t0)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

TEST_CASE("port security: the spoof matrix, sent from a VM, arrives only where the spec says",
          "[vmhost][port-security]")
{
    const json doc = load_matrix();
    const json& rows = doc["rows"];
    REQUIRE(rows.size() >= 90);
    auto t0 = std::chrono::steady_clock::now();

    PortSecurityHost h(doc["topology"], false);
    VmNode &vm1 = h.vm("vm1"), &vm2 = h.vm("vm2");
    TcGuard tc(*h.host, vm1.vm->policy());

    // Jumbo rows need MTU 9000 on the sender's link and on the links they
    // arrive on (XDP programs without frags support make the kernel refuse).
    std::string jumbo_error;
    struct MtuLink {
        const Netns* ns;
        uint32_t ifindex;
        const char* what;
    };
    Netns host_ns = Netns::current();
    for (const MtuLink& l : {MtuLink{&vm1.ns, vm1.eth0(), "VM1 eth0"}, MtuLink{&host_ns, vm1.tap(), "VM1 tap"},
                             MtuLink{&h.ext_ns, h.uplink->far().ifindex, "ext0 (uplink far end)"},
                             MtuLink{&vm2.ns, vm2.eth0(), "VM2 eth0"}})
        if (auto err = set_mtu(*l.ns, l.ifindex, 9000); !err.empty())
            jumbo_error += fmt::format("{}MTU 9000 on {}: {}", jumbo_error.empty() ? "" : "; ", l.what, err);
    // A known limit (docs/NOTES.md): the jumbo rows then run in generic
    // mode only (the next test case); here they are skipped, not failed,
    // and run as soon as the programs support frags.
    if (!jumbo_error.empty())
        jumbo_error += " (a veth's maximum MTU stays capped near a page while its peer runs an XDP program "
                       "without frags support: vm_guard on a VM's tap, nic_demux on the uplink; the generic-mode "
                       "test case sends these rows)";

    auto results = run_rows(h, tc, rows, [](const json&) { return true; }, jumbo_error);
    report("spoof matrix (native XDP)", results, seconds_since(t0), tc);
}

TEST_CASE("port security: jumbo frames through the guard in generic XDP mode", "[vmhost][port-security]")
{
    // Native XDP on a veth caps its peer's MTU near a page unless the
    // program supports frags; generic (skb) XDP does not: here every link
    // takes MTU 9000, and the guard judges 9000-byte frames.
    const json doc = load_matrix();
    auto t0 = std::chrono::steady_clock::now();
    PortSecurityHost h(doc["topology"], false, nullptr, dme::XdpMode::generic);
    TcGuard tc(*h.host, h.vm("vm1").vm->policy());
    Netns host_ns = Netns::current();
    std::vector<std::pair<const Netns*, uint32_t>> links = {{&host_ns, h.uplink->near().ifindex},
                                                             {&h.ext_ns, h.uplink->far().ifindex}};
    for (auto& [name, n] : h.vms) {
        links.push_back({&host_ns, n.tap()});
        links.push_back({&n.ns, n.eth0()});
    }
    for (auto [ns, ifindex] : links) {
        INFO("MTU 9000 on ifindex " << ifindex);
        REQUIRE(set_mtu(*ns, ifindex, 9000).empty());
    }
    auto results = run_rows(h, tc, doc["rows"], [](const json& r) { return r.contains("mtu"); }, "");
    REQUIRE(!results.empty());
    report("jumbo rows (generic XDP)", results, seconds_since(t0), tc);
}

TEST_CASE("port security: ARP and ND poisoning from a VM leaves the others' caches alone",
          "[vmhost][port-security]")
{
    const json doc = load_matrix();
    const json& impact = doc["impact"];
    PortSecurityHost h(doc["topology"], true, &impact);
    VmNode &vm1 = h.vm("vm1"), &vm3 = h.vm("vm3");
    for (const auto& [name, addrs] : impact["vm_addrs"].items())
        for (const auto& a : addrs)
            sh_in(h.vm(name).ns, {"ip", "addr", "add", a.get<std::string>(), "dev", "eth0", "nodad"});
    for (const auto& a : impact["ext"]["addrs"])
        sh_in(h.ext_ns, {"ip", "addr", "add", a.get<std::string>(), "dev", "ext0", "nodad"});

    const std::string v4 = impact["victim"]["ipv4"], v6 = impact["victim"]["ipv6"], vmac = impact["victim"]["mac"];
    struct Observer {
        const char* name;
        const Netns* ns;
        const char* dev;
    };
    std::vector<Observer> observers = {{"ext", &h.ext_ns, "ext0"}, {"vm3", &vm3.ns, "eth0"}};

    auto ping = [&](const Observer& o, const std::string& addr) {
        // A few tries: the first echo may wait for DAD of the link-local or
        // for the neighbour resolution itself.
        for (int i = 0; i < 3; i++)
            if (run_in(*o.ns, {"ping", "-n", "-c", "1", "-W", "2", addr}).status == 0)
                return true;
        return false;
    };
    // VM2's entry in an observer's neighbour table: its lladdr, "" if none.
    auto neigh = [&](const Observer& o, const std::string& addr, std::string* state) {
        bool v6addr = addr.find(':') != std::string::npos;
        auto r = run_in(*o.ns, {"ip", "-j", v6addr ? "-6" : "-4", "neigh", "show", "dev", o.dev});
        if (r.status != 0)
            throw std::runtime_error("ip -j neigh failed: " + r.output);
        for (const auto& e : json::parse(r.output.empty() ? "[]" : r.output))
            if (e.value("dst", "") == addr) {
                if (state)
                    *state = e.contains("state") ? e["state"].dump() : "";
                return e.value("lladdr", std::string());
            }
        return std::string();
    };

    // 1. Real ARP and ND: the observers learn VM2's addresses.
    for (const auto& o : observers)
        for (const auto& addr : {v4, v6}) {
            INFO(o.name << " pings " << addr << " before the attack");
            CHECK(ping(o, addr));
            std::string state;
            CHECK(neigh(o, addr, &state) == vmac);
        }

    // 2. VM1 tries to poison them, a few rounds of every attack frame.
    PacketSocket attacker(vm1.ns);
    auto g0 = vm1.vm->counts(VM_PATH_GUARD);
    std::map<std::string, uint64_t> want_drops;
    for (int round = 0; round < 3; round++)
        for (const auto& a : impact["attacks"]) {
            attacker.send(vm1.eth0(), unhex(a["hex"]), 1);
            if (round == 0)
                want_drops[a["reason"]] += 3;
        }
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    auto g1 = vm1.vm->counts(VM_PATH_GUARD);
    std::string drops;
    for (const auto& [reason, n] : want_drops) {
        uint32_t r = 0;
        while (r < VM_REASONS && reason != vmhost::reason_name(r))
            r++;
        REQUIRE(r < VM_REASONS);
        drops += fmt::format(" {} {}/{}", reason, g1[r] - g0[r], n);
        INFO("the guard's " << reason << " drops during the attack");
        CHECK(g1[r] - g0[r] >= n);  // VM1's own stack adds only passes
    }
    fmt::print("poisoning attempts: {} frames; guard drops (got/want):{}\n", 3 * impact["attacks"].size(), drops);

    // 3. The caches still name VM2's MAC, and VM2 still answers.
    for (const auto& o : observers)
        for (const auto& addr : {v4, v6}) {
            std::string state;
            std::string mac = neigh(o, addr, &state);
            fmt::print("{}: {} lladdr {} state {}\n", o.name, addr, mac.empty() ? "(none)" : mac, state);
            INFO(o.name << "'s neighbour entry for " << addr << " after the attack");
            CHECK(mac == vmac);
            INFO(o.name << " pings " << addr << " after the attack");
            CHECK(ping(o, addr));
            CHECK(neigh(o, addr, nullptr) == vmac);
        }

    // 4. Control: the attack frames are real poison. Put straight onto ext's
    // link from the host side (past the guard), they rewrite ext's entries.
    const std::string attacker_mac = doc["topology"]["vms"]["vm1"]["mac"];
    // ARP ignores a reply within locktime (1 s) of an entry's last update;
    // waiting it out was not enough in the TCG guest (make vmtest), where
    // the pings above can land late: no lock for the control.
    write_sysctl(*observers[0].ns, std::string("net/ipv4/neigh/") + observers[0].dev + "/locktime", "0");
    PacketSocket past_guard(Netns::current());
    for (const auto& a : impact["attacks"])
        if (a["name"] == "arp-reply-vm2-ip-to-ext" || a["name"] == "nd-na-vm2-unicast-to-ext")
            past_guard.send(h.uplink->near().ifindex, unhex(a["hex"]), 1);
    bool poisoned = eventually([&] {
        return neigh(observers[0], v4, nullptr) == attacker_mac && neigh(observers[0], v6, nullptr) == attacker_mac;
    });
    fmt::print("control, past the guard: ext now has {} at {} and {} at {}\n", v4, neigh(observers[0], v4, nullptr),
               v6, neigh(observers[0], v6, nullptr));
    INFO("the same ARP reply and NA, not through the guard, poison ext's cache");
    CHECK(poisoned);
}

TEST_CASE("port security: a VM cannot make another VM's duplicate address detection fail",
          "[vmhost][port-security]")
{
    // RFC 4862 5.4.3/5.4.4: an NA for a tentative address, or a DAD probe for
    // it from someone else, makes DAD fail. VM1 sends both while VM2 brings
    // up an address; the guard drops them (nd-spoof), so VM2 keeps it. The
    // control: the same frames put on VM2's link from the host side do make
    // VM2's DAD fail for another address.
    const json doc = load_matrix();
    const json& impact = doc["impact"];
    const json& dad = impact["dad"];
    PortSecurityHost h(doc["topology"], true, &impact);
    VmNode &vm1 = h.vm("vm1"), &vm2 = h.vm("vm2");

    // "ok", "tentative", "dadfailed" or "absent", from VM2's `ip -j -6 addr`.
    auto state = [&](const std::string& addr) {
        auto r = run_in(vm2.ns, {"ip", "-j", "-6", "addr", "show", "dev", "eth0"});
        if (r.status != 0)
            throw std::runtime_error("ip -j -6 addr failed: " + r.output);
        for (const auto& link : json::parse(r.output))
            for (const auto& a : link.value("addr_info", json::array()))
                if (a.value("local", "") == addr)
                    return std::string(a.value("dadfailed", false) ? "dadfailed"
                                       : a.value("tentative", false) ? "tentative"
                                                                     : "ok");
        return std::string("absent");
    };
    // Adds `addr` to VM2 (with DAD) while `send` repeats `frames`; returns
    // the address's state once DAD has ended (or 5 s have passed).
    auto add_under_attack = [&](const std::string& addr, const std::function<void(const Frame&)>& send,
                                const json& frames) {
        std::vector<Frame> fs;
        for (const auto& f : frames)
            fs.push_back(unhex(f["hex"]));
        std::atomic<bool> stop{false};
        std::thread attacker([&] {
            while (!stop) {
                for (const auto& f : fs)
                    send(f);
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
            }
        });
        std::string s;
        try {
            sh_in(vm2.ns, {"ip", "addr", "add", addr + "/64", "dev", "eth0"});
            eventually([&] { return (s = state(addr)) == "ok" || s == "dadfailed"; }, std::chrono::milliseconds(5000));
        } catch (...) {
            stop = true;
            attacker.join();
            throw;
        }
        stop = true;
        attacker.join();
        return s;
    };

    PacketSocket from_vm1(vm1.ns);
    auto g0 = vm1.vm->counts(VM_PATH_GUARD);
    std::string through = add_under_attack(dad["through_guard"],
                                           [&](const Frame& f) { from_vm1.send(vm1.eth0(), f, 1); }, dad["attacks"]);
    auto g1 = vm1.vm->counts(VM_PATH_GUARD);
    fmt::print("DAD of {} in VM2 while VM1 claims it through the guard: {} (guard nd-spoof drops: {})\n",
               dad["through_guard"].get<std::string>(), through, g1[VM_DROP_ND_SPOOF] - g0[VM_DROP_ND_SPOOF]);
    CHECK(g1[VM_DROP_ND_SPOOF] - g0[VM_DROP_ND_SPOOF] >= 2);
    CHECK(through == "ok");

    PacketSocket host_side(Netns::current());
    std::string control = add_under_attack(dad["control"], [&](const Frame& f) { host_side.send(vm2.tap(), f, 1); },
                                           dad["control_frames"]);
    fmt::print("control: DAD of {} with the same frames put on VM2's link past the guard: {}\n",
               dad["control"].get<std::string>(), control);
    CHECK(control == "dadfailed");
}
