// What `vmhostctl status` and `vmhostctl vm NAME` show, as the JSON the
// daemon sends over its control socket: the host, each VM's state, and for
// one VM its identity, counters and flow table.
#pragma once

#include <nlohmann/json.hpp>

#include "daemon.hpp"
#include "metrics.hpp"

namespace vmhost {

nlohmann::json status_report(const Daemon& d, const Health& h);
// Throws dme::Error (ENOENT) if no VM has that name.
nlohmann::json vm_report(const Daemon& d, const std::string& name);

}  // namespace vmhost
