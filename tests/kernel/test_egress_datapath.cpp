// What an egress program in a devmap slot sees and decides, on real frames.
#include <catch2/catch.hpp>

#include <bpf/bpf.h>

#include "fixtures.hpp"

using namespace netlab;

TEST_CASE("egress program runs on every frame redirected to its slot and sees egress_ifindex", "[devmap]")
{
    Target target("dp0");
    Target ingress("dpin");  // only a device whose ifindex the frames claim to arrive on
    Redirector rx;
    Counter egress;
    auto slots = rx.devmap_hash();
    slots.set(7, target.dev(), egress.prog);
    rx.to_devmap_hash(7);

    run_live_frames(rx.fd(), raw_frame(), 640, ingress.near().ifindex);

    REQUIRE(egress.counts().packets == 640);
    CHECK(egress.skel->bss->seen_egress_ifindex == target.near().ifindex);
    CHECK(egress.skel->bss->seen_ingress_ifindex == ingress.near().ifindex);
    CHECK(eventually([&] { return target.received() == 640; }));
}

TEST_CASE("XDP_PASS from the egress program transmits, XDP_DROP drops", "[devmap]")
{
    Target target("dp1");
    Redirector rx;
    Counter egress;
    auto slots = rx.devmap();
    slots.set(3, target.dev(), egress.prog);
    rx.to_devmap(3);

    egress.verdict(XDP_DROP);
    run_live_frames(rx.fd(), raw_frame(), 256);
    CHECK(egress.counts().dropped == 256);

    egress.verdict(XDP_PASS);
    run_live_frames(rx.fd(), raw_frame(), 128);
    CHECK(egress.counts().passed == 128);
    REQUIRE(eventually([&] { return target.received() == 128; }));
    CHECK(target.received() == 128);  // none of the dropped 256 leaked out
}

TEST_CASE("a slot without a program sends every frame", "[devmap]")
{
    Target target("dp2");
    Redirector rx;
    auto slots = rx.devmap_hash();
    slots.set(1, target.dev());
    rx.to_devmap_hash(1);
    run_live_frames(rx.fd(), raw_frame(), 100);
    CHECK(eventually([&] { return target.received() == 100; }));
    CHECK(slots.get(1)->prog.id == 0);
}

TEST_CASE("the drop-rule egress program drops by protocol and port and counts truncated frames", "[devmap]")
{
    Target target("dp3");
    Redirector rx;
    auto fw = open_load<egress_drop_rule>();
    auto prog = dme::EgressProgram::from(fw->progs.egress_drop_rule);
    struct {
        uint8_t proto, pad;
        uint16_t dport;
    } rule{17, 0, 53};
    uint64_t zero = 0;
    REQUIRE(bpf_map_update_elem(bpf_map__fd(fw->maps.drop_rules), &rule, &zero, BPF_ANY) == 0);
    auto slots = rx.devmap_hash();
    slots.set(2, target.dev(), prog);
    rx.to_devmap_hash(2);

    uint32_t a = ipv4(10, 0, 0, 1), b = ipv4(10, 0, 0, 2);
    run_live_frames(rx.fd(), udp4_frame(a, b, 1000, 53), 64);   // matches: dropped
    run_live_frames(rx.fd(), udp4_frame(a, b, 1000, 80), 64);   // passes
    uint8_t s6[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, d6[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
    run_live_frames(rx.fd(), udp6_frame(s6, d6, 1000, 53), 64);  // IPv6 matches too
    Frame truncated = udp4_frame(a, b, 1000, 80);
    truncated.resize(14 + 20 + 4);  // the UDP header is cut short
    run_live_frames(rx.fd(), truncated, 64);

    auto c = read_counters(bpf_map__fd(fw->maps.counters));
    CHECK(c.dropped == 192);
    CHECK(c.passed == 64);
    CHECK(fw->bss->truncated == 64);
    CHECK(eventually([&] { return target.received() == 64; }));
}
