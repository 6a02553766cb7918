// devmap-bench: the targets, programs and cases each section measures (see bench.hpp).
#include "bench.hpp"

namespace bench {

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

    if (cfg_.wants("datapath"))
        for (uint32_t n : {4u, 16u}) {
            Broadcast& b = broadcast_.emplace_back();
            b.slots = n;
            for (uint32_t k = 0; k < n; k++)
                b.progs.push_back(std::make_unique<EgressPass>());
            b.plain = make_devmap("bench_bc_" + std::to_string(n), *targets_, n);
            b.pass = make_devmap("bench_bcp_" + std::to_string(n), *targets_, n,
                                 [&b](uint32_t k) { return &b.progs[k]->prog; });
            b.plain_in = std::make_unique<Ingress>(n, b.plain->fd(), -1);
            b.pass_in = std::make_unique<Ingress>(n, b.pass->fd(), -1);
        }

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
    if (cpus.size() < 2 && !cfg_.cpumap_one_cpu) {
        std::string list;
        for (int c : cpus)
            list += (list.empty() ? "" : ",") + std::to_string(c);
        cpumap_skipped_ = "skipped: needs 2 online CPUs; this process may run on " + std::to_string(cpus.size()) +
                          " (CPU " + list + ")";
        return;
    }
    cpumap_demo::RigOptions o;
    o.rx_cpu = cpus[0];
    o.work_cpu = cfg_.cpumap_one_cpu ? cpus[0] : cpus[1];
    if (cfg_.cpumap_one_cpu)
        o.rt = false;
    if (cfg_.cpumap_qsize)
        o.qsize = cfg_.cpumap_qsize;
    o.pass = cfg_.cpumap_pass;
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
    // ns/pkt is per frame received; each makes `slots` copies (delivered).
    for (auto& b : broadcast_) {
        const std::string to = "BPF_F_BROADCAST to " + std::to_string(b.slots) + " slots";
        add("datapath", "broadcast", "none", to + " without program", b.slots, bytes, nullptr,
            b.plain_in->broadcast_fd());
        add("datapath", "broadcast_pass", "per-slot", to + ", a distinct do-nothing egress program each", b.slots,
            bytes, nullptr, b.pass_in->broadcast_fd());
    }
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

}  // namespace bench
