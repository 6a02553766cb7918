// vmhostd's shared slot program (host.slot_programs, docs/vmhostd.md): on a
// kernel with map-wide default programs every VM's slot inherits one
// program, vm_fw_shared, which finds the VM's own maps by the frame's egress
// device. Its verdicts are the per-VM program's; the default is swapped for
// every VM in one call with no frame unjudged; a VM that leaves takes its
// maps out of the shared program's outer maps; a device no VM owns is
// dropped. On a stock kernel "shared" is refused and "auto" is per-VM.
#include <catch2/catch.hpp>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <string>
#include <vector>

#include <bpf_ext/bpf_ext.h>
#include <devmap_egress/probe.hpp>

#include "daemon.hpp"
#include "fixtures.hpp"
#include "vm_fw_shared.skel.h"
#include "vm_paths.hpp"
#include "vm_shared_types.h"
#include "vmhostd_helpers.hpp"

using namespace netlab;
using namespace vmhostd_test;
using Catch::Matchers::Contains;

namespace {
using Log = std::vector<std::string>;

const std::string kState = "/sys/fs/bpf/vmhostd/";

// The configuration with host.slot_programs set.
std::string with_slots(const std::string& config, const std::string& mode)
{
    const size_t eol = config.find('\n', config.find("uplink")) + 1;
    return config.substr(0, eol) + "slot_programs = \"" + mode + "\"\n" + config.substr(eol);
}

// Beside r (UDP 5000 and 6000 in, any IPv4 out): s on vdtaps (slot 2), UDP
// 7000 in and nothing out, and t on vdtapt (slot 3) with no rule at all.
const char* const kMoreVms = "\n[[vm]]\nname = \"s\"\nmac = \"52:54:00:aa:00:22\"\ntap = \"vdtaps\"\n"
                             "addresses = [\"10.7.0.22\"]\n"
                             "[[vm.rule]]\ndirection = \"ingress\"\nethertype = \"IPv4\"\nprotocol = \"udp\"\nport = 7000\n"
                             "\n[[vm]]\nname = \"t\"\nmac = \"52:54:00:aa:00:23\"\ntap = \"vdtapt\"\n"
                             "addresses = [\"10.7.0.23\"]\n";
const Mac kSMac{{0x52, 0x54, 0, 0xaa, 0, 0x22}}, kTMac{{0x52, 0x54, 0, 0xaa, 0, 0x23}};

std::string config() { return service_config({5000, 6000}, kMoreVms); }

Frame to(const char* ip, Mac mac, uint16_t sport, uint16_t dport)
{
    return udp4_frame(ip4("198.51.100.7"), ip4(ip), sport, dport, 18, mac, kExt);
}

Frame from(const char* ip, Mac mac, uint16_t sport, uint16_t dport)
{
    return udp4_frame(ip4(ip), ip4("198.51.100.7"), sport, dport, 18, kExt, mac);
}

bool kernel_has_defaults() { return dme::probe_features().default_prog == BPFEXT_SUPPORTED; }

// Legitimate, blocked and spoofed frames through the three VMs' paths, in a
// fixed order; the verdict (vm_reason) of each.
std::vector<int> judge(vmhost::Daemon& d, const Target& uplink, const Target& tr, const Target& ts, const Target& tt)
{
    VmPaths r(d.host(), *d.host().vm(1), uplink, tr), s(d.host(), *d.host().vm(2), uplink, ts),
        t(d.host(), *d.host().vm(3), uplink, tt);
    return {
        r.xdp(to_r(4444, 5000)),                              // allowed
        r.xdp(to_r(4444, 7000)),                              // s's port, not r's
        r.xdp(to("10.7.0.99", kRMac, 4444, 5000)),            // not r's address
        r.xdp(to("10.7.0.21", kSMac, 4444, 5000)),            // not r's MAC
        r.guard(from_r(40000, 53)),                           // r opens a flow
        r.xdp(to_r(53, 40000)),                               // its answer: tracked, by the guard's entry
        r.xdp(to_r(53, 40001)),                               // no flow, no rule
        r.guard(from("10.7.0.22", kRMac, 40000, 53)),         // r as s's address
        s.xdp(to("10.7.0.22", kSMac, 4444, 7000)),            // allowed to s
        s.xdp(to("10.7.0.22", kSMac, 4444, 5000)),            // r's port, not s's
        s.xdp(to_r(4444, 5000)),                              // r's frame in s's slot
        s.guard(from("10.7.0.22", kSMac, 40000, 53)),         // s may send nothing
        t.xdp(to("10.7.0.23", kTMac, 4444, 5000)),            // t allows nothing
        t.xdp(to("10.7.0.21", kTMac, 4444, 5000)),            // r's address on t's MAC
        s.xdp(to("10.7.0.22", kSMac, 4444, 7000)),            // s again, after the others
    };
}

// Entries of a pinned map (outer maps: how many indexes hold a map).
size_t entries(const std::string& pin, uint32_t key_size)
{
    dme::Fd fd(bpf_obj_get((kState + pin).c_str()));
    REQUIRE(fd);
    std::vector<uint8_t> key(key_size), next(key_size);
    size_t n = 0;
    const void* prev = nullptr;
    bpf_map_info info{};
    uint32_t len = sizeof(info);
    REQUIRE(bpf_obj_get_info_by_fd(fd.get(), &info, &len) == 0);
    if (info.type == BPF_MAP_TYPE_ARRAY_OF_MAPS) {
        for (uint32_t i = 0; i < info.max_entries; i++) {
            uint32_t id = 0;
            n += bpf_map_lookup_elem(fd.get(), &i, &id) == 0;
        }
        return n;
    }
    while (!bpf_map_get_next_key(fd.get(), prev, next.data())) {
        n++;
        key = next;
        prev = key.data();
    }
    return n;
}
}  // namespace

