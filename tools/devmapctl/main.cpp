// devmapctl: bpftool-style control of devmap/cpumap slots and their programs.
//   devmapctl probe
//   devmapctl map create PATH type devmap|devmap_hash|cpumap [entries N] [name NAME]
//   devmapctl map show PATH
//   devmapctl map pin ID PATH
//   devmapctl slot set PATH KEY dev IFNAME [prog FILE.o:NAME | prog pinned PATH | prog id N] [--force]
//   devmapctl slot set PATH CPU qsize N [prog ...] [--allow-offline]          (cpumap)
//   devmapctl slot del PATH KEY
//   devmapctl slot list PATH
//   devmapctl cpumap set PATH CPU qsize N [prog ...]   (the slot verbs, for a
//   devmapctl cpumap del PATH CPU                       cpumap only: same code,
//   devmapctl cpumap list PATH                          refuses other maps)
//   devmapctl stats PATH [--interval MS] [--watch]   per-slot rates
//   devmapctl --version                              versions, kernel features
// -j / -p print JSON (plain / pretty) like bpftool: a value per command
// (null for set and del), {"error": ..., "errno": ...} on failure.
//
// Every failure, usage errors included, exits 1 with one line naming the
// cause (under -j: the JSON error object on stdout). Bytes that are not UTF-8
// (a device or path may hold any byte but '/' and NUL) are printed as \xNN,
// in text and JSON alike, so the output is always valid JSON.
#include <CLI/CLI.hpp>
#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <bpf_ext/cpumap.h>
#include <bpf_ext/pin.h>
#include <devmap_egress/devmap_egress.hpp>

#include "stats.hpp"
#include "tool_info.hpp"

using nlohmann::json;

