// The VM host's configuration file: a good one read into VmPolicy, and bad
// ones each refused with the file, the line, the field and what is expected.
#include <netinet/in.h>

#include <catch2/catch.hpp>

#include <optional>
#include <string>

#include "config.hpp"

using vmhost::ConfigError;
using vmhost::parse_config;

namespace {
const char* const kGood = R"(
[host]
uplink = "eth0"
xdp_mode = "generic"
metrics = "127.0.0.1:9500"

[[vm]]
name = "web1"
mac = "52:54:00:00:00:01"
addresses = ["10.0.0.5", "fd00::5"]
groups = ["web"]
allowed_pairs = [ { mac = "00:00:5e:00:01:07", prefix = "10.0.0.100/32" } ]
conntrack = { max_flows = 4096, timeouts = { udp = 10, tcp_established = 3600 } }

[[vm.rule]]
direction = "ingress"
ethertype = "IPv4"
protocol = "tcp"
port = 443

[[vm.rule]]
direction = "ingress"
ethertype = "IPv4"
protocol = "icmp"
icmp_type = 8
remote = "192.0.2.0/24"
stateful = false

[[vm]]
name = "db1"
mac = "52:54:00:00:00:02"
tap = "vnet7"
addresses = ["10.0.0.6"]

[[vm.rule]]
direction = "ingress"
ethertype = "IPv4"
protocol = "tcp"
port_range = [5432, 5433]
remote_group = "web"
)";

// The first problem of a config, which must name all of `wants`.
std::string problem_of(const std::string& text)
{
    try {
        parse_config(text, "cfg.toml");
    } catch (const ConfigError& e) {
        return e.problems().front();
    }
    return "(accepted)";
}

std::string vm(const std::string& extra) { return "[host]\nuplink = \"eth0\"\n\n[[vm]]\nname = \"a\"\nmac = \"52:54:00:00:00:01\"\n" + extra; }
}  // namespace

TEST_CASE("vmhost config: a good file becomes each VM's policy", "[unit][config]")
{
    auto cfg = parse_config(kGood, "cfg.toml");
    CHECK(cfg.uplink == "eth0");
    CHECK(cfg.mode == dme::XdpMode::generic);
    CHECK(cfg.metrics == "127.0.0.1:9500");
    REQUIRE(cfg.vms.size() == 2);
    const auto& web = cfg.vms[0];
    CHECK(web.name == "web1");
    CHECK_FALSE(web.tap.has_value());
    CHECK(web.policy.addrs.size() == 2);
    CHECK(web.policy.groups == std::vector<std::string>{"web"});
    CHECK(web.policy.allowed_pairs.size() == 1);
    CHECK(web.policy.conntrack.max_flows == 4096);
    CHECK(web.policy.conntrack.timeouts[VM_CT_NEW] == 10);
    CHECK(web.policy.conntrack.timeouts[VM_CT_ESTABLISHED] == 3600);
    CHECK(web.policy.conntrack.timeouts[VM_CT_CLOSE] == 10);  // the kernel's default, kept
    REQUIRE(web.policy.rules.size() == 2);  // given rules replace the default ones
    CHECK(web.policy.rules[0].proto == IPPROTO_TCP);
    CHECK(web.policy.rules[0].port_min == 443);
    CHECK(web.policy.rules[0].port_max == 443);
    CHECK(web.policy.rules[1].icmp_type == 8);
    CHECK(web.policy.rules[1].icmp_code == -1);
    CHECK_FALSE(web.policy.rules[1].stateful);
    const auto& db = cfg.vms[1];
    CHECK(db.tap == "vnet7");
    CHECK(db.policy.rules[0].port_min == 5432);
    CHECK(db.policy.rules[0].remote_group == "web");
    CHECK_FALSE(db.create_tap.has_value());
    // No rules given: Neutron's default group (all egress, stateful).
    auto plain = parse_config(vm("addresses = [\"10.0.0.9\"]\n"), "cfg.toml");
    CHECK(plain.vms.at(0).policy.rules.size() == 2);
    CHECK(plain.mode == dme::XdpMode::native);
}

