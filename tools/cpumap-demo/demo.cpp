// make demo-cpumap: the espressobin pipeline, emulated on this machine.
//
// The board takes RX interrupts and frames on CPU 0 only; its NIC has more TX
// queues. So CPU 0 runs only rx_steer (pick a CPU, bpf_redirect_map() into
// the cpumap) and CPU 1 runs the work in the cpumap slot's program
// (cpu_policy: parse, rule lookup, N hash rounds), which redirects again into
// a devmap_hash slot; the slot's own egress program (egress_count) runs, and
// CPU 1 transmits.
//
//   demo ns:  live frames "received" on rx0, generated on CPU 0 (the RX CPU)
//             rx_steer ─cpumap slot 1 (qsize, cpu_policy)─▶ tx_ports[1] = tx0
//   sink ns:  tx0p with frame_sink (counts per CPU, drops)
//
// Compared in the same run, round after round: the split pipeline against
// rx_single, the very same work done entirely on CPU 0, each with the cheap
// policy (0 rounds) and the heavy one (calibrated to --heavy-ns, default 250
// ns/pkt of extra work). Throughput = frames the working program (rx_single,
// or cpu_policy on CPU 1) handled between its first and last clock stamps;
// the sink must count every frame it transmitted. --rx-ns emulates a driver's
// receive cost on CPU 0. Exit code 1 if a program ran on the wrong CPU, the
// sink missed a transmitted frame, or nothing was delivered.
#include <bpf/libbpf.h>

#include <algorithm>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include "netns.hpp"
#include "rig.hpp"
#include "tool_info.hpp"

using cpumap_demo::PerCpu;
using cpumap_demo::sum;

namespace {

struct Options {
    uint32_t frames = 500000;  // per case and round
    uint32_t rounds = 5;
    cpumap_demo::RigOptions rig;
    int heavy_rounds = -1;     // -1: calibrate to >= heavy_ns
    uint32_t heavy_ns = 250;
    uint32_t rx_ns = 0;        // emulated driver RX cost on the RX CPU, both modes
};

double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[v.size() / 2];
}

std::string cpus_of(const PerCpu& v)
{
    std::string s;
    for (size_t i = 0; i < v.size(); i++)
        s += fmt::format("{:>10}", v[i]);
    return s;
}

}  // namespace