namespace {

// ---- Output -------------------------------------------------------------

// Length of the valid UTF-8 sequence at s[i], or 0 (RFC 3629: no overlong
// forms, no surrogates, nothing above U+10FFFF).
size_t utf8_len(std::string_view s, size_t i)
{
    auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
    unsigned char c = b(i);
    size_t n = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    if (!n || i + n > s.size())
        return 0;
    for (size_t k = 1; k < n; k++)
        if ((b(i + k) & 0xc0) != 0x80)
            return 0;
    if ((c == 0xe0 && b(i + 1) < 0xa0) || (c == 0xed && b(i + 1) > 0x9f) || (c == 0xf0 && b(i + 1) < 0x90) ||
        (c == 0xf4 && b(i + 1) > 0x8f))
        return 0;
    return n;
}

// `s` with every byte that is not part of valid UTF-8 written as \xNN.
std::string printable(std::string_view s)
{
    std::string out;
    for (size_t i = 0; i < s.size();) {
        if (size_t n = utf8_len(s, i)) {
            out.append(s.substr(i, n));
            i += n;
        } else {
            out += fmt::format("\\x{:02x}", static_cast<unsigned char>(s[i++]));
        }
    }
    return out;
}

struct Output {
    bool as_json = false, pretty = false;
    // Strings reach here through printable(); `replace` is the backstop that
    // keeps a missed one from aborting the program after the work is done.
    void print(const json& j) const
    {
        std::puts(j.dump(pretty ? 2 : -1, ' ', false, json::error_handler_t::replace).c_str());
    }
};

// One line of output: text for people, an object for -j.
struct Row {
    json obj;
    std::string text;
};

void print_rows(const Output& out, const std::vector<Row>& rows)
{
    if (out.as_json) {
        json a = json::array();
        for (const auto& r : rows)
            a.push_back(r.obj);
        return out.print(a);
    }
    for (const auto& r : rows)
        std::puts(r.text.c_str());
}

void print_row(const Output& out, const Row& row)
{
    if (out.as_json)
        return out.print(row.obj);
    if (!row.text.empty())
        std::puts(row.text.c_str());
}

// A command that changes state and prints nothing: `null` under -j (bpftool).
void print_done(const Output& out)
{
    if (out.as_json)
        out.print(nullptr);
}

// ---- Arguments ------------------------------------------------------------

// A mistake in the command line (the CLI's own words, not the library's).
struct UsageError : dme::Error {
    explicit UsageError(const std::string& what) : dme::Error(EINVAL, what) {}
};

[[noreturn]] void usage_error(const std::string& msg) { throw UsageError(msg); }

// Decimal only: no sign, no blanks, no leading zeros (C would read 010 as 8).
uint32_t parse_u32(const std::string& s, const char* what)
{
    bool digits = !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
    if (!digits || (s.size() > 1 && s[0] == '0'))
        usage_error(fmt::format("{} '{}' is not a number from 0 to {} (decimal, no leading zeros)", what,
                                printable(s), UINT32_MAX));
    unsigned long long v = 0;
    for (char c : s) {
        v = v * 10 + unsigned(c - '0');
        if (v > UINT32_MAX)
            usage_error(fmt::format("{} '{}' is not a number from 0 to {}", what, printable(s), UINT32_MAX));
    }
    return uint32_t(v);
}

// The keyword words after a subcommand's positionals, read left to right.
class Words {
public:
    Words(const std::vector<std::string>& w, std::string after) : w_(w), after_(std::move(after)) {}
    bool done() const { return i_ >= w_.size(); }
    const std::string& peek() const { return w_[i_]; }
    const std::string& next(const std::string& what)
    {
        if (done())
            usage_error(fmt::format("{} needs {}", i_ ? "'" + printable(w_[i_ - 1]) + "'" : after_, what));
        return w_[i_++];
    }
    // Nothing may follow what was read.
    void end() const
    {
        if (!done())
            usage_error(fmt::format("unexpected '{}' after {}", printable(w_[i_]), after_));
    }
    void after(std::string what) { after_ = std::move(what); }

private:
    const std::vector<std::string>& w_;
    size_t i_ = 0;
    std::string after_;
};

// "prog FILE.o:NAME", "prog pinned PATH" or "prog id N", loaded as Program.
// A FILE without a '/' that is not in the working directory is looked up
// among the project's BPF objects (installed, or in the build tree).
template <class Program>
std::optional<Program> parse_prog(Words& w, std::optional<dme::BpfObject>& keep_obj)
{
    if (w.done())
        return std::nullopt;
    if (w.peek() != "prog")
        usage_error(fmt::format("unexpected '{}': a slot takes 'prog FILE.o:NAME', 'prog pinned PATH' or "
                                "'prog id N' after it",
                                printable(w.peek())));
    w.next("");
    // The whole command line is checked before anything is opened or loaded.
    const std::string& spec = w.next("'FILE.o:NAME', 'pinned PATH' or 'id N'");
    std::string arg = spec == "pinned" ? w.next("a pin path") : spec == "id" ? w.next("a program id") : "";
    w.after("the program");
    w.end();
    if (spec == "pinned")
        return Program::from_pinned(arg);
    if (spec == "id")
        return Program::from_id(parse_u32(arg, "program id"));
    auto colon = spec.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == spec.size())
        usage_error("program '" + printable(spec) + "': write FILE.o:PROGRAM_NAME");
    keep_obj = dme::BpfObject::open_file(dme_tools::find_bpf_object(spec.substr(0, colon)));
    return Program::load(*keep_obj, spec.substr(colon + 1));
}

// ---- Rows -----------------------------------------------------------------

json prog_json(const dme::SlotProgramInfo& p)
{
    if (!p.id)
        return nullptr;
    return {{"id", p.id}, {"name", printable(p.name)}, {"tag", p.tag}};
}

std::string prog_text(const dme::SlotProgramInfo& p)
{
    return p.id ? fmt::format("{} (id {}, tag {})", printable(p.name), p.id, p.tag) : "-";
}

Row slot_row(const dme::DevmapEgress::Slot& s)
{
    return {{{"key", s.key}, {"ifindex", s.ifindex}, {"ifname", printable(s.ifname)}, {"prog", prog_json(s.prog)}},
            fmt::format("key {:<6} dev {:<16} prog {}", s.key, fmt::format("{}({})", printable(s.ifname), s.ifindex),
                        prog_text(s.prog))};
}

