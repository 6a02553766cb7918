// The espressobin pipeline (bpf/cpumap_pipeline.bpf.c): the receiving CPU runs
// only rx_steer, the cpumap slot's program does the work on CPU 1, and CPU 1
// transmits (or builds the skb). Every CPU claim is read from per-CPU counters
// that the programs keep with bpf_get_smp_processor_id()'s view of the world.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <thread>

#include "fixtures.hpp"
#include "netcfg.hpp"
#include "pipeline.hpp"

using namespace netlab;
using cpumap_demo::Pipeline;

namespace {

constexpr uint32_t kSlot = 5;

// Frames for the policy: UDP to port `dport`.
Frame udp_to(uint16_t dport, Mac dst = kBroadcast)
{
    return udp4_frame(ipv4(10, 77, 0, 2), ipv4(10, 77, 0, 1), 4444, dport, 18, dst);
}

int cpumap_kthreads(uint32_t cpu, uint32_t map_id) { return int(cpumap_demo::cpumap_kthreads(cpu, map_id).size()); }

void require_two_cpus()
{
    if (libbpf_num_possible_cpus() < 2)
        FAIL("the pipeline tests need two CPUs");
}

}  // namespace

TEST_CASE("pipeline: CPU 0 only steers, the slot program runs on CPU 1, which transmits through the devmap slot",
          "[cpumap][pipeline]")
{
    require_two_cpus();
    Target out("cpo");
    Target in("cpi");
    Pipeline pipe;
    Counter egress;  // the devmap slot's own program, per CPU
    pipe.tx_ports().set(kSlot, out.dev(), egress.prog);
    pipe.default_action(PIPE_REDIRECT, kSlot);
    pipe.work_rounds(256);  // the heavy policy, on CPU 1
    pipe.steer_to(1);
    pipe.cpus().set(1, 2048, pipe.policy_prog());

    {
        PinnedToCpu on_cpu0(0);
        run_live_frames(pipe.steer_fd(), udp_to(9), 1024, in.near().ifindex);
    }
    REQUIRE(eventually([&] { return out.received() == 1024; }));

    auto rx = pipe.rx_stats();
    CHECK(rx[0].packets == 1024);  // RX and steering: CPU 0 only
    CHECK(rx[0].redirected == 1024);
    CHECK(rx[1].packets == 0);
    auto work = pipe.policy_stats();
    CHECK(work[0].packets == 0);  // the policy never ran on CPU 0
    CHECK(work[1].packets == 1024);
    CHECK(work[1].redirected == 1024);
    CHECK(work[1].hash != 0);  // the work loop ran
    CHECK(pipe.seen_cpu() == 1);
    CHECK(pipe.seen_ingress_ifindex() == in.near().ifindex);  // remapped from the RX side
    auto tx = read_counters_per_cpu(bpf_map__fd(egress.skel->maps.counters));
    CHECK(tx[0].packets == 0);  // the egress program ran where the frame was sent: CPU 1
    CHECK(tx[1].packets == 1024);
    CHECK(egress.skel->bss->seen_egress_ifindex == out.near().ifindex);
    CHECK(egress.skel->bss->seen_ingress_ifindex == in.near().ifindex);
}

TEST_CASE("pipeline: flow-hash steering keeps each flow on one CPU and spreads flows over the slots",
          "[cpumap][pipeline]")
{
    require_two_cpus();
    Target out("cph");
    Target in("cphi");
    Pipeline pipe;
    pipe.tx_ports().set(kSlot, out.dev());
    pipe.default_action(PIPE_REDIRECT, kSlot);
    pipe.steer_by_flow({0, 1});
    auto cpus = pipe.cpus();
    cpus.set(0, 2048, pipe.policy_prog());
    cpus.set(1, 2048, pipe.policy_prog());

    std::vector<int> flows_on(2, 0);
    uint64_t sent = 0;
    PinnedToCpu on_cpu0(0);
    for (uint16_t sport = 1000; sport < 1016; sport++) {
        auto before = pipe.policy_stats();
        run_live_frames(pipe.steer_fd(), udp4_frame(ipv4(10, 77, 0, 2), ipv4(10, 77, 0, 1), sport, 9), 64,
                        in.near().ifindex);
        sent += 64;
        // CPU 0's kthread runs once the sender yields: wait for both.
        REQUIRE(eventually([&] { return cpumap_demo::total(pipe.policy_stats()).packets == sent; }));
        auto after = pipe.policy_stats();
        uint64_t d0 = after[0].packets - before[0].packets, d1 = after[1].packets - before[1].packets;
        INFO("source port " << sport << ": " << d0 << " frames on CPU 0, " << d1 << " on CPU 1");
        CHECK((d0 == 64 || d1 == 64));  // one flow, one CPU
        flows_on[d1 == 64 ? 1 : 0]++;
    }
    CHECK(flows_on[0] > 0);  // 16 flows reach both CPUs
    CHECK(flows_on[1] > 0);
    CHECK(eventually([&] { return out.received() == sent; }));
}

