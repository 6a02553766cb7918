#include "metrics.hpp"

#include <fstream>
#include <sstream>
#include <utility>
#include <vector>

#include <devmap_egress/error.hpp>

#include "policy.hpp"

namespace vmhost {

namespace {
// Label values escape \, " and newline (the exposition format's rule).
std::string label(const std::string& v)
{
    std::string out;
    for (char c : v) {
        if (c == '\\' || c == '"')
            out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out;
}

class Writer {
public:
    void family(const char* name, const char* type, const char* help)
    {
        out_ << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
    }
    template <typename T>
    void sample(const char* name, const std::string& labels, T value)
    {
        out_ << name;
        if (!labels.empty())
            out_ << '{' << labels << '}';
        out_ << ' ' << value << '\n';
    }
    std::string str() const { return out_.str(); }
    Writer() { out_.precision(17); }

private:
    std::ostringstream out_;
};

const char* path_name(int p)
{
    switch (p) {
    case VM_PATH_XDP: return "xdp";
    case VM_PATH_SKB: return "skb";
    case VM_PATH_GUARD: return "guard";
    default: return "guard_tc";
    }
}

uint64_t tap_stat(const std::string& tap, const char* what)
{
    std::ifstream in("/sys/class/net/" + tap + "/statistics/" + what);
    uint64_t v = 0;
    in >> v;
    return v;
}
}  // namespace

std::string prometheus_text(const Daemon& d, const Health& h)
{
    Writer w;
    auto vms = d.status();
    int present = 0, enforced = 0;
    for (const auto& s : vms) {
        present += s.ifindex.has_value();
        enforced += s.enforced;
    }
    w.family("vmhost_vms", "gauge", "VMs by state: configured, present (tap seen), enforced (policy attached).");
    w.sample("vmhost_vms", "state=\"configured\"", vms.size());
    w.sample("vmhost_vms", "state=\"present\"", present);
    w.sample("vmhost_vms", "state=\"enforced\"", enforced);
    w.family("vmhost_start_time_seconds", "gauge", "When vmhostd started, Unix time.");
    w.sample("vmhost_start_time_seconds", "", h.started_time);
    w.family("vmhost_reloads_total", "counter", "Reloads asked for (SIGHUP or vmhostctl reload).");
    w.sample("vmhost_reloads_total", "", h.reloads);
    w.family("vmhost_reload_failures_total", "counter", "Reloads that failed in whole or in part.");
    w.sample("vmhost_reload_failures_total", "", h.reload_failures);
    w.family("vmhost_last_reload_success", "gauge", "1 if the last reload applied fully, else 0.");
    w.sample("vmhost_last_reload_success", "", h.last_reload_ok ? 1 : 0);
    w.family("vmhost_last_reload_time_seconds", "gauge", "When the last reload ran, Unix time; 0 if none.");
    w.sample("vmhost_last_reload_time_seconds", "", h.last_reload_time);

    w.family("vmhost_vm_enforced", "gauge", "1 while the VM's guard, slot firewall and tc twin are attached.");
    for (const auto& s : vms)
        w.sample("vmhost_vm_enforced", "vm=\"" + label(s.name) + "\"", s.enforced ? 1 : 0);
    w.family("vmhost_vm_time_to_policy_seconds", "gauge",
             "From the tap being seen to the VM's policy enforced, for its current tap.");
    for (const auto& s : vms)
        if (s.enforced)
            w.sample("vmhost_vm_time_to_policy_seconds", "vm=\"" + label(s.name) + "\"",
                     s.time_to_policy.count() / 1e6);

    // Each enforced VM's counters, read once, then written family by family
    // (the format wants a family's samples together).
    struct Reading {
        std::string vm, tap;
        ReasonTraffic traffic[3];
        ConntrackStats ct;
    };
    const int paths[3] = {VM_PATH_XDP, VM_PATH_SKB, VM_PATH_GUARD};
    std::vector<Reading> readings;
    for (const auto& s : vms)
        if (const Vm* vm = s.enforced ? d.host().vm(s.port) : nullptr) {
            Reading r{"vm=\"" + label(s.name) + "\"", s.tap, {}, vm->conntrack()};
            for (int i = 0; i < 3; i++)
                r.traffic[i] = vm->traffic(vm_path(paths[i]));
            readings.push_back(std::move(r));
        }
    // Reasons never met stay out: 30 series per path would be noise.
    auto per_verdict = [&](const char* name, __u64 vm_count::*field) {
        for (const auto& r : readings)
            for (int i = 0; i < 3; i++)
                for (uint32_t v = 0; v < VM_REASONS; v++)
                    if (r.traffic[i][v].packets || v == VM_PASS)
                        w.sample(name, r.vm + ",path=\"" + path_name(paths[i]) + "\",verdict=\"" + reason_name(v) + "\"",
                                 r.traffic[i][v].*field);
    };
    w.family("vmhost_vm_packets_total", "counter",
             "Frames judged, by VM, path (xdp: devmap slot, skb: tc egress, guard: tap ingress) and verdict (pass or the drop reason).");
    per_verdict("vmhost_vm_packets_total", &vm_count::packets);
    w.family("vmhost_vm_bytes_total", "counter", "Bytes of the frames in vmhost_vm_packets_total.");
    per_verdict("vmhost_vm_bytes_total", &vm_count::bytes);
    w.family("vmhost_vm_conntrack_entries", "gauge", "Flows in the VM's table now.");
    for (const auto& r : readings)
        w.sample("vmhost_vm_conntrack_entries", r.vm, r.ct.entries);
    w.family("vmhost_vm_conntrack_events_total", "counter",
             "Flow-table events: flows created, expired, evicted by the LRU; ICMP errors and later fragments let through.");
    for (const auto& r : readings)
        for (auto [event, n] : {std::pair{"created", r.ct.created}, {"expired", r.ct.expired}, {"evicted", r.ct.evicted},
                                {"related", r.ct.related}, {"fragment", r.ct.fragments}})
            w.sample("vmhost_vm_conntrack_events_total", r.vm + ",event=\"" + event + "\"", n);
    w.family("vmhost_vm_tap_tx_dropped_total", "counter",
             "Frames the VM's tap dropped on transmit (its slot's redirects included).");
    for (const auto& r : readings)
        w.sample("vmhost_vm_tap_tx_dropped_total", r.vm + ",tap=\"" + label(r.tap) + "\"", tap_stat(r.tap, "tx_dropped"));
    return w.str();
}

}  // namespace vmhost
