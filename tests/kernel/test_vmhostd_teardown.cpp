// vmhostd teardown (vmhost::teardown_state): what a stopped vmhostd left is
// taken off from its pins alone, when the uplink is gone or another device
// took its name, and never a program that is not vmhostd's.
#include <catch2/catch.hpp>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "daemon.hpp"
#include "fixtures.hpp"
#include "netcfg.hpp"
#include "teardown.hpp"
#include "vmhostd_helpers.hpp"

using namespace netlab;
using namespace vmhostd_test;

namespace {
using Log = std::vector<std::string>;

bool pinned(const std::string& path)
{
    struct stat st {};
    return stat(("/sys/fs/bpf/vmhostd/" + path).c_str(), &st) == 0;
}

// r on vdtapr, and m on the tap vmhostd makes for it, vdtapm.
std::string config()
{
    return service_config({5000}, "\n[[vm]]\nname = \"m\"\nmac = \"52:54:00:aa:00:41\"\ntap = \"vdtapm\"\n"
                                  "create_tap = true\naddresses = [\"10.7.0.41\"]\n");
}

// The programs or maps (by id) that exist now and could be vmhostd's, by
// their names (other processes may load BPF objects meanwhile).
enum class Kind { prog, map };
std::map<uint32_t, std::string> ours_now(Kind kind)
{
    std::map<uint32_t, std::string> out;
    uint32_t id = 0;
    while (!(kind == Kind::prog ? bpf_prog_get_next_id(id, &id) : bpf_map_get_next_id(id, &id))) {
        dme::Fd fd(kind == Kind::prog ? bpf_prog_get_fd_by_id(id) : bpf_map_get_fd_by_id(id));
        if (!fd)
            continue;  // freed meanwhile
        std::string name;
        if (kind == Kind::prog) {
            bpf_prog_info info{};
            uint32_t len = sizeof(info);
            if (!bpf_obj_get_info_by_fd(fd.get(), &info, &len))
                name = info.name;
        } else {
            bpf_map_info info{};
            uint32_t len = sizeof(info);
            if (!bpf_obj_get_info_by_fd(fd.get(), &info, &len))
                name = info.name;
        }
        for (const char* p : {"vm", "nic_", "tx_ports", "mac_to_port", "allow_", "verdicts", "hold"})
            if (name.rfind(p, 0) == 0)
                out.emplace(id, name);
    }
    return out;
}

// What exists now and did not in `base`.
std::string leaked(Kind kind, const std::map<uint32_t, std::string>& base)
{
    std::string s;
    for (const auto& [id, name] : ours_now(kind))
        if (!base.count(id))
            s += (s.empty() ? "" : ", ") + name + " (" + std::to_string(id) + ")";
    return s;
}

vmhost::TeardownResult teardown(Log& log)
{
    return vmhost::teardown_state("/sys/fs/bpf/vmhostd", [&](const std::string& l) { log.push_back(l); },
                                  std::string("vdnic"));
}
}  // namespace

