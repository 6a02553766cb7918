// vmhostd's metrics in the Prometheus text exposition format (version
// 0.0.4): per VM, packets and bytes by path and verdict, its flow table and
// its tap's transmit drops; for the daemon, the VMs configured, present and
// enforced, time to policy, and the reloads. The names: docs/vmhostd.md.
#pragma once

#include <cstdint>
#include <string>

#include "daemon.hpp"

namespace vmhost {

// What the service knows of reloads beyond the daemon (a file that did not
// parse never reaches Daemon::reload).
struct Health {
    uint64_t reloads = 0, reload_failures = 0;
    bool last_reload_ok = true;
    double last_reload_time = 0;  // Unix seconds; 0: none yet
    double started_time = 0;
};

std::string prometheus_text(const Daemon& d, const Health& h);

}  // namespace vmhost
