// vmhostd's core (vmhost::Daemon) against real links: taps that appear,
// change their MAC to match, are named in the configuration, or go.
#include <catch2/catch.hpp>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "daemon.hpp"
#include "fixtures.hpp"
#include "netcfg.hpp"
#include "vm_paths.hpp"
#include "vmhostd_helpers.hpp"

using namespace netlab;
using namespace vmhostd_test;
using namespace std::chrono_literals;

namespace {
const char* const kConfig = R"(
[host]
uplink = "vdnic"

[[vm]]
name = "a"
mac = "52:54:00:aa:00:01"
addresses = ["10.7.0.1"]

[[vm]]
name = "b"
mac = "52:54:00:aa:00:02"
addresses = ["10.7.0.2"]

[[vm]]
name = "c"
mac = "52:54:00:aa:00:03"
tap = "vdtapc"
addresses = ["10.7.0.3"]
)";

}  // namespace

TEST_CASE("vmhostd: a VM's policy follows its tap, matched by libvirt's tap MAC or by name", "[vmhost][vmhostd]")
{
    Target uplink("vdnic");
    // VM a's tap is there before the daemon: enforced at start.
    Target tap_a("vdtapa");
    vmhost::netcfg::set_mac(tap_a.near().ifindex, vmhost::Mac::parse("fe:54:00:aa:00:01"));
    std::vector<std::string> log;
    vmhost::Daemon d(vmhost::parse_config(kConfig, "test.toml"), [&](const std::string& l) { log.push_back(l); });
    auto status = [&](size_t i) { return d.status().at(i); };
    REQUIRE(status(0).enforced);
    CHECK(status(0).ifindex == tap_a.near().ifindex);
    CHECK(status(0).time_to_policy.count() > 0);
    CHECK(d.host().ports().get(1).has_value());
    CHECK(xdp_prog_on(tap_a.near().ifindex) != 0);  // the guard
    CHECK(logged(log, "vm a: tap vdtapa (ifindex " + std::to_string(tap_a.near().ifindex) + ") seen; policy enforced"));
    // What the kernel does with egress programs is said at start (the
    // probe's outcome depends on the kernel and on what it may do there).
    CHECK(logged(log, "kernel: egress bypass "));
    CHECK(logged(log, "this host's layout does not meet it"));
    CHECK(logged(log, "map-wide default programs "));

    // VM b's tap appears with the kernel's random MAC, then gets libvirt's.
    Target tap_b("vdtapb");
    d.step(50ms);
    CHECK_FALSE(status(1).enforced);
    vmhost::netcfg::set_mac(tap_b.near().ifindex, vmhost::Mac::parse("fe:54:00:aa:00:02"));
    REQUIRE(step_until(d, [&] { return status(1).enforced; }));
    CHECK(xdp_prog_on(tap_b.near().ifindex) != 0);

    // VM c is matched by its tap's name, whatever its MAC; the MAC the tap
    // gets afterwards (as libvirt gives a tap it made) is the host's for
    // the guard: frames to it go to the host stack.
    Target tap_c("vdtapc");
    REQUIRE(step_until(d, [&] { return status(2).enforced; }));
    CHECK(d.host().ports().get(3).has_value());
    const auto tap_c_mac = vmhost::Mac::parse("fe:54:00:aa:00:03");
    CHECK(d.host().vm(3)->policy().host_mac != tap_c_mac);
    vmhost::netcfg::set_mac(tap_c.near().ifindex, tap_c_mac);
    REQUIRE(step_until(d, [&] { return d.host().vm(3)->policy().host_mac == tap_c_mac; }));
    CHECK(status(2).enforced);
    CHECK(logged(log, "vm c: tap vdtapc now has MAC fe:54:00:aa:00:03"));

    // A tap nobody configured is left alone.
    Target stranger("vdtapx");
    d.step(100ms);
    CHECK(xdp_prog_on(stranger.near().ifindex) == 0);
    CHECK(d.host().ports().slots().size() == 4);  // the uplink and three VMs

    // VM b's tap goes: the kernel frees its programs, the daemon its state.
    tap_b.veth().remove();
    REQUIRE(step_until(d, [&] { return !status(1).ifindex; }));
    CHECK_FALSE(status(1).enforced);
    CHECK_FALSE(d.host().ports().get(2).has_value());
    CHECK(d.host().vm(2) == nullptr);
    CHECK(logged(log, "vm b: tap vdtapb gone"));
    CHECK(status(0).enforced);  // the others stay
    CHECK(status(2).enforced);
}

