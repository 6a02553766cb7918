// devmap-bench: the egress-program datapath and control plane side by side
// with the alternatives from the netdev thread. See bench/README.md.
//
// Frames are generated in the kernel (live-frame BPF_PROG_TEST_RUN, batch 64)
// on an ingress program that redirects into veth targets whose far ends drop
// with XDP_DROP. The process runs in private network and mount namespaces,
// pinned to one CPU. Each figure is the median of interleaved runs.
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
#include "report.hpp"
#include "rig.hpp"
#include "stats.hpp"
#include "tool_info.hpp"
#include "traffic.hpp"
#include "world.hpp"

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace bench {
namespace {

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
    std::vector<std::string> sections{"datapath", "scaling", "control", "cpumap", "guard"};
    // cpumap split vs single: frames offered per run, the heavy policy's
    // calibration target and the emulated driver receive cost (ns/frame).
    uint32_t cpumap_frames = 500'000;
    uint32_t heavy_ns = 250, rx_ns = 300;
    std::vector<int> usable_cpus;  // online CPUs this process may run on (at start)
    std::string out, md, commit;

    bool wants(const std::string& section) const
    {
        return std::find(sections.begin(), sections.end(), section) != sections.end();
    }
};

double ms_since(Clock::time_point t0)
{
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// CPU time of the calling thread (user + system), ns: unlike wall time it
// leaves out the time other tasks held the CPU (a shared, loaded machine).
double thread_cpu_ns()
{
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return double(ts.tv_sec) * 1e9 + double(ts.tv_nsec);
}

std::string read_first_line(const std::string& path, const std::string& prefix = "")
{
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line))
        if (prefix.empty() || line.rfind(prefix, 0) == 0) {
            if (!prefix.empty()) {
                auto colon = line.find(':');
                line = colon == std::string::npos ? line : line.substr(colon + 1);
                line.erase(0, line.find_first_not_of(" \t"));
            }
            return line;
        }
    return "";
}

// Thousands of loaded programs and their maps each hold fds (a per-slot tail
// program's object holds 8): raise the limit, the hard one too (root).
void raise_fd_limit()
{
    rlimit r{};
    if (getrlimit(RLIMIT_NOFILE, &r))
        return;
    rlim_t want = 1 << 17;
    if (r.rlim_max < want) {
        rlimit more{want, want};
        if (setrlimit(RLIMIT_NOFILE, &more) == 0)
            return;
    }
    r.rlim_cur = r.rlim_max;
    setrlimit(RLIMIT_NOFILE, &r);
}

// The online CPUs this process may run on, before it pins itself.
std::vector<int> usable_cpus()
{
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set))
        throw std::runtime_error("cannot read the CPU affinity");
    std::vector<int> out;
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &set))
            out.push_back(c);
    return out;
}

void pin_to(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof(set), &set))
        throw std::runtime_error("cannot pin to CPU " + std::to_string(cpu));
}

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

