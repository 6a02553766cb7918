#include "secgroups.hpp"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <netinet/in.h>
#include <unistd.h>


#include <algorithm>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench_secgroups.skel.h"
#include "bench_shared_slot.skel.h"
#include "vm_firewall.skel.h"
#include "frames.hpp"
#include "conntrack_stats.hpp"
#include "policy_maps.hpp"
#include "skel.hpp"
#include "test_run.hpp"

namespace netlab {
TESTING_SKEL(bench_secgroups)
TESTING_SKEL(bench_shared_slot)
TESTING_SKEL(vm_firewall)
}

namespace bench {

namespace {
using json = nlohmann::json;
using vmhost::SgRule;

const vmhost::Mac kVmMac{{0x02, 0, 0, 0, 0, 0x05}};
const vmhost::Mac kTapMac{{0x02, 0xaa, 0, 0, 0, 0x05}};
const netlab::Mac kExtMac{{0x02, 0, 0, 0, 0, 0x77}};
constexpr uint16_t kEphemeral = 40000, kStatelessPort = 7000, kServicePort = 8000;

SgRule rule(SgRule::Dir dir, int family, uint16_t port, bool stateful, const char* remote)
{
    SgRule r;
    r.dir = dir;
    r.family = family;
    r.proto = IPPROTO_UDP;
    r.port_min = r.port_max = port;
    r.stateful = stateful;
    r.remote = vmhost::Prefix::parse(remote);
    return r;
}

// One VM: the allow-list the stateless firewall needs for a reply to the
// VM's query (its ephemeral port, as operators had to), a stateless rule, a
// stateful service rule, and Neutron's default egress rules.
vmhost::VmPolicy vm_policy()
{
    vmhost::VmPolicy p;
    p.mac = kVmMac;
    p.host_mac = kTapMac;
    p.addrs = {vmhost::IpAddr::parse("10.1.0.5"), vmhost::IpAddr::parse("fd00::5")};
    p.allow_src = {vmhost::Prefix::parse("198.51.100.0/24"), vmhost::Prefix::parse("2001:db8:1::/64")};
    p.allow_ports = {{IPPROTO_UDP, kEphemeral}};
    p.rules = {rule(SgRule::Dir::to_vm, 4, kStatelessPort, false, "198.51.100.0/24"),
               rule(SgRule::Dir::to_vm, 6, kStatelessPort, false, "2001:db8:1::/64"),
               rule(SgRule::Dir::to_vm, 4, kServicePort, true, "198.51.100.0/24"),
               rule(SgRule::Dir::to_vm, 6, kServicePort, true, "2001:db8:1::/64")};
    for (auto& r : vmhost::default_rules())
        p.rules.push_back(r);
    return p;
}

struct Family {
    const char* name;
    netlab::Frame (*to_vm)(uint16_t sport, uint16_t dport);
    netlab::Frame (*from_vm)(uint16_t sport, uint16_t dport);
};

netlab::Mac mac(const vmhost::Mac& m)
{
    netlab::Mac out{};
    std::copy(m.b.begin(), m.b.end(), out.b);
    return out;
}

uint32_t v4(const char* s)
{
    in_addr a{};
    inet_pton(AF_INET, s, &a);
    return a.s_addr;
}

const Family kFamilies[] = {
    {"udp4",
     [](uint16_t sport, uint16_t dport) {
         return netlab::udp4_frame(v4("198.51.100.7"), v4("10.1.0.5"), sport, dport, 18, mac(kVmMac), kExtMac);
     },
     [](uint16_t sport, uint16_t dport) {
         return netlab::udp4_frame(v4("10.1.0.5"), v4("198.51.100.7"), sport, dport, 18, kExtMac, mac(kVmMac));
     }},
    {"udp6",
     [](uint16_t sport, uint16_t dport) {
         uint8_t src[16], dst[16];
         inet_pton(AF_INET6, "2001:db8:1::7", src);
         inet_pton(AF_INET6, "fd00::5", dst);
         return netlab::udp6_frame(src, dst, sport, dport, 18, mac(kVmMac), kExtMac);
     },
     [](uint16_t sport, uint16_t dport) {
         uint8_t src[16], dst[16];
         inet_pton(AF_INET6, "fd00::5", src);
         inet_pton(AF_INET6, "2001:db8:1::7", dst);
         return netlab::udp6_frame(src, dst, sport, dport, 18, kExtMac, mac(kVmMac));
     }},
};

double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[v.size() / 2];
}

// The kernel's estimate of a map's memory (fdinfo "memlock").
uint64_t map_memory(int fd)
{
    std::ifstream in("/proc/self/fdinfo/" + std::to_string(fd));
    std::string key;
    uint64_t value = 0;
    while (in >> key) {
        if (key == "memlock:" && in >> value)
            return value;
        in.ignore(1 << 16, '\n');
    }
    return 0;
}

json table_memory(uint32_t flows, uint32_t key_size)
{
    int fd = bpf_map_create(BPF_MAP_TYPE_LRU_HASH, "ct_1m", key_size, sizeof(vm_ct_entry), flows, nullptr);
    if (fd < 0)
        throw std::runtime_error(std::string("security-groups bench: a ") + std::to_string(flows) +
                                 "-flow table: " + std::strerror(errno));
    uint64_t bytes = map_memory(fd);
    close(fd);
    return {{"flows", flows}, {"bytes", bytes}, {"bytes_per_flow", double(bytes) / flows}};
}
}  // namespace

