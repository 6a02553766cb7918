#include "report.hpp"

#include <cstdio>
#include <sstream>
#include <string>

namespace bench {

namespace {
using json = nlohmann::json;

std::string fmt(const char* f, double v)
{
    char buf[64];
    std::snprintf(buf, sizeof(buf), f, v);
    return buf;
}

// "12.3 [11.9–13.0]"
std::string spread(const json& s, const char* f = "%.1f")
{
    return fmt(f, s.at("median").get<double>()) + " [" + fmt(f, s.at("min").get<double>()) + "–" +
           fmt(f, s.at("max").get<double>()) + "]";
}

std::string ratio(const json& row, const char* f = "%.2f")
{
    return row.contains("ratio_to_redirect") ? fmt(f, row["ratio_to_redirect"].get<double>()) : "";
}

void datapath_table(std::ostringstream& o, const json& rows)
{
    if (rows.empty())
        return;
    o << "### Datapath, one target\n\n"
      << "| case | frame B | ns/pkt | Mpps | × redirect | CPU ns/pkt | wall ns/pkt | delivered |\n"
      << "|---|---:|---:|---:|---:|---:|---:|---:|\n";
    for (const auto& row : rows)
        o << "| " << row.value("description", "") << " | " << row.value("frame_bytes", 0) << " | "
          << spread(row.at("ns_per_pkt")) << " | " << fmt("%.2f", row.at("mpps").at("median").get<double>()) << " | "
          << ratio(row) << " | " << fmt("%.0f", row.at("cpu_ns_per_pkt").at("median").get<double>()) << " | "
          << fmt("%.0f", row.at("wall_ns_per_pkt").at("median").get<double>()) << " | "
          << fmt("%.0f%%", row.value("delivered_ratio", 0.0) * 100) << " |\n";
    o << "\n";
}

void scaling_table(std::ostringstream& o, const json& rows, const json& cfg)
{
    if (rows.empty())
        return;
    o << "### Slot scaling (" << cfg.at("frame_bytes").at(0).get<int>() << "-byte frames, slot k → veth k mod "
      << cfg.value("veths", 0) << ")\n\n"
      << "| slots | veths | case | programs | ns/pkt | Mpps | × redirect |\n"
      << "|---:|---:|---|---|---:|---:|---:|\n";
    for (const auto& row : rows)
        o << "| " << row.value("slots", 0) << " | " << row.value("veths", 0) << " | " << row.value("case", "")
          << " | " << row.value("programs", "") << " | " << spread(row.at("ns_per_pkt")) << " | "
          << fmt("%.2f", row.at("mpps").at("median").get<double>()) << " | " << ratio(row) << " |\n";
    o << "\n";
}

void control_table(std::ostringstream& o, const json& rows)
{
    if (rows.empty())
        return;
    o << "### Control plane\n\n"
      << "CPU time of the writing thread (stable on a loaded machine) and wall time.\n\n"
      << "× PROG_ARRAY: the row's CPU time over the PROG_ARRAY fill's (fills) or update's (updates), same run.\n\n"
      << "| operation | slots | CPU ms | µs/slot (CPU) | × PROG_ARRAY | wall ms |\n"
      << "|---|---:|---:|---:|---:|---:|\n";
    std::string unsupported;
    for (const auto& row : rows) {
        if (!row.value("supported", true)) {
            unsupported += "- " + row.value("case", "") + ", " + row.value("description", "") +
                           ": not measured on this kernel. " + row.value("reason", "") + "\n";
            continue;
        }
        o << "| " << row.value("case", "") << ": " << row.value("description", "") << " | " << row.value("slots", 0)
          << " | " << spread(row.at("cpu_ms"), "%.2f") << " | "
          << fmt("%.1f", row.at("cpu_ms").at("median").get<double>() * 1000.0 / row.value("slots", 1)) << " | "
          << (row.contains("prog_array_ratio") ? fmt("%.1f", row["prog_array_ratio"].get<double>()) : "")
          << " | " << spread(row.at("total_ms"), "%.2f") << " |\n";
    }
    // The control-plane goal (issue 16): 1000 slot writes in at most 10 ms
    // of CPU, through the C API and the C++ API, beside the PROG_ARRAY fill.
    auto cpu_of = [&](const char* name) {
        for (const auto& row : rows)
            if (row.value("case", "") == name && row.contains("cpu_ms"))
                return row["cpu_ms"]["median"].get<double>() * 1000.0 / row.value("slots", 1);
        return 0.0;
    };
    double c = cpu_of("fill_per_slot_c"), cxx = cpu_of("fill_per_slot"), pa = cpu_of("tailcall_fill"),
           raw = cpu_of("fill_per_slot_raw");
    if (c > 0 && cxx > 0 && pa > 0) {
        o << "\nPer 1000 slot writes (fill, distinct programs, CPU): C API " << fmt("%.1f ms", c) << ", C++ API "
          << fmt("%.1f ms", cxx) << ", PROG_ARRAY " << fmt("%.1f ms", pa) << ": ×" << fmt("%.1f", c / pa) << " and ×"
          << fmt("%.1f", cxx / pa) << " the PROG_ARRAY fill";
        if (raw > 0)
            o << ", ×" << fmt("%.1f", c / raw) << " and ×" << fmt("%.1f", cxx / raw) << " the unchecked devmap fill ("
              << fmt("%.1f ms", raw) << ")";
        o << " (goal: at most 10 ms).\n";
    }
    for (const auto& row : rows)
        if (row.contains("update_policy_ratio"))
            o << "\nOne default replace for " << row.value("slots", 0) << " inheriting slots: "
              << fmt("%.1f", row["update_policy_ratio"].get<double>())
              << "× faster (CPU time) than update_policy's " << row.value("slots", 0) << " slot updates.\n";
    if (!unsupported.empty())
        o << "\n" << unsupported;
}

// One guard table: ns/frame of each program from `figures`, and the ratios.
void guard_rows(std::ostringstream& o, const json& rows, const char* figures, const char* to_v1, const char* to_none)
{
    o << "| frame | none | v1 | guard | guard ÷ v1 | guard ÷ none |\n|---|---:|---:|---:|---:|---:|\n";
    for (const auto& row : rows) {
        const json& ns = row.at(figures);
        o << "| " << row.value("frame", "") << " | " << spread(ns.at("none")) << " | " << spread(ns.at("v1")) << " | "
          << spread(ns.at("guard")) << " | " << fmt("%.2f", row.at(to_v1).get<double>()) << " | "
          << fmt("%.2f", row.at(to_none).get<double>()) << " |\n";
    }
}

void secgroups_table(std::ostringstream& o, const json& sg)
{
    o << "\n### Security groups, per frame to a VM\n\n"
      << "BPF_PROG_TEST_RUN of the VM's slot firewall on one UDP frame, ns/frame median. v1: the stateless "
         "firewall before security groups (allow-list); stateless rule: a frame a stateless rule passes (the "
         "flow table missed); ct hit: a reply of a tracked flow. New flow: distinct flows one run each, by the "
         "kernel's own measure, against the same frames run again once tracked. Goal: a hit at most 1.25× v1.\n\n"
      << "| frame | v1 | stateless rule | ct hit | ct hit ÷ v1 | stateless rule ÷ v1 | new flow ÷ tracked |\n"
         "|---|---:|---:|---:|---:|---:|---:|\n";
    for (const auto& row : sg.at("rows")) {
        const json& ns = row.at("ns_per_frame");
        o << "| " << row.value("frame", "") << " | " << fmt("%.0f", ns.at("stateless_v1").get<double>()) << " | "
          << fmt("%.0f", ns.at("stateless_rule").get<double>()) << " | " << fmt("%.0f", ns.at("ct_hit").get<double>())
          << " | " << fmt("%.2f", row.at("ct_hit_to_v1").get<double>()) << " | "
          << fmt("%.2f", row.at("stateless_rule_to_v1").get<double>()) << " | "
          << fmt("%.2f", row.at("new_flow_to_ct_hit").get<double>()) << " (" << fmt("%.0f", row.at("new_flow_kernel_ns").get<double>())
          << " vs " << fmt("%.0f", row.at("tracked_flow_kernel_ns").get<double>()) << " ns) |\n";
    }
    if (!sg.at("rows").empty() && sg.at("rows")[0].at("ns_per_frame").contains("shared_ct_hit")) {
        o << "\nThe shared slot program (vmhostd host.slot_programs = \"shared\": one program for every VM, "
             "finding the VM's maps by its device) on the same maps, ns/frame median and against the per-VM "
             "program:\n\n"
          << "| frame | shared stateless rule | ÷ per-VM | shared ct hit | ÷ per-VM |\n|---|---:|---:|---:|---:|\n";
        for (const auto& row : sg.at("rows")) {
            const json& ns = row.at("ns_per_frame");
            o << "| " << row.value("frame", "") << " | " << fmt("%.0f", ns.at("shared_stateless_rule").get<double>())
              << " | " << fmt("%.2f", row.at("shared_stateless_rule_to_stateless_rule").get<double>()) << " | "
              << fmt("%.0f", ns.at("shared_ct_hit").get<double>()) << " | "
              << fmt("%.2f", row.at("shared_ct_hit_to_ct_hit").get<double>()) << " |\n";
        }
    }
    const json& m = sg.at("memory");
    o << "\nFlow table memory (kernel's memlock estimate of a " << m.value("flows", 0) << "-flow LRU hash): IPv4 "
      << fmt("%.1f MiB", m.value("bytes", 0.0) / (1 << 20)) << " (" << fmt("%.0f", m.value("bytes_per_flow", 0.0))
      << " bytes per flow)";
    if (sg.contains("memory6")) {
        const json& m6 = sg.at("memory6");
        o << ", IPv6 " << fmt("%.1f MiB", m6.value("bytes", 0.0) / (1 << 20)) << " ("
          << fmt("%.0f", m6.value("bytes_per_flow", 0.0)) << " bytes per flow)";
    }
    o << ".\n";
}

void guard_table(std::ostringstream& o, const json& rows)
{
    if (rows.empty())
        return;
    o << "\n### Port-security guard, per legitimate frame from a VM\n\n"
      << "BPF_PROG_TEST_RUN of the tap's XDP program on one frame, forwarding included; ns/frame median "
         "[min–max]. none: forwarding alone; v1: the guard before port security.\n\n";
    guard_rows(o, rows, "ns_per_frame", "guard_to_v1", "guard_to_none");
    o << "\nThe same frames' whole path as live frames (received on the tap, judged, redirected to the uplink, "
         "transmitted), ns/frame:\n\n";
    guard_rows(o, rows, "path_ns_per_frame", "path_guard_to_v1", "path_guard_to_none");
}

void cpumap_table(std::ostringstream& o, const json& rows)
{
    if (rows.empty())
        return;
    o << "\n### cpumap: the policy on a second CPU vs the same work on one\n\n";
    if (rows.size() == 1 && rows[0].contains("skipped")) {
        o << rows[0].value("skipped", "") << "\n";
        return;
    }
    const json& first = rows.at(0);
    o << "RX on CPU " << first.value("rx_cpu", -1) << " (live frames); split: the policy in a cpumap slot (qsize "
      << first.value("qsize", 0) << ") on CPU " << first.value("work_cpu", -1)
      << ", which transmits; single: the same work on CPU " << first.value("rx_cpu", -1)
      << ". Mframes/s of the CPU doing the work (its own clock; every frame it handled reached the sink), "
      << first.value("frames_per_run", 0) << " frames offered per run, median [min–max] of " << first.value("runs", 0)
      << " interleaved rounds. Delivered: the split's share of the offered frames (its queue drops the rest). RX "
         "ns: the RX CPU's kernel time per frame. The cheap policy parses and looks up a rule; the heavy one adds "
         "hash rounds; RX work is an emulated driver receive cost on the RX CPU, in both modes.\n\n"
      << "| policy | RX work | single Mframes/s | split Mframes/s | split ÷ single [per-round min–max] | RX ns single → split | "
         "split delivered |\n"
      << "|---|---|---:|---:|---:|---:|---:|\n";
    for (const auto& row : rows) {
        const json& one = row.at("single");
        const json& two = row.at("split");
        std::string policy = row.value("case", "");
        if (row.value("policy_rounds", 0) > 0)
            policy += fmt(" (%.0f ns/frame more)", row.value("policy_extra_ns", 0.0));
        std::string rx = row.value("rx_work", false) ? fmt("~%.0f ns/frame", row.value("rx_work_ns", 0.0)) : "none";
        o << "| " << policy << " | " << rx << " | " << spread(one.at("mframes_per_s"), "%.2f") << " | "
          << spread(two.at("mframes_per_s"), "%.2f") << " | "
          << (row.contains("ratio_split_to_single") ? fmt("%.2f", row["ratio_split_to_single"].get<double>()) : "")
          << (row.contains("ratio_per_round") ? " [" + fmt("%.2f", row["ratio_per_round"].at("min").get<double>()) +
                                                    "–" + fmt("%.2f", row["ratio_per_round"].at("max").get<double>()) +
                                                    "]"
                                              : "")
          << " | " << fmt("%.0f", one.at("rx_cpu_ns_per_frame").at("median").get<double>()) << " → "
          << fmt("%.0f", two.at("rx_cpu_ns_per_frame").at("median").get<double>()) << " | "
          << fmt("%.0f%%", two.value("delivered_ratio", 0.0) * 100) << " |\n";
    }
}
}  // namespace

std::string markdown(const json& r)
{
    std::ostringstream o;
    const json& env = r.at("environment");
    const json& cfg = r.at("config");
    o << "## devmap-bench " << env.value("date", "") << "\n\n"
      << "Kernel " << env.value("kernel", "") << ", " << env.value("cpu_model", "") << ", "
      << env.value("online_cpus", 0) << " CPUs online, pinned to CPU " << env.value("pinned_cpu", -1)
      << "; load average at start " << env.value("loadavg_start", "") << ". Mode " << cfg.value("mode", "")
      << ": each figure is the median [min–max] of " << cfg.value("runs", 0) << " interleaved runs of "
      << cfg.value("packets_per_run", 0) << " live frames (batch " << cfg.value("batch_size", 0)
      << "). ns/pkt is the kernel's own per-frame time (BPF_PROG_TEST_RUN duration, which leaves out time spent "
         "rescheduled); CPU is the thread's CPU time per frame, wall the syscall's wall time per frame. Ratios are median ns/pkt over plain devmap "
         "redirect's, same run, same frame size and slot count.\n\n";

    datapath_table(o, r.at("datapath"));
    scaling_table(o, r.at("scaling"), cfg);
    control_table(o, r.at("control_plane"));
    if (r.contains("cpumap"))
        cpumap_table(o, r["cpumap"]);
    if (r.contains("guard"))
        guard_table(o, r["guard"]);
    if (r.contains("secgroups"))
        secgroups_table(o, r["secgroups"]);

    if (r.contains("setup")) {
        o << "\nSetup (one run each):";
        for (const auto& s : r["setup"])
            o << " " << s.value("what", "") << " ×" << s.value("count", 0) << ": " << fmt("%.0f ms", s.value("ms", 0.0))
              << ";";
        o << "\n";
    }
    if (r.contains("seconds") && r["seconds"].is_object()) {
        o << "\nWall time (s):";
        for (const auto& [what, secs] : r["seconds"].items())
            o << " " << what << " " << fmt("%.1f", secs.get<double>()) << ";";
        if (env.contains("seconds"))
            o << " in all " << fmt("%.1f", env["seconds"].get<double>()) << ".";
        o << "\n";
    }
    if (r.contains("notes") && !r["notes"].empty()) {
        o << "\nNotes:\n";
        for (const auto& n : r["notes"])
            o << "- " << n.get<std::string>() << "\n";
    }
    if (r.contains("warnings") && !r["warnings"].empty()) {
        o << "\n**Warnings:**\n";
        for (const auto& w : r["warnings"])
            o << "- " << w.get<std::string>() << "\n";
    }
    return o.str();
}

std::string compare_markdown(const std::vector<json>& runs, const std::vector<std::string>& labels,
                             const std::string& unit)
{
    auto same_case = [](const json& a, const json& b) {
        return a.value("case", "") == b.value("case", "") && a.value("programs", "") == b.value("programs", "") &&
               a.value("frame_bytes", 0) == b.value("frame_bytes", 0) && a.value("slots", 0) == b.value("slots", 0);
    };
    auto median = [](const json& row) { return row.at("ns_per_pkt").at("median").get<double>(); };
    std::ostringstream o;
    o << "| case | frame B |";
    for (const auto& l : labels)
        o << " " << l << " " << unit << " | × redirect |";
    o << " " << labels.back() << " − " << labels.front() << " |\n|---|---:|";
    for (size_t i = 0; i < labels.size(); i++)
        o << "---:|---:|";
    o << "---:|\n";
    for (const auto& first : runs.front().at("datapath")) {
        std::vector<const json*> rows;
        for (const auto& r : runs)
            for (const auto& row : r.at("datapath"))
                if (same_case(first, row))
                    rows.push_back(&row);
        if (rows.size() != runs.size())
            continue;  // a case not measured in every run
        o << "| " << first.value("description", "") << " | " << first.value("frame_bytes", 0) << " |";
        for (const auto* row : rows)
            o << " " << fmt("%.1f", median(*row)) << " | " << ratio(*row, "%.3f") << " |";
        o << " " << fmt("%+.1f", median(*rows.back()) - median(first)) << " |\n";
    }
    return o.str();
}

}  // namespace bench
