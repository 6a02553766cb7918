#include "status_report.hpp"

#include "vm_shared_types.h"

#include <cerrno>

#include <devmap_egress/error.hpp>

namespace vmhost {

namespace {
using json = nlohmann::json;

json vm_summary(const Daemon::VmStatus& s)
{
    json j = {{"name", s.name}, {"mac", s.mac.str()}, {"slot", s.port}, {"enforced", s.enforced}};
    j["tap"] = s.ifindex ? json(s.tap) : json(nullptr);
    j["ifindex"] = s.ifindex ? json(*s.ifindex) : json(nullptr);
    if (s.enforced)
        j["time_to_policy_ms"] = s.time_to_policy.count() / 1000.0;
    // create_tap: vmhostd made the tap, and brings it up once the policy is enforced.
    if (s.tap_made) {
        j["tap_made"] = true;
        j["tap_up"] = s.tap_up;
    }
    if (!s.error.empty())
        j["error"] = s.error;
    // Its adoption failed: the previous daemon's programs and policy stay in force.
    if (s.kept)
        j["kept"] = true;
    return j;
}

json counters(const Vm& vm, vm_path path)
{
    json out = json::object();
    auto t = vm.traffic(path);
    for (uint32_t r = 0; r < VM_REASONS; r++)
        if (t[r].packets)
            out[reason_name(r)] = {{"packets", t[r].packets}, {"bytes", t[r].bytes}};
    return out;
}
}  // namespace

json status_report(const Daemon& d, const Health& h)
{
    json vms = json::array();
    for (const auto& s : d.status())
        vms.push_back(vm_summary(s));
    return {{"uplink", d.config().uplink},
            {"xdp_mode", d.config().mode == dme::XdpMode::native ? "native" : "generic"},
            {"slot_programs", d.host().shared_slots() ? "shared" : "per-vm"},
            {"shared_program", d.host().shared_prog_id() ? json(d.host().shared_prog_id()) : json(nullptr)},
            {"shared_drops",
             d.host().shared_slots()
                 ? json{{"unknown_device", d.host().shared_drops(VM_SHARED_UNKNOWN_DEV)},
                        {"incomplete", d.host().shared_drops(VM_SHARED_INCOMPLETE)}}
                 : json(nullptr)},
            {"metrics", d.config().metrics},
            {"reloads", h.reloads},
            {"reload_failures", h.reload_failures},
            {"last_reload_ok", h.last_reload_ok},
            {"vms", vms}};
}

json vm_report(const Daemon& d, const std::string& name)
{
    for (const auto& s : d.status()) {
        if (s.name != name)
            continue;
        json j = vm_summary(s);
        const VmConfig* cfg = nullptr;
        for (const auto& v : d.config().vms)
            if (v.name == name)
                cfg = &v;
        if (cfg) {
            json addrs = json::array();
            for (const auto& a : cfg->policy.addrs)
                addrs.push_back(a.str());
            j["addresses"] = addrs;
            j["rules"] = cfg->policy.rules.size();
        }
        if (const Vm* vm = s.enforced ? d.host().vm(s.port) : nullptr) {
            j["programs"] = vm->objects().prog_ids;
            json maps = json::object();
            for (size_t i = 0; i < vm->objects().map_ids.size(); i++)
                maps[vm->objects().map_names.at(i)] = vm->objects().map_ids[i];
            j["maps"] = maps;
            j["counters"] = {{"xdp", counters(*vm, VM_PATH_XDP)},
                             {"skb", counters(*vm, VM_PATH_SKB)},
                             {"guard", counters(*vm, VM_PATH_GUARD)}};
            auto c = vm->conntrack();
            j["conntrack"] = {{"entries", c.entries}, {"created", c.created}, {"expired", c.expired},
                              {"evicted", c.evicted}, {"related", c.related}, {"fragments", c.fragments}};
        }
        return j;
    }
    dme::fail(ENOENT, "no VM named '" + name + "' in the configuration (vmhostctl status lists them)");
}

}  // namespace vmhost
