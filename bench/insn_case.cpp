// insn-case: the guest side of kernel-patches/tools/insn-profile.sh (make
// profile). Sets up ONE of devmap-bench's datapath cases with the same
// fixture (world.hpp) and wiring as devmap-bench's `--sections datapath
// --sizes 64 --slots 1 --veths 2` (make bench-vm), and runs its ingress
// program on live frames. The profiler's gdb breaks on the Nth
// xdp_test_run_batch() of the guest, so this process must be the only one
// that runs live frames there.
//
//   insn-case CASE [--warmup FRAMES] [--frames FRAMES (>= 64)] [--size BYTES]
//
// CASE: xdp_drop redirect egress_pass egress_drop_rule tailcall_pass
//       tailcall_drop_rule, or broadcast_N / broadcast_pass_N: BPF_F_BROADCAST
//       to N slots (1..16) on veths of their own, without programs / with a
//       distinct do-nothing program each (devmap-bench's broadcast cases)
// Two live-frame runs: a warm-up (default 4096 frames, as devmap-bench's
// warm-up sample in make bench-vm), then the measured one (default 20000
// frames, one bench-vm sample). Prints both runs' kernel figures
// (bpf_test_run_opts.duration, ns/pkt: instructions/pkt under -icount
// shift=0) and the share of frames that reached the sinks.
// Root; meant for the one-CPU guest: it pins itself to CPU 0 and sets
// net.core.bpf_jit_kallsyms=1 (JIT'd programs under their names, for gdb).
#include <sched.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include "netns.hpp"
#include "traffic.hpp"
#include "world.hpp"

using namespace bench;

namespace {

int usage()
{
    std::cerr << "usage: insn-case CASE [--warmup FRAMES] [--frames FRAMES (>= 64)] [--size BYTES (64..3000)]\n"
                 "CASE: xdp_drop redirect egress_pass egress_drop_rule tailcall_pass tailcall_drop_rule\n"
                 "      broadcast_N broadcast_pass_N (N slots, 1..16)\n";
    return 2;
}

}  // namespace

int main(int argc, char** argv)
{
    if (argc < 2 || argc % 2)
        return usage();
    std::string name = argv[1];
    uint32_t warmup = 4096, frames = 20000, size = 64;
    for (int i = 2; i + 1 < argc; i += 2) {
        std::string o = argv[i];
        auto v = uint32_t(std::strtoul(argv[i + 1], nullptr, 0));
        if (o == "--warmup")
            warmup = v;
        else if (o == "--frames")
            frames = v;
        else if (o == "--size")
            size = v;
        else
            return usage();
    }
    if (frames < 64)
        return usage();
    try {
        if (!(std::ofstream("/proc/sys/net/core/bpf_jit_kallsyms") << "1"))
            std::cerr << "insn-case: cannot set net.core.bpf_jit_kallsyms: JIT'd programs stay nameless\n";
        netlab::isolate_process();
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(0, &set);
        if (sched_setaffinity(0, sizeof(set), &set))
            throw std::runtime_error("cannot pin to CPU 0");

        // What Bench::setup() builds for the case with one slot and two
        // veths, and the ingress program Bench::add_cases() runs for it.
        // Broadcast cases (broadcast_4, broadcast_pass_16, ...) need a veth
        // per slot, as devmap-bench --veths 16 gives them.
        bool bc = name.rfind("broadcast", 0) == 0;
        uint32_t bc_slots = 0;
        if (bc) {
            auto us = name.rfind('_');
            bc_slots = uint32_t(std::stoul(name.substr(us + 1)));
            if (bc_slots < 1 || bc_slots > 16)
                return usage();
        }
        Targets targets(bc ? 16 : 2);
        auto plain = make_devmap("bench_plain", targets, 1);
        Ingress plain_in(1, plain->fd(), -1);
        int cur_key = plain_in.cur_key_fd();
        std::unique_ptr<EgressPass> pass;
        std::unique_ptr<EgressFirewall> fw;
        std::unique_ptr<TailProgram> tail;
        std::unique_ptr<dme::DevmapEgress> map;
        std::unique_ptr<Ingress> in;
        std::vector<std::unique_ptr<EgressPass>> bc_progs;
        int fd = -1;
        if (name == "xdp_drop") {
            fd = plain_in.drop_fd();
        } else if (name == "redirect") {
            fd = plain_in.redirect_fd();
        } else if (name == "egress_pass") {  // the bench's shared-program maps
            pass = std::make_unique<EgressPass>();
            map = make_devmap("bench_pass_sh", targets, 1, [&](uint32_t) { return &pass->prog; });
        } else if (name == "egress_drop_rule") {
            fw = std::make_unique<EgressFirewall>();
            map = make_devmap("bench_fw_sh", targets, 1, [&](uint32_t) { return &fw->prog; });
        } else if (bc) {  // BPF_F_BROADCAST to every slot, as Bench::setup()
            bool with_progs = name.rfind("broadcast_pass_", 0) == 0;
            for (uint32_t k = 0; with_progs && k < bc_slots; k++)
                bc_progs.push_back(std::make_unique<EgressPass>());
            map = with_progs ? make_devmap("bench_bcp", targets, bc_slots,
                                           [&](uint32_t k) { return &bc_progs[k]->prog; })
                             : make_devmap("bench_bc", targets, bc_slots);
            in = std::make_unique<Ingress>(bc_slots, map->fd(), -1);
            fd = in->broadcast_fd();
        } else if (name == "tailcall_pass" || name == "tailcall_drop_rule") {
            // A per-slot tail program (slot key in .rodata), as the bench's
            // tail_slot_in_ / tail_fw_in_.
            tail = std::make_unique<TailProgram>(0, false, name == "tailcall_drop_rule", plain->fd(), cur_key);
            in = std::make_unique<Ingress>(1, plain->fd(), cur_key, false);
            in->fill_prog_array([&](uint32_t) { return tail->fd(); });
            fd = in->tailcall_fd();
        } else {
            return usage();
        }
        if (map && !bc) {
            in = std::make_unique<Ingress>(1, map->fd(), cur_key);
            fd = in->redirect_fd();
        }
        if (!bc)
            (in ? *in : plain_in).spread_over(1);

        auto frame = bench_frame(size);
        std::printf("insn-case: %s, %u-byte frames, warm-up %u frames, measured %u frames\n", name.c_str(), size,
                    warmup, frames);
        std::fflush(stdout);
        uint64_t r0 = targets.received();
        uint32_t w = warmup ? netlab::run_live_frames(fd, frame, warmup) : 0;
        uint64_t r1 = targets.received();
        uint32_t m = netlab::run_live_frames(fd, frame, frames);
        uint64_t r2 = targets.received();
        std::printf("insn-case: warm-up run %u ns/pkt (%.3f delivered), measured run %u ns/pkt (%.3f delivered)\n",
                    w, warmup ? double(r1 - r0) / warmup : 0.0, m, double(r2 - r1) / frames);
        if (tail && tail->runs())
            std::printf("insn-case: tail firewall saw %llu frames\n", (unsigned long long)tail->runs());
        if (fw)
            std::printf("insn-case: egress firewall saw %llu frames\n", (unsigned long long)fw->runs());
        if (in && in->tail_missed())
            std::printf("insn-case: WARNING: %llu tail calls missed\n", (unsigned long long)in->tail_missed());
    } catch (const std::exception& e) {
        std::cerr << "insn-case: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
