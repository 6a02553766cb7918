// A cpumap slot's program runs on the slot's CPU and can redirect again.
#include <catch2/catch.hpp>

#include "fixtures.hpp"

using namespace netlab;

namespace {
struct RemoteStage {
    Skel<cpumap_redirect_again> skel = open_load<cpumap_redirect_again>();
    dme::CpumapProgram prog = dme::CpumapProgram::from(skel->progs.cpumap_redirect_again);
    std::vector<Counters> per_cpu() const { return read_counters_per_cpu(bpf_map__fd(skel->maps.counters)); }
    dme::DevmapEgress next_hops() const { return dme::DevmapEgress::from(bpf_map__fd(skel->maps.tx_devmap_hash)); }
};
}  // namespace

TEST_CASE("cpumap program runs on the remote CPU, sees the original ingress device and redirects again",
          "[cpumap]")
{
    if (libbpf_num_possible_cpus() < 2)
        FAIL("this test needs two CPUs");
    Target target("cm0");
    Target ingress("cmin");
    Redirector rx;
    RemoteStage remote;
    Counter egress;
    remote.next_hops().set(5, target.dev(), egress.prog);
    remote.skel->bss->next_key = 5;
    auto cpus = rx.cpumap();
    cpus.set(1, 2048, remote.prog);
    rx.to_cpumap(1);

    {
        PinnedToCpu on_cpu0(0);
        run_live_frames(rx.fd(), raw_frame(), 512, ingress.near().ifindex);
    }

    REQUIRE(eventually([&] { return target.received() == 512; }));
    auto runs = remote.per_cpu();
    CHECK(runs[0].packets == 0);
    CHECK(runs[1].packets == 512);
    CHECK(remote.skel->bss->seen_cpu == 1);
    CHECK(remote.skel->bss->seen_ingress_ifindex == ingress.near().ifindex);
    CHECK(egress.counts().packets == 512);  // the devmap slot's own program ran too
    CHECK(cpus.get(1)->qsize == 2048);
    CHECK(cpus.get(1)->prog.name == "cpumap_redirect");  // the kernel keeps 15 characters
}

TEST_CASE("cpumap program can drop, and erasing the slot releases the program", "[cpumap][lifetime]")
{
    Redirector rx;
    auto cpus = rx.cpumap();
    uint32_t id;
    {
        RemoteStage remote;
        remote.skel->bss->next_hop = 2;  // drop
        cpus.set(1, 256, remote.prog);
        id = remote.prog.id();
        rx.to_cpumap(1);
        {
            // Sent from CPU 0: a sender on CPU 1 itself would starve the
            // kthread and overflow the queue.
            PinnedToCpu on_cpu0(0);
            run_live_frames(rx.fd(), raw_frame(), 100);
        }
        CHECK(eventually([&] { return remote.per_cpu()[1].dropped == 100; }));
    }
    CHECK(prog_exists(id));  // the slot still holds it
    cpus.erase(1);
    CHECK(eventually([&] { return !prog_exists(id); }));
    CHECK_FALSE(cpus.get(1).has_value());
}
