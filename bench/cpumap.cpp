// devmap-bench: the cpumap split-vs-single figures (see bench.hpp).
#include "bench.hpp"

namespace bench {

// One row per policy and RX cost: the single-CPU and the split figures of the
// same interleaved rounds, and their ratio (throughput of the CPU doing the
// work, from the programs' own clock stamps; see tools/cpumap-demo/rig.hpp).
json Bench::cpumap_json() const
{
    json rows = json::array();
    if (!rig_) {
        rows.push_back({{"case", "split_vs_single"}, {"skipped", cpumap_skipped_}});
        return rows;
    }
    const auto& o = rig_->options();
    auto mode = [](const cpumap_demo::Case& c) {
        std::vector<double> mfps;
        for (double r : c.rates)
            mfps.push_back(r / 1e6);
        return json{{"name", c.name},
                    {"mframes_per_s", to_json(summarize(mfps), mfps)},
                    {"rx_cpu_ns_per_frame", to_json(summarize(c.rx_ns), c.rx_ns)},
                    {"delivered_ratio", c.sent ? double(c.delivered) / double(c.sent) : 0.0}};
    };
    for (size_t i = 0; i + 1 < cpumap_cases_.size(); i += 2) {
        const auto& single = cpumap_cases_[i];
        const auto& split = cpumap_cases_[i + 1];
        bool heavy = single.work_rounds > 0, rx = single.rx_rounds > 0;
        std::vector<double> per_round;  // the two ran in the same round
        for (size_t r = 0; r < single.rates.size() && r < split.rates.size(); r++)
            if (single.rates[r] > 0)
                per_round.push_back(split.rates[r] / single.rates[r]);
        std::string desc = heavy ? "heavy policy: parse, rule lookup, " + std::to_string(single.work_rounds) +
                                       " hash rounds (+" + std::to_string(int(cal_.heavy_extra_ns + 0.5)) +
                                       " ns/frame)"
                                 : "cheap policy: parse, rule lookup";
        if (rx)
            desc += "; emulated driver RX work on the RX CPU (~" +
                    std::to_string(int(single.rx_rounds * cal_.ns_per_round + 0.5)) + " ns/frame, both modes)";
        json row = {{"case", heavy ? "heavy" : "cheap"},
                    {"rx_work", rx},
                    {"description", desc},
                    {"policy_rounds", single.work_rounds},
                    {"policy_base_ns", cal_.base_ns},
                    {"policy_extra_ns", heavy ? cal_.heavy_extra_ns : 0.0},
                    {"rx_rounds", single.rx_rounds},
                    {"rx_work_ns", single.rx_rounds * cal_.ns_per_round},
                    {"rx_cpu", o.rx_cpu},
                    {"work_cpu", o.work_cpu},
                    {"qsize", o.qsize},
                    {"verdict", o.pass ? "pass" : "redirect"},
                    {"runs", single.rates.size()},
                    {"frames_per_run", cfg_.cpumap_frames},
                    {"single", mode(single)},
                    {"split", mode(split)}};
        double s1 = summarize(single.rates).median, s2 = summarize(split.rates).median;
        if (s1 > 0)
            row["ratio_split_to_single"] = s2 / s1;
        if (!per_round.empty())
            row["ratio_per_round"] = to_json(summarize(per_round), per_round);
        double r1 = summarize(single.rx_ns).median, r2 = summarize(split.rx_ns).median;
        if (r1 > 0)
            row["rx_cpu_ratio_split_to_single"] = r2 / r1;
        rows.push_back(row);
    }
    return rows;
}

}  // namespace bench