TEST_CASE("vmhostd: an uplink that is not there is refused, naming it and the setting", "[vmhost][vmhostd]")
{
    auto cfg = vmhost::parse_config("[host]\nuplink = \"vdnowhere0\"\n", "test.toml");
    CHECK_THROWS_WITH(vmhost::Daemon(cfg, [](const std::string&) {}),
                      Catch::Contains("uplink 'vdnowhere0'") && Catch::Contains("host.uplink"));
}

TEST_CASE("vmhostd: a reload changes a VM's policy in place under traffic, keeping its flows and counters",
          "[vmhost][vmhostd]")
{
    Target uplink("vdnic"), tap("vdtapr");
    std::vector<std::string> log;
    // The DNS flow must outlive seven reloads, each loading the VM's programs:
    // on a debug kernel under TCG that takes longer than UDP's default 30 s.
    const std::string long_udp = "[vm.conntrack.timeouts]\nudp = 3600\n";
    vmhost::Daemon d(vmhost::parse_config(service_config({5000, 6000}, long_udp), "a.toml"),
                     [&](const std::string& l) { log.push_back(l); });
    REQUIRE(d.status().at(0).enforced);
    vmhost::Vm* vm = d.host().vm(1);
    REQUIRE(vm);
    const auto progs_before = vm->objects().prog_ids;
    const auto maps_before = vm->objects().map_ids;
    VmPaths paths(d.host(), *vm, uplink, tap);
    // The VM opens a flow to a DNS server through its guard.
    CHECK(paths.guard(from_r(40000, 53)) == VM_PASS);

    // Frames to port 5000, which both policies allow, stream into the
    // VM's slot while the policy swaps back and forth, ending on 5000 and 7000.
    const auto before = vm->counts(VM_PATH_XDP);
    SlotStream stream(d.host(), 1, to_r(4444, 5000), uplink.near().ifindex);
    int reloads = 0;
    for (int i = 0; i < 7; i++) {
        auto r = d.reload(vmhost::parse_config(service_config(i % 2 ? std::vector<int>{5000, 6000}
                                                                      : std::vector<int>{5000, 7000},
                                                              long_udp),
                                               "b.toml"));
        reloads += r.ok && r.changed == 1;
    }
    stream.wait_for(64 * 200);
    const uint64_t sent = stream.stop();
    CHECK(reloads == 7);
    // Every frame met one policy or the other, both of which pass it.
    const auto after = vm->counts(VM_PATH_XDP);
    CHECK(after[VM_PASS] - before[VM_PASS] == sent);
    CHECK(drops(after) == drops(before));
    CHECK(eventually([&] { return tap.received() >= sent; }));
    INFO("frames streamed across 7 reloads: " << sent);

    // The last policy is the one in force: 7000 in, 6000 not.
    CHECK(paths.xdp(to_r(4444, 7000)) == VM_PASS);
    CHECK(paths.xdp(to_r(4444, 6000)) == VM_DROP_NO_RULE);
    // The DNS answer finds its flow: the table was kept, as were the counters.
    CHECK(paths.xdp(to_r(53, 40000)) == VM_PASS);
    CHECK(vm->objects().map_ids.at(7) == maps_before.at(7));  // verdicts
    CHECK(vm->objects().map_ids.at(9) == maps_before.at(9));    // vm_ct4
    CHECK(vm->objects().map_ids.at(10) == maps_before.at(10));  // vm_ct6
    CHECK(vm->objects().prog_ids != progs_before);
    // The old slot and tc programs are freed (`paths` holds the old guard).
    for (int i : {0, 1})
        if (progs_before[i] != d.host().shared_prog_id())  // shared: the host's, still every slot's
            CHECK(eventually([&] { return !prog_exists(progs_before[i]); }));
    CHECK(xdp_prog_on(tap.near().ifindex) == vm->objects().prog_ids.at(2));
    CHECK(logged(log, "vm r: new policy enforced in place"));
}

