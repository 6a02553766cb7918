#include "config.hpp"

#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <toml.hpp>

#include <devmap_egress/error.hpp>

#include "pinned_state.hpp"

namespace vmhost {

ConfigError::ConfigError(std::vector<std::string> problems)
    : std::runtime_error([&] {
          std::string all;
          for (const auto& p : problems)
              all += (all.empty() ? "" : "\n") + p;
          return all;
      }()),
      problems_(std::move(problems))
{
}

namespace {

using Table = toml::value::table_type;

// Collects problems, each placed at a value's file and line.
class Checker {
public:
    explicit Checker(std::string file) : file_(std::move(file)) {}

    void problem(const toml::value& at, const std::string& field, const std::string& what)
    {
        auto loc = at.location();
        std::string line = loc.line() ? std::to_string(loc.line()) : "?";
        problems_.push_back(file_ + ":" + line + ": " + field + ": " + what);
    }
    void problem_at_file(const std::string& field, const std::string& what)
    {
        problems_.push_back(file_ + ": " + field + ": " + what);
    }
    const std::vector<std::string>& problems() const { return problems_; }

    // Keys the table may have; anything else is a problem (typos would
    // otherwise pass silently as defaults).
    void known(const toml::value& t, const std::string& where, std::initializer_list<const char*> keys)
    {
        for (const auto& [k, v] : t.as_table()) {
            bool ok = false;
            for (const char* key : keys)
                ok |= k == key;
            if (!ok) {
                std::string list;
                for (const char* key : keys)
                    list += std::string(list.empty() ? "" : ", ") + key;
                problem(v, where + k, "unknown key; expected one of: " + list);
            }
        }
    }

    const toml::value* get(const toml::value& t, const char* key)
    {
        const auto& tbl = t.as_table();
        auto it = tbl.find(key);
        return it == tbl.end() ? nullptr : &it->second;
    }

    std::optional<std::string> string(const toml::value& t, const std::string& where, const char* key, bool required)
    {
        const toml::value* v = get(t, key);
        if (!v) {
            if (required)
                problem(t, where + key, "missing; expected a string");
            return std::nullopt;
        }
        if (!v->is_string()) {
            problem(*v, where + key, "expected a string");
            return std::nullopt;
        }
        return v->as_string().str;
    }

    std::optional<int64_t> integer(const toml::value& t, const std::string& where, const char* key, int64_t min,
                                   int64_t max)
    {
        const toml::value* v = get(t, key);
        if (!v)
            return std::nullopt;
        if (!v->is_integer() || v->as_integer() < min || v->as_integer() > max) {
            problem(*v, where + key, "expected an integer from " + std::to_string(min) + " to " + std::to_string(max));
            return std::nullopt;
        }
        return v->as_integer();
    }

    bool boolean(const toml::value& t, const std::string& where, const char* key, bool dflt)
    {
        const toml::value* v = get(t, key);
        if (!v)
            return dflt;
        if (!v->is_boolean()) {
            problem(*v, where + key, "expected true or false");
            return dflt;
        }
        return v->as_boolean();
    }

    // An array of strings, each converted by `conv` (which throws
    // dme::Error with the reason).
    template <typename T, typename Conv>
    std::vector<T> strings(const toml::value& t, const std::string& where, const char* key, Conv conv)
    {
        std::vector<T> out;
        const toml::value* v = get(t, key);
        if (!v)
            return out;
        if (!v->is_array()) {
            problem(*v, where + key, "expected an array of strings");
            return out;
        }
        for (const auto& e : v->as_array()) {
            if (!e.is_string()) {
                problem(e, where + key, "expected an array of strings");
                continue;
            }
            try {
                out.push_back(conv(e.as_string().str));
            } catch (const dme::Error& err) {
                problem(e, where + key, err.what());
            }
        }
        return out;
    }