TEST_CASE("vmhostd: VMs sharing the slot program get the per-VM program's verdicts, tracked flows included",
          "[vmhost][vmhostd][default][patched-kernel]")
{
    REQUIRE(kernel_has_defaults());
    Target uplink("vdnic"), tr("vdtapr"), ts("vdtaps"), tt("vdtapt");
    std::vector<int> per_vm, shared;
    {
        Log log;
        vmhost::Daemon d(vmhost::parse_config(with_slots(config(), "per-vm"), "a.toml"),
                         [&](const std::string& l) { log.push_back(l); });
        REQUIRE_FALSE(d.host().shared_slots());
        CHECK(logged(log, "slot programs: per-VM (host.slot_programs = \"per-vm\")"));
        per_vm = judge(d, uplink, tr, ts, tt);
    }
    {
        Log log;
        vmhost::Daemon d(vmhost::parse_config(config(), "a.toml"), [&](const std::string& l) { log.push_back(l); });
        REQUIRE(d.host().shared_slots());  // auto, on this kernel
        CHECK(logged(log, "slot programs: shared (host.slot_programs = \"auto\""));
        for (uint32_t port : {1u, 2u, 3u}) {
            // Each slot inherits the one program; no VM has a vm_fw_xdp.
            auto slot = d.host().ports().get(port);
            REQUIRE(slot);
            CHECK(slot->prog.inherited);
            CHECK(slot->prog.id == d.host().shared_prog_id());
            CHECK(d.host().vm(port)->objects().prog_ids.at(0) == d.host().shared_prog_id());
        }
        auto uplink_slot = d.host().ports().get(vmhost::VmHost::kUplinkPort);
        REQUIRE(uplink_slot);
        CHECK(uplink_slot->prog.opted_out);
        CHECK(entries("shared/vm_slot_index", 4) == 3);
        shared = judge(d, uplink, tr, ts, tt);
        CHECK(d.host().shared_drops(VM_SHARED_UNKNOWN_DEV) == 0);
        CHECK(d.host().shared_drops(VM_SHARED_INCOMPLETE) == 0);
    }
    const std::vector<int> want = {VM_PASS,         VM_DROP_NO_RULE, VM_DROP_DST_IP,  VM_DROP_DST_MAC, VM_PASS,
                                   VM_PASS,         VM_DROP_NO_RULE, VM_DROP_IP_SPOOF, VM_PASS,        VM_DROP_NO_RULE,
                                   VM_DROP_DST_MAC, VM_DROP_NO_RULE, VM_DROP_NO_RULE, VM_DROP_DST_IP,  VM_PASS};
    CHECK(per_vm == want);
    CHECK(shared == per_vm);
}

