// bench-json-check FILE: is FILE a devmap-bench results file? Checks that the
// schema's keys of every section the run asked for (config.sections) are there
// and every figure is a positive number, and that a skipped section (cpumap on
// one CPU) or an unsupported case (default_replace on a stock kernel) says
// why; says what is wrong and exits 1 otherwise. It does not judge the figures
// themselves.
#include <nlohmann/json.hpp>

#include <fstream>
#include <iostream>
#include <set>
#include <string>
#include <vector>

using json = nlohmann::json;

namespace {
std::vector<std::string> problems;

void need(bool ok, const std::string& what)
{
    if (!ok)
        problems.push_back(what);
}

bool positive(const json& j, const std::string& key)
{
    return j.contains(key) && j[key].is_number() && j[key].get<double>() > 0;
}

void check_summary(const json& row, const std::string& key, const std::string& where)
{
    if (!row.contains(key) || !row[key].is_object()) {
        need(false, where + ": no " + key);
        return;
    }
    const json& s = row[key];
    for (const char* k : {"median", "min", "max"})
        need(positive(s, k), where + ": " + key + "." + k + " is not a positive number");
    need(s.contains("samples") && s["samples"].is_array() && !s["samples"].empty(),
         where + ": " + key + ".samples missing or empty");
    if (positive(s, "median") && positive(s, "min") && positive(s, "max"))
        need(s["min"].get<double>() <= s["median"].get<double>() && s["median"].get<double>() <= s["max"].get<double>(),
             where + ": " + key + " is not ordered min <= median <= max");
}

void check_rows(const json& r, const std::string& section, const std::set<std::string>& required_cases)
{
    if (!r.contains(section) || !r[section].is_array() || r[section].empty()) {
        need(false, "no " + section + " rows");
        return;
    }
    std::set<std::string> seen;
    for (const auto& row : r[section]) {
        std::string where = section + "/" + row.value("case", "?") + "/" + row.value("programs", "?") + "/" +
                            std::to_string(row.value("slots", 0)) + "/" + std::to_string(row.value("frame_bytes", 0));
        for (const char* k : {"section", "case", "programs", "description"})
            need(row.contains(k) && row[k].is_string(), where + ": no " + k);
        for (const char* k : {"slots", "veths", "frame_bytes", "runs", "packets_per_run", "ratio_to_redirect"})
            need(positive(row, k), where + ": " + k + " is not a positive number");
        need(row.contains("delivered_ratio") && row["delivered_ratio"].is_number() &&
                 row["delivered_ratio"].get<double>() >= 0,
             where + ": no delivered_ratio");
        check_summary(row, "ns_per_pkt", where);
        check_summary(row, "mpps", where);
        check_summary(row, "wall_ns_per_pkt", where);
        check_summary(row, "cpu_ns_per_pkt", where);
        seen.insert(row.value("case", ""));
    }
    for (const auto& c : required_cases)
        need(seen.count(c), section + ": case " + c + " missing");
}

// cpumap split vs single: one "skipped" entry with its reason, or rows with
// both modes' figures and their ratio.
void check_cpumap(const json& r)
{
    if (!r.contains("cpumap") || !r["cpumap"].is_array() || r["cpumap"].empty()) {
        need(false, "no cpumap rows (not even a skipped entry)");
        return;
    }
    const json& rows = r["cpumap"];
    if (rows[0].contains("skipped")) {
        need(rows.size() == 1, "cpumap: a skipped entry among figures");
        need(rows[0]["skipped"].is_string() && !rows[0]["skipped"].get<std::string>().empty(),
             "cpumap: skipped without a reason");
        return;
    }
    std::set<std::string> seen;
    for (const auto& row : rows) {
        std::string where = "cpumap/" + row.value("case", "?") + (row.value("rx_work", false) ? "+rx" : "");
        for (const char* k : {"case", "description"})
            need(row.contains(k) && row[k].is_string(), where + ": no " + k);
        need(row.contains("rx_work") && row["rx_work"].is_boolean(), where + ": no rx_work");
        for (const char* k : {"runs", "frames_per_run", "qsize", "policy_base_ns", "ratio_split_to_single",
                              "rx_cpu_ratio_split_to_single"})
            need(positive(row, k), where + ": " + k + " is not a positive number");
        need(row.contains("rx_cpu") && row.contains("work_cpu") && row.value("rx_cpu", -1) >= 0 &&
                 row.value("rx_cpu", -1) != row.value("work_cpu", -1),
             where + ": rx_cpu and work_cpu missing or the same");
        if (row.value("case", "") == "heavy")
            need(positive(row, "policy_extra_ns"), where + ": policy_extra_ns is not a positive number");
        if (row.value("rx_work", false))
            need(positive(row, "rx_work_ns"), where + ": rx_work_ns is not a positive number");
        check_summary(row, "ratio_per_round", where);
        for (const char* mode : {"single", "split"}) {
            std::string w = where + "/" + mode;
            if (!row.contains(mode) || !row[mode].is_object()) {
                need(false, w + ": missing");
                continue;
            }
            check_summary(row[mode], "mframes_per_s", w);
            check_summary(row[mode], "rx_cpu_ns_per_frame", w);
            const json& m = row[mode];
            need(m.contains("delivered_ratio") && m["delivered_ratio"].is_number() &&
                     m["delivered_ratio"].get<double>() > 0 && m["delivered_ratio"].get<double>() <= 1,
                 w + ": delivered_ratio is not in (0, 1]");
        }
        seen.insert(row.value("case", "") + (row.value("rx_work", false) ? "+rx" : ""));
    }
    for (const char* c : {"cheap", "heavy"})
        need(seen.count(c), std::string("cpumap: case ") + c + " missing");
}
}  // namespace

