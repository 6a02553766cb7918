// devmap-bench: the sections in order, with their warm-up and rounds (see bench.hpp).
#include "bench.hpp"

namespace bench {

json Bench::run()
{
    // Wall seconds spent per part of the run (setup, warm-up, each section's
    // rounds): where the run's time goes.
    std::map<std::string, double> seconds;
    auto timed = [&](const std::string& what, const std::function<void()>& f) {
        auto t0 = Clock::now();
        f();
        seconds[what] += ms_since(t0) / 1000.0;
    };
    timed("setup", [&] {
        setup();
        add_cases();
    });

    // Warm-up: every case once, untimed.
    timed("warm-up", [&] {
        for (auto& c : cases_)
            sample(c, std::max(cfg_.packets / 4, 1024u), false);
        if (rig_) {
            auto warm = cpumap_cases_;
            cpumap_demo::run_round(*rig_, warm, 0, std::max(cfg_.cpumap_frames / 4, 1024u));
        }
    });

    std::vector<CpCase> cp = {
        {"fill_shared", "fill N empty devmap slots with one shared egress program", cfg_.cp_slots, {}},
        {"fill_per_slot", "fill N empty devmap slots, a distinct egress program each", cfg_.cp_slots, {}},
        {"update_policy", "replace the program of N slots (do-nothing -> firewall, distinct)", cfg_.cp_slots, {}},
        {"erase", "clear N slots (programs released)", cfg_.cp_slots, {}},
        {"fill_per_slot_c", "fill_per_slot through the C API (bpfext_devmap_set) instead of the C++ API",
         cfg_.cp_slots, {}},
        {"update_policy_c", "update_policy through the C API (bpfext_devmap_set)", cfg_.cp_slots, {}},
        {"fill_per_slot_raw", "floor: fill_per_slot as plain bpf_map_update_elem, no checks", cfg_.cp_slots, {}},
        {"fill_per_slot_skip_xmit_check", "fill_per_slot without the ndo_xdp_xmit check (netlink query)",
         cfg_.cp_slots, {}},
        {"update_policy_skip_xmit_check", "update_policy without the ndo_xdp_xmit check", cfg_.cp_slots, {}},
        {"tailcall_fill", "alternative: fill N PROG_ARRAY slots with per-target programs", cfg_.cp_slots, {}},
        {"tailcall_update_policy", "alternative: replace N PROG_ARRAY programs (-> firewall)", cfg_.cp_slots, {}},
        {"default_replace",
         "replace the map-wide default program inherited by N slots (do-nothing -> firewall): one call",
         cfg_.cp_slots, {}},
    };

    // Interleaved runs; the starting case rotates so none always goes first.
    for (int r = 0; r < cfg_.runs; r++) {
        timed("datapath and scaling", [&] {
            for (size_t i = 0; i < cases_.size(); i++)
                sample(cases_[(i + r) % cases_.size()], cfg_.packets, true);
        });
        if (cfg_.wants("control"))
            timed("control", [&] { control_plane_round(cp); });
        if (rig_)
            timed("cpumap", [&] { cpumap_demo::run_round(*rig_, cpumap_cases_, uint32_t(r), cfg_.cpumap_frames); });
    }

    json out;
    out["schema"] = "devmap-bench/1";
    json dp = json::array(), sc = json::array(), cpj = json::array();
    for (const auto& c : cases_)
        (c.section == "datapath" ? dp : sc).push_back(datapath_json(c, cases_));
    double update_policy_cpu_ms = 0, tail_fill_cpu_ms = 0, tail_update_cpu_ms = 0;
    for (const auto& c : cp) {
        if (c.cpu_ms.empty())
            continue;
        if (c.name == "update_policy")
            update_policy_cpu_ms = summarize(c.cpu_ms).median;
        if (c.name == "tailcall_fill")
            tail_fill_cpu_ms = summarize(c.cpu_ms).median;
        if (c.name == "tailcall_update_policy")
            tail_update_cpu_ms = summarize(c.cpu_ms).median;
    }
    for (const auto& c : cp) {
        if (c.name == "default_replace" && !default_unsupported_.empty() && cfg_.wants("control")) {
            cpj.push_back({{"case", c.name},
                           {"description", c.description},
                           {"slots", c.slots},
                           {"supported", false},
                           {"reason", default_unsupported_}});
            continue;
        }
        if (c.ms.empty())
            continue;
        std::vector<double> per;
        for (double v : c.ms)
            per.push_back(v * 1000.0 / c.slots);
        cpj.push_back({{"case", c.name},
                       {"description", c.description},
                       {"slots", c.slots},
                       {"runs", c.ms.size()},
                       {"total_ms", to_json(summarize(c.ms), c.ms)},
                       {"cpu_ms", to_json(summarize(c.cpu_ms), c.cpu_ms)},
                       {"us_per_slot", to_json(summarize(per), per)}});
        // Slot writes against the alternative's writes of the same round
        // set: fills against the PROG_ARRAY fill, updates against its update.
        bool fill = c.name.rfind("fill_", 0) == 0, update = c.name.rfind("update_policy", 0) == 0;
        double ref = fill ? tail_fill_cpu_ms : update ? tail_update_cpu_ms : 0;
        if (ref > 0)
            cpj.back()["prog_array_ratio"] = summarize(c.cpu_ms).median / ref;
        if (c.name == "default_replace") {
            cpj.back()["supported"] = true;
            if (update_policy_cpu_ms > 0)
                cpj.back()["update_policy_ratio"] = update_policy_cpu_ms / summarize(c.cpu_ms).median;
        }
    }
    out["datapath"] = dp;
    out["scaling"] = sc;
    out["control_plane"] = cpj;
    if (cfg_.wants("cpumap"))
        out["cpumap"] = cpumap_json();
    if (cfg_.wants("guard"))
        timed("guard", [&] { out["guard"] = guard_section(std::max(cfg_.packets / 5, 1000u), cfg_.runs); });
    if (cfg_.wants("secgroups"))
        timed("security groups", [&] {
            out["secgroups"] = secgroups_section(std::max(cfg_.packets / 5, 1000u), cfg_.runs,
                                                 std::clamp(cfg_.packets / 50, 100u, 2000u));
        });
    out["setup"] = setup_json_;
    out["seconds"] = seconds;

    json warnings = json::array();
    for (const auto& c : cases_) {
        double d = summarize(c.delivered).median;
        if (c.delivers && d < 0.99)
            warnings.push_back(c.section + "/" + c.name + "/" + c.programs + "/" + std::to_string(c.slots) +
                               " slots: only " + std::to_string(d * 100) + "% of frames reached the sinks");
        if (!c.delivers && d > 0.01)
            warnings.push_back(c.name + ": frames reached the sinks");
        if (!c.policy_ratio.empty() && std::abs(summarize(c.policy_ratio).median - 1.0) > 0.01)
            warnings.push_back(c.section + "/" + c.name + ": the policy program saw " +
                               std::to_string(summarize(c.policy_ratio).median * 100) + "% of the frames");
    }
    for (auto* in : {tail_shared_in_.get(), tail_slot_in_.get(), tail_fw_shared_in_.get(), tail_fw_in_.get()})
        if (in->tail_missed())
            warnings.push_back("tail calls missed: " + std::to_string(in->tail_missed()));
    for (const auto& p : default_problems_)
        warnings.push_back(p);
    for (const auto& c : cpumap_cases_) {
        for (size_t i = 0; i < c.problems.size() && i < 3; i++)
            warnings.push_back("cpumap/" + c.problems[i]);
        if (c.problems.size() > 3)
            warnings.push_back("cpumap/" + c.name + ": " + std::to_string(c.problems.size() - 3) + " more problems");
    }
    if (rig_ && cal_.heavy_extra_ns < 0.8 * cfg_.heavy_ns)
        warnings.push_back("cpumap: the heavy policy measured +" + std::to_string(int(cal_.heavy_extra_ns)) +
                           " ns/frame, below its target of " + std::to_string(cfg_.heavy_ns));
    out["warnings"] = warnings;

    json notes = json::array();
    notes.push_back("slot k points at veth k mod " + std::to_string(cfg_.veths) + "; " + std::to_string(max_slots_) +
                    " slots share " + std::to_string(std::min(max_slots_, cfg_.veths)) + " veths");
    // Frames k..k+63 of a batch go to slots k..k+63 (round-robin, batches
    // aligned): they share a device only when veths < min(slots, 64).
    if (cfg_.veths >= std::min(max_slots_, 64u))
        notes.push_back("no two slots of one flush share a device, so the shared-device egress bypass "
                        "(docs/NOTES.md) does not affect the per-slot figures");
    else
        notes.push_back("fewer veths than min(slots, 64): slots of one flush share devices, and on an "
                        "unpatched kernel the first frame's program runs for all of them (docs/NOTES.md): "
                        "per-slot figures then run fewer distinct programs than they name");
    notes.push_back("the do-nothing programs cannot count: their frames reaching the sinks is the check; "
                    "the firewall programs count, see policy_runs_ratio (per-slot: summed over the slots)");
    out["notes"] = notes;
    return out;
}

}  // namespace bench
