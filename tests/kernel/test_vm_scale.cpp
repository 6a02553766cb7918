// A thousand VM taps: attach every VM, forward to each, delete half the taps
// while traffic flows, and check that exactly their slots, programs and maps
// are gone while the other half keeps forwarding.
#include <catch2/catch.hpp>

#include <bpf/bpf.h>
#include <netinet/in.h>
#include <unistd.h>

#include <fmt/core.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>

#include "fixtures.hpp"
#include "vm_host.hpp"

using namespace netlab;

namespace {
constexpr uint32_t kVms = 1000;

vmhost::Mac mac_of(uint32_t i) { return vmhost::Mac{{0x02, 0x10, 0, 0, uint8_t(i >> 8), uint8_t(i)}}; }

Frame frame_to(uint32_t i)
{
    vmhost::Mac m = mac_of(i);
    netlab::Mac dst{};
    std::copy(m.b.begin(), m.b.end(), dst.b);
    uint32_t vm_ip = ipv4(10, 9, uint8_t(i >> 8), uint8_t(i));
    return udp4_frame(ipv4(198, 51, 100, 7), vm_ip, 4000, 8080, 18, dst);
}
}  // namespace

TEST_CASE("1000 VM taps: attach, forward, delete half under traffic", "[vmhost][scale]")
{
    Target uplink("scnic");
    Netns vm_side = Netns::create();  // every VM's end of its tap, in one namespace
    std::vector<std::unique_ptr<VethPair>> taps;
    for (uint32_t i = 1; i <= kVms; i++)
        taps.push_back(std::make_unique<VethPair>("sct" + std::to_string(i), "scv" + std::to_string(i), vm_side));
    // One counting program on every VM end: delivery, and veth NAPI for XDP.
    auto sink = open_load<frame_sink>();
    for (auto& t : taps)
        attach_xdp_in(vm_side, t->far().ifindex, bpf_program__fd(sink->progs.frame_count_pass));
    auto delivered = [&] { return read_counters(bpf_map__fd(sink->maps.counters)).packets; };

    vmhost::VmHost host(dme::Interface::index(uplink.near().ifindex));
    auto t0 = std::chrono::steady_clock::now();
    for (uint32_t i = 1; i <= kVms; i++) {
        vmhost::VmPolicy p;
        p.mac = mac_of(i);
        p.addrs = {vmhost::IpAddr::parse(fmt::format("10.9.{}.{}", i >> 8, i & 0xff))};
        p.allow_src = {vmhost::Prefix::parse("198.51.100.0/24")};
        p.allow_ports = {{IPPROTO_UDP, 8080}};
        host.add_vm(i, dme::Interface::index(taps[i - 1]->near().ifindex), p);
    }
    double attach_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("attached %u VMs (program load, policy, slot, tc, guard each) in %.2f s\n", kVms, attach_s);
    CHECK(host.ports().slots().size() == kVms + 1);  // + the uplink

    // Every VM gets traffic through the NIC demux, its slot and its firewall.
    __u32 demux_id = 0;
    REQUIRE(bpf_xdp_query_id(int(uplink.near().ifindex), 0, &demux_id) == 0);
    dme::Fd demux = dme::open_program_by_id(demux_id);
    std::vector<Frame> frames;
    for (uint32_t i = 1; i <= kVms; i++)
        frames.push_back(frame_to(i));
    for (uint32_t i = 1; i <= kVms; i++)
        run_live_frames(demux.get(), frames[i - 1], 2, uplink.near().ifindex);
    REQUIRE(eventually([&] { return delivered() == 2 * kVms; }));
    for (uint32_t i = 1; i <= kVms; i += 97)
        CHECK(host.vm(i)->counts(VM_PATH_XDP)[VM_PASS] == 2);

    // Delete the even VMs' taps while a second thread keeps sending to all.
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> rounds{0};
    std::thread traffic([&] {
        while (!stop) {
            for (uint32_t i = 1; i <= kVms; i++)
                run_live_frames(demux.get(), frames[i - 1], 1, uplink.near().ifindex);
            rounds++;
        }
    });
    std::vector<vmhost::VmObjects> gone;
    for (uint32_t i = 2; i <= kVms; i += 2) {
        gone.push_back(host.vm(i)->objects());
        taps[i - 1]->remove();
        host.forget_vm(i);
    }
    uint64_t after_delete = rounds.load();
    eventually([&] { return rounds.load() >= after_delete + 2; }, std::chrono::seconds(30));
    stop = true;
    traffic.join();

    for (uint32_t i = 1; i <= kVms; i++) {
        bool kept = i % 2 == 1;
        if (host.ports().get(i).has_value() != kept) {
            FAIL("slot " << i << (kept ? " vanished" : " survived its tap"));
        }
    }
    CHECK(host.ports().slots().size() == kVms / 2 + 1);
    size_t progs_left = 0, maps_left = 0;
    eventually([&] {
        progs_left = maps_left = 0;
        for (const auto& o : gone) {
            for (auto id : o.prog_ids)
                progs_left += prog_exists(id);
            for (auto id : o.map_ids)
                maps_left += map_exists(id);
        }
        return progs_left + maps_left == 0;
    }, std::chrono::seconds(10));
    CHECK(progs_left == 0);
    CHECK(maps_left == 0);

    // The survivors keep forwarding: one more frame each arrives.
    uint64_t before = delivered();
    for (uint32_t i = 1; i <= kVms; i += 2)
        run_live_frames(demux.get(), frames[i - 1], 1, uplink.near().ifindex);
    CHECK(eventually([&] { return delivered() == before + kVms / 2; }));
    for (uint32_t i = 1; i <= kVms; i += 98)  // odd: the survivors
        CHECK(host.vm(i)->counts(VM_PATH_XDP)[VM_PASS] >= 3);
}