TEST_CASE("vmhostd: the shared slot program is swapped for every VM in one call under traffic, no frame unjudged",
          "[vmhost][vmhostd][default][patched-kernel]")
{
    REQUIRE(kernel_has_defaults());
    Target uplink("vdnic"), tr("vdtapr"), ts("vdtaps"), tt("vdtapt");
    Log log;
    vmhost::Daemon d(vmhost::parse_config(with_slots(config(), "shared"), "a.toml"),
                     [&](const std::string& l) { log.push_back(l); });
    REQUIRE(d.host().shared_slots());
    const uint32_t first = d.host().shared_prog_id();
    // Another build of the program on the same outer maps, as the next
    // vmhostd loads it: the VMs' entries are the pinned maps'.
    std::unique_ptr<vm_fw_shared, decltype(&vm_fw_shared__destroy)> next(vm_fw_shared__open(), vm_fw_shared__destroy);
    REQUIRE(next);
    bpf_map* m = nullptr;
    bpf_object__for_each_map(m, next->obj)
    {
        const std::string name = bpf_map__name(m);
        const std::string pin = name == "vm_sg_members" ? "sg_members" : "shared/" + name;
        dme::Fd fd(bpf_obj_get((kState + pin).c_str()));
        if (fd)
            REQUIRE(bpf_map__reuse_fd(m, fd.get()) == 0);
    }
    REQUIRE(vm_fw_shared__load(next.get()) == 0);
    dme::Fd first_fd(bpf_obj_get((kState + "shared/fw").c_str()));
    REQUIRE(prog_id_of(first_fd.get()) == first);

    const auto before_r = d.host().vm(1)->counts(VM_PATH_XDP), before_s = d.host().vm(2)->counts(VM_PATH_XDP);
    SlotStream to_r_stream(d.host(), 1, to_r(4444, 5000), uplink.near().ifindex);
    SlotStream to_s_stream(d.host(), 2, to("10.7.0.22", kSMac, 4444, 5000), uplink.near().ifindex);
    int swaps = 0;
    for (int i = 0; i < 40; i++) {
        to_r_stream.wait_for(uint64_t(64) * (i + 1) * 4);
        const int fd = i % 2 ? first_fd.get() : bpf_program__fd(next->progs.vm_fw_shared);
        swaps += bpfext_map_set_default_prog(d.host().tx_ports_fd(), fd) == 0;
    }
    const uint64_t sent_r = to_r_stream.stop(), sent_s = to_s_stream.stop();
    CHECK(swaps == 40);
    CHECK(d.host().shared_prog_id() == first);  // the last swap put it back
    // Every frame was judged by one build or the other, in its VM's maps:
    // r's all passed, s's all dropped (5000 is not s's port).
    const auto after_r = d.host().vm(1)->counts(VM_PATH_XDP), after_s = d.host().vm(2)->counts(VM_PATH_XDP);
    CHECK(after_r[VM_PASS] - before_r[VM_PASS] == sent_r);
    CHECK(drops(after_r) == drops(before_r));
    CHECK(after_s[VM_DROP_NO_RULE] - before_s[VM_DROP_NO_RULE] == sent_s);
    CHECK(after_s[VM_PASS] == before_s[VM_PASS]);
    CHECK(d.host().shared_drops(VM_SHARED_UNKNOWN_DEV) + d.host().shared_drops(VM_SHARED_INCOMPLETE) == 0);
    CHECK(eventually([&] { return tr.received() >= sent_r; }));
    CHECK(ts.received() == 0);
    INFO("frames across 40 swaps: " << sent_r << " to r, " << sent_s << " to s");
    std::printf("shared slot program: 40 swaps of the default under %llu + %llu frames, every one judged\n",
                (unsigned long long)sent_r, (unsigned long long)sent_s);

    // s leaves: its device's index and its maps leave the outer maps, and
    // nothing of it is left in the kernel.
    const auto s_objects = d.host().vm(2)->objects();
    const uint32_t s_ifindex = ts.near().ifindex;
    auto r = d.reload(vmhost::parse_config(with_slots(service_config({5000, 6000},
                                                                     "\n[[vm]]\nname = \"t\"\nmac = \"52:54:00:aa:00:23\"\n"
                                                                     "tap = \"vdtapt\"\naddresses = [\"10.7.0.23\"]\n"),
                                                      "shared"),
                                           "b.toml"));
    CHECK(r.ok);
    dme::Fd index(bpf_obj_get((kState + "shared/vm_slot_index").c_str()));
    uint32_t at = 0;
    CHECK(bpf_map_lookup_elem(index.get(), &s_ifindex, &at) != 0);
    CHECK(entries("shared/vm_slot_index", 4) == 2);
    for (const char* outer : {"vm_identity", "verdicts", "vm_ct4", "allow_ports"})
        CHECK(entries(std::string("shared/") + outer, 4) == 2);  // r's and t's
    size_t left = 0;
    eventually([&] {
        left = 0;
        for (size_t k = 0; k < s_objects.map_ids.size(); k++)
            left += map_exists(s_objects.map_ids[k]);
        for (size_t k = 1; k < s_objects.prog_ids.size(); k++)  // [0] is the shared program
            left += prog_exists(s_objects.prog_ids[k]);
        return left == 0;
    });
    CHECK(left == 0);
    // r carries on.
    VmPaths paths(d.host(), *d.host().vm(1), uplink, tr);
    CHECK(paths.xdp(to_r(4444, 6000)) == VM_PASS);
}