TEST_CASE("vmhostd: a reload adds and removes VMs, and refuses what it cannot do without touching the datapath",
          "[vmhost][vmhostd]")
{
    Target uplink("vdnic"), tap_r("vdtapr"), tap_s("vdtaps");
    std::vector<std::string> log;
    vmhost::Daemon d(vmhost::parse_config(service_config({5000}), "a.toml"),
                     [&](const std::string& l) { log.push_back(l); });
    REQUIRE(d.status().at(0).enforced);
    const auto progs_r = d.host().vm(1)->objects().prog_ids;

    // A second VM whose tap is already there: enforced by the reload.
    const std::string with_s = service_config({5000}, "\n[[vm]]\nname = \"s\"\nmac = \"52:54:00:aa:00:22\"\n"
                                                      "tap = \"vdtaps\"\naddresses = [\"10.7.0.22\"]\n");
    auto r = d.reload(vmhost::parse_config(with_s, "b.toml"));
    CHECK(r.ok);
    CHECK(r.added == 1);
    CHECK(r.unchanged == 1);
    REQUIRE(d.status().size() == 2);
    CHECK(d.status()[1].enforced);
    CHECK(d.status()[1].port == 2);
    CHECK(xdp_prog_on(tap_s.near().ifindex) != 0);
    CHECK(d.host().vm(1)->objects().prog_ids == progs_r);  // untouched

    // The [host] section cannot change by reload: refused, nothing touched.
    std::string moved = with_s;
    moved.replace(moved.find("vdnic"), 5, "vdnic2");
    CHECK_THROWS_WITH(d.reload(vmhost::parse_config(moved, "c.toml")), Catch::Contains("takes a restart"));
    CHECK(d.status().size() == 2);
    CHECK(d.host().vm(1)->objects().prog_ids == progs_r);

    // VM r leaves the configuration: its programs come off its tap, which stays.
    const std::string only_s = "[host]\nuplink = \"vdnic\"\n\n[[vm]]\nname = \"s\"\nmac = \"52:54:00:aa:00:22\"\n"
                               "tap = \"vdtaps\"\naddresses = [\"10.7.0.22\"]\n";
    r = d.reload(vmhost::parse_config(only_s, "d.toml"));
    CHECK(r.removed == 1);
    CHECK(r.unchanged == 1);
    CHECK(xdp_prog_on(tap_r.near().ifindex) == 0);
    CHECK_FALSE(d.host().ports().get(1).has_value());
    CHECK(d.host().vm(1) == nullptr);
    for (uint32_t id : progs_r)
        if (id != d.host().shared_prog_id())  // shared: the host's, still s's slot's
            CHECK(eventually([&] { return !prog_exists(id); }));
    CHECK(d.status().at(0).port == 2);  // s keeps its slot
    CHECK(logged(log, "vm r: no longer configured; its programs are off tap vdtapr"));
}

TEST_CASE("vmhostd: a VM whose policy the kernel refuses is tried again until it is enforced", "[vmhost][vmhostd]")
{
    Target uplink("vdnic"), tap("vdtapr");
    // Another program on the tap: the guard's attach is refused (EBUSY).
    Redirector other;
    REQUIRE(bpf_xdp_attach(int(tap.near().ifindex), other.fd(), XDP_FLAGS_DRV_MODE, nullptr) == 0);
    std::vector<std::string> log;
    vmhost::Daemon d(vmhost::parse_config(service_config({5000}), "a.toml"),
                     [&](const std::string& l) { log.push_back(l); });
    CHECK_FALSE(d.status().at(0).enforced);
    CHECK_THAT(d.status().at(0).error, Catch::Contains("another XDP program is attached"));
    CHECK(logged(log, "enforcing its policy failed"));
    CHECK(logged(log, "trying again in 200 ms"));
    // Nothing half attached meanwhile: no slot, the other program untouched.
    CHECK_FALSE(d.host().ports().get(1).has_value());
    CHECK(xdp_prog_on(tap.near().ifindex) == prog_id_of(other.fd()));
    REQUIRE(d.until_retry().has_value());
    CHECK(step_until(d, [&] { return logged(log, "trying again in 400 ms"); }));  // backing off

    // The operator takes the other program off: the next try succeeds.
    REQUIRE(bpf_xdp_detach(int(tap.near().ifindex), XDP_FLAGS_DRV_MODE, nullptr) == 0);
    REQUIRE(step_until(d, [&] { return d.status().at(0).enforced; }));
    CHECK(d.status().at(0).error.empty());
    CHECK_FALSE(d.until_retry().has_value());
    CHECK(xdp_prog_on(tap.near().ifindex) == d.host().vm(1)->objects().prog_ids.at(2));
    // Its time to policy counts from the tap first seen, the failed tries included.
    CHECK(d.status().at(0).time_to_policy >= std::chrono::milliseconds(200));
}