void Bench::setup()
{
    if (cfg_.wants("scaling"))
        for (auto n : cfg_.slot_counts)
            max_slots_ = std::max(max_slots_, n);
    pool_ = cfg_.wants("control") ? std::max(max_slots_, cfg_.cp_slots) : max_slots_;
    auto t0 = Clock::now();
    targets_ = std::make_unique<Targets>(cfg_.veths);
    setup_json_.push_back({{"what", "create veth targets with XDP_DROP sinks"}, {"count", cfg_.veths}, {"ms", ms_since(t0)}});

    // Slot k of every map points at target k % veths.
    plain_ = make_devmap("bench_plain", *targets_, max_slots_);
    plain_in_ = std::make_unique<Ingress>(max_slots_, plain_->fd(), -1);
    int cur_key = plain_in_->cur_key_fd();

    pass_shared_ = std::make_unique<EgressPass>();
    pass_shared_map_ = make_devmap("bench_pass_sh", *targets_, max_slots_,
                                   [this](uint32_t) { return &pass_shared_->prog; });
    pass_shared_in_ = std::make_unique<Ingress>(max_slots_, pass_shared_map_->fd(), cur_key);

    t0 = Clock::now();
    for (uint32_t k = 0; k < pool_; k++)
        pass_pool_.push_back(std::make_unique<EgressPass>());
    setup_json_.push_back({{"what", "load egress_pass programs"}, {"count", pool_}, {"ms", ms_since(t0)}});
    pass_slot_map_ = make_devmap("bench_pass_ps", *targets_, max_slots_,
                                 [this](uint32_t k) { return &pass_pool_[k]->prog; });
    pass_slot_in_ = std::make_unique<Ingress>(max_slots_, pass_slot_map_->fd(), cur_key);

    fw_shared_ = std::make_unique<EgressFirewall>();
    fw_shared_map_ = make_devmap("bench_fw_sh", *targets_, max_slots_, [this](uint32_t) { return &fw_shared_->prog; });
    fw_shared_in_ = std::make_unique<Ingress>(max_slots_, fw_shared_map_->fd(), cur_key);

    t0 = Clock::now();
    for (uint32_t k = 0; k < pool_; k++)
        fw_pool_.push_back(std::make_unique<EgressFirewall>());
    setup_json_.push_back({{"what", "load egress_drop_rule programs and their rules"}, {"count", pool_}, {"ms", ms_since(t0)}});
    fw_slot_map_ = make_devmap("bench_fw_ps", *targets_, max_slots_, [this](uint32_t k) { return &fw_pool_[k]->prog; });
    fw_slot_in_ = std::make_unique<Ingress>(max_slots_, fw_slot_map_->fd(), cur_key);

    // The tail-call alternative: PROG_ARRAY slots hold the per-target programs,
    // which redirect into the plain devmap.
    tail_shared_ = std::make_unique<TailProgram>(0, true, false, plain_->fd(), cur_key);
    tail_shared_in_ = std::make_unique<Ingress>(max_slots_, plain_->fd(), cur_key);
    tail_shared_in_->fill_prog_array([this](uint32_t) { return tail_shared_->fd(); });
    t0 = Clock::now();
    for (uint32_t k = 0; k < pool_; k++)
        tail_pool_.push_back(std::make_unique<TailProgram>(k, false, false, plain_->fd(), cur_key));
    setup_json_.push_back({{"what", "load per-slot tail programs (no policy)"}, {"count", pool_}, {"ms", ms_since(t0)}});
    tail_slot_in_ = std::make_unique<Ingress>(max_slots_, plain_->fd(), cur_key, false);
    tail_slot_in_->fill_prog_array([this](uint32_t k) { return tail_pool_[k]->fd(); });
    tail_fw_shared_ = std::make_unique<TailProgram>(0, true, true, plain_->fd(), cur_key);
    tail_fw_shared_in_ = std::make_unique<Ingress>(max_slots_, plain_->fd(), cur_key);
    tail_fw_shared_in_->fill_prog_array([this](uint32_t) { return tail_fw_shared_->fd(); });
    uint32_t nfw = pool_;
    t0 = Clock::now();
    for (uint32_t k = 0; k < nfw; k++)
        tail_fw_pool_.push_back(std::make_unique<TailProgram>(k, false, true, plain_->fd(), cur_key));
    setup_json_.push_back({{"what", "load per-slot tail programs with the firewall"}, {"count", nfw}, {"ms", ms_since(t0)}});
    tail_fw_in_ = std::make_unique<Ingress>(max_slots_, plain_->fd(), cur_key, false);
    tail_fw_in_->fill_prog_array([this](uint32_t k) { return tail_fw_pool_[k]->fd(); });

    // skb path: target 0 plain, target 1 with the tc egress firewall.
    if (cfg_.skb_path)
        skb_ = std::make_unique<SkbPath>(targets_->dev(1).ifindex());

    for (auto size : cfg_.sizes)
        frames_.push_back(bench_frame(size));
    if (cfg_.wants("control"))
        probe_default_prog();
    if (cfg_.wants("cpumap"))
        setup_cpumap();
}

