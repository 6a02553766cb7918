// vmhostd restarts: a daemon that stops (release) leaves its datapath
// running and pinned; the next one adopts it without a frame lost, brings
// what changed meanwhile in line, and one state directory has one daemon.
#include <catch2/catch.hpp>

#include <bpf/bpf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

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

namespace {
// r also takes UDP port 80 from the VMs in group "web", and w is in it.
std::string web_config(const char* w_addr)
{
    return service_config({5000}, std::string("[[vm.rule]]\ndirection = \"ingress\"\nethertype = \"IPv4\"\n"
                                              "protocol = \"udp\"\nport = 80\nremote_group = \"web\"\n"
                                              "\n[[vm]]\nname = \"w\"\nmac = \"52:54:00:aa:00:31\"\ntap = \"vdtapw\"\n"
                                              "addresses = [\"") +
                                      w_addr + "\"]\ngroups = [\"web\"]\n");
}

const Mac kWMac{{0x52, 0x54, 0, 0xaa, 0, 0x31}};

// A UDP frame from w (as address `src`) to r's port 80, each of a new flow:
// r's rules are stateful, and a flow r tracks passes whatever its groups.
Frame w_to_r(const char* src)
{
    static uint16_t sport = 41000;
    return udp4_frame(ip4(src), ip4("10.7.0.21"), sport++, 80, 18, kRMac, kWMac);
}

// Puts a map of another shape at a VM's pin `name` (an incompatible
// vmhostd's, say one counting packets only), in place of what is there.
void pin_incompatible(const std::string& name)
{
    const std::string path = "/sys/fs/bpf/vmhostd/" + name;
    dme::Fd fd(bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, "old_verdicts", 4, 8, uint32_t(VM_PATHS) * VM_REASONS, nullptr));
    REQUIRE(fd);
    REQUIRE(unlink(path.c_str()) == 0);
    REQUIRE(bpf_obj_pin(fd.get(), path.c_str()) == 0);
}
}  // namespace

TEST_CASE("vmhostd: a VM whose adoption fails keeps its programs, slot and group memberships until it is repaired",
          "[vmhost][vmhostd]")
{
    Target uplink("vdnic"), tap_r("vdtapr"), tap_w("vdtapw");
    Log log;
    auto d = start(web_config("10.7.0.31"), log);
    REQUIRE(d->status().at(0).enforced);
    REQUIRE(d->status().at(1).enforced);
    const uint32_t w_port = d->status().at(1).port;
    const auto w_before = d->host().vm(w_port)->objects();
    {
        VmPaths r(d->host(), *d->host().vm(1), uplink, tap_r);
        CHECK(r.xdp(w_to_r("10.7.0.31")) == VM_PASS);        // w is in "web"
        CHECK(r.xdp(w_to_r("10.7.0.99")) == VM_DROP_NO_RULE);  // nobody is
    }
    d->release();
    d.reset();

    // While no daemon runs: w's address changes in the configuration, and
    // its pinned counters are an incompatible vmhostd's. The next daemon
    // cannot keep them, so it cannot adopt w: w keeps what it had.
    pin_incompatible("vm" + std::to_string(w_port) + "/verdicts");
    Log log2;
    d = start(web_config("10.7.0.32"), log2);
    REQUIRE(d->status().at(0).enforced);
    CHECK(d->host().vm(1)->origin() == vmhost::Vm::Origin::adopted);
    const auto w = d->status().at(1);
    CHECK_FALSE(w.enforced);
    CHECK(w.kept);
    CHECK_THAT(w.error, Catch::Contains("its pinned map /sys/fs/bpf/vmhostd/vm" + std::to_string(w_port) +
                                        "/verdicts is not this build's (percpu_array, key 4 B, value 8 B; this "
                                        "build's: percpu_array, key 4 B, value 16 B)") &&
                            Catch::Contains("Remove that pin"));
    CHECK(logged(log2, "vm w: the previous daemon's programs stay in force on tap vdtapw as they were, with its "
                       "slot, its MACs and its addresses' 1 group memberships"));
    // Its guard, slot firewall and tc twin: the previous daemon's, still on.
    CHECK(xdp_prog_on(tap_w.near().ifindex) == w_before.prog_ids.at(2));
    REQUIRE(d->host().ports().get(w_port).has_value());
    CHECK(d->host().ports().get(w_port)->prog.id == w_before.prog_ids.at(0));
    CHECK(pinned("vm" + std::to_string(w_port) + "/guard"));
    {
        // w still sends as 10.7.0.31 (its kept guard says so), and r still
        // takes it as a member of "web": the frame judged as before the
        // restart. Not yet as 10.7.0.32, which its kept guard drops.
        VmPaths r(d->host(), *d->host().vm(1), uplink, tap_r);
        CHECK(r.xdp(w_to_r("10.7.0.31")) == VM_PASS);
        CHECK(r.xdp(w_to_r("10.7.0.32")) == VM_DROP_NO_RULE);
        // The whole way: live frames out of w through its kept guard, into
        // r's slot, judged by r's firewall, on r's tap.
        dme::Fd guard(bpf_obj_get(("/sys/fs/bpf/vmhostd/vm" + std::to_string(w_port) + "/guard").c_str()));
        REQUIRE(guard);
        const auto before = d->host().vm(1)->counts(VM_PATH_XDP);
        const uint64_t received = tap_r.received();
        run_live_frames(guard.get(), w_to_r("10.7.0.31"), 64, tap_w.near().ifindex);
        CHECK(eventually([&] { return tap_r.received() >= received + 64; }));
        CHECK(d->host().vm(1)->counts(VM_PATH_XDP)[VM_PASS] - before[VM_PASS] == 64);
    }

    // The operator removes the incompatible pin: the next retry repairs w,
    // its counters starting over, and its memberships are its new address's.
    REQUIRE(unlink(("/sys/fs/bpf/vmhostd/vm" + std::to_string(w_port) + "/verdicts").c_str()) == 0);
    REQUIRE(step_until(*d, [&] { return d->status().at(1).enforced; }));
    CHECK_FALSE(d->status().at(1).kept);
    vmhost::Vm* wv = d->host().vm(w_port);
    REQUIRE(wv);
    CHECK(wv->origin() == vmhost::Vm::Origin::repaired);
    CHECK(xdp_prog_on(tap_w.near().ifindex) == wv->objects().prog_ids.at(2));
    CHECK(wv->objects().map_ids.at(9) == w_before.map_ids.at(9));  // vm_ct4 kept
    {
        VmPaths r(d->host(), *d->host().vm(1), uplink, tap_r);
        CHECK(r.xdp(w_to_r("10.7.0.32")) == VM_PASS);
        CHECK(r.xdp(w_to_r("10.7.0.31")) == VM_DROP_NO_RULE);
    }
    for (uint32_t id : w_before.prog_ids)
        if (id != d->host().shared_prog_id())  // shared: the host's, every slot's
            CHECK(eventually([&] { return !prog_exists(id); }));
}