TEST_CASE("vmhostd: a reload that changes a held VM's policy tries it at once, not after its backoff",
          "[vmhost][vmhostd]")
{
    Target uplink("vdnic"), tap("vdtapr");
    Redirector other;  // the guard's attach is refused (EBUSY) while it is there
    REQUIRE(bpf_xdp_attach(int(tap.near().ifindex), other.fd(), XDP_FLAGS_DRV_MODE, nullptr) == 0);
    std::vector<std::string> log;
    vmhost::Daemon d(vmhost::parse_config(service_config({5000}), "a.toml"),
                     [&](const std::string& l) { log.push_back(l); });
    REQUIRE_FALSE(d.status().at(0).enforced);
    // Backed off to 800 ms: a retry is not due for a while.
    REQUIRE(step_until(d, [&] { return logged(log, "trying again in 800 ms"); }));

    // A new policy while the cause is still there: tried at once, refused
    // again, reported by the reload; the backoff starts over.
    const size_t before = log.size();
    auto r = d.reload(vmhost::parse_config(service_config({5000, 5001}), "b.toml"));
    CHECK_FALSE(r.ok);
    REQUIRE(r.errors.size() == 1);
    CHECK_THAT(r.errors[0], Catch::Contains("vm r: ") && Catch::Contains("another XDP program is attached") &&
                                Catch::Contains("its tap stays held"));
    CHECK_FALSE(d.status().at(0).enforced);
    CHECK(std::any_of(log.begin() + long(before), log.end(), [](const std::string& l) {
        return l.find("vm r: tap vdtapr seen; enforcing its policy failed") != std::string::npos &&
               l.find("trying again in 200 ms") != std::string::npos;
    }));  // tried by the reload, the backoff started over

    // The operator takes the other program off and reloads with a fixed
    // policy: enforced when reload() returns, no step() in between.
    REQUIRE(bpf_xdp_detach(int(tap.near().ifindex), XDP_FLAGS_DRV_MODE, nullptr) == 0);
    r = d.reload(vmhost::parse_config(service_config({5000, 5002}), "c.toml"));
    CHECK(r.ok);
    CHECK(r.changed == 1);
    CHECK(d.status().at(0).enforced);
    CHECK(d.status().at(0).error.empty());
    CHECK_FALSE(d.until_retry().has_value());
    CHECK(xdp_prog_on(tap.near().ifindex) == d.host().vm(1)->objects().prog_ids.at(2));
}

TEST_CASE("vmhostd: a VM's tap is held, its frames dropped, from when it is seen until its guard takes the hold's place",
          "[vmhost][vmhostd]")
{
    Target uplink("vdnic"), tap("vdtapr");
    const uint32_t t = tap.near().ifindex;
    {
        vmhost::VmHost host(uplink.dev());
        REQUIRE(host.hold(t));
        const uint32_t hold = xdp_prog_on(t);
        REQUIRE(hold != 0);
        CHECK_FALSE(host.hold(t));  // held already: the hold stays
        // What the hold does with a frame from the VM: drops it.
        dme::Fd prog(bpf_prog_get_fd_by_id(hold));
        Frame f = from_r(40000, 53);
        LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = f.data(), .data_size_in = uint32_t(f.size()));
        REQUIRE(bpf_prog_test_run_opts(prog.get(), &run) == 0);
        CHECK(run.retval == XDP_DROP);

        vmhost::VmPolicy p = vmhost::parse_config(service_config({5000}), "a.toml").vms.at(0).policy;
        p.host_mac = vmhost::Mac::parse("fe:54:00:aa:00:21");
        // A policy that cannot be enforced: the tap stays held, not open.
        vmhost::VmPolicy bad = p;
        bad.conntrack.max_flows = 0;
        CHECK_THROWS_WITH(host.add_vm(1, tap.dev(), bad, "r"), Catch::Contains("conntrack.max_flows must be at least 1"));
        CHECK(xdp_prog_on(t) == hold);
        // The policy: the guard takes the hold's place (XDP_FLAGS_REPLACE).
        vmhost::Vm& vm = host.add_vm(1, tap.dev(), p, "r");
        CHECK(xdp_prog_on(t) == vm.objects().prog_ids.at(2));
        CHECK(xdp_prog_on(t) != hold);
    }
    CHECK(xdp_prog_on(t) == 0);  // the host gone, nothing left

    // The daemon holds a VM's tap as it sees it, before loading its policy.
    std::vector<std::string> log;
    vmhost::Daemon d(vmhost::parse_config(service_config({5000}), "a.toml"),
                     [&](const std::string& l) { log.push_back(l); });
    const auto s = d.status().at(0);
    REQUIRE(s.enforced);
    CHECK(s.held_at != std::chrono::steady_clock::time_point{});
    CHECK(s.held_at <= s.enforced_at);
    CHECK(xdp_prog_on(t) == d.host().vm(1)->objects().prog_ids.at(2));
}