    // A single string converted by `conv`.
    template <typename T, typename Conv>
    std::optional<T> converted(const toml::value& t, const std::string& where, const char* key, bool required, Conv conv)
    {
        auto s = string(t, where, key, required);
        if (!s)
            return std::nullopt;
        try {
            return conv(*s);
        } catch (const dme::Error& err) {
            problem(*get(t, key), where + key, err.what());
            return std::nullopt;
        }
    }

private:
    std::string file_;
    std::vector<std::string> problems_;
};

// A user or group of this host, by name or number, for a tap's owner.
std::optional<uint32_t> account(Checker& c, const toml::value& t, const std::string& where, const char* key, bool user)
{
    const toml::value* v = c.get(t, key);
    if (!v)
        return std::nullopt;
    const char* kind = user ? "user" : "group";
    const std::string expected = std::string("expected a ") + kind + " name of this host or a " +
                                 (user ? "uid" : "gid") + " (QEMU's: on Debian, " +
                                 (user ? "libvirt-qemu" : "kvm") + ")";
    if (v->is_integer()) {
        if (v->as_integer() < 0 || v->as_integer() >= int64_t(UINT32_MAX)) {
            c.problem(*v, where + key, std::to_string(v->as_integer()) + " is out of range; " + expected);
            return std::nullopt;
        }
        return uint32_t(v->as_integer());
    }
    if (!v->is_string() || v->as_string().str.empty()) {
        c.problem(*v, where + key, expected);
        return std::nullopt;
    }
    const std::string& name = v->as_string().str;
    std::vector<char> buf(16384);
    if (user) {
        passwd pw{}, *found = nullptr;
        if (!getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found) && found)
            return uint32_t(found->pw_uid);
    } else {
        group gr{}, *found = nullptr;
        if (!getgrnam_r(name.c_str(), &gr, buf.data(), buf.size(), &found) && found)
            return uint32_t(found->gr_gid);
    }
    c.problem(*v, where + key, "unknown " + std::string(kind) + " '" + name + "'; " + expected);
    return std::nullopt;
}

// create_tap and the settings of the tap vmhostd makes.
void parse_tap_creation(Checker& c, const toml::value& t, const std::string& where, VmConfig& vm)
{
    const bool create = c.boolean(t, where, "create_tap", false);
    for (const char* key : {"tap_owner", "tap_group", "tap_multi_queue"})
        if (const toml::value* v = c.get(t, key); v && !create)
            c.problem(*v, where + key, "only with create_tap = true (vmhostd sets it on the tap it makes)");
    if (create && vm.tap && (*vm.tap == "." || *vm.tap == ".." ||
                             vm.tap->find_first_of("/: \t\n") != std::string::npos))
        c.problem(*c.get(t, "tap"), where + "tap",
                  "'" + *vm.tap + "' cannot be made: expected an interface name without '/', ':' or spaces");
    if (create && !vm.tap)
        c.problem(*c.get(t, "create_tap"), where + "create_tap",
                  "needs tap = \"NAME\": vmhostd makes the tap of that name, for libvirt's "
                  "<target dev='NAME' managed='no'/>");
    TapSettings how;
    how.owner = account(c, t, where, "tap_owner", true);
    how.group = account(c, t, where, "tap_group", false);
    how.multi_queue = c.boolean(t, where, "tap_multi_queue", false);
    if (create)
        vm.create_tap = how;
}

const char* const kTimeoutKeys[VM_CT_TIMEOUTS] = {"udp",          "udp_replied",  "tcp_syn_sent",   "tcp_syn_recv",
                                                  "tcp_established", "tcp_fin_wait", "tcp_time_wait", "tcp_close",
                                                  "icmp",         "fragment"};

std::optional<SgRule> parse_rule(Checker& c, const toml::value& r, const std::string& where)
{
    if (!r.is_table()) {
        c.problem(r, where, "expected a table ([[vm.rule]])");
        return std::nullopt;
    }
    c.known(r, where, {"direction", "ethertype", "protocol", "port", "port_range", "icmp_type", "icmp_code", "remote",
                       "remote_group", "stateful"});
    SgRule rule;
    size_t before = c.problems().size();
    auto dir = c.string(r, where, "direction", true);
    if (dir && *dir != "ingress" && *dir != "egress")
        c.problem(*c.get(r, "direction"), where + "direction",
                  "'" + *dir + "'; expected \"ingress\" (to the VM) or \"egress\" (from it)");
    rule.dir = dir && *dir == "egress" ? SgRule::Dir::from_vm : SgRule::Dir::to_vm;
    auto eth = c.string(r, where, "ethertype", true);
    if (eth && *eth != "IPv4" && *eth != "IPv6")
        c.problem(*c.get(r, "ethertype"), where + "ethertype", "'" + *eth + "'; expected \"IPv4\" or \"IPv6\"");
    rule.family = eth && *eth == "IPv6" ? 6 : 4;
    if (const toml::value* p = c.get(r, "protocol")) {
        static const std::map<std::string, int> names = {
            {"any", 0}, {"tcp", IPPROTO_TCP}, {"udp", IPPROTO_UDP}, {"icmp", IPPROTO_ICMP}, {"icmpv6", IPPROTO_ICMPV6}};
        if (p->is_string() && names.count(p->as_string().str))
            rule.proto = uint8_t(names.at(p->as_string().str));
        else if (p->is_integer() && p->as_integer() >= 0 && p->as_integer() <= 255)
            rule.proto = uint8_t(p->as_integer());
        else
            c.problem(*p, where + "protocol", "expected \"any\", \"tcp\", \"udp\", \"icmp\", \"icmpv6\" or 0..255");
    }
    auto port = c.integer(r, where, "port", 1, 65535);
    if (port)
        rule.port_min = rule.port_max = uint16_t(*port);
    if (const toml::value* pr = c.get(r, "port_range")) {
        if (port)
            c.problem(*pr, where + "port_range", "give either port or port_range, not both");
        else if (!pr->is_array() || pr->as_array().size() != 2 || !pr->as_array()[0].is_integer() ||
                 !pr->as_array()[1].is_integer() || pr->as_array()[0].as_integer() < 1 ||
                 pr->as_array()[1].as_integer() > 65535)
            c.problem(*pr, where + "port_range", "expected [first, last], ports 1..65535");
        else {
            rule.port_min = uint16_t(pr->as_array()[0].as_integer());
            rule.port_max = uint16_t(pr->as_array()[1].as_integer());
        }
    }
    rule.icmp_type = int(c.integer(r, where, "icmp_type", 0, 255).value_or(-1));
    rule.icmp_code = int(c.integer(r, where, "icmp_code", 0, 255).value_or(-1));
    rule.remote = c.converted<Prefix>(r, where, "remote", false, Prefix::parse);
    rule.remote_group = c.string(r, where, "remote_group", false).value_or("");
    rule.stateful = c.boolean(r, where, "stateful", true);
    if (c.problems().size() != before)
        return std::nullopt;
    return rule;
}

void parse_conntrack(Checker& c, const toml::value& t, const std::string& where, ConntrackSettings& ct)
{
    if (!t.is_table()) {
        c.problem(t, where, "expected a table");
        return;
    }
    c.known(t, where, {"max_flows", "timeouts"});
    if (auto n = c.integer(t, where, "max_flows", 1, 1 << 24))
        ct.max_flows = uint32_t(*n);
    if (const toml::value* to = c.get(t, "timeouts")) {
        if (!to->is_table()) {
            c.problem(*to, where + "timeouts", "expected a table of seconds");
            return;
        }
        std::string tw = where + "timeouts.";
        c.known(*to, tw, {kTimeoutKeys[0], kTimeoutKeys[1], kTimeoutKeys[2], kTimeoutKeys[3], kTimeoutKeys[4],
                          kTimeoutKeys[5], kTimeoutKeys[6], kTimeoutKeys[7], kTimeoutKeys[8], kTimeoutKeys[9]});
        for (int i = 0; i < VM_CT_TIMEOUTS; i++)
            if (auto s = c.integer(*to, tw, kTimeoutKeys[i], 1, 30 * 86400))
                ct.timeouts[i] = uint32_t(*s);
    }
}

std::optional<VmConfig> parse_vm(Checker& c, const toml::value& t, size_t index)
{
    std::string where = "vm[" + std::to_string(index) + "].";
    if (!t.is_table()) {
        c.problem(t, where, "expected a table ([[vm]])");
        return std::nullopt;
    }
    size_t before = c.problems().size();
    VmConfig vm;
    vm.name = c.string(t, where, "name", true).value_or("");
    if (vm.name.size() > kPinnedNameMax)
        c.problem(*c.get(t, "name"), where + "name",
                  "'" + vm.name + "' is " + std::to_string(vm.name.size()) + " characters; expected at most " +
                      std::to_string(kPinnedNameMax) + " (it is kept on bpffs for restarts)");
    if (!vm.name.empty())
        where = "vm '" + vm.name + "': ";
    c.known(t, where, {"name", "mac", "tap", "addresses", "prefixes", "link_local", "allowed_pairs", "may_route",
                       "may_serve_dhcp", "groups", "rule", "conntrack", "create_tap", "tap_owner", "tap_group",
                       "tap_multi_queue"});
    auto mac = c.converted<Mac>(t, where, "mac", true, Mac::parse);
    if (mac)
        vm.policy.mac = *mac;
    vm.tap = c.string(t, where, "tap", false);
    if (vm.tap && (vm.tap->empty() || vm.tap->size() > 15))
        c.problem(*c.get(t, "tap"), where + "tap", "expected an interface name of 1 to 15 characters");
    parse_tap_creation(c, t, where, vm);
    vm.policy.addrs = c.strings<IpAddr>(t, where, "addresses", IpAddr::parse);
    vm.policy.prefixes = c.strings<Prefix>(t, where, "prefixes", Prefix::parse);
    vm.policy.link_local = c.converted<IpAddr>(t, where, "link_local", false, IpAddr::parse);
    vm.policy.may_route = c.boolean(t, where, "may_route", false);
    vm.policy.may_serve_dhcp = c.boolean(t, where, "may_serve_dhcp", false);
    vm.policy.groups = c.strings<std::string>(t, where, "groups", [](const std::string& s) {
        if (s.empty())
            dme::fail(EINVAL, "a group name cannot be empty");
        if (s.size() > kPinnedNameMax)
            dme::fail(EINVAL, "group name '" + s + "' is longer than " + std::to_string(kPinnedNameMax) +
                                  " characters");
        return s;
    });
    if (const toml::value* pairs = c.get(t, "allowed_pairs")) {
        if (!pairs->is_array()) {
            c.problem(*pairs, where + "allowed_pairs", "expected an array of { mac = ..., prefix = ... }");
        } else {
            for (const auto& p : pairs->as_array()) {
                if (!p.is_table()) {
                    c.problem(p, where + "allowed_pairs", "expected { mac = ..., prefix = ... }");
                    continue;
                }
                c.known(p, where + "allowed_pairs.", {"mac", "prefix"});
                AddressPair pair;
                pair.mac = c.converted<Mac>(p, where + "allowed_pairs.", "mac", false, Mac::parse).value_or(Mac{});
                if (auto pr = c.converted<Prefix>(p, where + "allowed_pairs.", "prefix", true, Prefix::parse))
                    pair.prefix = *pr;
                vm.policy.allowed_pairs.push_back(pair);
            }
        }
    }
    if (const toml::value* rules = c.get(t, "rule")) {
        vm.policy.rules.clear();  // given rules replace Neutron's default ones
        if (!rules->is_array()) {
            c.problem(*rules, where + "rule", "expected [[vm.rule]] tables");
        } else {
            size_t i = 0;
            for (const auto& r : rules->as_array())
                if (auto rule = parse_rule(c, r, where + "rule[" + std::to_string(i++) + "]."))
                    vm.policy.rules.push_back(*rule);
        }
    }
    if (const toml::value* ct = c.get(t, "conntrack"))
        parse_conntrack(c, *ct, where + "conntrack.", vm.policy.conntrack);
    if (c.problems().size() != before)
        return std::nullopt;
    // What the datapath could not enforce (validate()), at the VM's line.
    // The tap's own MAC is learnt when it appears; a stand-in lets the
    // identity checks run now.
    vm.policy.host_mac = Mac{{0x02, 0, 0, 0, 0, 0x01}};
    try {
        validate(vm.policy);
    } catch (const dme::Error& e) {
        c.problem(t, where.substr(0, where.size() - 2), e.what());
        return std::nullopt;
    }
    vm.policy.host_mac = Mac{};
    return vm;
}

// What two VMs must not share, and the groups rules name.
void check_host(Checker& c, const toml::value& vms, const std::vector<VmConfig>& parsed, const std::string& uplink)
{
    std::map<std::string, std::string> names, macs, taps, addrs;
    std::set<std::string> groups;
    for (const auto& vm : parsed)
        groups.insert(vm.policy.groups.begin(), vm.policy.groups.end());
    auto once = [&](std::map<std::string, std::string>& seen, const std::string& key, const std::string& vm,
                    const std::string& what) {
        auto [it, fresh] = seen.emplace(key, vm);
        if (!fresh)
            c.problem(vms, "vm '" + vm + "'", what + " " + key + " is also vm '" + it->second + "''s");
    };
    for (const auto& vm : parsed) {
        once(names, vm.name, vm.name, "name");
        once(macs, vm.policy.mac.str(), vm.name, "mac");
        if (vm.tap)
            once(taps, *vm.tap, vm.name, "tap");
        // The uplink's slot and the VM's would be two devmap entries for one
        // device: on a kernel with the egress bypass, frames of one entry
        // can skip the other's program (docs/NOTES.md).
        if (vm.tap && *vm.tap == uplink)
            c.problem(vms, "vm '" + vm.name + "': tap",
                      "'" + uplink + "' is the uplink (host.uplink); expected the VM's own tap");
        for (const auto& a : vm.policy.addrs)
            once(addrs, a.str(), vm.name, "address");
        for (const auto& r : vm.policy.rules)
            if (!r.remote_group.empty() && !groups.count(r.remote_group))
                c.problem(vms, "vm '" + vm.name + "': rule remote_group",
                          "no VM is in group '" + r.remote_group + "'; expected a name from some VM's groups");
    }
}

}  // namespace