TEST_CASE("vmhostd teardown works from the pins alone: the uplink gone, or another device of its name with a "
          "foreign XDP program, which stays",
          "[vmhost][vmhostd]")
{
    // The uplink's successor, made up front so that the baseline has its objects.
    Target other("vdnicx");
    Redirector foreign;
    const auto base_progs = ours_now(Kind::prog), base_maps = ours_now(Kind::map);
    auto uplink = std::make_unique<Target>("vdnic");
    Target tap_r("vdtapr");
    std::vector<uint32_t> prog_ids;
    {
        Log log;
        vmhost::Daemon d(vmhost::parse_config(config(), "host.toml"), [&](const std::string& l) { log.push_back(l); });
        REQUIRE(step_until(d, [&] { return d.status().at(0).enforced && d.status().at(1).enforced; }));
        for (uint32_t port : {1u, 2u})
            for (uint32_t id : d.host().vm(port)->objects().prog_ids)
                prog_ids.push_back(id);
        prog_ids.push_back(xdp_prog_on(uplink->near().ifindex));  // the NIC demux
        REQUIRE(vmhost::netcfg::ifindex_of("vdtapm") != 0);
        d.release();
    }
    REQUIRE(pinned("nic_demux"));
    REQUIRE(xdp_prog_on(tap_r.near().ifindex) == prog_ids.at(2));

    bool replaced = false;
    SECTION("the uplink deleted") { uplink.reset(); }
    SECTION("the uplink replaced by another device of its name, carrying another XDP program")
    {
        replaced = true;
        uplink.reset();
        const uint32_t ifindex = other.near().ifindex;
        vmhost::netcfg::set_up(ifindex, false);
        vmhost::netcfg::rename(ifindex, "vdnic");
        vmhost::netcfg::set_up(ifindex, true);
        REQUIRE(bpf_xdp_attach(int(ifindex), foreign.fd(), XDP_FLAGS_DRV_MODE, nullptr) == 0);
    }

    Log log;
    const auto r = teardown(log);
    INFO([&] {
        std::string s;
        for (const auto& l : log)
            s += l + "\n";
        return s;
    }());
    CHECK_FALSE(r.demux_on);
    CHECK(r.state_removed);
    CHECK(r.taps_deleted == 1);
    CHECK(r.detached == 4);  // each VM's guard and tc twin, off before m's tap is deleted
    CHECK(logged(log, "the NIC demux (program " + std::to_string(prog_ids.back()) + ") is on no link: uplink vdnic " +
                          (replaced ? "carries another program (or none), left as it is" : "is not there")));
    if (replaced) {
        CHECK(xdp_prog_on(other.near().ifindex) == prog_id_of(foreign.fd()));
        CHECK(logged(log, "teardown: uplink vdnic carries XDP program " + std::to_string(prog_id_of(foreign.fd())) +
                              ", not vmhostd's NIC demux (program " + std::to_string(prog_ids.back()) +
                              "): left attached"));
    }
    CHECK(logged(log, "teardown: vm r's guard is off vdtapr"));
    CHECK(logged(log, "teardown: vm r's tc egress firewall is off vdtapr"));
    CHECK(logged(log, "teardown: tap vdtapm (vmhostd vm m), made by vmhostd, deleted"));
    CHECK(xdp_prog_on(tap_r.near().ifindex) == 0);
    CHECK(vmhost::netcfg::ifindex_of("vdtapm") == 0);
    CHECK_FALSE(pinned(""));
    // Nothing of it is left in the kernel: every program freed, and no
    // program or map of vmhostd's kinds more than before it started.
    for (uint32_t id : prog_ids)
        CHECK(eventually([&] { return !prog_exists(id); }));
    std::string progs_left, maps_left;
    CHECK(eventually([&] {
        progs_left = leaked(Kind::prog, base_progs);
        maps_left = leaked(Kind::map, base_maps);
        return progs_left.empty() && maps_left.empty();
    }));
    CHECK(progs_left == "");
    CHECK(maps_left == "");

    // Again: nothing is there, and that is no error.
    Log again;
    const auto r2 = teardown(again);
    CHECK(r2.detached == 0);
    CHECK_FALSE(r2.state_removed);
    CHECK(logged(again, "teardown: nothing pinned, /sys/fs/bpf/vmhostd does not exist"));
    if (replaced)
        CHECK(xdp_prog_on(other.near().ifindex) == prog_id_of(foreign.fd()));
}

TEST_CASE("vmhostd teardown is refused while a daemon runs, and never empties a directory that is not vmhostd's",
          "[vmhost][vmhostd]")
{
    Target uplink("vdnic"), tap_r("vdtapr");
    {
        Log log;
        vmhost::Daemon d(vmhost::parse_config(service_config({5000}), "host.toml"),
                         [&](const std::string& l) { log.push_back(l); });
        REQUIRE(d.status().at(0).enforced);
        const auto progs = d.host().vm(1)->objects().prog_ids;
        Log tlog;
        CHECK_THROWS_WITH(teardown(tlog), Catch::Contains("state directory /sys/fs/bpf/vmhostd is in use by another "
                                                          "vmhostd: stop it first"));
        CHECK(xdp_prog_on(tap_r.near().ifindex) == progs.at(2));
        CHECK(pinned("vm1/guard"));
    }
    CHECK_FALSE(pinned(""));  // the daemon went without release(): it took it all

    // Another tool's pins: not a vmhostd state directory, left alone.
    struct Scratch {
        std::string dir = "/sys/fs/bpf/notvmhostd";
        Scratch() { REQUIRE(mkdir(dir.c_str(), 0700) == 0); }
        ~Scratch()
        {
            unlink((dir + "/theirs").c_str());
            rmdir(dir.c_str());
        }
    } scratch;
    dme::Fd map(bpf_map_create(BPF_MAP_TYPE_ARRAY, "theirs", 4, 4, 1, nullptr));
    REQUIRE(bpf_obj_pin(map.get(), (scratch.dir + "/theirs").c_str()) == 0);
    Log tlog;
    CHECK_THROWS_WITH(vmhost::teardown_state(scratch.dir, [&](const std::string& l) { tlog.push_back(l); }),
                      Catch::Contains("/sys/fs/bpf/notvmhostd holds no vmhostd state (there is no "
                                      "/sys/fs/bpf/notvmhostd/vms): not vmhostd's state directory? Nothing was "
                                      "removed"));
    struct stat st {};
    CHECK(stat((scratch.dir + "/theirs").c_str(), &st) == 0);
}
