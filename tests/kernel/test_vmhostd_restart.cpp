// vmhostd restarts: a daemon that stops (release) leaves its datapath
// running and pinned; the next one adopts it without a frame lost, brings
// what changed meanwhile in line, and one state directory has one daemon.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <memory>
#include <string>
#include <vector>

#include "daemon.hpp"
#include "fixtures.hpp"
#include "vm_paths.hpp"
#include "vmhostd_helpers.hpp"

using namespace netlab;
using namespace vmhostd_test;

namespace {
using Log = std::vector<std::string>;

std::unique_ptr<vmhost::Daemon> start(const std::string& config, Log& log)
{
    return std::make_unique<vmhost::Daemon>(vmhost::parse_config(config, "host.toml"),
                                            [&](const std::string& l) { log.push_back(l); });
}

bool pinned(const std::string& path)
{
    struct stat st {};
    return stat(("/sys/fs/bpf/vmhostd/" + path).c_str(), &st) == 0;
}

// VM s on tap vdtaps (slot 2) and t on vdtapt (slot 3), beside r.
const char* const kMoreVms = "\n[[vm]]\nname = \"s\"\nmac = \"52:54:00:aa:00:22\"\ntap = \"vdtaps\"\n"
                             "addresses = [\"10.7.0.22\"]\n"
                             "\n[[vm]]\nname = \"t\"\nmac = \"52:54:00:aa:00:23\"\ntap = \"vdtapt\"\n"
                             "addresses = [\"10.7.0.23\"]\n";
}  // namespace

TEST_CASE("vmhostd: a restart adopts the pinned datapath under traffic: the same programs, maps and flows",
          "[vmhost][vmhostd]")
{
    Target uplink("vdnic"), tap("vdtapr");
    Log log;
    auto d = start(service_config({5000}), log);
    REQUIRE(d->status().at(0).enforced);
    const auto objects = d->host().vm(1)->objects();
    const uint32_t demux = xdp_prog_on(uplink.near().ifindex);
    {
        VmPaths paths(d->host(), *d->host().vm(1), uplink, tap);
        CHECK(paths.guard(from_r(40000, 53)) == VM_PASS);  // a flow the next daemon must know
    }
    const auto before = d->host().vm(1)->counts(VM_PATH_XDP);

    // Frames stream into the VM's slot while one daemon goes and the next comes.
    SlotStream stream(d->host(), 1, to_r(4444, 5000), uplink.near().ifindex);
    stream.wait_for(64 * 50);
    d->release();
    d.reset();
    CHECK(xdp_prog_on(uplink.near().ifindex) == demux);
    CHECK(xdp_prog_on(tap.near().ifindex) == objects.prog_ids.at(2));
    CHECK(pinned("nic_demux"));
    CHECK(pinned("vm1/guard"));
    CHECK(pinned("vm1/vm_ct4"));
    CHECK(pinned("vm1/vm_ct6"));
    Log log2;
    const uint64_t at_restart = stream.sent();
    d = start(service_config({5000}), log2);
    stream.wait_for(at_restart + 64 * 50);
    const uint64_t sent = stream.stop();

    REQUIRE(d->status().at(0).enforced);
    vmhost::Vm* vm = d->host().vm(1);
    REQUIRE(vm);
    CHECK(vm->origin() == vmhost::Vm::Origin::adopted);
    CHECK(vm->objects().prog_ids == objects.prog_ids);
    CHECK(vm->objects().map_ids == objects.map_ids);
    CHECK(xdp_prog_on(uplink.near().ifindex) == demux);
    CHECK(d->host().demux_adopted());
    CHECK(logged(log2, "NIC demux adopted from /sys/fs/bpf/vmhostd (1 VMs pinned there)"));
    CHECK(logged(log2, "vm r: tap vdtapr (ifindex " + std::to_string(tap.near().ifindex) +
                           ") seen; adopted the previous daemon's programs unchanged"));
    // Not a frame lost or dropped: each passed the one policy in force.
    const auto after = vm->counts(VM_PATH_XDP);
    INFO("frames streamed across the restart: " << sent);
    CHECK(after[VM_PASS] - before[VM_PASS] == sent);
    CHECK(drops(after) == drops(before));
    CHECK(eventually([&] { return tap.received() >= sent; }));
    // The flow opened before the restart is still known: its answer passes.
    VmPaths paths(d->host(), *vm, uplink, tap);
    CHECK(paths.xdp(to_r(53, 40000)) == VM_PASS);
    CHECK(paths.xdp(to_r(4444, 6000)) == VM_DROP_NO_RULE);
}

