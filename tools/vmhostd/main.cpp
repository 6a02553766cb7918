// vmhostd: the VM host as a service (docs/vmhostd.md, docs/vmhost-config.md).
//   vmhostd check FILE   check a configuration; every problem, one a line
//   vmhostd run FILE     enforce it: attach each VM's policy when its tap
//                        appears, forget it when the tap goes; SIGHUP or
//                        vmhostctl reload re-reads FILE; SIGINT or SIGTERM
//                        end it, leaving the datapath running and pinned
//                        for the next vmhostd to adopt. One log line per
//                        event, on stderr.
//   vmhostd teardown FILE | --state-dir DIR
//                        remove what vmhostd left, from its pins: programs,
//                        the taps it made, pins; the uplink need not be there
// Exits 0, or 1 with the cause on stderr.
#include <CLI/CLI.hpp>

#include <cstdio>

#include <devmap_egress/error.hpp>

#include "config.hpp"
#include "service.hpp"
#include "tool_info.hpp"

namespace {
int check(const std::string& path)
{
    auto cfg = vmhost::load_config(path);
    std::printf("%s: valid; uplink %s, %zu VMs\n", path.c_str(), cfg.uplink.c_str(), cfg.vms.size());
    return 0;
}
}  // namespace

int main(int argc, char** argv)
{
    CLI::App app{"vmhostd: per-VM port security and security groups in devmap slots, following the VMs' taps"};
    dme_tools::add_version_flag(app, "vmhostd");
    app.require_subcommand(1);
    std::string path;
    vmhost::ServiceOptions opts;
    auto* c = app.add_subcommand("check", "check a configuration file");
    c->add_option("FILE", path, "the configuration (TOML)")->required();
    auto* r = app.add_subcommand("run", "enforce a configuration until SIGINT or SIGTERM; SIGHUP reloads it");
    r->add_option("FILE", opts.config_path, "the configuration (TOML)")->required();
    r->add_option("--socket", opts.control_path, "the control socket vmhostctl talks to")->capture_default_str();
    auto* t = app.add_subcommand("teardown", "remove the datapath a stopped vmhostd left, from its pins: every "
                                             "VM's programs, the taps it made, the NIC demux and the pins (refused "
                                             "while vmhostd runs); the uplink need not be there");
    auto* t_file = t->add_option("FILE", opts.config_path, "the configuration (TOML), for its host.state_dir");
    t->add_option("--state-dir", opts.state_dir,
                  "the state directory (host.state_dir) in place of FILE, when the configuration cannot be read")
        ->excludes(t_file);
    t->add_option("--socket", opts.control_path, "the control socket of a running vmhostd")->capture_default_str();
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? 0 : 1;
    }
    if (t->parsed() && opts.config_path.empty() && opts.state_dir.empty()) {
        std::fprintf(stderr, "vmhostd teardown: give the configuration FILE, or the state directory with --state-dir "
                             "DIR (host.state_dir, /sys/fs/bpf/vmhostd by default)\n");
        return 1;
    }
    try {
        if (c->parsed())
            return check(path);
        vmhost::Service service(opts, [](const std::string& line) {
            std::fprintf(stderr, "vmhostd: %s\n", line.c_str());
        });
        if (t->parsed())
            service.teardown();
        else
            service.run();
        return 0;
    } catch (const vmhost::ConfigError& e) {
        std::fprintf(stderr, "%s\n", e.what());
    } catch (const dme::Error& e) {
        std::fprintf(stderr, "vmhostd: %s\n", e.what());
    }
    return 1;
}