// RX steering on the first usable CPU, the policy in a cpumap slot on the
// second, against the same work on the first alone: cheap and heavy policy,
// with and without emulated driver receive work on the RX CPU.
void Bench::setup_cpumap()
{
    const auto& cpus = cfg_.usable_cpus;
    if (cpus.size() < 2) {
        std::string list;
        for (int c : cpus)
            list += (list.empty() ? "" : ",") + std::to_string(c);
        cpumap_skipped_ = "skipped: needs 2 online CPUs; this process may run on " + std::to_string(cpus.size()) +
                          " (CPU " + list + ")";
        return;
    }
    cpumap_demo::RigOptions o;
    o.rx_cpu = cpus[0];
    o.work_cpu = cpus[1];
    auto t0 = Clock::now();
    rig_ = std::make_unique<cpumap_demo::Rig>(o);
    cal_ = cpumap_demo::calibrate(*rig_, cfg_.heavy_ns, -1, std::max(20'000u, cfg_.cpumap_frames / 10));
    setup_json_.push_back({{"what", "cpumap pipeline (namespaces, cpumap slot) and heavy-policy calibration"},
                           {"count", 1},
                           {"ms", ms_since(t0)}});
    std::vector<uint32_t> rx_costs{0};
    if (cfg_.rx_ns)
        rx_costs.push_back(cal_.rounds_for(cfg_.rx_ns));
    for (uint32_t rx : rx_costs)
        for (bool heavy : {false, true})
            for (bool split : {false, true})
                cpumap_cases_.emplace_back(std::string(heavy ? "heavy" : "cheap") + (rx ? " + RX work" : "") +
                                               (split ? ", split" : ", single CPU"),
                                           split, heavy ? cal_.heavy_rounds : 0, rx);
}

// Is there a map-wide default program to replace? On a stock kernel the case
// is recorded as unsupported, with the probe's verdict and libbpf-ext's reason.
void Bench::probe_default_prog()
{
    auto f = dme::probe_features();
    default_supported_ = f.default_prog == BPFEXT_SUPPORTED;
    if (default_supported_)
        return;
    default_unsupported_ = std::string("bpfext_probe(): default_prog = ") + dme::support_str(f.default_prog);
    try {
        auto m = dme::DevmapEgress::create("bench_cp_def", 1);
        m.set_default(pass_shared_->prog);
    } catch (const dme::Error& e) {
        default_unsupported_ += "; " + std::string(e.what());
    }
}

void Bench::add_cases()
{
    auto add = [&](std::string section, std::string name, std::string programs, std::string desc, uint32_t slots,
                   uint32_t bytes, Ingress* in, int fd, bool delivers = true) {
        DpCase c;
        c.section = std::move(section);
        c.name = std::move(name);
        c.programs = std::move(programs);
        c.description = std::move(desc);
        c.slots = slots;
        c.frame_bytes = bytes;
        c.ingress = in;
        c.prog_fd = fd;
        c.delivers = delivers;
        cases_.push_back(std::move(c));
    };
    for (auto bytes : cfg_.wants("datapath") ? cfg_.sizes : std::vector<uint32_t>{}) {
        add("datapath", "xdp_drop", "none", "XDP_DROP at ingress (floor)", 1, bytes, plain_in_.get(),
            plain_in_->drop_fd(), false);
        add("datapath", "redirect", "none", "devmap redirect, slot without program (baseline)", 1, bytes,
            plain_in_.get(), plain_in_->redirect_fd());
        add("datapath", "egress_pass", "shared", "devmap redirect + do-nothing egress program", 1, bytes,
            pass_shared_in_.get(), pass_shared_in_->redirect_fd());
        add("datapath", "egress_drop_rule", "shared", "devmap redirect + firewall egress program (4 rules, none match)",
            1, bytes, fw_shared_in_.get(), fw_shared_in_->redirect_fd());
        cases_.back().policy_runs = [this] { return fw_shared_->runs(); };
        add("datapath", "tailcall_pass", "per-slot", "tail call to per-target program (no policy), then redirect", 1,
            bytes, tail_slot_in_.get(), tail_slot_in_->tailcall_fd());
        add("datapath", "tailcall_drop_rule", "per-slot",
            "tail call to per-target firewall program (same rules), then redirect", 1, bytes, tail_fw_in_.get(),
            tail_fw_in_->tailcall_fd());
        cases_.back().policy_runs = [this] { return tail_fw_pool_[0]->runs(); };
        if (!skb_)
            continue;
        add("datapath", "skb_redirect", "none",
            "skb path: XDP_PASS to the stack, tc ingress bpf_redirect to the veth, no egress program", 1, bytes,
            nullptr, skb_->xdp_pass_fd());
        cases_.back().prepare = [this] { skb_->redirect_to(targets_->dev(0).ifindex()); };
        add("datapath", "skb_tc_drop_rule", "tc", "skb path + firewall as tc (clsact) egress program (same rules)", 1,
            bytes, nullptr, skb_->xdp_pass_fd());
        cases_.back().prepare = [this] { skb_->redirect_to(targets_->dev(1).ifindex()); };
        cases_.back().policy_runs = [this] { return skb_->policy_runs(); };
    }
    uint32_t bytes = cfg_.sizes.front();
    for (auto n : cfg_.wants("scaling") ? cfg_.slot_counts : std::vector<uint32_t>{}) {
        add("scaling", "redirect", "none", "devmap redirect, slots without program (baseline)", n, bytes,
            plain_in_.get(), plain_in_->redirect_fd());
        add("scaling", "egress_pass", "shared", "one do-nothing egress program in every slot", n, bytes,
            pass_shared_in_.get(), pass_shared_in_->redirect_fd());
        add("scaling", "egress_pass", "per-slot", "a distinct do-nothing egress program per slot", n, bytes,
            pass_slot_in_.get(), pass_slot_in_->redirect_fd());
        add("scaling", "tailcall_pass", "shared", "tail call to one program shared by every slot, then redirect", n,
            bytes, tail_shared_in_.get(), tail_shared_in_->tailcall_fd());
        add("scaling", "tailcall_pass", "per-slot", "tail call to a distinct program per slot, then redirect", n,
            bytes, tail_slot_in_.get(), tail_slot_in_->tailcall_fd());
        add("scaling", "egress_drop_rule", "shared", "one firewall egress program in every slot", n, bytes,
            fw_shared_in_.get(), fw_shared_in_->redirect_fd());
        cases_.back().policy_runs = [this] { return fw_shared_->runs(); };
        add("scaling", "egress_drop_rule", "per-slot", "a distinct firewall egress program per slot", n, bytes,
            fw_slot_in_.get(), fw_slot_in_->redirect_fd());
        cases_.back().policy_runs = [this, n] {
            uint64_t sum = 0;
            for (uint32_t k = 0; k < n; k++)
                sum += fw_pool_[k]->runs();
            return sum;
        };
        add("scaling", "tailcall_drop_rule", "shared", "tail call to one firewall program shared by every slot", n,
            bytes, tail_fw_shared_in_.get(), tail_fw_shared_in_->tailcall_fd());
        cases_.back().policy_runs = [this] { return tail_fw_shared_->runs(); };
        add("scaling", "tailcall_drop_rule", "per-slot", "tail call to a distinct firewall program per slot", n, bytes,
            tail_fw_in_.get(), tail_fw_in_->tailcall_fd());
        cases_.back().policy_runs = [this, n] {
            uint64_t sum = 0;
            for (uint32_t k = 0; k < n; k++)
                sum += tail_fw_pool_[k]->runs();
            return sum;
        };
    }
}

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

void Bench::control_plane_round(std::vector<CpCase>& cp)
{
    uint32_t n = cfg_.cp_slots;
    struct Timer {
        Clock::time_point wall = Clock::now();
        double cpu = thread_cpu_ns();
    };
    Timer t0;
    auto rec = [&](const std::string& name, const Timer& since) {
        double cpu_ms = (thread_cpu_ns() - since.cpu) / 1e6;
        for (auto& c : cp)
            if (c.name == name) {
                c.ms.push_back(ms_since(since.wall));
                c.cpu_ms.push_back(cpu_ms);
                return;
            }
        throw std::logic_error("unknown control-plane case " + name);
    };
    {
        auto m = dme::DevmapEgress::create("bench_cp", n);
        t0 = Timer();
        for (uint32_t k = 0; k < n; k++)
            m.set(k, targets_->dev(k), pass_shared_->prog);
        rec("fill_shared", t0);
    }
    for (bool skip : {false, true}) {
        dme::DevmapEgress::SetOptions o;
        o.skip_xmit_check = skip;
        std::string sfx = skip ? "_skip_xmit_check" : "";
        auto m = dme::DevmapEgress::create("bench_cp", n);
        t0 = Timer();
        for (uint32_t k = 0; k < n; k++)
            m.set(k, targets_->dev(k), pass_pool_[k]->prog, o);
        rec("fill_per_slot" + sfx, t0);
        t0 = Timer();
        for (uint32_t k = 0; k < n; k++)
            m.set(k, targets_->dev(k), fw_pool_[k]->prog, o);
        rec("update_policy" + sfx, t0);
        if (!skip) {
            t0 = Timer();
            for (uint32_t k = 0; k < n; k++)
                m.erase(k);
            rec("erase", t0);
        }
    }
    {
        // The alternative's control plane: PROG_ARRAY writes (plain syscalls,
        // as its users would do; no devmap slot is involved).
        int pa = bpf_map_create(BPF_MAP_TYPE_PROG_ARRAY, "bench_cp_pa", 4, 4, n, nullptr);
        if (pa < 0)
            throw std::runtime_error("creating a PROG_ARRAY failed");
        dme::Fd owned(pa);
        t0 = Timer();
        for (uint32_t k = 0; k < n; k++)
            prog_array_set(pa, k, tail_pool_[k]->fd());
        rec("tailcall_fill", t0);
        t0 = Timer();
        for (uint32_t k = 0; k < n; k++)
            prog_array_set(pa, k, tail_fw_pool_[k]->fd());
        rec("tailcall_update_policy", t0);
    }
    if (default_supported_) {
        // N slots written without a program inherit the map's default; one
        // replace of the default (BPF_PROG_ATTACH on the map) switches them all.
        auto m = dme::DevmapEgress::create("bench_cp_def", n, pass_shared_->prog);
        for (uint32_t k = 0; k < n; k++)
            m.set(k, targets_->dev(k));
        t0 = Timer();
        m.set_default(fw_shared_->prog);
        rec("default_replace", t0);
        auto want = m.default_program().id;
        for (uint32_t k : {0u, n / 2, n - 1}) {
            auto slot = m.get(k);
            if (!slot || !slot->prog.inherited || slot->prog.id != want)
                default_problems_.push_back("default_replace: slot " + std::to_string(k) +
                                            " does not run the new default program");
        }
    }
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
    for (const auto& b : all)
        if (b.section == c.section && b.name == "redirect" && b.slots == c.slots && b.frame_bytes == c.frame_bytes)
            j["ratio_to_redirect"] = ns.median / summarize(b.ns).median;
    return j;
}

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
    double update_policy_cpu_ms = 0;
    for (const auto& c : cp)
        if (c.name == "update_policy" && !c.cpu_ms.empty())
            update_policy_cpu_ms = summarize(c.cpu_ms).median;
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

json environment(const Config& cfg, int cpu)
{
    utsname u{};
    uname(&u);
    char date[32];
    std::time_t now = std::time(nullptr);
    std::strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
    return {{"date", date},
            {"kernel", u.release},
            {"kernel_version", u.version},
            {"machine", u.machine},
            {"cpu_model", read_first_line("/proc/cpuinfo", "model name")},
            {"online_cpus", sysconf(_SC_NPROCESSORS_ONLN)},
            {"usable_cpus", cfg.usable_cpus},
            {"pinned_cpu", cpu},
            {"loadavg_start", read_first_line("/proc/loadavg")},
            {"commit", cfg.commit}};
}

json config_json(const Config& c)
{
    return {{"mode", c.mode},
            {"runs", c.runs},
            {"packets_per_run", c.packets},
            {"batch_size", 64},
            {"frame_bytes", c.sizes},
            {"slot_counts", c.slot_counts},
            {"veths", c.veths},
            {"control_plane_slots", c.cp_slots},
            {"sections", c.sections},
            {"cpumap",
             {{"frames_per_run", c.cpumap_frames},
              {"heavy_policy_target_ns", c.heavy_ns},
              {"rx_work_target_ns", c.rx_ns},
              {"method", "the espressobin pipeline (bpf/cpumap_pipeline.bpf.c, tools/cpumap-demo/rig.hpp): live "
                         "frames generated on the RX CPU; split: rx_steer there, cpu_policy in a cpumap slot "
                         "(qsize 256) on the work CPU, which redirects again into a devmap_hash slot (egress_count) "
                         "and transmits to a sink; single: rx_single does the same work on the RX CPU. RX thread and "
                         "cpumap kthread SCHED_FIFO. mframes_per_s: frames the working program handled over its own "
                         "clock stamps (all of them reach the sink); delivered_ratio: sink frames / offered (the split "
                         "drops what its queue cannot take); rx_cpu_ns_per_frame: the RX CPU's kernel time"}}},
            {"traffic", "live-frame BPF_PROG_TEST_RUN (BPF_F_TEST_XDP_LIVE_FRAMES), IPv4/UDP to port 9, "
                        "round-robin over the slots; slot k -> veth k % veths; sinks XDP_DROP in native mode"},
            {"timing", "ns_per_pkt: the kernel's own time per frame (bpf_test_run_opts.duration: the batches "
                       "with their redirect flush and the veth peer's NAPI XDP_DROP, which runs in softirq on "
                       "the same CPU when each batch ends; time spent rescheduled is left out); "
                       "wall_ns_per_pkt: wall time of the syscall / frames; cpu_ns_per_pkt: the thread's CPU "
                       "time / frames. Control plane: total_ms is wall time, cpu_ms the thread's CPU time"}};
}

}  // namespace
}  // namespace bench

