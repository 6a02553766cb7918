// devmap-bench: the egress-program datapath and control plane side by side
// with the alternatives from the netdev thread. See bench/README.md.
//
// Frames are generated in the kernel (live-frame BPF_PROG_TEST_RUN, batch 64)
// on an ingress program that redirects into veth targets whose far ends drop
// with XDP_DROP. The process runs in private network and mount namespaces,
// pinned to one CPU. Each figure is the median of interleaved runs.
#include "bench.hpp"

namespace bench {

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
    app.add_option("--sections", cfg.sections, "parts to run: datapath, scaling, control, cpumap, guard, secgroups (default: all)")
        ->check(CLI::IsMember({"datapath", "scaling", "control", "cpumap", "guard", "secgroups"}));
    app.add_option("--cpumap-frames", cfg.cpumap_frames, "cpumap split vs single: frames offered per run");
    app.add_option("--heavy-ns", cfg.heavy_ns, "cpumap: extra ns/frame the heavy policy is calibrated to")
        ->capture_default_str();
    app.add_option("--rx-ns", cfg.rx_ns, "cpumap: emulated driver RX work on the RX CPU, ns/frame (0: leave out)")
        ->capture_default_str();
    app.add_flag("--cpumap-one-cpu", cfg.cpumap_one_cpu,
                 "cpumap: the slot on the RX CPU, no SCHED_FIFO (one-CPU guest: the split's figure is the whole "
                 "redirect-again path per frame)");
    app.add_option("--cpumap-qsize", cfg.cpumap_qsize, "cpumap: the slot's queue size (default: the rig's)");
    app.add_flag("--cpumap-pass", cfg.cpumap_pass,
                 "cpumap: the policy passes frames to the stack (an skb each, counted and dropped at tc ingress) "
                 "instead of redirecting them again");
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
