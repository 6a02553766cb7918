// vmhostd: the VM host as a service (docs/vmhost-config.md).
//   vmhostd check FILE   check a configuration; every problem, one a line
//   vmhostd run FILE     enforce it: attach each VM's policy when its tap
//                        appears, forget it when the tap goes; one log line
//                        per event; SIGINT or SIGTERM end it
// Exits 0, or 1 with the cause on stderr.
#include <CLI/CLI.hpp>

#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>

#include <devmap_egress/error.hpp>

#include "config.hpp"
#include "daemon.hpp"
#include "tool_info.hpp"

namespace {
std::atomic<bool> g_stop{false};

void on_signal(int) { g_stop = true; }

int check(const std::string& path)
{
    auto cfg = vmhost::load_config(path);
    std::printf("%s: valid; uplink %s, %zu VMs\n", path.c_str(), cfg.uplink.c_str(), cfg.vms.size());
    return 0;
}

int run(const std::string& path)
{
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    vmhost::Daemon d(vmhost::load_config(path), [](const std::string& line) {
        std::fprintf(stderr, "vmhostd: %s\n", line.c_str());
    });
    while (!g_stop)
        d.step(std::chrono::milliseconds(500));
    std::fprintf(stderr, "vmhostd: stopping: detaching every VM's programs and the NIC demux\n");
    return 0;
}
}  // namespace

int main(int argc, char** argv)
{
    CLI::App app{"vmhostd: per-VM port security and security groups in devmap slots, following the VMs' taps"};
    dme_tools::add_version_flag(app, "vmhostd");
    app.require_subcommand(1);
    std::string path;
    auto* c = app.add_subcommand("check", "check a configuration file");
    c->add_option("FILE", path, "the configuration (TOML)")->required();
    auto* r = app.add_subcommand("run", "enforce a configuration until SIGINT or SIGTERM");
    r->add_option("FILE", path, "the configuration (TOML)")->required();
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? 0 : 1;
    }
    try {
        return c->parsed() ? check(path) : run(path);
    } catch (const vmhost::ConfigError& e) {
        std::fprintf(stderr, "%s\n", e.what());
    } catch (const dme::Error& e) {
        std::fprintf(stderr, "vmhostd: %s\n", e.what());
    }
    return 1;
}
