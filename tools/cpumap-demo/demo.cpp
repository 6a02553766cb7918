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
#include <linux/if_link.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include "egress_count.skel.h"
#include "frame_sink.skel.h"
#include "frames.hpp"
#include "netns.hpp"
#include "pipeline.hpp"
#include "skel.hpp"
#include "traffic.hpp"
#include "veth.hpp"
#include "xdp.hpp"

namespace testing {
TESTING_SKEL(egress_count)
TESTING_SKEL(frame_sink)
}  // namespace testing

using namespace std::chrono;
using cpumap_demo::Pipeline;
using testing::Skel;

namespace {

struct Options {
    uint32_t frames = 500000;  // per case and round
    uint32_t rounds = 5;
    // Small: the live-frame generator's page pool recycles only 64 pages (its
    // batch), so frames in flight beyond that cost page allocations and frees
    // on both CPUs (docs/NOTES.md).
    uint32_t qsize = 256;
    int rx_cpu = 0, work_cpu = 1;
    int heavy_rounds = -1;     // -1: calibrate to >= heavy_ns
    uint32_t heavy_ns = 250;
    uint32_t rx_ns = 0;        // emulated driver RX cost on the RX CPU, both modes
    uint32_t batch = 64;       // live-frame batch (the RX "NAPI budget")
    bool rt = true;            // SCHED_FIFO for the RX thread and the kthread
};

// The board's two CPUs run nothing but this pipeline; this machine shares its
// CPUs with compiler jobs. With --rt (default) the RX thread and the cpumap
// kthread run SCHED_FIFO, so both modes get their CPUs as on the board (the
// kernel's RT throttling still leaves 5% to the rest).
void make_rt(int pid, const char* what)
{
    sched_param p{};
    p.sched_priority = 50;
    if (sched_setscheduler(pid, SCHED_FIFO, &p))
        throw std::runtime_error(fmt::format("SCHED_FIFO for {}: {} (try --rt=false)", what, std::strerror(errno)));
}

constexpr uint32_t kTxSlot = 1;

// Per-CPU frame counts of one program, as deltas over a case.
using PerCpu = std::vector<uint64_t>;

PerCpu packets(const std::vector<pipeline_stats>& v)
{
    PerCpu out;
    for (const auto& s : v)
        out.push_back(s.packets);
    return out;
}
PerCpu packets(const std::vector<testing::Counters>& v)
{
    PerCpu out;
    for (const auto& s : v)
        out.push_back(s.packets);
    return out;
}
PerCpu minus(PerCpu a, const PerCpu& b)
{
    for (size_t i = 0; i < a.size(); i++)
        a[i] -= b[i];
    return a;
}
uint64_t sum(const PerCpu& v)
{
    uint64_t s = 0;
    for (auto x : v)
        s += x;
    return s;
}

struct Snapshot {
    PerCpu rx, policy, egress, sink;
};

struct Result {
    double rate = 0;  // frames/s through the work program (all of them reach the sink)
    uint64_t delivered = 0;
    uint32_t rx_ns = 0;  // the RX CPU's kernel time per frame (bpf_test_run duration)
    Snapshot d;       // per-CPU deltas
};

class World {
public:
    explicit World(const Options& o)
        : opt_(o), sink_ns_(testing::Netns::create()), rx_ns_(testing::Netns::create()),
          rx_link_("rx0", "rx0p", rx_ns_), tx_link_("tx0", "tx0p", sink_ns_),
          sink_(testing::open_load<frame_sink>()), egress_(testing::open_load<egress_count>())
    {
        testing::attach_xdp_in(sink_ns_, tx_link_.far().ifindex, bpf_program__fd(sink_->progs.frame_sink));
        pipe_.tx_ports().set(kTxSlot, dme::Interface::index(tx_link_.near().ifindex),
                             dme::EgressProgram::from(egress_->progs.egress_count));
        pipe_.default_action(PIPE_REDIRECT, kTxSlot);
        pipe_.steer_to(o.work_cpu);
        pipe_.cpus().set(o.work_cpu, o.qsize, pipe_.policy_prog());
        if (o.rt) {
            auto pids = cpumap_demo::cpumap_kthreads(o.work_cpu, map_id());
            if (pids.size() != 1)
                throw std::runtime_error("cannot find the cpumap kthread in /proc");
            make_rt(pids[0], "the cpumap kthread");
        }
        frame_ = testing::udp4_frame(testing::ipv4(192, 0, 2, 1), testing::ipv4(198, 51, 100, 1), 1024, 9);
    }