Row slot_row(const dme::Cpumap::Slot& s)
{
    return {{{"cpu", s.cpu}, {"qsize", s.qsize}, {"prog", prog_json(s.prog)}},
            fmt::format("cpu {:<4} qsize {:<6} prog {}", s.cpu, s.qsize, prog_text(s.prog))};
}

// ---- Maps -----------------------------------------------------------------

dme::MapInfo pinned_map_info(const std::string& path)
{
    return dme::read_map_info(dme::detail::open_pinned(path, dme::detail::FdKind::map).get());
}

bool is_cpumap(const std::string& path) { return pinned_map_info(path).type == BPF_MAP_TYPE_CPUMAP; }

// The 'cpumap' verbs are the slot verbs restricted to a cpumap.
void require_cpumap(const std::string& path)
{
    if (!is_cpumap(path))
        throw dme::Error(EINVAL, fmt::format("{} is not a cpumap; 'devmapctl slot ...' manages devmap slots", path));
}

std::vector<Row> slot_rows(const std::string& path)
{
    std::vector<Row> rows;
    if (is_cpumap(path)) {
        for (const auto& s : dme::Cpumap::open(path).slots())
            rows.push_back(slot_row(s));
    } else {
        for (const auto& s : dme::DevmapEgress::open(path).slots())
            rows.push_back(slot_row(s));
    }
    return rows;
}

// ---- Commands -------------------------------------------------------------

void cmd_probe(const Output& out)
{
    auto f = dme::probe_features();
    std::pair<const char*, bpfext_support> features[] = {
        {"devmap_prog", f.devmap_prog}, {"devmap_hash", f.devmap_hash},   {"devmap_hash_prog", f.devmap_hash_prog},
        {"cpumap_prog", f.cpumap_prog}, {"broadcast", f.broadcast},       {"live_frames", f.live_frames},
        {"xdp_features", f.xdp_features}};
    auto r = dme::probe_egress_bypass();
    Row row;
    for (auto [name, s] : features) {
        row.obj[name] = dme::support_str(s);
        row.text += fmt::format("{:<18} {}\n", name, dme::support_str(s));
    }
    row.obj["egress_bypass"] = {{"affected", r.affected},
                                {"slot0", {{"sent", r.sent[0]}, {"ran", r.ran[0]}}},
                                {"slot1", {{"sent", r.sent[1]}, {"ran", r.ran[1]}}}};
    row.text += fmt::format(
        "{:<18} {}", "egress_bypass",
        r.affected ? fmt::format("AFFECTED: two slots to one device ran slot 0's program {} times and slot 1's "
                                 "{} times for {} frames each; give each device one slot, or use the "
                                 "patched kernel",
                                 r.ran[0], r.ran[1], r.sent[0])
                   : "not affected");
    print_row(out, row);
}

struct MapCreateArgs {
    std::string path;
    std::vector<std::string> words;
};

void cmd_map_create(const MapCreateArgs& a, const Output& out)
{
    std::string type, name = "devmapctl";
    std::optional<uint32_t> entries;
    Words w(a.words, "the pin path");
    while (!w.done()) {
        const std::string& kw = w.next("");
        if (kw == "type")
            type = w.next("a map type (devmap, devmap_hash or cpumap)");
        else if (kw == "entries")
            entries = parse_u32(w.next("a number of slots"), "entries");
        else if (kw == "name")
            name = w.next("a map name");
        else
            usage_error("unknown keyword '" + printable(kw) + "' (expected type, entries or name)");
    }
    if (type.empty())
        usage_error("map create needs 'type devmap|devmap_hash|cpumap'");
    // Everything that can fail comes before the pin; after it only printing,
    // which cannot fail.
    std::optional<dme::DevmapEgress> dev;
    std::optional<dme::CpuMap> cpu;
    if (type == "cpumap") {
        cpu = dme::Cpumap::create(name, entries.value_or(0));
    } else if (type == "devmap" || type == "devmap_hash") {
        if (!entries)
            usage_error("a " + type + " needs 'entries N'");
        dev = type == "devmap" ? dme::DevmapEgress::create(name, *entries)
                               : dme::DevmapEgress::create_hash(name, *entries);
    } else {
        usage_error("map type '" + printable(type) + "': use devmap, devmap_hash or cpumap");
    }
    const dme::MapInfo& info = dev ? dev->info() : cpu->info();
    Row row{{{"id", info.id}, {"max_entries", info.max_entries}, {"pinned", printable(a.path)}}, ""};
    dev ? dev->pin(a.path) : cpu->pin(a.path);
    print_row(out, row);
}