TEST_CASE("vmhostd: a kept VM removed from the configuration or whose tap goes leaves nothing of it behind",
          "[vmhost][vmhostd]")
{
    Target uplink("vdnic"), tap_r("vdtapr");
    std::unique_ptr<Target> tap_w;
    for (const bool removed : {true, false}) {
        INFO((removed ? "removed from the configuration" : "its tap gone"));
        if (!tap_w)
            tap_w = std::make_unique<Target>("vdtapw");
        Log log;
        auto d = start(web_config("10.7.0.31"), log);
        REQUIRE(d->status().at(1).enforced);
        const uint32_t w_port = d->status().at(1).port;
        const auto w_before = d->host().vm(w_port)->objects();
        d->release();
        d.reset();
        pin_incompatible("vm" + std::to_string(w_port) + "/verdicts");
        Log log2;
        d = start(web_config("10.7.0.31"), log2);
        REQUIRE(d->status().at(1).kept);
        if (removed) {
            auto r = d->reload(vmhost::parse_config(service_config({5000}), "b.toml"));
            CHECK(r.removed == 1);
            // Its programs come off its tap, as any removed VM's.
            CHECK(xdp_prog_on(tap_w->near().ifindex) == 0);
            CHECK(logged(log2, "vm w: no longer configured; its programs are off tap vdtapw"));
        } else {
            tap_w.reset();
            REQUIRE(step_until(*d, [&] { return !d->status().at(1).ifindex; }));
        }
        CHECK_FALSE(pinned("vm" + std::to_string(w_port)));
        CHECK(d->host().pinned_vms().size() == 1);
        CHECK_FALSE(d->host().ports().get(w_port).has_value());
        // Its MAC and its membership: gone from the host's maps.
        struct {
            uint8_t mac[6], pad[2];
        } k{};
        uint32_t port = 0;
        std::memcpy(k.mac, kWMac.b, 6);
        CHECK(bpf_map_lookup_elem(d->host().mac_to_port_fd(), &k, &port) != 0);
        uint32_t members = 0;
        vm_sg_member key{}, next{};
        for (const void* prev = nullptr; !bpf_map_get_next_key(d->host().groups().fd(), prev, &next); prev = &key) {
            members++;
            key = next;
        }
        CHECK(members == 0);
        for (uint32_t id : w_before.prog_ids)
            if (id != d->host().shared_prog_id())  // shared: the host's, every slot's
                CHECK(eventually([&] { return !prog_exists(id); }));
    }
}