    Snapshot snapshot() const
    {
        return {packets(pipe_.rx_stats()), packets(pipe_.policy_stats()),
                packets(testing::read_counters_per_cpu(bpf_map__fd(egress_->maps.counters))),
                packets(testing::read_counters_per_cpu(bpf_map__fd(sink_->maps.counters)))};
    }

    // Kernel's ns/frame for rx_single with `rounds`, dropping (no transmit).
    double single_ns(uint32_t rounds, uint32_t frames)
    {
        pipe_.work_rounds(rounds);
        pipe_.default_action(PIPE_DROP);
        testing::PinnedToCpu on(opt_.rx_cpu);
        double ns = testing::run_live_frames(pipe_.single_fd(), frame_, frames, rx_link_.near().ifindex);
        pipe_.default_action(PIPE_REDIRECT, kTxSlot);
        return ns;
    }

    // One live-frame run of `frames` on the RX CPU; the rate is measured by
    // the program doing the work (rx_single, or cpu_policy on the slot's CPU)
    // from its own clock readings, so run setup and polling do not count.
    Result run(bool split, uint32_t frames, uint32_t rounds)
    {
        pipe_.work_rounds(rounds);
        pipe_.reset_stats();
        Snapshot before = snapshot();
        std::atomic<bool> done{false};
        std::string error;
        uint32_t rx_ns = 0;
        auto t0 = steady_clock::now();
        std::thread rx([&] {
            try {
                testing::PinnedToCpu on(opt_.rx_cpu);
                if (opt_.rt)
                    make_rt(0, "the RX thread");
                rx_ns = testing::run_live_frames(split ? pipe_.steer_fd() : pipe_.single_fd(), frame_, frames,
                                                 rx_link_.near().ifindex, opt_.batch);
            } catch (const std::exception& e) {
                error = e.what();
            }
            done = true;
        });
        uint64_t last = sum(before.sink);
        auto t_last = t0;
        for (;;) {
            std::this_thread::sleep_for(microseconds(500));
            uint64_t now = sum(packets(testing::read_counters_per_cpu(bpf_map__fd(sink_->maps.counters))));
            auto t = steady_clock::now();
            if (now != last) {
                last = now;
                t_last = t;
            } else if (done && t - t_last > milliseconds(50)) {  // the sink has settled
                break;
            }
        }
        rx.join();
        if (!error.empty())
            throw std::runtime_error(error);
        Snapshot after = snapshot();
        Result r;
        r.d = {minus(after.rx, before.rx), minus(after.policy, before.policy), minus(after.egress, before.egress),
               minus(after.sink, before.sink)};
        r.delivered = sum(r.d.sink);
        r.rx_ns = rx_ns;
        auto work = cpumap_demo::total(split ? pipe_.policy_stats() : pipe_.rx_stats());
        uint64_t stamped = work.packets ? (work.packets - 1) / 64 * 64 : 0;  // frames between the stamps
        r.rate = work.last_ns > work.first_ns ? stamped * 1e9 / double(work.last_ns - work.first_ns) : 0;
        return r;
    }

    void rx_rounds(uint32_t rounds) { pipe_.rx_rounds(rounds); }
    uint32_t map_id() const { return pipe_.cpus().info().id; }

private:
    Options opt_;
    testing::Netns sink_ns_, rx_ns_;
    testing::VethPair rx_link_, tx_link_;
    Skel<frame_sink> sink_;
    Skel<egress_count> egress_;
    Pipeline pipe_;
    testing::Frame frame_;
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
    app.add_option("--qsize", o.qsize, "cpumap slot queue size")->capture_default_str();
    app.add_option("--rx-cpu", o.rx_cpu, "the receiving CPU (the board's CPU 0)")->capture_default_str();
    app.add_option("--cpu", o.work_cpu, "the cpumap slot's CPU")->capture_default_str();
    app.add_option("--heavy-rounds", o.heavy_rounds, "hash rounds of the heavy policy (default: calibrated)");
    app.add_option("--heavy-ns", o.heavy_ns, "calibration target: extra ns/pkt of the heavy policy")
        ->capture_default_str();
    app.add_option("--rx-ns", o.rx_ns,
                   "emulate the NIC driver's receive cost: ns/frame spent on the RX CPU first, in both modes "
                   "(live frames cost almost nothing to receive; a real mvneta does not)")
        ->capture_default_str();
    app.add_option("--batch", o.batch, "live-frame batch size, 1..256 (the RX CPU's NAPI budget)")
        ->capture_default_str();
    app.add_option("--rt", o.rt, "SCHED_FIFO for the RX thread and the cpumap kthread (as on a dedicated board)")
        ->capture_default_str();
    CLI11_PARSE(app, argc, argv);