void cmd_map_show(const std::string& path, const Output& out)
{
    auto info = pinned_map_info(path);
    const char* type = libbpf_bpf_map_type_str(info.type);
    size_t used = slot_rows(path).size();
    print_row(out, {{{"id", info.id},
                     {"name", printable(info.name)},
                     {"type", type ? type : "unknown"},
                     {"max_entries", info.max_entries},
                     {"value_size", info.value_size},
                     {"slots_used", used}},
                    fmt::format("{}: {}  name {}  max_entries {}  value_size {}  slots used {}", info.id,
                                type ? type : "unknown", printable(info.name), info.max_entries, info.value_size,
                                used)});
}

struct MapPinArgs {
    std::string id, path;
};

void cmd_map_pin(const MapPinArgs& a, const Output& out)
{
    uint32_t id = parse_u32(a.id, "map id");
    if (!id)
        usage_error("map id 0 names no map: ids start at 1 (see 'bpftool map show')");
    int fd = bpf_map_get_fd_by_id(id);
    if (fd < 0)
        throw dme::Error(errno, fmt::format("no BPF map with id {}{}", id,
                                            errno == ENOENT ? " (see 'bpftool map show')"
                                                            : std::string(": ") + std::strerror(errno)));
    dme::Fd owned(fd);
    auto info = dme::read_map_info(fd);
    if (info.type != BPF_MAP_TYPE_DEVMAP && info.type != BPF_MAP_TYPE_DEVMAP_HASH && info.type != BPF_MAP_TYPE_CPUMAP)
        throw dme::Error(EINVAL, fmt::format("map {} ('{}') is not a devmap, devmap_hash or cpumap", id,
                                             printable(info.name)));
    dme::check(bpfext_pin(fd, a.path.c_str()));
    print_row(out, {{{"id", id}, {"pinned", printable(a.path)}}, ""});
}

// On a kernel with the shared-device egress bypass, frames that reach one
// device through two slots in the same flush run one slot's program on both.
// Warn when this write creates that situation (the probe runs only then).
// The slot is written by now: a failure here is a warning, not an error.
void warn_if_bypassable(const dme::DevmapEgress& m, uint32_t key, const dme::Interface& dev)
{
    try {
        auto mine = m.get(key);
        for (const auto& s : m.slots()) {
            if (s.key == key || s.ifindex != dev.ifindex() || (mine && s.prog.id == mine->prog.id))
                continue;
            auto r = dme::probe_egress_bypass();
            if (r.affected)
                fmt::print(stderr,
                           "Warning: slot {} also sends to {} with {} program; this kernel runs only one of the two "
                           "programs on frames that meet in one flush (shared-device egress bypass): give each "
                           "device one slot, or run the patched kernel\n",
                           s.key, printable(dev.name()), s.prog.id ? "another" : "no");
            return;
        }
    } catch (const std::exception& e) {
        fmt::print(stderr, "Warning: slot {} is written, but checking it for the egress bypass failed: {}\n", key,
                   printable(e.what()));
    }
}

struct SlotSetArgs {
    std::string path, key;
    std::vector<std::string> words;
    bool force = false, allow_offline = false;
};

void set_devmap_slot(const SlotSetArgs& a, uint32_t key, Words& w)
{
    auto m = dme::DevmapEgress::open(a.path);
    if (a.allow_offline)
        usage_error("--allow-offline is for cpumap slots; " + a.path + " is a devmap");
    auto dev = dme::Interface::named(w.next("a device name"));
    w.after("the device");
    std::optional<dme::BpfObject> obj;
    dme::DevmapSetOptions opts;
    opts.skip_xmit_check = a.force;
    if (auto prog = parse_prog<dme::EgressProgram>(w, obj))
        m.set(key, dev, *prog, opts);
    else
        m.set(key, dev, opts);
    warn_if_bypassable(m, key, dev);
}

