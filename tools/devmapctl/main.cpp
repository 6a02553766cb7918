// devmapctl: bpftool-style control of devmap/cpumap slots and their programs.
//   devmapctl probe
//   devmapctl map create PATH type devmap|devmap_hash|cpumap entries N [name NAME]
//   devmapctl map show PATH
//   devmapctl map pin ID PATH
//   devmapctl slot set PATH KEY dev IFNAME [prog FILE.o:NAME | prog pinned PATH | prog id N]
//   devmapctl slot set PATH CPU qsize N [prog ...]          (cpumap)
//   devmapctl slot del PATH KEY
//   devmapctl slot list PATH
//   devmapctl cpumap set PATH CPU qsize N [prog ...]   (the slot verbs, for a
//   devmapctl cpumap del PATH CPU                       cpumap only: same code,
//   devmapctl cpumap list PATH                          refuses other maps)
//   devmapctl stats PATH [--interval MS] [--watch]   per-slot rates
// -j / -p print JSON (plain / pretty) like bpftool.
#include <CLI/CLI.hpp>
#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <bpf_ext/pin.h>
#include <devmap_egress/devmap_egress.hpp>

#include "stats.hpp"

using nlohmann::json;

namespace {

struct Output {
    bool as_json = false, pretty = false;
    void print(const json& j) const { std::puts(j.dump(pretty ? 2 : -1).c_str()); }
};

[[noreturn]] void usage_error(const std::string& msg) { throw dme::Error(EINVAL, msg); }

uint32_t parse_u32(const std::string& s, const char* what)
{
    try {
        size_t end = 0;
        unsigned long v = std::stoul(s, &end, 0);
        if (end != s.size() || v > UINT32_MAX)
            throw std::out_of_range(s);
        return uint32_t(v);
    } catch (const std::exception&) {
        usage_error(fmt::format("{} '{}' is not a number from 0 to {}", what, s, UINT32_MAX));
    }
}

// "prog FILE.o:NAME", "prog pinned PATH" or "prog id N", loaded as Program.
template <class Program>
std::optional<Program> parse_prog(const std::vector<std::string>& a, size_t i,
                                  std::optional<dme::BpfObject>& keep_obj)
{
    if (i >= a.size())
        return std::nullopt;
    if (a[i] != "prog" || i + 1 >= a.size())
        usage_error("expected 'prog FILE.o:NAME', 'prog pinned PATH' or 'prog id N' after the slot");
    const std::string& spec = a[i + 1];
    if (spec == "pinned" && i + 2 < a.size())
        return Program::from_pinned(a[i + 2]);
    if (spec == "id" && i + 2 < a.size())
        return Program::from_id(parse_u32(a[i + 2], "program id"));
    auto colon = spec.rfind(':');
    if (colon == std::string::npos)
        usage_error("program '" + spec + "': write FILE.o:PROGRAM_NAME");
    keep_obj = dme::BpfObject::open_file(spec.substr(0, colon));
    return Program::load(*keep_obj, spec.substr(colon + 1));
}

bool is_cpumap(const std::string& path)
{
    dme::Fd fd(dme::check(bpfext_pinned_open(path.c_str())));
    return dme::read_map_info(fd.get()).type == BPF_MAP_TYPE_CPUMAP;
}

// The 'cpumap' verbs are the slot verbs restricted to a cpumap.
void require_cpumap(const std::string& path)
{
    if (!is_cpumap(path))
        throw dme::Error(EINVAL, fmt::format("{} is not a cpumap; 'devmapctl slot ...' manages devmap slots", path));
}

json prog_json(const dme::SlotProgramInfo& p)
{
    if (!p.id)
        return nullptr;
    return {{"id", p.id}, {"name", p.name}, {"tag", p.tag}};
}

void cmd_probe(const Output& out)
{
    auto f = dme::probe_features();
    json j = {{"devmap_prog", dme::support_str(f.devmap_prog)},
              {"devmap_hash", dme::support_str(f.devmap_hash)},
              {"devmap_hash_prog", dme::support_str(f.devmap_hash_prog)},
              {"cpumap_prog", dme::support_str(f.cpumap_prog)},
              {"broadcast", dme::support_str(f.broadcast)},
              {"live_frames", dme::support_str(f.live_frames)},
              {"xdp_features", dme::support_str(f.xdp_features)}};
    auto r = dme::probe_egress_bypass();
    j["egress_bypass"] = {{"affected", r.affected},
                          {"slot0", {{"sent", r.sent[0]}, {"ran", r.ran[0]}}},
                          {"slot1", {{"sent", r.sent[1]}, {"ran", r.ran[1]}}}};
    if (out.as_json)
        return out.print(j);
    for (auto& [k, v] : j.items())
        if (k != "egress_bypass")
            fmt::print("{:<18} {}\n", k, v.get<std::string>());
    fmt::print("{:<18} {}\n", "egress_bypass",
               r.affected ? fmt::format("AFFECTED: two slots to one device ran slot 0's program {} times and slot 1's "
                                        "{} times for {} frames each; give each device one slot, or use the "
                                        "patched kernel",
                                        r.ran[0], r.ran[1], r.sent[0])
                          : "not affected");
}

void cmd_map_create(const std::vector<std::string>& a, const Output& out)
{
    // PATH type T entries N [name NAME]
    if (a.empty())
        usage_error("map create needs a pin path under /sys/fs/bpf");
    std::string path = a[0], type, name = "devmapctl";
    uint32_t entries = 0;
    for (size_t i = 1; i + 1 < a.size(); i += 2) {
        if (a[i] == "type")
            type = a[i + 1];
        else if (a[i] == "entries")
            entries = parse_u32(a[i + 1], "entries");
        else if (a[i] == "name")
            name = a[i + 1];
        else
            usage_error("unknown keyword '" + a[i] + "' (expected type, entries or name)");
    }
    json j;
    if (type == "cpumap") {
        auto m = dme::CpuMap::create(name, entries);
        m.pin(path);
        j = {{"id", m.info().id}, {"max_entries", m.info().max_entries}};
    } else if (type == "devmap" || type == "devmap_hash") {
        if (!entries)
            usage_error("a devmap needs 'entries N'");
        auto m = type == "devmap" ? dme::DevmapEgress::create(name, entries) : dme::DevmapEgress::create_hash(name, entries);
        m.pin(path);
        j = {{"id", m.info().id}, {"max_entries", m.info().max_entries}};
    } else {
        usage_error("map type '" + type + "': use devmap, devmap_hash or cpumap");
    }
    j["pinned"] = path;
    if (out.as_json)
        out.print(j);
}

json slots_json(const std::string& path)
{
    json rows = json::array();
    if (is_cpumap(path)) {
        for (const auto& s : dme::CpuMap::open(path).slots())
            rows.push_back({{"cpu", s.cpu}, {"qsize", s.qsize}, {"prog", prog_json(s.prog)}});
    } else {
        for (const auto& s : dme::DevmapEgress::open(path).slots())
            rows.push_back({{"key", s.key}, {"ifindex", s.ifindex}, {"ifname", s.ifname}, {"prog", prog_json(s.prog)}});
    }
    return rows;
}

void cmd_map_show(const std::string& path, const Output& out)
{
    dme::Fd fd(dme::check(bpfext_pinned_open(path.c_str())));
    auto info = dme::read_map_info(fd.get());
    const char* type = libbpf_bpf_map_type_str(info.type);
    json j = {{"id", info.id},
              {"name", info.name},
              {"type", type ? type : "unknown"},
              {"max_entries", info.max_entries},
              {"value_size", info.value_size},
              {"slots_used", slots_json(path).size()}};
    if (out.as_json)
        return out.print(j);
    fmt::print("{}: {}  name {}  max_entries {}  value_size {}  slots used {}\n", info.id, j["type"].get<std::string>(),
               info.name, info.max_entries, info.value_size, j["slots_used"].get<size_t>());
}

// On a kernel with the shared-device egress bypass, frames that reach one
// device through two slots in the same flush run one slot's program on both.
// Warn when this write creates that situation (the probe runs only then).
void warn_if_bypassable(const dme::DevmapEgress& m, uint32_t key, const dme::Interface& dev)
{
    auto mine = m.get(key);
    for (const auto& s : m.slots()) {
        if (s.key == key || s.ifindex != dev.ifindex() || s.prog.id == mine->prog.id)
            continue;
        auto r = dme::probe_egress_bypass();
        if (r.affected)
            fmt::print(stderr,
                       "Warning: slot {} also sends to {} with {} program; this kernel runs only one of the two "
                       "programs on frames that meet in one flush (shared-device egress bypass): give each "
                       "device one slot, or run the patched kernel\n",
                       s.key, dev.name(), s.prog.id ? "another" : "no");
        return;
    }
}

void cmd_map_pin(uint32_t id, const std::string& path, const Output& out)
{
    int fd = bpf_map_get_fd_by_id(id);
    if (fd < 0)
        throw dme::Error(errno, fmt::format("no BPF map with id {}{}", id,
                                            errno == ENOENT ? " (see 'bpftool map show')" : ""));
    dme::Fd owned(fd);
    auto info = dme::read_map_info(fd);
    if (info.type != BPF_MAP_TYPE_DEVMAP && info.type != BPF_MAP_TYPE_DEVMAP_HASH && info.type != BPF_MAP_TYPE_CPUMAP)
        throw dme::Error(EINVAL, fmt::format("map {} ('{}') is not a devmap, devmap_hash or cpumap", id, info.name));
    dme::check(bpfext_pin(fd, path.c_str()));
    if (out.as_json)
        out.print({{"id", id}, {"pinned", path}});
}

void cmd_slot_set(const std::vector<std::string>& a, bool force)
{
    if (a.size() < 4)
        usage_error("slot set PATH KEY dev IFNAME [prog ...]  or  slot set PATH CPU qsize N [prog ...]");
    const std::string& path = a[0];
    uint32_t key = parse_u32(a[1], "key");
    std::optional<dme::BpfObject> obj;
    if (a[2] == "qsize") {
        auto m = dme::CpuMap::open(path);
        uint32_t qsize = parse_u32(a[3], "qsize");
        if (auto prog = parse_prog<dme::CpumapProgram>(a, 4, obj))
            m.set(key, qsize, *prog);
        else
            m.set(key, qsize);
    } else if (a[2] == "dev") {
        auto m = dme::DevmapEgress::open(path);
        auto dev = dme::Interface::named(a[3]);
        dme::DevmapEgress::SetOptions opts;
        opts.skip_xmit_check = force;
        if (auto prog = parse_prog<dme::EgressProgram>(a, 4, obj))
            m.set(key, dev, *prog, opts);
        else
            m.set(key, dev, opts);
        warn_if_bypassable(m, key, dev);
    } else {
        usage_error("after the key: 'dev IFNAME' for a devmap, 'qsize N' for a cpumap");
    }
}

void cmd_slot_del(const std::vector<std::string>& a)
{
    if (a.size() != 2)
        usage_error("slot del PATH KEY");
    uint32_t key = parse_u32(a[1], "key");
    if (is_cpumap(a[0])) {
        dme::CpuMap::open(a[0]).erase(key);
    } else if (!dme::DevmapEgress::open(a[0]).erase(key)) {
        throw dme::Error(ENOENT, fmt::format("slot {} of {} is already empty", key, a[0]));
    }
}

void cmd_slot_list(const std::string& path, const Output& out)
{
    json rows = slots_json(path);
    if (out.as_json)
        return out.print(rows);
    for (const auto& r : rows) {
        std::string prog = r["prog"].is_null() ? "-"
                                                : fmt::format("{} (id {}, tag {})", r["prog"]["name"].get<std::string>(),
                                                              r["prog"]["id"].get<uint32_t>(), r["prog"]["tag"].get<std::string>());
        if (r.contains("cpu"))
            fmt::print("cpu {:<4} qsize {:<6} prog {}\n", r["cpu"].get<uint32_t>(), r["qsize"].get<uint32_t>(), prog);
        else
            fmt::print("key {:<6} dev {:<16} prog {}\n", r["key"].get<uint32_t>(),
                       fmt::format("{}({})", r["ifname"].get<std::string>(), r["ifindex"].get<uint32_t>()), prog);
    }
}

void cmd_stats(const std::string& path, unsigned interval_ms, bool watch, const Output& out)
{
    devmapctl::SlotStats stats;
    do {
        auto rows = stats.sample(path, std::chrono::milliseconds(interval_ms));
        if (out.as_json) {
            out.print(rows);
            continue;
        }
        fmt::print("{:<6} {:<16} {:<16} {:>12} {:>12} {:>12} {:>10}\n", "key", "dev", "prog", "runs/s", "sent/s",
                   "not sent/s", "errors/s");
        for (const auto& r : rows)
            fmt::print("{:<6} {:<16} {:<16} {:>12.0f} {:>12.0f} {:>12.0f} {:>10.0f}\n", r["key"].get<uint32_t>(),
                       r["ifname"].get<std::string>(), r["prog"].is_null() ? "-" : r["prog"]["name"].get<std::string>(),
                       r["prog_runs_per_s"].get<double>(), r["dev_sent_per_s"].get<double>(),
                       r["dev_not_sent_per_s"].get<double>(), r["dev_xmit_errors_per_s"].get<double>());
        // A VM firewall's verdicts (bpf/vm_policy.h): packets by path and reason.
        for (const auto& r : rows)
            if (r.contains("vm_verdicts") && r["vm_verdicts"].is_object())
                for (const auto& [path, reasons] : r["vm_verdicts"].items()) {
                    std::string line;
                    for (const auto& [reason, packets] : reasons.items())
                        line += fmt::format("{}{} {}", line.empty() ? "" : ", ", reason, packets.get<uint64_t>());
                    fmt::print("{:<6} {} {}: {}\n", r["key"].get<uint32_t>(), "verdicts", path, line);
                }
        std::fflush(stdout);
    } while (watch);
}

}  // namespace