json secgroups_section(uint32_t repeat, int runs, uint32_t flows)
{
    // The VM's own programs, its slot firewall loaded as plain XDP: a
    // devmap program cannot be test-run on its own.
    auto vm = netlab::open_only<vm_firewall>();
    if (bpf_program__set_expected_attach_type(vm->progs.vm_fw_xdp, BPF_XDP) ||
        bpf_program__set_autoload(vm->progs.vm_guard_tc, false) || vm_firewall__load(vm.get()))
        throw std::runtime_error(std::string("security-groups bench: loading vm_firewall: ") + std::strerror(errno));
    auto base = netlab::open_load<bench_secgroups>();
    auto policy = vm_policy();
    auto maps = vmhost::PolicyMaps::of(vm->obj);
    vmhost::write_policy(maps, policy);
    vmhost::write_policy(vmhost::PolicyMaps::of(base->obj), policy);
    // The guard's uplink port, so that what the VM sends is redirected (a
    // test run only looks the port up).
    uint32_t uplink = 0;
    bpf_devmap_val lo{};
    lo.ifindex = 1;
    if (bpf_map_update_elem(bpf_map__fd(vm->maps.tx_ports), &uplink, &lo, BPF_ANY))
        throw std::runtime_error(std::string("security-groups bench: the guard's uplink port: ") + std::strerror(errno));
    // The shared slot firewall (vmhostd's host.slot_programs = "shared"),
    // on the very same maps: the VM's at index 0 of its outer maps, found
    // by the test run's device (loopback, ifindex 1).
    auto shared = netlab::open_only<bench_shared_slot>();
    if (bpf_map__reuse_fd(shared->maps.vm_sg_members, bpf_map__fd(vm->maps.vm_sg_members)) ||
        bench_shared_slot__load(shared.get()))
        throw std::runtime_error(std::string("security-groups bench: loading bench_shared_slot: ") + std::strerror(errno));
    {
        uint32_t index = 0, lo = 1;
        bpf_map* m = nullptr;
        bpf_object__for_each_map(m, shared->obj)
        {
            if (bpf_map__type(m) != BPF_MAP_TYPE_ARRAY_OF_MAPS)
                continue;
            int inner = bpf_map__fd(bpf_object__find_map_by_name(vm->obj, bpf_map__name(m)));
            if (bpf_map_update_elem(bpf_map__fd(m), &index, &inner, BPF_ANY))
                throw std::runtime_error(std::string("security-groups bench: the shared program's ") +
                                         bpf_map__name(m) + ": " + std::strerror(errno));
        }
        if (bpf_map_update_elem(bpf_map__fd(shared->maps.vm_slot_index), &lo, &index, BPF_ANY))
            throw std::runtime_error(std::string("security-groups bench: vm_slot_index: ") + std::strerror(errno));
    }
    int v1 = bpf_program__fd(base->progs.fw_v1), fw = bpf_program__fd(vm->progs.vm_fw_xdp),
        out = bpf_program__fd(vm->progs.vm_guard), fw_shared = bpf_program__fd(shared->progs.vm_fw_shared);
    const char* who = "security-groups bench";

    json rows = json::array();
    for (const auto& fam : kFamilies) {
        // The VM asks; its query opens a flow (the default egress rule).
        test_run(out, fam.from_vm(kEphemeral, 53), 1, XDP_REDIRECT, who);
        netlab::Frame reply = fam.to_vm(53, kEphemeral), stateless = fam.to_vm(53, kStatelessPort);
        struct Case {
            const char* name;
            int fd;
            const netlab::Frame* frame;
        } cases[] = {{"stateless_v1", v1, &reply},
                     {"stateless_rule", fw, &stateless},
                     {"ct_hit", fw, &reply},
                     {"shared_stateless_rule", fw_shared, &stateless},
                     {"shared_ct_hit", fw_shared, &reply}};
        std::vector<std::vector<double>> samples(std::size(cases));
        for (auto& c : cases)  // warm-up
            test_run(c.fd, *c.frame, repeat, XDP_PASS, who);
        for (int r = 0; r < runs; r++)
            for (size_t k = 0; k < std::size(cases); k++) {
                size_t i = (k + size_t(r)) % std::size(cases);  // rotate who goes first
                samples[i].push_back(test_run(cases[i].fd, *cases[i].frame, repeat, XDP_PASS, who).cpu_ns);
            }

        // New flows cannot repeat: `flows` distinct ones, one run each, by
        // the kernel's measure; then the same frames again, now tracked.
        std::vector<double> fresh, again;
        std::vector<netlab::Frame> frames;
        for (uint32_t i = 0; i < flows; i++)
            frames.push_back(fam.to_vm(uint16_t(10000 + i), kServicePort));
        for (const auto& f : frames)
            fresh.push_back(test_run(fw, f, 1, XDP_PASS, who).kernel_ns);
        for (const auto& f : frames)
            again.push_back(test_run(fw, f, 1, XDP_PASS, who).kernel_ns);

        json row = {{"frame", fam.name}, {"repeat", repeat}};
        for (size_t i = 0; i < std::size(cases); i++)
            row["ns_per_frame"][cases[i].name] = median(samples[i]);
        auto ns = [&](const char* n) { return row["ns_per_frame"][n].get<double>(); };
        row["ct_hit_to_v1"] = ns("ct_hit") / ns("stateless_v1");
        row["stateless_rule_to_v1"] = ns("stateless_rule") / ns("stateless_v1");
        row["shared_ct_hit_to_ct_hit"] = ns("shared_ct_hit") / ns("ct_hit");
        row["shared_stateless_rule_to_stateless_rule"] = ns("shared_stateless_rule") / ns("stateless_rule");
        row["new_flow_kernel_ns"] = median(fresh);
        row["tracked_flow_kernel_ns"] = median(again);
        row["new_flow_to_ct_hit"] = median(fresh) / std::max(median(again), 1.0);
        rows.push_back(row);
    }
    auto st = vmhost::read_conntrack(maps.ct4, maps.ct6, maps.ct_stats);
    return {{"rows", rows},
            {"table", {{"entries", st.entries}, {"created", st.created}, {"evicted", st.evicted}}},
            {"memory", table_memory(1u << 20, sizeof(vm_ct4_key))},
            {"memory6", table_memory(1u << 20, sizeof(vm_ct_key))}};
}

}  // namespace bench
