// Reading slots back: what is in the map, by key, with device and program.
#include <catch2/catch.hpp>

#include "fixtures.hpp"

using namespace netlab;

TEST_CASE("slots() lists used slots with device names and program identity", "[devmap][api]")
{
    Target a("ls0"), b("ls1");
    Counter egress;
    using Make = dme::DevmapEgress (*)(const std::string&, uint32_t);
    for (Make make : {Make(&dme::DevmapEgress::create), Make(&dme::DevmapEgress::create_hash)}) {
        auto m = make("ls_slots", 64);
        m.set(5, a.dev(), egress.prog);
        m.set(40, b.dev());
        auto slots = m.slots();
        REQUIRE(slots.size() == 2);
        std::sort(slots.begin(), slots.end(), [](auto& x, auto& y) { return x.key < y.key; });
        CHECK(slots[0].key == 5);
        CHECK(slots[0].ifname == "ls0");
        CHECK(slots[0].prog.id == egress.prog.id());
        CHECK(slots[0].prog.name == "egress_count");
        CHECK(slots[0].prog.tag == egress.prog.tag());
        CHECK(slots[0].prog.tag.size() == 16);
        CHECK(slots[1].key == 40);
        CHECK(slots[1].ifindex == b.near().ifindex);
        CHECK(slots[1].prog.id == 0);
    }
}

TEST_CASE("cpumap slots list queue size and program", "[cpumap][api]")
{
    auto m = dme::CpuMap::create("ls_cpus");
    CHECK(m.info().max_entries == uint32_t(libbpf_num_possible_cpus()));
    m.set(0, 128);
    auto slots = m.slots();
    REQUIRE(slots.size() == 1);
    CHECK(slots[0].cpu == 0);
    CHECK(slots[0].qsize == 128);
    CHECK(slots[0].prog.id == 0);
}

TEST_CASE("handles are move-only and keep the map alive", "[api]")
{
    static_assert(!std::is_copy_constructible_v<dme::DevmapEgress>);
    static_assert(std::is_nothrow_move_constructible_v<dme::Fd>);
    static_assert(!std::is_copy_constructible_v<dme::EgressProgram>);
    auto m = dme::DevmapEgress::create("mv_slots", 2);
    uint32_t id = m.info().id;
    dme::DevmapEgress moved = std::move(m);
    CHECK(moved.info().id == id);
    CHECK(moved.fd() >= 0);
}