TEST_CASE("vmhost config: slot_programs is auto unless set to shared or per-vm", "[unit][config]")
{
    CHECK(parse_config(kGood, "cfg.toml").slot_programs == vmhost::SlotPrograms::automatic);
    for (auto [text, want] : {std::pair{"auto", vmhost::SlotPrograms::automatic},
                              {"shared", vmhost::SlotPrograms::shared},
                              {"per-vm", vmhost::SlotPrograms::per_vm}})
        CHECK(parse_config(std::string("[host]\nuplink = \"eth0\"\nslot_programs = \"") + text + "\"\n", "cfg.toml")
                  .slot_programs == want);
}

TEST_CASE("vmhost config: create_tap makes the tap with its owner, by name or by number", "[unit][config]")
{
    auto cfg = parse_config(vm("tap = \"vm-a0\"\ncreate_tap = true\ntap_owner = \"root\"\ntap_group = 0\n"
                               "tap_multi_queue = true\n"),
                            "cfg.toml");
    REQUIRE(cfg.vms.at(0).create_tap.has_value());
    CHECK(cfg.vms[0].create_tap->owner == std::optional<uint32_t>(0));
    CHECK(cfg.vms[0].create_tap->group == std::optional<uint32_t>(0));
    CHECK(cfg.vms[0].create_tap->multi_queue);
    auto bare = parse_config(vm("tap = \"vm-a0\"\ncreate_tap = true\n"), "cfg.toml");
    REQUIRE(bare.vms.at(0).create_tap.has_value());
    CHECK_FALSE(bare.vms[0].create_tap->owner.has_value());  // only CAP_NET_ADMIN may open it
    CHECK_FALSE(bare.vms[0].create_tap->multi_queue);
    CHECK_FALSE(parse_config(vm("tap = \"vm-a0\"\ncreate_tap = false\n"), "cfg.toml").vms.at(0).create_tap);
}