int main(int argc, char** argv)
{
    CLI::App app{"devmapctl: egress XDP programs in devmap and cpumap slots"};
    app.require_subcommand(1);
    Output out;
    app.add_flag("-j,--json", out.as_json, "print JSON");
    app.add_flag("-p,--pretty", out.pretty, "print pretty JSON (implies -j)");

    auto probe = app.add_subcommand("probe", "what this kernel supports, and whether it has the egress bypass");
    std::vector<std::string> args;
    auto map = app.add_subcommand("map", "create and inspect maps pinned under bpffs");
    map->require_subcommand(1);
    auto map_create = map->add_subcommand("create", "PATH type devmap|devmap_hash|cpumap entries N [name NAME]");
    map_create->add_option("args", args)->required();
    std::string path;
    auto map_show = map->add_subcommand("show", "PATH: type, size and slots in use");
    uint32_t map_id = 0;
    auto map_pin = map->add_subcommand("pin", "ID PATH: pin an existing devmap, devmap_hash or cpumap by id");
    map_pin->add_option("id", map_id)->required();
    map_pin->add_option("path", path)->required();
    map_show->add_option("path", path)->required();
    auto slot = app.add_subcommand("slot", "write, clear and list slots");
    slot->require_subcommand(1);
    auto slot_set = slot->add_subcommand("set", "PATH KEY dev IFNAME [prog FILE.o:NAME|pinned PATH|id N]; "
                                                "PATH CPU qsize N [prog ...]");
    slot_set->add_option("args", args)->required();
    bool force = false;
    slot_set->add_flag("-f,--force", force, "write even if the device cannot transmit XDP frames now (generic XDP)");
    auto slot_del = slot->add_subcommand("del", "PATH KEY: clear a slot (its program is released)");
    slot_del->add_option("args", args)->required();
    auto slot_list = slot->add_subcommand("list", "PATH: the slots in use");
    slot_list->add_option("path", path)->required();

    auto cpumap = app.add_subcommand("cpumap", "the slot verbs for a cpumap: set, del, list");
    cpumap->require_subcommand(1);
    auto cpumap_set = cpumap->add_subcommand("set", "PATH CPU qsize N [prog FILE.o:NAME|pinned PATH|id N]");
    cpumap_set->add_option("args", args)->required();
    auto cpumap_del = cpumap->add_subcommand("del", "PATH CPU: stop the CPU's kthread, release its program");
    cpumap_del->add_option("args", args)->required();
    auto cpumap_list = cpumap->add_subcommand("list", "PATH: CPUs with a queue, their qsize and program");
    cpumap_list->add_option("path", path)->required();

    auto stats = app.add_subcommand("stats", "PATH: per slot, program runs and device transmit results per second");
    stats->add_option("path", path)->required();
    unsigned interval_ms = 1000;
    bool watch = false;
    stats->add_option("-i,--interval", interval_ms, "sampling interval in milliseconds")->check(CLI::Range(10u, 3600000u));
    stats->add_flag("-w,--watch", watch, "print a new sample every interval until interrupted");

    CLI11_PARSE(app, argc, argv);
    out.as_json |= out.pretty;
    try {
        if (*probe)
            cmd_probe(out);
        else if (*map_create)
            cmd_map_create(args, out);
        else if (*map_pin)
            cmd_map_pin(map_id, path, out);
        else if (*map_show)
            cmd_map_show(path, out);
        else if (*slot_set)
            cmd_slot_set(args, force);
        else if (*slot_del)
            cmd_slot_del(args);
        else if (*slot_list)
            cmd_slot_list(path, out);
        else if (*cpumap_set) {
            if (!args.empty())
                require_cpumap(args[0]);
            if (args.size() >= 3 && args[2] != "qsize")
                usage_error("cpumap set PATH CPU qsize N [prog ...]");
            cmd_slot_set(args, false);
        } else if (*cpumap_del) {
            if (!args.empty())
                require_cpumap(args[0]);
            cmd_slot_del(args);
        } else if (*cpumap_list) {
            require_cpumap(path);
            cmd_slot_list(path, out);
        } else if (*stats) {
            cmd_stats(path, interval_ms, watch, out);
        }
    } catch (const dme::Error& e) {
        if (out.as_json)
            out.print({{"error", e.what()}, {"errno", e.code()}});
        else
            fmt::print(stderr, "Error: {}\n", e.what());
        return 1;
    }
    return 0;
}