void set_cpumap_slot(const SlotSetArgs& a, uint32_t cpu, Words& w)
{
    auto m = dme::Cpumap::open(a.path);
    if (a.force)
        usage_error("--force is for devmap slots; " + a.path + " is a cpumap");
    uint32_t qsize = parse_u32(w.next("a queue size"), "qsize");
    if (!qsize)
        usage_error(fmt::format("qsize 0 would empty CPU {}'s slot: use 'devmapctl cpumap del {} {}' for that, or "
                                "give a queue size of {}..{} frames",
                                cpu, a.path, cpu, BPFEXT_CPUMAP_QSIZE_MIN, BPFEXT_CPUMAP_QSIZE_MAX));
    w.after("the queue size");
    std::optional<dme::BpfObject> obj;
    dme::CpumapSetOptions opts;
    opts.allow_offline = a.allow_offline;
    if (auto prog = parse_prog<dme::CpumapProgram>(w, obj))
        m.set(cpu, qsize, *prog, opts);
    else
        m.set(cpu, qsize, opts);
}

void cmd_slot_set(const SlotSetArgs& a, bool cpumap_only, const Output& out)
{
    if (cpumap_only)
        require_cpumap(a.path);
    uint32_t key = parse_u32(a.key, cpumap_only ? "CPU" : "key");
    Words w(a.words, "the key");
    const std::string& kind = w.next(cpumap_only ? "'qsize N'" : "'dev IFNAME' (devmap) or 'qsize N' (cpumap)");
    if (kind == "qsize")
        set_cpumap_slot(a, key, w);
    else if (kind == "dev" && !cpumap_only)
        set_devmap_slot(a, key, w);
    else if (cpumap_only)
        usage_error("cpumap set PATH CPU qsize N [prog ...]");
    else
        usage_error("after the key: 'dev IFNAME' for a devmap, 'qsize N' for a cpumap");
    print_done(out);
}

struct SlotDelArgs {
    std::string path, key;
};

void cmd_slot_del(const SlotDelArgs& a, bool cpumap_only, const Output& out)
{
    if (cpumap_only)
        require_cpumap(a.path);
    uint32_t key = parse_u32(a.key, cpumap_only ? "CPU" : "key");
    bool erased = is_cpumap(a.path) ? dme::Cpumap::open(a.path).erase(key) : dme::DevmapEgress::open(a.path).erase(key);
    if (!erased)
        throw dme::Error(ENOENT, fmt::format("slot {} of {} is already empty", key, a.path));
    print_done(out);
}

void cmd_slot_list(const std::string& path, bool cpumap_only, const Output& out)
{
    if (cpumap_only)
        require_cpumap(path);
    print_rows(out, slot_rows(path));
}

struct StatsArgs {
    std::string path, interval = "1000";
    bool watch = false;
};