HostConfig parse_config(const std::string& text, const std::string& name)
{
    toml::value root;
    try {
        std::istringstream in(text);
        root = toml::parse(in, name);
    } catch (const toml::exception& e) {
        // toml11's own report (with the line quoted) follows the location.
        auto line = e.location().line();
        throw ConfigError({name + ":" + (line ? std::to_string(line) : std::string("?")) + ": not valid TOML: " +
                           std::string(e.what())});
    }
    Checker c(name);
    HostConfig cfg;
    c.known(root, "", {"host", "vm"});
    const toml::value* host = c.get(root, "host");
    if (!host || !host->is_table()) {
        c.problem_at_file("host", "missing; expected a [host] table with uplink = \"DEVICE\"");
    } else {
        c.known(*host, "host.", {"uplink", "xdp_mode", "metrics", "state_dir", "slot_programs"});
        cfg.uplink = c.string(*host, "host.", "uplink", true).value_or("");
        if (auto mode = c.string(*host, "host.", "xdp_mode", false)) {
            if (*mode == "generic")
                cfg.mode = dme::XdpMode::generic;
            else if (*mode != "native")
                c.problem(*c.get(*host, "xdp_mode"), "host.xdp_mode",
                          "'" + *mode + "'; expected \"native\" (the driver's XDP) or \"generic\" (skb)");
        }
        if (auto m = c.string(*host, "host.", "metrics", false)) {
            auto colon = m->rfind(':');
            if (colon == std::string::npos || colon == 0 || m->find_first_not_of("0123456789", colon + 1) != std::string::npos ||
                colon + 1 == m->size())
                c.problem(*c.get(*host, "metrics"), "host.metrics", "'" + *m + "'; expected ADDRESS:PORT, e.g. 127.0.0.1:9477");
            else
                cfg.metrics = *m;
        }
        if (auto d = c.string(*host, "host.", "state_dir", false)) {
            if (d->empty() || d->front() != '/' || d->find("/..") != std::string::npos)
                c.problem(*c.get(*host, "state_dir"), "host.state_dir",
                          "'" + *d + "'; expected an absolute path on bpffs, e.g. /sys/fs/bpf/vmhostd");
            else
                cfg.state_dir = *d;
        }
        if (auto sp = c.string(*host, "host.", "slot_programs", false)) {
            if (auto v = parse_slot_programs(*sp))
                cfg.slot_programs = *v;
            else
                c.problem(*c.get(*host, "slot_programs"), "host.slot_programs",
                          "'" + *sp + "'; expected \"auto\" (shared where the kernel has map-wide default programs), "
                          "\"shared\" (one program for every VM's slot: the project's patched kernel) or \"per-vm\"");
        }
    }
    if (const toml::value* vms = c.get(root, "vm")) {
        if (!vms->is_array()) {
            c.problem(*vms, "vm", "expected [[vm]] tables");
        } else {
            size_t i = 0;
            for (const auto& v : vms->as_array())
                if (auto vm = parse_vm(c, v, i++))
                    cfg.vms.push_back(std::move(*vm));
            check_host(c, *vms, cfg.vms, cfg.uplink);
        }
    }
    if (!c.problems().empty())
        throw ConfigError(c.problems());
    return cfg;
}

HostConfig load_config(const std::string& path)
{
    std::ifstream in(path);
    if (!in)
        throw ConfigError({path + ": cannot be read: " + std::strerror(errno)});
    std::stringstream text;
    text << in.rdbuf();
    return parse_config(text.str(), path);
}

}  // namespace vmhost