TEST_CASE("pipeline: XDP_PASS from the slot program delivers to the stack, the skb built on CPU 1",
          "[cpumap][pipeline]")
{
    require_two_cpus();
    // The frames "arrive" on cpx (live frames with its ifindex), which owns
    // 10.77.0.1: the cpumap kthread builds the skb on cpx and the local stack
    // takes it on CPU 1.
    auto peer_ns = Netns::create();
    VethPair link("cpx", "cpxp", peer_ns);
    vmhost::netcfg::add_address(link.near().ifindex, "10.77.0.1/24");
    auto mac = vmhost::netcfg::get_mac(link.near().ifindex);
    Mac dst;
    std::copy(mac.b.begin(), mac.b.end(), dst.b);

    dme::Fd sock(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    REQUIRE(sock);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(5555);
    addr.sin_addr.s_addr = ipv4(10, 77, 0, 1);  // network order already
    REQUIRE(bind(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
    // Connected to the frames' source: UDP records the receiving CPU
    // (SO_INCOMING_CPU) only for connected sockets.
    sockaddr_in from{};
    from.sin_family = AF_INET;
    from.sin_port = htons(4444);
    from.sin_addr.s_addr = ipv4(10, 77, 0, 2);
    REQUIRE(connect(sock.get(), reinterpret_cast<sockaddr*>(&from), sizeof(from)) == 0);
    int rcvbuf = 1 << 20;
    setsockopt(sock.get(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));

    Pipeline pipe;
    pipe.add_rule(IPPROTO_UDP, 5555, PIPE_PASS);
    pipe.default_action(PIPE_DROP);
    pipe.steer_to(1);
    pipe.cpus().set(1, 2048, pipe.policy_prog());
    {
        PinnedToCpu on_cpu0(0);
        run_live_frames(pipe.steer_fd(), udp_to(5555, dst), 64, link.near().ifindex);
    }

    int got = 0;
    char buf[256];
    for (int tries = 0; got < 64 && tries < 300; tries++) {
        pollfd p{sock.get(), POLLIN, 0};
        if (poll(&p, 1, 10) > 0)
            while (recv(sock.get(), buf, sizeof(buf), 0) > 0)
                got++;
    }
    CHECK(got == 64);
    int cpu = -1;
    socklen_t len = sizeof(cpu);
    REQUIRE(getsockopt(sock.get(), SOL_SOCKET, SO_INCOMING_CPU, &cpu, &len) == 0);
    CHECK(cpu == 1);  // the socket last received on CPU 1
    auto work = pipe.policy_stats();
    CHECK(work[1].passed == 64);
    CHECK(work[1].rule_hits == 64);
    CHECK(work[0].packets == 0);
}

TEST_CASE("pipeline: replacing the slot's program under traffic loses only what the policy drops",
          "[cpumap][pipeline][lifetime]")
{
    require_two_cpus();
    Target out("cps");
    Target in("cpsi");
    Pipeline a;
    Pipeline b(&a);  // same cpu_map, tx_ports and rules; its own counters
    Counter egress;
    a.tx_ports().set(kSlot, out.dev(), egress.prog);
    for (auto* p : {&a, &b}) {
        p->default_action(PIPE_REDIRECT, kSlot);
        p->work_rounds(64);
    }
    a.add_rule(IPPROTO_UDP, 7, PIPE_DROP);  // the policy: port 7 is dropped
    a.steer_to(1);
    auto cpus = a.cpus();
    cpus.set(1, 4096, a.policy_prog());

    const auto allowed = udp_to(9), denied = udp_to(7);
    constexpr int kBursts = 60, kBurst = 512;
    std::atomic<bool> done{false};
    std::atomic<int> lost_burst{-1};
    uint64_t sent_allowed = 0, sent_denied = 0;

    std::thread sender([&] {
        PinnedToCpu on_cpu0(0);
        for (int i = 0; i < kBursts; i++) {
            bool deny = i % 3 == 2;
            run_live_frames(a.steer_fd(), deny ? denied : allowed, kBurst, in.near().ifindex);
            (deny ? sent_denied : sent_allowed) += kBurst;
            // Let the slot drain before the next burst (the queue holds 4096):
            // every frame must have been seen by one of the two programs.
            uint64_t sent = sent_allowed + sent_denied;
            if (!eventually([&] {
                    return cpumap_demo::total(a.policy_stats()).packets +
                               cpumap_demo::total(b.policy_stats()).packets ==
                           sent;
                })) {
                lost_burst = i;
                break;
            }
        }
        done = true;
    });
    int swaps = 0;
    while (!done) {
        cpus.set(1, 4096, (swaps % 2 ? a : b).policy_prog());
        swaps++;
        std::this_thread::sleep_for(std::chrono::milliseconds(3));
    }
    sender.join();
    REQUIRE(lost_burst == -1);

    REQUIRE(eventually([&] { return out.received() == sent_allowed; }));
    auto ta = cpumap_demo::total(a.policy_stats()), tb = cpumap_demo::total(b.policy_stats());
    INFO("swaps " << swaps << ", program a saw " << ta.packets << ", b saw " << tb.packets);
    CHECK(swaps >= 10);
    CHECK(ta.packets > 0);
    CHECK(tb.packets > 0);  // both programs really took traffic
    CHECK(ta.packets + tb.packets == sent_allowed + sent_denied);
    CHECK(ta.dropped + tb.dropped == sent_denied);  // the policy's drops, and only those
    CHECK(ta.redirected + tb.redirected == sent_allowed);
    CHECK(out.received() == sent_allowed);
    CHECK(egress.counts().packets == sent_allowed);
}

TEST_CASE("pipeline: deleting the slot stops its kthread and releases the program", "[cpumap][pipeline][lifetime]")
{
    require_two_cpus();
    auto cpus = dme::CpuMap::create("pipe_del");
    uint32_t map_id = cpus.info().id;
    uint32_t prog_id;
    {
        Pipeline pipe;
        cpus.set(1, 256, pipe.policy_prog());
        prog_id = pipe.policy_prog().id();
    }  // the object is gone: only the slot holds the program now
    REQUIRE(prog_exists(prog_id));
    REQUIRE(eventually([&] { return cpumap_kthreads(1, map_id) == 1; }));

    cpus.erase(1);
    CHECK(eventually([&] { return cpumap_kthreads(1, map_id) == 0; }));
    CHECK(eventually([&] { return !prog_exists(prog_id); }));
    CHECK_FALSE(cpus.get(1).has_value());
}
