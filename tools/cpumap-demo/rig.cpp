#include "rig.hpp"

#include <bpf/libbpf.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <thread>

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

namespace netlab {
TESTING_SKEL(egress_count)
TESTING_SKEL(frame_sink)
}  // namespace netlab

namespace cpumap_demo {

using namespace std::chrono;
using netlab::Skel;

namespace {

void make_rt(int pid, const char* what)
{
    sched_param p{};
    p.sched_priority = 50;
    if (sched_setscheduler(pid, SCHED_FIFO, &p))
        throw std::runtime_error(fmt::format("SCHED_FIFO for {}: {} (try --rt=false)", what, std::strerror(errno)));
}

constexpr uint32_t kTxSlot = 1;

PerCpu packets(const std::vector<pipeline_stats>& v)
{
    PerCpu out;
    for (const auto& s : v)
        out.push_back(s.packets);
    return out;
}
PerCpu packets(const std::vector<netlab::Counters>& v)
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

}  // namespace

uint64_t sum(const PerCpu& v)
{
    uint64_t s = 0;
    for (auto x : v)
        s += x;
    return s;
}

struct Rig::Impl {
    explicit Impl(const RigOptions& o)
        : opt(o), sink_ns(netlab::Netns::create()), rx_ns(netlab::Netns::create()), rx_link("rx0", "rx0p", rx_ns),
          tx_link("tx0", "tx0p", sink_ns), sink(netlab::open_load<frame_sink>()),
          egress(netlab::open_load<egress_count>())
    {
        netlab::attach_xdp_in(sink_ns, tx_link.far().ifindex, bpf_program__fd(sink->progs.frame_sink));
        pipe.tx_ports().set(kTxSlot, dme::Interface::index(tx_link.near().ifindex),
                            dme::EgressProgram::from(egress->progs.egress_count));
        if (o.pass)
            netlab::attach_tc(rx_link.near().ifindex, BPF_TC_INGRESS, bpf_program__fd(sink->progs.skb_sink));
        work_action();
        pipe.steer_to(o.work_cpu);
        pipe.cpus().set(o.work_cpu, o.qsize, pipe.policy_prog());
        if (o.rt) {
            auto pids = cpumap_kthreads(o.work_cpu, pipe.cpus().info().id);
            if (pids.size() != 1)
                throw std::runtime_error("cannot find the cpumap kthread in /proc");
            make_rt(pids[0], "the cpumap kthread");
        }
        frame = netlab::udp4_frame(netlab::ipv4(192, 0, 2, 1), netlab::ipv4(198, 51, 100, 1), 1024, 9);
    }

    // What the policy does with a frame it handled: redirect to tx0, or pass.
    void work_action()
    {
        if (opt.pass)
            pipe.default_action(PIPE_PASS);
        else
            pipe.default_action(PIPE_REDIRECT, kTxSlot);
    }

    Snapshot snapshot() const
    {
        return {packets(pipe.rx_stats()), packets(pipe.policy_stats()),
                packets(netlab::read_counters_per_cpu(bpf_map__fd(egress->maps.counters))),
                packets(netlab::read_counters_per_cpu(bpf_map__fd(sink->maps.counters)))};
    }