TEST_CASE("vmhostd: what changed while no daemon ran is brought in line when the next one starts",
          "[vmhost][vmhostd]")
{
    Target uplink("vdnic"), tap_r("vdtapr"), tap_s("vdtaps");
    auto tap_t = std::make_unique<Target>("vdtapt");
    Log log;
    auto d = start(service_config({5000}, kMoreVms), log);
    for (size_t i = 0; i < 3; i++)
        REQUIRE(d->status().at(i).enforced);
    const auto r_before = d->host().vm(1)->objects();
    const auto s_guard = d->host().vm(2)->objects().prog_ids.at(2);
    {
        VmPaths paths(d->host(), *d->host().vm(1), uplink, tap_r);
        CHECK(paths.guard(from_r(40000, 53)) == VM_PASS);
    }
    d->release();
    d.reset();

    // While no daemon runs: t's tap goes (its VM stopped), the operator
    // opens port 7000 on r and removes s from the configuration.
    tap_t.reset();
    Log log2;
    const std::string only_s_gone =
        service_config({5000, 7000}, "\n[[vm]]\nname = \"t\"\nmac = \"52:54:00:aa:00:23\"\ntap = \"vdtapt\"\n"
                                     "addresses = [\"10.7.0.23\"]\n");
    d = start(only_s_gone, log2);

    // r: the new policy, swapped in at each hook, its counters and flows kept.
    REQUIRE(d->status().at(0).enforced);
    vmhost::Vm* r = d->host().vm(1);
    REQUIRE(r);
    CHECK(r->origin() == vmhost::Vm::Origin::repaired);
    CHECK(logged(log2, "vm r: tap vdtapr (ifindex " + std::to_string(tap_r.near().ifindex) +
                           ") seen; adopted the previous daemon's, with the policy or programs brought up to date"));
    CHECK(r->objects().prog_ids != r_before.prog_ids);
    CHECK(r->objects().map_ids.at(7) == r_before.map_ids.at(7));  // verdicts
    CHECK(r->objects().map_ids.at(9) == r_before.map_ids.at(9));    // vm_ct4
    CHECK(r->objects().map_ids.at(10) == r_before.map_ids.at(10));  // vm_ct6
    CHECK(xdp_prog_on(tap_r.near().ifindex) == r->objects().prog_ids.at(2));
    VmPaths paths(d->host(), *r, uplink, tap_r);
    CHECK(paths.xdp(to_r(4444, 7000)) == VM_PASS);
    CHECK(paths.xdp(to_r(53, 40000)) == VM_PASS);
    // ... and nothing of the old object is left running.
    for (uint32_t id : r_before.prog_ids)
        if (id != d->host().shared_prog_id())  // shared: the host's, still every slot's
            CHECK(eventually([&] { return !prog_exists(id); }));

    // s: no longer configured; its guard comes off its tap, its slot and pins go.
    CHECK(logged(log2, "vm s: left by the previous daemon, no longer configured"));
    CHECK(xdp_prog_on(tap_s.near().ifindex) == 0);
    CHECK(eventually([&] { return !prog_exists(s_guard); }));
    CHECK_FALSE(d->host().ports().get(2).has_value());
    CHECK_FALSE(pinned("vm2"));

    // t: configured, its tap gone: nothing of it is left (record, pins, slot).
    CHECK_FALSE(d->status().at(1).enforced);
    CHECK_FALSE(pinned("vm3"));
    CHECK(d->host().pinned_vms().size() == 1);
    CHECK(d->host().ports().slots().size() == 2);  // the uplink and r
}

TEST_CASE("vmhostd: one daemon per state directory, and a daemon that cannot start leaves none behind",
          "[vmhost][vmhostd]")
{
    Target uplink("vdnic"), tap("vdtapr");
    Log log;
    auto d = start(service_config({5000}), log);
    const auto progs = d->host().vm(1)->objects().prog_ids;
    Log log2;
    CHECK_THROWS_WITH(start(service_config({5000}), log2),
                      Catch::Contains("state directory /sys/fs/bpf/vmhostd is in use by another vmhostd"));
    CHECK(d->host().vm(1)->objects().prog_ids == progs);
    CHECK(xdp_prog_on(tap.near().ifindex) == progs.at(2));
    CHECK(pinned("vm1/guard"));

    // Another state directory, the same uplink: the demux attach is
    // refused, and the directory it made is gone again.
    CHECK_THROWS_WITH(start(service_config({5000}, "").replace(0, 7, "[host]\nstate_dir = \"/sys/fs/bpf/other\"\n"),
                            log2),
                      Catch::Contains("another XDP program is attached"));
    struct stat st {};
    CHECK(stat("/sys/fs/bpf/other", &st) != 0);

    // A daemon that ends without release() takes everything with it.
    d.reset();
    CHECK(xdp_prog_on(uplink.near().ifindex) == 0);
    CHECK(xdp_prog_on(tap.near().ifindex) == 0);
    CHECK_FALSE(pinned(""));
}