int main(int argc, char** argv)
{
    if (argc != 2) {
        std::cerr << "usage: bench-json-check RESULTS.json\n";
        return 2;
    }
    json r;
    try {
        std::ifstream in(argv[1]);
        if (!in)
            throw std::runtime_error("cannot open it");
        r = json::parse(in);
    } catch (const std::exception& e) {
        std::cerr << argv[1] << ": not a JSON file: " << e.what() << "\n";
        return 1;
    }
    need(r.value("schema", "") == "devmap-bench/1", "schema is not devmap-bench/1");
    if (r.contains("environment")) {
        for (const char* k : {"date", "kernel", "kernel_version", "cpu_model"})
            need(r["environment"].contains(k) && r["environment"][k].is_string() &&
                     !r["environment"][k].get<std::string>().empty(),
                 std::string("environment.") + k + " missing or empty");
        need(r["environment"].contains("pinned_cpu") && r["environment"]["pinned_cpu"].is_number_integer(),
             "environment.pinned_cpu missing");
    } else {
        need(false, "no environment");
    }
    if (r.contains("config")) {
        for (const char* k : {"runs", "packets_per_run", "batch_size", "veths", "control_plane_slots"})
            need(positive(r["config"], k), std::string("config.") + k + " is not a positive number");
        need(r["config"].contains("mode") && r["config"]["mode"].is_string(), "config.mode missing");
    } else {
        need(false, "no config");
    }
    // The sections the run was asked for (files from before --sections: the
    // first three).
    std::set<std::string> sections{"datapath", "scaling", "control"};
    if (r.contains("config") && r["config"].contains("sections") && r["config"]["sections"].is_array())
        sections = r["config"]["sections"].get<std::set<std::string>>();
    if (sections.count("datapath"))
        check_rows(r, "datapath",
                   {"xdp_drop", "redirect", "egress_pass", "egress_drop_rule", "tailcall_pass", "tailcall_drop_rule"});
    if (sections.count("scaling"))
        check_rows(r, "scaling", {"redirect", "egress_pass", "tailcall_pass"});
    if (sections.count("cpumap"))
        check_cpumap(r);
    if (!sections.count("control")) {
    } else if (!r.contains("control_plane") || !r["control_plane"].is_array() || r["control_plane"].empty()) {
        need(false, "no control_plane rows");
    } else {
        std::set<std::string> seen;
        for (const auto& row : r["control_plane"]) {
            std::string where = "control_plane/" + row.value("case", "?");
            seen.insert(row.value("case", ""));
            need(positive(row, "slots"), where + ": slots is not a positive number");
            if (row.contains("supported") && row["supported"] == false) {  // e.g. default_replace on a stock kernel
                need(row.contains("reason") && row["reason"].is_string() && !row["reason"].get<std::string>().empty(),
                     where + ": unsupported without a reason");
                continue;
            }
            need(positive(row, "runs"), where + ": runs is not a positive number");
            check_summary(row, "total_ms", where);
            check_summary(row, "cpu_ms", where);
            check_summary(row, "us_per_slot", where);
        }
        for (const char* c : {"fill_shared", "fill_per_slot", "update_policy", "fill_per_slot_c", "update_policy_c",
                              "tailcall_fill", "tailcall_update_policy", "default_replace"})
            need(seen.count(c), std::string("control_plane: case ") + c + " missing");
    }
    need(r.contains("warnings") && r["warnings"].is_array(), "no warnings array");
    if (!problems.empty()) {
        std::cerr << argv[1] << ": not a valid devmap-bench results file:\n";
        for (const auto& p : problems)
            std::cerr << "  - " << p << "\n";
        return 1;
    }
    auto count = [&](const char* key) { return r.contains(key) && r[key].is_array() ? r[key].size() : 0; };
    std::cout << argv[1] << ": valid (" << count("datapath") << " datapath, " << count("scaling") << " scaling, "
              << count("control_plane") << " control-plane, " << count("cpumap") << " cpumap rows)\n";
    return 0;
}