int main(int argc, char** argv)
{
    bench::Config cfg;
    CLI::App app{"devmap-bench: egress programs in devmap slots vs the alternatives (needs root)"};
    bool quick = false, tiny = false;
    std::string render;
    app.add_flag("--quick", quick, "under a minute: fewer frames per run, 5 runs");
    app.add_flag("--tiny", tiny, "seconds: for the test suite (2 runs, few slots, 4 veths)");
    app.add_option("--runs", cfg.runs, "interleaved runs per figure");
    app.add_option("--packets", cfg.packets, "frames per run");
    app.add_option("--sizes", cfg.sizes, "frame sizes in bytes (the first is used for slot scaling)");
    app.add_option("--slots", cfg.slot_counts, "slot counts for scaling (powers of two)");
    app.add_option("--veths", cfg.veths, "veth targets");
    app.add_option("--cp-slots", cfg.cp_slots, "slots for the control-plane figures");
    bool no_skb = false;
    app.add_flag("--no-skb", no_skb, "leave out the skb-path (tc) cases");
    app.add_option("--sections", cfg.sections, "parts to run: datapath, scaling, control, cpumap, guard (default: all)")
        ->check(CLI::IsMember({"datapath", "scaling", "control", "cpumap", "guard"}));
    app.add_option("--cpumap-frames", cfg.cpumap_frames, "cpumap split vs single: frames offered per run");
    app.add_option("--heavy-ns", cfg.heavy_ns, "cpumap: extra ns/frame the heavy policy is calibrated to")
        ->capture_default_str();
    app.add_option("--rx-ns", cfg.rx_ns, "cpumap: emulated driver RX work on the RX CPU, ns/frame (0: leave out)")
        ->capture_default_str();
    app.add_option("--cpu", cfg.cpu, "CPU to pin to (default: the last online CPU it may use)");
    app.add_option("--out", cfg.out, "write the JSON results here");
    app.add_option("--md", cfg.md, "write the Markdown table here (default: --out with .md)");
    app.add_option("--commit", cfg.commit, "source revision to record");
    app.add_option("--render", render, "print the Markdown table of an existing results file and exit");
    std::vector<std::string> compare, labels;
    std::string unit = "ns/pkt";
    app.add_option("--compare", compare, "RUN.json...: print their datapath figures side by side and exit")
        ->check(CLI::ExistingFile);
    app.add_option("--labels", labels, "column names for --compare (default: the files' kernels)");
    app.add_option("--unit", unit, "what --compare calls the figure (make bench-vm: instructions/pkt)");
    dme_tools::add_version_flag(app, "devmap-bench");
    CLI11_PARSE(app, argc, argv);

    if (!render.empty()) {
        std::ifstream in(render);
        std::cout << bench::markdown(json::parse(in));
        return 0;
    }
    if (!compare.empty()) {
        std::vector<json> runs;
        for (const auto& path : compare) {
            std::ifstream in(path);
            json r = json::parse(in, nullptr, false);
            if (r.is_discarded() || !r.contains("datapath") || !r.contains("environment")) {
                std::cerr << "devmap-bench: " << path << " is not a devmap-bench results file\n";
                return 2;
            }
            runs.push_back(std::move(r));
            if (labels.size() < runs.size())
                labels.push_back(runs.back()["environment"].value("kernel", path));
        }
        if (labels.size() != runs.size()) {
            std::cerr << "devmap-bench: --labels needs one name per --compare file\n";
            return 2;
        }
        std::string md = bench::compare_markdown(runs, labels, unit);
        std::cout << md;
        if (!cfg.out.empty()) {
            json all = {{"schema", "devmap-bench-compare/1"}, {"unit", unit}, {"labels", labels}, {"runs", runs}};
            std::ofstream(cfg.out) << all.dump(2) << "\n";
            std::ofstream(cfg.md.empty() ? cfg.out.substr(0, cfg.out.rfind(".json")) + ".md" : cfg.md) << md;
        }
        return 0;
    }

    // Mode presets first, then explicit options win.
    bench::Config preset = cfg;
    if (tiny) {
        preset.mode = "tiny";
        preset.runs = 2;
        preset.packets = 20'000;
        preset.slot_counts = {1, 16};
        preset.veths = 4;
        preset.cp_slots = 32;
        preset.cpumap_frames = 20'000;
    } else if (quick) {
        preset.mode = "quick";
        preset.runs = 5;
        preset.packets = 100'000;
        preset.veths = 64;
        preset.cpumap_frames = 100'000;
    }
    for (auto* opt : app.get_options()) {
        if (!opt->count())
            continue;
        auto name = opt->get_name();
        if (name == "--runs") preset.runs = cfg.runs;
        if (name == "--packets") preset.packets = cfg.packets;
        if (name == "--sizes") preset.sizes = cfg.sizes;
        if (name == "--slots") preset.slot_counts = cfg.slot_counts;
        if (name == "--veths") preset.veths = cfg.veths;
        if (name == "--cp-slots") preset.cp_slots = cfg.cp_slots;
        if (name == "--cpumap-frames") preset.cpumap_frames = cfg.cpumap_frames;
    }
    cfg = preset;
    cfg.skb_path = !no_skb;
    if (cfg.runs < 1 || cfg.packets < 64 || cfg.veths < 2 || cfg.cp_slots < 1 || cfg.sizes.empty() ||
        cfg.slot_counts.empty() || cfg.cpumap_frames < 1024) {
        std::cerr << "devmap-bench: runs, packets (>= 64), veths (>= 2), cp-slots, sizes and slots must be positive, "
                     "cpumap-frames >= 1024\n";
        return 2;
    }
    if (geteuid() != 0) {
        std::cerr << "devmap-bench: needs root (BPF, network namespaces): run 'sudo make bench'\n";
        return 1;
    }
    try {
        netlab::isolate_process();
        bench::raise_fd_limit();
        cfg.usable_cpus = bench::usable_cpus();
        if (cfg.usable_cpus.empty())
            throw std::runtime_error("no CPU to run on");
        int cpu = cfg.cpu >= 0 ? cfg.cpu : cfg.usable_cpus.back();
        bench::pin_to(cpu);
        json env = bench::environment(cfg, cpu);
        auto t0 = Clock::now();
        bench::Bench b(cfg);
        json out = b.run();
        out["environment"] = env;
        out["environment"]["loadavg_end"] = bench::read_first_line("/proc/loadavg");
        out["environment"]["seconds"] = bench::ms_since(t0) / 1000.0;
        out["config"] = bench::config_json(cfg);
        std::string md = bench::markdown(out);
        std::cout << md;
        if (!cfg.out.empty()) {
            std::ofstream(cfg.out) << out.dump(2) << "\n";
            std::string mdpath = cfg.md;
            if (mdpath.empty()) {
                mdpath = cfg.out;
                auto dot = mdpath.rfind(".json");
                mdpath = (dot == std::string::npos ? mdpath : mdpath.substr(0, dot)) + ".md";
            }
            std::ofstream(mdpath) << md;
            std::cerr << "devmap-bench: wrote " << cfg.out << " and " << mdpath << "\n";
        }
    } catch (const std::exception& e) {
        std::cerr << "devmap-bench: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
