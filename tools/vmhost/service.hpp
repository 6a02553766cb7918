// vmhostd as a service: the daemon (Daemon) with what runs around it: the
// configuration file and its reloads (SIGHUP, vmhostctl reload), the
// control socket, the Prometheus endpoint, and systemd's notification
// protocol (READY, RELOADING, STOPPING, STATUS; a no-op outside systemd).
#pragma once

#include <functional>
#include <string>

namespace vmhost {

struct ServiceOptions {
    std::string config_path;
    std::string control_path = "/run/vmhostd/vmhostd.sock";
    // teardown: the state directory, in place of the configuration's
    // host.state_dir (the file is then not read).
    std::string state_dir;
};

class Service {
public:
    using Log = std::function<void(const std::string&)>;
    Service(ServiceOptions opts, Log log);
    // Runs until SIGTERM or SIGINT, then leaves the datapath running and
    // pinned for the next daemon (Daemon::release). Throws ConfigError or
    // dme::Error if it cannot start (bad file, uplink, socket or metrics
    // address, a daemon already running).
    void run();
    // Removes what the daemons of this configuration (or state directory)
    // left, from the pins alone (teardown_state): every VM's programs, the
    // taps vmhostd made, the NIC demux, the pins. The uplink need not be
    // there, nor the file valid when a state directory is given. Refused
    // while a daemon runs.
    void teardown();

private:
    ServiceOptions opts_;
    Log log_;
};

}  // namespace vmhost
