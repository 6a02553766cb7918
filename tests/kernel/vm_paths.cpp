#include "vm_paths.hpp"

#include <catch2/catch.hpp>

#include <bpf/bpf.h>

namespace netlab {

VmPaths::VmPaths(vmhost::VmHost& host, vmhost::Vm& vm, const Target& uplink, const Target& tap)
    : vm_(vm), uplink_ifindex_(uplink.near().ifindex), tap_ifindex_(tap.near().ifindex),
      guard_(dme::open_program_by_id(vm.objects().prog_ids.at(2)))
{
    REQUIRE(bpf_map__reuse_fd(into_slot_->maps.tx_devmap_hash, host.tx_ports_fd()) == 0);
    REQUIRE(xdp_redirect_slot__load(into_slot_.get()) == 0);
    into_slot_->bss->target = TARGET_DEVMAP_HASH;
    into_slot_->bss->target_key = vm.port();
}

int VmPaths::reason_of(vm_path path, const std::function<void()>& send)
{
    auto before = vm_.counts(path);
    send();
    int reason = -1, changed = 0;
    eventually([&] {
        auto after = vm_.counts(path);
        changed = 0;
        for (int r = 0; r < VM_REASONS; r++)
            if (after[r] != before[r])
                reason = r, changed++;
        return changed > 0;
    });
    return changed == 1 ? reason : -1;
}

int VmPaths::xdp(const Frame& f)
{
    return reason_of(VM_PATH_XDP, [&] {
        run_live_frames(bpf_program__fd(into_slot_->progs.xdp_redirect_slot), f, 1, uplink_ifindex_);
    });
}

int VmPaths::skb(const Frame& f)
{
    return reason_of(VM_PATH_SKB, [&] { wire_.send(tap_ifindex_, f, 1); });
}

int VmPaths::guard(const Frame& f, uint32_t* retval)
{
    return reason_of(VM_PATH_GUARD, [&] {
        LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = f.data(), .data_size_in = uint32_t(f.size()), .repeat = 1);
        REQUIRE(bpf_prog_test_run_opts(guard_.get(), &run) == 0);
        if (retval)
            *retval = run.retval;
    });
}

}  // namespace netlab