    RigOptions opt;
    netlab::Netns sink_ns, rx_ns;
    netlab::VethPair rx_link, tx_link;
    Skel<frame_sink> sink;
    Skel<egress_count> egress;
    Pipeline pipe;
    netlab::Frame frame;
};

Rig::Rig(const RigOptions& o) : impl_(std::make_unique<Impl>(o)) {}
Rig::~Rig() = default;

const RigOptions& Rig::options() const { return impl_->opt; }
uint32_t Rig::map_id() const { return impl_->pipe.cpus().info().id; }

double Rig::single_ns(uint32_t rounds, uint32_t frames)
{
    auto& w = *impl_;
    w.pipe.work_rounds(rounds);
    w.pipe.rx_rounds(0);
    w.pipe.default_action(PIPE_DROP);
    netlab::PinnedToCpu on(w.opt.rx_cpu);
    double ns = netlab::run_live_frames(w.pipe.single_fd(), w.frame, frames, w.rx_link.near().ifindex);
    w.work_action();
    return ns;
}

RunResult Rig::run(bool split, uint32_t frames, uint32_t rounds, uint32_t rx_rounds)
{
    auto& w = *impl_;
    w.pipe.work_rounds(rounds);
    w.pipe.rx_rounds(rx_rounds);
    w.pipe.reset_stats();
    Snapshot before = w.snapshot();
    std::atomic<bool> done{false};
    std::string error;
    uint32_t rx_ns = 0;
    auto t0 = steady_clock::now();
    std::thread rx([&] {
        try {
            netlab::PinnedToCpu on(w.opt.rx_cpu);
            if (w.opt.rt)
                make_rt(0, "the RX thread");
            rx_ns = netlab::run_live_frames(split ? w.pipe.steer_fd() : w.pipe.single_fd(), w.frame, frames,
                                             w.rx_link.near().ifindex, w.opt.batch);
        } catch (const std::exception& e) {
            error = e.what();
        }
        done = true;
    });
    uint64_t last = sum(before.sink);
    auto t_last = t0;
    for (;;) {
        std::this_thread::sleep_for(microseconds(500));
        uint64_t now = sum(packets(netlab::read_counters_per_cpu(bpf_map__fd(w.sink->maps.counters))));
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
    Snapshot after = w.snapshot();
    RunResult r;
    r.frames = frames;
    r.d = {minus(after.rx, before.rx), minus(after.policy, before.policy), minus(after.egress, before.egress),
           minus(after.sink, before.sink)};
    r.delivered = sum(r.d.sink);
    r.rx_ns = rx_ns;
    auto work = total(split ? w.pipe.policy_stats() : w.pipe.rx_stats());
    uint64_t stamped = work.packets ? (work.packets - 1) / 64 * 64 : 0;  // frames between the stamps
    r.rate = work.last_ns > work.first_ns ? stamped * 1e9 / double(work.last_ns - work.first_ns) : 0;
    return r;
}

uint32_t Calibration::rounds_for(double ns) const
{
    return std::min<uint32_t>(PIPELINE_MAX_ROUNDS, uint32_t(ns / ns_per_round) + 1);
}

Calibration calibrate(Rig& rig, uint32_t heavy_ns, int heavy_rounds, uint32_t frames)
{
    Calibration c;
    c.base_ns = rig.single_ns(0, frames);
    c.ns_per_round = std::max(0.05, (rig.single_ns(1024, frames) - rig.single_ns(0, frames)) / 1024);
    c.heavy_rounds = heavy_rounds >= 0 ? uint32_t(heavy_rounds) : c.rounds_for(heavy_ns);
    c.heavy_extra_ns = rig.single_ns(c.heavy_rounds, frames) - rig.single_ns(0, frames);
    return c;
}

std::vector<std::string> placement_problems(const RunResult& r, bool split, const RigOptions& o,
                                            const std::string& name)
{
    std::vector<std::string> out;
    auto check = [&](bool ok, const std::string& what) {
        if (!ok)
            out.push_back(name + ": " + what);
    };
    const auto& d = r.d;
    check(d.rx[o.rx_cpu] == sum(d.rx) && sum(d.rx) == r.frames, fmt::format("RX program ran off CPU {}", o.rx_cpu));
    int tx_cpu = split ? o.work_cpu : o.rx_cpu;
    if (split)
        check(d.policy[o.work_cpu] == sum(d.policy) && sum(d.policy) > 0,
              fmt::format("cpu_policy ran off CPU {}", o.work_cpu));
    if (o.pass) {
        check(sum(d.egress) == 0, "frames transmitted, though the policy passes them");
        check(d.sink[tx_cpu] == sum(d.sink) && sum(d.sink) > 0, fmt::format("the stack ran off CPU {}", tx_cpu));
        return out;
    }
    check(d.egress[tx_cpu] == sum(d.egress) && sum(d.egress) > 0,
          fmt::format("TX (egress program) off CPU {}", tx_cpu));
    check(sum(d.sink) == sum(d.egress), "sink count differs from TX count");
    return out;
}

void run_round(Rig& rig, std::vector<Case>& cases, uint32_t round, uint32_t frames)
{
    for (size_t i = 0; i < cases.size(); i++) {
        auto& c = cases[(i + round) % cases.size()];
        c.last = rig.run(c.split, frames, c.work_rounds, c.rx_rounds);
        c.rates.push_back(c.last.rate);
        c.rx_ns.push_back(c.last.rx_ns);
        c.sent += frames;
        c.delivered += c.last.delivered;
        for (auto& p : placement_problems(c.last, c.split, rig.options(), c.name))
            c.problems.push_back(std::move(p));
    }
}

}  // namespace cpumap_demo