void cmd_stats(const StatsArgs& a, const Output& out)
{
    uint32_t interval_ms = parse_u32(a.interval, "interval");
    if (interval_ms < 10 || interval_ms > 3600000)
        usage_error(fmt::format("interval {} ms: use 10 to 3600000", interval_ms));
    devmapctl::SlotStats stats;
    do {
        std::vector<Row> rows;
        if (!out.as_json)
            rows.push_back({{}, fmt::format("{:<6} {:<16} {:<16} {:>12} {:>12} {:>12} {:>10}", "key", "dev", "prog",
                                            "runs/s", "sent/s", "not sent/s", "errors/s")});
        for (const auto& s : stats.sample(a.path, std::chrono::milliseconds(interval_ms))) {
            std::string prog = s.prog_id ? printable(s.prog_name) : "-";
            Row row{s.to_json(), fmt::format("{:<6} {:<16} {:<16} {:>12.0f} {:>12.0f} {:>12.0f} {:>10.0f}", s.key,
                                             printable(s.ifname), prog, s.prog_runs_per_s, s.dev_sent_per_s,
                                             s.dev_not_sent_per_s, s.dev_xmit_errors_per_s)};
            row.obj["ifname"] = printable(s.ifname);
            if (s.prog_id)
                row.obj["prog"]["name"] = prog;
            // A VM firewall's verdicts: a line per path, packets by reason.
            for (const auto& [path, reasons] : s.vm_verdicts.value_or(decltype(s.vm_verdicts)::value_type{})) {
                std::string line;
                for (const auto& [reason, packets] : reasons)
                    line += fmt::format("{}{} {}", line.empty() ? "" : ", ", reason, packets);
                row.text += fmt::format("\n{:<6} verdicts {}: {}", s.key, path, line);
            }
            rows.push_back(std::move(row));
        }
        print_rows(out, rows);
        std::fflush(stdout);
    } while (a.watch);
}

// The library explains in its C API's words; say the same in the CLI's.
std::string cli_spelling(std::string msg)
{
    static const std::pair<const char*, const char*> words[] = {
        {"or set allow_offline", "or pass --allow-offline"},
        {"set skip_xmit_check", "pass --force"},
        {"(bpfext_devmap_create's default)", "('devmapctl map create' does)"},
        {"(bpfext_cpumap_create's default)", "('devmapctl map create' does)"},
    };
    for (auto [from, to] : words)
        if (auto at = msg.find(from); at != std::string::npos)
            msg.replace(at, std::strlen(from), to);
    return msg;
}

int report_error(const Output& out, int code, const std::string& what)
{
    std::string msg = printable(cli_spelling(what));
    if (out.as_json)
        out.print({{"error", msg}, {"errno", code}});
    else
        fmt::print(stderr, "Error: {}\n", msg);
    return 1;
}

// CLI11's words for a bad command line, made to name the mistake and the
// command it was made in.
std::string usage_message(const CLI::App& app, const CLI::ParseError& e)
{
    const CLI::App* level = &app;
    while (!level->get_subcommands().empty())
        level = level->get_subcommands().front();
    std::string where = level->get_name();
    for (const CLI::App* p = level->get_parent(); p && p != &app; p = p->get_parent())
        where = p->get_name() + " " + where;
    if (level == &app)
        where = "devmapctl";
    // An unknown subcommand reads as "A subcommand is required" or as an
    // extra argument: name it, and what this level takes.
    auto subs = level->get_subcommands({});
    if (!subs.empty()) {
        std::string names;
        for (const auto* s : subs)
            names += (names.empty() ? "" : ", ") + s->get_name();
        auto extra = level->remaining();
        if (!extra.empty() && extra.front().rfind('-', 0) != 0)
            return fmt::format("unknown command '{}' for {}: use {}", printable(extra.front()), where, names);
        if (extra.empty())
            return fmt::format("{} needs a command: {}", where, names);
    }
    return fmt::format("{}: {}", where, printable(e.what()));
}

}  // namespace

