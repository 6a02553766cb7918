// vmhostctl: ask a running vmhostd (docs/vmhostd.md) over its control socket.
//   vmhostctl status [-j]    the host and every VM: slot, tap, enforced
//   vmhostctl vm NAME [-j]   one VM: identity, programs, counters, flows
//   vmhostctl reload         re-read the configuration (as SIGHUP does) and
//                            say what changed; exits 1 if it failed
//   vmhostctl wait MAC [--tap TAP] [--gone] [--timeout S]
//                            until the VM with that MAC is enforced (on TAP),
//                            or with --gone has no tap: the libvirt hook's
//                            question. Exits 3 if no VM has that MAC.
// Exits 0, or 1 with the cause on stderr.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <thread>

#include <nlohmann/json.hpp>
#include <devmap_egress/error.hpp>

#include "control_socket.hpp"
#include "tool_info.hpp"

namespace {
using json = nlohmann::json;

std::string text(const json& v) { return v.is_null() ? "-" : v.is_string() ? v.get<std::string>() : v.dump(); }

void print_status(const json& s)
{
    fmt::print("uplink {} ({} XDP), metrics http://{}/metrics, reloads {} ({} failed)\n", text(s["uplink"]),
               text(s["xdp_mode"]), text(s["metrics"]), text(s["reloads"]), text(s["reload_failures"]));
    if (s.contains("slot_programs"))
        fmt::print("slot programs: {}{}\n", text(s["slot_programs"]),
                   s["shared_program"].is_null()
                       ? std::string()
                       : fmt::format(" (the devmap's default, program id {}; dropped for no VM: {}, for a VM half "
                                     "there: {})",
                                     text(s["shared_program"]), text(s["shared_drops"]["unknown_device"]),
                                     text(s["shared_drops"]["incomplete"])));
    fmt::print("{:<20} {:>5} {:<16} {:>8} {:>10}  {}\n", "VM", "SLOT", "TAP", "ENFORCED", "POLICY_MS", "ERROR");
    for (const auto& v : s["vms"])
        fmt::print("{:<20} {:>5} {:<16} {:>8} {:>10}  {}\n", text(v["name"]), text(v["slot"]), text(v["tap"]),
                   v["enforced"].get<bool>() ? "yes" : v.contains("kept") ? "kept" : "no",
                   v.contains("time_to_policy_ms") ? fmt::format("{:.2f}", v["time_to_policy_ms"].get<double>()) : "-",
                   v.contains("error") ? text(v["error"]) : "");
}

std::string lower(std::string s)
{
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return s;
}

// Polls the daemon's status until the VM with `mac` is as asked.
int wait_for(const std::string& socket, const std::string& mac, const std::string& tap, bool gone, double timeout)
{
    auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout);
    for (;;) {
        json s = json::parse(vmhost::control_request(socket, "status"));
        const json* vm = nullptr;
        for (const auto& v : s["vms"])
            if (lower(text(v["mac"])) == lower(mac))
                vm = &v;
        if (!vm) {
            std::fprintf(stderr, "vmhostctl: no VM with MAC %s in vmhostd's configuration\n", mac.c_str());
            return 3;
        }
        const json& v = *vm;
        bool done = gone ? v["tap"].is_null()
                         : v["enforced"].get<bool>() && (tap.empty() || text(v["tap"]) == tap);
        if (done) {
            std::printf("vm %s: %s\n", text(v["name"]).c_str(),
                        gone ? "no tap, nothing enforced" : ("enforced on " + text(v["tap"])).c_str());
            return 0;
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            std::string why = gone ? "its tap " + text(v["tap"]) + " is still there"
                              : v.contains("error") ? text(v["error"])
                              : v["tap"].is_null() ? "vmhostd has not seen its tap" + (tap.empty() ? "" : " " + tap)
                                                   : "it is on tap " + text(v["tap"]) + ", not " + tap;
            std::fprintf(stderr, "vmhostctl: vm %s (%s): %s after %.1f s: %s\n", text(v["name"]).c_str(), mac.c_str(),
                         gone ? "not released" : "not enforced", timeout, why.c_str());
            return 1;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
}

void print_vm(const json& v)
{
    fmt::print("vm {}: slot {}, tap {}, {}\n", text(v["name"]), text(v["slot"]), text(v["tap"]),
               v["enforced"].get<bool>() ? "enforced" : "not enforced");
    if (v.contains("tap_made"))
        fmt::print("  tap made by vmhostd, {}\n", v["tap_up"].get<bool>() ? "up" : "down until its policy is enforced");
    if (v.contains("mac"))
        fmt::print("  mac {}, addresses {}, {} rules\n", text(v["mac"]), text(v["addresses"]), text(v["rules"]));
    if (v.contains("programs"))
        fmt::print("  programs (slot, tc, guard): {}\n", text(v["programs"]));
    if (v.contains("counters"))
        for (const auto& [path, reasons] : v["counters"].items())
            for (const auto& [reason, c] : reasons.items())
                fmt::print("  {:<6} {:<16} {:>12} packets {:>14} bytes\n", path, reason, text(c["packets"]),
                           text(c["bytes"]));
    if (v.contains("conntrack")) {
        const auto& c = v["conntrack"];
        fmt::print("  flows {} (created {}, expired {}, evicted {}; related {}, fragments {})\n", text(c["entries"]),
                   text(c["created"]), text(c["expired"]), text(c["evicted"]), text(c["related"]),
                   text(c["fragments"]));
    }
    if (v.contains("error"))
        fmt::print("  error: {}\n", text(v["error"]));
    if (v.contains("kept"))
        fmt::print("  the previous vmhostd's programs and policy stay in force on its tap until this one's can be\n");
}
}  // namespace

int main(int argc, char** argv)
{
    CLI::App app{"vmhostctl: ask a running vmhostd"};
    dme_tools::add_version_flag(app, "vmhostctl");
    app.require_subcommand(1);
    std::string socket = "/run/vmhostd/vmhostd.sock", name;
    bool as_json = false;
    app.add_option("--socket", socket, "vmhostd's control socket")->capture_default_str();
    auto* st = app.add_subcommand("status", "the host and every VM");
    st->add_flag("-j,--json", as_json, "JSON");
    auto* vm = app.add_subcommand("vm", "one VM: identity, programs, counters, flows");
    vm->add_option("NAME", name, "the VM's name in the configuration")->required();
    vm->add_flag("-j,--json", as_json, "JSON");
    auto* rl = app.add_subcommand("reload", "re-read the configuration file and apply what changed");
    std::string mac, tap;
    bool gone = false;
    double timeout = 10;
    auto* wt = app.add_subcommand("wait", "until the VM with MAC is enforced (exit 0), or the timeout (exit 1)");
    wt->add_option("MAC", mac, "the VM's MAC, as in its domain XML")->required();
    wt->add_option("--tap", tap, "and enforced on this tap");
    wt->add_flag("--gone", gone, "until the VM has no tap instead");
    wt->add_option("--timeout", timeout, "seconds")->capture_default_str()->check(CLI::PositiveNumber);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? 0 : 1;
    }
    try {
        if (wt->parsed())
            return wait_for(socket, mac, tap, gone, timeout);
        std::string req = st->parsed() ? "status" : vm->parsed() ? "vm " + name : "reload";
        json reply = json::parse(vmhost::control_request(socket, req), nullptr, false);
        if (reply.is_discarded())
            dme::fail(EPROTO, "vmhostd's reply is not JSON: is " + socket + " vmhostd's socket?");
        if (reply.contains("error")) {
            std::fprintf(stderr, "vmhostctl: %s\n", text(reply["error"]).c_str());
            return 1;
        }
        if (as_json) {
            std::printf("%s\n", reply.dump(2).c_str());
        } else if (rl->parsed()) {
            std::printf("reload %s\n", text(reply["summary"]).c_str());
            if (reply.contains("problems"))
                for (const auto& p : reply["problems"])
                    std::printf("  %s\n", text(p).c_str());
        } else if (st->parsed()) {
            print_status(reply);
        } else {
            print_vm(reply);
        }
        return rl->parsed() && !reply["ok"].get<bool>() ? 1 : 0;
    } catch (const dme::Error& e) {
        std::fprintf(stderr, "vmhostctl: %s\n", e.what());
    }
    return 1;
}
