#include "guard.hpp"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <netinet/in.h>


#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench_guard.skel.h"
#include "frame_sink.skel.h"
#include "frames.hpp"
#include "netns.hpp"
#include "skel.hpp"
#include "test_run.hpp"
#include "traffic.hpp"
#include "veth.hpp"
#include "vm_host.hpp"
#include "xdp.hpp"

namespace netlab {
TESTING_SKEL(bench_guard)
TESTING_SKEL(frame_sink)
}

namespace bench {

namespace {
using json = nlohmann::json;

const vmhost::Mac kVmMac{{0x02, 0, 0, 0, 0, 0x05}};
const vmhost::Mac kTapMac{{0x02, 0xaa, 0, 0, 0, 0x05}};
const netlab::Mac kExtMac{{0x02, 0, 0, 0, 0, 0x77}};

// The VM a guard protects: the addresses, a /64 and an allowed pair make
// the owned-address maps as a real VM's would be.
vmhost::VmPolicy vm_policy()
{
    vmhost::VmPolicy p;
    p.mac = kVmMac;
    p.host_mac = kTapMac;
    p.addrs = {vmhost::IpAddr::parse("10.1.0.5"), vmhost::IpAddr::parse("fd00::5")};
    p.prefixes = {vmhost::Prefix::parse("2001:db8:5::/64")};
    p.allowed_pairs = {{vmhost::Mac::parse("00:00:5e:00:01:07"), vmhost::Prefix::parse("10.1.0.100/32")}};
    return p;
}

struct GuardFrame {
    std::string name;
    netlab::Frame bytes;
};

std::vector<GuardFrame> legit_frames()
{
    netlab::Mac vm{};
    std::copy(kVmMac.b.begin(), kVmMac.b.end(), vm.b);
    in_addr src{}, dst{};
    inet_pton(AF_INET, "10.1.0.5", &src);
    inet_pton(AF_INET, "198.51.100.7", &dst);
    uint8_t src6[16], dst6[16];
    inet_pton(AF_INET6, "fd00::5", src6);
    inet_pton(AF_INET6, "2001:db8:1::7", dst6);
    // A TCP SYN: the first frame of a flow the security groups let open,
    // then its retransmission, from the second run on.
    auto tcp = [](netlab::Frame f, size_t proto_at) {
        f[proto_at] = IPPROTO_TCP;
        size_t l4 = proto_at == 14 + 9 ? 14 + 20 : 14 + 40;
        f[l4 + 12] = 0x50;  // data offset 5
        f[l4 + 13] = 0x02;  // SYN
        return f;
    };
    auto u4 = netlab::udp4_frame(src.s_addr, dst.s_addr, 40000, 443, 18, kExtMac, vm);
    auto u6 = netlab::udp6_frame(src6, dst6, 40000, 443, 18, kExtMac, vm);
    return {{"udp4", u4}, {"tcp4", tcp(u4, 14 + 9)}, {"udp6", u6}, {"tcp6", tcp(u6, 14 + 6)}};
}

json stats(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    return {{"median", v[v.size() / 2]}, {"min", v.front()}, {"max", v.back()}, {"samples", v}};
}
}  // namespace

json guard_section(uint32_t repeat, int runs)
{
    // A host with one VM, as VmHost builds it: the guard is the real one.
    netlab::Netns ext = netlab::Netns::create();
    netlab::VethPair uplink("gbnic", "gbext", ext), tap("gbtap", "gbeth", ext);
    auto sink = netlab::open_load<frame_sink>();
    netlab::attach_xdp_in(ext, uplink.far().ifindex, bpf_program__fd(sink->progs.frame_sink));
    netlab::attach_xdp_in(ext, tap.far().ifindex, bpf_program__fd(sink->progs.frame_sink));
    vmhost::VmHost host(dme::Interface::index(uplink.near().ifindex));
    auto policy = vm_policy();
    vmhost::Vm& vm = host.add_vm(5, dme::Interface::index(tap.near().ifindex), policy);
    dme::Fd guard = dme::open_program_by_id(vm.objects().prog_ids.at(2));

    // The baselines, on the host's forwarding maps and the same identity.
    auto base = netlab::open_only<bench_guard>();
    if (bpf_map__reuse_fd(base->maps.tx_ports, host.tx_ports_fd()) ||
        bpf_map__reuse_fd(base->maps.mac_to_port, host.mac_to_port_fd()) || bench_guard__load(base.get()))
        throw std::runtime_error("guard bench: loading bench_guard failed");
    uint32_t zero = 0;
    vm_identity id{};
    std::memcpy(id.mac, kVmMac.b.data(), 6);
    std::memcpy(id.host_mac, kTapMac.b.data(), 6);
    bpf_map_update_elem(bpf_map__fd(base->maps.v1_identity), &zero, &id, BPF_ANY);
    for (const auto& a : policy.addrs) {
        struct {
            uint32_t family;
            uint8_t addr[16];
        } k{};
        k.family = uint32_t(a.family);
        std::memcpy(k.addr, a.bytes.data(), 16);
        uint8_t one = 1;
        bpf_map_update_elem(bpf_map__fd(base->maps.v1_addrs), &k, &one, BPF_ANY);
    }

    struct Prog {
        std::string name;
        int fd;
    };
    std::vector<Prog> progs = {{"none", bpf_program__fd(base->progs.guard_none)},
                               {"v1", bpf_program__fd(base->progs.guard_v1)},
                               {"guard", guard.get()}};
    auto frames = legit_frames();
    // samples[frame][prog]: the program alone, and a frame's whole path as
    // live frames (received on the tap, judged, redirected to the uplink,
    // transmitted to a sink that drops it).
    using Samples = std::vector<std::vector<std::vector<double>>>;
    Samples samples(frames.size(), std::vector<std::vector<double>>(progs.size())), path = samples;
    const uint32_t live = std::max(repeat / 4, 256u);
    for (auto& f : frames)  // warm-up
        for (auto& p : progs) {
            test_run(p.fd, f.bytes, std::max(repeat / 4, 1u), XDP_REDIRECT, "guard bench");
            netlab::run_live_frames(p.fd, f.bytes, live, tap.near().ifindex);
        }
    for (int r = 0; r < runs; r++)
        for (size_t f = 0; f < frames.size(); f++)
            for (size_t k = 0; k < progs.size(); k++) {
                size_t p = (k + size_t(r) + f) % progs.size();  // rotate who goes first
                samples[f][p].push_back(test_run(progs[p].fd, frames[f].bytes, repeat, XDP_REDIRECT, "guard bench").cpu_ns);
                path[f][p].push_back(netlab::run_live_frames(progs[p].fd, frames[f].bytes, live, tap.near().ifindex));
            }

    // Every live frame must have crossed to the uplink's far end, or the
    // path figures timed something else.
    uint64_t offered = uint64_t(runs) * frames.size() * progs.size() * live + frames.size() * progs.size() * live;
    uint64_t arrived = netlab::read_counters(bpf_map__fd(sink->maps.counters)).packets;

    json rows = json::array();
    for (size_t f = 0; f < frames.size(); f++) {
        json row = {{"frame", frames[f].name}, {"repeat", repeat}};
        for (size_t p = 0; p < progs.size(); p++) {
            row["ns_per_frame"][progs[p].name] = stats(samples[f][p]);
            row["path_ns_per_frame"][progs[p].name] = stats(path[f][p]);
        }
        auto med = [&](const char* what, size_t p) { return row[what][progs[p].name]["median"].get<double>(); };
        row["guard_to_v1"] = med("ns_per_frame", 2) / med("ns_per_frame", 1);
        row["guard_to_none"] = med("ns_per_frame", 2) / med("ns_per_frame", 0);
        row["v1_to_none"] = med("ns_per_frame", 1) / med("ns_per_frame", 0);
        row["path_guard_to_v1"] = med("path_ns_per_frame", 2) / med("path_ns_per_frame", 1);
        row["path_guard_to_none"] = med("path_ns_per_frame", 2) / med("path_ns_per_frame", 0);
        row["path_delivered"] = double(arrived) / double(offered);
        rows.push_back(row);
    }
    return rows;
}

}  // namespace bench