    try {
        int ncpu = libbpf_num_possible_cpus();
        if (ncpu < 2 || o.rx_cpu == o.work_cpu || o.rx_cpu >= ncpu || o.work_cpu >= ncpu)
            throw std::runtime_error(fmt::format("needs two distinct CPUs below {} (--rx-cpu {}, --cpu {})", ncpu,
                                                 o.rx_cpu, o.work_cpu));
        testing::isolate_test_process();
        World w(o);
        fmt::print("cpumap slot {} (map id {}) qsize {}: RX and rx_steer on CPU {}, cpu_policy and TX on CPU {}{}\n",
                   o.work_cpu, w.map_id(), o.qsize, o.rx_cpu, o.work_cpu,
                   o.rt ? "; RX thread and kthread SCHED_FIFO" : "");

        // Calibrate the heavy policy on the RX CPU: extra ns per frame.
        uint32_t cal_frames = std::max<uint32_t>(20000, o.frames / 10);
        double base_ns = w.single_ns(0, cal_frames);
        double per_round = std::max(0.05, (w.single_ns(1024, cal_frames) - w.single_ns(0, cal_frames)) / 1024);
        uint32_t heavy = o.heavy_rounds >= 0 ? uint32_t(o.heavy_rounds)
                                             : std::min<uint32_t>(PIPELINE_MAX_ROUNDS, uint32_t(o.heavy_ns / per_round) + 1);
        double heavy_ns = w.single_ns(heavy, cal_frames) - w.single_ns(0, cal_frames);
        fmt::print("policy work on CPU {}: cheap = parse + rule lookup ({:.0f} ns/pkt with XDP_DROP), "
                   "heavy = + {} hash rounds (+{:.0f} ns/pkt)\n\n",
                   o.rx_cpu, base_ns, heavy, heavy_ns);
        if (o.rx_ns) {
            uint32_t rx = std::min<uint32_t>(PIPELINE_MAX_ROUNDS, uint32_t(o.rx_ns / per_round) + 1);
            w.rx_rounds(rx);
            fmt::print("emulated driver RX cost on CPU {}: {} hash rounds (~{:.0f} ns/frame) in rx_steer and "
                       "rx_single\n\n",
                       o.rx_cpu, rx, rx * per_round);
        }

        struct Case {
            const char* name;
            bool split;
            uint32_t frames, rounds;
            std::vector<double> rates, rx_ns;
            Result last;
            uint64_t sent = 0, delivered = 0;
        };
        std::vector<Case> cases = {{"cheap, single CPU", false, o.frames, 0, {}, {}, {}},
                                   {"cheap, split", true, o.frames, 0, {}, {}, {}},
                                   {"heavy, single CPU", false, o.frames, heavy, {}, {}, {}},
                                   {"heavy, split", true, o.frames, heavy, {}, {}, {}}};
        for (uint32_t r = 0; r < o.rounds; r++) {
            for (size_t i = 0; i < cases.size(); i++) {
                auto& c = cases[(i + r) % cases.size()];  // rotate the starting case
                c.last = w.run(c.split, c.frames, c.rounds);
                c.rates.push_back(c.last.rate);
                c.rx_ns.push_back(c.last.rx_ns);
                c.sent += c.frames;
                c.delivered += c.last.delivered;
            }
        }

        bool ok = true;
        auto check = [&](bool cond, const std::string& what) {
            if (!cond) {
                fmt::print("MISMATCH: {}\n", what);
                ok = false;
            }
        };
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
                           o.work_cpu);
            // Where each program ran.
            check(d.rx[o.rx_cpu] == sum(d.rx) && sum(d.rx) == c.frames,
                  fmt::format("{}: RX program ran off CPU {}", c.name, o.rx_cpu));
            int tx_cpu = c.split ? o.work_cpu : o.rx_cpu;
            if (c.split)
                check(d.policy[o.work_cpu] == sum(d.policy) && sum(d.policy) > 0,
                      fmt::format("{}: cpu_policy ran off CPU {}", c.name, o.work_cpu));
            check(d.egress[tx_cpu] == sum(d.egress) && sum(d.egress) > 0,
                  fmt::format("{}: TX (egress program) off CPU {}", c.name, tx_cpu));
            check(sum(d.sink) == sum(d.egress), fmt::format("{}: sink count differs from TX count", c.name));
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
