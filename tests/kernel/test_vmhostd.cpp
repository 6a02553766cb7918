// vmhostd's core (vmhost::Daemon) against real links: taps that appear,
// change their MAC to match, are named in the configuration, or go.
#include <catch2/catch.hpp>

#include <bpf/libbpf.h>

#include <chrono>
#include <string>
#include <vector>

#include "daemon.hpp"
#include "fixtures.hpp"
#include "netcfg.hpp"

using namespace netlab;
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

uint32_t xdp_prog_on(uint32_t ifindex)
{
    uint32_t id = 0;
    bpf_xdp_query_id(int(ifindex), 0, &id);
    return id;
}

// Steps the daemon until `done` or about two seconds.
bool step_until(vmhost::Daemon& d, const std::function<bool()>& done)
{
    for (int i = 0; i < 40 && !done(); i++)
        d.step(50ms);
    return done();
}

bool logged(const std::vector<std::string>& log, const std::string& what)
{
    for (const auto& l : log)
        if (l.find(what) != std::string::npos)
            return true;
    return false;
}
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

    // VM b's tap appears with the kernel's random MAC, then gets libvirt's.
    Target tap_b("vdtapb");
    d.step(50ms);
    CHECK_FALSE(status(1).enforced);
    vmhost::netcfg::set_mac(tap_b.near().ifindex, vmhost::Mac::parse("fe:54:00:aa:00:02"));
    REQUIRE(step_until(d, [&] { return status(1).enforced; }));
    CHECK(xdp_prog_on(tap_b.near().ifindex) != 0);

    // VM c is matched by its tap's name, whatever its MAC.
    Target tap_c("vdtapc");
    REQUIRE(step_until(d, [&] { return status(2).enforced; }));
    CHECK(d.host().ports().get(3).has_value());

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
