// devmap-bench: one datapath run and its figures (see bench.hpp).
#include "bench.hpp"

namespace bench {

void Bench::sample(DpCase& c, uint32_t packets, bool record)
{
    const netlab::Frame* frame = nullptr;
    for (size_t i = 0; i < cfg_.sizes.size(); i++)
        if (cfg_.sizes[i] == c.frame_bytes)
            frame = &frames_[i];
    if (c.ingress)
        c.ingress->spread_over(c.slots);
    if (c.prepare)
        c.prepare();
    uint64_t before = targets_->received();
    uint64_t policy_before = c.policy_runs ? c.policy_runs() : 0;
    double cpu0 = thread_cpu_ns();
    auto t0 = Clock::now();
    uint32_t kernel_ns = netlab::run_live_frames(c.prog_fd, *frame, packets);
    double wall = std::chrono::duration<double, std::nano>(Clock::now() - t0).count();
    double cpu = thread_cpu_ns() - cpu0;
    uint64_t after = targets_->received();
    if (!record)
        return;
    c.ns.push_back(kernel_ns);
    c.wall_ns.push_back(wall / packets);
    c.cpu_ns.push_back(cpu / packets);
    c.delivered.push_back(double(after - before) / packets);
    if (c.policy_runs)
        c.policy_ratio.push_back(double(c.policy_runs() - policy_before) / packets);
}

json Bench::datapath_json(const DpCase& c, const std::vector<DpCase>& all) const
{
    auto ns = summarize(c.ns);
    std::vector<double> mpps;
    for (double v : c.ns)
        mpps.push_back(1000.0 / v);
    json j = {{"section", c.section},
              {"case", c.name},
              {"programs", c.programs},
              {"description", c.description},
              {"slots", c.slots},
              {"veths", std::min(c.slots, cfg_.veths)},
              {"frame_bytes", c.frame_bytes},
              {"runs", c.ns.size()},
              {"packets_per_run", cfg_.packets},
              {"ns_per_pkt", to_json(ns, c.ns)},
              {"mpps", to_json(summarize(mpps), mpps)},
              {"wall_ns_per_pkt", to_json(summarize(c.wall_ns), c.wall_ns)},
              {"cpu_ns_per_pkt", to_json(summarize(c.cpu_ns), c.cpu_ns)},
              {"delivered_ratio", summarize(c.delivered).median}};
    if (!c.policy_ratio.empty())
        j["policy_runs_ratio"] = summarize(c.policy_ratio).median;
    // A broadcast frame makes `slots` copies: its ratio is per copy, against
    // one redirected frame.
    const bool broadcast = c.name.rfind("broadcast", 0) == 0;
    for (const auto& b : all)
        if (b.section == c.section && b.name == "redirect" && b.slots == (broadcast ? 1 : c.slots) &&
            b.frame_bytes == c.frame_bytes)
            j["ratio_to_redirect"] = ns.median / (summarize(b.ns).median * (broadcast ? c.slots : 1));
    return j;
}

}  // namespace bench