int main(int argc, char** argv)
{
    Options o;
    CLI::App app{"cpumap-demo: the espressobin pipeline (RX on one CPU, the work and TX in a cpumap slot on another), "
                 "emulated with live frames in private namespaces; prints per-CPU counts and split-vs-single "
                 "throughput (root)"};
    app.add_option("--frames", o.frames, "frames per case and round")->capture_default_str();
    app.add_option("--rounds", o.rounds, "measurement rounds (cases interleaved; the median is reported)")
        ->capture_default_str();
    app.add_option("--qsize", o.rig.qsize, "cpumap slot queue size")->capture_default_str();
    app.add_option("--rx-cpu", o.rig.rx_cpu, "the receiving CPU (the board's CPU 0)")->capture_default_str();
    app.add_option("--cpu", o.rig.work_cpu, "the cpumap slot's CPU")->capture_default_str();
    app.add_option("--heavy-rounds", o.heavy_rounds, "hash rounds of the heavy policy (default: calibrated)");
    app.add_option("--heavy-ns", o.heavy_ns, "calibration target: extra ns/pkt of the heavy policy")
        ->capture_default_str();
    app.add_option("--rx-ns", o.rx_ns,
                   "emulate the NIC driver's receive cost: ns/frame spent on the RX CPU first, in both modes "
                   "(live frames cost almost nothing to receive; a real mvneta does not)")
        ->capture_default_str();
    app.add_option("--batch", o.rig.batch, "live-frame batch size, 1..256 (the RX CPU's NAPI budget)")
        ->capture_default_str();
    app.add_option("--rt", o.rig.rt, "SCHED_FIFO for the RX thread and the cpumap kthread (as on a dedicated board)")
        ->capture_default_str();
    dme_tools::add_version_flag(app, "cpumap-demo");
    CLI11_PARSE(app, argc, argv);

    try {
        const auto& ro = o.rig;
        int ncpu = libbpf_num_possible_cpus();
        if (ncpu < 2 || ro.rx_cpu == ro.work_cpu || ro.rx_cpu >= ncpu || ro.work_cpu >= ncpu)
            throw std::runtime_error(fmt::format("needs two distinct CPUs below {} (--rx-cpu {}, --cpu {})", ncpu,
                                                 ro.rx_cpu, ro.work_cpu));
        netlab::isolate_process();
        cpumap_demo::Rig rig(ro);
        fmt::print("cpumap slot {} (map id {}) qsize {}: RX and rx_steer on CPU {}, cpu_policy and TX on CPU {}{}\n",
                   ro.work_cpu, rig.map_id(), ro.qsize, ro.rx_cpu, ro.work_cpu,
                   ro.rt ? "; RX thread and kthread SCHED_FIFO" : "");

        // Calibrate the heavy policy on the RX CPU: extra ns per frame.
        auto cal = cpumap_demo::calibrate(rig, o.heavy_ns, o.heavy_rounds, std::max<uint32_t>(20000, o.frames / 10));
        fmt::print("policy work on CPU {}: cheap = parse + rule lookup ({:.0f} ns/pkt with XDP_DROP), "
                   "heavy = + {} hash rounds (+{:.0f} ns/pkt)\n\n",
                   ro.rx_cpu, cal.base_ns, cal.heavy_rounds, cal.heavy_extra_ns);
        uint32_t rx = 0;
        if (o.rx_ns) {
            rx = cal.rounds_for(o.rx_ns);
            fmt::print("emulated driver RX cost on CPU {}: {} hash rounds (~{:.0f} ns/frame) in rx_steer and "
                       "rx_single\n\n",
                       ro.rx_cpu, rx, rx * cal.ns_per_round);
        }

        std::vector<cpumap_demo::Case> cases = {{"cheap, single CPU", false, 0, rx},
                                                {"cheap, split", true, 0, rx},
                                                {"heavy, single CPU", false, cal.heavy_rounds, rx},
                                                {"heavy, split", true, cal.heavy_rounds, rx}};
        for (uint32_t r = 0; r < o.rounds; r++)
            cpumap_demo::run_round(rig, cases, r, o.frames);

        std::string head;
        for (int c = 0; c < ncpu; c++)
            head += fmt::format("{:>10}", fmt::format("cpu{}", c));
        for (auto& c : cases) {
            const auto& d = c.last.d;
            fmt::print("{} (last round, frames per CPU)\n", c.name);
            fmt::print("  {:<34}{}\n", "", head);
            fmt::print("  {:<34}{}\n", c.split ? "rx_steer (RX, steer to cpumap)" : "rx_single (RX + all the work)",
                       cpus_of(d.rx));
            if (c.split)
                fmt::print("  {:<34}{}\n", "cpu_policy (cpumap slot program)", cpus_of(d.policy));
            fmt::print("  {:<34}{}\n", "egress_count (devmap slot: TX)", cpus_of(d.egress));
            fmt::print("  {:<34}{}\n", "frame_sink (sink ns, veth NAPI)", cpus_of(d.sink));
            if (c.split && sum(d.rx) > sum(d.policy))
                fmt::print("  cpumap queue full: {} frames dropped before CPU {} took them\n", sum(d.rx) - sum(d.policy),
                           ro.work_cpu);
        }
        // Where each program ran, in every round.
        bool ok = true;
        for (auto& c : cases)
            for (const auto& p : c.problems) {
                fmt::print("MISMATCH: {}\n", p);
                ok = false;
            }

        auto rate_of = [&](size_t i) { return median(cases[i].rates); };
        fmt::print("\nthroughput of the CPU doing the work (its frames, all delivered to the sink, over its own\n"
                   "clock), {} frames offered per run, median of {} interleaved rounds:\n",
                   o.frames, o.rounds);
        fmt::print("  {:<20}{:>12}{:>14}{:>11}{:>20}\n", "case", "Mframes/s", "min..max", "delivered",
                   "RX CPU ns/frame");
        for (auto& c : cases) {
            auto [mn, mx] = std::minmax_element(c.rates.begin(), c.rates.end());
            fmt::print("  {:<20}{:>12.3f}{:>8.2f}..{:<4.2f}{:>10.1f}%{:>20.0f}\n", c.name, median(c.rates) / 1e6,
                       *mn / 1e6, *mx / 1e6, 100.0 * c.delivered / c.sent, median(c.rx_ns));
        }
        fmt::print("split / single: cheap {:.2f}x, heavy {:.2f}x\n", rate_of(1) / rate_of(0), rate_of(3) / rate_of(2));
        fmt::print("RX CPU time per frame, split / single: cheap {:.2f}x, heavy {:.2f}x (the RX CPU's headroom)\n",
                   median(cases[1].rx_ns) / median(cases[0].rx_ns), median(cases[3].rx_ns) / median(cases[2].rx_ns));
        fmt::print("demo: {}\n", ok ? "every program ran on its CPU" : "MISMATCHES above");
        return ok ? 0 : 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "cpumap-demo: %s\n", e.what());
        return 1;
    }
}