int main(int argc, char** argv)
{
    Output out;
    // -j/-p decide the error format: known before CLI11 has parsed (or failed).
    for (int i = 1; i < argc && std::strcmp(argv[i], "--"); i++)
        for (const char* f : {"-j", "--json", "-p", "--pretty"})
            out.as_json |= !std::strcmp(argv[i], f);

    CLI::App app{"devmapctl: egress XDP programs in devmap and cpumap slots"};
    app.require_subcommand(1);
    app.add_flag("-j,--json", out.as_json, "print JSON");
    app.add_flag("-p,--pretty", out.pretty, "print pretty JSON (implies -j)");
    dme_tools::add_version_flag(app, "devmapctl");
    auto prepare = [&] { out.as_json |= out.pretty; };

    app.add_subcommand("probe", "what this kernel supports, and whether it has the egress bypass")
        ->callback([&] { prepare(), cmd_probe(out); });

    auto map = app.add_subcommand("map", "create and inspect maps pinned under bpffs");
    map->require_subcommand(1);
    MapCreateArgs create;
    auto map_create = map->add_subcommand("create", "PATH type devmap|devmap_hash|cpumap [entries N] [name NAME]");
    map_create->add_option("path", create.path, "pin path under /sys/fs/bpf")->required();
    map_create->add_option("words", create.words, "type T, entries N, name NAME");
    map_create->callback([&] { prepare(), cmd_map_create(create, out); });
    std::string show_path;
    auto map_show = map->add_subcommand("show", "PATH: type, size and slots in use");
    map_show->add_option("path", show_path)->required();
    map_show->callback([&] { prepare(), cmd_map_show(show_path, out); });
    MapPinArgs pin;
    auto map_pin = map->add_subcommand("pin", "ID PATH: pin an existing devmap, devmap_hash or cpumap by id");
    map_pin->add_option("id", pin.id)->required();
    map_pin->add_option("path", pin.path)->required();
    map_pin->callback([&] { prepare(), cmd_map_pin(pin, out); });

    // 'slot' and 'cpumap' share their verbs; 'cpumap' refuses other maps.
    SlotSetArgs set;
    SlotDelArgs del;
    std::string list_path;
    auto slot_verbs = [&](CLI::App* parent, bool cpumap_only) {
        parent->require_subcommand(1);
        auto s = parent->add_subcommand("set", cpumap_only ? "PATH CPU qsize N [prog FILE.o:NAME|pinned PATH|id N]"
                                                           : "PATH KEY dev IFNAME [prog FILE.o:NAME|pinned PATH|id N]; "
                                                             "PATH CPU qsize N [prog ...]");
        s->add_option("path", set.path)->required();
        s->add_option("key", set.key, cpumap_only ? "CPU" : "key (devmap) or CPU (cpumap)")->required();
        s->add_option("words", set.words, "dev IFNAME | qsize N, then prog ...");
        if (!cpumap_only)
            s->add_flag("-f,--force", set.force,
                        "write even if the device cannot transmit XDP frames now (generic XDP)");
        s->add_flag("--allow-offline", set.allow_offline, "accept a CPU that is possible but offline (cpumap)");
        s->callback([&, cpumap_only] { prepare(), cmd_slot_set(set, cpumap_only, out); });
        auto d = parent->add_subcommand("del", cpumap_only ? "PATH CPU: stop the CPU's kthread, release its program"
                                                           : "PATH KEY: clear a slot (its program is released)");
        d->add_option("path", del.path)->required();
        d->add_option("key", del.key)->required();
        d->callback([&, cpumap_only] { prepare(), cmd_slot_del(del, cpumap_only, out); });
        auto l = parent->add_subcommand("list", cpumap_only ? "PATH: CPUs with a queue, their qsize and program"
                                                            : "PATH: the slots in use");
        l->add_option("path", list_path)->required();
        l->callback([&, cpumap_only] { prepare(), cmd_slot_list(list_path, cpumap_only, out); });
    };
    slot_verbs(app.add_subcommand("slot", "write, clear and list slots"), false);
    slot_verbs(app.add_subcommand("cpumap", "the slot verbs for a cpumap: set, del, list"), true);

    StatsArgs st;
    auto stats = app.add_subcommand("stats", "PATH: per slot, program runs and device transmit results per second");
    stats->add_option("path", st.path)->required();
    stats->add_option("-i,--interval", st.interval, "sampling interval in milliseconds (10..3600000, default 1000)");
    stats->add_flag("-w,--watch", st.watch, "print a new sample every interval until interrupted");
    stats->callback([&] { prepare(), cmd_stats(st, out); });

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        return report_error(out, EINVAL, usage_message(app, e));
    } catch (const dme::Error& e) {
        return report_error(out, e.code(), e.what());
    } catch (const std::bad_alloc&) {
        return report_error(out, ENOMEM, "out of memory");
    } catch (const std::exception& e) {
        return report_error(out, EIO, std::string("unexpected failure: ") + e.what());
    } catch (...) {
        return report_error(out, EIO, "unexpected failure");
    }
    return 0;
}
