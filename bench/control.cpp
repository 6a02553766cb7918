// devmap-bench: the control-plane round (slot writes, default-program replace) (see bench.hpp).
#include "bench.hpp"

#include <bpf_ext/bpf_ext.h>

namespace bench {

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
        // The same fill and update through libbpf-ext's C call, beside the
        // C++ API's above: same checks, without the C++ layer.
        auto m = dme::DevmapEgress::create("bench_cp", n);
        auto c_set = [&](uint32_t k, const dme::EgressProgram& prog) {
            if (bpfext_devmap_set(m.fd(), k, targets_->dev(k).ifindex(), prog.fd(), nullptr))
                throw std::runtime_error(std::string("bpfext_devmap_set: ") + bpfext_errmsg());
        };
        t0 = Timer();
        for (uint32_t k = 0; k < n; k++)
            c_set(k, pass_pool_[k]->prog);
        rec("fill_per_slot_c", t0);
        t0 = Timer();
        for (uint32_t k = 0; k < n; k++)
            c_set(k, fw_pool_[k]->prog);
        rec("update_policy_c", t0);
    }
    {
        // The floor: the same fill as plain bpf_map_update_elem() calls, no
        // check at all (what the kernel's update costs).
        auto m = dme::DevmapEgress::create("bench_cp", n);
        t0 = Timer();
        for (uint32_t k = 0; k < n; k++) {
            bpf_devmap_val v{};
            v.ifindex = targets_->dev(k).ifindex();
            v.bpf_prog.fd = pass_pool_[k]->prog.fd();
            if (bpf_map_update_elem(m.fd(), &k, &v, BPF_ANY))
                throw std::runtime_error("bpf_map_update_elem on a devmap failed");
        }
        rec("fill_per_slot_raw", t0);
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

}  // namespace bench
