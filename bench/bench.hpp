// devmap-bench's parts, shared by its files: the configuration, the cases
// and the Bench that sets up the world and runs the sections. The files:
// main.cpp (command line, environment, config), process.cpp (clocks, CPU
// pinning, fd limit), setup.cpp (targets, programs, cases), datapath.cpp
// (a datapath run and its figures), control.cpp (the control-plane round),
// cpumap.cpp (split vs single figures), run.cpp (the sections in order).
#pragma once

#include <sched.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <bpf/bpf.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "frames.hpp"
#include "netns.hpp"
#include "guard.hpp"
#include "secgroups.hpp"
#include "report.hpp"
#include "rig.hpp"
#include "stats.hpp"
#include "tool_info.hpp"
#include "traffic.hpp"
#include "world.hpp"

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace bench {

struct Config {
    std::string mode = "full";
    int runs = 7;
    uint32_t packets = 1'000'000;
    std::vector<uint32_t> sizes{64, 1500};
    std::vector<uint32_t> slot_counts{1, 16, 64, 256, 1024};
    uint32_t veths = 64;
    uint32_t cp_slots = 1000;
    int cpu = -1;  // -1: the last online CPU this process may use
    bool skb_path = true;
    // Which parts to run: datapath, scaling, control, cpumap (make bench-vm
    // runs the datapath alone in the guest, where loading 1000s of programs
    // is slow).
    std::vector<std::string> sections{"datapath", "scaling", "control", "cpumap", "guard", "secgroups"};
    // cpumap split vs single: frames offered per run, the heavy policy's
    // calibration target and the emulated driver receive cost (ns/frame).
    uint32_t cpumap_frames = 500'000;
    uint32_t heavy_ns = 250, rx_ns = 300;
    // The cpumap slot on the RX CPU itself, no SCHED_FIFO (the kthread must
    // get the CPU between batches), a queue that holds a run's bursts: the
    // instruction-counting guest has one CPU, where the split's figure is the
    // whole redirect-again path per frame (make bench-vm-arm64).
    bool cpumap_one_cpu = false;
    uint32_t cpumap_qsize = 0;  // 0: the rig's default
    bool cpumap_pass = false;   // the policy passes (skbs) instead of redirecting
    std::vector<int> usable_cpus;  // online CPUs this process may run on (at start)
    std::string out, md, commit;

    bool wants(const std::string& section) const
    {
        return std::find(sections.begin(), sections.end(), section) != sections.end();
    }
};

double ms_since(Clock::time_point t0);
// CPU time of the calling thread (user + system), ns: unlike wall time it
// leaves out the time other tasks held the CPU (a shared, loaded machine).
double thread_cpu_ns();
std::string read_first_line(const std::string& path, const std::string& prefix = "");
void raise_fd_limit();
std::vector<int> usable_cpus();
void pin_to(int cpu);
// The run's context and configuration, as recorded in the results file.
json environment(const Config& cfg, int cpu);
json config_json(const Config& c);

// One datapath figure: an ingress program run on live frames.
struct DpCase {
    std::string section, name, programs, description;
    uint32_t slots = 1, frame_bytes = 64;
    bool delivers = true;
    Ingress* ingress = nullptr;
    int prog_fd = -1;
    std::function<uint64_t()> policy_runs;  // frames the policy program saw, when it counts them
    std::function<void()> prepare;          // before each run (skb path: pick the target)
    std::vector<double> policy_ratio;
    std::vector<double> ns, wall_ns, cpu_ns, delivered;  // ns: the kernel's own figure
};

struct CpCase {
    std::string name, description;
    uint32_t slots = 0;
    std::vector<double> ms = {}, cpu_ms = {};
};

class Bench {
public:
    explicit Bench(const Config& c) : cfg_(c) {}
    json run();

private:
    void setup();
    void setup_cpumap();
    void probe_default_prog();
    void add_cases();
    void sample(DpCase& c, uint32_t packets, bool record);
    void control_plane_round(std::vector<CpCase>& cp);
    json datapath_json(const DpCase& c, const std::vector<DpCase>& all) const;
    json cpumap_json() const;

    const Config& cfg_;
    uint32_t max_slots_ = 1, pool_ = 1;
    std::unique_ptr<Targets> targets_;
    std::unique_ptr<dme::DevmapEgress> plain_, pass_shared_map_, pass_slot_map_, fw_shared_map_, fw_slot_map_;
    std::unique_ptr<Ingress> plain_in_, pass_shared_in_, pass_slot_in_, fw_shared_in_, fw_slot_in_, tail_shared_in_,
        tail_slot_in_, tail_fw_shared_in_, tail_fw_in_;
    std::unique_ptr<EgressPass> pass_shared_;
    std::unique_ptr<EgressFirewall> fw_shared_;
    std::vector<std::unique_ptr<EgressPass>> pass_pool_;
    std::vector<std::unique_ptr<EgressFirewall>> fw_pool_;
    std::unique_ptr<TailProgram> tail_shared_, tail_fw_shared_;
    std::vector<std::unique_ptr<TailProgram>> tail_pool_, tail_fw_pool_;
    std::unique_ptr<SkbPath> skb_;
    // BPF_F_BROADCAST to every slot of a map of its own: without programs,
    // and with a distinct do-nothing program per slot.
    struct Broadcast {
        uint32_t slots = 0;
        std::vector<std::unique_ptr<EgressPass>> progs;
        std::unique_ptr<dme::DevmapEgress> plain, pass;
        std::unique_ptr<Ingress> plain_in, pass_in;
    };
    std::vector<Broadcast> broadcast_;
    std::vector<DpCase> cases_;
    std::vector<netlab::Frame> frames_;
    json setup_json_ = json::array();

    // cpumap split vs single: the espressobin pipeline's rig (tools/cpumap-demo).
    // Cases in pairs: single CPU, then split, for each policy and RX cost.
    std::unique_ptr<cpumap_demo::Rig> rig_;
    cpumap_demo::Calibration cal_;
    std::vector<cpumap_demo::Case> cpumap_cases_;
    std::string cpumap_skipped_;  // why the section did not run

    // Map-wide default programs (the project's patched kernel).
    bool default_supported_ = false;
    std::string default_unsupported_;   // the probe's verdict and the library's explanation
    std::vector<std::string> default_problems_;  // an inheriting slot did not run the new default
};

}  // namespace bench
