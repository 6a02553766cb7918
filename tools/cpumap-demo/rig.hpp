// The espressobin pipeline on this machine, ready to measure: the split
// (rx_steer on the RX CPU, cpu_policy in a cpumap slot on the work CPU, which
// transmits) against rx_single (the same work on the RX CPU alone).
// Shared by make demo-cpumap and devmap-bench's cpumap section.
//
//   rx ns:    live frames "received" on rx0, generated on the RX CPU
//             rx_steer ─cpumap slot (qsize, cpu_policy)─▶ tx_ports[1] = tx0
//   sink ns:  tx0p with frame_sink (counts per CPU, drops)
//   pass:     the policy passes every frame instead (XDP_PASS): the CPU doing
//             the work builds an skb and hands it to the stack on rx0, where
//             skb_sink (tc ingress) counts and drops it
//
// Throughput is measured by the program doing the work (rx_single, or
// cpu_policy on the slot's CPU) from its own clock stamps, so run setup and
// polling do not count; every frame it handled must reach the sink.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace cpumap_demo {

struct RigOptions {
    // Small: the live-frame generator's page pool recycles only 64 pages (its
    // batch), so frames in flight beyond that cost page allocations and frees
    // on both CPUs (docs/NOTES.md).
    uint32_t qsize = 256;
    int rx_cpu = 0, work_cpu = 1;
    uint32_t batch = 64;  // live-frame batch (the RX CPU's NAPI budget)
    // SCHED_FIFO for the RX thread and the cpumap kthread, so that both modes
    // get their CPUs as on the dedicated board, even on a shared machine (the
    // kernel's RT throttling still leaves 5% to the rest).
    bool rt = true;
    // The policy's verdict is XDP_PASS, not a redirect to tx0 (see above).
    bool pass = false;
};

// Frame counts per CPU of one program over a run.
using PerCpu = std::vector<uint64_t>;
uint64_t sum(const PerCpu& v);

struct Snapshot {
    // rx_steer/rx_single, cpu_policy, TX slot program, sink (skb_sink with pass)
    PerCpu rx, policy, egress, sink;
};

struct RunResult {
    uint32_t frames = 0;     // offered on the RX CPU
    double rate = 0;         // frames/s through the work program (all of them reach the sink)
    uint64_t delivered = 0;  // frames the sink counted (skbs, with pass)
    uint32_t rx_ns = 0;      // the RX CPU's kernel time per frame (bpf_test_run duration)
    Snapshot d;              // per-CPU deltas over the run
};

class Rig {
public:
    // Creates the namespaces, veths, sink and pipeline; throws on failure.
    // Everything it creates goes with it (anonymous namespaces).
    explicit Rig(const RigOptions& o);
    ~Rig();
    Rig(const Rig&) = delete;
    Rig& operator=(const Rig&) = delete;

    // One live-frame run of `frames` on the RX CPU, split or single, with
    // `work_rounds` hash rounds of policy work (on the CPU doing the work) and
    // `rx_rounds` of emulated driver receive cost (on the RX CPU, both modes).
    RunResult run(bool split, uint32_t frames, uint32_t work_rounds, uint32_t rx_rounds = 0);
    // The kernel's ns/frame of rx_single on the RX CPU with `work_rounds`,
    // dropping (no transmit): for calibration.
    double single_ns(uint32_t work_rounds, uint32_t frames);

    const RigOptions& options() const;
    uint32_t map_id() const;  // the cpumap's id

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// The cost of a hash round on the RX CPU, and the heavy policy's rounds.
struct Calibration {
    double base_ns = 0;       // rx_single with the cheap policy, XDP_DROP
    double ns_per_round = 0;  // one hash round
    uint32_t heavy_rounds = 0;
    double heavy_extra_ns = 0;  // measured: heavy minus cheap, ns/frame
    // Rounds that cost at least `ns` (capped at PIPELINE_MAX_ROUNDS).
    uint32_t rounds_for(double ns) const;
};
// heavy_rounds >= 0 fixes the rounds; otherwise they are calibrated to cost
// at least `heavy_ns` per frame. `frames` per calibration run.
Calibration calibrate(Rig& rig, uint32_t heavy_ns, int heavy_rounds, uint32_t frames);

// What a run shows wrong: a program off its CPU, a frame transmitted and not
// received, nothing delivered. Empty when the run is sound.
std::vector<std::string> placement_problems(const RunResult& r, bool split, const RigOptions& o,
                                            const std::string& name);

// One figure: a mode and a policy, run once per round.
struct Case {
    Case(std::string name_, bool split_, uint32_t work_rounds_, uint32_t rx_rounds_ = 0)
        : name(std::move(name_)), split(split_), work_rounds(work_rounds_), rx_rounds(rx_rounds_)
    {
    }
    std::string name;
    bool split = false;
    uint32_t work_rounds = 0, rx_rounds = 0;
    std::vector<double> rates, rx_ns;  // per round
    RunResult last;
    uint64_t sent = 0, delivered = 0;
    std::vector<std::string> problems;  // placement_problems of every round
};

// Round `round` of interleaved runs: every case once, starting at case
// `round % cases.size()` so that none always goes first.
void run_round(Rig& rig, std::vector<Case>& cases, uint32_t round, uint32_t frames);

}  // namespace cpumap_demo