TEST_CASE("vmhostd: a frame the shared slot program meets for a device no VM owns is dropped and counted",
          "[vmhost][vmhostd][default][patched-kernel]")
{
    REQUIRE(kernel_has_defaults());
    Target uplink("vdnic"), tr("vdtapr"), other("vdother");
    vmhost::Daemon d(vmhost::parse_config(with_slots(service_config({5000}), "shared"), "a.toml"),
                     [](const std::string&) {});
    REQUIRE(d.host().shared_slots());
    // A slot that inherits the default, for a device vmhostd knows nothing of.
    d.host().ports().set(100, other.dev());
    SlotStream stream(d.host(), 100, to_r(4444, 5000), uplink.near().ifindex);
    stream.wait_for(64 * 50);
    const uint64_t sent = stream.stop();
    CHECK(d.host().shared_drops(VM_SHARED_UNKNOWN_DEV) == sent);
    CHECK(other.received() == 0);
    CHECK(d.host().vm(1)->counts(VM_PATH_XDP)[VM_PASS] == 0);  // not judged as r's
    d.host().ports().erase(100);
}

TEST_CASE("vmhostd: on a kernel without default programs, shared slots are refused naming the patched kernel, auto is per-VM",
          "[vmhost][vmhostd][stock-kernel]")
{
    REQUIRE_FALSE(kernel_has_defaults());
    Target uplink("vdnic"), tr("vdtapr");
    CHECK_THROWS_WITH(vmhost::Daemon(vmhost::parse_config(with_slots(service_config({5000}), "shared"), "a.toml"),
                                     [](const std::string&) {}),
                      Contains("host.slot_programs = \"shared\"") && Contains("patched kernel") &&
                          Contains("kernel-patches/") && Contains("\"auto\""));
    // Nothing was left behind by the refusal.
    CHECK(xdp_prog_on(uplink.near().ifindex) == 0);
    Log log;
    vmhost::Daemon d(vmhost::parse_config(service_config({5000}), "a.toml"), [&](const std::string& l) { log.push_back(l); });
    CHECK_FALSE(d.host().shared_slots());
    CHECK(d.host().shared_prog_id() == 0);
    CHECK(logged(log, "slot programs: per-VM (host.slot_programs = \"auto\": this kernel has no map-wide default programs)"));
    auto slot = d.host().ports().get(1);
    REQUIRE(slot);
    CHECK(slot->prog.id == d.host().vm(1)->objects().prog_ids.at(0));
    CHECK_FALSE(slot->prog.inherited);
    VmPaths paths(d.host(), *d.host().vm(1), uplink, tr);
    CHECK(paths.xdp(to_r(4444, 5000)) == VM_PASS);
}
