// The kernel holds a slot's program exactly as long as the slot holds it.
#include <catch2/catch.hpp>

#include "fixtures.hpp"

using namespace netlab;

namespace {
// Load a counting program, put it in the slot, and drop every handle the test
// has on it: from then on only the slot keeps it alive.
uint32_t place_only_in_slot(dme::DevmapEgress& slots, uint32_t key, const dme::Interface& dev)
{
    Counter c;
    slots.set(key, dev, c.prog);
    return c.prog.id();
}
}  // namespace

TEST_CASE("the slot keeps its program alive, and erasing the slot releases it", "[devmap][lifetime]")
{
    Target target("lt0");
    auto slots = dme::DevmapEgress::create_hash("lt_slots", 16);
    uint32_t id = place_only_in_slot(slots, 4, target.dev());
    CHECK(prog_exists(id));
    CHECK(slots.get(4)->prog.id == id);
    CHECK(slots.get(4)->prog.name == "egress_count");

    REQUIRE(slots.erase(4));
    CHECK(eventually([&] { return !prog_exists(id); }));
    CHECK_FALSE(slots.get(4).has_value());
    CHECK_FALSE(slots.erase(4));
}

TEST_CASE("replacing a slot's program releases the old one", "[devmap][lifetime]")
{
    Target target("lt1");
    auto slots = dme::DevmapEgress::create("lt_slots", 8);
    uint32_t first = place_only_in_slot(slots, 0, target.dev());
    uint32_t second = place_only_in_slot(slots, 0, target.dev());
    CHECK(first != second);
    CHECK(eventually([&] { return !prog_exists(first); }));
    CHECK(prog_exists(second));
    CHECK(slots.get(0)->prog.id == second);
}

TEST_CASE("deleting the target device clears its slots and releases their programs", "[devmap][lifetime]")
{
    Target target("lt2");
    Target survivor("lt3");
    auto slots = dme::DevmapEgress::create_hash("lt_slots", 16);
    uint32_t gone = place_only_in_slot(slots, 1, target.dev());
    uint32_t kept = place_only_in_slot(slots, 2, survivor.dev());

    target.veth().remove();

    CHECK(eventually([&] { return !slots.get(1).has_value(); }));
    CHECK(eventually([&] { return !prog_exists(gone); }));
    CHECK(slots.get(2)->prog.id == kept);
    CHECK(slots.slots().size() == 1);
}

TEST_CASE("closing the map releases every slot's program", "[devmap][lifetime]")
{
    Target target("lt4");
    std::vector<uint32_t> ids;
    {
        auto slots = dme::DevmapEgress::create("lt_slots", 4);
        for (uint32_t k = 0; k < 4; k++)
            ids.push_back(place_only_in_slot(slots, k, target.dev()));
        for (auto id : ids)
            CHECK(prog_exists(id));
    }
    for (auto id : ids)
        CHECK(eventually([&] { return !prog_exists(id); }));
}