TEST_CASE("vmhost config: each bad file is refused naming file, line, field and what is expected", "[unit][config]")
{
    struct Case {
        const char* what;
        std::string text;
        std::vector<std::string> wants;
    };
    const std::string rule = "\n[[vm.rule]]\ndirection = \"ingress\"\nethertype = \"IPv4\"\n";
    const std::vector<Case> cases = {
        {"not TOML", "[host\nuplink = 1\n", {"cfg.toml:1: not valid TOML", "invalid key"}},
        {"no [host]", "[[vm]]\nname = \"a\"\nmac = \"52:54:00:00:00:01\"\n", {"cfg.toml: host: missing", "uplink"}},
        {"no uplink", "[host]\nxdp_mode = \"native\"\n", {"cfg.toml:", "host.uplink: missing", "string"}},
        {"bad xdp mode", "[host]\nuplink = \"eth0\"\nxdp_mode = \"fast\"\n", {"cfg.toml:3:", "host.xdp_mode", "\"native\"", "\"generic\""}},
        {"bad metrics", "[host]\nuplink = \"eth0\"\nmetrics = \"localhost\"\n", {"cfg.toml:3:", "host.metrics", "ADDRESS:PORT"}},
        {"unknown host key", "[host]\nuplink = \"eth0\"\nuplnk = \"x\"\n", {"cfg.toml:3:", "host.uplnk", "unknown key", "uplink"}},
        {"a VM on the uplink", "[host]\nuplink = \"eth0\"\n[[vm]]\nname = \"a\"\nmac = \"52:54:00:00:00:01\"\ntap = \"eth0\"\n", {"cfg.toml:", "vm 'a': tap", "'eth0' is the uplink", "the VM's own tap"}},
        {"bad slot_programs", "[host]\nuplink = \"eth0\"\nslot_programs = \"default\"\n", {"cfg.toml:3:", "host.slot_programs", "'default'", "\"auto\"", "\"shared\"", "patched kernel", "\"per-vm\""}},
        {"slot_programs not a string", "[host]\nuplink = \"eth0\"\n\nslot_programs = true\n", {"cfg.toml:4:", "host.slot_programs"}},
        {"relative state_dir", "[host]\nuplink = \"eth0\"\nstate_dir = \"vmhostd\"\n", {"cfg.toml:3:", "host.state_dir", "absolute path on bpffs"}},
        {"VM name too long for its pin", "[host]\nuplink = \"eth0\"\n[[vm]]\nname = \"" + std::string(64, 'n') + "\"\nmac = \"52:54:00:00:00:01\"\n", {"cfg.toml:4:", "name", "64 characters; expected at most 63"}},
        {"group name too long", vm("groups = [\"" + std::string(64, 'g') + "\"]\n"), {"cfg.toml:7:", "vm 'a': groups", "longer than 63"}},
        {"VM without a MAC", "[host]\nuplink = \"eth0\"\n[[vm]]\nname = \"a\"\n", {"cfg.toml:", "vm 'a': mac: missing"}},
        {"bad MAC", vm("").replace(vm("").find("52:54"), 17, "52:54:00:00:00:1ff"), {"cfg.toml:6:", "vm 'a': mac", "not a MAC address"}},
        {"multicast MAC", vm("").replace(vm("").find("52:54"), 17, "01:00:5e:00:00:01"), {"cfg.toml:", "vm 'a'", "not a unicast MAC"}},
        {"bad address", vm("addresses = [\"10.0.0.300\"]\n"), {"cfg.toml:7:", "vm 'a': addresses", "'10.0.0.300' is not an IPv4 or IPv6 address"}},
        {"address not a string", vm("addresses = [10]\n"), {"cfg.toml:7:", "addresses", "array of strings"}},
        {"bad prefix length", vm("prefixes = [\"10.0.0.0/33\"]\n"), {"cfg.toml:7:", "prefixes", "0..32"}},
        {"typo in a VM key", vm("adresses = [\"10.0.0.5\"]\n"), {"cfg.toml:7:", "vm 'a': adresses", "unknown key", "addresses"}},
        {"bad boolean", vm("may_route = \"yes\"\n"), {"cfg.toml:7:", "may_route", "true or false"}},
        {"link-local outside fe80::/10", vm("link_local = \"fd00::1\"\n"), {"cfg.toml:", "vm 'a'", "fe80::/10"}},
        {"tap name too long", vm("tap = \"a-very-long-tap-name\"\n"), {"cfg.toml:7:", "tap", "1 to 15 characters"}},
        {"rule direction", vm(rule + "direction = \"in\"\n").replace((vm(rule)).find("direction = \"ingress\"\n"), 22, ""),
         {"cfg.toml:", "direction", "\"ingress\"", "\"egress\""}},
        {"rule ethertype", vm("\n[[vm.rule]]\ndirection = \"egress\"\nethertype = \"ipv4\"\n"), {"cfg.toml:10:", "rule[0].ethertype", "\"IPv4\" or \"IPv6\""}},
        {"rule protocol", vm(rule + "protocol = \"sctpp\"\n"), {"cfg.toml:11:", "rule[0].protocol", "\"tcp\""}},
        {"rule port out of range", vm(rule + "protocol = \"tcp\"\nport = 70000\n"), {"cfg.toml:12:", "rule[0].port", "1 to 65535"}},
        {"rule port and range", vm(rule + "protocol = \"tcp\"\nport = 80\nport_range = [1, 2]\n"), {"cfg.toml:13:", "port_range", "not both"}},
        {"rule port without TCP/UDP", vm(rule + "protocol = \"icmp\"\nport = 80\n"), {"cfg.toml:", "vm 'a'", "rules[0]", "a port range needs protocol TCP or UDP"}},
        {"rule ICMP in IPv6", vm("\n[[vm.rule]]\ndirection = \"ingress\"\nethertype = \"IPv6\"\nprotocol = \"icmp\"\n"), {"cfg.toml:", "rules[0]", "ICMPv6"}},
        {"rule remote of the other family", vm(rule + "remote = \"fd00::/64\"\n"), {"cfg.toml:", "rules[0]", "not an IPv4 prefix"}},
        {"rule remote and group", vm("groups = [\"g\"]\n" + rule + "remote = \"10.0.0.0/8\"\nremote_group = \"g\"\n"), {"cfg.toml:", "rules[0]", "either remote or remote_group"}},
        {"rule naming no group", vm(rule + "remote_group = \"wbe\"\n"), {"cfg.toml:", "vm 'a': rule remote_group", "no VM is in group 'wbe'"}},
        {"unknown rule key", vm(rule + "ports = 80\n"), {"cfg.toml:11:", "rule[0].ports", "unknown key", "port_range"}},
        {"conntrack zero flows", vm("conntrack = { max_flows = 0 }\n"), {"cfg.toml:7:", "conntrack.max_flows", "from 1"}},
        {"conntrack unknown timeout", vm("conntrack = { timeouts = { tcp_estab = 5 } }\n"), {"cfg.toml:7:", "conntrack.timeouts.tcp_estab", "unknown key", "tcp_established"}},
        {"two VMs, one MAC", vm("") + "[[vm]]\nname = \"b\"\nmac = \"52:54:00:00:00:01\"\n", {"cfg.toml:", "vm 'b'", "mac 52:54:00:00:00:01 is also vm 'a''s"}},
        {"two VMs, one address", vm("addresses = [\"10.0.0.5\"]\n") + "[[vm]]\nname = \"b\"\nmac = \"52:54:00:00:00:02\"\naddresses = [\"10.0.0.5\"]\n",
         {"cfg.toml:", "vm 'b'", "address 10.0.0.5 is also vm 'a''s"}},
        {"two VMs, one name", vm("") + "[[vm]]\nname = \"a\"\nmac = \"52:54:00:00:00:02\"\n", {"cfg.toml:", "name a is also"}},
        {"create_tap without a tap", vm("create_tap = true\n"), {"cfg.toml:7:", "vm 'a': create_tap", "needs tap = \"NAME\"", "managed='no'"}},
        {"create_tap not a boolean", vm("tap = \"t0\"\ncreate_tap = \"yes\"\n"), {"cfg.toml:8:", "create_tap", "true or false"}},
        {"tap_owner without create_tap", vm("tap = \"t0\"\ntap_owner = \"root\"\n"), {"cfg.toml:8:", "vm 'a': tap_owner", "only with create_tap = true"}},
        {"unknown tap owner", vm("tap = \"t0\"\ncreate_tap = true\ntap_owner = \"no-such-user-vmhost\"\n"),
         {"cfg.toml:9:", "vm 'a': tap_owner", "unknown user 'no-such-user-vmhost'", "uid"}},
        {"unknown tap group", vm("tap = \"t0\"\ncreate_tap = true\ntap_group = \"no-such-group-vmhost\"\n"),
         {"cfg.toml:9:", "vm 'a': tap_group", "unknown group 'no-such-group-vmhost'", "gid"}},
        {"tap owner out of range", vm("tap = \"t0\"\ncreate_tap = true\ntap_owner = -1\n"), {"cfg.toml:9:", "tap_owner", "out of range"}},
        {"tap_multi_queue not a boolean", vm("tap = \"t0\"\ncreate_tap = true\ntap_multi_queue = 4\n"), {"cfg.toml:9:", "tap_multi_queue", "true or false"}},
        {"a tap name that cannot be made", vm("tap = \"a/b\"\ncreate_tap = true\n"), {"cfg.toml:7:", "vm 'a': tap", "cannot be made"}},
        {"too many rules", vm([&] {
             std::string r;
             for (int i = 0; i < 65; i++)
                 r += "\n[[vm.rule]]\ndirection = \"egress\"\nethertype = \"IPv4\"\n";
             return r;
         }()), {"cfg.toml:", "vm 'a'", "65 rules", "at most 64"}},
    };
    for (const auto& c : cases) {
        INFO(c.what);
        std::string p = problem_of(c.text);
        INFO(p);
        for (const auto& w : c.wants)
            CHECK(p.find(w) != std::string::npos);
    }
    CHECK(cases.size() >= 15);
}

TEST_CASE("vmhost config: every problem of a file is reported, not just the first", "[unit][config]")
{
    try {
        parse_config(vm("addresses = [\"x\"]\nmay_route = 1\n"), "cfg.toml");
        FAIL("accepted");
    } catch (const ConfigError& e) {
        REQUIRE(e.problems().size() == 2);
        CHECK(std::string(e.what()).find('\n') != std::string::npos);
    }
}

TEST_CASE("vmhost config: the example file in the tree is valid", "[unit][config]")
{
    auto cfg = vmhost::load_config(VMHOST_EXAMPLE_CONFIG);
    CHECK_FALSE(cfg.vms.empty());
}

TEST_CASE("vmhost config: a file that cannot be read says so", "[unit][config]")
{
    CHECK_THROWS_WITH(vmhost::load_config("/nonexistent/vmhost.toml"),
                      Catch::Contains("/nonexistent/vmhost.toml: cannot be read"));
}
